#!/usr/bin/env bash
# Build the frozen one-folder app DIST/SmoothGradDesktop/ (see packaging/README.md).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: packaging/build.sh [--cpu-only] [--venv PATH] [--skip-venv] [--dist DIR] [--torch "PIP ARGS"]
                          [--python EXE] [--with-triton]

Makes a clean virtual environment, installs the app (non-editable) and PyInstaller (packaging/requirements.txt)
into it, and builds the one-folder app DIR/SmoothGradDesktop/ from packaging/SmoothGradDesktop.spec.

  --cpu-only      a small bundle for machines without an NVIDIA GPU: a CPU build of torch, no NVIDIA CUDA
                  libraries, no triton. The CPU wheels come from https://download.pytorch.org/whl/cpu unless
                  --torch names them (the CUDA build of torch cannot start without its CUDA libraries).
  --torch ARGS    pip arguments that install torch and torchvision before the app, e.g.
                  --torch "torch==2.13.0+cpu torchvision==0.28.0" for wheels in pip's find-links
  --venv PATH     the build venv (default: build/packaging/venv, or build/packaging/venv-cpu with --cpu-only);
                  deleted and made anew unless --skip-venv
  --skip-venv     use the venv as it is: it must hold the app's dependencies and PyInstaller; the app comes
                  from that venv if installed there, else from this checkout
  --dist DIR      where SmoothGradDesktop/ goes (default: dist, or dist/cpu-only with --cpu-only)
  --python EXE    the interpreter for a new venv (default: python3); PyInstaller needs its shared libpython
  --with-triton   also bundle triton (only torch.compile uses it; the app never compiles: left out by default)
EOF
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CPU_ONLY=0 SKIP_VENV=0 WITH_TRITON=0 VENV="" DIST="" TORCH_ARGS="" PY=python3
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu-only) CPU_ONLY=1 ;;
    --skip-venv) SKIP_VENV=1 ;;
    --with-triton) WITH_TRITON=1 ;;
    --venv) VENV=${2:?--venv needs a path}; shift ;;
    --dist) DIST=${2:?--dist needs a folder}; shift ;;
    --torch) TORCH_ARGS=${2:?--torch needs pip arguments}; shift ;;
    --python) PY=${2:?--python needs an interpreter}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

suffix=""; [ "$CPU_ONLY" = 1 ] && suffix="-cpu"
WORK="$ROOT/build/packaging"
VENV=${VENV:-$WORK/venv$suffix}
if [ -z "$DIST" ]; then DIST="$ROOT/dist"; [ "$CPU_ONLY" = 1 ] && DIST="$ROOT/dist/cpu-only"; fi
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
case "$DIST" in /*) ;; *) DIST="$PWD/$DIST" ;; esac
VPY="$VENV/bin/python"
mkdir -p "$WORK"

t0=$(date +%s)
step() { echo "build.sh [$(( $(date +%s) - t0 )) s] $*"; }

if [ "$SKIP_VENV" = 0 ]; then
  step "new venv $VENV ($PY)"
  "$PY" -c 'import sys, sysconfig
if sys.platform.startswith("linux") and not sysconfig.get_config_var("Py_ENABLE_SHARED"):
    sys.exit("build.sh: this Python has no shared libpython, which PyInstaller needs: pass --python with one that has")'
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  pip=("$VPY" -m pip install --quiet --disable-pip-version-check)
  if [ -n "$TORCH_ARGS" ]; then
    step "torch: pip install $TORCH_ARGS"
    # shellcheck disable=SC2086  # the pip arguments are meant to be split
    "${pip[@]}" $TORCH_ARGS
  elif [ "$CPU_ONLY" = 1 ]; then
    step "torch: CPU wheels from https://download.pytorch.org/whl/cpu"
    "${pip[@]}" --index-url https://download.pytorch.org/whl/cpu torch torchvision
  fi
  # Install the app from a clean copy of the checkout: an in-tree build/ folder could carry stale modules.
  step "app: pip install (non-editable) + PyInstaller"
  src="$WORK/src"
  rm -rf "$src"; mkdir -p "$src"
  tar -C "$ROOT" -cf - --exclude=./.git --exclude=./.venv --exclude=./build --exclude=./dist --exclude='*.egg-info' \
      --exclude=__pycache__ --exclude=./.pytest_cache --exclude=./.hypothesis --exclude=./tests --exclude=./bench \
      --exclude=./docs --exclude=./.whl --exclude=./.gl --exclude=./packaging . | tar -C "$src" -xf -
  "${pip[@]}" "$src[hub]" -r "$ROOT/packaging/requirements.txt"
  rm -rf "$src"
else
  step "using the venv $VENV as it is"
  [ -x "$VPY" ] || { echo "build.sh: no venv at $VENV" >&2; exit 2; }
  "$VPY" -c "import PyInstaller" 2>/dev/null || {
    echo "build.sh: PyInstaller is not in $VENV: $VPY -m pip install -r packaging/requirements.txt" >&2; exit 2; }
fi

"$VPY" - "$CPU_ONLY" <<'EOF'
import sys, torch, torchvision, PySide6, PyInstaller
from importlib.metadata import PackageNotFoundError, version
cuda = torch.version.cuda
try:
    hub = f"timm {version('timm')}, transformers {version('transformers')}"
except PackageNotFoundError as exc:
    sys.exit(f"build.sh: {exc.args[0]} is not installed: the frozen app bundles the 'hub' extra (pip install '.[hub]')")
print(f"build.sh: torch {torch.__version__} (CUDA {cuda or 'none'}), torchvision {torchvision.__version__}, {hub}, "
      f"PySide6 {PySide6.__version__}, PyInstaller {PyInstaller.__version__}, Python {sys.version.split()[0]}")
if sys.argv[1] == "1" and cuda:
    sys.exit("build.sh: --cpu-only needs a CPU build of torch (this one needs CUDA libraries to start): "
             "pass --torch with CPU wheels, or leave --cpu-only out")
EOF

spec_args=()
[ "$CPU_ONLY" = 1 ] && spec_args+=(--cpu-only)
[ "$WITH_TRITON" = 1 ] && spec_args+=(--with-triton)
step "PyInstaller -> $DIST/SmoothGradDesktop"
# run outside the checkout so that nothing in it shadows the installed app
(cd "$WORK" && "$VPY" -m PyInstaller --noconfirm --clean --log-level WARN \
   --distpath "$DIST" --workpath "$WORK/work$suffix" "$ROOT/packaging/SmoothGradDesktop.spec" -- "${spec_args[@]}")

app="$DIST/SmoothGradDesktop"
step "done: $app/SmoothGradDesktop"
echo "build.sh: bundle $(du -sh "$app" | cut -f1) in $(find "$app" -type f | wc -l) files; largest parts:"
internal="$app/_internal"
for part in nvidia torch/lib torch triton PySide6 torchvision transformers timm tokenizers; do
  [ -e "$internal/$part" ] && printf '  %-12s %s\n' "$part" "$(du -sh "$internal/$part" | cut -f1)"
done
echo "build.sh: smoke test: packaging/smoke_test.sh $app"
echo "build.sh: finished in $(( $(date +%s) - t0 )) s"
