"""The class-difference (discriminativity) figure: ``D = M_c1 - M_c2`` for two chosen classes, signed.

Views never compute: the panel receives ``D`` and the two class maps as reduced ``(H, W)`` arrays.

Public API
----------
``DifferencePanel(parent=None)`` (a ``QWidget``): two ``QComboBox`` es ("Class 1", "Class 2") above a large
``MapView`` of ``D`` (with colour bar) and small views of the image (once ``set_image`` was called), ``M_c1``
and ``M_c2`` -- in a column beside ``D`` for square or tall maps, in a row under ``D`` for wide maps (width ≥
1.5 × height, e.g. the two-digit samples), so ``D`` is always shown as large as the space allows. The small views
are the same size (the colour bars of ``M_c1``/``M_c2`` sit in columns of their own; the image has an empty
column of the same width). All views are linked (zoom/pan); the image is stretched over the maps' rectangle so
it stays aligned. ``wide_layout() -> bool`` tells which arrangement is shown.

* ``set_classes(labels: list[str], c1: int, c2: int)`` -- fill both combos and select ``c1``/``c2``; emits
  nothing. ``classes() -> tuple[int, int]``.
* Signal ``classes_changed = Signal(int, int)`` -- only when the *user* picks a different class in a combo
  (``QComboBox.activated``), never on ``set_classes``.
* ``set_maps(diff, m1, m2, *, percentile: float = 99.0, cmap: str | None = None, span: float | None = None,
  maps_view: str = "signed", shared: bool = True)`` -- ``D`` is always shown SIGNED: symmetric levels ``(-span,
  span)`` with ``span`` locked or core ``compute_span(diff, "signed", percentile)``, on a diverging colour map
  (``cmap`` if it is diverging; else the colour-blind-safe diverging map for a colour-blind-safe sequential
  choice, else the default diverging map), 0 at the centre colour. With ``shared=True`` (default) ``m1``/``m2``
  share one span (core ``shared_span``); with ``shared=False`` each is capped at its own percentile (core
  ``compute_span``). Both in ``maps_view`` (``"signed"`` -- same diverging map -- or ``"absolute"`` -- ``cmap`` if
  sequential, else the default sequential map). [``span``, ``maps_view`` and ``shared`` are additions to the
  brief's signature, all optional.] ``set_shared_scale(bool)`` re-levels the shown maps.
* ``set_image(rgb)`` -- the image, shown small for orientation; ``clear()``; ``grab_image() -> QImage`` (the
  figure: all views with their titles, not the combos).
* Signal ``hovered = Signal(str)`` -- readouts prefixed with the view's title.
* ``diff_view``, ``map1_view``, ``map2_view``, ``image_view`` (``MapView``), ``combo1``, ``combo2`` properties.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Signal, Slot

from ...core import visualize as vz
from . import _pg
from .image_views import ColorBarColumn, MapView

WIDE = 1.5  # maps at least this much wider than high get the small views in a row under D

__all__ = ["DifferencePanel", "diverging_for"]


def diverging_for(cmap: str | None) -> str:
    """A diverging colour map for ``D``: ``cmap`` if diverging, the colour-blind-safe one for a CB-safe choice."""
    if cmap is None:
        return vz.DEFAULT_DIVERGING
    cm = vz.get_colormap(cmap, "signed")
    if cm.kind == "diverging":
        return cm.name
    return vz.COLOR_BLIND_SAFE if "CB" in cm.name else vz.DEFAULT_DIVERGING


def _sequential_for(cmap: str | None) -> str:
    if cmap is None:
        return vz.DEFAULT_SEQUENTIAL
    cm = vz.get_colormap(cmap, "absolute")
    return cm.name if cm.kind == "sequential" else vz.DEFAULT_SEQUENTIAL


class DifferencePanel(QtWidgets.QWidget):
    """M_c1 − M_c2 with class pickers (see the module docstring)."""

    classes_changed = Signal(int, int)
    hovered = Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._labels: list[str] = []
        self._combo1 = QtWidgets.QComboBox()
        self._combo2 = QtWidgets.QComboBox()
        for i, combo in enumerate((self._combo1, self._combo2), start=1):
            combo.setObjectName(f"class{i}_combo")
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(16)
            combo.setToolTip(
                f"Class {i}: the map shown is D = M(class 1) − M(class 2), the signed difference of the two "
                "classes' attribution maps, shown signed: values above 0 (one end of the colour map) favour "
                "class 1, values below 0 (the other end) favour class 2; 0 is the centre colour."
            )
            combo.activated.connect(self._on_activated)

        controls = QtWidgets.QHBoxLayout()
        controls.setContentsMargins(4, 2, 4, 2)
        for text, combo in (("Class 1", self._combo1), ("Class 2", self._combo2)):
            lab = QtWidgets.QLabel(text)
            lab.setBuddy(combo)
            controls.addWidget(lab)
            controls.addWidget(combo)
            controls.addSpacing(12)
        controls.addStretch(1)

        self._diff_view = MapView("D = M(class 1) − M(class 2)", colorbar=True)
        self._image_view = MapView("Image", readout=False)
        self._map1_view = MapView("Class 1", readout=False)
        self._map2_view = MapView("Class 2", readout=False)
        for v in (self._image_view, self._map1_view, self._map2_view):
            v.link_view(self._diff_view)
        for v in (self._diff_view, self._image_view, self._map1_view, self._map2_view):
            v.hovered.connect(lambda text, v=v: self._forward_hover(v, text))
        # small views of one size: M1/M2 get their colour bars in columns of their own, the image an empty one
        self._bar1 = ColorBarColumn(readout=False)
        self._bar2 = ColorBarColumn(readout=False)
        self._map1_view.attach_color_bar(self._bar1.color_bar)
        self._map2_view.attach_color_bar(self._bar2.color_bar)
        self._image_cell = self._cell(self._image_view, None)
        self._map1_cell = self._cell(self._map1_view, self._bar1)
        self._map2_cell = self._cell(self._map2_view, self._bar2)
        self._image_cell.setVisible(False)

        self._figure = QtWidgets.QWidget()
        self._grid = QtWidgets.QGridLayout(self._figure)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(4)
        self._wide: bool | None = None
        self._arrange(False)

        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addLayout(controls)
        box.addWidget(self._figure, 1)

        self._last: tuple[int, int] = (-1, -1)
        self._map_size: tuple[int, int] | None = None  # (W, H) of the maps
        self._shared = True
        self._maps: tuple | None = None  # (m1, m2, view, cmap, percentile) of the last set_maps
        self._mode = "percentile"  # core CLIP_MODES (set_clip_mode)
        self._locked: float | None = None  # the span of the last set_maps (a locked scale) or None
        self._diff: tuple | None = None  # (D, percentile, diverging cmap) of the last set_maps
        self._update_titles()

    # -- layout ------------------------------------------------------------------------------------------------
    def _cell(self, view: MapView, bar: QtWidgets.QWidget | None) -> QtWidgets.QWidget:
        """``view`` with its colour bar column (or an empty column as wide) to its right."""
        cell = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(cell)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(view, 1)
        if bar is None:
            bar = QtWidgets.QWidget()
            bar.setFixedWidth(self._bar1.graphics_widget.minimumWidth())
        row.addWidget(bar, 0)
        return cell

    def _arrange(self, wide: bool) -> None:
        """D beside a column of the small views (square/tall maps) or above a row of them (wide maps)."""
        if wide == self._wide:
            return
        self._wide = wide
        g = self._grid
        for w in (self._diff_view, self._image_cell, self._map1_cell, self._map2_cell):
            g.removeWidget(w)
        for i in range(3):
            g.setRowStretch(i, 0)
            g.setColumnStretch(i, 0)
        small = (self._image_cell, self._map1_cell, self._map2_cell)
        if wide:
            g.addWidget(self._diff_view, 0, 0, 1, 3)
            for c, w in enumerate(small):
                g.addWidget(w, 1, c)
                g.setColumnStretch(c, 1)
            g.setRowStretch(0, 3)
            g.setRowStretch(1, 1)
        else:
            g.addWidget(self._diff_view, 0, 0, 3, 1)
            for r, w in enumerate(small):
                g.addWidget(w, r, 1)
                g.setRowStretch(r, 1)
            g.setColumnStretch(0, 2)
            g.setColumnStretch(1, 1)

    def wide_layout(self) -> bool:
        """True when the small views are in a row under D (wide maps)."""
        return bool(self._wide)

    # -- properties --------------------------------------------------------------------------------------------
    @property
    def diff_view(self) -> MapView:
        return self._diff_view

    @property
    def map1_view(self) -> MapView:
        return self._map1_view

    @property
    def map2_view(self) -> MapView:
        return self._map2_view

    @property
    def image_view(self) -> MapView:
        return self._image_view

    @property
    def combo1(self) -> QtWidgets.QComboBox:
        return self._combo1

    @property
    def combo2(self) -> QtWidgets.QComboBox:
        return self._combo2

    # -- classes -----------------------------------------------------------------------------------------------
    def set_classes(self, labels: list[str], c1: int, c2: int) -> None:
        labels = [str(s) for s in labels]
        for c in (c1, c2):
            if labels and not (0 <= int(c) < len(labels)):
                raise IndexError(f"class index {c} outside 0..{len(labels) - 1}")
        self._labels = labels
        for combo, idx in ((self._combo1, c1), (self._combo2, c2)):
            blocker = QtCore.QSignalBlocker(combo)
            if [combo.itemText(i) for i in range(combo.count())] != labels:
                combo.clear()
                combo.addItems(labels)
            combo.setCurrentIndex(int(idx) if labels else -1)
            del blocker
        self._last = self.classes()
        self._update_titles()

    def classes(self) -> tuple[int, int]:
        return (self._combo1.currentIndex(), self._combo2.currentIndex())

    @Slot(int)
    def _on_activated(self, _index: int) -> None:
        now = self.classes()
        self._update_titles()
        if now != self._last:
            self._last = now
            self.classes_changed.emit(*now)

    def _label(self, i: int) -> str:
        return self._labels[i] if 0 <= i < len(self._labels) else f"class {i + 1}"

    def _update_titles(self) -> None:
        c1, c2 = self.classes()
        if self._labels and c1 >= 0 and c2 >= 0:
            a, b = self._label(c1), self._label(c2)
            self._diff_view.set_title(f"D = M({a}) − M({b})")
            self._map1_view.set_title(f"M({a})")
            self._map2_view.set_title(f"M({b})")
        else:
            self._diff_view.set_title("D = M(class 1) − M(class 2)")
            self._map1_view.set_title("M(class 1)")
            self._map2_view.set_title("M(class 2)")

    # -- maps --------------------------------------------------------------------------------------------------
    def set_maps(
        self,
        diff: np.ndarray,
        m1: np.ndarray,
        m2: np.ndarray,
        *,
        percentile: float = 99.0,
        cmap: str | None = None,
        span: float | None = None,
        maps_view: str = "signed",
        shared: bool = True,
    ) -> None:
        d = _pg.as_map(diff, "diff")
        a = _pg.as_map(m1, "m1")
        b = _pg.as_map(m2, "m2")
        if not (d.shape == a.shape == b.shape):
            raise ValueError(f"diff, m1, m2 must have one shape, got {d.shape}, {a.shape}, {b.shape}")
        div = diverging_for(cmap)
        self._arrange(d.shape[1] >= WIDE * d.shape[0])
        self._diff_view.set_map(d, "signed", span=span, percentile=percentile, cmap=div, mode=self._mode)
        self._diff = (d, float(percentile), div)
        self._locked = None if span is None else float(span)
        mcmap = div if maps_view == "signed" else _sequential_for(cmap)
        self._shared = bool(shared)
        self._maps = (a, b, maps_view, mcmap, float(percentile))
        self._level_maps()
        self._map_size = (d.shape[1], d.shape[0])
        if self._image_view.image_item.image is not None:
            self._image_view.set_rect(self._image_rect())

    def _level_maps(self) -> None:
        if self._maps is None:
            return
        a, b, view, mcmap, percentile = self._maps
        if self._shared or self._locked is not None:  # a locked scale applies to both maps, as to D
            ms = _pg.effective_span(_pg.resolve_span([a, b], view, self._locked, percentile, self._mode))
            self._map1_view.set_map(a, view, span=ms, cmap=mcmap)
            self._map2_view.set_map(b, view, span=ms, cmap=mcmap)
        else:
            self._map1_view.set_map(a, view, percentile=percentile, cmap=mcmap, mode=self._mode)
            self._map2_view.set_map(b, view, percentile=percentile, cmap=mcmap, mode=self._mode)

    @property
    def clip_mode(self) -> str:
        return self._mode

    def set_clip_mode(self, mode: str) -> None:
        """How spans are found (core ``CLIP_MODES``); re-levels D and the two maps."""
        from ...core.visualize import CLIP_MODES

        if mode not in CLIP_MODES:
            raise ValueError(f"unknown clip mode {mode!r}; expected one of {CLIP_MODES}")
        if mode == self._mode:
            return
        self._mode = mode
        if self._diff is not None:
            d, percentile, div = self._diff
            self._diff_view.set_map(d, "signed", span=self._locked, percentile=percentile, cmap=div, mode=mode)
        self._level_maps()

    @property
    def shared_scale(self) -> bool:
        """True: M(class 1) and M(class 2) on one scale; False: each on its own percentile."""
        return self._shared

    def set_shared_scale(self, shared: bool) -> None:
        if bool(shared) != self._shared:
            self._shared = bool(shared)
            self._level_maps()

    def set_image(self, rgb: np.ndarray) -> None:
        self._image_view.set_rgb(rgb, rect=self._image_rect())
        self._image_cell.setVisible(True)

    def _image_rect(self) -> tuple[float, float, float, float] | None:
        if self._map_size is None:
            return None
        return (0.0, 0.0, float(self._map_size[0]), float(self._map_size[1]))

    def clear(self) -> None:
        for v in (self._diff_view, self._image_view, self._map1_view, self._map2_view):
            v.clear()
        self._image_cell.setVisible(False)
        self._map_size = None
        self._maps = None
        self._diff = None

    def _forward_hover(self, view: MapView, text: str) -> None:
        title = view.title()
        self.hovered.emit(f"{title}: {text}" if title else text)

    def grab_image(self) -> QtGui.QImage:
        return self._figure.grab().toImage()
