"""The app's state in one place, as a user meets it: each test is one defect a new user could see (exports that
differ from the screen or mix parameters, stale readouts and fields, a history click that restores half a run,
a target carried to another model, a costly tab started by a glance, a noise level of 0 turned into 0.1, two
forwards per map, device tensors and the model in the GUI thread)."""

from __future__ import annotations

import json
import os
from dataclasses import fields, is_dataclass, replace

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QPoint, QPointF  # noqa: E402
from PySide6.QtWidgets import QLabel, QWidget  # noqa: E402

from smoothgrad_desktop.core import visualize as vz  # noqa: E402
from smoothgrad_desktop.core.models import LoadedModel  # noqa: E402

from tests.gui_support import FAST, make_window  # noqa: E402,F401 - make_window is a fixture

pytestmark = pytest.mark.usefixtures("tabs_compute_when_opened")


def _show_combo(window):
    return window.map_tab.show_combo if hasattr(window, "map_tab") else window.show_combo


def _wait_kind(qtbot, window, kind, action, timeout=60_000):
    with qtbot.waitSignal(window.experiment_finished, timeout=timeout,
                          check_params_cb=lambda k, _o: k == kind) as blocker:
        action()
    return blocker.args[1]


def _new_map(qtbot, window, params):
    with qtbot.waitSignal(window.run_finished, timeout=30_000) as blocker:
        window.set_params(params)
    return blocker.args[0]


# ------------------------------------------------------------------------------------------------ exports


def test_the_exported_png_is_the_screen_with_its_clip_mode_and_locked_span(make_window, qtbot, tmp_path):
    window = make_window()
    window.set_params(replace(window.params, clip_mode="cumulative", percentile=90.0))  # display only: no rerun
    view = window.panels.heatmap_view
    for locked in (None, 0.5 * view.span):
        if locked is not None:
            window.set_locked_span(locked)
        values, span = view.image_item.image, view.span
        assert span == pytest.approx(locked if locked is not None
                                     else vz.compute_span(values, "absolute", 90.0, mode="cumulative"))
        out = tmp_path / f"{locked is not None}"
        out.mkdir()
        window.export_to(out / "run.png", "map")
        with Image.open(out / "run.png") as im:
            exported = np.asarray(im.convert("RGBA"))
        screen = vz.colorize(vz.cap_with_span(values, "absolute", span), "absolute", window.params.cmap)
        assert exported.shape == screen.shape  # the 28 x 28 samples: the model input is the whole image
        np.testing.assert_array_equal(exported, screen)
        assert json.loads((out / "run.json").read_text())["view"]["span"] == pytest.approx(span)


def test_the_png_method_tag_comes_from_the_result_not_the_live_parameters(make_window, tmp_path):
    window = make_window()
    window.set_params(replace(window.params, method="integrated-gradients"))  # the new map is not there yet
    window.export_to(tmp_path / "run.png", "map")
    with Image.open(tmp_path / "run.png") as im:
        assert im.text["smoothgrad-desktop"] == "gradient/smoothgrad"
    window.cancel()


def test_export_all_writes_each_figure_with_the_parameters_of_its_own_result(make_window, qtbot, tmp_path):
    window = make_window()
    _wait_kind(qtbot, window, "fluctuation", lambda: window.show_tab("fluctuation"))
    window.show_tab("map")
    _new_map(qtbot, window, replace(window.params, seed=21, noise_level=0.3))  # the map moves on; the figure not
    paths = window.export_all_to(tmp_path / "all")
    names = {p.name for p in paths}
    assert "fluctuation.png" in names and "fluctuation.json" in names  # every figure has its own record
    figure = json.loads((tmp_path / "all" / "fluctuation.json").read_text())
    run = json.loads((tmp_path / "all" / "provenance.json").read_text())
    assert run["seed"] == 21 and run["noise_level"] == pytest.approx(0.3)
    assert figure["parameters"]["seed"] == FAST.seed and figure["parameters"]["noise_level"] == FAST.noise_level
    html = (tmp_path / "all" / "index.html").read_text(encoding="utf-8")
    assert f"seed {FAST.seed}" in html and "seed 21" not in html.split("fluctuation.png")[1].split("</figure>")[0]


