"""The desktop app end to end (pytest-qt, offscreen): window, worker, cancel/restart, grid, classes, export,
settings. Small n on the embedded MNIST model keeps the whole file well under a minute on two CPU cores."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest


from PIL import Image  # noqa: E402
from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage  # noqa: E402
from PySide6.QtWidgets import QCheckBox, QMessageBox  # noqa: E402

from smoothgrad_desktop.core import visualize as vz  # noqa: E402
from smoothgrad_desktop.core.errors import ExportError  # noqa: E402
from smoothgrad_desktop.core.explain import prepare_input, predict  # noqa: E402
from smoothgrad_desktop.core.images import load_input  # noqa: E402
from smoothgrad_desktop.core.models import load_model  # noqa: E402
from smoothgrad_desktop.core.smoothing import SmoothingConfig, smooth_attribution  # noqa: E402
from smoothgrad_desktop.gui import export as gx  # noqa: E402
from smoothgrad_desktop.gui.main_window import MainWindow  # noqa: E402
from smoothgrad_desktop.core.params import Params  # noqa: E402
from smoothgrad_desktop.gui.settings import AppSettings  # noqa: E402
from smoothgrad_desktop.gui.worker import live_threads  # noqa: E402

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120), pytest.mark.usefixtures("tabs_compute_when_opened")]

from tests.gui_support import FAST, SAMPLES, heatmap, make_window  # noqa: E402,F401 - make_window is a fixture


def heatmap_values(window: MainWindow) -> np.ndarray | None:
    return window.panels.heatmap_view.image_item.image


# ------------------------------------------------------------------------------------------------ start


def test_window_opens_with_default_model_and_sample_and_shows_a_map(make_window):
    window = make_window()
    assert window.windowTitle() == "SmoothGrad Desktop"
    assert window.model_info is not None and window.model_info.spec == "default"
    entry = window.current_entry()
    assert entry is not None and entry.name == SAMPLES[0].name
    assert window.images.rowCount() == len(SAMPLES)
    outcome = window.current
    assert outcome is not None and outcome.explanation.result.n == FAST.n_samples
    shown = heatmap(window)
    assert shown is not None and shown.shape == outcome.explanation.result.attribution.shape[1:]
    assert np.abs(shown).max() > 0
    assert window.panels.overlay_view.image_item.image is not None
    # the class table holds the model's top classes, the target in it
    assert window.classes.rowCount() == 10
    assert window.classes.target() == outcome.explanation.target
    assert window.runs.rowCount() == 1
    assert "cpu" in window.device_label.text() or "cuda" in window.device_label.text()


def test_default_parameters_are_the_papers():
    p = Params()
    assert p.noise_level == 0.15 and p.n_samples == 50 and p.method == "gradient" and p.aggregation == "smoothgrad"
    assert p.batch_size == 0 and p.target is None and p.percentile == 99.0


# ------------------------------------------------------------------------------------------------ worker


def test_a_run_completes_through_the_worker_and_shows_its_map(make_window, qtbot):
    window = make_window()
    worker = window.controller.worker
    window.set_params(replace(window.params, n_samples=12, seed=5))
    with qtbot.waitSignal(worker.finished, timeout=30_000, check_params_cb=lambda i, k, o: k == "explain") as blocker:
        pass
    outcome = blocker.args[2]
    assert outcome.explanation.result.n == 12 and outcome.explanation.result.config.seed == 5
    qtbot.waitUntil(lambda: window.current is outcome, timeout=5000)
    expected = vz.reduce_channels(outcome.explanation.result.attribution, "absolute")
    np.testing.assert_allclose(heatmap(window), expected, rtol=1e-6)
    # the worker thread is not the GUI thread, and the GUI never blocked on it
    assert window.controller.worker_thread.isRunning()
    assert worker.thread() is window.controller.worker_thread


def test_cancel_stops_a_run_within_a_batch(make_window, qtbot):
    window = make_window()
    worker = window.controller.worker
    slow = replace(window.params, n_samples=20_000, batch_size=1)
    finished = []
    window.run_finished.connect(finished.append)
    with qtbot.waitSignal(worker.progress, timeout=30_000):
        window.set_params(slow)  # debounced restart
    t0 = time.perf_counter()
    with qtbot.waitSignal(worker.cancelled, timeout=10_000) as blocker:
        window.cancel()
    assert blocker.args[1] == "explain"
    assert time.perf_counter() - t0 < 5.0
    qtbot.wait(50)
    assert finished == []
    assert window.progress.format() == "cancelled"
    assert not window.controller.busy()
    assert window.current is not None and window.current.explanation.result.n == FAST.n_samples  # old map kept


def test_a_parameter_change_during_a_run_cancels_and_restarts_it(make_window, qtbot):
    window = make_window()
    worker = window.controller.worker
    cancelled, started = [], []
    worker.cancelled.connect(lambda i, k: cancelled.append((i, k)))
    worker.started.connect(lambda i, k: started.append((i, k)))
    with qtbot.waitSignal(worker.progress, timeout=30_000):
        window.set_params(replace(window.params, n_samples=20_000, batch_size=1))
    slow_job = window.controller.latest("explain").id
    # the user edits n in the editor while the slow run is going
    with qtbot.waitSignal(window.run_finished, timeout=30_000) as blocker:
        window.editor.batch_spin.setValue(0)
        window.editor.n_spin.setValue(9)
    assert (slow_job, "explain") in cancelled
    assert blocker.args[0].explanation.result.n == 9
    assert window.current.explanation.result.n == 9
    # debounced: the two edits gave one restart, not two
    later = [i for i, k in started if k == "explain" and i > slow_job]
    assert len(later) == 1


def test_display_changes_rerender_without_recomputing(make_window, qtbot):
    window = make_window()
    before = window.current
    runs = window.runs.rowCount()
    window.editor.view_combo.setCurrentIndex(window.editor.view_combo.findData("signed"))
    assert window.params.view == "signed"
    expected = vz.reduce_channels(before.explanation.result.attribution, "signed")
    np.testing.assert_allclose(heatmap(window), expected, rtol=1e-6)
    assert window.panels.heatmap_view.view == "signed"
    qtbot.wait(RESTART_WAIT_MS)
    assert window.current is before and window.runs.rowCount() == runs
    assert not window.controller.busy()


RESTART_WAIT_MS = 500


# ------------------------------------------------------------------------------------------------ grid


def test_grid_cell_for_n_equals_a_direct_n_sample_run_with_the_same_seed(make_window, qtbot):
    window = make_window()
    window.exp_tabs["grid"].controls.levels_edit.setText("0, 15")
    window.exp_tabs["grid"].controls.ns_edit.setText("1, 4, 8")
    with qtbot.waitSignal(window.experiment_finished, timeout=30_000,
                          check_params_cb=lambda kind, o: kind == "grid") as blocker:
        window.show_tab("grid")  # computes on demand when shown
    grid = blocker.args[1].result
    assert grid.levels == (0.0, 0.15) and grid.ns == (1, 4, 8)

    model = load_model("default", device="cpu")
    prepared = prepare_input(model, load_input(SAMPLES[0]))
    target = int(np.argmax(predict(model, prepared.x)))
    assert blocker.args[1].target == target
    for col, n in enumerate(grid.ns):
        direct = smooth_attribution(model.module, prepared.x, target,
                                    SmoothingConfig(noise_level=0.15, n_samples=n, seed=window.params.seed))
        np.testing.assert_allclose(grid.maps[1][col], direct.mean, rtol=1e-4, atol=1e-6)
    # the panel shows every cell on its own scale (the grid's default, as the paper's figures)
    grid_panel = window.panel("grid")
    assert grid_panel.cell_count() == (2, 3)
    assert grid_panel.span is None and grid_panel.scale_label == "per cell"
    assert all(grid_panel.cell_span(r, c) > 0 for r in range(2) for c in range(3))
    assert not window.is_stale("grid")
    # tabs other than Map do not recompute on every parameter change: the grid only becomes stale
    window.show_tab("map")
    with qtbot.waitSignal(window.run_finished, timeout=30_000):
        window.set_params(replace(window.params, seed=11))
    assert window.is_stale("grid") and window.outcomes["grid"] is blocker.args[1]


@pytest.mark.parametrize("kind", ["strip", "difference", "noise", "fluctuation"])
def test_other_figures_compute_on_demand(make_window, qtbot, kind):
    window = make_window()
    with qtbot.waitSignal(window.experiment_finished, timeout=60_000,
                          check_params_cb=lambda k, o: k == kind) as blocker:
        window.show_tab(kind)
    outcome = blocker.args[1]
    assert window.outcomes[kind] is outcome
    if kind == "strip":
        assert [label for label, _r, _e in outcome.entries][:2] == ["Gradient", "SmoothGrad"]
        assert all(res is not None for _l, res, _e in outcome.entries)
    elif kind == "difference":
        assert outcome.c1 != outcome.c2
        np.testing.assert_allclose(outcome.diff, outcome.r1.attribution - outcome.r2.attribution)
    elif kind == "noise":
        assert set(outcome.results) == {(m, a) for m in ("clean", "noise-trained") for a in ("gradient", "smoothgrad")}
    elif kind == "fluctuation":
        assert outcome.result.t.shape == (200,)
        assert window.panel("fluctuation").max_curve.getData()[0] is not None


def test_class_difference_works_on_a_two_digit_sample(make_window, qtbot):
    pairs = [p for p in SAMPLES if p.name.startswith("pair")]
    assert pairs, "no two-digit sample shipped"
    window = make_window(files=[str(pairs[0])])
    assert window.current_entry().name == pairs[0].name
    with qtbot.waitSignal(window.experiment_finished, timeout=60_000,
                          check_params_cb=lambda k, o: k == "difference") as blocker:
        window.show_tab("difference")
    outcome = blocker.args[1]
    top2 = [p.index for p in outcome.state.top[:2]]
    assert (outcome.c1, outcome.c2) == tuple(top2)
    assert window.panel("difference").classes() == tuple(top2)
    assert not window.is_stale("difference")
    # picking another class pair in the panel recomputes
    other = outcome.state.top[2].index
    with qtbot.waitSignal(window.experiment_finished, timeout=60_000,
                          check_params_cb=lambda k, o: k == "difference") as again:
        window.panel("difference").set_classes(list(outcome.state.labels), top2[0], other)
        window.panel("difference").classes_changed.emit(top2[0], other)
    assert (again.args[1].c1, again.args[1].c2) == (top2[0], other)


# ------------------------------------------------------------------------------------------------ classes


def test_clicking_a_class_row_sets_the_target_and_recomputes(make_window, qtbot):
    window = make_window()
    row = 2
    wanted = window.classes.class_at(row)
    assert wanted is not None and wanted != window.current.explanation.target
    view = window.class_view
    rect = view.visualRect(window.classes.index(row, 0))
    with qtbot.waitSignal(window.run_finished, timeout=30_000) as blocker:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.params.target == wanted
    assert window.editor.target_combo.currentData() == wanted
    assert blocker.args[0].explanation.target == wanted
    assert window.classes.target() == wanted


def test_run_history_reselects_a_previous_run(make_window, qtbot):
    window = make_window()
    first = window.current
    with qtbot.waitSignal(window.run_finished, timeout=30_000):
        window.set_params(replace(window.params, seed=42))
    assert window.runs.rowCount() == 2 and window.current is not first
    row = window.runs.row_of(1)
    rect = window.run_view.visualRect(window.runs.index(row, 1))
    qtbot.mouseClick(window.run_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.current is first
    assert window.params.seed == FAST.seed and window.editor.seed_spin.value() == FAST.seed
    np.testing.assert_allclose(heatmap(window),
                               vz.reduce_channels(first.explanation.result.attribution, "absolute"), rtol=1e-6)
    qtbot.wait(RESTART_WAIT_MS)
    assert window.runs.rowCount() == 2  # showing it again did not recompute


# ------------------------------------------------------------------------------------------------ images


def test_open_folder_next_previous_and_bad_image(make_window, qtbot, tmp_path):
    window = make_window()
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.fromarray((np.random.default_rng(0).random((56, 84)) * 255).astype(np.uint8)).save(folder / "a.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (folder / "notes.txt").write_text("ignored")
    rows = window.images.rowCount()
    with qtbot.waitSignal(window.run_finished, timeout=30_000) as blocker:
        window.add_files([str(folder)])
    assert window.images.rowCount() == rows + 2  # the .txt is not an image
    assert blocker.args[0].explanation.image.name == "a.png"
    # next image: the broken file -> a one-line message, the app stays usable
    with qtbot.waitSignal(window.job_failed, timeout=30_000) as failed:
        window.next_image()
    message = failed.args[1]
    assert "broken.png" in message and "\n" not in message
    assert "broken.png" in window.message_label.toolTip()
    with qtbot.waitSignal(window.run_finished, timeout=30_000) as again:
        window.previous_image()
    assert again.args[0].explanation.image.name == "a.png"


def test_paste_image_from_the_clipboard(make_window, qtbot):
    window = make_window()
    image = QImage(40, 40, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.black)
    for x in range(12, 28):
        for y in range(8, 32):
            if abs(x - 20) < 3:
                image.setPixel(x, y, 0xFFFFFFFF)
    QGuiApplication.clipboard().setImage(image)
    rows = window.images.rowCount()
    with qtbot.waitSignal(window.run_finished, timeout=30_000) as blocker:
        window.paste()
    assert window.images.rowCount() == rows + 1
    assert blocker.args[0].explanation.image.name.startswith("pasted image")


# ------------------------------------------------------------------------------------------------ export


def _cli_json(tmp_path: Path, sample: Path) -> dict:
    from smoothgrad_desktop.cli import main as cli_main

    out = tmp_path / "cli"
    assert cli_main(["compute", str(sample), "--out", str(out), "--samples", "8", "--device", "cpu", "--quiet"]) == 0
    return json.loads((out / f"{sample.stem}.json").read_text())


def test_export_writes_png_at_native_resolution_npy_and_cli_provenance(make_window, qtbot, tmp_path):
    big = tmp_path / "big.png"
    rng = np.random.default_rng(1)
    Image.fromarray((rng.random((70, 98)) * 255).astype(np.uint8)).save(big)
    window = make_window(files=[str(big)])
    assert window.current.explanation.image.name == "big.png"
    out = tmp_path / "out"
    out.mkdir()
    paths = window.export_to(out / "run.png", "map")
    names = sorted(p.name for p in paths)
    assert names == ["run-figure.pdf", "run-figure.png", "run-overlay.png", "run.json", "run.npy", "run.png"]
    assert sorted(os.listdir(out)) == names  # no temporary files left over
    with Image.open(out / "run.png") as im:
        assert im.size == (98, 70)  # the image's native resolution, not the model's 28 px
    with Image.open(out / "run-overlay.png") as im:
        assert im.size == (98, 70)
    raw = np.load(out / "run.npy")
    np.testing.assert_array_equal(raw, window.current.explanation.result.attribution)
    record = json.loads((out / "run.json").read_text())
    cli = _cli_json(tmp_path, big)
    assert set(record) == set(cli)  # the CLI's fields, the run key included
    assert record["run_key"] is None and cli["run_key"]  # the re-run skip key belongs to compute's batch runs
    assert set(record["view"]) == set(cli["view"])
    assert record["n"] == FAST.n_samples and record["seed"] == FAST.seed and record["input"]["name"] == "big.png"

    # nothing is overwritten without asking: declined -> untouched; accepted -> replaced
    before = (out / "run.json").read_bytes()
    asked = []
    window._confirm_replace = lambda paths: asked.append(list(paths)) or False
    with pytest.raises(gx.ExportCancelled):
        window.export_to(out / "run.png", "map")
    assert len(asked) == 1 and len(asked[0]) == 6
    assert (out / "run.json").read_bytes() == before
    window._confirm_replace = lambda paths: True
    window.set_params(replace(window.params, view="signed"))
    window.export_to(out / "run.png", "map")
    assert json.loads((out / "run.json").read_text())["view"]["view"] == "signed"
    assert sorted(os.listdir(out)) == names


def test_export_failure_is_reported_and_leaves_nothing(make_window, qtbot, tmp_path, monkeypatch):
    window = make_window()
    out = tmp_path / "out"
    out.mkdir()
    import smoothgrad_desktop.core.export as core_export

    real_replace = os.replace
    calls = {"n": 0}

    def flaky_replace(src, dst):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(core_export.os, "replace", flaky_replace)
    with pytest.raises(ExportError):
        window.export_to(out / "run.png", "map")
    assert os.listdir(out) == []  # neither the files moved before the failure nor temporary files
    # through the menu path: a one-line message, nothing written
    warnings = []
    monkeypatch.setattr("PySide6.QtWidgets.QMessageBox.warning",
                        lambda *a, **k: warnings.append(a[2]))
    calls["n"] = 0
    window._run_export(lambda: window.export_all_to(out / "all"), out)
    assert warnings and "Nothing was written" in warnings[0]
    assert "export failed" in window.message_label.toolTip()
    assert os.listdir(out) == []  # the folder export created is gone again


def test_export_all_writes_a_folder_with_index_html(make_window, qtbot, tmp_path):
    window = make_window()
    window.exp_tabs["grid"].controls.levels_edit.setText("0, 20")
    window.exp_tabs["grid"].controls.ns_edit.setText("1, 2")
    with qtbot.waitSignal(window.experiment_finished, timeout=30_000, check_params_cb=lambda k, o: k == "grid"):
        window.show_tab("grid")
    grid_png = tmp_path / "grid.png"
    written = window.export_to(grid_png, "grid")
    assert sorted(p.name for p in written) == ["grid-figure.pdf", "grid.json", "grid.npy", "grid.png"]
    assert np.load(tmp_path / "grid.npy").shape[:2] == (2, 2)
    folder = tmp_path / "all"
    paths = window.export_all_to(folder)
    names = {p.name for p in paths}
    assert {"index.html", "map.png", "overlay.png", "input.png", "attribution.npy", "provenance.json",
            "map-figure.png", "map-figure.pdf", "grid.png", "grid.npy", "grid-figure.pdf"} <= names
    html = (folder / "index.html").read_text(encoding="utf-8")
    for name in ("map.png", "overlay.png", "map-figure.png", "grid.png"):
        assert f'src="{name}"' in html
    assert sorted(os.listdir(folder)) == sorted(names)


def test_shared_colour_scale_box_on_every_comparison_tab(make_window, qtbot):
    """Each comparison tab has its own box; the σ/n grid starts per cell (the paper's figures), the others shared;
    ticking one tab's box never changes another tab, the parameters or the settings."""
    window = make_window()
    checks = {k: t.scale_check for k, t in window.exp_tabs.items() if t.scale_check is not None}
    assert set(checks) == {"grid", "strip", "difference", "noise"}
    panels = {kind: window.panel(kind) for kind in ("grid", "strip", "difference", "noise")}
    for kind, check in checks.items():
        assert check.text() == "Shared colour scale"
        assert check in panels[kind].findChildren(QCheckBox)
        assert check.isChecked() == (kind != "grid")
        assert "paper" in check.toolTip()
    with qtbot.waitSignal(window.experiment_finished, timeout=60_000, check_params_cb=lambda k, o: k == "noise"):
        window.show_tab("noise")
    panel = window.panel("noise")
    cells = [(r, c) for r in range(2) for c in range(2)]
    assert len({tuple(panel.image_item(r, c).getLevels()) for r, c in cells}) == 1  # one scale
    before = AppSettings().params()
    checks["noise"].click()  # the user unticks it: each cell on its own 99th percentile, at once (no recompute)
    assert not window.controller.busy("noise")
    assert panel.scale_label == "per cell" and not panel.shared_scale
    for r, c in cells:
        span = vz.compute_span(panel.image_item(r, c).image, window.params.view, window.params.percentile)
        assert tuple(panel.image_item(r, c).getLevels()) == pytest.approx((0.0, span))
    assert len({tuple(panel.image_item(r, c).getLevels()) for r, c in cells}) == 4
    # no other tab followed, and nothing went into the parameters or the settings
    assert panels["strip"].shared_scale and panels["difference"].shared_scale
    assert not panels["grid"].shared_scale
    assert checks["strip"].isChecked() and checks["difference"].isChecked() and not checks["grid"].isChecked()
    assert AppSettings().params() == before
    window.set_params(replace(window.params, percentile=98.0))  # a display change re-renders: the choice stays
    assert not panel.shared_scale and not checks["noise"].isChecked()

def test_default_colours_are_one_choice_for_gui_reset_and_cli():
    assert Params().cmap_absolute == vz.DEFAULT_SEQUENTIAL == vz.default_cmap("absolute") == "inferno"
    assert Params().cmap_signed == vz.DEFAULT_DIVERGING == vz.default_cmap("signed")
    assert "grey" in vz.colormap_names("sequential")  # the paper's map stays available
    # the shared-scale choice belongs to each comparison tab, not to the parameters: an old settings key is ignored
    assert not hasattr(Params(), "shared_scale")
    assert Params.from_dict({"shared_scale": "false"}) == Params()


# ------------------------------------------------------------------------------------------------ settings


def test_settings_round_trip_in_a_temporary_location(qtbot, tmp_path, _gui_isolation):
    settings = AppSettings()
    assert Path(settings.path).is_relative_to(_gui_isolation)
    params = Params(n_samples=17, noise_level=0.2, view="signed", cmap_signed="CET-CBD1", target=3, seed=9,
                    percentile=97.5, multiply_by_input=True, opacity=0.25, batch_size=16, method="guided-backprop",
                    aggregation="vargrad", steps=20)
    settings.set_params(params)
    settings.set_last_folder(tmp_path)
    settings.sync()
    again = AppSettings()
    assert again.params() == params
    assert again.last_folder() == str(tmp_path)
    # garbage in the file falls back to defaults, field by field
    again.qs.setValue("params/json", json.dumps({"n_samples": -4, "view": "sideways", "seed": 5}))
    assert AppSettings().params() == Params(seed=5)
    again.qs.setValue("params/json", "{not json")
    assert AppSettings().params() == Params()
    # reset to defaults
    settings.set_params(params)
    settings.reset()
    assert AppSettings().params() == Params()


def test_window_persists_parameters_and_geometry(make_window, qtbot, tmp_path, monkeypatch, dialogs):
    window = make_window(Params(n_samples=8, seed=7), wait=True)
    window.resize(1111, 777)
    window.set_params(replace(window.params, percentile=95.0, seed=8))
    window.close()
    assert window.worker_stopped and not live_threads()
    stored = AppSettings()
    assert stored.params().seed == 8 and stored.params().percentile == 95.0
    assert stored.geometry() is not None
    restored = []
    real_restore = MainWindow.restoreGeometry
    monkeypatch.setattr(MainWindow, "restoreGeometry", lambda self, g: restored.append(bytes(g)) or real_restore(self, g))
    second = make_window(None, wait=False)
    assert second.params.seed == 8 and second.editor.percentile_spin.value() == 95.0
    # (the offscreen platform's screen is small, so the restored size is clamped: compare what was restored)
    assert restored == [bytes(stored.geometry())]
    qtbot.waitUntil(lambda: second.current is not None, timeout=30_000)
    # "Reset to defaults" (the editor's button) puts every parameter back
    dialogs.answer = QMessageBox.StandardButton.Yes  # it asks first
    second.editor.reset_button.click()
    assert dialogs.texts("question")[-1].startswith("Put every parameter back")
    assert second.params == Params()
    assert AppSettings().params() == Params()


# ------------------------------------------------------------------------------------------------ closing


def test_closing_mid_run_cancels_and_stops_the_thread(make_window, qtbot):
    window = make_window()
    with qtbot.waitSignal(window.controller.worker.progress, timeout=30_000):
        window.set_params(replace(window.params, n_samples=50_000, batch_size=1))
    t0 = time.perf_counter()
    window.close()
    assert time.perf_counter() - t0 < 5.0
    assert window.worker_stopped
    assert not window.controller.worker_thread.isRunning()
    assert not live_threads()


def test_qsettings_default_format_is_ini(_gui_isolation):
    assert QSettings.defaultFormat() == QSettings.Format.IniFormat


# ------------------------------------------------------------------------------------------------ errors


def test_a_bad_model_is_a_one_line_message_and_the_app_stays_usable(make_window, qtbot, tmp_path):
    window = make_window()
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"this is not a TorchScript archive")
    with qtbot.waitSignal(window.job_failed, timeout=30_000, check_params_cb=lambda k, m: k == "load") as blocker:
        window.set_params(replace(window.params, model=str(bad)))
    message = blocker.args[1]
    assert "\n" not in message and "model.pt" in message
    assert "still using" in window.message_label.toolTip()
    assert window.model_info.spec == "default"
    with qtbot.waitSignal(window.run_finished, timeout=30_000) as again:  # still computes with the old model
        window.set_params(replace(window.params, model="default", seed=12))
    assert again.args[0].explanation.result.config.seed == 12


def test_dropping_files_and_folders_adds_them(make_window, qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    window = make_window()
    folder = tmp_path / "drop"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(np.full((28, 28), 40 * (i + 1), np.uint8)).save(folder / f"d{i}.png")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    rows = window.images.rowCount()
    with qtbot.waitSignal(window.run_finished, timeout=30_000) as blocker:
        window.dropEvent(event)
    assert window.images.rowCount() == rows + 2
    assert blocker.args[0].explanation.image.name == "d0.png"
