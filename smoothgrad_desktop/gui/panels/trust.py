"""Trust panels: deletion/insertion curves with a scrubber, the sanity checks, and the pixel probe histogram.

Views never compute: they receive curves, correlations and per-sample values from the worker (core ``trust``);
the only arithmetic here is display (the scrubber picks pixels from precomputed images, a histogram is binned).

Public API
----------
``FaithfulnessPanel(parent=None)``: two plots side by side, deletion (left) and insertion (right), the target's
probability against the fraction of pixels changed. Each plot draws the map's curve (solid blue), the random-order
curve (grey, dashed; always) and optionally a second method's curve (orange), the AUC of each in the legend line
under the plot's title (outside the plot area, so it never hides a curve). Under the plots a scrubber: a slider over
the fraction (one step per curve point) and the perturbed input at that fraction, deleted and inserted, in the
order chosen with a combo box (the map, the second method, random). A vertical line on both plots marks the
fraction; dragging it moves the slider.

* ``set_result(r)`` -- ``r`` has the attributes of ``trust_jobs.EvaluateOutcome``: ``curves[(kind, order)]``
  (core ``Curve``), ``compare_curves[kind]``, ``label``, ``compare_label``, ``compare_error``, ``ranks[order]``,
  ``x_rgb``, ``baseline_rgb``, ``start_rgb``, ``steps``.
* ``curve_items(kind) -> dict[str, pg.PlotDataItem]`` (keys ``attribution``, ``random`` and ``compare`` when
  shown), ``legend_text(kind) -> str`` (html), ``plot(kind) -> pg.PlotItem``.
* ``slider`` (``QSlider``, 0..steps), ``set_step(i)``, ``fraction() -> float``, ``order_combo``,
  ``scrub_image(kind) -> np.ndarray`` (the (H, W, 3) image shown), ``scrub_text() -> str``.
* ``clear()``, ``grab_image() -> QImage`` (plots and scrubber).

``SanityPanel(parent=None)``: the cascading randomisation plot -- Spearman's rank correlation between the
original map and the map after randomising the layers from the top (output) down, for |map| (solid) and the signed
map (dashed); x = 0 is the trained model (rho = 1 by definition), x = k names the k-th layer randomised, the layer
names on the x axis. A horizontal dotted line marks the random-target test's rho(|map|). Below: the random-target
result in words, and small thumbnails of the |maps| (trained model first, each on its own scale).

* ``set_result(layers, rho_abs, rho_signed, *, random_target=None, thumbnails=None, original=None,
  labels=None)`` -- ``random_target`` as core ``random_target_test`` returns it; ``labels`` names classes.
* ``abs_curve`` / ``signed_curve`` (``pg.PlotDataItem``), ``random_line`` (``pg.InfiniteLine``), ``plot``,
  ``tick_labels() -> list[str]``, ``random_text() -> str``, ``thumbnails`` (a ``StripPanel``: "trained", then "random to LAYER" after each step), ``clear()``,
  ``grab_image()``.

``ProbePanel(parent=None)``: a histogram of one pixel's per-sample values (channels summed, signed) with the mean
(solid red line) and mean ± standard error (shaded band) marked, and the numbers in a text line.

* ``set_probe(pixel, values, stats, *, map_value=None, title="")`` -- ``stats`` as core ``PixelProbe.stats``.
* ``hist_curve``, ``mean_line``, ``se_region``, ``plot``, ``mean()`` / ``standard_error()`` (what is marked),
  ``text()``, ``clear()``, ``grab_image()``.
"""

from __future__ import annotations

import math
from html import escape as html_escape

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Slot

from ...core.trust_data import perturbed_rgb
from . import _controls, _pg
from ._pg import pg
from .image_views import MapView
from .strip import StripPanel

__all__ = ["FaithfulnessPanel", "SanityPanel", "ProbePanel"]

