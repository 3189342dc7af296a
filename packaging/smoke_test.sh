#!/usr/bin/env bash
# Smoke-test the frozen app with networking blocked: --self-test, compute on a shipped sample (and on TorchScript
# and torch.export files when a Python with torch can write them), and the window under Xvfb (found by xdotool,
# closed with Ctrl+Q, exit code 0). See packaging/README.md.
set -uo pipefail

usage() {
  cat <<'EOF'
Usage: packaging/smoke_test.sh [APP_DIR] [--python PY] [--no-gui] [--timing N] [--cold] [--keep]

  APP_DIR       the one-folder build (default: dist/SmoothGradDesktop)
  --python PY   a Python with torch, used only to write the TorchScript / torch.export test models
                (default: the build venv build/packaging/venv*/bin/python when there; else those checks are skipped)
  --no-gui      skip the Xvfb checks
  --timing N    launch the window N times and report the time from launch until xdotool finds it
  --cold        drop the page cache before the first launch (root only: sync; echo 3 > /proc/sys/vm/drop_caches)
  --keep        keep the temporary folder (outputs, logs, screenshot)

Networking: as root with 'unshare -n' the whole test runs in a new network namespace (no interface but a
downed loopback); otherwise every proxy variable points at a closed local port. The app also runs with a
clean environment (env -i) and an empty HOME and TORCH_HOME.
EOF
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
APP="" PY="" GUI=1 TIMING=0 COLD=0 KEEP=0 DISPLAY_FOR_APP="" LAST_MS=0
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --python) PY=${2:?--python needs an interpreter}; shift ;;
    --no-gui) GUI=0 ;;
    --timing) TIMING=${2:?--timing needs a count}; shift ;;
    --cold) COLD=1 ;;
    --keep) KEEP=1 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "smoke_test.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) APP=$1 ;;
  esac
  shift
done
APP=${APP:-$ROOT/dist/SmoothGradDesktop}
APP=$(cd "$APP" 2>/dev/null && pwd) || { echo "smoke_test.sh: no build at ${APP}" >&2; exit 2; }
EXE="$APP/SmoothGradDesktop"
[ -x "$EXE" ] || { echo "smoke_test.sh: no executable $EXE" >&2; exit 2; }

