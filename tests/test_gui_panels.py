"""Tests of the pyqtgraph panels (smoothgrad_desktop.gui.panels): levels, colours, linking, readouts, grids."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import threading  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402


from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402

from smoothgrad_desktop.core import visualize as vz  # noqa: E402
from smoothgrad_desktop.gui.panels import (  # noqa: E402
    ConvergencePanel,
    DifferencePanel,
    FluctuationPanel,
    GridPanel,
    ImagePanels,
    MapView,
    NoiseTrainingPanel,
    StripPanel,
)
from tests.gui_support import levels  # noqa: E402

pytestmark = pytest.mark.gui


# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------


@pytest.fixture
def make(qtbot):
    """Build a panel and register it with qtbot (closed after the test; conftest's leak check then fails the test
    if the panel left a QTimer active or a QThread running); no Python thread may outlive the test either."""
    threads_before = threading.active_count()

    def _make(cls, *args, size=(640, 400), **kwargs):
        w = cls(*args, **kwargs)
        qtbot.addWidget(w)
        w.resize(*size)
        return w

    yield _make
    assert threading.active_count() <= threads_before


def signed_blobs(h: int, w: int, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    m = np.exp(-(((xx - w / 4) / (w / 8)) ** 2 + ((yy - h / 4) / (h / 8)) ** 2))
    m -= 0.7 * np.exp(-(((xx - 3 * w / 4) / (w / 8)) ** 2 + ((yy - 3 * h / 4) / (h / 8)) ** 2))
    return (scale * (m + 0.05 * rng.standard_normal((h, w)))).astype(np.float32)


def trange(view_box) -> list[float]:
    (x0, x1), (y0, y1) = view_box.targetRange()
    return [x0, x1, y0, y1]


def rendered_rgb(item, x: int, y: int) -> tuple[int, int, int]:
    item.render()
    c = item.qimage.pixelColor(x, y)
    return (c.red(), c.green(), c.blue())


# ----------------------------------------------------------------------------------------------------------------
# MapView
# ----------------------------------------------------------------------------------------------------------------


def test_signed_map_fixed_symmetric_levels_zero_at_centre_colour(make):
    view = make(MapView, "Heatmap", colorbar=True)
    v = signed_blobs(30, 40)
    v[0, 0] = 0.0
    view.set_map(v, "signed", span=2.5)
    assert levels(view.image_item) == (-2.5, 2.5)
    assert view.color_bar.levels() == (-2.5, 2.5)
    cm = vz.get_colormap(None, "signed")
    assert cm.kind == "diverging"
    lut = np.asarray(view.image_item.lut)
    assert len(lut) % 2 == 1  # odd: one entry is exactly the centre
    assert tuple(lut[len(lut) // 2][:3]) == tuple(cm.centre)
    assert rendered_rgb(view.image_item, 0, 0) == tuple(int(c) for c in cm.centre)
    # the image shows raw values (not pre-coloured), so the readout can report them
    assert view.image_item.image.ndim == 2
    assert view.value_at(5, 3) == pytest.approx(float(v[3, 5]))

    # span=None: core compute_span at the percentile; a bigger map with a locked span keeps the levels
    view.set_map(v, "signed", percentile=95.0)
    s = vz.compute_span(v, "signed", 95.0)
    assert levels(view.image_item) == pytest.approx((-s, s))
    view.set_map(v * 10, "signed", span=2.5)
    assert levels(view.image_item) == (-2.5, 2.5)
    # extremes saturate at the ends of the diverging map
    v2 = np.array([[-10.0, 10.0]], np.float32)
    view.set_map(v2, "signed", span=1.0)
    assert rendered_rgb(view.image_item, 0, 0) == tuple(int(c) for c in cm.lut[0])
    assert rendered_rgb(view.image_item, 1, 0) == tuple(int(c) for c in cm.lut[-1])


def test_absolute_levels_and_sequential_map(make):
    view = make(MapView, colorbar=True)
    v = np.abs(signed_blobs(20, 20))
    view.set_map(v, "absolute")
    s = vz.compute_span(v, "absolute", 99.0)
    assert levels(view.image_item) == pytest.approx((0.0, s))
    assert view.span == pytest.approx(s)
    cm = vz.get_colormap(None, "absolute")
    assert cm.kind == "sequential"
    lut = np.asarray(view.image_item.lut)
    assert tuple(lut[0][:3]) == tuple(cm.lut[0]) and tuple(lut[-1][:3]) == tuple(cm.lut[-1])
    view.set_map(v, "absolute", span=0.25, cmap="viridis")
    assert levels(view.image_item) == (0.0, 0.25)
    assert tuple(np.asarray(view.image_item.lut)[-1][:3]) == tuple(vz.get_colormap("viridis").lut[-1])
    with pytest.raises(ValueError):
        view.set_map(v, "sideways")


def test_all_zero_map_and_rgb_after_map(make):
    view = make(MapView, colorbar=True)
    view.set_map(np.zeros((8, 8), np.float32), "signed")
    assert levels(view.image_item) == (-1.0, 1.0)  # fallback span, zero at the centre colour
    cm = vz.get_colormap(None, "signed")
    assert rendered_rgb(view.image_item, 3, 3) == tuple(int(c) for c in cm.centre)
    rgb = np.zeros((6, 9, 3), np.uint8)
    rgb[2, 7] = (200, 10, 30)
    view.set_rgb(rgb)
    assert view.image_item.getLevels() is None  # no map levels applied to an RGB image
    assert not view.color_bar.isVisible()
    assert view.value_at(7, 2) == (200, 10, 30)
    assert rendered_rgb(view.image_item, 7, 2) == (200, 10, 30)
    view.clear()
    assert view.image_item.image is None and view.value_at(0, 0) is None


def test_row_major_upright_not_transposed(make):
    view = make(MapView)
    v = np.arange(6, dtype=np.float32).reshape(2, 3)  # H=2, W=3
    view.set_map(v, "absolute", span=5.0)
    item = view.image_item
    assert (item.width(), item.height()) == (3, 2)
    assert view.view_box.yInverted()  # row 0 at the top
    # local (x, y) = (column, row)
    assert view.value_at(2, 0) == 2.0 and view.value_at(0, 1) == 3.0
    # on screen (scene y grows downwards) row 0 is above row 1 and column 0 left of column 2
    assert item.mapToScene(QtCore.QPointF(1.5, 0.5)).y() < item.mapToScene(QtCore.QPointF(1.5, 1.5)).y()
    assert item.mapToScene(QtCore.QPointF(0.5, 0.5)).x() < item.mapToScene(QtCore.QPointF(2.5, 0.5)).x()


def test_hover_readout_reports_raw_value(make, qtbot):
    view = make(MapView, "Heatmap")
    v = signed_blobs(20, 30)
    v[7, 12] = -0.0031
    view.set_map(v, "signed")
    pos = view.image_item.mapToScene(QtCore.QPointF(12.5, 7.5))
    with qtbot.waitSignal(view.hovered, timeout=1000) as blocker:
        view._on_mouse_moved(pos)
    assert blocker.args[0] == "x=12 y=7 value=-0.0031"
    assert view.findChild(QtWidgets.QLabel, "readout").text() == "x=12 y=7 value=-0.0031"
    assert view.readout(12, 7) == "x=12 y=7 value=-0.0031"
    # outside the image: no signal
    with qtbot.assertNotEmitted(view.hovered):
        view._on_mouse_moved(view.image_item.mapToScene(QtCore.QPointF(-5.0, 3.0)))


def test_link_view_zoom_follows_both_ways(make):
    a = make(MapView)
    b = make(MapView)
    c = make(MapView)
    for v in (a, b, c):
        v.set_map(signed_blobs(50, 50), "signed")
    b.link_view(a)
    c.link_view(b)  # transitive
    a.view_box.setRange(xRange=(10, 20), yRange=(5, 15), padding=0)
    for other in (b, c):
        (x0, x1), (y0, y1) = other.view_box.targetRange()
        assert (x0, x1, y0, y1) == pytest.approx((10, 20, 5, 15))
    c.view_box.scaleBy(s=(0.5, 0.5))
    assert trange(c.view_box) != pytest.approx([10, 20, 5, 15])
    assert trange(a.view_box) == pytest.approx(trange(c.view_box))
    c.unlink_view()
    before = trange(a.view_box)
    c.view_box.setRange(xRange=(0, 3), yRange=(0, 3), padding=0)
    assert trange(a.view_box) == pytest.approx(before)


# ----------------------------------------------------------------------------------------------------------------
# ImagePanels
# ----------------------------------------------------------------------------------------------------------------


def test_image_panels_alignment_opacity_and_hover(make, qtbot):
    panels = make(ImagePanels, size=(900, 320))
    rgb = np.zeros((40, 60, 3), np.uint8)
    panels.set_image(rgb)
    hm = signed_blobs(20, 30)
    panels.set_heatmap(hm, "signed")
    item = panels.heatmap_view.image_item
    # the model-input-size map covers the native image's rectangle
    assert item.mapRectToParent(item.boundingRect()) == QtCore.QRectF(0, 0, 60, 40)
    panels.set_heatmap(hm, "signed", rect=(0, 0, 30, 20))
    assert item.mapRectToParent(item.boundingRect()) == QtCore.QRectF(0, 0, 30, 20)
    panels.set_heatmap(hm, "signed")
    # hover on the stretched heatmap still reads heatmap pixels
    with qtbot.waitSignal(panels.hovered, timeout=1000) as blocker:
        panels.heatmap_view._on_mouse_moved(item.mapToScene(QtCore.QPointF(4.5, 3.5)))
    assert blocker.args[0].startswith("Heatmap: x=4 y=3 value=")
    assert f"{float(hm[3, 4]):.4g}" in blocker.args[0]
    # linked zoom between the three
    panels.image_view.view_box.setRange(xRange=(5, 25), yRange=(5, 20), padding=0)
    assert trange(panels.overlay_view.view_box) == pytest.approx([5, 25, 5, 20])
    assert trange(panels.heatmap_view.view_box) == pytest.approx([5, 25, 5, 20])

    with qtbot.assertNotEmitted(panels.opacity_changed):
        panels.set_opacity(0.3)
    assert panels.opacity() == pytest.approx(0.3)
    with qtbot.waitSignal(panels.opacity_changed, timeout=1000) as blocker:
        panels.opacity_slider.setValue(70)  # what a user drag does
    assert blocker.args == [pytest.approx(0.7)]
    assert panels.opacity_slider.toolTip()
    panels.set_overlay(rgb)
    panels.clear()
    assert panels.heatmap_view.image_item.image is None


# ----------------------------------------------------------------------------------------------------------------
# GridPanel
# ----------------------------------------------------------------------------------------------------------------


def test_grid_one_shared_scale_for_all_cells(make):
    grid = make(GridPanel)
    maps = [[signed_blobs(16, 16, seed=3 * r + c, scale=1.0 + r * 4 + c) for c in range(3)] for r in range(2)]
    grid.set_grid([0.1, 0.2], [1, 5, 10], maps, "signed", sigmas=[0.26, 0.52], shared=True)
    expected = vz.shared_span([m for row in maps for m in row], "signed", 99.0)
    assert grid.span == pytest.approx(expected)
    all_levels = {levels(grid.image_item(r, c)) for r in range(2) for c in range(3)}
    assert len(all_levels) == 1
    (lo, hi), = all_levels
    assert (lo, hi) == pytest.approx((-expected, expected))
    assert vz.compute_span(maps[0][0], "signed") != pytest.approx(expected)  # not per-cell
    assert grid.color_bar.levels() == pytest.approx((lo, hi))
    # a locked span is used as is
    grid.set_grid([0.1, 0.2], [1, 5, 10], maps, "signed", span=0.5)
    assert {levels(grid.image_item(r, c)) for r in range(2) for c in range(3)} == {(-0.5, 0.5)}
    assert grid.cell_count() == (2, 3)


def test_grid_set_row_fills_progressively(make):
    grid = make(GridPanel)
    rows = [[np.abs(signed_blobs(12, 12, seed=10 * r + c, scale=1 + 3 * r)) for c in range(3)] for r in range(2)]
    grid.set_grid([0.0, 0.15], [1, 10, 50], [rows[0]], "absolute", shared=True)
    assert all(grid.image_item(0, c).image is not None for c in range(3))
    assert all(grid.image_item(1, c).image is None for c in range(3))
    assert grid.span == pytest.approx(vz.shared_span(rows[0], "absolute"))
    grid.set_row(1, rows[1])
    assert all(grid.image_item(1, c).image is not None for c in range(3))
    assert grid.value_at(1, 2, 4, 5) == pytest.approx(float(rows[1][2][5, 4]))
    both = vz.shared_span(rows[0] + rows[1], "absolute")
    assert grid.span == pytest.approx(both)
    for r in range(2):
        for c in range(3):
            assert levels(grid.image_item(r, c)) == pytest.approx((0.0, both))
    with pytest.raises(IndexError):
        grid.set_row(2, rows[0])
    grid.clear()
    assert all(grid.image_item(r, c).image is None for r in range(2) for c in range(3))
    # a new shape rebuilds; calling again works
    grid.set_grid([0.1], [1, 2], [[rows[0][0], None]], "absolute")
    assert grid.cell_count() == (1, 2) and grid.image_item(0, 1).image is None


def test_grid_labels():
    from smoothgrad_desktop.gui.panels.grid import level_label, n_label

    assert level_label(0.1) == "10 %"
    assert level_label(0.0, 0.0) == "0 %<br>σ = 0"
    assert n_label(50) == "n = 50"


# ----------------------------------------------------------------------------------------------------------------
# StripPanel, DifferencePanel, NoiseTrainingPanel
# ----------------------------------------------------------------------------------------------------------------


def test_strip_error_entry_and_shared_scale(make):
    strip = make(StripPanel, size=(900, 260))
    a, b = signed_blobs(10, 10, 1), signed_blobs(10, 10, 2, scale=3.0)
    strip.set_entries(
        [("Gradient", a, None), ("Guided BP", None, "model has no ReLU"), ("SmoothGrad", b, None)], "signed"
    )
    assert strip.cell_text(0, 1) == "model has no ReLU"
    assert strip.entry_error(1) == "model has no ReLU"
    assert strip.image_item(0, 1).image is None
    assert strip.cell_text(0, 0) == ""
    s = vz.shared_span([a, b], "signed")
    assert levels(strip.image_item(0, 0)) == levels(strip.image_item(0, 2)) == pytest.approx((-s, s))
    # progressive fill and append
    strip.set_entry(1, "Guided BP", a)
    assert strip.cell_text(0, 1) == "" and strip.image_item(0, 1).image is not None
    strip.set_entry(3, "IG", None, "failed: out of memory")
    assert strip.labels() == ["Gradient", "Guided BP", "SmoothGrad", "IG"]
    assert strip.cell_text(0, 3) == "failed: out of memory"
    assert strip.image_item(0, 0).image is not None  # kept across the relayout
    with pytest.raises(IndexError):
        strip.set_entry(9, "x", a)
    strip.clear()
    assert strip.labels() == []


def test_difference_classes_changed_only_on_user_change(make, qtbot):
    panel = make(DifferencePanel)
    with qtbot.assertNotEmitted(panel.classes_changed):
        panel.set_classes(["three", "seven", "one"], 0, 1)
        panel.set_classes(["three", "seven", "one"], 2, 0)
    assert panel.classes() == (2, 0)
    panel.set_classes(["three", "seven", "one"], 0, 1)
    with qtbot.waitSignal(panel.classes_changed, timeout=1000) as blocker:
        qtbot.keyClick(panel.combo2, QtCore.Qt.Key.Key_Down)  # the user picks the next class
    assert blocker.args == [0, 2]
    assert panel.classes() == (0, 2)
    assert "one" in panel.diff_view.title()

    m1 = np.abs(signed_blobs(14, 14, 1))
    m2 = np.abs(signed_blobs(14, 14, 2))
    d = m1 - m2
    panel.set_maps(d, m1, m2, cmap="grey")  # a sequential choice still gives a diverging D
    s = vz.compute_span(d, "signed")
    assert levels(panel.diff_view.image_item) == pytest.approx((-s, s))
    cm = vz.get_colormap(vz.DEFAULT_DIVERGING)
    assert tuple(np.asarray(panel.diff_view.image_item.lut)[len(panel.diff_view.image_item.lut) // 2]) == tuple(
        cm.centre
    )
    assert levels(panel.map1_view.image_item) == levels(panel.map2_view.image_item)
    panel.set_image(np.zeros((28, 28, 3), np.uint8))
    assert panel.image_view.image_item.mapRectToParent(panel.image_view.image_item.boundingRect()) == QtCore.QRectF(
        0, 0, 14, 14
    )
    with pytest.raises(ValueError):
        panel.set_maps(d, m1, m2[:5])


def test_noise_training_shared_scale(make):
    panel = make(NoiseTrainingPanel)
    maps = {
        ("clean", "gradient"): signed_blobs(12, 12, 1, scale=4.0),
        ("clean", "smoothgrad"): signed_blobs(12, 12, 2),
        ("noise-trained", "smoothgrad"): signed_blobs(12, 12, 3),
    }
    panel.set_maps(maps, "signed")
    s = vz.shared_span(list(maps.values()), "signed")
    assert panel.span == pytest.approx(s)
    assert levels(panel.image_item(0, 0)) == levels(panel.image_item(1, 1)) == pytest.approx((-s, s))
    assert panel.image_item(1, 0).image is None  # missing key: empty cell
    with pytest.raises(ValueError):
        panel.set_maps({("clean", "vargrad"): maps[("clean", "gradient")]}, "signed")
    panel.clear()
    assert panel.image_item(0, 0).image is None


# ----------------------------------------------------------------------------------------------------------------
# Curves
# ----------------------------------------------------------------------------------------------------------------


def test_convergence_set_points_updates_in_place(make):
    panel = make(ConvergencePanel)
    curve = panel.curve
    n_items = len(panel.plot.listDataItems())
    pts = []
    for n in range(5, 55, 5):
        pts.append((n, 1.0 / n))
        panel.set_points(pts)
        assert panel.curve is curve
        assert len(panel.plot.listDataItems()) == n_items == 1
    x, y = curve.getData()
    assert list(x) == [n for n, _ in pts]
    assert np.allclose(10.0 ** np.asarray(y), [v for _, v in pts])  # log-y display data
    panel.set_points(pts + [(60, 0.0), (65, float("nan"))])  # not showable on a log axis: skipped
    assert len(curve.getData()[0]) == len(pts)
    panel.clear()
    x, _ = curve.getData()
    assert x is None or len(x) == 0


def test_fluctuation_panel_curves(make):
    panel = make(FluctuationPanel)
    t = np.linspace(0, 1, 50)
    panel.set_data(t, np.sin(t), np.cos(t), partial_at_pixel=t**2, sigma=0.15)
    assert np.allclose(panel.max_curve.getData()[1], np.sin(t))
    assert np.allclose(panel.score_curve.getData()[1], np.cos(t))
    assert panel.pixel_curve in panel.top_plot.listDataItems()
    assert "0.15" in panel.top_plot.titleLabel.text
    panel.set_data(t, np.sin(t), np.cos(t))
    assert panel.pixel_curve not in panel.top_plot.listDataItems()
    assert panel.bottom_plot.getViewBox().linkedView(0) is panel.top_plot.getViewBox()
    with pytest.raises(ValueError):
        panel.set_data(t, np.sin(t), np.cos(t[:-1]))
    panel.clear()


# ----------------------------------------------------------------------------------------------------------------
# grab_image, repeated calls, the PySide6 guard
# ----------------------------------------------------------------------------------------------------------------


def _check_image(img: QtGui.QImage) -> None:
    assert isinstance(img, QtGui.QImage)
    assert not img.isNull() and img.width() > 0 and img.height() > 0


def test_grab_image_every_panel(make):
    v = signed_blobs(16, 16)
    mv = make(MapView, colorbar=True)
    mv.set_map(v, "signed")
    img = mv.grab_image()
    _check_image(img)
    # the rendered view contains the map's colours (the diverging extremes), not just background
    cm = vz.get_colormap(None, "signed")
    colours = {
        img.pixelColor(x, y).rgb() & 0xFFFFFF for x in range(0, img.width(), 3) for y in range(0, img.height(), 3)
    }
    assert QtGui.QColor(*[int(c) for c in cm.lut[-1]]).rgb() & 0xFFFFFF in colours

    ip = make(ImagePanels)
    ip.set_image(np.zeros((20, 20, 3), np.uint8))
    ip.set_heatmap(v, "signed")
    grid = make(GridPanel)
    grid.set_grid([0.1], [1, 5], [[v, v]], "signed")
    strip = make(StripPanel)
    strip.set_entries([("a", v, None), ("b", None, "error")], "signed")
    diff = make(DifferencePanel)
    diff.set_maps(v, v, v)
    noise = make(NoiseTrainingPanel)
    noise.set_maps({("clean", "gradient"): v}, "signed")
    fl = make(FluctuationPanel)
    fl.set_data([0, 1], [0, 1], [1, 0])
    conv = make(ConvergencePanel)
    conv.set_points([(1, 1.0), (2, 0.5)])
    for w in (ip, grid, strip, diff, noise, fl, conv):
        _check_image(w.grab_image())


def test_repeated_calls_do_not_accumulate_items(make):
    grid = make(GridPanel)
    v = signed_blobs(8, 8)
    for _ in range(3):
        grid.set_grid([0.1, 0.2], [1, 2], [[v, v], [v, v]], "signed")
    scene_items = len(grid.graphics_widget.scene().items())
    for _ in range(3):
        grid.set_grid([0.1, 0.2], [1, 2], [[v, v], [v, v]], "signed")
        grid.set_row(0, [v, v])
    assert len(grid.graphics_widget.scene().items()) == scene_items
    mv = make(MapView, colorbar=True)
    for _ in range(3):
        mv.set_map(v, "signed")
        mv.set_rgb(np.zeros((8, 8, 3), np.uint8))
    n = len(mv.graphics_widget.scene().items())
    mv.set_map(v, "absolute")
    assert len(mv.graphics_widget.scene().items()) == n


# ----------------------------------------------------------------------------------------------------------------
# Layout and scale options found by looking at the screenshots
# ----------------------------------------------------------------------------------------------------------------


def _settle(widget) -> None:
    widget.show()
    for _ in range(3):
        QtWidgets.QApplication.processEvents()


def _size(vb) -> tuple[float, float]:
    r = vb.sceneBoundingRect()
    return (r.width(), r.height())


def test_image_panels_three_views_are_the_same_size(make):
    """The heatmap's colour bar sits outside the three linked views, so the heatmap is as large as the image."""
    ip = make(ImagePanels, size=(960, 420))
    ip.set_image(np.zeros((20, 20, 3), np.uint8))
    ip.set_heatmap(signed_blobs(20, 20), "absolute")
    ip.set_overlay(np.zeros((20, 20, 3), np.uint8))
    _settle(ip)
    assert not ip.is_vertical()
    sizes = [_size(v.view_box) for v in (ip.image_view, ip.heatmap_view, ip.overlay_view)]
    for w, h in sizes[1:]:
        assert w == pytest.approx(sizes[0][0], abs=1.0) and h == pytest.approx(sizes[0][1], abs=1.0)
    # the same image region fills the same screen area in every view (linked ranges, equal views)
    shown = [v.view_box.mapViewToDevice(v.image_item.mapRectToParent(v.image_item.boundingRect())).boundingRect()
             for v in (ip.image_view, ip.heatmap_view)]
    assert shown[0].width() == pytest.approx(shown[1].width(), abs=1.0)
    cbar = ip.heatmap_view.color_bar
    assert cbar is not None and cbar.isVisible() and cbar is ip.color_bar_column.color_bar
    assert cbar.scene() is not ip.heatmap_view.graphics_widget.scene()
    assert cbar.levels() == pytest.approx(_pg_levels("absolute", vz.compute_span(signed_blobs(20, 20), "absolute")))


