"""pyqtgraph set-up and small display helpers shared by every panel module (internal).

Importing this module

* imports PySide6 first and sets ``PYQTGRAPH_QT_LIB=PySide6`` (unless already set) *before* pyqtgraph is imported,
  so pyqtgraph can never pick up another Qt binding (architecture pitfall 1);
* calls ``pg.setConfigOptions(imageAxisOrder='row-major', antialias=True)`` once, before any widget is built,
  so ``(H, W)`` arrays display upright and untransposed (pitfall 3).

Every panel module does ``from ._pg import pg`` and nothing else imports pyqtgraph directly.

Display rules (the semantics guide, section "Display"), applied by :func:`apply_map`:

* images show the **raw** reduced values; colour comes from *levels* plus a lookup table, so a hover readout can
  report the real value;
* signed view: fixed symmetric levels ``(-span, span)``; absolute view: ``(0, span)``; auto-levels are never used;
* the lookup table is the core colour map's 1021-entry colouring table (:attr:`Colormap.fine`, built by
  linear interpolation of the 256-entry ``Colormap.lut``). Its odd length puts a value of exactly 0 on the
  centre colour (:attr:`Colormap.centre`) of a diverging map with symmetric levels, as core ``colorize`` does;
* spans come from core ``compute_span`` / ``shared_span``; a zero or non-finite span (an all-zero map) is shown
  with span 1.0, so the map shows the zero colour instead of failing.
"""

from __future__ import annotations

import math
import os
import weakref

import PySide6  # noqa: F401  (must precede pyqtgraph: pitfall 1)
from PySide6 import QtCore, QtGui, QtWidgets

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402

from ...core import visualize as vz  # noqa: E402
from ...core.figures import format_tick, nice_ticks  # noqa: E402

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

__all__ = [
    "pg",
    "resolve_cmap",
    "image_lut",
    "pg_colormap",
    "levels_for",
    "effective_span",
    "resolve_span",
    "as_map",
    "as_rgb",
    "format_value",
    "theme_colors",
    "new_view_box",
    "LinkGroup",
    "link_views",
    "unlink_view",
    "apply_map",
    "set_levels",
    "apply_rgb",
    "style_axis",
    "new_layout_widget",
    "new_color_bar",
    "item_pixel",
    "value_in",
    "readout_text",
    "bar_ticks",
    "set_bar_ticks",
    "FitLabel",
    "fit_scale",
]


# ---------------------------------------------------------------------------------------------------------------
# Colour maps, levels, spans
# ---------------------------------------------------------------------------------------------------------------


def resolve_cmap(cmap: str | vz.Colormap | None, view: str) -> vz.Colormap:
    """The core :class:`Colormap` for ``cmap`` (None: the default for ``view``); raises ValueError when unknown."""
    return vz.get_colormap(cmap, view)


def image_lut(cm: vz.Colormap) -> np.ndarray:
    """The ImageItem lookup table for a core colour map: its (1021, 3) uint8 colouring table."""
    return np.ascontiguousarray(cm.fine)


_PG_CMAPS: dict[str, pg.ColorMap] = {}


def pg_colormap(cm: vz.Colormap) -> pg.ColorMap:
    """A ``pg.ColorMap`` built from the core 256-entry LUT (used for colour bars), cached by name."""
    out = _PG_CMAPS.get(cm.name)
    if out is None:
        out = pg.ColorMap(pos=np.linspace(0.0, 1.0, cm.lut.shape[0]), color=np.asarray(cm.lut), name=cm.name)
        _PG_CMAPS[cm.name] = out
    return out


def effective_span(span: float | None) -> float:
    """The span actually used for levels: ``span`` when finite and > 0, else 1.0."""
    try:
        s = float(span) if span is not None else 0.0
    except (TypeError, ValueError):
        s = 0.0
    return s if (math.isfinite(s) and s > 0.0) else 1.0


def levels_for(view: str, span: float | None) -> tuple[float, float]:
    """Image levels for a view: signed ``(-span, span)``, absolute ``(0, span)`` (with :func:`effective_span`)."""
    if view not in vz.VIEWS:
        raise ValueError(f"unknown view {view!r}; expected one of {vz.VIEWS}")
    s = effective_span(span)
    return (-s, s) if view == "signed" else (0.0, s)


