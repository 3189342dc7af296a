"""Display steps for the GUI (numpy only, no Qt): channel reduction, the overlay, and where a map sits on the image.

These are the same steps as :mod:`core.views` (reduce -> cap -> place on the original -> blend), but they work on
the plain host copies the worker hands over (``gui.worker.ImageState``), so the GUI thread never touches a
torch tensor, and they also serve the running mean while a run is still going.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from . import visualize as vz
from .views import place_on_original


def reduce_map(attr: np.ndarray, view: str, state, multiply_by_input: bool = False) -> np.ndarray:
    """``(C, H, W)`` attribution -> ``(H, W)`` display values (absolute: sum |a|, signed: sum a)."""
    return vz.reduce_channels(attr, view, input=state.x if multiply_by_input else None,
                              multiply_by_input=multiply_by_input)


def map_span(values: np.ndarray, params, locked: float | None = None) -> float:
    """The span the heatmap and its export use for ``values`` (the reduced map): the locked one, else the one the
    display parameters' clip mode finds (``params``: view, percentile, clip_mode)."""
    return locked if locked is not None else vz.compute_span(values, params.view, params.percentile,
                                                             mode=params.clip_mode)


def map_rect(state) -> tuple[float, float, float, float]:
    """Where the model-input map lies on the displayed image: ``(x, y, w, h)`` in image pixels."""
    if state.raw:
        h, w = state.display.shape[:2]
        return (0.0, 0.0, float(w), float(h))
    left, top, right, bottom = state.box
    return (float(left), float(top), float(right - left), float(bottom - top))


SCREEN_MAX_SIDE = 1024
"""The on-screen overlay is blended at most this many pixels on its long side and stretched over the image:
blending a 1920x1080 photo at full size took 160-480 ms of GUI-thread time per partial map on a 2-core CPU.
Exports blend at native resolution (``core.views.overlay_rgb``)."""

def screen_image(state, max_side: int = SCREEN_MAX_SIDE) -> np.ndarray:
    """``state.display`` scaled down to ``max_side`` on its long side (cached per image state)."""
    image = state.display
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    cached = getattr(state, "_screen_image", None)  # kept on the state: it lives exactly as long as the image
    if cached is None or cached[0] != max_side:
        scale = max_side / max(h, w)
        small = np.asarray(Image.fromarray(image).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                                         Image.BILINEAR))
        cached = (max_side, small)
        object.__setattr__(state, "_screen_image", cached)
    return cached[1]


def overlay(state, values: np.ndarray, view: str, *, percentile: float, cmap: str | None, alpha: float,
            span: float | None = None, max_side: int | None = SCREEN_MAX_SIDE) -> np.ndarray:
    """The capped, coloured map blended over the image (as ``core.views.overlay_rgb``), at native resolution when
    ``max_side`` is None, else on a copy at most ``max_side`` pixels long (show it stretched to
    :func:`image_rect`)."""
    capped = vz.cap(values, view, percentile)[0] if span is None else vz.cap_with_span(values, view, span)
    if state.raw:
        return vz.overlay(state.display, capped, view, cmap, alpha)
    image = state.display if max_side is None else screen_image(state, max_side)
    h, w = image.shape[:2]
    full_h, full_w = state.display.shape[:2]
    sx, sy = w / full_w, h / full_h
    left, top, right, bottom = state.box
    placed = place_on_original(capped, (left * sx, top * sy, right * sx, bottom * sy), (w, h))
    return vz.overlay(image, placed, view, cmap, alpha)


def image_rect(state) -> tuple[float, float, float, float]:
    """The whole displayed image in image pixels, ``(0, 0, W, H)``."""
    h, w = state.display.shape[:2]
    return (0.0, 0.0, float(w), float(h))
