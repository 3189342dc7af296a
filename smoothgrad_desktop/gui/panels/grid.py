"""The σ/n grid of the SmoothGrad paper's Figs 3-4: rows = noise levels, columns = n; each cell on its own scale by
default (as the paper's figures: the gradient's magnitude grows with σ, so one shared scale turns the low-noise
rows nearly black), or one shared colour scale.

Views never compute: the grid receives the prefix-mean maps (reduced ``(H, W)`` arrays) from the worker.

Public API
----------
``GridPanel(parent=None)`` (a ``QWidget``):

* ``set_grid(levels: Sequence[float], ns: Sequence[int], maps: list[list[np.ndarray | None]] | None, view, *,
  sigmas: Sequence[float] | None = None, span: float | None = None, percentile: float = 99.0, cmap: str | None =
  None, shared: bool | None = None)`` -- lays out ``len(levels) x len(ns)`` cells. Row labels ``"10 %"`` (noise level as
  a fraction of the input range, shown in %) plus ``"σ = 0.0731"`` when ``sigmas`` (absolute σ) are given; column
  labels ``"n = 5"``. ``maps[r][c]`` is the map for ``levels[r]`` and ``ns[c]``; ``maps`` may be shorter than
  ``levels`` and rows/cells may be None (shown empty: not computed yet). ``shared=None`` keeps the panel's own
  choice (its "Shared colour scale" box; a new grid starts per cell). ``shared=True``: one colour scale for all
  cells: ``span`` (a locked float) or, with ``span=None``, core ``shared_span`` over all maps shown, recomputed as
  rows arrive; one colour bar. ``shared=False``: each cell capped at its own ``percentile`` (core ``compute_span``
  per cell; the paper's figures), the colour bar headed "per cell" and reading 0 .. P99. Signed view: levels
  ``(-span, span)``, diverging map, 0 at the centre; absolute ``(0, span)``.
* ``set_row(row: int, maps_row: list[np.ndarray | None])`` -- fill one row (progressively, while computing) with
  the scale settings of the last ``set_grid``; raises IndexError for a row outside the grid, ValueError for a
  row longer than ``ns``.
* ``clear()`` -- empty every cell (the layout stays); ``grab_image() -> QImage`` -- the whole figure (labels,
  cells, colour bar) for PNG export.
* Inherited: ``hovered = Signal(str)`` (``"10 % / n = 5: x=3 y=4 value=0.12"``), ``span`` (the shared span in
  use, None when empty or per cell), ``cell_span(r, c)``, ``shared_scale`` / ``set_shared_scale(bool)``,
  ``levels()`` / ``ns()``, ``image_item(r, c)``, ``view_box(r, c)``,
  ``value_at(r, c, x, y)``, ``color_bar``, ``cell_count() -> (rows, cols)``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ._cells import CellGrid

__all__ = ["GridPanel", "level_label", "n_label"]


def level_label(level: float, sigma: float | None = None) -> str:
    """``"10 %"`` or ``"10 %<br>σ = 0.0731"`` (LabelItem html)."""
    pct = f"{100.0 * float(level):.4g} %"
    return pct if sigma is None else f"{pct}<br>σ = {float(sigma):.3g}"


def n_label(n: int) -> str:
    return f"n = {int(n)}"


class GridPanel(CellGrid):
    """The σ/n grid (see the module docstring)."""

    DEFAULT_SHARED = False
    HELP_PAGE = "sigma-n-grid"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._levels: list[float] = []
        self._ns: list[int] = []
        self._sigmas: list[float] | None = None

    def levels(self) -> list[float]:
        return list(self._levels)

    def ns(self) -> list[int]:
        return list(self._ns)

    def set_grid(
        self,
        levels: Sequence[float],
        ns: Sequence[int],
        maps: list[list[np.ndarray | None] | None] | None,
        view: str,
        *,
        sigmas: Sequence[float] | None = None,
        span: float | None = None,
        percentile: float = 99.0,
        cmap: str | None = None,
        shared: bool | None = None,
    ) -> None:
        levels = [float(v) for v in levels]
        ns = [int(n) for n in ns]
        sig = None if sigmas is None else [float(s) for s in sigmas]
        if sig is not None and len(sig) != len(levels):
            raise ValueError(f"{len(sig)} sigmas for {len(levels)} noise levels")
        maps = list(maps or [])
        if len(maps) > len(levels):
            raise ValueError(f"{len(maps)} rows of maps for {len(levels)} noise levels")
        for r, row in enumerate(maps):
            if row is not None and len(row) > len(ns):
                raise ValueError(f"row {r} has {len(row)} maps for {len(ns)} values of n")
        self._set_scale(view, span, percentile, cmap, shared)
        structure = (tuple(levels), tuple(ns), None if sig is None else tuple(sig))
        if structure != self._structure:
            self._levels, self._ns, self._sigmas = levels, ns, sig
            row_labels = [level_label(lv, None if sig is None else sig[i]) for i, lv in enumerate(levels)]
            self._build(len(levels), len(ns), row_labels, [n_label(n) for n in ns])
            self._structure = structure
        for r in range(len(levels)):
            row = maps[r] if r < len(maps) and maps[r] is not None else []
            for c in range(len(ns)):
                self._set_cell(r, c, row[c] if c < len(row) else None)
        self._rescale()

    def set_row(self, row: int, maps_row: list[np.ndarray | None]) -> None:
        if not (0 <= int(row) < len(self._cells)):
            raise IndexError(f"row {row} outside the grid of {len(self._cells)} rows")
        maps_row = list(maps_row)
        if len(maps_row) > len(self._ns):
            raise ValueError(f"{len(maps_row)} maps for {len(self._ns)} values of n")
        for c in range(len(self._ns)):
            self._set_cell(int(row), c, maps_row[c] if c < len(maps_row) else None)
        self._rescale()

    def clear(self) -> None:
        self._clear_cells()
