"""Numpy-only helpers for the trust tools of the GUI (no Qt, no torch): the model input as an image, the perturbed
image at a scrubber position, the uncertainty maps, and the labels of the methods one can compare.

* :func:`input_rgb` shows a model input ``(C, H, W)`` in model-input space: a normalised input is first
  un-normalised with the pipeline's mean/std (``x * std + mean``), then pixels in [0, 1] become 0..255; a raw
  (``.npy``) input is min-max scaled with the range of the *unperturbed* input (so the baseline and the blurred
  start are shown on the same scale). Every pixel is mapped on its own, so the image of a perturbed input equals
  the perturbation of the images: :func:`perturbed_rgb` selects pixels from the precomputed images exactly as
  core ``trust.perturbed`` selects them from the tensors (``PerturbationResult.image_at``).
* :func:`uncertainty_maps` turns one SmoothGrad pass into the standard error of the mean per pixel and the
  signal-to-noise ratio ``|mean| / SE`` (core ``SmoothingResult.standard_error``).
"""

from __future__ import annotations

import numpy as np

from . import visualize as vz
from .methods import METHOD_LABELS

__all__ = ["input_rgb", "perturbed_rgb", "count_at", "uncertainty_maps", "method_label", "COMPARE_CHOICES",
           "thumbnail"]

COMPARE_CHOICES: tuple[tuple[str, str | None, str | None], ...] = (
    ("Nothing", None, None),
    ("Gradient (no noise)", "gradient", "none"),
    ("SmoothGrad", "gradient", "smoothgrad"),
    ("Gradient × Input", "gradient-x-input", "none"),
    ("Integrated Gradients", "integrated-gradients", "none"),
    ("Guided Backprop", "guided-backprop", "none"),
)
"""The second method of the faithfulness plot: ``(label, method, aggregation)``; ``None`` for no second curve."""


def method_label(method: str, aggregation: str) -> str:
    """``("gradient", "smoothgrad")`` -> ``"SmoothGrad"``, ``("integrated-gradients", "none")`` -> ``"Integrated
    Gradients"``, ``("guided-backprop", "vargrad")`` -> ``"Guided Backprop + VarGrad"``."""
    base = METHOD_LABELS.get(method, method)
    agg = {"smoothgrad": "SmoothGrad", "smoothgrad-sq": "SmoothGrad²", "vargrad": "VarGrad"}.get(aggregation)
    if agg is None:
        return base
    return agg if method == "gradient" else f"{base} + {agg}"


def input_rgb(x: np.ndarray, *, mean=None, std=None, raw: bool = False,
              value_range: tuple[float, float] | None = None) -> np.ndarray:
    """``(C, H, W)`` model input -> ``(H, W, 3)`` uint8 (see the module docstring). One channel is grey; other
    counts than 1 or 3 show the channel mean."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ValueError(f"expected a (C, H, W) input, got shape {np.shape(x)}")
    c = a.shape[0]
    if raw:
        lo, hi = value_range if value_range is not None else (float(a.min()), float(a.max()))
        scaled = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    else:
        if mean is not None and std is not None:
            m = np.asarray(mean, dtype=np.float64).reshape(-1, 1, 1)
            s = np.asarray(std, dtype=np.float64).reshape(-1, 1, 1)
            a = a * s + m
        scaled = a
    if c == 3:
        hwc = np.transpose(scaled, (1, 2, 0))
    elif c == 1:
        hwc = np.repeat(scaled[0][:, :, None], 3, axis=2)
    else:
        hwc = np.repeat(scaled.mean(axis=0)[:, :, None], 3, axis=2)
    return np.clip(np.rint(hwc * 255.0), 0, 255).astype(np.uint8)


def count_at(fraction: float, pixels: int) -> int:
    """How many pixels are changed at ``fraction`` (the rounding of core ``PerturbationResult.image_at``)."""
    return int(round(float(fraction) * int(pixels)))


def perturbed_rgb(x_rgb: np.ndarray, other_rgb: np.ndarray, rank: np.ndarray, fraction: float,
                  kind: str) -> np.ndarray:
    """The image of the perturbed input at ``fraction``: deletion puts ``other_rgb`` (the baseline) on the
    ``count`` top-ranked pixels of ``x_rgb``; insertion puts those pixels of ``x_rgb`` on ``other_rgb`` (the
    blurred start)."""
    rank = np.asarray(rank)
    mask = (rank < count_at(fraction, rank.size))[..., None]
    if kind == "deletion":
        return np.where(mask, other_rgb, x_rgb)
    if kind == "insertion":
        return np.where(mask, x_rgb, other_rgb)
    raise ValueError(f"unknown perturbation {kind!r}: use deletion or insertion")


def uncertainty_maps(mean: np.ndarray, standard_error: np.ndarray, view: str, *, x: np.ndarray | None = None,
                     multiply_by_input: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(SE map, SNR map)``, both ``(H, W)`` float32 and >= 0, from one pass.

    SE per pixel: the standard errors of the channels summed (``sum_c SE_c``; exactly the SE for one channel, an
    upper bound on the SE of the channel sum otherwise), times ``|x|`` with multiply-by-input. SNR: the map's
    magnitude in ``view`` divided by that SE (``|mean| / SE`` for one channel); 0 where SE is 0."""
    se = np.asarray(standard_error, dtype=np.float64)
    if multiply_by_input and x is not None:
        se = se * np.abs(np.asarray(x, dtype=np.float64))
    se_map = vz.reduce_channels(se, "absolute")
    signal = np.abs(vz.reduce_channels(mean, view, input=x, multiply_by_input=multiply_by_input and x is not None))
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.where(se_map > 0, signal / np.where(se_map > 0, se_map, 1.0), 0.0)
    return se_map.astype(np.float32), snr.astype(np.float32)


def thumbnail(values: np.ndarray, size: int = 64) -> np.ndarray:
    """A 2-D map shrunk so that its longer side is at most ``size`` (bilinear; small maps are kept as they are)."""
    v = np.asarray(values, dtype=np.float32)
    h, w = v.shape
    if max(h, w) <= size:
        return v.copy()
    scale = size / float(max(h, w))
    return vz.resize_map(v, (max(1, round(w * scale)), max(1, round(h * scale))))
