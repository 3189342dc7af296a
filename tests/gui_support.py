"""Shared pieces of the GUI tests: the shipped samples, fast parameters and a main-window factory fixture."""

from __future__ import annotations

import pytest

from smoothgrad_desktop.core.resources import sample_images
from smoothgrad_desktop.gui.main_window import MainWindow
from smoothgrad_desktop.core.params import Params

SAMPLES = sample_images()
assert SAMPLES, "the shipped sample images are missing: the installation is broken"

FAST = Params(n_samples=8, seed=3)


@pytest.fixture
def make_window(qtbot):
    """A main window on the default model and the shipped samples; waits for its first map unless told not to."""

    def make(params: Params = FAST, *, wait: bool = True, **kwargs) -> MainWindow:
        window = MainWindow(params=params, **kwargs)
        qtbot.addWidget(window)
        window.show()
        if wait:
            with qtbot.waitSignal(window.run_finished, timeout=30_000):
                pass
        return window

    return make