def resolve_span(maps: list[np.ndarray], view: str, span: float | None, percentile: float,
                 mode: str = "percentile") -> float:
    """``span`` if given (a locked scale), else core ``shared_span`` of ``maps`` at ``percentile`` in clip ``mode``
    (core ``CLIP_MODES``)."""
    if view not in vz.VIEWS:
        raise ValueError(f"unknown view {view!r}; expected one of {vz.VIEWS}")
    if span is not None:
        return float(span)
    if not maps:
        return 0.0
    if len(maps) == 1:
        return vz.compute_span(maps[0], view, percentile, mode=mode)
    return vz.shared_span(maps, view, percentile, mode=mode)


# ---------------------------------------------------------------------------------------------------------------
# Input checking
# ---------------------------------------------------------------------------------------------------------------


def as_map(values: np.ndarray, name: str = "map") -> np.ndarray:
    """A private float32 C-contiguous copy of a 2-D ``(H, W)`` map (raises ValueError otherwise)."""
    a = np.asarray(values)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D (H, W) array, got shape {a.shape}")
    return np.array(a, dtype=np.float32, order="C", copy=True)


def as_rgb(rgb: np.ndarray, name: str = "image") -> np.ndarray:
    """A private uint8 ``(H, W, 3)`` copy: grey ``(H, W)`` is repeated, an alpha channel dropped."""
    a = np.asarray(rgb)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4) or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name} must be (H, W, 3) RGB, got shape {np.shape(rgb)}")
    if a.dtype != np.uint8:
        raise ValueError(f"{name} must be uint8, got {a.dtype}")
    return np.array(a[..., :3], dtype=np.uint8, order="C", copy=True)


# ---------------------------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------------------------


def format_value(v: object) -> str:
    """A raw value for a readout: floats with 4 significant digits, RGB as ``(r, g, b)``."""
    if isinstance(v, tuple):
        return "(" + ", ".join(str(int(c)) for c in v) + ")"
    f = float(v)  # type: ignore[arg-type]
    if math.isnan(f):
        return "nan"
    return f"{f:.4g}"


def readout_text(x: int, y: int, value: object) -> str:
    """``"x=12 y=7 value=-0.0031"`` (maps) or ``"x=12 y=7 rgb=(r, g, b)"`` (images)."""
    key = "rgb" if isinstance(value, tuple) else "value"
    return f"x={x} y={y} {key}={format_value(value)}"


def theme_colors() -> tuple[QtGui.QColor, QtGui.QColor]:
    """(background, foreground) from the application palette (window / window text)."""
    app = QtWidgets.QApplication.instance()
    pal = app.palette() if isinstance(app, QtWidgets.QApplication) else QtGui.QPalette()
    return (
        QtGui.QColor(pal.color(QtGui.QPalette.ColorRole.Window)),
        QtGui.QColor(pal.color(QtGui.QPalette.ColorRole.WindowText)),
    )


def new_layout_widget(bg: QtGui.QColor) -> pg.GraphicsLayoutWidget:
    """A ``pg.GraphicsLayoutWidget`` with the given background colour."""
    glw = pg.GraphicsLayoutWidget()
    glw.setBackground(bg)
    return glw


def themed_layout(min_width: int, min_height: int) -> tuple[pg.GraphicsLayoutWidget, QtGui.QColor]:
    """A layout widget on the theme's background with a minimum size, and the theme's foreground colour."""
    bg, fg = theme_colors()
    glw = new_layout_widget(bg)
    glw.setMinimumSize(min_width, min_height)
    return glw, fg


def new_color_bar(fg: QtGui.QColor, width: int = 12) -> pg.ColorBarItem:
    """A non-interactive colour bar legend (fixed levels: the user cannot drag them off-centre)."""
    cbar = pg.ColorBarItem(values=(0.0, 1.0), width=width, interactive=False, colorMapMenu=False)
    for key in ("left", "right", "top", "bottom"):
        axis = cbar.getAxis(key)
        style_axis(axis, fg)
        axis.enableAutoSIPrefix(False)
    cbar.setMinimumWidth(width + 62)
    cbar.setMaximumWidth(width + 70)
    return cbar


def bar_ticks(lo: float, hi: float, minimum: int = 3) -> list[tuple[float, str]]:
    """Round, labelled ticks for a colour bar from ``lo`` to ``hi`` (core ``nice_ticks`` / ``format_tick``): at
    least ``minimum`` of them at any span (``±3.3e-4`` -> ``-3e-4 … 3e-4``, ``0 … 1e-9``, ``0 … 1e6``)."""
    values = [t for t in nice_ticks(lo, hi, minimum) if lo - 1e-9 * (hi - lo) <= t <= hi + 1e-9 * (hi - lo)]
    return [(float(t), format_tick(t, values)) for t in values]


