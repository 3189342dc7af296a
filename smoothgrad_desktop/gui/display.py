"""Display steps for the GUI (numpy only, no Qt): channel reduction, the overlay, and where a map sits on the image.

These are the same steps as :mod:`core.views` (reduce -> cap -> place on the original -> blend), but they work on
the plain host copies the worker hands over (:class:`~.worker.ImageState`), so the GUI thread never touches a
torch tensor, and they also serve the running mean while a run is still going.
"""

from __future__ import annotations

import numpy as np

from ..core import visualize as vz
from ..core.views import place_on_original


def reduce_map(attr: np.ndarray, view: str, state, multiply_by_input: bool = False) -> np.ndarray:
    """``(C, H, W)`` attribution -> ``(H, W)`` display values (absolute: sum |a|, signed: sum a)."""
    return vz.reduce_channels(attr, view, input=state.x if multiply_by_input else None,
                              multiply_by_input=multiply_by_input)


def map_rect(state) -> tuple[float, float, float, float]:
    """Where the model-input map lies on the displayed image: ``(x, y, w, h)`` in image pixels."""
    if state.raw:
        h, w = state.display.shape[:2]
        return (0.0, 0.0, float(w), float(h))
    left, top, right, bottom = state.box
    return (float(left), float(top), float(right - left), float(bottom - top))


def overlay(state, values: np.ndarray, view: str, *, percentile: float, cmap: str | None, alpha: float,
            span: float | None = None) -> np.ndarray:
    """The capped, coloured map blended over the image at its native resolution (as ``core.views.overlay_rgb``)."""
    capped = vz.cap(values, view, percentile)[0] if span is None else vz.cap_with_span(values, view, span)
    image = state.display
    if state.raw:
        return vz.overlay(image, capped, view, cmap, alpha)
    h, w = image.shape[:2]
    placed = place_on_original(capped, state.box, (w, h))
    return vz.overlay(image, placed, view, cmap, alpha)