def _pg_levels(view, span):
    from smoothgrad_desktop.gui.panels import _pg

    return _pg.levels_for(view, span)


def test_image_panels_stack_wide_images(make):
    ip = make(ImagePanels, size=(760, 760))
    _settle(ip)
    ip.set_image(np.zeros((28, 56, 3), np.uint8))  # a two-digit sample: twice as wide as high
    ip.set_heatmap(signed_blobs(28, 56), "absolute")
    _settle(ip)
    assert ip.is_vertical()
    sizes = [_size(v.view_box) for v in (ip.image_view, ip.heatmap_view, ip.overlay_view)]
    assert sizes[0][0] == pytest.approx(sizes[1][0], abs=1.0) == pytest.approx(sizes[2][0], abs=1.0)
    ip.resize(1500, 400)  # a wide, low area: side by side shows the image larger again
    _settle(ip)
    assert not ip.is_vertical()


def test_grid_shared_or_per_cell_scale(make):
    grid = make(GridPanel, size=(700, 400))
    small = np.abs(signed_blobs(12, 12, 1, scale=0.01))
    big = np.abs(signed_blobs(12, 12, 2, scale=10.0))
    # per cell (the paper's figures): each cell capped at its own percentile
    grid.set_grid([0.0, 0.5], [1], [[small], [big]], "absolute", percentile=99.0, shared=False)
    assert not grid.shared_scale and grid.span is None
    s0, s1 = vz.compute_span(small, "absolute", 99.0), vz.compute_span(big, "absolute", 99.0)
    assert levels(grid.image_item(0, 0)) == pytest.approx((0.0, s0))
    assert levels(grid.image_item(1, 0)) == pytest.approx((0.0, s1))
    assert grid.cell_span(0, 0) == pytest.approx(s0) and grid.cell_span(1, 0) == pytest.approx(s1)
    assert grid.scale_label == "per cell"
    assert grid.color_bar.levels() == pytest.approx((0.0, 1.0))  # 0 .. P99 of each cell
    # shared (the default): one span for both
    grid.set_shared_scale(True)
    both = vz.shared_span([small, big], "absolute", 99.0)
    assert levels(grid.image_item(0, 0)) == levels(grid.image_item(1, 0)) == pytest.approx((0.0, both))
    assert grid.span == pytest.approx(both) and grid.scale_label == "shared"
    grid.set_grid([0.0, 0.5], [1], [[small], [big]], "absolute")
    assert grid.shared_scale
    # progressive rows keep the per-cell choice
    grid.set_grid([0.0, 0.5], [1], None, "signed", shared=False)
    grid.set_row(1, [signed_blobs(12, 12, 3, scale=5.0)])
    assert levels(grid.image_item(1, 0)) == pytest.approx(
        (-vz.compute_span(signed_blobs(12, 12, 3, scale=5.0), "signed"),
         vz.compute_span(signed_blobs(12, 12, 3, scale=5.0), "signed")))


