"""The SmoothGrad paper's experiments as pure functions (the GUI panels only draw their results).

* :func:`sigma_n_grid` — Figs 3-4: rows are noise levels, columns sample counts ``n``; one run of ``max(n)``
  samples per row, column ``n`` being the prefix mean of the first ``n`` samples, so the grid costs exactly
  ``len(levels) * max(ns)`` gradient evaluations.
* :func:`class_difference` — discriminativity (section 4): the maps of two classes with the same noise samples (so
  the difference is not blurred by independent noise), and :func:`difference_map`, their difference as displayed.
* :func:`gradient_fluctuation` — Fig 2: ``max_i dS_c/dx_i`` and ``S_c`` along ``x + t * eps`` for one random ``eps``.
* :func:`method_strip` — gradient, SmoothGrad, IG, IG + SmoothGrad, Guided BP, Guided BP + SmoothGrad.
* :func:`noise_training_grid` — section 5: {clean model, noise-trained model} x {gradient, SmoothGrad}.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import numpy as np
import torch

from .errors import AttributionError, Cancelled
from .methods import input_gradient
from . import visualize as vz
from .smoothing import CancelCheck, SmoothingConfig, SmoothingResult, noise_sigma, sample_noise, smooth_attribution

GRID_LEVELS = (0.0, 0.10, 0.20, 0.30, 0.40, 0.50)
GRID_SAMPLES = (1, 5, 10, 25, 50, 100)

# (label, method, aggregation)
STRIP = (
    ("Gradient", "gradient", "none"),
    ("SmoothGrad", "gradient", "smoothgrad"),
    ("Integrated Gradients", "integrated-gradients", "none"),
    ("IG + SmoothGrad", "integrated-gradients", "smoothgrad"),
    ("Guided Backprop", "guided-backprop", "none"),
    ("Guided BP + SmoothGrad", "guided-backprop", "smoothgrad"),
)

StepCallback = Callable[[int, int], None]  # (evaluations done, evaluations total)


@dataclass
class GridResult:
    levels: tuple[float, ...]
    ns: tuple[int, ...]
    maps: list[list[np.ndarray]]  # maps[row][col] = mean of the first ns[col] samples at levels[row], (C, H, W)
    sigmas: list[float]
    evaluations: int


def sigma_n_grid(forward, x: torch.Tensor, target: int, *, levels: Sequence[float] = GRID_LEVELS,
                 ns: Sequence[int] = GRID_SAMPLES, config: SmoothingConfig = SmoothingConfig(),
                 baseline: torch.Tensor | None = None, guided_ok: bool = True,
                 step: StepCallback | None = None, cancel: CancelCheck | None = None,
                 row_done: Callable[[int, list[np.ndarray]], None] | None = None) -> GridResult:
    ns = tuple(sorted({int(n) for n in ns}))
    if not ns or ns[0] < 1:
        raise AttributionError("the grid needs sample counts >= 1")
    top = ns[-1]
    maps, sigmas, evaluations = [], [], 0
    total = len(levels) * top * (config.steps if config.method == "integrated-gradients" else 1)
    for row, level in enumerate(levels):
        cfg = replace(config, aggregation="smoothgrad", noise_level=float(level), n_samples=top)

        def progress(p, _row=row):
            if step is not None:
                per = total // (len(levels) * top)
                step((_row * top + p.done) * per, total)

        result = smooth_attribution(forward, x, target, cfg, baseline=baseline, guided_ok=guided_ok,
                                    snapshots=ns, progress=progress, cancel=cancel)
        evaluations += result.evaluations
        row_maps = [result.snapshots[n] for n in ns]
        maps.append(row_maps)
        sigmas.append(result.sigma)
        if row_done is not None:
            row_done(row, row_maps)
    return GridResult(tuple(float(v) for v in levels), ns, maps, sigmas, evaluations)


def class_difference(forward, x: torch.Tensor, c1: int, c2: int, config: SmoothingConfig = SmoothingConfig(), *,
                     baseline: torch.Tensor | None = None, guided_ok: bool = True,
                     cancel: CancelCheck | None = None) -> tuple[np.ndarray, SmoothingResult, SmoothingResult]:
    """``(M_c1 - M_c2, r1, r2)``: both classes' maps with the configured method/aggregation and the same seed, and
    their raw difference in model-input space. What the figure shows is :func:`difference_map` of the two."""
    r1 = smooth_attribution(forward, x, c1, config, baseline=baseline, guided_ok=guided_ok, cancel=cancel)
    r2 = smooth_attribution(forward, x, c2, config, baseline=baseline, guided_ok=guided_ok, cancel=cancel)
    return r1.attribution - r2.attribution, r1, r2


DIFFERENCE_NORMALISATIONS = ("percentile", "raw")


@dataclass
class DifferenceMap:
    """``D = v1 / s1 - v2 / s2`` after channel reduction, in model-input space ``(H, W)``."""

    d: np.ndarray
    v1: np.ndarray
    """Class 1's reduced map divided by its scale ``s1`` (so ``D = v1 - v2``)."""
    v2: np.ndarray
    s1: float
    s2: float
    view: str
    normalise: str