# --- block networking: a fresh network namespace when we may make one, else dead proxies ----------------------
if [ -z "${SGD_SMOKE_NETNS:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -n true 2>/dev/null
then
  exec env SGD_SMOKE_NETNS=1 unshare -n -- bash "${BASH_SOURCE[0]}" "${args[@]}"
fi
if [ -n "${SGD_SMOKE_NETNS:-}" ]; then
  NETWORK="blocked: own network namespace (unshare -n)"
else
  NETWORK="blocked: proxies at 127.0.0.1:9 (unshare -n not available)"
fi
DEAD_PROXY=http://127.0.0.1:9
PROXIES=(http_proxy=$DEAD_PROXY https_proxy=$DEAD_PROXY ftp_proxy=$DEAD_PROXY all_proxy=$DEAD_PROXY
         HTTP_PROXY=$DEAD_PROXY HTTPS_PROXY=$DEAD_PROXY FTP_PROXY=$DEAD_PROXY ALL_PROXY=$DEAD_PROXY no_proxy= NO_PROXY=)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sgd-smoke.XXXXXX")
XVFB_PID=""
cleanup() {
  [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null
  if [ "$KEEP" = 1 ]; then echo "smoke_test.sh: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
mkdir -p "$TMP/home" "$TMP/out"; mkdir -p -m 700 "$TMP/home/run"

# The app runs as on a clean machine: no inherited Python/Qt variables, an empty home and torch hub cache.
APP_HOME="$TMP/home"
run_app() {
  env -i PATH=/usr/bin:/bin HOME="$APP_HOME" XDG_CONFIG_HOME="$APP_HOME/.config" XDG_DATA_HOME="$APP_HOME/.local/share" \
    XDG_CACHE_HOME="$APP_HOME/.cache" XDG_RUNTIME_DIR="$APP_HOME/run" TORCH_HOME="$APP_HOME/torch" LANG=C.UTF-8 \
    ${DISPLAY_FOR_APP:+DISPLAY=$DISPLAY_FOR_APP} "${PROXIES[@]}" "$EXE" "$@"
}

PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }
show() { echo "---- $1 (last lines)"; tail -n 25 "$1" | sed 's/^/    /'; }

echo "smoke_test.sh: $EXE"
echo "smoke_test.sh: networking $NETWORK"
echo "smoke_test.sh: bundle $(du -sh "$APP" | cut -f1)"

# --- 1. --self-test -------------------------------------------------------------------------------------------
if run_app --self-test >"$TMP/selftest.log" 2>&1 && grep -q "^self-test ok" "$TMP/selftest.log"; then
  pass "--self-test: $(grep '^self-test ok' "$TMP/selftest.log")"
else
  fail "--self-test"; show "$TMP/selftest.log"
fi

# A windowed build starts with sys.stdout/sys.stderr set to None: the same happens with both streams closed.
if run_app --self-test >&- 2>&-; then
  pass "--self-test with stdout and stderr closed (sys.stdout is None, as in a windowed build)"
else
  fail "--self-test with stdout and stderr closed: exit code $?"
fi

# --- 2. compute on a shipped sample: all three files --------------------------------------------------------
check_outputs() {  # DIR STEM LABEL
  local ok=1 f
  for f in "$1/$2.npy" "$1/$2.png" "$1/$2.json"; do [ -s "$f" ] || { ok=0; echo "    missing $f"; }; done
  [ "$ok" = 1 ] && head -c 6 "$1/$2.npy" | grep -q "NUMPY" || ok=0
  [ "$ok" = 1 ] && head -c 8 "$1/$2.png" | grep -q "PNG" || ok=0
  [ "$ok" = 1 ] && grep -q '"method"' "$1/$2.json" || ok=0
  if [ "$ok" = 1 ] && command -v python3 >/dev/null; then
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1/$2.json" || ok=0
  fi
  [ "$ok" = 1 ]
}
SAMPLE=$(find "$APP" -path '*smoothgrad_desktop/resources/samples/*' -name 'digit_*.png' 2>/dev/null | sort | head -n 1)
if [ -z "$SAMPLE" ]; then
  fail "compute: no shipped sample image in the bundle"
else
  stem=$(basename "$SAMPLE" .png)
  if run_app compute "$SAMPLE" --out "$TMP/out/default" --samples 20 >"$TMP/compute.log" 2>&1 \
     && check_outputs "$TMP/out/default" "$stem"; then
    pass "compute $stem: $(ls "$TMP/out/default" | tr '\n' ' ')"
  else
    fail "compute $stem"; show "$TMP/compute.log"
  fi
  if run_app figure "$SAMPLE" --kind map --samples 10 --out "$TMP/out/figure.pdf" >"$TMP/figure.log" 2>&1 \
     && head -c 5 "$TMP/out/figure.pdf" | grep -q "%PDF-" \
     && run_app figure "$SAMPLE" --kind difference --classes 7,1 --samples 10 --out "$TMP/out/diff.svg" \
        >>"$TMP/figure.log" 2>&1 && grep -q "<svg" "$TMP/out/diff.svg" && [ -s "$TMP/out/diff.npy" ]; then
    pass "figure: annotated PDF and SVG with .json and .npy"
  else
    fail "figure"; show "$TMP/figure.log"
  fi
  if run_app compute --help >"$TMP/help.log" 2>&1 && grep -q -- "--out" "$TMP/help.log" \
     && run_app models >"$TMP/models.log" 2>&1; then
    pass "compute --help, models"
  else
    fail "compute --help / models"; show "$TMP/help.log"; show "$TMP/models.log"
  fi
fi

# --- 3. TorchScript and torch.export files (torch's Python sources and lazily imported modules) ----------------
if [ -z "$PY" ]; then
  for candidate in "$ROOT/build/packaging/venv/bin/python" "$ROOT/build/packaging/venv-cpu/bin/python"; do
    [ -x "$candidate" ] && "$candidate" -c "import torch" 2>/dev/null && { PY=$candidate; break; }
  done
fi
if [ -n "$PY" ] && [ -n "$SAMPLE" ]; then
  if "$PY" - "$TMP/models" >"$TMP/fixtures.log" 2>&1 <<'EOF'
import json, pathlib, sys, warnings
import torch
from torch import nn

out = pathlib.Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
                    nn.Linear(64, 10)).eval()
meta = {"channels": 1, "input_size": [28, 28], "labels": [str(i) for i in range(10)]}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    torch.jit.script(net).save(str(out / "tiny_script.pt"))
    torch.export.save(torch.export.export(net, (torch.zeros(2, 1, 28, 28),),
                                          dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096)},)),
                      str(out / "tiny_export.pt2"))
