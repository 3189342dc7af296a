"""Image, heatmap and overlay views (pyqtgraph), with linked zoom/pan and a hover readout.

Views never compute attributions: they receive numpy arrays (reduced maps, RGB images, blended overlays).

Public API
----------
``MapView(title: str = "", *, colorbar: bool = False, readout: bool = True, parent=None)`` -- one image view
(a ``pg.GraphicsLayoutWidget`` holding a title, a ``ViewBox`` with locked aspect and inverted y so images are
upright, one ``ImageItem``, and with ``colorbar=True`` a non-interactive ``pg.ColorBarItem`` legend), plus a small
text label under it with the hover readout.

* ``set_rgb(rgb: (H, W, 3) uint8, *, rect=None)`` -- show an image as is (grey ``(H, W)`` and RGBA accepted).
* ``set_map(values: (H, W) float, view: "absolute"|"signed", *, span: float|None = None, percentile=99.0,
  cmap: str|None = None, rect=None)`` -- show the **raw** values with fixed levels and the core colour map as
  lookup table: signed ``(-span, span)`` on a diverging map (0 at its exact centre colour), absolute
  ``(0, span)``. ``span=None``: core ``compute_span(values, view, percentile)``; a float: a locked scale.
  A zero/invalid span (all-zero map) is shown with span 1.0. ``cmap=None``: core ``default_cmap(view)``.
* ``rect=(x, y, w, h)`` (both setters, optional): the rectangle the image covers in view coordinates
  (``ImageItem.setRect``); default ``(0, 0, W, H)``, one unit per pixel. Used to overlay a model-input-size map
  on a native-size image.
* ``attach_color_bar(cbar: pg.ColorBarItem | None)`` -- drive a colour bar that lives elsewhere (a
  ``ColorBarColumn``) instead of one inside the view.
* ``clear()``, ``set_title(text)`` (elided to the view's width, the full text as tooltip: a long title never
  widens the view), ``title() -> str`` (the full text), ``title_item``, ``chrome() -> (w, h)`` (the room a view
  needs besides its image), ``link_view(other: MapView)`` (zoom and pan follow, both
  ways, transitively: every view of the group shows the same requested region, widened to its own aspect -- not
  pyqtgraph's ``setXLink``/``setYLink``, which align by screen position and fight with locked aspect),
  ``unlink_view()``, ``reset_view()`` (auto-range).
* ``view_box`` / ``image_item`` / ``color_bar`` (``pg.ColorBarItem`` or None) properties; ``span`` (the span
  used for the levels, None when not showing a map), ``view`` (the view of the shown map or None).
* ``value_at(x, y)`` -- the raw value at data pixel (x = column, y = row): a float for maps, ``(r, g, b)`` for
  images, None outside/empty. ``readout(x, y) -> str|None`` -- e.g. ``"x=12 y=7 value=-0.0031"`` or
  ``"x=3 y=4 rgb=(200, 10, 0)"``.
* ``grab_image() -> QImage`` -- the rendered view (title, image, colour bar; not the readout label).
* Signal ``hovered = Signal(str)`` -- the readout text on mouse moves over the image (also shown in the label).
  Coordinates are data pixels of the item shown (heatmap pixels on a heatmap, image pixels on an image).

``ColorBarColumn(parent=None)`` -- a colour bar legend in a narrow column of its own, laid out like a
``MapView`` (a title row, the bar beside the view area, a readout-high spacer) so that it lines up with the
views next to it. ``MapView.attach_color_bar(column.color_bar)`` makes a view drive it. Keeping the bar out of
the view leaves every view of a row the same size.

``ImagePanels(parent=None, *, opacity=0.5)`` -- three linked ``MapView`` s side by side: "Image", "Heatmap"
and "Overlay", all three the same size (the heatmap's colour bar is a ``ColorBarColumn`` right of the three
views, so zoom-linked views show the image equally large), plus an "Overlay opacity" ``QSlider`` (0-100 %).
For wide images (e.g. the two-digit samples) the three views are stacked instead, the colour bar beside the
heatmap, and in a narrow, tall area (the Map tab at 1280x800) they go two by two (Image and Overlay on the left,
the Heatmap top right), whichever shows the image largest (``arrangement()``: "row", "stacked" or "grid";
``is_vertical()``: stacked). Every box is fitted to the image's aspect and
centred (a 28x28 map is not drawn in a tall, mostly empty box); the height the views do not need goes below the
opacity slider. A "?" button (``help_button``) opens the Map page of the guide.

* ``set_image(rgb)``; ``set_heatmap(values, view, *, span=None, percentile=99.0, cmap=None, rect=None)``:
  with ``rect=None`` and an image shown, the heatmap is stretched over the image's rectangle ``(0, 0, W, H)``
  (the convention of core ``overlay``, which resizes the map to the whole image), so zoom/pan stay aligned;
  ``set_overlay(rgb_blended)`` (the output of core ``visualize.overlay``); ``clear()``.
* ``opacity() -> float`` in [0, 1]; ``set_opacity(float)`` -- programmatic, does **not** emit;
  signal ``opacity_changed = Signal(float)`` -- emitted when the user moves the slider.
* Signal ``hovered = Signal(str)`` -- the children's readouts prefixed with the view's title,
  e.g. ``"Heatmap: x=12 y=7 value=-0.0031"``.
* ``image_view`` / ``heatmap_view`` / ``overlay_view`` properties (``heatmap_view.color_bar`` is the bar in the
  ``color_bar_column``); ``grab_image() -> QImage`` (the three views and the colour bar).
"""