MAIN_PEN = (31, 119, 180)
COMPARE_PEN = (255, 127, 14)
RANDOM_PEN = (128, 128, 128)
SIGNED_PEN = (214, 39, 40)
TITLE_HEIGHT = 44
KIND_TEXT = {"deletion": ("Deletion", "removed", "lower AUC = more faithful"),
             "insertion": ("Insertion", "revealed", "higher AUC = more faithful")}
MAX_THUMBS = 12
LEGEND_LINES_HEIGHT = 100  # the faithfulness plots: a title line, what is better, up to three legend lines


def _hex(rgb) -> str:
    return "#%02x%02x%02x" % tuple(int(c) for c in rgb)


def _style(plot: pg.PlotItem, fg: QtGui.QColor) -> None:
    for key in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(key)
        _pg.style_axis(axis, fg)
        axis.enableAutoSIPrefix(False)
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.setMenuEnabled(False)


def _legend(items, sep: str = " &nbsp;&nbsp; ", per_line: int | None = None) -> str:
    """Legend entries as HTML, ``per_line`` of them to a line (all on one line by default): a legend line sets its
    plot's minimum width, so a long one would clip the plot at 1280 px."""
    entries = [f"<span style='color:{_hex(c)}'><b>{mark}</b></span>&nbsp;{html_escape(label)}"
               for c, mark, label in items]
    step = per_line or max(1, len(entries))
    return "<br>".join(sep.join(entries[i:i + step]) for i in range(0, len(entries), step))


def _set_title(plot: pg.PlotItem, title: str, legend: str, fg: QtGui.QColor, height: int = TITLE_HEIGHT) -> None:
    plot.setTitle(f"{html_escape(title)}<br><span style='font-size:9pt'>{legend}</span>", color=fg.name(), size="10pt")
    plot.titleLabel.setMaximumHeight(height)
    plot.layout.setRowFixedHeight(0, height)


# ------------------------------------------------------------------------------------------------ faithfulness


