"""The method strip: gradient, SmoothGrad, IG, IG + SmoothGrad, Guided BP, Guided BP + SmoothGrad in one row,
on one shared colour scale (default) or each on its own scale. Long labels wrap onto two lines and the columns
shrink equally, so all six fit a narrow window; in a panel with height to spare the cells wrap onto more rows
(3x2, 2x3, ...: whichever shows them largest, ``flow_columns()``), so they grow with the panel.

Views never compute: the strip receives reduced ``(H, W)`` maps (or an error message per method).

Public API
----------
``StripPanel(parent=None)`` (a ``QWidget``):

* ``set_entries(entries: list[tuple[str, np.ndarray | None, str | None]], view, *, span: float | None = None,
  percentile: float = 99.0, cmap: str | None = None, shared: bool | None = None)`` -- one cell per entry ``(label, map,
  error)``: the label on top, the map below; an entry whose map is None shows its error text (if any) inside its
  empty cell, so one failing method never hides the others. ``shared=True``: one scale for all: ``span`` (locked)
  or core ``shared_span`` over the maps shown (recomputed as entries arrive); one colour bar. ``shared=False``:
  each map capped at its own percentile (core ``compute_span``), the colour bar headed "per cell".
* ``set_entry(i, label, values: np.ndarray | None, error: str | None = None)`` -- progressive fill of entry
  ``i`` with the scale of the last ``set_entries`` (``i == len`` appends an entry; view "absolute" and the
  default colour map if ``set_entries`` was never called); IndexError beyond that.
* ``clear()`` -- removes all entries; ``grab_image() -> QImage`` -- the whole strip for PNG export.
* ``labels() -> list[str]``, ``entry_error(i) -> str | None``.
* Inherited: ``hovered = Signal(str)``, ``span``, ``cell_span(0, i)``, ``set_shared_scale(bool)``, ``image_item(0,
  i)``, ``view_box(0, i)``, ``cell_text(0, i)`` (the error text shown), ``value_at(0, i, x, y)``, ``color_bar``,
  ``cell_count()``.
"""

from __future__ import annotations

import numpy as np

from ._cells import CellGrid, wrap_label

__all__ = ["StripPanel"]

Entry = tuple[str, "np.ndarray | None", "str | None"]


class StripPanel(CellGrid):
    """The method strip (see the module docstring)."""

    DEFAULT_SHARED = True
    HELP_PAGE = "methods"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._entries: list[tuple[str, np.ndarray | None, str | None]] = []
        self._flow = 1

    def labels(self) -> list[str]:
        return [e[0] for e in self._entries]

    def entry_error(self, i: int) -> str | None:
        return self._entries[i][2]

    def set_entries(
        self,
        entries: list[Entry],
        view: str,
        *,
        span: float | None = None,
        percentile: float = 99.0,
        cmap: str | None = None,
        shared: bool | None = None,
    ) -> None:
        parsed = []
        for e in entries:
            if len(e) != 3:
                raise ValueError(f"an entry is (label, map | None, error | None), got {e!r}")
            label, values, error = e
            parsed.append((str(label), values, None if error is None else str(error)))
        self._set_scale(view, span, percentile, cmap, shared)
        self._entries = [(lab, None, err) for lab, _, err in parsed]
        if tuple(lab for lab, _, _ in parsed) != self._structure:
            self._relayout()
        for i, (label, values, error) in enumerate(parsed):
            self._fill(i, label, values, error)
        self._rescale()
        self._reflow()  # the maps' aspect is known now

    def set_entry(self, i: int, label: str, values: np.ndarray | None, error: str | None = None) -> None:
        i = int(i)
        if i < 0 or i > len(self._entries):
            raise IndexError(f"entry {i} outside the strip of {len(self._entries)} entries")
        error = None if error is None else str(error)
        if i == len(self._entries):
            self._entries.append((str(label), None, None))
            old = [(lab, v, err) for lab, v, err in self._entries[:-1]]
            self._relayout()
            for j, (lab, v, err) in enumerate(old):
                self._fill(j, lab, v, err)
        self._fill(i, str(label), values, error)
        self._rescale()

    def clear(self) -> None:
        self._entries = []
        self._relayout()

    def _relayout(self) -> None:
        labels = [e[0] for e in self._entries]
        self._flow = self._best_flow(len(labels))
        self._build(1, len(labels), None, labels, flow_cols=self._flow)
        self._structure = tuple(labels)

    def flow_columns(self) -> int:
        """How many cells one row of the strip holds now (it wraps onto more rows when that shows them larger)."""
        return self._flow

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self._reflow()

    def _reflow(self) -> None:
        if self._entries and self._best_flow(len(self._entries)) != self._flow:
            kept = list(self._entries)
            self._relayout()
            for i, (label, values, error) in enumerate(kept):
                self._fill(i, label, values, error)
            self._rescale()

    def _fill(self, i: int, label: str, values: np.ndarray | None, error: str | None) -> None:
        self._set_cell(0, i, values, error)
        stored = self._cells[0][i].values
        self._entries[i] = (label, stored, error)
        if self._col_labels and self._col_labels[i].text != wrap_label(label):
            self._col_labels[i].setText(wrap_label(label), color=self._fg)
            self._cells[0][i].name = label