def test_strip_noise_and_difference_per_cell_scale(make):
    a, b = signed_blobs(10, 10, 1, scale=0.1), signed_blobs(10, 10, 2, scale=50.0)
    sa, sb = vz.compute_span(a, "signed"), vz.compute_span(b, "signed")
    strip = make(StripPanel)
    strip.set_entries([("Gradient", a, None), ("SmoothGrad", b, None)], "signed", shared=False)
    assert levels(strip.image_item(0, 0)) == pytest.approx((-sa, sa))
    assert levels(strip.image_item(0, 1)) == pytest.approx((-sb, sb))
    noise = make(NoiseTrainingPanel)
    noise.set_maps({("clean", "gradient"): a, ("noise-trained", "smoothgrad"): b}, "signed", shared=False)
    assert levels(noise.image_item(0, 0)) == pytest.approx((-sa, sa))
    assert levels(noise.image_item(1, 1)) == pytest.approx((-sb, sb))
    noise.set_shared_scale(True)
    assert levels(noise.image_item(0, 0)) == levels(noise.image_item(1, 1))
    diff = make(DifferencePanel)
    diff.set_maps(a - b, a, b, shared=False)
    assert levels(diff.map1_view.image_item) == pytest.approx((-sa, sa))
    assert levels(diff.map2_view.image_item) == pytest.approx((-sb, sb))
    diff.set_shared_scale(True)
    s = vz.shared_span([a, b], "signed")
    assert levels(diff.map1_view.image_item) == levels(diff.map2_view.image_item) == pytest.approx((-s, s))