# ------------------------------------------------------------------------------------------------ stale readouts


def test_the_pixel_probe_is_cleared_when_the_map_it_came_from_is_replaced(make_window, qtbot):
    window = make_window()
    probe = _wait_kind(qtbot, window, "probe", lambda: window.probe_pixel(14, 14))
    assert window.probe_panel.mean() == pytest.approx(probe.stats["mean"])
    _new_map(qtbot, window, replace(window.params, seed=17))
    assert window.probe_panel.mean() is None  # not a probe of another map beside this one


def test_the_hover_readout_follows_the_new_map(make_window, qtbot):
    window = make_window()
    view = window.panels.heatmap_view
    y, x = np.unravel_index(np.argmax(view.image_item.image), view.image_item.image.shape)
    scene = view.image_item.mapToScene(QPointF(x + 0.5, y + 0.5))
    qtbot.mouseMove(view.graphics_widget.viewport(), QPoint(view.graphics_widget.mapFromScene(scene)))
    label = next(w for w in view.findChildren(QLabel) if "value" in w.text())
    assert view.readout(int(x), int(y)) in label.text()
    _new_map(qtbot, window, replace(window.params, seed=99, view="signed"))
    assert label.text() in ("", view.readout(int(x), int(y)))  # the value under the cursor now, or nothing


def test_an_old_model_error_is_gone_once_a_model_has_loaded(make_window, qtbot, tmp_path):
    window = make_window()
    with qtbot.waitSignal(window.job_failed, timeout=60_000, check_params_cb=lambda k, _m: k == "load"):
        window.set_params(replace(window.params, model="resnet18", weights=str(tmp_path / "missing.pt")))
    assert "missing.pt" in window.message_label.toolTip()
    seen = []
    window.model_ready.connect(lambda _info: seen.append(window.message_label.text()))
    with qtbot.waitSignal(window.model_ready, timeout=60_000):
        window.set_params(replace(window.params, model="mnist-noise", weights=""))
    assert seen == [""]  # as soon as the model is there, not only after its first map
    with qtbot.waitSignal(window.job_failed, timeout=60_000, check_params_cb=lambda k, _m: k == "load"):
        window.set_params(replace(window.params, model="resnet18", weights=str(tmp_path / "missing.pt")))
    window.set_params(replace(window.params, model="mnist-noise", weights=""))  # back to the model loaded
    qtbot.waitUntil(lambda: window.message_label.text() == "", timeout=5_000)


def test_cancel_puts_the_fields_back_to_the_map_shown(make_window, qtbot):
    window = make_window()
    shown = window.current
    window.set_params(replace(window.params, n_samples=5000))
    qtbot.waitUntil(lambda: window.controller.busy("explain"), timeout=10_000)
    window.cancel()
    qtbot.waitUntil(lambda: not window.controller.busy(), timeout=30_000)
    assert window.current is shown
    assert window.params.n_samples == shown.explanation.result.n == FAST.n_samples
    assert window.editor.n_spin.value() == FAST.n_samples


# ------------------------------------------------------------------------------------------------ one apply path


def test_a_history_click_restores_opacity_view_and_show(make_window, qtbot):
    window = make_window()
    first = window.runs.run(0) if hasattr(window.runs, "run") else None
    assert first is not None and first.params.opacity == FAST.opacity
    window.set_params(replace(window.params, opacity=0.2, view="signed", show="standard-error"))
    _new_map(qtbot, window, replace(window.params, seed=8))
    assert window.panels.opacity() == pytest.approx(0.2)
    window.show_run(first)
    assert window.params == first.params
    assert window.panels.opacity() == pytest.approx(FAST.opacity)  # the overlay slider
    assert window.editor.view_combo.currentData() == "absolute" and window.panels.heatmap_view.view == "absolute"
    assert _show_combo(window).currentData() == "map"
    assert window.editor.seed_spin.value() == FAST.seed
    qtbot.wait(600)  # past the debounce: the run shown is not computed again
    assert not window.controller.busy("explain") and window.current is first.outcome