def set_bar_ticks(cbar: pg.ColorBarItem, lo: float, hi: float) -> list[tuple[float, str]]:
    """Put :func:`bar_ticks` on a colour bar's axis (pyqtgraph's own ticks drop to one "0" label for tiny or
    huge spans with SI prefixes off); returns the ticks."""
    ticks = bar_ticks(lo, hi)
    cbar.axis.setTicks([ticks, []])
    return ticks


def style_axis(axis: pg.AxisItem, fg: QtGui.QColor) -> None:
    axis.setPen(pg.mkPen(fg))
    axis.setTextPen(pg.mkPen(fg))


# ---------------------------------------------------------------------------------------------------------------
# ViewBox + ImageItem plumbing
# ---------------------------------------------------------------------------------------------------------------


def new_view_box(border: bool = True) -> pg.ViewBox:
    """A ViewBox for images: aspect locked, y inverted (row 0 at the top: upright), no padding, no menu."""
    vb = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False, defaultPadding=0.0)
    if border:
        vb.setBorder(pg.mkPen((128, 128, 128), width=1))
    return vb


class LinkGroup:
    """Linked zoom/pan for image views: replicates the *target* range of the view that changed to the others.

    pyqtgraph's own ``setXLink``/``setYLink`` align views by their on-screen position (made for stacked plots):
    with aspect-locked image views of different sizes they fight and zoom out. Here every view in the group gets
    the same requested region (``ViewBox.targetRange``) and widens it to its own aspect, so all show the same
    centre and at least the same region; resizing a view never changes the others and nothing drifts.
    """

    def __init__(self) -> None:
        self._views: list[weakref.ref] = []
        self._busy = False

    def views(self) -> list[pg.ViewBox]:
        out = []
        for ref in self._views:
            vb = ref()
            if vb is not None:
                out.append(vb)
        return out

    def add(self, vb: pg.ViewBox) -> None:
        if vb in self.views():
            return
        self._views.append(weakref.ref(vb))
        vb.sigRangeChanged.connect(self._on_changed)
        vb._sg_link_group = self  # type: ignore[attr-defined]

    def remove(self, vb: pg.ViewBox) -> None:
        self._views = [r for r in self._views if r() is not None and r() is not vb]
        try:
            vb.sigRangeChanged.disconnect(self._on_changed)
        except (RuntimeError, TypeError):
            pass
        if getattr(vb, "_sg_link_group", None) is self:
            vb._sg_link_group = None  # type: ignore[attr-defined]

    def _on_changed(self, vb: pg.ViewBox, *_args) -> None:
        if self._busy:
            return
        (x0, x1), (y0, y1) = vb.targetRange()
        self._busy = True
        try:
            for other in self.views():
                if other is vb:
                    continue
                (ox0, ox1), (oy0, oy1) = other.targetRange()
                if (ox0, ox1, oy0, oy1) != (x0, x1, y0, y1):
                    other.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.0)
        finally:
            self._busy = False


def link_views(a: pg.ViewBox, b: pg.ViewBox) -> LinkGroup:
    """Put ``a`` and ``b`` (and the views already linked to either) in one :class:`LinkGroup`."""
    ga: LinkGroup | None = getattr(a, "_sg_link_group", None)
    gb: LinkGroup | None = getattr(b, "_sg_link_group", None)
    if ga is None and gb is None:
        ga = LinkGroup()
        ga.add(a)
        ga.add(b)
        return ga
    if ga is None:
        gb.add(a)  # type: ignore[union-attr]
        return gb  # type: ignore[return-value]
    if gb is None or gb is ga:
        ga.add(b)
        return ga
    for vb in gb.views():
        gb.remove(vb)
        ga.add(vb)
    return ga


def unlink_view(vb: pg.ViewBox) -> None:
    g: LinkGroup | None = getattr(vb, "_sg_link_group", None)
    if g is not None:
        g.remove(vb)


def apply_map(
    item: pg.ImageItem, values: np.ndarray, view: str, span: float | None, cm: vz.Colormap
) -> tuple[float, float]:
    """Show raw ``values`` in ``item`` with the view's fixed levels and the colour map's LUT; returns the levels."""
    levels = levels_for(view, span)
    item.setImage(values, autoLevels=False, levels=levels)
    item.setLookupTable(image_lut(cm))
    return levels


def set_levels(item: pg.ImageItem, view: str, span: float | None, cm: vz.Colormap) -> tuple[float, float]:
    """Change only the levels and LUT of an item that already shows a map."""
    levels = levels_for(view, span)
    item.setLevels(levels, update=False)
    item.setLookupTable(image_lut(cm), update=False)
    item.updateImage()
    return levels