def test_strip_six_methods_fit_a_narrow_window(make):
    from smoothgrad_desktop.core.experiments import STRIP

    strip = make(StripPanel, size=(720, 300))  # the Methods tab of a 1600 px window is about this wide
    v = signed_blobs(12, 12)
    strip.set_entries([(label, v, None) for label, _m, _a in STRIP], "absolute")
    _settle(strip)
    right = strip.graphics_widget.viewport().width()
    widths = []
    for i in range(len(STRIP)):
        r = strip.view_box(0, i).sceneBoundingRect()
        assert r.right() <= right + 0.5, f"column {i} ({STRIP[i][0]}) is cut off"
        widths.append(r.width())
    assert max(widths) - min(widths) <= 1.0  # equal columns
    assert "<br>" in strip._col_labels[-1].text  # "Guided BP +<br>SmoothGrad"
    # the strip is not drawn as tall empty boxes: the figure is about as high as its square cells
    assert strip.graphics_widget.height() < 0.9 * strip.height()


def test_difference_panel_wide_maps_go_under_d_and_small_views_match(make):
    panel = make(DifferencePanel, size=(800, 700))
    m = signed_blobs(14, 14)
    panel.set_image(np.zeros((14, 14, 3), np.uint8))
    panel.set_maps(m, m, m)
    _settle(panel)
    assert not panel.wide_layout()
    sizes = [_size(v.view_box) for v in (panel.image_view, panel.map1_view, panel.map2_view)]
    assert sizes[0][0] == pytest.approx(sizes[1][0], abs=1.0) == pytest.approx(sizes[2][0], abs=1.0)
    w = signed_blobs(14, 28)
    panel.set_maps(w, w, w)
    _settle(panel)
    assert panel.wide_layout()
    d = panel.diff_view.view_box.sceneBoundingRect()
    assert d.width() > 0.6 * panel.width()  # D stays the largest view; the small ones are no thumbnails
    assert all(_size(v.view_box)[0] > 0.2 * panel.width() for v in (panel.map1_view, panel.map2_view))


def test_log_axis_labels_only_1_2_5():
    from smoothgrad_desktop.gui.panels.curves import LogAxis125

    axis = LogAxis125(orientation="left")
    values = list(np.log10([0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.2, 0.3, 0.5]))
    labels = axis.logTickStrings(values, 1.0, 1.0)
    shown = [lab for lab in labels if lab]
    assert len(shown) == 5  # 0.02, 0.05, 0.1, 0.2, 0.5
    assert labels[1] == "" and labels[0] != "" and labels[8] != ""


def test_fluctuation_legend_is_outside_the_plot(make):
    panel = make(FluctuationPanel)
    t = np.linspace(0, 1, 50)
    panel.set_data(t, np.sin(t), np.cos(t), partial_at_pixel=t, sigma=0.15)
    assert panel.top_plot.legend is None  # nothing drawn over the curves
    title = panel.top_plot.titleLabel.text
    assert "max over pixels" in title and "one fixed pixel" in title and "0.15" in title
    panel.set_data(t, np.sin(t), np.cos(t))
    assert "one fixed pixel" not in panel.top_plot.titleLabel.text