def test_the_target_class_does_not_follow_the_user_to_another_model(make_window, qtbot):
    window = make_window()
    _new_map(qtbot, window, replace(window.params, target=1))
    assert window.params.target == 1
    window.set_params(replace(window.params, model="resnet18", weights="random"))
    assert window.params.target is None  # "1" of MNIST is not "goldfish"
    assert window.editor.target_combo.currentIndex() == 0  # Predicted class
    window.cancel()


# ------------------------------------------------------------------------------------------------ costs


@pytest.mark.cost_gate
def test_opening_a_costly_tab_shows_its_estimate_and_waits_for_compute(make_window, qtbot):
    window = make_window()
    grid = window.exp_tabs["grid"]
    edit = grid.controls.ns_edit if hasattr(grid, "controls") else window.grid_ns_edit
    edit.setText("1, 100000")  # 6 noise levels x 100 000 samples
    window.show_tab("grid")
    qtbot.wait(200)
    assert not window.controller.busy("grid")
    assert "600 000 evaluations" in grid.status.text() and "Compute" in grid.status.text()
    window.show_tab("map")
    (grid.controls.levels_edit if hasattr(grid, "controls") else window.grid_levels_edit).setText("0")
    edit.setText("1")  # one evaluation: computed as soon as the tab is shown
    _wait_kind(qtbot, window, "grid", lambda: window.show_tab("grid"))


# ------------------------------------------------------------------------------------------------ worker


def test_a_noise_level_of_zero_stays_zero_in_the_fluctuation_plot(make_window, qtbot):
    window = make_window()
    _new_map(qtbot, window, replace(window.params, noise_level=0.0))
    outcome = _wait_kind(qtbot, window, "fluctuation", lambda: window.show_tab("fluctuation"))
    assert outcome.result.sigma == 0.0


def test_a_map_runs_the_clean_forward_once(make_window, qtbot):
    window = make_window(replace(FAST, batch_size=FAST.n_samples))  # the noisy copies: one batch of n rows
    module = window.controller.worker.model.module
    rows: list[int] = []
    handle = module.register_forward_hook(lambda _m, args, _out: rows.append(int(args[0].shape[0])))
    try:
        with qtbot.waitSignal(window.run_finished, timeout=30_000):
            window.run_now()
    finally:
        handle.remove()
    assert sorted(rows) == [1, FAST.n_samples]  # the prediction, then the n noisy copies


