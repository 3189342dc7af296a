"""Line plots: the gradient fluctuation of the paper's Fig 2 and the live convergence curve.

Views never compute: both panels receive numbers from core/the worker.

Public API
----------
``FluctuationPanel(parent=None)`` (a ``QWidget``): two stacked plots (``pg.PlotItem`` s in one
``pg.GraphicsLayoutWidget``) sharing the x axis ``t`` in [0, 1] (linked): top ``max_i ∂S_c/∂x_i (x + tε)``,
bottom ``S_c(x + tε)``.

* ``set_data(t, max_partial, score, *, partial_at_pixel=None, sigma=None)`` -- 1-D arrays of one length;
  ``partial_at_pixel`` adds a second (dashed) curve on the top plot, the partial derivative at one fixed pixel;
  ``sigma`` goes into the title (``ε ~ N(0, σ²)``). Reuses its curve items (no rebuild). The legend is a second
  line of the top plot's title (``legend_text()``), outside the plot area, so it never hides a curve.
* ``clear()``; ``grab_image() -> QImage``; properties ``top_plot``, ``bottom_plot`` (``pg.PlotItem``),
  ``max_curve``, ``pixel_curve``, ``score_curve`` (``pg.PlotDataItem``).

``ConvergencePanel(parent=None)`` (a ``QWidget``): the relative change ``‖mean_n − mean_{n−k}‖ / ‖mean_n‖`` (one
step k for every point, the last included) against ``n``, log-scale y; the y axis labels only 1, 2 and 5 × 10^k
(:class:`LogAxis125`), so a decade is not crowded with nine labels.

* ``set_points(points: list[tuple[int, float]])`` -- the whole (growing) list each time; cheap: it only calls
  ``setData`` on the one existing ``PlotDataItem``. Points with a value that is not finite and > 0 cannot be shown
  on a log axis and are skipped.
* ``clear()``; ``points() -> list[tuple[int, float]]`` (as given); ``curve`` (the ``pg.PlotDataItem``);
  ``plot`` (the ``pg.PlotItem``); ``grab_image() -> QImage``.
"""

from __future__ import annotations

from html import escape as html_escape
from typing import Sequence

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from . import _controls, _pg
from ._pg import pg

__all__ = ["FluctuationPanel", "ConvergencePanel", "LogAxis125"]

MAX_PEN = (31, 119, 180)
PIXEL_PEN = (255, 127, 14)
SCORE_PEN = (44, 160, 44)
TITLE_HEIGHT = 44  # two lines of 10pt text (pyqtgraph fixes the title row at 30 px, one line)


class LogAxis125(pg.AxisItem):
    """A log-mode axis that labels only the ticks at 1, 2 and 5 × 10^k (the other ticks stay, unlabelled)."""

    def logTickStrings(self, values, scale, spacing):  # noqa: N802
        strings = super().logTickStrings(values, scale, spacing)
        out = []
        for v, text in zip(values, strings):
            v = float(v)
            mantissa = 10.0 ** (v - np.floor(v + 1e-9))
            keep = any(abs(mantissa - m) < 1e-6 * m for m in (1.0, 2.0, 5.0, 10.0))
            out.append(text if keep else "")
        return out


def _hex(rgb) -> str:
    return "#%02x%02x%02x" % tuple(int(c) for c in rgb)


def _style_plot(plot: pg.PlotItem, fg: QtGui.QColor) -> None:
    for key in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(key)
        _pg.style_axis(axis, fg)
        axis.enableAutoSIPrefix(False)
    plot.showGrid(x=True, y=True, alpha=0.2)


