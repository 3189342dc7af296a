"""Rendering an explanation for people: the capped, coloured map placed back onto the original image.

Maps stay in model-input space; these functions make display copies only.
"""

from __future__ import annotations

import numpy as np

from . import visualize as vz
from .explain import Explanation


def model_input_pixels(expl: Explanation) -> np.ndarray:
    """The model input as a ``(C, H, W)`` array (what multiply-by-input multiplies with)."""
    return expl.prepared.x.detach().float().cpu().numpy()


def reduced(expl: Explanation, view: str, *, aggregation: str | None = None, multiply_by_input: bool = False) -> np.ndarray:
    attr = expl.result.aggregate(aggregation)
    return vz.reduce_channels(attr, view, input=model_input_pixels(expl), multiply_by_input=multiply_by_input)


def place_on_original(values: np.ndarray, box, size: tuple[int, int], fill: float = 0.0) -> np.ndarray:
    """Resize a 2-D map onto the ``box`` region of an image of ``size`` (width, height); ``fill`` elsewhere."""
    width, height = size
    left, top, right, bottom = box
    bw, bh = max(1, round(right - left)), max(1, round(bottom - top))
    out = np.full((height, width), fill, dtype=np.float32)
    resized = vz.resize_map(values, (bw, bh))
    x0, y0 = round(left), round(top)
    x1, y1 = min(width, x0 + bw), min(height, y0 + bh)
    out[max(0, y0):y1, max(0, x0):x1] = resized[max(0, -y0):y1 - y0, max(0, -x0):x1 - x0]
    return out


def original_size(expl: Explanation) -> tuple[int, int]:
    if expl.prepared.raw:
        _, h, w = expl.prepared.x.shape
        return int(w), int(h)
    return expl.image.image.size


def heatmap_rgba(expl: Explanation, view: str = "absolute", *, percentile: float = 99.0, cmap: str | None = None,
                 multiply_by_input: bool = False, aggregation: str | None = None, span: float | None = None,
                 clip_mode: str = "percentile", native: bool = True) -> tuple[np.ndarray, float]:
    """The coloured, capped map as RGBA; at the original image's resolution when ``native`` (outside the region
    the model saw is transparent), else at model-input resolution. Returns ``(rgba, span)``."""
    v = reduced(expl, view, aggregation=aggregation, multiply_by_input=multiply_by_input)
    if span is None:
        capped, span = vz.cap(v, view, percentile, mode=clip_mode)
    else:
        capped = vz.cap_with_span(v, view, span)
    if not native or expl.prepared.raw:
        return vz.colorize(capped, view, cmap), span
    size = original_size(expl)
    placed = place_on_original(capped, expl.prepared.box, size)
    rgba = vz.colorize(placed, view, cmap)
    mask = place_on_original(np.ones_like(capped), expl.prepared.box, size) > 0.5
    rgba[..., 3] = np.where(mask, rgba[..., 3], 0)
    return rgba, span


def overlay_rgb(expl: Explanation, view: str = "absolute", *, percentile: float = 99.0, cmap: str | None = None,
                alpha: float = 0.6, multiply_by_input: bool = False, aggregation: str | None = None,
                span: float | None = None, clip_mode: str = "percentile") -> np.ndarray:
    """The capped map blended over the original image (model-input space for raw inputs)."""
    v = reduced(expl, view, aggregation=aggregation, multiply_by_input=multiply_by_input)
    capped = vz.cap(v, view, percentile, mode=clip_mode)[0] if span is None else vz.cap_with_span(v, view, span)
    if expl.prepared.raw:
        return vz.overlay(expl.prepared.visible, capped, view, cmap, alpha)
    image = np.asarray(expl.image.image.convert("RGB"))
    placed = place_on_original(capped, expl.prepared.box, expl.image.image.size)
    return vz.overlay(image, placed, view, cmap, alpha)
