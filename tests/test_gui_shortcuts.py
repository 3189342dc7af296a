"""Every keyboard shortcut of the main window is unambiguous (a duplicate makes Qt ignore the key entirely)."""

from __future__ import annotations

from collections import Counter

from PySide6.QtGui import QAction

from smoothgrad_desktop.gui.main_window import MainWindow
from tests.gui_support import FAST


def test_no_two_actions_share_a_key(qtbot):
    window = MainWindow(params=FAST)
    qtbot.addWidget(window)
    keys = Counter()
    for action in window.findChildren(QAction):
        for seq in action.shortcuts():
            if not seq.isEmpty():
                keys[seq.toString()] += 1
    assert keys, "the window defines no shortcuts"
    assert "Ctrl+Q" in keys and "F5" in keys
    assert {k: n for k, n in keys.items() if n > 1} == {}
    window.close()