from __future__ import annotations

import math

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Signal, Slot

from . import _controls, _pg
from ._pg import pg

__all__ = ["MapView", "ImagePanels", "ColorBarColumn"]

TITLE_SIZE = "10pt"


def _readout_label() -> QtWidgets.QLabel:
    label = QtWidgets.QLabel("")
    label.setObjectName("readout")
    f = label.font()
    f.setPointSizeF(max(6.0, f.pointSizeF() * 0.85))
    label.setFont(f)
    label.setMinimumWidth(10)
    label.setFixedHeight(label.fontMetrics().height() + 2)
    return label

Rect = tuple[float, float, float, float]


class FitArea(QtWidgets.QWidget):
    """A plain widget whose children are placed by ``place()`` whenever it is resized (aspect-fitted boxes)."""

    def __init__(self, place, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._place = place
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)
        self.setMinimumSize(120, 80)

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self._place()


class MapView(QtWidgets.QWidget):
    """One image/heatmap view with an optional colour bar and a hover readout (see the module docstring)."""

    hovered = Signal(str)

    def __init__(
        self,
        title: str = "",
        *,
        colorbar: bool = False,
        readout: bool = True,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        bg, fg = _pg.theme_colors()
        self._fg = fg
        self._glw = _pg.new_layout_widget(bg)
        self._glw.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)
        self._glw.setMinimumSize(80, 80)
        layout = self._glw.ci
        layout.setContentsMargins(2, 2, 2, 2)
        self._title = _pg.FitLabel(title, color=fg, size=TITLE_SIZE)  # elided, never widens the view
        layout.addItem(self._title, row=0, col=0, colspan=2)
        self._vb = _pg.new_view_box()
        layout.addItem(self._vb, row=1, col=0)
        self._img = pg.ImageItem()
        self._vb.addItem(self._img)
        self._cbar: pg.ColorBarItem | None = None
        self._own_bar = bool(colorbar)
        if colorbar:
            self._cbar = _pg.new_color_bar(fg)
            layout.addItem(self._cbar, row=1, col=1)
            self._cbar.setVisible(False)

        self._readout = _readout_label()
        self._readout.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self._readout.setVisible(readout)

        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        box.addWidget(self._glw, 1)
        box.addWidget(self._readout)

        self._span: float | None = None
        self._view: str | None = None
        self._geometry_key: tuple | None = None
        self._hover: tuple[int, int] | None = None  # the pixel under the cursor at the last mouse move
        self._glw.scene().sigMouseMoved.connect(self._on_mouse_moved)

    # -- properties --------------------------------------------------------------------------------------------
    @property
    def view_box(self) -> pg.ViewBox:
        return self._vb

    @property
    def image_item(self) -> pg.ImageItem:
        return self._img

    @property
    def color_bar(self) -> pg.ColorBarItem | None:
        return self._cbar

    @property
    def span(self) -> float | None:
        """The span behind the current levels (after the all-zero fallback), None unless a map is shown."""
        return self._span

    @property
    def view(self) -> str | None:
        return self._view

    @property
    def graphics_widget(self) -> pg.GraphicsLayoutWidget:
        return self._glw

    def chrome(self) -> tuple[float, float]:
        """``(width, height)`` this view needs besides the image area: margins, title, colour bar, readout line."""
        margins = 4.0
        spacing = float(self._glw.ci.layout.verticalSpacing() if self._glw.ci.layout.verticalSpacing() >= 0 else 5)
        h = margins + self._title.minimumHeight() + spacing + 2.0
        if self._readout.isVisibleTo(self) or not self._readout.isHidden():
            h += self._readout.height() + 1.0
        w = margins + 2.0
        if self._cbar is not None and self._own_bar:
            w += float(self._cbar.maximumWidth()) + spacing
        return w, h

    # -- content -----------------------------------------------------------------------------------------------
    def set_rgb(self, rgb: np.ndarray, *, rect: Rect | None = None) -> None:
        data = _pg.as_rgb(rgb)
        _pg.apply_rgb(self._img, data)
        self._span = None
        self._view = None
        if self._cbar is not None:
            self._cbar.setVisible(False)
        self._place(data.shape, rect)
        self._refresh_readout()

    def set_map(
        self,
        values: np.ndarray,
        view: str,
        *,
        span: float | None = None,
        percentile: float = 99.0,
        cmap: str | None = None,
        rect: Rect | None = None,
        mode: str = "percentile",
    ) -> None:
        data = _pg.as_map(values)
        cm = _pg.resolve_cmap(cmap, view)
        used = _pg.effective_span(_pg.resolve_span([data], view, span, percentile, mode))
        levels = _pg.apply_map(self._img, data, view, used, cm)
        self._span = used
        self._view = view
        if self._cbar is not None:
            self._cbar.setColorMap(_pg.pg_colormap(cm))
            self._cbar.setLevels(levels)
            _pg.set_bar_ticks(self._cbar, *levels)
            self._cbar.setVisible(True)
        self._place(data.shape, rect)
        self._refresh_readout()

    def _refresh_readout(self) -> None:
        """New content: the readout shows the value now under the cursor (or nothing), never the old one."""
        if self._hover is not None:
            self._readout.setText(self.readout(*self._hover) or "")

    def attach_color_bar(self, cbar: pg.ColorBarItem | None) -> None:
        """Drive ``cbar`` (e.g. ``ColorBarColumn.color_bar``) from :meth:`set_map` instead of an own bar."""
        self._cbar = cbar
        if cbar is not None:
            cbar.setVisible(self._view is not None)

    def set_rect(self, rect: Rect | None) -> None:
        """Change the rectangle the current image covers (None: one unit per pixel)."""
        if self._img.image is not None:
            self._place(self._img.image.shape, rect)

    def clear(self) -> None:
        self._img.clear()
        self._img.resetTransform()
        self._span = None
        self._view = None
        self._geometry_key = None
        if self._cbar is not None:
            self._cbar.setVisible(False)
        self._readout.setText("")

    def _place(self, shape: tuple[int, ...], rect: Rect | None) -> None:
        h, w = int(shape[0]), int(shape[1])
        r = (0.0, 0.0, float(w), float(h)) if rect is None else tuple(float(v) for v in rect)
        if len(r) != 4 or r[2] <= 0 or r[3] <= 0:
            raise ValueError(f"rect must be (x, y, w, h) with positive w and h, got {rect}")
        self._img.setRect(QtCore.QRectF(*r))
        key = (h, w, r)
        if key != self._geometry_key:
            self._geometry_key = key
            self._vb.autoRange(padding=0.0)

    # -- view --------------------------------------------------------------------------------------------------
    def set_title(self, text: str) -> None:
        self._title.setText(text, color=self._fg)

    def title(self) -> str:
        return self._title.full_text

    @property
    def title_item(self) -> "_pg.FitLabel":
        return self._title

    def link_view(self, other: "MapView") -> None:
        if other is self:
            return
        _pg.link_views(self._vb, other.view_box)

    def unlink_view(self) -> None:
        _pg.unlink_view(self._vb)

    def reset_view(self) -> None:
        self._vb.autoRange(padding=0.0)

    # -- readout -----------------------------------------------------------------------------------------------
    def value_at(self, x: int, y: int) -> float | tuple[int, int, int] | None:
        return _pg.value_in(self._img, x, y)

    def readout(self, x: int, y: int) -> str | None:
        v = self.value_at(x, y)
        return None if v is None else _pg.readout_text(int(x), int(y), v)

    @Slot(object)
    def _on_mouse_moved(self, scene_pos: QtCore.QPointF) -> None:
        px = _pg.item_pixel(self._img, scene_pos)
        if px is None:
            return
        self._hover = (int(px[0]), int(px[1]))
        text = self.readout(*px)
        if text is None:
            return
        self._readout.setText(text)
        self.hovered.emit(text)

    # -- export ------------------------------------------------------------------------------------------------
    def grab_image(self) -> QtGui.QImage:
        return self._glw.grab().toImage()


