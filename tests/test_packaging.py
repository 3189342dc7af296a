"""Static checks of the PyInstaller packaging (packaging/): no build here, only what the files say.

The build itself and the frozen smoke test are ``packaging/build.sh`` and ``packaging/smoke_test.sh``.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "SmoothGradDesktop.spec"
LISTS = ("QT_BINDINGS", "PYSIDE6_UNUSED", "DEV_AND_OPTIONAL", "EXCLUDES")


def _tree() -> ast.Module:
    return ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))


def _excludes() -> set[str]:
    """The spec's exclude lists, evaluated from their (pure) top-level assignments only."""
    tree = _tree()
    body = [node for node in tree.body if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id in LISTS for t in node.targets)]
    namespace: dict = {}
    exec(compile(ast.Module(body=body, type_ignores=[]), str(SPEC), "exec"), {}, namespace)  # literals only
    return set(namespace["EXCLUDES"])


def _call(name: str) -> ast.Call:
    for node in ast.walk(_tree()):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name:
            return node
    raise AssertionError(f"the spec has no {name}(...) call")


def _keyword(call: ast.Call, name: str):
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    raise AssertionError(f"{ast.unparse(call.func)}() has no {name}=")


def test_spec_is_python():
    _tree()


def test_other_qt_bindings_and_dev_packages_are_excluded():
    excludes = _excludes()
    required = {"PyQt5", "PyQt6", "PySide2", "tkinter", "_tkinter", "pytest", "hypothesis", "captum", "mlxtend",
                "matplotlib.pyplot", "matplotlib.backends.backend_qtagg", "IPython"}
    qt_unused = {"QtWebEngineCore", "QtWebEngineWidgets", "Qt3DCore", "QtQml", "QtQuick", "QtMultimedia",
                 "QtCharts", "QtDesigner", "QtTest"}
    assert required <= excludes, required - excludes
    assert {f"PySide6.{m}" for m in qt_unused} <= excludes
    assert '"triton"' in SPEC.read_text(encoding="utf-8")  # left out unless --with-triton
    assert "matplotlib" not in excludes  # figures (core/figures.py) draw with it; only pyplot and GUI backends go


def test_nothing_the_app_imports_is_excluded():
    excludes = _excludes()
    used: set[str] = set()
    for path in (ROOT / "smoothgrad_desktop").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        used.update(re.findall(r"^\s*(?:from|import)\s+([A-Za-z_][\w.]*)", text, flags=re.M))
        for names in re.findall(r"^\s*from PySide6 import ([\w, ]+)", text, flags=re.M):
            used.update("PySide6." + n.strip() for n in names.split(",") if n.strip())
    # pyqtgraph imports these PySide6 modules unconditionally when it loads
    used.update({"PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtOpenGL", "PySide6.QtSvg"})
    used.update({"torch", "torchvision", "numpy", "PIL", "pyqtgraph", "PySide6", "shiboken6"})
    clashes = {name for name in used if any(name == ex or name.startswith(ex + ".") for ex in excludes)}
    assert not clashes, f"the spec excludes modules the app imports: {sorted(clashes)}"


def test_one_folder_build_with_torch_sources_and_resources():
    analysis = _call("Analysis")
    modes = ast.literal_eval(_keyword(analysis, "module_collection_mode"))
    assert modes.get("torch") == "pyz+py"  # TorchScript needs torch's .py sources
    assert ast.unparse(_keyword(analysis, "excludes")) == "EXCLUDES"
    exe = _call("EXE")
    assert ast.literal_eval(_keyword(exe, "exclude_binaries")) is True  # one folder: binaries go to COLLECT
    assert ast.literal_eval(_keyword(exe, "console")) is True  # the same executable runs the CLI
    assert ast.literal_eval(_keyword(exe, "upx")) is False
    _call("COLLECT")
    text = SPEC.read_text(encoding="utf-8")
    assert 'RESOURCES_DEST = "smoothgrad_desktop/resources"' in text  # where importlib.resources finds them
    assert "resources_root" in text  # located the way the app locates them, not by a hard-coded folder


def test_entry_script_calls_freeze_support_and_main():
    entry = (PACKAGING / "entry.py").read_text(encoding="utf-8")
    assert "multiprocessing.freeze_support()" in entry
    assert "from smoothgrad_desktop.app import main" in entry


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("script", ["build.sh", "smoke_test.sh"])
def test_scripts_parse_and_document_their_options(script):
    path = PACKAGING / script
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0
    out = subprocess.run(["bash", str(path), "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    options = ["--cpu-only", "--venv", "--skip-venv"] if script == "build.sh" else ["--no-gui", "--timing", "--cold"]
    for option in options:
        assert option in out.stdout


def test_build_requirements_are_pinned():
    lines = [ln.strip() for ln in (PACKAGING / "requirements.txt").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert any(ln.startswith("pyinstaller==") for ln in lines)
    assert all("==" in ln for ln in lines)