def difference_map(m1: np.ndarray, m2: np.ndarray, view: str = "absolute", *, normalise: str = "percentile",
                   percentile: float = 99.0, input: np.ndarray | None = None,
                   multiply_by_input: bool = False) -> DifferenceMap:
    """The discriminativity map of two attributions ``(C, H, W)`` of the same input, in the given ``view``.

    Each map is channel-reduced in ``view`` first (absolute: ``sum_c |a|``; signed: ``sum_c a``), so in the
    absolute view ``D = |M1| - |M2|``: where class 1's evidence is stronger ``D > 0``, where class 2's is, ``D < 0``.
    With ``normalise="percentile"`` (the default) each reduced map is divided by the ``percentile`` of its own
    ``|v|`` before subtracting: the gradients of different logits differ in scale by orders of magnitude (for the
    embedded MNIST CNN, ``7`` against ``1``: +-0.03 against +-0.7), and a raw difference is just the larger map
    with its sign flipped. ``normalise="raw"`` subtracts the reduced maps as they are. A map that is all zero keeps
    scale 1 (it contributes nothing either way)."""
    if normalise not in DIFFERENCE_NORMALISATIONS:
        raise AttributionError(f"unknown normalisation {normalise!r}; choose one of {', '.join(DIFFERENCE_NORMALISATIONS)}")
    v1 = vz.reduce_channels(m1, view, input=input, multiply_by_input=multiply_by_input).astype(np.float64)
    v2 = vz.reduce_channels(m2, view, input=input, multiply_by_input=multiply_by_input).astype(np.float64)
    s1 = s2 = 1.0
    if normalise == "percentile":
        s1 = vz.compute_span(v1, view, percentile) or 1.0
        s2 = vz.compute_span(v2, view, percentile) or 1.0
    a, b = v1 / s1, v2 / s2
    return DifferenceMap((a - b).astype(np.float32), a.astype(np.float32), b.astype(np.float32), float(s1),
                         float(s2), view, normalise)


@dataclass
class FluctuationResult:
    t: np.ndarray
    max_partial: np.ndarray  # max_i dS_c/dx_i (x + t eps)
    score: np.ndarray  # S_c(x + t eps)
    sigma: float
    pixel: int  # flat index of the input element whose partial derivative is largest at t = 0
    partial_at_pixel: np.ndarray = field(default_factory=lambda: np.zeros(0))


def gradient_fluctuation(forward, x: torch.Tensor, target: int, *, points: int = 200, noise_level: float = 0.1,
                         seed: int = 0, batch_size: int = 50, cancel: CancelCheck | None = None) -> FluctuationResult:
    """Fig 2 of the paper: how sharply the raw gradient jumps along a line ``x + t * eps``, ``t`` in [0, 1]."""
    if points < 2:
        raise AttributionError("the fluctuation plot needs at least 2 points")
    sigma = noise_sigma(x, noise_level)
    eps = sample_noise(x.shape, [0], seed, x.device, x.dtype)[0] * sigma
    ts = torch.linspace(0.0, 1.0, points, device=x.device, dtype=x.dtype)
    maxima, scores, partials = [], [], []
    pixel = None
    for start in range(0, points, batch_size):
        if cancel is not None and cancel():
            raise Cancelled()
        t = ts[start:start + batch_size]
        batch = x.unsqueeze(0) + t.view(-1, 1, 1, 1) * eps
        grad, s = input_gradient(forward, batch, target)
        flat = grad.flatten(1)
        if pixel is None:
            pixel = int(flat[0].argmax())
        maxima.append(flat.max(dim=1).values)
        partials.append(flat[:, pixel])
        scores.append(s[:, target])
    return FluctuationResult(
        t=ts.cpu().numpy(), max_partial=torch.cat(maxima).float().cpu().numpy(),
        score=torch.cat(scores).float().cpu().numpy(), sigma=sigma, pixel=int(pixel),
        partial_at_pixel=torch.cat(partials).float().cpu().numpy(),
    )


def method_strip(forward, x: torch.Tensor, target: int, config: SmoothingConfig = SmoothingConfig(), *,
                 baseline: torch.Tensor | None = None, guided_ok: bool = True, cancel: CancelCheck | None = None,
                 entries=STRIP, done: Callable[[int, str, SmoothingResult], None] | None = None
                 ) -> list[tuple[str, SmoothingResult | None, str | None]]:
    """Each entry of the strip: ``(label, result, error)``; an entry the model cannot do (guided backprop on
    TorchScript) carries its one-line error instead of aborting the strip."""
    out = []
    for i, (label, method, aggregation) in enumerate(entries):
        cfg = replace(config, method=method, aggregation=aggregation)
        try:
            result = smooth_attribution(forward, x, target, cfg, baseline=baseline, guided_ok=guided_ok, cancel=cancel)
            out.append((label, result, None))
        except AttributionError as exc:
            result = None
            out.append((label, None, str(exc)))
        if done is not None:
            done(i, label, result)
    return out


def noise_training_grid(clean_forward, noisy_forward, x: torch.Tensor, target: int,
                        config: SmoothingConfig = SmoothingConfig(), *, cancel: CancelCheck | None = None
                        ) -> dict[tuple[str, str], SmoothingResult]:
    """Section 5: ``{("clean"|"noise-trained", "gradient"|"smoothgrad"): result}`` for the same input and target."""
    out = {}
    for model_name, fwd in (("clean", clean_forward), ("noise-trained", noisy_forward)):
        for agg in ("none", "smoothgrad"):
            cfg = replace(config, method="gradient", aggregation=agg)
            out[(model_name, "gradient" if agg == "none" else "smoothgrad")] = smooth_attribution(
                fwd, x, target, cfg, cancel=cancel)
    return out