def _foreign(obj, depth=0, seen=None) -> list[str]:
    """Names of torch tensors, modules and loaded models reachable from ``obj`` (dataclasses, containers)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 6 or isinstance(obj, (str, bytes, int, float, np.ndarray, Image.Image)):
        return []
    seen.add(id(obj))
    if isinstance(obj, (torch.Tensor, torch.nn.Module, LoadedModel)):
        return [type(obj).__name__]
    if is_dataclass(obj):
        items = [getattr(obj, f.name) for f in fields(obj)]
    elif isinstance(obj, dict):
        items = list(obj.values())
    elif isinstance(obj, (list, tuple)):
        items = list(obj)
    else:
        return []
    return [name for item in items for name in _foreign(item, depth + 1, seen)]


def test_results_in_the_gui_thread_hold_host_data_only(make_window, qtbot):
    window = make_window()
    assert _foreign(window.current) == []
    outcome = _wait_kind(qtbot, window, "difference", lambda: window.show_tab("difference"))
    assert _foreign(outcome) == []


def test_the_editor_has_a_row_for_every_schema_field_and_the_run_uses_it(make_window, qtbot):
    from smoothgrad_desktop.core import schema

    window = make_window()
    editor = window.editor
    for f in schema.FIELDS:  # quadrature and precision included; a new schema field shows up the same way
        widget = editor.findChild(QWidget, f.name)
        assert widget is not None and widget.toolTip() == f.tip, f.name
    box = editor.findChild(QWidget, "quadrature")
    new = _new_map(qtbot, window, replace(window.params, method="integrated-gradients", steps=4))
    assert new.explanation.result.config.quadrature == "gauss-legendre"
    box.setCurrentIndex(box.findData("trapezoid"))
    assert window.params.quadrature == "trapezoid"
    with qtbot.waitSignal(window.run_finished, timeout=30_000) as blocker:
        pass
    assert blocker.args[0].explanation.result.config.quadrature == "trapezoid"


def test_until_converged_in_the_editor_samples_to_the_tolerance_and_says_the_n_reached(make_window, qtbot):
    """Samples "auto (until converged)" in the editor: tolerance and sample cap become editable, the run stops when
    the relative standard error of the mean map is within the tolerance, and the status line says so."""
    from smoothgrad_desktop.core.schema import AUTO, MIN_AUTO_SAMPLES

    window = make_window()
    editor = window.editor
    n_spin, tolerance, cap = editor.fields["n_samples"], editor.fields["tolerance"], editor.fields["max_samples"]
    assert not tolerance.isEnabled() and not cap.isEnabled()
    messages = []
    window.statusBar().messageChanged.connect(messages.append)
    with qtbot.waitSignal(window.run_finished, timeout=120_000):
        tolerance.setValue(0.2)
        n_spin.setValue(n_spin.minimum())
    assert n_spin.text() == "auto (until converged)"
    assert window.params.n_samples == AUTO and window.params.tolerance == pytest.approx(0.2)
    assert tolerance.isEnabled() and cap.isEnabled()
    result = window.current.explanation.result
    assert result.config.auto and result.converged is True
    assert result.relative_error <= 0.2 and MIN_AUTO_SAMPLES <= result.n <= window.params.max_samples
    said = [m for m in messages if "converged" in m]
    assert said and f"n={result.n} (converged" in said[-1]


def test_export_adds_the_annotated_figure_drawn_as_the_screen_shows_it(make_window, qtbot, tmp_path):
    """Export writes the bare map as before and the annotated figure of `figure --kind map` (PNG and PDF): titled
    with the result's method and class, captioned with its σ, n and seed, on the screen's view and locked span."""
    from PIL import Image

    from smoothgrad_desktop.gui import export as gx

    window = make_window()
    window.set_params(replace(window.params, view="signed", percentile=97.0))  # display only: no new run
    outcome = window.state.outcome("map")
    spec = gx.map_figure_spec(outcome, window.params, locked_span=0.0125)
    result = outcome.explanation.result
    assert "SmoothGrad" in spec.title and outcome.explanation.target_label in spec.title
    assert f"n = {result.n}" in spec.caption and f"seed {result.config.seed}" in spec.caption
    assert "fixed scale" in spec.caption and "signed view" in spec.caption
    assert spec.meta["spans"] == [pytest.approx(0.0125)]  # the locked span, not a recomputed one
    values = spec.cells[0][1].values
    np.testing.assert_allclose(values, result.attribution.sum(axis=0), rtol=1e-6, atol=1e-9)  # signed: channel sum
    free = gx.map_figure_spec(outcome, window.params)
    assert "capped at P97" in free.caption

    paths = window.export_to(tmp_path / "run.png", "map")
    names = {p.name for p in paths}
    assert {"run.png", "run-figure.png", "run-figure.pdf"} <= names
    with Image.open(tmp_path / "run-figure.png") as im:
        im.load()
        assert im.width > 3 * 28 and im.height > 28  # three panels with titles and a colour bar, not a bare map
    assert (tmp_path / "run-figure.pdf").read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize("kind", ["grid", "strip", "difference", "noise"])
def test_comparison_tab_export_adds_the_figure_commands_annotated_pdf(make_window, qtbot, tmp_path, kind,
                                                                      monkeypatch):
    """A comparison tab's Export writes its screen PNG and JSON as before and the annotated figure the `figure`
    command draws for the same result (a PDF), with the tab's own scale choice and the View."""
    from smoothgrad_desktop.gui import export as gx

    window = make_window(params=replace(FAST, n_samples=4))
    with qtbot.waitSignal(window.experiment_finished, timeout=120_000, check_params_cb=lambda k, _o: k == kind):
        window.show_tab(kind)
        if not window.controller.busy(kind):
            window.flow.compute(kind)
    result, panel = window.state.result(kind), window.panel(kind)
    spec = gx.tab_figure_spec(kind, result, window.params, panel, window.model_info.name)
    assert spec is not None and spec.kind == {"noise": "noise-training"}.get(kind, kind)
    assert window.model_info.name in spec.caption or window.model_info.name in spec.title or kind == "noise"
    if kind == "grid":  # per cell by default, as on screen; shared once the tab's box is ticked
        assert spec.scale == "relative" and not panel.shared_scale
        panel.set_shared_scale(True)
        assert gx.tab_figure_spec(kind, result, window.params, panel, "m").scale == "shared"
        panel.set_shared_scale(False)
        locked = gx.tab_figure_spec(kind, result, window.params, panel, "m", locked_span=0.0125)
        assert locked.scale == "shared" and "locked at 0.0125" in locked.caption  # as the screen draws a lock
        assert {c.span for c in locked.map_cells()} == {0.0125}
        assert all(s == pytest.approx(0.0125) for s in locked.meta["spans"])
    if kind == "difference":  # D as the panel computes it: same normalisation, same values
        np.testing.assert_allclose(spec.array, panel.diff_view.image_item.image, rtol=1e-5, atol=1e-7)
    paths = window.export_to(tmp_path / f"{kind}.png", kind)
    assert f"{kind}-figure.pdf" in {p.name for p in paths}
    assert (tmp_path / f"{kind}-figure.pdf").read_bytes()[:5] == b"%PDF-"
    # the caption names the model that computed the result, not the one loaded when exporting
    assert result.model_name == window.model_info.name
    asked = []
    real = gx.tab_figure_spec
    monkeypatch.setattr(gx, "tab_figure_spec", lambda *a: asked.append(a[4]) or real(*a))
    from dataclasses import replace as _replace

    gx.annotated_files(tmp_path / "again.png", kind, window.state, _replace(result, model_name="an older model"),
                       window.panel)
    assert asked == ["an older model"]