def apply_rgb(item: pg.ImageItem, rgb: np.ndarray) -> None:
    """Show a uint8 RGB image as is (no levels, no LUT)."""
    item.setImage(rgb, autoLevels=False, levels=None)
    item.setLookupTable(None, update=False)


def item_pixel(item: pg.ImageItem, scene_pos: QtCore.QPointF) -> tuple[int, int] | None:
    """The data pixel ``(x=column, y=row)`` of ``item`` under a scene position, or None outside / no image."""
    img = item.image
    if img is None:
        return None
    p = item.mapFromScene(scene_pos)
    x, y = math.floor(p.x()), math.floor(p.y())
    h, w = img.shape[:2]
    if 0 <= x < w and 0 <= y < h:
        return x, y
    return None


def value_in(item: pg.ImageItem, x: int, y: int) -> float | tuple[int, int, int] | None:
    """The raw value at data pixel ``(x, y)``: a float for maps, ``(r, g, b)`` for RGB images, None outside."""
    img = item.image
    if img is None:
        return None
    x, y = int(x), int(y)
    h, w = img.shape[:2]
    if not (0 <= x < w and 0 <= y < h):
        return None
    v = img[y, x]
    if img.ndim == 3:
        return tuple(int(c) for c in np.asarray(v)[:3])  # type: ignore[return-value]
    return float(v)


# ---------------------------------------------------------------------------------------------------------------
# Titles that never widen their view, and aspect fitting
# ---------------------------------------------------------------------------------------------------------------


class FitLabel(pg.LabelItem):
    """A one-line ``LabelItem`` that never asks for more width than it gets: a text wider than the item is elided
    ("…") and the full text is the tooltip. A plain ``LabelItem`` sets its minimum width to its text, so a long
    title ("SNR = |mean| / standard error") widens the whole layout past its widget: the view is clipped and the
    image no longer sits in it whole."""

    def __init__(self, text: str = " ", **kwargs) -> None:
        self._full = str(text)
        self._shown: str | None = None
        self._busy = False
        super().__init__(text, **kwargs)

    @property
    def full_text(self) -> str:
        return self._full

    def shown_text(self) -> str:
        """The text as drawn (elided when the item is narrower than the full text)."""
        return self.text

    def setText(self, text, **args):  # noqa: N802
        self._full = str(text)
        self.setToolTip(_plain_text(self._full))
        self._shown = None
        super().setText(text, **args)
        self._elide()

    def updateMin(self):  # noqa: N802
        bounds = self.itemRect()
        self.setMinimumWidth(0)
        self.setMinimumHeight(bounds.height())
        self._sizeHint = {
            QtCore.Qt.SizeHint.MinimumSize: (0, bounds.height()),
            QtCore.Qt.SizeHint.PreferredSize: (min(bounds.width(), 40.0), bounds.height()),
            QtCore.Qt.SizeHint.MaximumSize: (-1, -1),
            QtCore.Qt.SizeHint.MinimumDescent: (0, 0),
        }
        self.updateGeometry()

    def resizeEvent(self, ev):  # noqa: N802
        super().resizeEvent(ev)
        if not self._busy:
            self._elide()

    def _elide(self) -> None:
        width = self.rect().width()
        if width <= 0 or self._busy:
            return
        plain = _plain_text(self._full)
        font = QtGui.QFont(self.item.font())
        size = str(self.opts.get("size", ""))
        if size.endswith("pt"):
            font.setPointSizeF(float(size[:-2]))
        fm = QtGui.QFontMetricsF(font)
        want = self._full if fm.horizontalAdvance(plain) <= width - 4 else html_escape(
            fm.elidedText(plain, QtCore.Qt.TextElideMode.ElideRight, max(10.0, width - 4)))
        if want == self.text:
            return
        self._busy = True
        try:
            pg.LabelItem.setText(self, want)
        finally:
            self._busy = False


def _plain_text(text: str) -> str:
    import html
    import re

    t = re.sub(r"<br\s*/?>", " ", text or "")
    t = re.sub(r"<[^>]+>", "", t)
    return html.unescape(t).strip()


def html_escape(text: str) -> str:
    import html

    return html.escape(text, quote=False)


def fit_scale(image_w: float, image_h: float, box_w: float, box_h: float) -> float:
    """The largest scale at which an ``image_w`` x ``image_h`` picture fits a ``box_w`` x ``box_h`` box (0 when
    the box has no room)."""
    if image_w <= 0 or image_h <= 0 or box_w <= 0 or box_h <= 0:
        return 0.0
    return min(box_w / image_w, box_h / image_h)