class FaithfulnessPanel(QtWidgets.QWidget):
    """Deletion and insertion curves with a scrubber (see the module docstring)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._glw, fg = _pg.themed_layout(300, 200)
        self._fg = fg
        self._plots: dict[str, pg.PlotItem] = {}
        self._items: dict[str, dict[str, pg.PlotDataItem]] = {}
        self._lines: dict[str, pg.InfiniteLine] = {}
        for col, kind in enumerate(("deletion", "insertion")):
            plot = self._glw.addPlot(row=0, col=col)
            _style(plot, fg)
            plot.setLabel("bottom", f"fraction of pixels {KIND_TEXT[kind][1]}", color=fg.name())
            plot.setLabel("left", "probability of the target class", color=fg.name())
            plot.setXRange(0.0, 1.0, padding=0.02)
            plot.setYRange(0.0, 1.0, padding=0.02)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            items = {
                "random": plot.plot([], [], pen=pg.mkPen(RANDOM_PEN, width=1.5, style=QtCore.Qt.PenStyle.DashLine)),
                "compare": pg.PlotDataItem([], [], pen=pg.mkPen(COMPARE_PEN, width=2)),
                "attribution": plot.plot([], [], pen=pg.mkPen(MAIN_PEN, width=2.2)),
            }
            line = pg.InfiniteLine(pos=0.0, angle=90, movable=True, pen=pg.mkPen(fg, width=1),
                                   hoverPen=pg.mkPen(fg, width=3), bounds=(0.0, 1.0))
            line.setToolTip("Drag to scrub through the perturbation")
            line.sigPositionChanged.connect(self._on_line_moved)
            plot.addItem(line)
            self._plots[kind], self._items[kind], self._lines[kind] = plot, items, line
        for col in (0, 1):
            self._glw.ci.layout.setColumnStretchFactor(col, 1)
            self._glw.ci.layout.setColumnPreferredWidth(col, 100)
        self._compare_shown = False
        self._result = None

        # scrubber
        self._views = {"deletion": MapView("Deleted", readout=False), "insertion": MapView("Inserted", readout=False)}
        self._views["deletion"].link_view(self._views["insertion"])
        self.order_combo = QtWidgets.QComboBox()
        self.order_combo.setToolTip("Which pixel order the scrubber images follow")
        self.order_combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setObjectName("scrubber")
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Fraction of pixels removed (deletion) or revealed (insertion)")
        self._scrub_label = QtWidgets.QLabel("")
        self._scrub_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self._scrub_label.setWordWrap(True)  # wraps instead of widening the window
        self._scrub_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.slider.valueChanged.connect(self._on_slider)
        self.order_combo.currentIndexChanged.connect(self._update_images)

        images = QtWidgets.QHBoxLayout()
        images.setContentsMargins(0, 0, 0, 0)
        images.addWidget(self._views["deletion"], 1)
        images.addWidget(self._views["insertion"], 1)
        controls = QtWidgets.QHBoxLayout()
        controls.setContentsMargins(4, 0, 4, 0)
        controls.addWidget(QtWidgets.QLabel("Scrub:"))
        controls.addWidget(self.slider, 1)
        controls.addWidget(QtWidgets.QLabel("Order:"))
        controls.addWidget(self.order_combo)
        self.help_button = _controls.help_button("faithfulness")
        controls.addWidget(self.help_button)
        scrub = QtWidgets.QWidget()
        sl = QtWidgets.QVBoxLayout(scrub)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.setSpacing(2)
        sl.addLayout(controls)
        sl.addWidget(self._scrub_label)
        sl.addLayout(images, 1)
        self._scrub = scrub

        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        split.addWidget(self._glw)
        split.addWidget(scrub)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        self._split = split
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(split)
        for kind in ("deletion", "insertion"):
            self._set_legend(kind)

    # -- access ------------------------------------------------------------------------------------------------
    def plot(self, kind: str) -> pg.PlotItem:
        return self._plots[kind]

    def curve_items(self, kind: str) -> dict[str, pg.PlotDataItem]:
        items = dict(self._items[kind])
        if not self._compare_shown:
            items.pop("compare")
        return items

    def fraction(self) -> float:
        steps = self.slider.maximum()
        return self.slider.value() / steps if steps > 0 else 0.0

    def set_step(self, i: int) -> None:
        self.slider.setValue(int(i))

    def scrub_image(self, kind: str) -> np.ndarray | None:
        return self._views[kind].image_item.image

    def scrub_text(self) -> str:
        return self._scrub_label.text()

    def legend_text(self, kind: str) -> str:
        r = self._result
        if r is None:
            return ""
        items = []
        main = r.curves.get((kind, "attribution"))
        if main is not None:
            items.append((MAIN_PEN, "━━", f"{r.label} (AUC {main.auc:.3f})"))
        comp = r.compare_curves.get(kind) if r.compare_curves else None
        if comp is not None:
            items.append((COMPARE_PEN, "━━", f"{r.compare_label} (AUC {comp.auc:.3f})"))
        elif r.compare_label and r.compare_error:
            items.append((COMPARE_PEN, "✕", f"{r.compare_label}: not available"))
        rnd = r.curves.get((kind, "random"))
        if rnd is not None:
            items.append((RANDOM_PEN, "╌╌", f"random order (AUC {rnd.auc:.3f})"))
        return _legend(items, "<br>")  # one entry per line: the two plots stay equally wide

    def _set_legend(self, kind: str) -> None:
        title, _verb, better = KIND_TEXT[kind]
        legend = f"<i>{html_escape(better)}</i><br>" + (self.legend_text(kind) or "&nbsp;")
        _set_title(self._plots[kind], title, legend, self._fg, LEGEND_LINES_HEIGHT)

    # -- content -----------------------------------------------------------------------------------------------
    def set_result(self, r) -> None:
        self._result = r
        show_compare = bool(r.compare_curves)
        for kind in ("deletion", "insertion"):
            items = self._items[kind]
            for order in ("attribution", "random"):
                c = r.curves[(kind, order)]
                items[order].setData(np.asarray(c.fractions), np.asarray(c.probabilities))
            plot = self._plots[kind]
            if show_compare:
                c = r.compare_curves[kind]
                items["compare"].setData(np.asarray(c.fractions), np.asarray(c.probabilities))
                if not self._compare_shown:
                    plot.addItem(items["compare"])
            elif self._compare_shown:
                plot.removeItem(items["compare"])
                items["compare"].setData([], [])
            self._set_legend(kind)
        self._compare_shown = show_compare
        current = self.order_combo.currentData()
        blocker = QtCore.QSignalBlocker(self.order_combo)
        self.order_combo.clear()
        self.order_combo.addItem(r.label, "attribution")
        if "compare" in r.ranks and r.compare_label:
            self.order_combo.addItem(r.compare_label, "compare")
        self.order_combo.addItem("random", "random")
        i = self.order_combo.findData(current)
        self.order_combo.setCurrentIndex(i if i >= 0 else 0)
        del blocker
        value = self.slider.value()
        old_steps = self.slider.maximum()
        blocker = QtCore.QSignalBlocker(self.slider)
        self.slider.setRange(0, int(r.steps))
        self.slider.setValue(round(value * r.steps / old_steps) if old_steps > 0 else int(r.steps) // 5)
        del blocker
        self._on_slider(self.slider.value())

    def clear(self) -> None:
        self._result = None
        for kind in ("deletion", "insertion"):
            for item in self._items[kind].values():
                item.setData([], [])
            if self._compare_shown:
                self._plots[kind].removeItem(self._items[kind]["compare"])
            self._set_legend(kind)
            self._views[kind].clear()
        self._compare_shown = False
        self.order_combo.clear()
        self._scrub_label.setText("")

    # -- scrubber ----------------------------------------------------------------------------------------------
    @Slot(int)
    def _on_slider(self, _value: int) -> None:
        f = self.fraction()
        for line in self._lines.values():
            if abs(line.value() - f) > 1e-9:
                blocker = QtCore.QSignalBlocker(line)
                line.setValue(f)
                del blocker
        self._update_images()

    @Slot(object)
    def _on_line_moved(self, line: pg.InfiniteLine) -> None:
        steps = self.slider.maximum()
        if steps > 0:
            self.slider.setValue(int(round(min(1.0, max(0.0, line.value())) * steps)))

    @Slot()
    def _update_images(self, *_args) -> None:
        r = self._result
        if r is None:
            return
        order = self.order_combo.currentData() or "attribution"
        rank = r.ranks.get(order, r.ranks["attribution"])
        f = self.fraction()
        deleted = perturbed_rgb(r.x_rgb, r.baseline_rgb, rank, f, "deletion")
        inserted = perturbed_rgb(r.x_rgb, r.start_rgb, rank, f, "insertion")
        self._views["deletion"].set_rgb(deleted)
        self._views["insertion"].set_rgb(inserted)
        i = self.slider.value()
        n = int(np.asarray(rank).size)
        count = int(round(f * n))
        parts = []
        for kind in ("deletion", "insertion"):
            c = r.compare_curves.get(kind) if order == "compare" else r.curves.get((kind, order))
            if c is not None and i < len(c.probabilities):
                parts.append(f"p = {float(c.probabilities[i]):.3f} after {KIND_TEXT[kind][0].lower()}")
        self._views["deletion"].set_title(f"Deleted {f:.0%}")
        self._views["insertion"].set_title(f"Inserted {f:.0%}")
        self._scrub_label.setText(f"{f:.0%} of the pixels ({count} of {n}), in the order of "
                                  f"{self.order_combo.currentText()}: " + "; ".join(parts))

    def grab_image(self) -> QtGui.QImage:
        return self._split.grab().toImage()


# ------------------------------------------------------------------------------------------------ sanity


class _LayerAxis(pg.AxisItem):
    """A bottom axis that writes a layer name at each integer position (every k-th when crowded)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.names: list[str] = []

    def set_names(self, names: list[str]) -> None:
        """Name the integer positions (an empty list: plain numbers) and repaint the axis."""
        self.names = list(names)
        self.picture = None  # pyqtgraph's cached drawing of the axis
        self.update()

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803
        if not self.names:
            return super().tickValues(minVal, maxVal, size)
        n = len(self.names)
        widest = max(QtGui.QFontMetrics(self.font()).horizontalAdvance(s) for s in self.names) + 12
        every = max(1, math.ceil(n * widest / max(1.0, float(size))))
        return [(1.0, [float(i) for i in range(0, n, every)])]

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        if not self.names:
            return super().tickStrings(values, scale, spacing)
        out = []
        for v in values:
            i = int(round(v))
            out.append(self.names[i] if 0 <= i < len(self.names) and abs(v - i) < 1e-6 else "")
        return out