def test_a_figure_that_cannot_be_drawn_is_a_one_line_export_failure_and_writes_nothing(make_window, qtbot, tmp_path,
                                                                                       monkeypatch, dialogs):
    from PySide6.QtWidgets import QFileDialog

    from smoothgrad_desktop.core import figures

    window = make_window()

    def broken(spec, fmt):
        raise ValueError("Image size of 99999x99999 pixels is too large.\nsecond line")

    monkeypatch.setattr(figures, "render", broken)
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out / "run.png"), "")))
    window.export_action.trigger()
    message = window.message_label.text()
    assert message.startswith("export failed, nothing was written") and "could not be drawn as PNG" in message
    assert "\n" not in window.message_label.toolTip() and "second line" not in window.message_label.toolTip()
    assert list(out.iterdir()) == []
    assert dialogs.texts("warning")


def test_class_difference_summary_without_class_names():
    """A model without labels (a TorchScript file without a sidecar) has no names to look up: indices instead."""
    from types import SimpleNamespace

    from smoothgrad_desktop.gui import tabs

    o = SimpleNamespace(state=SimpleNamespace(image=SimpleNamespace(name="x.png"), labels=()), c1=3, c2=5,
                        config=SimpleNamespace(method="gradient", aggregation="smoothgrad", n_samples=8))
    text = tabs._summary_difference(o)
    assert "class 3 against class 5" in text