class ColorBarColumn(QtWidgets.QWidget):
    """A colour bar in a column of its own, aligned with ``MapView`` s beside it (see the module docstring)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None, *, readout: bool = True) -> None:
        super().__init__(parent)
        bg, fg = _pg.theme_colors()
        self._glw = _pg.new_layout_widget(bg)
        layout = self._glw.ci
        layout.setContentsMargins(2, 2, 2, 2)
        self._title = _pg.FitLabel("&nbsp;", color=fg, size=TITLE_SIZE)  # as high as a view's title
        layout.addItem(self._title, row=0, col=0)
        self._cbar = _pg.new_color_bar(fg)
        layout.addItem(self._cbar, row=1, col=0)
        self._cbar.setVisible(False)
        self._glw.setFixedWidth(int(self._cbar.maximumWidth()) + 6)
        self._glw.setMinimumHeight(80)
        spacer = _readout_label()  # as high as a view's readout line
        spacer.setVisible(readout)
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        box.addWidget(self._glw, 1)
        box.addWidget(spacer)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Fixed, QtWidgets.QSizePolicy.Policy.Expanding)

    @property
    def color_bar(self) -> pg.ColorBarItem:
        return self._cbar

    @property
    def graphics_widget(self) -> pg.GraphicsLayoutWidget:
        return self._glw

    def bar_width(self) -> int:
        """The column's fixed width."""
        return int(self._glw.minimumWidth())