def _vector(a, name: str) -> np.ndarray:
    v = np.asarray(a, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {v.shape}")
    return v


class FluctuationPanel(QtWidgets.QWidget):
    """The gradient fluctuation plot of Fig 2 (see the module docstring)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._glw, fg = _pg.themed_layout(200, 160)
        self._fg = fg
        self._top = self._glw.addPlot(row=0, col=0)
        self._bottom = self._glw.addPlot(row=1, col=0)
        for p in (self._top, self._bottom):
            _style_plot(p, fg)
            p.setMenuEnabled(False)
        self._bottom.setXLink(self._top)
        self._top.setLabel("left", "max<sub>i</sub> ∂S<sub>c</sub>/∂x<sub>i</sub> (x + tε)", color=fg.name())
        self._bottom.setLabel("left", "S<sub>c</sub>(x + tε)", color=fg.name())
        self._bottom.setLabel("bottom", "t", color=fg.name())
        self._top.getAxis("left").setWidth(70)
        self._bottom.getAxis("left").setWidth(70)
        self._max_curve = self._top.plot([], [], pen=pg.mkPen(MAX_PEN, width=1.5), name="max over pixels")
        self._pixel_curve = pg.PlotDataItem(
            [], [], pen=pg.mkPen(PIXEL_PEN, width=1.2, style=QtCore.Qt.PenStyle.DashLine), name="one fixed pixel"
        )
        self._sigma: float | None = None
        self._score_curve = self._bottom.plot([], [], pen=pg.mkPen(SCORE_PEN, width=1.5))
        self._pixel_shown = False
        self._set_title(None)
        self._help = _controls.help_button("fluctuation")
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self._glw)
        _controls.pin_to_corner(self._help, self)

    @property
    def top_plot(self) -> pg.PlotItem:
        return self._top

    @property
    def bottom_plot(self) -> pg.PlotItem:
        return self._bottom

    @property
    def max_curve(self) -> pg.PlotDataItem:
        return self._max_curve

    @property
    def pixel_curve(self) -> pg.PlotDataItem:
        return self._pixel_curve

    @property
    def score_curve(self) -> pg.PlotDataItem:
        return self._score_curve

    def legend_text(self) -> str:
        """The legend (html) shown as the title's second line: one entry per curve on the top plot."""
        items = [(MAX_PEN, "━━", "max over pixels")]
        if self._pixel_shown:
            items.append((PIXEL_PEN, "╌╌", "one fixed pixel"))
        return " &nbsp;&nbsp; ".join(
            f"<span style='color:{_hex(c)}'><b>{mark}</b></span>&nbsp;{html_escape(label)}" for c, mark, label in items
        )

    def _set_title(self, sigma: float | None) -> None:
        self._sigma = sigma
        text = "Gradient along x + tε"
        if sigma is not None:
            text += f",  ε ~ N(0, σ²),  σ = {float(sigma):.3g}"
        self._top.setTitle(f"{text}<br><span style='font-size:9pt'>{self.legend_text()}</span>",
                           color=self._fg.name(), size="10pt")
        self._top.titleLabel.setMaximumHeight(TITLE_HEIGHT)
        self._top.layout.setRowFixedHeight(0, TITLE_HEIGHT)

    def set_data(
        self,
        t: Sequence[float],
        max_partial: Sequence[float],
        score: Sequence[float],
        *,
        partial_at_pixel: Sequence[float] | None = None,
        sigma: float | None = None,
    ) -> None:
        tv = _vector(t, "t")
        mp = _vector(max_partial, "max_partial")
        sc = _vector(score, "score")
        if not (tv.shape == mp.shape == sc.shape):
            raise ValueError(f"t, max_partial, score must have one length, got {tv.size}, {mp.size}, {sc.size}")
        self._max_curve.setData(tv, mp)
        self._score_curve.setData(tv, sc)
        if partial_at_pixel is not None:
            pp = _vector(partial_at_pixel, "partial_at_pixel")
            if pp.shape != tv.shape:
                raise ValueError(f"partial_at_pixel has {pp.size} values for {tv.size} values of t")
            self._pixel_curve.setData(tv, pp)
            if not self._pixel_shown:
                self._top.addItem(self._pixel_curve)
                self._pixel_shown = True
        elif self._pixel_shown:
            self._top.removeItem(self._pixel_curve)
            self._pixel_curve.setData([], [])
            self._pixel_shown = False
        self._set_title(sigma)
        self._top.enableAutoRange()
        self._bottom.enableAutoRange()

    def clear(self) -> None:
        self._max_curve.setData([], [])
        self._score_curve.setData([], [])
        if self._pixel_shown:
            self._top.removeItem(self._pixel_curve)
            self._pixel_shown = False
        self._pixel_curve.setData([], [])
        self._set_title(None)

    def grab_image(self) -> QtGui.QImage:
        return self._glw.grab().toImage()

    @property
    def help_button(self) -> QtWidgets.QToolButton:
        return self._help


class ConvergencePanel(QtWidgets.QWidget):
    """Relative change of the running mean against n, log y (see the module docstring)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._glw, fg = _pg.themed_layout(200, 120)
        self._plot = self._glw.addPlot(row=0, col=0, axisItems={"left": LogAxis125(orientation="left")})
        _style_plot(self._plot, fg)
        self._plot.setMenuEnabled(False)
        self._plot.setLogMode(x=False, y=True)
        self._plot.setTitle("Convergence of the running mean", color=fg.name(), size="10pt")
        self._plot.setLabel("bottom", "n (samples)", color=fg.name())
        self._plot.setLabel(
            "left", "‖mean<sub>n</sub> − mean<sub>n−k</sub>‖ / ‖mean<sub>n</sub>‖", color=fg.name()
        )
        self._curve = self._plot.plot(
            [], [], pen=pg.mkPen(MAX_PEN, width=1.5), symbol="o", symbolSize=5,
            symbolBrush=pg.mkBrush(MAX_PEN), symbolPen=None,
        )
        self._points: list[tuple[int, float]] = []
        self._help = _controls.help_button("convergence")
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self._glw)
        _controls.pin_to_corner(self._help, self)

    @property
    def plot(self) -> pg.PlotItem:
        return self._plot

    @property
    def curve(self) -> pg.PlotDataItem:
        return self._curve

    def points(self) -> list[tuple[int, float]]:
        return list(self._points)

    def set_points(self, points: Sequence[tuple[int, float]]) -> None:
        pts = [(int(n), float(v)) for n, v in points]
        self._points = pts
        if pts:
            arr = np.asarray(pts, dtype=np.float64)
            ok = np.isfinite(arr[:, 1]) & (arr[:, 1] > 0)
            x, y = arr[ok, 0], arr[ok, 1]
        else:
            x = y = np.zeros(0)
        self._curve.setData(x, y)

    def clear(self) -> None:
        self._points = []
        self._curve.setData([], [])

    def grab_image(self) -> QtGui.QImage:
        return self._glw.grab().toImage()

    @property
    def help_button(self) -> QtWidgets.QToolButton:
        return self._help
