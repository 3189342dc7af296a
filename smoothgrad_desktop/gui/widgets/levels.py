"""The colour-scale control of the Map tab: a histogram of the raw (reduced, uncapped) values with draggable levels.

``LevelsWidget(parent=None)``: one row of controls (the window adds its own with :meth:`add_control`, e.g. the
"Show" choice and the "Lock scale" button; a text on the right says which span is in use) above a compact
histogram of the values shown in the heatmap (log scale of the counts: a map has a few large values and many
small ones). The levels are drawn as a shaded region with draggable edges:

* absolute view: ``[0, span]``, only the right edge moves;
* signed view: ``[-span, span]``, either edge moves and the other mirrors it (zero stays the centre colour).

Signals (user drags only, never programmatic changes): ``span_dragged(float)`` while an edge moves,
``span_edited(float)`` when it is released. The window turns an edit into a locked scale.

* ``set_values(values, view, span, *, text="")`` -- histogram of the finite values (core ``histogram``) and
  the region for ``span``; ``text`` is shown on the right of the control row.
* ``span() -> float | None``, ``view() -> str | None``, ``region`` (the ``pg.LinearRegionItem``),
  ``histogram() -> (counts, edges) | None``, ``clear()``.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6 import QtCore, QtWidgets
from PySide6.QtCore import Signal, Slot

from ...core import visualize as vz
from ..panels import _pg
from ..panels._pg import pg

__all__ = ["LevelsWidget"]

BINS = 128
HIST_PEN = (31, 119, 180)
REGION_PEN = (230, 120, 20)


class LevelsWidget(QtWidgets.QWidget):
    span_dragged = Signal(float)
    span_edited = Signal(float)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        bg, fg = _pg.theme_colors()
        self._glw = _pg.new_layout_widget(bg)
        self._glw.setFixedHeight(96)
        self._plot = self._glw.addPlot(row=0, col=0)
        for key in ("left", "bottom"):
            axis = self._plot.getAxis(key)
            _pg.style_axis(axis, fg)
            axis.enableAutoSIPrefix(False)
        self._plot.getAxis("left").setWidth(36)
        self._plot.getAxis("left").setTicks([[]])  # log counts: the shape matters, not the numbers
        self._plot.setLabel("left", "log n", color=fg.name())
        self._plot.setMenuEnabled(False)
        self._plot.setMouseEnabled(x=False, y=False)
        self._plot.hideButtons()
        self._curve = self._plot.plot([], [], stepMode="center", fillLevel=0.0, pen=pg.mkPen(HIST_PEN, width=1),
                                      brush=pg.mkBrush(HIST_PEN[0], HIST_PEN[1], HIST_PEN[2], 120))
        self._region = pg.LinearRegionItem(values=(0.0, 1.0), movable=False, swapMode="block",
                                           brush=pg.mkBrush(REGION_PEN[0], REGION_PEN[1], REGION_PEN[2], 40),
                                           pen=pg.mkPen(REGION_PEN, width=2),
                                           hoverPen=pg.mkPen(REGION_PEN, width=4))
        self._region.setZValue(10)
        self._region.setToolTip("Drag an edge to set the colour scale (this locks the scale)")
        self._plot.addItem(self._region)
        self._region.sigRegionChanged.connect(self._on_changed)
        self._region.sigRegionChangeFinished.connect(self._on_finished)

        self._controls = QtWidgets.QHBoxLayout()
        self._controls.setContentsMargins(4, 0, 4, 0)
        self._label = QtWidgets.QLabel("")
        self._label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self._controls.addStretch(1)
        self._controls.addWidget(self._label)
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        box.addLayout(self._controls)
        box.addWidget(self._glw)

        self._setting = False
        self._span: float | None = None
        self._view: str | None = None
        self._hist: tuple[np.ndarray, np.ndarray] | None = None
        self._moved = False

    # -- public ------------------------------------------------------------------------------------------------
    def add_control(self, widget: QtWidgets.QWidget) -> None:
        """Put ``widget`` at the left of the control row (in the order added)."""
        self._controls.insertWidget(self._controls.count() - 2, widget)

    @property
    def region(self) -> pg.LinearRegionItem:
        return self._region

    def span(self) -> float | None:
        return self._span

    def view(self) -> str | None:
        return self._view

    def histogram(self) -> tuple[np.ndarray, np.ndarray] | None:
        return self._hist

    def text(self) -> str:
        return self._label.text()

    def set_values(self, values: np.ndarray, view: str, span: float, *, text: str = "") -> None:
        if view not in vz.VIEWS:
            raise ValueError(f"unknown view {view!r}")
        counts, edges = vz.histogram(values, BINS)
        self._hist = (counts, edges)
        self._curve.setData(edges, np.log10(counts.astype(np.float64) + 1.0))
        self._view = view
        s = _pg.effective_span(span)
        self._span = s
        lo_data, hi_data = float(edges[0]), float(edges[-1])
        if view == "signed":
            m = max(abs(lo_data), abs(hi_data), s) * 1.04
            x_range = (-m, m)
        else:
            x_range = (min(0.0, lo_data), max(hi_data, s) * 1.04)
        self._plot.setXRange(*x_range, padding=0.0)
        top = float(np.log10(counts.max() + 1.0)) if counts.size else 1.0
        self._plot.setYRange(0.0, max(top, 0.5) * 1.05, padding=0.0)
        self._region.lines[0].setMovable(view == "signed")
        self._region.lines[1].setMovable(True)
        self._place(s)
        self._label.setText(text)

    def clear(self) -> None:
        self._curve.setData([], [])
        self._hist = None
        self._span = None
        self._view = None
        self._label.setText("")

    # -- internals ---------------------------------------------------------------------------------------------
    def _place(self, s: float) -> None:
        self._setting = True
        try:
            self._region.setRegion((-s, s) if self._view == "signed" else (0.0, s))
        finally:
            self._setting = False

    @Slot(object)
    def _on_changed(self, _region) -> None:
        if self._setting or self._view is None or self._span is None:
            return
        lo, hi = self._region.getRegion()
        old = self._span
        if self._view == "signed":
            s = -lo if abs(lo + old) > abs(hi - old) else hi
        else:
            s = hi
        tiny = old * 1e-3 if old > 0 else 1e-12
        s = float(s) if math.isfinite(s) and s > tiny else tiny
        self._span = s
        self._place(s)  # the absolute view's left edge stays at 0; the signed view mirrors the moved edge
        self._moved = True
        self.span_dragged.emit(s)

    @Slot(object)
    def _on_finished(self, _region) -> None:
        if self._setting or not self._moved or self._span is None:
            return
        self._moved = False
        self.span_edited.emit(self._span)
