"""Shared pieces of the GUI tests, loaded as a pytest plugin by tests/conftest.py (so its fixtures need no import):
the shipped samples and fast parameters, dialog recorders, a main-window factory, readers of what the window shows,
and the restoring of the process-wide hooks that the application installs.

Qt and the GUI are imported inside the fixtures and helpers: loading this plugin costs a test run that builds no
widget nothing."""

from __future__ import annotations

import logging
import signal
import sys
import threading

import pytest

from smoothgrad_desktop.core.resources import sample_images
from smoothgrad_desktop.core.params import Params

SAMPLES = sample_images()
assert SAMPLES, "the shipped sample images are missing: the installation is broken"

FAST = Params(n_samples=8, seed=3)
"""Parameters that make a map in a fraction of a second on the default model."""

RUN_TIMEOUT_MS = 60_000


# ------------------------------------------------------------------------------------------------ tab cost gate


@pytest.fixture
def tabs_compute_when_opened(request, monkeypatch):
    """Every tab computes when opened, however slow this shared machine makes the cost estimate: for tests about
    what a tab computes, not about the cost gate. A test marked ``cost_gate`` keeps the real gate."""
    if request.node.get_closest_marker("cost_gate"):
        return
    from smoothgrad_desktop.gui import tabs

    monkeypatch.setattr(tabs, "AUTO_SECONDS", float("inf"))


# ------------------------------------------------------------------------------------------------ dialogs


class Dialogs:
    """Records what would have been shown in a message box; answers questions with ``answer``."""

    def __init__(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        self.shown: list[tuple[str, str, str]] = []  # (kind, title, text)
        self.answer = QMessageBox.StandardButton.No

    def texts(self, kind: str | None = None) -> list[str]:
        return [t for k, _, t in self.shown if kind is None or k == kind]


@pytest.fixture
def dialogs(monkeypatch) -> Dialogs:
    """QMessageBox's static dialogs record their text instead of blocking; questions get ``dialogs.answer``."""
    from PySide6.QtWidgets import QMessageBox

    d = Dialogs()

    def recorder(kind):
        def show(parent, title, text, *args, **kwargs):
            d.shown.append((kind, title, text))
            return d.answer if kind == "question" else QMessageBox.StandardButton.Ok
        return show

    for kind in ("warning", "critical", "information", "question", "about"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(recorder(kind)))
    return d


# ------------------------------------------------------------------------------------------------ the window


@pytest.fixture
def make_window(qtbot, dialogs):
    """A main window on the default model and the shipped samples, registered with qtbot (closed and deleted after
    the test) and shown; waits for its first map unless ``wait=False``. Message boxes are recorded by ``dialogs``."""
    from smoothgrad_desktop.gui.main_window import MainWindow

    def make(params: Params = FAST, *, wait: bool = True, **kwargs) -> MainWindow:
        window = MainWindow(params=params, **kwargs)
        qtbot.addWidget(window)
        window.show()
        if wait:
            with qtbot.waitSignal(window.run_finished, timeout=RUN_TIMEOUT_MS):
                pass
        return window

    return make


def heatmap(window):
    """The array the window's heatmap view shows (None before the first map)."""
    return window.panels.heatmap_view.image_item.image


def shown_image(window):
    """The array the window's image view shows."""
    return window.panels.image_view.image_item.image


def levels(item) -> tuple[float, float]:
    """The colour levels of a pyqtgraph ImageItem as two floats."""
    lv = item.getLevels()
    assert lv is not None
    return (float(lv[0]), float(lv[1]))


def assert_one_line(message: str) -> None:
    """A message for the user: one line, no traceback."""
    assert message and "\n" not in message and "\r" not in message, repr(message)
    assert "Traceback" not in message


# ------------------------------------------------------------------------------------------------ hooks


@pytest.fixture
def hooks(monkeypatch):
    """Restore the process-wide hooks, handlers and relay the application installs (run_gui,
    install_exception_hooks, setup_logging)."""
    from smoothgrad_desktop.gui import application

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    previous = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, previous)
    root = logging.getLogger("smoothgrad_desktop")
    for h in list(root.handlers):
        if getattr(h, "_smoothgrad", False):
            root.removeHandler(h)
            h.close()
    application._relay = None