for name in ("tiny_script.pt", "tiny_export.pt2"):
    (out / (name + ".json")).write_text(json.dumps(meta))
EOF
  then
    for model in tiny_script.pt:gradient tiny_export.pt2:guided-backprop; do
      file=${model%%:*} method=${model##*:}
      if run_app compute "$SAMPLE" --model "$TMP/models/$file" --method "$method" --samples 10 \
           --out "$TMP/out/$file" >"$TMP/$file.log" 2>&1 && check_outputs "$TMP/out/$file" "$stem"; then
        pass "compute --model $file --method $method"
      else
        fail "compute --model $file --method $method"; show "$TMP/$file.log"
      fi
    done
  else
    fail "could not write the TorchScript / torch.export test models with $PY"; show "$TMP/fixtures.log"
  fi
else
  echo "SKIP TorchScript / torch.export models: no Python with torch to write them (--python PY)"
fi

# --- 4. the window under Xvfb --------------------------------------------------------------------------------
now_ms() { date +%s%3N; }
wait_exit() { local i; for ((i = 0; i < $2 * 10; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; }
gui_run() {  # LABEL N: launch, wait for the window, Ctrl+Q, expect exit code 0; sets LAST_MS
  local label=$1 log="$TMP/gui-$1-$2.log" start wid="" pid rc i
  APP_HOME="$TMP/home-gui-$2"  # every launch as the first one on a clean machine: no saved settings
  mkdir -p "$APP_HOME"; mkdir -p -m 700 "$APP_HOME/run"
  start=$(now_ms)
  run_app >"$log" 2>&1 &
  pid=$!
  for ((i = 0; i < 2400; i++)); do  # up to 120 s
    wid=$(DISPLAY=$DISPLAY_FOR_APP xdotool search --onlyvisible --name "SmoothGrad Desktop" 2>/dev/null | head -n 1)
    [ -n "$wid" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  LAST_MS=$(( $(now_ms) - start ))
  if [ -z "$wid" ]; then
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    fail "window ($label): xdotool found no 'SmoothGrad Desktop' window"; show "$log"; return 1
  fi
  sleep 1  # let the first paint finish (and the screenshot show it)
  [ ! -f "$TMP/window.png" ] && command -v import >/dev/null && \
    DISPLAY=$DISPLAY_FOR_APP import -window root "$TMP/window.png" 2>/dev/null
  local how="Ctrl+Q"
  DISPLAY=$DISPLAY_FOR_APP xdotool windowfocus --sync "$wid" 2>/dev/null
  DISPLAY=$DISPLAY_FOR_APP xdotool key --clearmodifiers ctrl+q
  wait_exit "$pid" 15
  if kill -0 "$pid" 2>/dev/null; then
    fail "window ($label): Ctrl+Q did not close it$(grep -q 'Ambiguous shortcut' "$log" && \
      echo ' (Qt: "Ambiguous shortcut overload: Ctrl+Q": the Quit action has Ctrl+Q twice)')"
    how="File > Quit (Alt+F, Q) after Ctrl+Q failed"
    DISPLAY=$DISPLAY_FOR_APP xdotool windowfocus --sync "$wid" 2>/dev/null
    DISPLAY=$DISPLAY_FOR_APP xdotool key --clearmodifiers alt+f
    sleep 0.5
    DISPLAY=$DISPLAY_FOR_APP xdotool key q
    wait_exit "$pid" 30
  fi
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    fail "window ($label): still running after $how"; show "$log"; return 1
  fi
  wait "$pid"; rc=$?
  if [ "$rc" != 0 ] || grep -q -E "Traceback|QThread: Destroyed|Fatal Python error" "$log"; then
    fail "window ($label): exit code $rc after $how"; show "$log"; return 1
  fi
  pass "window ($label): found after $LAST_MS ms, closed by $how, exit code 0"
}

start_xvfb() {  # Xvfb picks a free display itself and writes its number to fd 9 (no race with other X servers)
  local i n
  rm -f "$TMP/display"
  Xvfb -displayfd 9 -screen 0 1600x1000x24 -nolisten tcp 9>"$TMP/display" >>"$TMP/xvfb.log" 2>&1 &
  XVFB_PID=$!
  for ((i = 0; i < 100; i++)); do [ -s "$TMP/display" ] && break; sleep 0.1; done
  n=$(head -n 1 "$TMP/display" 2>/dev/null | tr -dc '0-9')
  [ -n "$n" ] || { echo "smoke_test.sh: Xvfb did not start"; show "$TMP/xvfb.log"; return 1; }
  DISPLAY_FOR_APP=":$n"
  for ((i = 0; i < 100; i++)); do DISPLAY=:$n xdotool getmouselocation >/dev/null 2>&1 && break; sleep 0.1; done
  echo "smoke_test.sh: Xvfb on display :$n"
}
xvfb_alive() { [ -n "$XVFB_PID" ] && kill -0 "$XVFB_PID" 2>/dev/null; }

if [ "$GUI" = 1 ]; then
  if ! command -v Xvfb >/dev/null || ! command -v xdotool >/dev/null; then
    fail "window: Xvfb and xdotool are needed (apt-get install xvfb xdotool) or pass --no-gui"
  else
    start_xvfb
    runs=$(( TIMING > 0 ? TIMING : 1 ))
    times=()
    for ((r = 1; r <= runs; r++)); do
      label=warm
      if [ "$r" = 1 ]; then
        label=first
        if [ "$COLD" = 1 ]; then
          if sync && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then label=cold; else
            echo "smoke_test.sh: cannot drop the page cache here: the first launch is not a cold one"; fi
        fi
      fi
      xvfb_alive || { echo "smoke_test.sh: Xvfb has ended (stopped by another process?): a new one"; start_xvfb; }
      failed_before=$FAILED
      if gui_run "$label" "$r"; then times+=("$label:$LAST_MS")
      elif ! xvfb_alive; then  # the display went away under the app: not the app's failure; run it again
        FAILED=$failed_before
        echo "smoke_test.sh: Xvfb ended during that run (stopped by another process?): the FAIL above does" \
             "not count; running it again"
        start_xvfb && gui_run "$label-again" "$r" && times+=("$label:$LAST_MS")
      fi
    done
    [ "$TIMING" -gt 0 ] && echo "smoke_test.sh: time to window (ms): ${times[*]}"
    [ -f "$TMP/window.png" ] && [ "$KEEP" = 1 ] && echo "smoke_test.sh: screenshot $TMP/window.png"
    DISPLAY_FOR_APP=""
  fi
fi

echo "smoke_test.sh: $NETWORK"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
