"""The class-difference (discriminativity) figure: ``D = M_c1 - M_c2`` for two chosen classes, signed.

Views never compute: the panel receives ``D`` and the two class maps as reduced ``(H, W)`` arrays.

Public API
----------
``DifferencePanel(parent=None)`` (a ``QWidget``): two ``QComboBox`` es ("Class 1", "Class 2") above a large
``MapView`` of ``D`` (with colour bar) and, in a column beside it, small views of the image (once
``set_image`` was called), ``M_c1`` and ``M_c2``. All views are linked (zoom/pan); the image is stretched over
the maps' rectangle so it stays aligned.

* ``set_classes(labels: list[str], c1: int, c2: int)`` -- fill both combos and select ``c1``/``c2``; emits
  nothing. ``classes() -> tuple[int, int]``.
* Signal ``classes_changed = Signal(int, int)`` -- only when the *user* picks a different class in a combo
  (``QComboBox.activated``), never on ``set_classes``.
* ``set_maps(diff, m1, m2, *, percentile: float = 99.0, cmap: str | None = None, span: float | None = None,
  maps_view: str = "signed")`` -- ``D`` is always shown SIGNED: symmetric levels ``(-span, span)`` with
  ``span`` locked or core ``compute_span(diff, "signed", percentile)``, on a diverging colour map (``cmap`` if it
  is diverging; else the colour-blind-safe diverging map for a colour-blind-safe sequential choice, else the
  default diverging map), 0 at the centre colour. ``m1``/``m2`` share one span (core ``shared_span``) in
  ``maps_view`` (``"signed"`` -- same diverging map -- or ``"absolute"`` -- ``cmap`` if sequential, else the
  default sequential map). [``span`` and ``maps_view`` are additions to the brief's signature, both optional.]
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
from .image_views import MapView

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
            controls.addWidget(combo, 1)

        self._diff_view = MapView("D = M(class 1) − M(class 2)", colorbar=True)
        self._image_view = MapView("Image", readout=False)
        self._map1_view = MapView("Class 1", colorbar=True, readout=False)
        self._map2_view = MapView("Class 2", colorbar=True, readout=False)
        self._image_view.setVisible(False)
        for v in (self._image_view, self._map1_view, self._map2_view):
            v.link_view(self._diff_view)
        for v in (self._diff_view, self._image_view, self._map1_view, self._map2_view):
            v.hovered.connect(lambda text, v=v: self._forward_hover(v, text))

        self._figure = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(self._figure)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(self._diff_view, 2)
        side = QtWidgets.QVBoxLayout()
        side.setSpacing(2)
        side.addWidget(self._image_view, 1)
        side.addWidget(self._map1_view, 1)
        side.addWidget(self._map2_view, 1)
        row.addLayout(side, 1)

        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addLayout(controls)
        box.addWidget(self._figure, 1)

        self._last: tuple[int, int] = (-1, -1)
        self._map_size: tuple[int, int] | None = None  # (W, H) of the maps
        self._update_titles()

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
    ) -> None:
        d = _pg.as_map(diff, "diff")
        a = _pg.as_map(m1, "m1")
        b = _pg.as_map(m2, "m2")
        if not (d.shape == a.shape == b.shape):
            raise ValueError(f"diff, m1, m2 must have one shape, got {d.shape}, {a.shape}, {b.shape}")
        div = diverging_for(cmap)
        self._diff_view.set_map(d, "signed", span=span, percentile=percentile, cmap=div)
        ms = _pg.resolve_span([a, b], maps_view, None, percentile)
        mcmap = div if maps_view == "signed" else _sequential_for(cmap)
        self._map1_view.set_map(a, maps_view, span=_pg.effective_span(ms), cmap=mcmap)
        self._map2_view.set_map(b, maps_view, span=_pg.effective_span(ms), cmap=mcmap)
        self._map_size = (d.shape[1], d.shape[0])
        if self._image_view.image_item.image is not None:
            self._image_view.set_rect(self._image_rect())

    def set_image(self, rgb: np.ndarray) -> None:
        self._image_view.set_rgb(rgb, rect=self._image_rect())
        self._image_view.setVisible(True)

    def _image_rect(self) -> tuple[float, float, float, float] | None:
        if self._map_size is None:
            return None
        return (0.0, 0.0, float(self._map_size[0]), float(self._map_size[1]))

    def clear(self) -> None:
        for v in (self._diff_view, self._image_view, self._map1_view, self._map2_view):
            v.clear()
        self._image_view.setVisible(False)
        self._map_size = None

    def _forward_hover(self, view: MapView, text: str) -> None:
        title = view.title()
        self.hovered.emit(f"{title}: {text}" if title else text)

    def grab_image(self) -> QtGui.QImage:
        return self._figure.grab().toImage()
