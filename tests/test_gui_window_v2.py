"""The window says what it shows and shows all of it: the class the Map tab explains, the run history's model
column and full-value tooltips, messages in an elided line with Details that name app controls (not command-line
options), the layout at 1280 × 800 (tab titles, image list, history columns), Ctrl+E in a text field, a folder per
file dialog, "Reset to defaults" asking first, and the note when a colour photo becomes a grey MNIST input."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox  # noqa: E402

from tests.gui_support import FAST, RUN_TIMEOUT_MS, SAMPLES  # noqa: E402

pytestmark = pytest.mark.gui


def _settle(qtbot, window, size=(1280, 800)) -> None:
    window.resize(*size)
    qtbot.wait(150)
    QApplication.processEvents()


def _softmax_percent(scores, index: int) -> float:
    s = np.asarray(scores, dtype=np.float64)
    e = np.exp(s - s.max())
    return float(100.0 * e[index] / e.sum())


# ------------------------------------------------------------------------------------------------ 1. what is explained


def test_map_tab_names_the_class_and_probability_of_the_result_shown(make_window, qtbot):
    window = make_window()
    expl = window.current.explanation
    p = _softmax_percent(expl.scores, expl.target)
    caption = window.map_tab.caption.text()
    assert f"explains {expl.target_label} · {p:.1f} %" in caption, caption
    # another target in the parameters: until its map is made, the caption names the class of the map shown
    other = int(np.argsort(expl.scores)[-2])
    with qtbot.waitSignal(window.run_finished, timeout=RUN_TIMEOUT_MS):
        window.set_target(other)
        assert f"explains {expl.target_label} ·" in window.map_tab.caption.text()
    new = window.current.explanation
    assert new.target == other
    assert f"explains {new.target_label} · " in window.map_tab.caption.text()
    assert f"{_softmax_percent(new.scores, other):.1f} %" in window.map_tab.caption.text() or \
        f"{_softmax_percent(new.scores, other):.2g} %" in window.map_tab.caption.text()


# ------------------------------------------------------------------------------------------------ 2. run history


def test_run_history_has_a_model_column_uncut_cells_and_full_tooltips(make_window, qtbot):
    window = make_window(replace(FAST, seed=11))
    _settle(qtbot, window)
    runs, view = window.runs, window.run_view
    headers = [runs.headerData(c, Qt.Orientation.Horizontal) for c in range(runs.columnCount())]
    assert "Model" in headers
    col = headers.index("Model")
    model_name = window.model_info.name
    shown = runs.data(runs.index(0, col))
    assert shown and shown in model_name
    header = view.horizontalHeader()
    for c, name in enumerate(headers):
        tip = runs.data(runs.index(0, c), Qt.ItemDataRole.ToolTipRole)
        value = runs.data(runs.index(0, c))
        if name in ("Image", "Model", "Target"):  # names: wide enough to tell apart; the tooltip has the full value
            full = {"Image": runs.run(0).image_name, "Model": model_name, "Target": runs.run(0).target_label}[name]
            assert tip.splitlines()[0].endswith(full), (name, tip)
            assert header.sectionSize(c) >= min(view.sizeHintForColumn(c), 120), (name, header.sectionSize(c))
        else:  # short values: the column is as wide as its widest cell
            assert header.sectionSize(c) >= view.sizeHintForColumn(c), (name, value, header.sectionSize(c))
            assert value in tip.splitlines()[0] or name in ("#", "Method", "Noise", "n", "Seed"), (name, tip)


# ------------------------------------------------------------------------------------------------ 3. errors


def test_a_long_error_is_elided_with_details_showing_all_of_it(make_window, qtbot):
    from smoothgrad_desktop.gui.widgets.error_line import ErrorLine

    window = make_window(wait=False)
    _settle(qtbot, window)
    message = "the model cannot read this image: " + " ".join(f"part{i}" for i in range(80)) + " END"
    window.show_error(message)
    label = window.message_label
    assert isinstance(label, ErrorLine)
    assert label.text() == message and label.is_clipped() and label.toggle.isVisible()
    label.toggle.click()
    assert label.details_visible() and label.details.toPlainText() == message
    status = window.statusBar()
    assert status.currentMessage() == message
    line = status.findChild(ErrorLine)
    assert line is not None and line.text() == message and line.is_clipped()


# ------------------------------------------------------------------------------------------------ 4. app controls


def test_a_missing_weights_error_names_the_app_control_not_the_cli_flag(make_window, qtbot):
    window = make_window(wait=False, autostart=False)
    with qtbot.waitSignal(window.job_failed, timeout=RUN_TIMEOUT_MS,
                          check_params_cb=lambda kind, _m: kind == "load") as failed:
        window.set_params(replace(window.params, model="resnet18", weights=""))
    assert "--weights" in failed.args[1]  # what the core says (for the command line)
    for shown in (window.message_label.text(), window.statusBar().currentMessage()):
        assert "not found" in shown and "--" not in shown, shown
        assert "Weights (in Model ▸ Choose…)" in shown, shown


@pytest.mark.parametrize("message", [
    "weights for resnet18 not found: looked for /c/r.pth — copy r.pth there (the torch hub cache) or pass --weights "
    "FILE with a state_dict; nothing is downloaded",
    "weights for vit not found: looked in /c; copy the model's files there, or pass --weights FILE (.safetensors or "
    "state_dict) or --weights random; nothing is downloaded",
    "no weights in /m: pass --weights FILE, or --weights random",
    "--weights does not apply to a model folder or hf: repository (it holds its weights)",
    "--transform-input applies to inception_v3 and googlenet only, not resnet18",
    "the weights were trained with the other layout (or --transform-input off for the other layout)",
    "device 'cuda' requested but no CUDA GPU is available (try --device auto or cpu)",
    "a.png already exists (use --overwrite to replace it)",
    "state_dict needs an architecture name with --weights",
    "with --samples auto: stop when --tolerance is met",
])
def test_every_core_message_naming_a_flag_reads_as_app_controls(message):
    from smoothgrad_desktop.gui.app_terms import app_text, names_cli_flag

    shown = app_text(message)
    assert not names_cli_flag(shown) and "--" not in shown, shown
    assert shown.split(" ")[0] == message.split(" ")[0] or message.startswith("--")


# ------------------------------------------------------------------------------------------------ 5. layout


def test_at_1280x800_every_tab_title_image_rows_and_controls_are_visible(make_window, qtbot):
    window = make_window()
    _settle(qtbot, window)
    bar = window.tabs.tabBar()
    nav = getattr(window, "tab_nav", None)
    if nav is None:  # one tab bar: every title must fit without scroll arrows
        assert bar.sizeHint().width() <= bar.width(), (bar.sizeHint().width(), bar.width())
    else:
        assert nav.isVisible() and nav.all_visible()
        assert nav.sizeHint().width() <= nav.width()
        assert set(nav.buttons) == {s.kind for s in __import__("smoothgrad_desktop.gui.tabs", fromlist=["TABS"]).TABS}
        nav.buttons["sanity"].click()
        assert window.current_tab_kind() == "sanity"
        window.show_tab("map")
        assert nav.buttons["map"].isChecked()
    view = window.image_view
    assert view.model().rowCount() >= 5
    assert view.viewport().height() >= 5 * view.sizeHintForRow(0) - 2, (view.viewport().height(),
                                                                          view.sizeHintForRow(0))
    from PySide6.QtWidgets import QAbstractSpinBox, QComboBox

    scroll = window.editor.parentWidget()
    for kind in ("map", "evaluate"):  # the widest tab, once computed, must not squeeze the parameters
        if kind == "map":
            window.show_tab(kind)
        else:
            with qtbot.waitSignal(window.experiment_finished, timeout=RUN_TIMEOUT_MS,
                                  check_params_cb=lambda k, _o: k == kind):
                window.show_tab(kind)
                if not window.controller.busy(kind):
                    window.flow.compute(kind)
            window.exp_tabs[kind].panel.set_step(10)
        _settle(qtbot, window)
        for w in window.editor.findChildren(QComboBox) + window.editor.findChildren(QAbstractSpinBox):
            if w.isVisible():
                right = w.mapTo(scroll, w.rect().topRight()).x()
                assert right <= scroll.width() and w.width() >= w.minimumSizeHint().width(), (kind, w.toolTip()[:40])


# ------------------------------------------------------------------------------------------------ 6. small ones


def test_ctrl_e_exports_while_a_text_field_has_focus(make_window, qtbot, monkeypatch):
    window = make_window()
    asked: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(
        lambda *a, **k: (asked.append(a[1]) or "", "")))
    window.activateWindow()
    spin = window.editor.seed_spin
    spin.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() in (spin, spin.lineEdit()), timeout=5000)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert asked and asked[0].startswith("Export"), asked


def test_each_file_dialog_remembers_its_own_folder(make_window, qtbot, monkeypatch, tmp_path):
    window = make_window(wait=False, autostart=False)
    images, folder_parent, sessions = (tmp_path / n for n in ("images", "folders", "sessions"))
    for d in (images, folder_parent / "set", sessions):
        d.mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(images / "a.png")
    starts: dict[str, list[str]] = {}

    def files(parent, title, start, *a, **k):
        starts.setdefault(title, []).append(start)
        return [str(images / "a.png")], ""

    def folder(parent, title, start, *a, **k):
        starts.setdefault(title, []).append(start)
        return str(folder_parent / "set")

    def open_one(parent, title, start, *a, **k):
        starts.setdefault(title, []).append(start)
        return str(sessions / "missing.sgsession"), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(files))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(folder))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(open_one))
    window.open_files()
    window.open_folder()
    window.sessions.open_dialog()
    window.open_files()
    window.open_folder()
    window.sessions.open_dialog()
    assert starts["Open images"][1] == str(images)
    assert starts["Open a folder of images"][1] == str(folder_parent)
    assert starts["Open session"][1] == str(sessions)


def test_reset_to_defaults_asks_first(make_window, qtbot, dialogs):
    window = make_window(replace(FAST, seed=9), wait=False, autostart=False)
    dialogs.answer = QMessageBox.StandardButton.No
    window.editor.reset_button.click()
    assert dialogs.texts("question") and window.params.seed == 9
    window.reset_to_defaults()
    assert len(dialogs.texts("question")) == 2 and window.params.seed == 9
    dialogs.answer = QMessageBox.StandardButton.Yes
    window.editor.reset_button.click()
    assert window.params.seed == 0


def test_a_colour_photo_given_to_the_mnist_model_gets_a_visible_note(make_window, qtbot, tmp_path):
    rng = np.random.default_rng(0)
    photo = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 255, (60, 90, 3), dtype=np.uint8), "RGB").save(photo)
    window = make_window(samples=False, files=[str(photo)])
    note = window.map_tab.input_note
    assert note.isVisible()
    assert "grey 28 × 28" in note.text() or "grey" in note.text() and "28" in note.text(), note.text()
    assert "90 × 60" in note.text()
    # a grey sample needs no note
    with qtbot.waitSignal(window.run_finished, timeout=RUN_TIMEOUT_MS):
        window.add_files([SAMPLES[0]])
    assert not window.map_tab.input_note.isVisible()


def test_at_1280x800_no_computed_tab_squeezes_the_side_docks(make_window, qtbot):
    """Once computed, Faithfulness (its scrub line), Sanity checks and Class difference (its legend) asked more
    width than the centre has at 1280 px: the window took it from the "Classes and runs" dock, whose history then
    needed a sideways scroll. Long lines wrap instead; both docks keep the width they have on the Map tab."""
    from PySide6.QtWidgets import QDockWidget

    window = make_window(params=replace(FAST, n_samples=4))
    _settle(qtbot, window)
    docks = [d for d in window.findChildren(QDockWidget) if d.isVisible()]
    assert len(docks) >= 2
    widths = {d.objectName(): d.width() for d in docks}
    for kind in ("evaluate", "sanity", "difference"):
        with qtbot.waitSignal(window.experiment_finished, timeout=RUN_TIMEOUT_MS,
                              check_params_cb=lambda k, _o, kind=kind: k == kind):
            window.show_tab(kind)
            if not window.controller.busy(kind):
                window.flow.compute(kind)
        if kind == "evaluate":
            window.exp_tabs[kind].panel.set_step(10)
        _settle(qtbot, window)
        assert {d.objectName(): d.width() for d in docks} == pytest.approx(widths, abs=2), kind
        # and nothing is clipped instead: every plot lies inside its view (titles and legends wrap)
        panel = window.exp_tabs[kind].panel
        plots = ([panel.plot("deletion"), panel.plot("insertion")] if kind == "evaluate" else
                 [panel.plot] if kind == "sanity" else [])
        for plot in plots:
            view = plot.scene().views()[0]
            right = view.mapFromScene(plot.sceneBoundingRect().topRight()).x()
            assert right <= view.viewport().width() + 1, (kind, right, view.viewport().width())