class ImagePanels(QtWidgets.QWidget):
    """Image | Heatmap (colour bar) | Overlay, linked, with an overlay opacity slider (see the module docstring)."""

    opacity_changed = Signal(float)
    hovered = Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None, *, opacity: float = 0.5) -> None:
        super().__init__(parent)
        self._image_view = MapView("Image")
        self._heatmap_view = MapView("Heatmap")
        self._overlay_view = MapView("Overlay")
        # the heatmap's colour bar sits right of all three views: the views stay the same size
        self._cbar_column = ColorBarColumn()
        self._heatmap_view.attach_color_bar(self._cbar_column.color_bar)
        self._heatmap_view.link_view(self._image_view)
        self._overlay_view.link_view(self._image_view)
        for v in (self._image_view, self._heatmap_view, self._overlay_view):
            v.hovered.connect(lambda text, v=v: self._forward_hover(v.title(), text))

        self._views = FitArea(self._place_views)
        for w in (self._image_view, self._heatmap_view, self._overlay_view, self._cbar_column):
            w.setParent(self._views)
        self._arrangement = "row"

        self._slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self._slider.setObjectName("opacity_slider")
        self._slider.setRange(0, 100)
        self._slider.setSingleStep(5)
        self._slider.setPageStep(10)
        self._slider.setValue(self._to_slider(opacity))
        tip = (
            "Overlay opacity: how strongly the coloured map covers the image in the Overlay view "
            "(0 % shows only the image, 100 % shows the map fully where the attribution is strongest)."
        )
        self._slider.setToolTip(tip)
        label = QtWidgets.QLabel("Overlay opacity")
        label.setToolTip(tip)
        label.setBuddy(self._slider)
        self._value_label = QtWidgets.QLabel()
        self._value_label.setMinimumWidth(self._value_label.fontMetrics().horizontalAdvance("100 %") + 4)
        self._update_value_label()
        self._slider.valueChanged.connect(self._on_slider)

        controls = QtWidgets.QHBoxLayout()
        controls.setContentsMargins(4, 0, 4, 0)
        controls.addWidget(label)
        controls.addWidget(self._slider, 1)
        controls.addWidget(self._value_label)
        self._help = _controls.help_button("map")
        controls.addWidget(self._help)

        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self._views, 1)
        box.addLayout(controls)
        box.addStretch(0)  # takes the height the views do not need (see _place_views)

        self._image_size: tuple[int, int] | None = None  # (W, H)
        self._heatmap_rect: Rect | None = None  # explicit rect from the caller

    # -- children ----------------------------------------------------------------------------------------------
    @property
    def image_view(self) -> MapView:
        return self._image_view

    @property
    def heatmap_view(self) -> MapView:
        return self._heatmap_view

    @property
    def overlay_view(self) -> MapView:
        return self._overlay_view

    @property
    def color_bar_column(self) -> ColorBarColumn:
        return self._cbar_column

    @property
    def help_button(self) -> QtWidgets.QToolButton:
        return self._help

    @property
    def opacity_slider(self) -> QtWidgets.QSlider:
        return self._slider

    # -- arrangement -------------------------------------------------------------------------------------------
    GAP = 4

    ARRANGEMENTS = ("row", "stacked", "grid")

    def _arrange(self, W: float, H: float) -> tuple[str, float]:
        """The arrangement that shows the image largest in a ``W`` x ``H`` area, and its scale: the three views in
        a row, stacked (wide images), or two by two (Image and Overlay in the left column, the Heatmap top right:
        a narrow, tall area). The current arrangement is kept unless another is 10 % larger (no flicker)."""
        iw, ih = self._image_size or (1, 1)
        ow, oh = self._image_view.chrome()
        bar_w = self._cbar_column.bar_width()
        gap = self.GAP
        scales = {
            "row": _pg.fit_scale(iw, ih, (W - bar_w - 3 * gap) / 3.0 - ow, H - oh),
            "stacked": _pg.fit_scale(iw, ih, W - bar_w - gap - ow, (H - 2 * gap) / 3.0 - oh),
            "grid": _pg.fit_scale(iw, ih, (W - bar_w - 2 * gap) / 2.0 - ow, (H - gap) / 2.0 - oh),
        }
        best = max(self.ARRANGEMENTS, key=lambda a: scales[a])
        current = self._arrangement
        if current in scales and not scales[best] > 1.1 * scales[current]:
            best = current
        return best, scales[best]

    def _place_views(self) -> None:
        """Place the views in the arrangement of :meth:`_arrange`; every view's box is fitted to the image's
        aspect, so a 28x28 map fills its box instead of sitting in a tall, mostly empty one."""
        area = self._views
        W, H = area.width(), area.height()
        if W < 20 or H < 20:
            return
        iw, ih = self._image_size or (1, 1)
        ow, oh = self._image_view.chrome()
        bar_w = self._cbar_column.bar_width()
        gap = self.GAP
        self._arrangement, s = self._arrange(W, H)
        vw = max(40, int(iw * s + ow))
        vh = max(40, int(ih * s + oh))
        image, heatmap, overlay = self._image_view, self._heatmap_view, self._overlay_view
        if self._arrangement == "stacked":
            x0 = max(0, (W - (vw + gap + bar_w)) // 2)
            cells = {image: (x0, 0), heatmap: (x0, vh + gap), overlay: (x0, 2 * (vh + gap))}
            bar = (x0 + vw + gap, vh + gap)
        elif self._arrangement == "grid":
            x0 = max(0, (W - (2 * (vw + gap) + bar_w)) // 2)
            cells = {image: (x0, 0), heatmap: (x0 + vw + gap, 0), overlay: (x0, vh + gap)}
            bar = (x0 + 2 * (vw + gap), 0)
        else:
            x0 = max(0, (W - (3 * (vw + gap) + bar_w)) // 2)
            cells = {image: (x0, 0), heatmap: (x0 + vw + gap, 0), overlay: (x0 + 2 * (vw + gap), 0)}
            bar = (x0 + 3 * (vw + gap), 0)
        for v, (x, y) in cells.items():
            v.setGeometry(x, y, vw, vh)
        self._cbar_column.setGeometry(bar[0], bar[1], bar_w, vh)

    def _fit_height(self) -> None:
        """The views need only the height their fitted boxes take: the rest goes under the opacity slider."""
        unlimited = 16777215
        if self._image_size is None or self.width() < 50:
            self._views.setMaximumHeight(unlimited)
            return
        ih = self._image_size[1]
        oh = self._image_view.chrome()[1]
        arrangement, s = self._arrange(self.width(), self.height() - self._slider.sizeHint().height() - 4)
        rows = {"row": 1, "grid": 2, "stacked": 3}[arrangement]
        need = rows * (ih * s + oh) + (rows - 1) * self.GAP
        self._views.setMaximumHeight(max(80, int(math.ceil(need)) + 1))

    def is_vertical(self) -> bool:
        """True when the three views are stacked (wide images), False when side by side or two by two."""
        return self._arrangement == "stacked"

    def arrangement(self) -> str:
        """``"row"``, ``"stacked"`` or ``"grid"`` (two by two): see :meth:`_arrange`."""
        return self._arrangement

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self._fit_height()
        self._place_views()

    # -- content -----------------------------------------------------------------------------------------------
    def set_image(self, rgb: np.ndarray) -> None:
        self._image_view.set_rgb(rgb)
        h, w = self._image_view.image_item.image.shape[:2]
        self._image_size = (w, h)
        self._fit_height()
        self._place_views()
        if self._heatmap_rect is None and self._heatmap_view.image_item.image is not None:
            self._heatmap_view.set_rect(self._implicit_rect())

    def set_heatmap(
        self,
        values: np.ndarray,
        view: str,
        *,
        span: float | None = None,
        percentile: float = 99.0,
        cmap: str | None = None,
        rect: Rect | None = None,
        mode: str = "percentile",
    ) -> None:
        self._heatmap_rect = None if rect is None else tuple(float(v) for v in rect)  # type: ignore[assignment]
        self._heatmap_view.set_map(
            values, view, span=span, percentile=percentile, cmap=cmap, rect=rect or self._implicit_rect(), mode=mode
        )

    def set_overlay(self, rgb_blended: np.ndarray, *, rect: Rect | None = None) -> None:
        """The blended overlay; ``rect`` stretches a reduced-size overlay over the image's own coordinates."""
        self._overlay_view.set_rgb(rgb_blended, rect=rect)

    def clear(self) -> None:
        for v in (self._image_view, self._heatmap_view, self._overlay_view):
            v.clear()
        self._image_size = None
        self._heatmap_rect = None
        self._fit_height()
        self._place_views()

    def _implicit_rect(self) -> Rect | None:
        if self._image_size is None:
            return None
        w, h = self._image_size
        return (0.0, 0.0, float(w), float(h))

    # -- opacity -----------------------------------------------------------------------------------------------
    def opacity(self) -> float:
        return self._slider.value() / 100.0

    def set_opacity(self, value: float) -> None:
        """Set the slider without emitting ``opacity_changed``."""
        blocker = QtCore.QSignalBlocker(self._slider)
        self._slider.setValue(self._to_slider(value))
        del blocker
        self._update_value_label()

    @staticmethod
    def _to_slider(value: float) -> int:
        v = float(value)
        if not np.isfinite(v):
            raise ValueError(f"opacity must be a number in [0, 1], got {value}")
        return int(round(min(1.0, max(0.0, v)) * 100))

    def _update_value_label(self) -> None:
        self._value_label.setText(f"{self._slider.value()} %")

    @Slot(int)
    def _on_slider(self, value: int) -> None:
        self._update_value_label()
        self.opacity_changed.emit(value / 100.0)

    def _forward_hover(self, title: str, text: str) -> None:
        self.hovered.emit(f"{title}: {text}" if title else text)

    # -- export ------------------------------------------------------------------------------------------------
    def grab_image(self) -> QtGui.QImage:
        return self._views.grab().toImage()
