"""House rules that keep the core usable headless: no Qt below core/, no network code in the app."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import smoothgrad_desktop
import smoothgrad_desktop.core as core

QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "PySide2", "pyqtgraph", "qtpy", "superqt", "shiboken6")
PACKAGE = Path(smoothgrad_desktop.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_sources_import_no_qt():
    files = sorted(Path(core.__file__).parent.rglob("*.py"))
    assert len(files) > 10
    offenders = {str(f.relative_to(PACKAGE)): sorted(_imports(f) & set(QT_MODULES)) for f in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_every_core_module_loads_no_qt():
    names = [m.name for m in pkgutil.walk_packages(core.__path__, "smoothgrad_desktop.core.")]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}]\n"
        "print(len(sys.modules)); sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(names) > 10


def test_app_sources_have_no_network_calls():
    banned = ("load_state_dict_from_url", "urlopen(", "requests.get", "download=True", "hub.load(", "urlretrieve")
    hits = []
    for f in PACKAGE.rglob("*.py"):
        text = f.read_text(encoding="utf-8")
        hits += [f"{f.name}: {b}" for b in banned if b in text]
    assert hits == []


def test_weights_are_always_loaded_weights_only():
    for f in PACKAGE.rglob("*.py"):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "load" and \
                    getattr(getattr(node.func, "value", None), "id", None) == "torch":
                kw = {k.arg: k.value for k in node.keywords}
                assert "weights_only" in kw and getattr(kw["weights_only"], "value", None) is True, f"{f}:{node.lineno}"
