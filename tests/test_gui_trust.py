"""Trust tools in the desktop app (pytest-qt, offscreen): faithfulness tab, sanity checks tab, pixel probe,
uncertainty map, colour-scale control (lock, clip modes, draggable levels) and session files.

Small n on the embedded MNIST model keeps the file well under a minute on two CPU cores."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest


from PIL import Image  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402

from smoothgrad_desktop.core import visualize as vz  # noqa: E402
from smoothgrad_desktop.core.explain import prepare_input  # noqa: E402
from smoothgrad_desktop.core.images import load_input  # noqa: E402
from smoothgrad_desktop.core.models import load_model  # noqa: E402
from smoothgrad_desktop.core.resources import sample_images  # noqa: E402
from smoothgrad_desktop.core.trust import perturbation_curves  # noqa: E402
from smoothgrad_desktop.gui.main_window import MainWindow  # noqa: E402
from smoothgrad_desktop.core.params import Params  # noqa: E402
from smoothgrad_desktop.core.trust_data import input_rgb, perturbed_rgb, uncertainty_maps  # noqa: E402
from smoothgrad_desktop.gui.widgets.levels import LevelsWidget  # noqa: E402

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120), pytest.mark.usefixtures("tabs_compute_when_opened")]

from tests.gui_support import FAST, SAMPLES, heatmap, levels, make_window  # noqa: E402,F401 - make_window is a fixture


def wait_experiment(qtbot, window: MainWindow, kind: str, action):
    with qtbot.waitSignal(window.experiment_finished, timeout=60_000,
                          check_params_cb=lambda k, _o: k == kind) as blocker:
        action()
    return blocker.args[1]


# ------------------------------------------------------------------------------------------------ faithfulness


def test_faithfulness_tab_draws_map_random_and_second_method_and_the_scrubber_moves(make_window, qtbot):
    window = make_window()
    outcome = wait_experiment(qtbot, window, "evaluate", lambda: window.show_tab("evaluate"))
    panel = window.panel("evaluate")
    expl = window.current.explanation
    # the map's curves are core perturbation_curves of |map| (the shown map was reused, not recomputed)
    saliency = vz.reduce_channels(expl.result.attribution, "absolute")
    model = load_model("default", device="cpu")  # the GUI thread holds no model: an independent one
    prepared = prepare_input(model, load_input(window.current_entry().path))
    direct = perturbation_curves(model.module, prepared.x, expl.target, saliency,
                                 baseline=prepared.baseline, seed=FAST.seed)
    for kind in ("deletion", "insertion"):
        items = panel.curve_items(kind)
        assert set(items) == {"attribution", "random", "compare"}  # the random order is always drawn
        for order in ("attribution", "random"):
            x, y = items[order].getData()
            np.testing.assert_allclose(y, direct.curves[(kind, order)].probabilities, rtol=1e-5)
            assert len(x) == outcome.steps + 1
            assert f"{direct.curves[(kind, order)].auc:.3f}" in panel.legend_text(kind)
        assert len(items["compare"].getData()[1]) == outcome.steps + 1
        assert "Gradient (no noise)" in panel.legend_text(kind)
    assert "deletion AUC" in window.exp_tabs["evaluate"].status.text()

    # the scrubber: fraction 0 is the input itself; moving the slider changes the image, as core image_at says
    panel.set_step(0)
    x_rgb = input_rgb(prepared.x.cpu().numpy())
    np.testing.assert_array_equal(panel.scrub_image("deletion"), x_rgb)
    panel.set_step(10)
    deleted = panel.scrub_image("deletion").copy()
    assert not np.array_equal(deleted, x_rgb)
    f = panel.fraction()
    assert f == pytest.approx(10 / outcome.steps)
    for kind in ("deletion", "insertion"):
        core_img = direct.image_at(prepared.x, kind, f).cpu().numpy()
        np.testing.assert_array_equal(panel.scrub_image(kind), input_rgb(core_img, value_range=(0.0, 1.0)))
    assert panel._lines["deletion"].value() == pytest.approx(f)
    panel.set_step(20)
    assert not np.array_equal(panel.scrub_image("deletion"), deleted)
    # the random order gives another image at the same fraction
    panel.order_combo.setCurrentIndex(panel.order_combo.findData("random"))
    np.testing.assert_array_equal(panel.scrub_image("deletion"),
                                  perturbed_rgb(outcome.x_rgb, outcome.baseline_rgb, outcome.ranks["random"],
                                                panel.fraction(), "deletion"))

    # no second method: two curves
    outcome2 = wait_experiment(qtbot, window, "evaluate", lambda: window.exp_tabs["evaluate"].controls.combo.setCurrentIndex(0))
    assert not outcome2.compare_curves
    assert set(panel.curve_items("deletion")) == {"attribution", "random"}


def test_input_rgb_unnormalises_a_normalised_pipeline():
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(3, 4, 5)).astype(np.float64)
    x = (pixels / 255.0 - np.reshape(mean, (3, 1, 1))) / np.reshape(std, (3, 1, 1))
    np.testing.assert_array_equal(input_rgb(x, mean=mean, std=std), np.transpose(pixels, (1, 2, 0)).astype(np.uint8))


# ------------------------------------------------------------------------------------------------ sanity


def test_sanity_tab_plots_each_layer_and_the_random_target_test(make_window, qtbot):
    window = make_window()
    outcome = wait_experiment(qtbot, window, "sanity", lambda: window.show_tab("sanity"))
    panel = window.panel("sanity")
    n = len(outcome.layers)
    assert n >= 2 and panel.tick_labels() == ["trained", *outcome.layers]
    x, y = panel.abs_curve.getData()
    np.testing.assert_allclose(y, [1.0, *outcome.spearman_abs])
    np.testing.assert_allclose(panel.signed_curve.getData()[1], [1.0, *outcome.spearman_signed])
    assert abs(outcome.spearman_abs[-1]) < 0.5  # every layer random: the map no longer follows the trained one
    rt = outcome.random_target
    assert rt["random_target"] != rt["target"]
    assert panel.random_line.value() == pytest.approx(rt["spearman_abs"])
    assert "Random-target test" in panel.random_text()
    assert panel.thumbnails.cell_count() == (1, n + 1)  # the trained model's map, then one per layer
    # only the first layer
    outcome1 = wait_experiment(qtbot, window, "sanity", lambda: window.exp_tabs["sanity"].controls.spin.setValue(1))
    assert len(outcome1.layers) == 1 and outcome1.spearman_abs[0] == pytest.approx(outcome.spearman_abs[0])


# ------------------------------------------------------------------------------------------------ probe


def test_clicking_the_heatmap_probes_the_pixel_and_its_mean_is_the_map_value(make_window, qtbot):
    window = make_window(replace(FAST, view="signed"))
    values = heatmap(window)
    y, x = np.unravel_index(np.argmax(np.abs(values)), values.shape)
    view = window.panels.heatmap_view
    scene_pt = view.image_item.mapToScene(QPointF(x + 0.5, y + 0.5))
    widget_pt = view.graphics_widget.mapFromScene(scene_pt)
    with qtbot.waitSignal(window.experiment_finished, timeout=30_000,
                          check_params_cb=lambda k, _o: k == "probe") as blocker:
        qtbot.mouseClick(view.graphics_widget.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(widget_pt))
    outcome = blocker.args[1]
    assert outcome.pixel == (x, y)
    panel = window.probe_panel
    assert outcome.stats["n"] == FAST.n_samples and len(outcome.values) == FAST.n_samples
    np.testing.assert_allclose(panel.mean(), values[y, x], rtol=1e-5)  # same seed: the same samples
    np.testing.assert_allclose(outcome.map_value, values[y, x], rtol=1e-6)
    se = np.std(outcome.values, ddof=1) / np.sqrt(FAST.n_samples)
    np.testing.assert_allclose(panel.standard_error(), se, rtol=1e-6)
    edges, counts = panel.hist_curve.getData()
    assert counts.sum() == FAST.n_samples
    assert window.probe_dock.isVisible()
    # probing again is served from the (bounded) cache
    assert window.probe_pixel(int(x), int(y)) is None
    assert window.probe.cached() == 1


# ------------------------------------------------------------------------------------------------ uncertainty


def test_show_standard_error_and_snr_from_the_same_pass(make_window):
    window = make_window()
    r = window.current.explanation.result
    window.map_tab.show_combo.setCurrentIndex(window.map_tab.show_combo.findData("standard-error"))
    assert window.params.show == "standard-error"
    se = np.sqrt(r.variance.astype(np.float64) * r.n / (r.n - 1) / r.n)[0]  # one channel
    np.testing.assert_allclose(heatmap(window), se, rtol=1e-5, atol=1e-9)
    assert "Standard error" in window.panels.heatmap_view.title()
    window.map_tab.show_combo.setCurrentIndex(window.map_tab.show_combo.findData("snr"))
    mean = r.mean.astype(np.float64)[0]
    expected = np.where(se > 0, np.abs(mean) / np.where(se > 0, se, 1), 0)
    np.testing.assert_allclose(heatmap(window), expected, rtol=1e-4, atol=1e-6)
    _, snr = uncertainty_maps(r.mean, r.standard_error, "absolute")
    np.testing.assert_allclose(heatmap(window), snr)
    window.map_tab.show_combo.setCurrentIndex(window.map_tab.show_combo.findData("map"))
    np.testing.assert_allclose(heatmap(window), vz.reduce_channels(r.attribution, "absolute"), rtol=1e-6)


# ------------------------------------------------------------------------------------------------ colour scale


def test_lock_scale_gives_every_panel_the_same_levels(make_window, qtbot):
    window = make_window()
    wait_experiment(qtbot, window, "grid", lambda: (window.exp_tabs["grid"].controls.levels_edit.setText("10, 20"),
                                                    window.exp_tabs["grid"].controls.ns_edit.setText("2, 8"), window.show_tab("grid")))
    wait_experiment(qtbot, window, "strip", lambda: window.show_tab("strip"))
    window.show_tab("map")
    span = window.panels.heatmap_view.span
    assert window.panel("grid").span != pytest.approx(span)  # before: each figure has its own scale
    window.lock_action.trigger()
    assert window.lock_action.isChecked() and window.locked_span() == pytest.approx(span)
    expected = (0.0, span)
    assert levels(window.panels.heatmap_view.image_item) == pytest.approx(expected)
    for r in range(2):
        for c in range(2):
            assert levels(window.panel("grid").image_item(r, c)) == pytest.approx(expected)
    for i in range(window.panel("strip").cell_count()[1]):
        if window.panel("strip")._cells[0][i].values is not None:
            assert levels(window.panel("strip").image_item(0, i)) == pytest.approx(expected)
    # a new map keeps the locked scale; unlocking goes back to the map's own percentile
    window.set_params(replace(window.params, seed=11))
    with qtbot.waitSignal(window.run_finished, timeout=30_000):
        pass
    assert levels(window.panels.heatmap_view.image_item) == pytest.approx(expected)
    window.lock_action.trigger()
    assert window.locked_span() is None
    own = vz.compute_span(heatmap(window), "absolute", 99.0)
    assert window.panels.heatmap_view.span == pytest.approx(own)
    # changing the view releases a lock
    window.lock_action.trigger()
    window.set_params(replace(window.params, view="signed"))
    assert window.locked_span() is None and not window.lock_action.isChecked()


def test_clip_modes_set_the_span_as_core_compute_span_says(make_window):
    window = make_window()
    values = heatmap(window).copy()
    percentile_span = window.panels.heatmap_view.span
    assert percentile_span == pytest.approx(vz.compute_span(values, "absolute", 99.0))
    combo = window.editor.clip_combo
    combo.setCurrentIndex(combo.findData("cumulative"))
    assert window.params.clip_mode == "cumulative"
    cumulative = vz.compute_span(values, "absolute", 99.0, mode="cumulative")
    assert cumulative != pytest.approx(percentile_span)
    assert window.panels.heatmap_view.span == pytest.approx(cumulative)
    assert window.map_tab.levels.span() == pytest.approx(cumulative)
    assert "cumulative" in window.map_tab.levels.text()
    combo.setCurrentIndex(combo.findData("two-tailed"))
    window.set_params(replace(window.params, view="signed"))
    signed = heatmap(window)
    assert window.panels.heatmap_view.span == pytest.approx(vz.compute_span(signed, "signed", 99.0, mode="two-tailed"))
    assert levels(window.panels.heatmap_view.image_item)[0] == pytest.approx(-window.panels.heatmap_view.span)


def test_dragging_the_levels_sets_and_locks_the_heatmap_span(make_window, qtbot):
    window = make_window()
    hist = window.map_tab.levels.histogram()
    assert hist is not None and hist[0].sum() == heatmap(window).size  # every value is in the histogram
    line = window.map_tab.levels.region.lines[1]
    target = window.panels.heatmap_view.span / 2
    with qtbot.waitSignal(window.map_tab.levels.span_edited, timeout=2000):
        line.setValue(target)  # as a drag does
        line.sigPositionChangeFinished.emit(line)
    assert window.locked_span() == pytest.approx(target)
    assert levels(window.panels.heatmap_view.image_item) == pytest.approx((0.0, target))


def test_signed_levels_stay_symmetric_when_one_edge_is_dragged(qtbot):
    widget = LevelsWidget()
    qtbot.addWidget(widget)
    values = np.linspace(-2.0, 1.0, 200, dtype=np.float32).reshape(10, 20)
    widget.set_values(values, "signed", 1.0)
    assert widget.region.getRegion() == pytest.approx((-1.0, 1.0))
    spans = []
    widget.span_dragged.connect(spans.append)
    widget.region.lines[0].setValue(-1.5)
    assert widget.span() == pytest.approx(1.5) and widget.region.getRegion() == pytest.approx((-1.5, 1.5))
    widget.set_values(values, "absolute", 0.5)  # programmatic: no signal; the left edge is pinned at 0
    assert spans == [pytest.approx(1.5)] and widget.region.getRegion() == pytest.approx((0.0, 0.5))
    assert not widget.region.lines[0].movable


# ------------------------------------------------------------------------------------------------ sessions


def test_session_round_trip_reproduces_the_map_bit_for_bit(make_window, qtbot, tmp_path):
    window = make_window(replace(FAST, seed=5, n_samples=10), files=[str(SAMPLES[2])])
    first = window.current.explanation.result.attribution.copy()
    name = window.current_entry().name
    window.lock_action.trigger()
    locked = window.locked_span()
    path = window.save_session_to(tmp_path / "run.sgsession")
    assert path.is_file()
    window.close()

    other = make_window(Params(seed=99, n_samples=3), wait=False, samples=False)
    qtbot.waitUntil(lambda: other.model_info is not None, timeout=30_000)
    assert other.images.rowCount() == 0
    with qtbot.waitSignal(other.run_finished, timeout=30_000) as blocker:
        assert other.open_session_from(path)
    again = blocker.args[0].explanation.result.attribution
    assert np.array_equal(again, first)  # bit for bit on the same device
    assert other.current_entry().name == name
    assert other.images.rowCount() == len(SAMPLES)
    assert other.params.seed == 5 and other.params.n_samples == 10
    assert other.locked_span() == pytest.approx(locked) and other.lock_action.isChecked()
    assert other.session_messages == []


def test_session_reports_changed_and_missing_files_in_one_line_each(make_window, qtbot, tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    for src, dst in ((SAMPLES[0], a), (SAMPLES[1], b)):
        dst.write_bytes(Path(src).read_bytes())
    window = make_window(FAST, files=[str(a), str(b)], samples=False)
    path = window.save_session_to(tmp_path / "s.sgsession")
    img = np.asarray(Image.open(a)).copy()
    img[0, 0] = 255 - img[0, 0]
    Image.fromarray(img).save(a)
    b.unlink()
    with qtbot.waitSignal(window.run_finished, timeout=30_000):
        assert window.open_session_from(path)
    lines = window.session_messages
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    assert any("a.png" in line and "changed" in line for line in lines)
    assert any("b.png" in line and "missing" in line for line in lines)
    assert window.images.rowCount() == 1
    bad = tmp_path / "bad.sgsession"
    bad.write_text("{not json", encoding="utf-8")
    assert not window.open_session_from(bad)
    assert "bad.sgsession" in window.message_label.toolTip()


def test_file_menu_has_session_actions(make_window):
    window = make_window(wait=False, autostart=False)
    assert window.save_session_action.shortcut().toString() == "Ctrl+S"
    assert window.open_session_action.shortcut().toString() == "Ctrl+Alt+O"
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert "Faithfulness" in titles and "Sanity checks" in titles


def test_session_naming_a_torchscript_model_asks_first_and_refuses_a_changed_file(make_window, qtbot, tmp_path,
                                                                                monkeypatch):
    import torch

    from smoothgrad_desktop.core.models import load_model
    from smoothgrad_desktop.core.session import session_for
    from smoothgrad_desktop.core.smoothing import SmoothingConfig

    scripted = tmp_path / "net.pt"
    torch.jit.trace(load_model("default", device="cpu").module.cpu(), torch.rand(1, 1, 28, 28)).save(str(scripted))
    (tmp_path / "net.pt.json").write_text('{"channels": 1, "resize_height": 28}')
    session = session_for(load_model(str(scripted), device="cpu"), [SAMPLES[0]], SmoothingConfig(n_samples=4),
                          device="cpu")
    path = session.save(tmp_path / "code.sgsession")
    window = make_window(FAST)
    asked = []
    monkeypatch.setattr(type(window), "confirm_code_model", lambda self, p: asked.append(p) or False)
    assert not window.open_session_from(path)
    assert asked == [scripted] and window.params.model == "default"  # declined: nothing changed
    scripted.write_bytes(scripted.read_bytes() + b"\0")  # the code changed since the session was saved
    asked.clear()
    assert not window.open_session_from(path)
    assert asked == [] and "changed" in window.message_label.toolTip()
