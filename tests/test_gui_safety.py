"""The app's side of the safety rules: exports never write over an open file, names in status lines are printable,
code models load only when chosen in this run, sessions go through the one path resolver and hash gate."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from smoothgrad_desktop.core.errors import ExportError


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


# ------------------------------------------------------------------------------------------------ code models


def _scripted(folder):
    import torch

    from smoothgrad_desktop.core.models import load_model

    path = folder / "net.pt"
    torch.jit.trace(load_model("default", device="cpu").module.cpu(), torch.rand(1, 1, 28, 28)).save(str(path))
    (folder / "net.pt.json").write_text('{"channels": 1, "resize_height": 28}')
    return path


def test_a_code_model_in_the_settings_is_not_loaded_at_start(make_window, qtbot, tmp_path):
    from dataclasses import replace

    from smoothgrad_desktop.gui.settings import AppSettings
    from tests.gui_support import FAST

    scripted = _scripted(tmp_path)
    AppSettings().set_params(replace(FAST, model=str(scripted)))
    loads = []
    window = make_window(None, wait=False)
    window.model_ready.connect(loads.append)
    qtbot.waitUntil(lambda: window.model_info is not None, timeout=30_000)
    assert window.model_info.spec == "default"
    assert window.params.model == "default"
    assert "net.pt" in window.message_label.toolTip() and "not loaded" in window.message_label.toolTip()
    # the note outlives the default model's first map (which clears older messages)
    qtbot.waitUntil(lambda: window.state.outcome("map") is not None, timeout=60_000)
    qtbot.wait(50)
    assert "net.pt" in window.message_label.text() and "not loaded" in window.message_label.text()


def test_a_session_naming_a_code_model_with_tilde_is_gated_and_hash_checked(make_window, qtbot, tmp_path, monkeypatch):
    from smoothgrad_desktop.core.models.base import sha256_file
    from smoothgrad_desktop.core.session import Session
    from tests.gui_support import FAST, SAMPLES

    home = tmp_path / "home"
    home.mkdir()
    scripted = _scripted(home)
    monkeypatch.setenv("HOME", str(home))
    window = make_window(FAST)
    asked = []
    monkeypatch.setattr(type(window), "confirm_code_model", lambda self, p: asked.append(p) or False)

    def session(digest):
        s = Session(model_spec="~/net.pt", weights_sha256=digest, images=[str(SAMPLES[0])], image_sha256=[None])
        return s.save(tmp_path / f"s-{digest}.sgsession", overwrite=True)

    assert not window.open_session_from(session(sha256_file(scripted)))
    assert asked == [scripted.resolve()]  # asked about the file the loader would load
    asked.clear()
    assert not window.open_session_from(session("0" * 64))  # the code changed: refused without asking
    assert asked == [] and "changed" in window.message_label.toolTip()
    assert not window.open_session_from(session(None))  # no hash: nothing vouches for the file
    assert asked == [] and "no hash" in window.message_label.toolTip()
    assert window.params.model == "default" and window.model_info.spec == "default"


def test_choosing_the_same_model_file_again_reloads_it_after_its_sidecar_is_fixed(make_window, qtbot, tmp_path,
                                                                                 monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from smoothgrad_desktop.gui.widgets.parameters import MODEL_FILE

    scripted = _scripted(tmp_path)
    sidecar = tmp_path / "net.pt.json"
    sidecar.write_text('{"channels": "one"}')
    window = make_window()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(scripted), ""))
    editor = window.editor
    with qtbot.waitSignal(window.job_failed, timeout=30_000, check_params_cb=lambda k, m: k == "load") as failed:
        editor.model_combo.setCurrentIndex(editor.model_combo.findData(MODEL_FILE))
        editor._browse_model_file()
    assert "channels" in failed.args[1] and "unexpected error" not in failed.args[1]
    sidecar.write_text('{"channels": 1, "resize_height": 28}')
    with qtbot.waitSignal(window.model_ready, timeout=30_000) as ready:
        editor._browse_model_file()  # the same file again
    assert ready.args[0].spec == str(scripted)


# ------------------------------------------------------------------------------------------------ Inception layout


def test_the_inception_layout_control_reloads_and_is_kept_in_sessions(make_window, qtbot, tmp_path):
    from dataclasses import replace

    from smoothgrad_desktop.core.session import Session
    from smoothgrad_desktop.core import session_io

    window = make_window()
    editor = window.editor
    assert not editor.transform_check.isVisibleTo(editor)  # the embedded model has no such layout
    with qtbot.waitSignal(window.model_ready, timeout=60_000) as ready:
        window.set_params(replace(window.params, model="googlenet", weights="random", n_samples=1))
    assert dict(ready.args[0].layout)["transform_input"] is True
    assert editor.transform_check.isVisibleTo(editor) and editor.transform_check.isChecked()
    with qtbot.waitSignal(window.model_ready, timeout=60_000) as ready:
        editor.transform_check.setChecked(False)  # the user's click reloads the model with the other layout
    assert dict(ready.args[0].layout)["transform_input"] is False and window.params.transform_input is False
    saved = window.save_session_to(tmp_path / "g.sgsession")
    session = Session.load(saved)
    assert session.transform_input is False
    assert session_io.params_from_session(session, replace(window.params, transform_input=True)).transform_input is False
    window.cancel()