class SanityPanel(QtWidgets.QWidget):
    """Cascading randomisation and random-target test (see the module docstring)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._glw, fg = _pg.themed_layout(300, 200)
        self._fg = fg
        self._axis = _LayerAxis(orientation="bottom")
        self._plot = self._glw.addPlot(row=0, col=0, axisItems={"bottom": self._axis})
        _style(self._plot, fg)
        self._plot.setMouseEnabled(x=False, y=False)
        self._plot.hideButtons()
        self._plot.setLabel("left", "Spearman ρ with the original map", color=fg.name())
        self._plot.setLabel("bottom", "layers randomised, from the output down (cumulative)", color=fg.name())
        self._abs = self._plot.plot([], [], pen=pg.mkPen(MAIN_PEN, width=2.2), symbol="o", symbolSize=7,
                                    symbolBrush=pg.mkBrush(MAIN_PEN), symbolPen=None)
        self._signed = self._plot.plot([], [], pen=pg.mkPen(SIGNED_PEN, width=1.5, style=QtCore.Qt.PenStyle.DashLine),
                                       symbol="s", symbolSize=6, symbolBrush=pg.mkBrush(SIGNED_PEN), symbolPen=None)
        self._random = pg.InfiniteLine(pos=0.0, angle=0, movable=False,
                                       pen=pg.mkPen(COMPARE_PEN, width=1.5, style=QtCore.Qt.PenStyle.DotLine))
        self._random_shown = False
        self._zero = pg.InfiniteLine(pos=0.0, angle=0, movable=False, pen=pg.mkPen(RANDOM_PEN, width=1))
        self._plot.addItem(self._zero)
        self._text = QtWidgets.QLabel("")
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self._text.setContentsMargins(6, 2, 6, 2)
        self._thumbs = StripPanel()
        self._thumbs.set_controls_visible(False)
        self._thumbs.setMaximumHeight(170)
        self.help_button = _controls.help_button("sanity")
        self._set_title()

        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self._glw, 3)
        _controls.pin_to_corner(self.help_button, self)
        box.addWidget(self._text)
        box.addWidget(self._thumbs, 1)

    @property
    def plot(self) -> pg.PlotItem:
        return self._plot

    @property
    def abs_curve(self) -> pg.PlotDataItem:
        return self._abs

    @property
    def signed_curve(self) -> pg.PlotDataItem:
        return self._signed

    @property
    def random_line(self) -> pg.InfiniteLine:
        return self._random

    @property
    def thumbnails(self) -> StripPanel:
        return self._thumbs

    def tick_labels(self) -> list[str]:
        return list(self._axis.names)

    def random_text(self) -> str:
        return self._text.text()

    def _set_title(self, extra: str = "") -> None:
        items = [(MAIN_PEN, "━●━", "Spearman of |map|"), (SIGNED_PEN, "╌■╌", "Spearman of the signed map")]
        if self._random_shown:
            items.append((COMPARE_PEN, "┈┈", "random-target map, |map|"))
        _set_title(self._plot, "Cascading randomisation (top layer first)" + extra, _legend(items, per_line=2),
                   self._fg, TITLE_HEIGHT + (16 if len(items) > 2 else 0))

    def set_result(self, layers, rho_abs, rho_signed, *, random_target: dict | None = None,
                   thumbnails=None, original=None, labels=None) -> None:
        layers = [str(s) for s in layers]
        ra = [float(v) for v in rho_abs]
        rs = [float(v) for v in rho_signed]
        if not (len(layers) == len(ra) == len(rs)):
            raise ValueError(f"{len(layers)} layers, {len(ra)} and {len(rs)} correlations")
        x = np.arange(len(layers) + 1, dtype=np.float64)
        self._axis.set_names(["trained"] + layers)
        self._abs.setData(x, np.asarray([1.0] + ra))
        self._signed.setData(x, np.asarray([1.0] + rs))
        lo = min([0.0] + ra + rs)
        self._plot.setXRange(-0.3, len(layers) + 0.3, padding=0.0)
        self._plot.setYRange(min(-0.1, lo - 0.05), 1.05, padding=0.0)
        if random_target is not None:
            self._random.setValue(float(random_target["spearman_abs"]))
            if not self._random_shown:
                self._plot.addItem(self._random)
                self._random_shown = True
            names = labels or []

            def name(i: int) -> str:
                return f"{i} ({names[i]})" if 0 <= i < len(names) and str(names[i]) != str(i) else str(i)

            self._text.setText(
                f"<b>Random-target test</b>: the map for class {html_escape(name(random_target['random_target']))} "
                f"against the map for class {html_escape(name(random_target['target']))}: Spearman ρ of |map| "
                f"{random_target['spearman_abs']:.3f}, signed {random_target['spearman_signed']:.3f}. "
                "A map that barely changes with the class (ρ near 1) does not explain the class. "
                f"<b>Fully randomised</b>: ρ of |map| {ra[-1]:.3f} (near 0 is what a map that depends on the model "
                "should show)." if ra else "")
        else:
            if self._random_shown:
                self._plot.removeItem(self._random)
                self._random_shown = False
            self._text.setText(f"Fully randomised: ρ of |map| {ra[-1]:.3f}." if ra else "")
        self._set_title()
        entries = []
        if original is not None:
            entries.append(("trained", original, None))
        for name_, m in zip(layers, thumbnails or []):
            entries.append((f"random to {name_}", m, None))
        if len(entries) > MAX_THUMBS:  # keep the first, the last and evenly spaced ones between
            idx = np.unique(np.linspace(0, len(entries) - 1, MAX_THUMBS).round().astype(int))
            entries = [entries[i] for i in idx]
        if entries:
            self._thumbs.set_entries(entries, "absolute", shared=False)
            self._thumbs.setVisible(True)
        else:
            self._thumbs.clear()
            self._thumbs.setVisible(False)

    def clear(self) -> None:
        self._abs.setData([], [])
        self._signed.setData([], [])
        self._axis.set_names([])
        if self._random_shown:
            self._plot.removeItem(self._random)
            self._random_shown = False
        self._text.setText("")
        self._thumbs.clear()
        self._set_title()

    def grab_image(self) -> QtGui.QImage:
        return self.grab().toImage()


# ------------------------------------------------------------------------------------------------ probe


class ProbePanel(QtWidgets.QWidget):
    """The per-sample distribution of one pixel (see the module docstring)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._glw, fg = _pg.themed_layout(200, 150)
        self._fg = fg
        self._plot = self._glw.addPlot(row=0, col=0)
        _style(self._plot, fg)
        self._plot.setLabel("bottom", "per-sample value (channels summed, signed)", color=fg.name())
        self._plot.setLabel("left", "samples", color=fg.name())
        self._hist = self._plot.plot([], [], stepMode="center", fillLevel=0.0, pen=pg.mkPen(MAIN_PEN, width=1),
                                     brush=pg.mkBrush(MAIN_PEN[0], MAIN_PEN[1], MAIN_PEN[2], 110))
        self._region = pg.LinearRegionItem(values=(0.0, 0.0), movable=False,
                                           brush=pg.mkBrush(SIGNED_PEN[0], SIGNED_PEN[1], SIGNED_PEN[2], 50),
                                           pen=pg.mkPen(SIGNED_PEN, width=1, style=QtCore.Qt.PenStyle.DashLine))
        self._mean = pg.InfiniteLine(pos=0.0, angle=90, movable=False, pen=pg.mkPen(SIGNED_PEN, width=2))
        self._zero = pg.InfiniteLine(pos=0.0, angle=90, movable=False, pen=pg.mkPen(RANDOM_PEN, width=1))
        for item in (self._zero, self._region, self._mean):
            self._plot.addItem(item)
        self._region.setVisible(False)
        self._mean.setVisible(False)
        self._text = QtWidgets.QLabel("Click a pixel of the heatmap after a SmoothGrad run to see the values of "
                                      "its noisy samples.")
        self._text.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self._text.setContentsMargins(4, 2, 4, 2)
        self._stats: dict | None = None
        self._set_title("Pixel probe")
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self._glw, 1)
        box.addWidget(self._text)

    @property
    def plot(self) -> pg.PlotItem:
        return self._plot

    @property
    def hist_curve(self) -> pg.PlotDataItem:
        return self._hist

    @property
    def mean_line(self) -> pg.InfiniteLine:
        return self._mean

    @property
    def se_region(self) -> pg.LinearRegionItem:
        return self._region

    def mean(self) -> float | None:
        return None if self._stats is None else float(self._mean.value())

    def standard_error(self) -> float | None:
        if self._stats is None:
            return None
        lo, hi = self._region.getRegion()
        return (hi - lo) / 2.0

    def text(self) -> str:
        return self._text.text()

    def _set_title(self, title: str) -> None:
        items = [(MAIN_PEN, "▇", "samples"), (SIGNED_PEN, "│", "mean"), (SIGNED_PEN, "░", "± standard error")]
        _set_title(self._plot, title, _legend(items), self._fg)

    def set_probe(self, pixel, values, stats: dict, *, map_value: float | None = None, title: str = "") -> None:
        v = np.asarray(values, dtype=np.float64).ravel()
        v = v[np.isfinite(v)]
        self._stats = dict(stats)
        if v.size:
            lo, hi = float(v.min()), float(v.max())
            if hi <= lo:
                lo, hi = lo - 0.5 * (abs(lo) or 1.0), hi + 0.5 * (abs(hi) or 1.0)
            bins = int(min(60, max(8, math.ceil(math.sqrt(v.size) * 2))))
            counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
            self._hist.setData(edges, counts.astype(np.float64))
        else:
            self._hist.setData([], [])
        mean = float(stats.get("mean", float("nan")))
        se = float(stats.get("standard_error", float("nan")))
        std = float(stats.get("std", float("nan")))
        n = int(stats.get("n", v.size))
        self._mean.setValue(mean if math.isfinite(mean) else 0.0)
        self._mean.setVisible(math.isfinite(mean))
        se_ok = math.isfinite(se) and math.isfinite(mean)
        self._region.setRegion((mean - se, mean + se) if se_ok else (0.0, 0.0))
        self._region.setVisible(se_ok)
        x, y = (int(c) for c in pixel)
        self._set_title(f"Pixel x={x}, y={y}: n = {n} samples")
        fmt = _pg.format_value
        text = (f"{title}: " if title else "") + (f"mean {fmt(mean)} · standard error {fmt(se) if math.isfinite(se) else '– (n < 2)'} · "
                f"std {fmt(std)} · n = {n}")
        if map_value is not None:
            text += f" · map value (signed) {fmt(map_value)}"
        if v.size:
            text += f" · {int((v > 0).sum())} positive, {int((v < 0).sum())} negative"
        self._text.setText(text)
        self._plot.enableAutoRange()

    def clear(self) -> None:
        self._stats = None
        self._hist.setData([], [])
        self._mean.setVisible(False)
        self._region.setVisible(False)
        self._set_title("Pixel probe")
        self._text.setText("")

    def grab_image(self) -> QtGui.QImage:
        return self._glw.grab().toImage()
