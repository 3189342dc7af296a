"""The app's side of the safety rules: exports never write over an open file, names in status lines are printable,
code models load only when chosen in this run, sessions go through the one path resolver and hash gate."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from smoothgrad_desktop.core.errors import ExportError
from tests.gui_support import make_window  # noqa: F401 - fixture


def test_export_never_writes_over_an_open_image_even_when_the_user_agrees(make_window, tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray((np.random.default_rng(0).random((40, 40)) * 255).astype(np.uint8)).save(photo)
    original = photo.read_bytes()
    window = make_window(files=[str(photo)])
    asked = []
    window._confirm_replace = lambda paths: asked.append(paths) or True
    with pytest.raises(ExportError, match="one of the inputs"):
        window.export_to(photo, "map")  # the map export writes photo.png, photo.npy, ...
    with pytest.raises(ExportError, match="one of the inputs"):
        window.export_to(tmp_path / "sub" / ".." / "photo.png", "convergence")
    assert asked == []  # refused before the replace question
    assert photo.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]


def test_file_names_in_status_lines_and_the_image_list_are_printable(make_window, tmp_path):
    from PySide6.QtCore import Qt

    evil = tmp_path / "\x1b[2Jx\u202egnp.png"
    Image.fromarray((np.random.default_rng(1).random((30, 30)) * 255).astype(np.uint8)).save(evil)
    window = make_window(files=[str(evil)])
    shown = window.statusBar().currentMessage()
    assert "\\x1b[2Jx\\u202egnp.png" in shown and "\x1b" not in shown and "\u202e" not in shown
    row = next(i for i in range(window.images.rowCount()) if "gnp" in window.images.data(window.images.index(i, 0)))
    assert window.images.data(window.images.index(row, 0), Qt.ItemDataRole.DisplayRole) == "\\x1b[2Jx\\u202egnp.png"
    window.show_error(f"{evil.name}: bad\nthing")
    assert window.message_label.toolTip() == "\\x1b[2Jx\\u202egnp.png: bad thing"
