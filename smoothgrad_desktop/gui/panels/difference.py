"""The class-difference (discriminativity) figure of the paper's §4: ``D`` for two chosen classes, with a colour
legend that says which colour is which class.

``D`` comes from core :func:`~smoothgrad_desktop.core.experiments.difference_map`: both attributions are reduced
in the current View (absolute: ``|M1| − |M2|`` after channel reduction; signed: ``M1 − M2``) and, by default,
each is divided by its own percentile before subtracting (``normalise="percentile"``; "Raw" subtracts them as
they are). The panel keeps the two raw attributions, so switching the normalisation re-draws without computing.

Public API
----------
``DifferencePanel(parent=None)`` (a ``QWidget``): two class ``QComboBox`` es, a "Normalisation" combo (each map ÷
its own P99 — the default — or raw), this panel's own "Shared colour scale" box (for the two class maps) and a "?"
help button, a legend line (``legend_text()``: "■ D > 0: 7 (class 1) · ■ D < 0: 1 (class 2)", in the colour map's
end colours), then a large ``MapView`` of ``D`` (with colour bar) and small views of the image (once
``set_image`` was called), ``M_c1`` and ``M_c2`` (as they enter ``D``). The small views sit in a row under ``D``
or in a column beside it, whichever shows the maps larger; every box is fitted to the map's aspect
(``wide_layout()`` tells which arrangement is shown). All views are linked (zoom/pan).

* ``set_classes(labels, c1, c2)`` -- fill both combos; emits nothing. ``classes() -> (c1, c2)``.
* Signal ``classes_changed(int, int)`` -- only when the *user* picks a class.
* ``set_attributions(a1, a2, view, *, input=None, multiply_by_input=False, percentile=99.0, cmap=None,
  cmap_absolute=None, span=None)`` -- the two raw ``(C, H, W)`` attributions (the same noise samples);
  computes ``D`` with core ``difference_map`` in ``view`` and the panel's normalisation; ``cmap`` is the
  diverging map for ``D`` (and for the class maps in the signed view), ``cmap_absolute`` the sequential map of the
  class maps in the absolute view. ``span`` locks ``D``'s scale (only meaningful with the raw normalisation; with
  the default each map is in units of its own percentile and D's scale is its own). ``difference() ->
  DifferenceMap | None`` -- what is shown (for export).
* ``normalisation() -> "percentile" | "raw"``; ``set_normalisation(str)`` (re-draws); signal
  ``normalisation_changed(str)`` on a user change.
* ``set_maps(diff, m1, m2, *, percentile=99.0, cmap=None, span=None, maps_view="signed", shared=None)`` -- the
  lower-level call: show given ``(H, W)`` arrays (``D`` always signed).
* ``shared_scale`` / ``set_shared_scale(bool)`` -- the two class maps on one scale or each on its own; the choice
  is this panel's own (``scale_check``); default shared.
* ``set_image(rgb)``, ``clear()``, ``grab_image() -> QImage`` (the figure: views with titles and the legend).
* Signal ``hovered(str)``; properties ``diff_view``, ``map1_view``, ``map2_view``, ``image_view``, ``combo1``,
  ``combo2``, ``norm_combo``, ``legend``, ``scale_check``, ``help_button``.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Signal, Slot

from ...core import visualize as vz
from ...core.experiments import DIFFERENCE_NORMALISATIONS, DifferenceMap, difference_map
from . import _controls, _pg
from .image_views import ColorBarColumn, FitArea, MapView

__all__ = ["DifferencePanel", "diverging_for"]

MIN_SMALL = 0.25  # the small maps are shown at least this fraction of D's scale

NORM_TEXT = {"percentile": "Each map ÷ its own P99", "raw": "Raw difference"}
NORM_TIP = (
    "How the two class maps are combined. Each map ÷ its own P99 (default): each reduced map is divided by its own "
    "99th percentile before subtracting, so a class with larger gradients does not drown the other (the gradients "
    "of different classes can differ by orders of magnitude). Raw: D = v1 − v2 as they are."
)


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


def _hex(rgb) -> str:
    return "#%02x%02x%02x" % tuple(int(c) for c in np.asarray(rgb)[:3])


class DifferencePanel(QtWidgets.QWidget):
    """D for two classes with class pickers, normalisation and a colour legend (see the module docstring)."""

    classes_changed = Signal(int, int)
    normalisation_changed = Signal(str)
    shared_scale_changed = Signal(bool)
    hovered = Signal(str)

    GAP = 4

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._labels: list[str] = []
        self._combo1 = QtWidgets.QComboBox()
        self._combo2 = QtWidgets.QComboBox()
        for i, combo in enumerate((self._combo1, self._combo2), start=1):
            combo.setObjectName(f"class{i}_combo")
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
            combo.setToolTip(
                f"Class {i}: D = M(class 1) − M(class 2) after channel reduction in the current View; D > 0 "
                "favours class 1, D < 0 class 2 (the legend below names the colours)."
            )
            combo.activated.connect(self._on_activated)
        self._norm_combo = QtWidgets.QComboBox()
        self._norm_combo.setObjectName("normalisation_combo")
        for key in DIFFERENCE_NORMALISATIONS:
            self._norm_combo.addItem(NORM_TEXT[key], key)
        self._norm_combo.setToolTip(NORM_TIP)
        self._norm_combo.activated.connect(self._on_norm_activated)
        self._shared = True
        self._scale_check = _controls.scale_check(True)
        self._scale_check.setToolTip("For the two class maps: one colour scale (on) or each on its own 99th "
                                     "percentile (off), as in the SmoothGrad paper's figures. D always has its "
                                     "own scale. This choice is this tab's own.")
        self._scale_check.toggled.connect(self._on_scale_check)
        self._help = _controls.help_button("class-difference")

        # two short rows, so the tab never forces the window wider than 1280 px
        controls = QtWidgets.QVBoxLayout()
        controls.setContentsMargins(4, 2, 4, 0)
        controls.setSpacing(2)
        classes_row = QtWidgets.QHBoxLayout()
        for text, combo in (("Class 1", self._combo1), ("Class 2", self._combo2)):
            lab = QtWidgets.QLabel(text)
            lab.setBuddy(combo)
            classes_row.addWidget(lab)
            classes_row.addWidget(combo, 1)
            classes_row.addSpacing(8)
        classes_row.addStretch(1)
        classes_row.addWidget(self._help)
        options_row = QtWidgets.QHBoxLayout()
        norm_label = QtWidgets.QLabel("Normalisation")
        norm_label.setBuddy(self._norm_combo)
        options_row.addWidget(norm_label)
        options_row.addWidget(self._norm_combo)
        options_row.addSpacing(8)
        options_row.addWidget(self._scale_check)
        options_row.addStretch(1)
        controls.addLayout(classes_row)
        controls.addLayout(options_row)

        self._legend = QtWidgets.QLabel("")
        self._legend.setObjectName("difference_legend")
        self._legend.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self._legend.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self._legend.setContentsMargins(6, 0, 4, 0)
        self._legend.setWordWrap(True)  # a long legend takes a second line instead of widening the window
        self._legend.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)

        self._diff_view = MapView("D", colorbar=True)
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
        self._figure = FitArea(self._place)
        self._image_cell = self._cell(self._image_view, None)
        self._map1_cell = self._cell(self._map1_view, self._bar1)
        self._map2_cell = self._cell(self._map2_view, self._bar2)
        self._diff_view.setParent(self._figure)
        self._image_cell.setVisible(False)
        self._wide = False

        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addLayout(controls)
        box.addWidget(self._legend)
        box.addWidget(self._figure, 1)

        self._last: tuple[int, int] = (-1, -1)
        self._map_size: tuple[int, int] | None = None  # (W, H) of the maps
        self._maps: tuple | None = None  # (m1, m2, view, cmap, percentile) of the last set_maps
        self._mode = "percentile"  # core CLIP_MODES (set_clip_mode)
        self._locked: float | None = None  # the span of the last set_maps (a locked scale) or None
        self._diff: tuple | None = None  # (D, percentile, diverging cmap) of the last set_maps
        self._raw: tuple | None = None  # the arguments of the last set_attributions
        self._dm: DifferenceMap | None = None
        self._div = vz.DEFAULT_DIVERGING
        self._update_titles()

    # -- layout ------------------------------------------------------------------------------------------------
    def _cell(self, view: MapView, bar: QtWidgets.QWidget | None) -> QtWidgets.QWidget:
        """``view`` with its colour bar column (or an empty column as wide) to its right."""
        cell = QtWidgets.QWidget(self._figure)
        row = QtWidgets.QHBoxLayout(cell)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(view, 1)
        if bar is None:
            bar = QtWidgets.QWidget()
            bar.setFixedWidth(self._bar1.bar_width())
        row.addWidget(bar, 0)
        return cell

    def _solve(self, W: float, H: float) -> tuple[bool, int, float, float]:
        """(wide, columns, scale of D, scale of the small maps): the small maps in a grid of ``columns`` under D
        (wide) or in a column beside it, with the split between D and them that shows the most map (D counting
        double) while the small maps stay at least ``MIN_SMALL`` of D's scale."""
        iw, ih = self._map_size or (1, 1)
        dw, dh = self._diff_view.chrome()
        sw, sh = self._map1_view.chrome()
        sw += self._bar1.bar_width()
        gap = self.GAP
        n_small = 2 if self._image_cell.isHidden() else 3
        best, best_score = (True, n_small, 0.0, 0.0), -1.0
        fallback, fallback_score = best, -1.0
        layouts = [(True, cols) for cols in range(n_small, 0, -1)] + [(False, 1)]
        for wide, cols in layouts:
            rows = -(-n_small // cols)
            for k in range(30, 91, 2):
                f = k / 100.0
                if wide:
                    s_d = _pg.fit_scale(iw, ih, W - dw, H * f - dh)
                    s_s = _pg.fit_scale(iw, ih, (W - (cols - 1) * gap) / cols - sw,
                                        (H * (1 - f) - gap * rows) / rows - sh)
                else:
                    s_d = _pg.fit_scale(iw, ih, W * f - dw, H - dh)
                    s_s = _pg.fit_scale(iw, ih, W * (1 - f) - gap - sw, (H - (n_small - 1) * gap) / n_small - sh)
                score = 2.0 * s_d ** 2 + n_small * s_s ** 2
                if s_s >= MIN_SMALL * s_d and score > best_score * 1.001:
                    best, best_score = (wide, cols, s_d, s_s), score
                fb = min(s_d, s_s / MIN_SMALL)
                if fb > fallback_score:
                    fallback, fallback_score = (wide, cols, s_d, s_s), fb
        return best if best_score >= 0 else fallback

    def _place(self) -> None:
        W, H = self._figure.width(), self._figure.height()
        if W < 40 or H < 40:
            return
        wide, cols, s_d, s_s = self._solve(W, H)
        self._wide = wide
        iw, ih = self._map_size or (1, 1)
        dw, dh = self._diff_view.chrome()
        sw, sh = self._map1_view.chrome()
        sw += self._bar1.bar_width()
        gap = self.GAP
        d_w, d_h = max(60, int(iw * s_d + dw)), max(60, int(ih * s_d + dh))
        c_w, c_h = max(50, int(iw * s_s + sw)), max(50, int(ih * s_s + sh))
        cells = [c for c in (self._image_cell, self._map1_cell, self._map2_cell) if not c.isHidden()]
        if wide:
            self._diff_view.setGeometry(max(0, (W - d_w) // 2), 0, d_w, d_h)
            used = min(cols, len(cells))
            row_w = used * c_w + (used - 1) * gap
            x0 = max(0, (W - row_w) // 2)
            for i, c in enumerate(cells):
                r, col = divmod(i, cols)
                c.setGeometry(x0 + col * (c_w + gap), d_h + gap + r * (c_h + gap), c_w, c_h)
        else:
            col_h = len(cells) * c_h + (len(cells) - 1) * gap
            x0 = max(0, (W - (d_w + gap + c_w)) // 2)
            self._diff_view.setGeometry(x0, 0, d_w, d_h)
            y0 = 0 if col_h >= d_h else (d_h - col_h) // 2
            for i, c in enumerate(cells):
                c.setGeometry(x0 + d_w + gap, y0 + i * (c_h + gap), c_w, c_h)

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self._place()

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

    @property
    def norm_combo(self) -> QtWidgets.QComboBox:
        return self._norm_combo

    @property
    def legend(self) -> QtWidgets.QLabel:
        return self._legend

    @property
    def scale_check(self) -> QtWidgets.QCheckBox:
        return self._scale_check

    @property
    def help_button(self) -> QtWidgets.QToolButton:
        return self._help

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

    def _names(self) -> tuple[str, str]:
        c1, c2 = self.classes()
        if self._labels and c1 >= 0 and c2 >= 0:
            return self._label(c1), self._label(c2)
        return "class 1", "class 2"

    def _update_titles(self) -> None:
        a, b = self._names()
        view = self._dm.view if self._dm is not None else (self._maps[2] if self._maps is not None else "signed")
        bars = "|M|" if view == "absolute" else "M"
        norm = self._dm is not None and self._dm.normalise == "percentile"
        m1, m2 = (f"{bars}({a})", f"{bars}({b})")
        if norm:
            p = f"P{self._raw[5]:g}" if self._raw is not None else "P99"
            m1, m2 = f"{m1} / {p}", f"{m2} / {p}"
        self._diff_view.set_title(f"D = {m1} − {m2}")
        self._map1_view.set_title(m1)
        self._map2_view.set_title(m2)
        self._update_legend()

    def legend_text(self) -> str:
        """The legend as plain text: which sign (colour) is which class."""
        return _pg._plain_text(self._legend.text()).replace("■ ", "")

    def _update_legend(self) -> None:
        a, b = self._names()
        cm = vz.get_colormap(self._div, "signed")
        lut = np.asarray(cm.lut)
        high, low, mid = _hex(lut[-1]), _hex(lut[0]), _hex(cm.centre)
        esc = html.escape
        how = ""
        if self._dm is not None:
            how = (" · each map divided by its own P99 first" if self._dm.normalise == "percentile"
                   else " · raw difference")
        self._legend.setText(
            f"<span style='color:{high}'>■</span> D &gt; 0: <b>{esc(a)}</b> (class 1) &nbsp; "
            f"<span style='color:{low}'>■</span> D &lt; 0: <b>{esc(b)}</b> (class 2) &nbsp; "
            f"<span style='color:{mid}'>■</span> 0: neither{esc(how)}")
        self._legend.setToolTip(f"Colours of D: the {cm.name} colour map's top end means class 1 ({a}) has the "
                                f"stronger evidence there, its bottom end class 2 ({b}).")

    # -- data --------------------------------------------------------------------------------------------------
    def normalisation(self) -> str:
        return str(self._norm_combo.currentData())

    def set_normalisation(self, normalise: str) -> None:
        if normalise not in DIFFERENCE_NORMALISATIONS:
            raise ValueError(f"unknown normalisation {normalise!r}; expected one of {DIFFERENCE_NORMALISATIONS}")
        if normalise == self.normalisation():
            return
        blocker = QtCore.QSignalBlocker(self._norm_combo)
        self._norm_combo.setCurrentIndex(self._norm_combo.findData(normalise))
        del blocker
        self._redraw_attributions()

    @Slot(int)
    def _on_norm_activated(self, _index: int) -> None:
        if self._raw is not None:
            self._redraw_attributions()
        else:
            self._update_titles()
        self.normalisation_changed.emit(self.normalisation())

    def difference(self) -> DifferenceMap | None:
        """The :class:`DifferenceMap` shown (None before :meth:`set_attributions`)."""
        return self._dm

    def set_attributions(
        self,
        a1: np.ndarray,
        a2: np.ndarray,
        view: str,
        *,
        input: np.ndarray | None = None,  # noqa: A002 - core's name
        multiply_by_input: bool = False,
        percentile: float = 99.0,
        cmap: str | None = None,
        cmap_absolute: str | None = None,
        span: float | None = None,
    ) -> DifferenceMap:
        if view not in vz.VIEWS:
            raise ValueError(f"unknown view {view!r}; expected one of {vz.VIEWS}")
        a1, a2 = np.asarray(a1), np.asarray(a2)
        if a1.shape != a2.shape:
            raise ValueError(f"the two attributions differ in shape: {a1.shape} and {a2.shape}")
        self._raw = (a1, a2, view, input, bool(multiply_by_input), float(percentile), cmap, cmap_absolute, span)
        return self._redraw_attributions()

    def _redraw_attributions(self) -> DifferenceMap | None:
        if self._raw is None:
            return None
        a1, a2, view, x, mbi, percentile, cmap, cmap_abs, span = self._raw
        dm = difference_map(a1, a2, view, normalise=self.normalisation(), percentile=percentile, input=x,
                            multiply_by_input=mbi)
        self._dm = dm
        locked = span if dm.normalise == "raw" else None
        maps_cmap = cmap if view == "signed" else cmap_abs
        self.set_maps(dm.d, dm.v1, dm.v2, percentile=percentile, cmap=cmap, span=locked, maps_view=view,
                      maps_cmap=maps_cmap)
        return dm

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
        shared: bool | None = None,
        maps_cmap: str | None = None,
    ) -> None:
        d = _pg.as_map(diff, "diff")
        a = _pg.as_map(m1, "m1")
        b = _pg.as_map(m2, "m2")
        if not (d.shape == a.shape == b.shape):
            raise ValueError(f"diff, m1, m2 must have one shape, got {d.shape}, {a.shape}, {b.shape}")
        div = diverging_for(cmap)
        self._div = div
        self._map_size = (d.shape[1], d.shape[0])
        self._diff_view.set_map(d, "signed", span=span, percentile=percentile, cmap=div, mode=self._mode)
        self._diff = (d, float(percentile), div)
        self._locked = None if span is None else float(span)
        if maps_view == "signed":
            mcmap = div
        else:
            mcmap = _sequential_for(maps_cmap if maps_cmap is not None else cmap)
        if shared is not None:
            self._set_shared(bool(shared))
        self._maps = (a, b, maps_view, mcmap, float(percentile))
        self._level_maps()
        if self._image_view.image_item.image is not None:
            self._image_view.set_rect(self._image_rect())
        self._update_titles()
        self._place()

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
        if mode not in vz.CLIP_MODES:
            raise ValueError(f"unknown clip mode {mode!r}; expected one of {vz.CLIP_MODES}")
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

    def _set_shared(self, shared: bool) -> None:
        self._shared = bool(shared)
        if self._scale_check.isChecked() != self._shared:
            blocker = QtCore.QSignalBlocker(self._scale_check)
            self._scale_check.setChecked(self._shared)
            del blocker

    def set_shared_scale(self, shared: bool) -> None:
        if bool(shared) != self._shared:
            self._set_shared(bool(shared))
            self._level_maps()

    @Slot(bool)
    def _on_scale_check(self, checked: bool) -> None:
        if bool(checked) != self._shared:
            self.set_shared_scale(bool(checked))
            self.shared_scale_changed.emit(bool(checked))

    def set_image(self, rgb: np.ndarray) -> None:
        self._image_view.set_rgb(rgb, rect=self._image_rect())
        self._image_cell.setVisible(True)
        self._place()

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
        self._raw = None
        self._dm = None
        self._update_titles()

    def _forward_hover(self, view: MapView, text: str) -> None:
        title = view.title()
        self.hovered.emit(f"{title}: {text}" if title else text)

    def grab_image(self) -> QtGui.QImage:
        legend = self._legend.grab().toImage()
        figure = self._figure.grab().toImage()
        out = QtGui.QImage(max(legend.width(), figure.width()), legend.height() + figure.height(),
                           QtGui.QImage.Format.Format_ARGB32)
        out.fill(self.palette().color(QtGui.QPalette.ColorRole.Window))
        painter = QtGui.QPainter(out)
        try:
            painter.drawImage(0, 0, legend)
            painter.drawImage(0, legend.height(), figure)
        finally:
            painter.end()
        return out
