"""The layer contracts in pyproject.toml ([tool.importlinter]) hold, and each kind of contract catches a violation
injected into a copy of the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("lint-imports")
    command = [str(script)] if script.exists() else [
        sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                              "sys.exit(lint_imports_command())"]
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.run([*command, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_lint_imports_keeps_every_contract():
    result = _lint_imports(ROOT)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "0 broken" in out and " kept" in out, out


@pytest.fixture
def package_copy(tmp_path) -> Path:
    """The package's sources and pyproject.toml in a temporary folder, which PYTHONPATH puts first."""
    shutil.copytree(ROOT / "smoothgrad_desktop", tmp_path / "smoothgrad_desktop",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize("module, line, contract, edge", [
    ("core/visualize.py", "import PySide6", "core is pure Python",
     "smoothgrad_desktop.core.visualize -> PySide6"),
    ("cli_common.py", "from . import cli", "the command line: cli dispatches",
     "smoothgrad_desktop.cli_common -> smoothgrad_desktop.cli"),
    ("figure_cli.py", "from . import evaluate_cli", "the command line: cli dispatches",
     "smoothgrad_desktop.figure_cli -> smoothgrad_desktop.evaluate_cli"),
    ("gui/panels/grid.py", "from .. import main_window", "panels, widgets and Qt models",
     "smoothgrad_desktop.gui.panels.grid -> smoothgrad_desktop.gui.main_window"),
    ("core/errors.py", "from . import images", "no import cycles between sibling modules",
     "No cycles are allowed in smoothgrad_desktop.core."),
])
def test_a_contract_catches_an_injected_import(package_copy, module, line, contract, edge):
    clean = _lint_imports(package_copy, package_copy)
    assert clean.returncode == 0, clean.stdout + clean.stderr  # the copy itself keeps every contract
    target = package_copy / "smoothgrad_desktop" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # injected by the test\n", encoding="utf-8")
    result = _lint_imports(package_copy, package_copy)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    broken = out[out.index("Broken contracts"):]
    assert contract in broken and edge in broken, out
