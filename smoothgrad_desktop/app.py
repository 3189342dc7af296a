"""Entry point: ``smoothgrad-desktop`` opens the desktop app; ``smoothgrad-desktop COMMAND ...`` runs the CLI."""

from __future__ import annotations

import multiprocessing
import sys
from typing import Sequence

CLI_COMMANDS = {"compute", "evaluate", "report", "figure", "models", "self-test", "-h", "--help", "--version"}


def _ensure_streams() -> None:
    """Windowed (frozen) builds may start with ``sys.stdout``/``sys.stderr`` set to None."""
    import os

    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    multiprocessing.freeze_support()
    _ensure_streams()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--self-test"]:
        argv[0] = "self-test"
    import torch  # noqa: F401 - torch before PySide6 (Windows DLL search order)

    if argv and argv[0] in CLI_COMMANDS:
        from .cli import main as cli_main

        return cli_main(argv)
    if argv and argv[0] == "gui":
        argv = argv[1:]
    return main_gui(argv)


def main_gui(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        from .gui.application import run_gui
    except ImportError as exc:  # the GUI is optional for headless use
        print(f"smoothgrad-desktop: the desktop app is not available ({exc}); "
              f"use 'smoothgrad-desktop compute --help' for the command line", file=sys.stderr)
        return 2
    return run_gui(argv)


if __name__ == "__main__":
    sys.exit(main())
