"""The training-with-noise comparison (the paper's §5): a 2x2 grid on one shared colour scale (default) or each
cell on its own scale.

Rows: "Trained clean", "Trained with noise"; columns: "Gradient", "SmoothGrad". Views never compute: the panel
receives the four reduced ``(H, W)`` maps.

Public API
----------
``NoiseTrainingPanel(parent=None)`` (a ``QWidget``):

* ``set_maps(maps: dict[tuple[str, str], np.ndarray], view, *, span: float | None = None,
  percentile: float = 99.0, cmap: str | None = None, shared: bool | None = None)`` -- keys ``(model, method)`` with model in
  ``MODELS = ("clean", "noise-trained")`` and method in ``METHODS = ("gradient", "smoothgrad")``; a missing key
  leaves its cell empty; an unknown key raises ValueError. ``shared=True``: one scale: ``span`` (locked) or core
  ``shared_span`` over the given maps; one colour bar. ``shared=False``: each map capped at its own percentile.
* ``clear()``; ``grab_image() -> QImage`` (the whole 2x2 figure).
* Inherited: ``hovered = Signal(str)``, ``span``, ``image_item(r, c)`` / ``view_box(r, c)`` /
  ``value_at(r, c, x, y)`` with ``r = MODELS.index(model)``, ``c = METHODS.index(method)``, ``color_bar``.
"""

from __future__ import annotations

import numpy as np

from ._cells import CellGrid

__all__ = ["NoiseTrainingPanel", "MODELS", "METHODS"]

MODELS = ("clean", "noise-trained")
METHODS = ("gradient", "smoothgrad")
ROW_LABELS = ("Trained clean", "Trained<br>with noise")
COL_LABELS = ("Gradient", "SmoothGrad")


class NoiseTrainingPanel(CellGrid):
    """The 2x2 clean/noise-trained x gradient/SmoothGrad comparison (see the module docstring)."""

    DEFAULT_SHARED = True
    HELP_PAGE = "noise-training"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._build(2, 2, list(ROW_LABELS), list(COL_LABELS))

    def set_maps(
        self,
        maps: dict[tuple[str, str], np.ndarray],
        view: str,
        *,
        span: float | None = None,
        percentile: float = 99.0,
        cmap: str | None = None,
        shared: bool | None = None,
    ) -> None:
        for key in maps:
            if not (isinstance(key, tuple) and len(key) == 2 and key[0] in MODELS and key[1] in METHODS):
                raise ValueError(f"unknown key {key!r}; expected (model, method) in {MODELS} x {METHODS}")
        self._set_scale(view, span, percentile, cmap, shared)
        for r, model in enumerate(MODELS):
            for c, method in enumerate(METHODS):
                self._set_cell(r, c, maps.get((model, method)))
        self._rescale()

    def clear(self) -> None:
        self._clear_cells()
