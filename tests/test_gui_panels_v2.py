"""Panels a person wants to look at: maps fill their boxes, readable colour bars, titles that fit, per-panel
scale choices, the class-difference legend and normalisation, help links and the error line."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402

from smoothgrad_desktop.core import visualize as vz  # noqa: E402
from smoothgrad_desktop.gui.panels import (  # noqa: E402
    DifferencePanel,
    GridPanel,
    ImagePanels,
    MapView,
    NoiseTrainingPanel,
    StripPanel,
)

pytestmark = pytest.mark.gui


@pytest.fixture
def make(qtbot):
    def _make(cls, *args, size=(640, 400), **kwargs):
        w = cls(*args, **kwargs)
        qtbot.addWidget(w)
        w.resize(*size)
        w.show()
        _settle(w)
        return w

    return _make


def _settle(w=None) -> None:
    for _ in range(6):
        QtWidgets.QApplication.processEvents()


def blobs(h: int, w: int, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    m = np.exp(-(((xx - w / 4) / (w / 8)) ** 2 + ((yy - h / 4) / (h / 8)) ** 2))
    m -= 0.7 * np.exp(-(((xx - 3 * w / 4) / (w / 8)) ** 2 + ((yy - 3 * h / 4) / (h / 8)) ** 2))
    return (scale * (m + 0.05 * rng.standard_normal((h, w)))).astype(np.float32)


def shown_rect(item, widget) -> QtCore.QRectF:
    """The rectangle an ImageItem covers in ``widget`` pixels (the GraphicsView it is drawn in), clipped to it."""
    scene = item.mapRectToScene(item.boundingRect())
    view = item.getViewWidget()
    poly = view.mapFromScene(scene)
    r = QtCore.QRectF(poly.boundingRect())
    top_left = view.mapTo(widget, QtCore.QPoint(0, 0))
    r.translate(top_left.x(), top_left.y())
    return r.intersected(QtCore.QRectF(widget.rect()))


def coverage(view: MapView) -> tuple[float, float]:
    """(fraction of the view's width, fraction of its height) the image covers."""
    glw = view.graphics_widget
    r = shown_rect(view.image_item, glw)
    return r.width() / glw.width(), r.height() / glw.height()


# --------------------------------------------------------------------------------------------- colour-bar ticks


def _drawn_tick_labels(axis) -> list[str]:
    img = QtGui.QImage(200, 600, QtGui.QImage.Format.Format_ARGB32)
    painter = QtGui.QPainter(img)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    assert specs is not None
    return [text for _rect, _flags, text in specs[2]]


@pytest.mark.parametrize("view,span", [("signed", 3.3e-4), ("absolute", 1e-9), ("absolute", 1e6),
                                       ("signed", 2.5e7), ("absolute", 0.0327)])
def test_colour_bar_has_three_readable_ticks_at_any_span(make, view, span):
    mv = make(MapView, "Heatmap", colorbar=True, size=(420, 420))
    mv.set_map(blobs(28, 28, scale=span), view, span=span)
    _settle()
    labels = _drawn_tick_labels(mv.color_bar.axis)
    values = [float(t.replace("−", "-")) for t in labels]
    assert len(labels) >= 3, labels
    assert len(set(labels)) == len(labels)
    assert all(len(t) <= 7 for t in labels), labels
    lo = -span if view == "signed" else 0.0
    assert all(lo - 1e-12 * span <= v <= span * (1 + 1e-9) for v in values), (labels, span)
    # the labels reach out to at least half of the span (a ±3.3e-4 bar is not labelled only to ±8e-5)
    assert max(values) >= 0.5 * span
    if view == "signed":
        assert min(values) <= -0.5 * span and "0" in labels


def test_colour_bar_ticks_during_partial_updates(make):
    """A run updates the map many times with growing spans: every update keeps >= 3 labelled ticks."""
    mv = make(MapView, "Heatmap", colorbar=True, size=(420, 420))
    for k, span in enumerate((3e-6, 4e-5, 3.3e-4, 2e-3)):
        mv.set_map(blobs(28, 28, seed=k, scale=span), "signed", span=span)
        _settle()
        assert len(_drawn_tick_labels(mv.color_bar.axis)) >= 3


def test_grid_shared_colour_bar_ticks(make):
    grid = make(GridPanel, size=(700, 500))
    grid.set_grid([0.0, 0.5], [1, 5], [[blobs(20, 20, 0, 3.3e-4), blobs(20, 20, 1, 3.3e-4)]], "signed",
                  shared=True)
    _settle()
    labels = _drawn_tick_labels(grid.color_bar.axis)
    assert len(labels) >= 3 and "0" in labels


# --------------------------------------------------------------------------------------------- maps fill boxes


def test_image_panels_map_fills_its_box_with_aspect_kept(make):
    """A 28x28 map at 1280x800-like sizes: each box is fitted to the image, not a tall box two-thirds empty."""
    ip = make(ImagePanels, size=(900, 700))
    ip.set_image(np.zeros((28, 28, 3), np.uint8))
    ip.set_heatmap(blobs(28, 28), "absolute")
    ip.set_overlay(np.zeros((28, 28, 3), np.uint8))
    for size in ((900, 700), (1200, 500), (700, 900), (1000, 1000)):
        ip.resize(*size)
        _settle()
        for v in (ip.image_view, ip.heatmap_view, ip.overlay_view):
            fw, fh = coverage(v)
            assert max(fw, fh) >= 0.9, (size, fw, fh)  # the limiting dimension
            assert min(fw, fh) >= 0.8, (size, fw, fh)  # and the box has no large empty band
            r = shown_rect(v.image_item, v.graphics_widget)
            assert r.width() == pytest.approx(r.height(), rel=0.03)  # square stays square
        # the images grow with the panel: at least a third of the narrower side each
        assert shown_rect(ip.heatmap_view.image_item, ip.heatmap_view.graphics_widget).width() >= \
            min(size[0] / 3.0 - 60, size[1] - 120) * 0.8


def test_image_panels_wide_image_fills_boxes_stacked(make):
    ip = make(ImagePanels, size=(760, 760))
    ip.set_image(np.zeros((28, 56, 3), np.uint8))
    ip.set_heatmap(blobs(28, 56), "absolute")
    _settle()
    assert ip.is_vertical()
    for v in (ip.image_view, ip.heatmap_view):
        fw, fh = coverage(v)
        assert fw >= 0.9 and fh >= 0.7, (fw, fh)


def test_long_title_is_elided_keeps_the_square_and_reset_restores(make):
    """Show → SNR: a long title must not widen the view (it was clipped and the map lost its square)."""
    ip = make(ImagePanels, size=(900, 600))
    ip.set_image(np.zeros((28, 28, 3), np.uint8))
    ip.set_heatmap(blobs(28, 28), "absolute")
    view = ip.heatmap_view
    long_title = "SNR = |mean| / standard error — a title far too long for one narrow view of a map"
    view.set_title(long_title)
    _settle()
    glw = view.graphics_widget
    title = view.title_item
    assert view.title() == long_title and title.toolTip().startswith("SNR = |mean|")
    assert title.mapRectToScene(title.boundingRect()).width() <= glw.width() + 1
    assert title.shown_text().endswith("…") or len(title.shown_text()) < len(long_title)
    r = shown_rect(view.image_item, glw)
    assert r.width() == pytest.approx(r.height(), rel=0.03)
    vb_rect = view.view_box.mapRectToScene(view.view_box.boundingRect())
    assert vb_rect.right() <= glw.width() + 1  # the view box is not pushed out of its widget
    # zoom in, then a reset (autoRange) restores the whole square map
    view.view_box.scaleBy((0.3, 0.3))
    _settle()
    view.reset_view()
    _settle()
    fw, fh = coverage(view)
    assert max(fw, fh) >= 0.8 and min(fw, fh) >= 0.7
    r = shown_rect(view.image_item, glw)
    assert r.width() == pytest.approx(r.height(), rel=0.03)


def _image_areas(panel, cells) -> float:
    total = 0.0
    for r, c in cells:
        item = panel.image_item(r, c)
        rect = shown_rect(item, panel)
        total += rect.width() * rect.height()
    return total


def test_strip_cells_grow_with_the_panel(make):
    """Six methods in a tall panel wrap onto rows, so each cell is far larger than a 1x6 strip's ~95 px."""
    strip = make(StripPanel, size=(700, 650))
    labels = ["Gradient", "SmoothGrad", "Integrated Gradients", "IG + SmoothGrad", "Guided Backprop",
              "Guided BP + SmoothGrad"]
    strip.set_entries([(lab, blobs(28, 28, seed=i), None) for i, lab in enumerate(labels)], "absolute")
    _settle()
    cells = [(0, i) for i in range(6)]
    side = min(shown_rect(strip.image_item(0, i), strip).width() for i in range(6))
    assert strip.flow_columns() < 6
    assert side >= 170, side
    assert _image_areas(strip, cells) >= 0.3 * strip.width() * strip.height()
    for i in range(6):  # every cell keeps the square and its label
        r = shown_rect(strip.image_item(0, i), strip)
        assert r.width() == pytest.approx(r.height(), rel=0.05)
    assert strip.labels() == labels
    strip.resize(1400, 300)  # wide and low: one row again
    _settle()
    assert strip.flow_columns() == 6
    assert strip.value_at(0, 5, 3, 4) == pytest.approx(float(blobs(28, 28, seed=5)[4, 3]))


def test_grid_and_noise_cells_fill_their_boxes(make):
    grid = make(GridPanel, size=(900, 700))
    levels, ns = [0.0, 0.1, 0.2], [1, 5, 10]
    grid.set_grid(levels, ns, [[blobs(28, 28, seed=r * 3 + c) for c in range(3)] for r in range(3)], "absolute")
    _settle()
    for r in range(3):
        for c in range(3):
            vb = grid.view_box(r, c)
            box = vb.mapRectToScene(vb.boundingRect())
            shown = grid.image_item(r, c).mapRectToScene(grid.image_item(r, c).boundingRect()).intersected(box)
            assert max(shown.width() / box.width(), shown.height() / box.height()) >= 0.8
    side = shown_rect(grid.image_item(0, 0), grid).width()
    grid.resize(1300, 1000)
    _settle()
    assert shown_rect(grid.image_item(0, 0), grid).width() > 1.2 * side  # cells grow with their panel
    noise = make(NoiseTrainingPanel, size=(800, 700))
    noise.set_maps({("clean", "gradient"): blobs(28, 28)}, "absolute")
    _settle()
    assert shown_rect(noise.image_item(0, 0), noise).width() >= 250


# --------------------------------------------------------------------------------------------- per-panel scale


def test_grid_defaults_to_per_cell_and_the_choice_is_per_instance(make, qtbot):
    """Gradient magnitude grows with σ: a shared scale turns the low-noise rows black, so the grid starts per cell.
    Ticking one panel's box changes that panel only (no class, module or settings value is shared)."""
    small, big = blobs(16, 16, 0, 1e-3), blobs(16, 16, 1, 1.0)
    g1 = make(GridPanel, size=(500, 400))
    g2 = make(GridPanel, size=(500, 400))
    strip = make(StripPanel, size=(500, 300))
    for g in (g1, g2):
        g.set_grid([0.0, 0.5], [1], [[small], [big]], "absolute")
        assert not g.shared_scale and not g.scale_check.isChecked() and g.scale_label == "per cell"
        assert levels_of(g.image_item(0, 0))[1] == pytest.approx(vz.compute_span(small, "absolute"))
    assert strip.shared_scale and strip.scale_check.isChecked()
    with qtbot.waitSignal(g1.shared_scale_changed, timeout=1000) as blocker:
        g1.scale_check.click()
    assert blocker.args == [True]
    assert g1.shared_scale and g1.scale_label == "shared"
    assert levels_of(g1.image_item(0, 0)) == levels_of(g1.image_item(1, 0))
    assert not g2.shared_scale and g2.scale_label == "per cell" and strip.shared_scale
    # a later set_grid (a re-render) keeps each panel's own choice
    g1.set_grid([0.0, 0.5], [1], [[small], [big]], "absolute", percentile=98.0)
    g2.set_grid([0.0, 0.5], [1], [[small], [big]], "absolute", percentile=98.0)
    assert g1.shared_scale and not g2.shared_scale
    assert not any(isinstance(v, bool) for k, v in vars(GridPanel).items() if "shared" in k.lower() and k != "DEFAULT_SHARED")
    settings = QtCore.QSettings()
    assert not any("shared" in key.lower() for key in settings.allKeys())


def levels_of(item) -> tuple[float, float]:
    lv = item.getLevels()
    return (float(lv[0]), float(lv[1]))


# --------------------------------------------------------------------------------------------- class difference


def _two_blob_attributions(scale1: float, scale2: float) -> tuple[np.ndarray, np.ndarray]:
    """Class 1's evidence on the left half, class 2's on the right, at very different gradient scales and with
    signs that alternate (as raw gradients do)."""
    rng = np.random.default_rng(4)
    h, w = 20, 40
    yy, xx = np.mgrid[0:h, 0:w]
    left = np.exp(-(((xx - 10) / 4.0) ** 2 + ((yy - 10) / 4.0) ** 2))
    right = np.exp(-(((xx - 30) / 4.0) ** 2 + ((yy - 10) / 4.0) ** 2))
    sign = np.where(rng.random((h, w)) < 0.5, -1.0, 1.0)
    a1 = (scale1 * sign * (left + 0.05 * rng.random((h, w))))[None].astype(np.float32)
    a2 = (scale2 * sign * (right + 0.05 * rng.random((h, w))))[None].astype(np.float32)
    return a1, a2


def test_difference_follows_the_view_normalises_each_map_and_names_the_colours(make, qtbot):
    panel = make(DifferencePanel, size=(900, 700))
    panel.set_classes(["seven", "one"], 0, 1)
    a1, a2 = _two_blob_attributions(0.03, 0.7)  # class 1's gradients ~20x smaller (7 against 1 on MNIST)
    dm = panel.set_attributions(a1, a2, "absolute")
    assert panel.normalisation() == "percentile" and dm.normalise == "percentile" and dm.view == "absolute"
    d = panel.diff_view.image_item.image
    # D = |M1|/P99(|M1|) - |M2|/P99(|M2|), computed independently here
    v1, v2 = np.abs(a1[0]).astype(np.float64), np.abs(a2[0]).astype(np.float64)
    expected = v1 / np.percentile(v1, 99) - v2 / np.percentile(v2, 99)
    np.testing.assert_allclose(d, expected, rtol=1e-4, atol=1e-5)
    assert d[:, :20].mean() > 0 > d[:, 20:].mean()  # each digit takes its own class's sign
    # raw: the larger map dominates everywhere it is, with its sign flipped
    with qtbot.waitSignal(panel.normalisation_changed, timeout=1000):
        panel.norm_combo.setCurrentIndex(panel.norm_combo.findData("raw"))
        panel.norm_combo.activated.emit(panel.norm_combo.currentIndex())
    raw = panel.diff_view.image_item.image
    np.testing.assert_allclose(raw, v1 - v2, rtol=1e-4, atol=1e-6)
    assert raw[:, :20].mean() < 0  # even over class 1's own digit D is negative: D ≈ −|M2|
    panel.set_normalisation("percentile")
    # the signed view subtracts signed maps: D changes, it does not stay |M1| - |M2|
    panel.set_attributions(a1, a2, "signed")
    s = panel.diff_view.image_item.image
    s1, s2 = a1[0].astype(np.float64), a2[0].astype(np.float64)
    sig = s1 / np.percentile(np.abs(s1), 99) - s2 / np.percentile(np.abs(s2), 99)
    np.testing.assert_allclose(s, sig, rtol=1e-4, atol=1e-5)
    # the legend says which colour is which class, in the colour map's own end colours
    text = panel.legend_text()
    assert "D > 0: seven (class 1)" in text and "D < 0: one (class 2)" in text
    cm = vz.get_colormap(vz.DEFAULT_DIVERGING, "signed")
    html = panel.legend.text()
    assert "#%02x%02x%02x" % tuple(int(c) for c in cm.lut[-1][:3]) in html
    assert "#%02x%02x%02x" % tuple(int(c) for c in cm.lut[0][:3]) in html
    assert panel.help_button.property("guide_page") == "class-difference"


def test_difference_small_views_are_not_thumbnails(make):
    panel = make(DifferencePanel, size=(900, 700))
    panel.set_image(np.zeros((28, 56, 3), np.uint8))
    a1, a2 = _two_blob_attributions(1.0, 1.0)
    panel.set_attributions(a1, a2, "absolute")
    _settle()
    d = shown_rect(panel.diff_view.image_item, panel)
    for v in (panel.image_view, panel.map1_view, panel.map2_view):
        r = shown_rect(v.image_item, panel)
        assert r.width() >= 0.24 * d.width() and r.width() >= 180, (r, d)
    assert d.width() >= 0.5 * panel.width()


@pytest.mark.parametrize("view,scale", [("signed", 3.3e-4), ("absolute", 1e-9), ("absolute", 1e6)])
def test_levels_histogram_axis_is_labelled_at_any_span(qtbot, view, scale):
    from smoothgrad_desktop.gui.widgets.levels import LevelsWidget

    w = LevelsWidget()
    qtbot.addWidget(w)
    w.resize(700, 140)
    w.show()
    values = blobs(28, 28, scale=scale)
    if view == "absolute":
        values = np.abs(values)
    w.set_values(values, view, vz.compute_span(values, view, 99.0))
    _settle()
    labels = _drawn_tick_labels(w._plot.getAxis("bottom"))
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels


def test_image_panels_go_two_by_two_in_a_narrow_tall_area(make):
    """The Map tab at 1280x800 gives the views about 540 x 520 px: three in a row left each 28x28 map ~140 px wide
    over a large empty band; two by two shows it about 1.5 times larger."""
    ip = make(ImagePanels, size=(540, 540))
    ip.set_image(np.zeros((28, 28, 3), np.uint8))
    ip.set_heatmap(blobs(28, 28), "absolute")
    ip.set_overlay(np.zeros((28, 28, 3), np.uint8))
    _settle()
    assert ip.arrangement() == "grid" and not ip.is_vertical()
    heat = shown_rect(ip.heatmap_view.image_item, ip.heatmap_view.graphics_widget)
    assert heat.width() >= 1.4 * (540 - 40) / 3.0 * 0.8  # clearly larger than a third of the width
    assert heat.width() == pytest.approx(heat.height(), rel=0.03)
    # image and overlay in one column, the heatmap beside the image; nothing overlaps
    g = {k: v.geometry() for k, v in (("image", ip.image_view), ("heatmap", ip.heatmap_view),
                                      ("overlay", ip.overlay_view))}
    assert g["overlay"].x() == g["image"].x() and g["overlay"].y() > g["image"].bottom()
    assert g["heatmap"].y() == g["image"].y() and g["heatmap"].x() > g["image"].right()
    assert not ip.color_bar_column.geometry().intersects(g["heatmap"])
    for v in (ip.image_view, ip.heatmap_view, ip.overlay_view):
        fw, fh = coverage(v)
        assert min(fw, fh) >= 0.8, (fw, fh)
    ip.resize(1200, 420)  # wide and low again: back to a row
    _settle()
    assert ip.arrangement() == "row"


def test_difference_legend_wraps_instead_of_widening_the_window(make):
    """With long class names the legend took ~600 px as its minimum width, so opening Class difference at 1280 px
    squeezed the right dock: it wraps instead, and the panel asks no more width than the σ/n grid's controls."""
    panel = make(DifferencePanel, size=(420, 700))
    panel.set_classes(["great white shark", "tiger shark"], 0, 1)
    a1, a2 = _two_blob_attributions(1.0, 1.0)
    panel.set_attributions(a1, a2, "absolute")
    _settle()
    assert "great white shark" in panel.legend_text() and "tiger shark" in panel.legend_text()
    assert panel.minimumSizeHint().width() <= 440
    assert panel.legend.height() > panel.legend.fontMetrics().height()  # two lines at this width
