"""Tools to judge whether a map deserves trust (all pure torch/numpy; the GUI and the CLI only show the results).

* :func:`perturbation_curves` — deletion and insertion curves (Petsiuk et al. 2018, arXiv 1806.07421): pixels are
  removed from the image (deletion: replaced by the baseline) or revealed on a blurred copy (insertion) in order of
  attribution, in batched forward passes; the class probability against the fraction changed, with its area under
  the curve (trapezoid rule). A random pixel order is always computed as the reference. For deletion a lower AUC
  is better, for insertion a higher one.
* :func:`cascading_randomization` — the model parameter randomisation test (Adebayo et al. 2018, arXiv
  1810.03292): layers are re-initialised one after another from the top (output) layer down, and after each the
  map is recomputed and compared with the original by Spearman's rank correlation of ``|map|`` (absolute view).
  A map that still looks the same with a random network explains the image, not the model.
* :func:`random_target_test` — the map for another class, compared the same way.
* :class:`PixelProbe` — the per-sample gradients of chosen pixels during a SmoothGrad run (memory bounded: only the
  probed pixels are kept), for a histogram with mean and standard error.
* :func:`rank_correlation` — Spearman's rho with average ranks for ties.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .errors import AttributionError, Cancelled
from .methods import class_scores
from .smoothing import CancelCheck, SmoothingConfig, smooth_attribution
from .visualize import reduce_channels


# ----------------------------------------------------------------------------------------------- statistics
def _average_ranks(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="mergesort")
    ranks = np.empty(len(v), dtype=np.float64)
    sorted_v = v[order]
    boundaries = np.flatnonzero(np.diff(sorted_v)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(v)]))
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + e - 1) / 2.0
    return ranks


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho of two equally shaped arrays (average ranks for ties); 0 when either is constant."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    ra, rb = _average_ranks(a), _average_ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    denominator = math.sqrt(float((ra * ra).sum()) * float((rb * rb).sum()))
    return float((ra * rb).sum() / denominator) if denominator > 0 else 0.0


def auc(fractions: np.ndarray, values: np.ndarray) -> float:
    """Area under ``values`` over ``fractions`` in [0, 1], trapezoid rule."""
    f = np.asarray(fractions, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    return float(np.sum((f[1:] - f[:-1]) * (v[1:] + v[:-1]) / 2.0))


# ----------------------------------------------------------------------------------------------- perturbation
def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of a ``(C, H, W)`` tensor, reflect-padded at the borders."""
    if sigma <= 0:
        return x.clone()
    radius = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-(t * t) / (2 * sigma * sigma))
    kernel = kernel / kernel.sum()
    c = x.shape[0]
    img = x.unsqueeze(0)
    pad_h = min(radius, x.shape[1] - 1)
    pad_w = min(radius, x.shape[2] - 1)
    kh = kernel[radius - pad_h: radius + pad_h + 1] if pad_h < radius else kernel
    kw = kernel[radius - pad_w: radius + pad_w + 1] if pad_w < radius else kernel
    kh, kw = kh / kh.sum(), kw / kw.sum()
    if pad_h > 0:
        img = F.conv2d(F.pad(img, (0, 0, pad_h, pad_h), mode="reflect"), kh.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
    if pad_w > 0:
        img = F.conv2d(F.pad(img, (pad_w, pad_w, 0, 0), mode="reflect"), kw.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return img[0]


def pixel_order(saliency: np.ndarray) -> np.ndarray:
    """Rank of every pixel of a 2-D saliency map: 0 for the most salient (ties keep raster order)."""
    flat = np.asarray(saliency, dtype=np.float64).ravel()
    order = np.argsort(-flat, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank.reshape(np.shape(saliency))


def perturbed(x: torch.Tensor, rank: torch.Tensor, counts: torch.Tensor, kind: str,
              baseline: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
    """A batch of perturbed inputs: row ``k`` changes the ``counts[k]`` top-ranked pixels (all channels).
    Deletion replaces them in ``x`` by ``baseline``; insertion copies them from ``x`` onto ``start``."""
    mask = (rank.unsqueeze(0) < counts.view(-1, 1, 1)).unsqueeze(1)  # (K, 1, H, W)
    if kind == "deletion":
        return torch.where(mask, baseline.unsqueeze(0), x.unsqueeze(0))
    if kind == "insertion":
        return torch.where(mask, x.unsqueeze(0), start.unsqueeze(0))
    raise AttributionError(f"unknown perturbation {kind!r}: use deletion or insertion")


@dataclass
class Curve:
    kind: str  # "deletion" | "insertion"
    order: str  # "attribution" | "random"
    fractions: np.ndarray
    probabilities: np.ndarray
    logits: np.ndarray
    auc: float
    auc_logit: float

    def as_dict(self) -> dict:
        return {"kind": self.kind, "order": self.order, "auc": self.auc, "auc_logit": self.auc_logit,
                "fractions": self.fractions.tolist(), "probabilities": self.probabilities.tolist(),
                "logits": self.logits.tolist()}


@dataclass
class PerturbationResult:
    curves: dict[tuple[str, str], Curve]  # (kind, order) -> curve
    rank: np.ndarray  # pixel ranks by attribution
    random_rank: np.ndarray
    baseline: torch.Tensor
    start: torch.Tensor
    evaluations: int

    def image_at(self, x: torch.Tensor, kind: str, fraction: float, order: str = "attribution") -> torch.Tensor:
        """The perturbed input at ``fraction`` (for a scrubber)."""
        rank = torch.as_tensor(self.rank if order == "attribution" else self.random_rank, device=x.device)
        count = torch.tensor([int(round(fraction * rank.numel()))], device=x.device)
        return perturbed(x, rank, count, kind, self.baseline.to(x.device), self.start.to(x.device))[0]

    def summary(self) -> dict:
        return {f"{kind}_{order}_auc": c.auc for (kind, order), c in self.curves.items()}


def perturbation_curves(forward, x: torch.Tensor, target: int, saliency: np.ndarray, *, steps: int = 50,
                        baseline: torch.Tensor | None = None, blur_sigma: float | None = None,
                        batch_size: int = 32, seed: int = 0, kinds: Sequence[str] = ("deletion", "insertion"),
                        cancel: CancelCheck | None = None) -> PerturbationResult:
    """Deletion and insertion curves of ``saliency`` (2-D, ``(H, W)`` of ``x``; larger = more important) and of a
    random pixel order, ``steps + 1`` points each from fraction 0 to 1."""
    if x.dim() != 3:
        raise AttributionError(f"expected one input (C, H, W), got {tuple(x.shape)}")
    _, h, w = x.shape
    if np.shape(saliency) != (h, w):
        raise AttributionError(f"saliency map of shape {np.shape(saliency)} does not match the input {(h, w)}")
    baseline = torch.zeros_like(x) if baseline is None else baseline.to(x)
    start = gaussian_blur(x, blur_sigma if blur_sigma is not None else max(1.0, min(h, w) / 16.0))
    rank = pixel_order(saliency)
    random_rank = np.random.default_rng(seed).permutation(h * w).reshape(h, w)
    fractions = np.linspace(0.0, 1.0, steps + 1)
    counts_np = np.rint(fractions * h * w).astype(np.int64)
    curves, evaluations = {}, 0
    with torch.no_grad():
        for kind in kinds:
            for order, ranks in (("attribution", rank), ("random", random_rank)):
                rank_t = torch.as_tensor(ranks, device=x.device)
                logits, probs = [], []
                for i in range(0, len(counts_np), batch_size):
                    if cancel is not None and cancel():
                        raise Cancelled()
                    counts = torch.as_tensor(counts_np[i:i + batch_size], device=x.device)
                    scores = class_scores(forward, perturbed(x, rank_t, counts, kind, baseline, start))
                    evaluations += scores.shape[0]
                    logits.append(scores[:, target].float().cpu())
                    probs.append(torch.softmax(scores.float(), dim=1)[:, target].cpu())
                lg, pr = torch.cat(logits).numpy(), torch.cat(probs).numpy()
                curves[(kind, order)] = Curve(kind, order, fractions, pr, lg, auc(fractions, pr), auc(fractions, lg))
    return PerturbationResult(curves, rank, random_rank, baseline, start, evaluations)


# ----------------------------------------------------------------------------------------------- sanity checks
def parameter_layers(module: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    """Modules holding parameters of their own, from the output end back to the input (registration order,
    reversed: torchvision and most models register layers in forward order)."""
    if isinstance(module, torch.jit.ScriptModule):
        raise AttributionError("sanity checks need a Python model: a TorchScript model's layers cannot be re-initialised")
    layers = [(name, m) for name, m in module.named_modules() if any(True for _ in m.parameters(recurse=False))]
    if not layers:
        raise AttributionError("the model has no layers with parameters to randomise")
    return layers[::-1]


def randomize_layer(layer: torch.nn.Module, generator: torch.Generator) -> None:
    """Re-initialise a layer's own parameters: Gaussian with each tensor's own standard deviation (or 0.1 for
    constant tensors such as fresh biases), so scales stay comparable without touching global RNG state."""
    with torch.no_grad():
        for p in layer.parameters(recurse=False):
            std = float(p.float().std()) if p.numel() > 1 else 0.0
            std = std if std > 0 and math.isfinite(std) else 0.1
            p.copy_(torch.randn(p.shape, generator=generator, dtype=torch.float32).to(p) * std)


@dataclass
class SanityResult:
    layers: list[str]
    spearman_abs: list[float]  # rho(|original|, |randomised|) after randomising layers[0..k]
    spearman_signed: list[float]
    maps: list[np.ndarray] = field(default_factory=list)  # reduced absolute maps, if kept

    def as_dict(self) -> dict:
        return {"layers": self.layers, "spearman_abs": self.spearman_abs, "spearman_signed": self.spearman_signed}


def cascading_randomization(module: torch.nn.Module, x: torch.Tensor, target: int,
                            config: SmoothingConfig = SmoothingConfig(), *, baseline: torch.Tensor | None = None,
                            max_layers: int | None = None, seed: int = 0, keep_maps: bool = False,
                            progress: Callable[[int, int, str], None] | None = None,
                            cancel: CancelCheck | None = None) -> SanityResult:
    """Cascading randomisation from the top layer down; the original ``module`` is never modified."""
    layers = parameter_layers(module)
    original = smooth_attribution(module, x, target, config, baseline=baseline, cancel=cancel).attribution
    reference_abs = reduce_channels(original, "absolute")
    reference_signed = reduce_channels(original, "signed")
    work = copy.deepcopy(module)
    by_name = dict(work.named_modules())
    generator = torch.Generator().manual_seed(seed)
    chosen = layers if max_layers is None else layers[:max_layers]
    names, rho_abs, rho_signed, maps = [], [], [], []
    for i, (name, _) in enumerate(chosen):
        randomize_layer(by_name[name], generator)
        attr = smooth_attribution(work, x, target, config, baseline=baseline, cancel=cancel).attribution
        reduced = reduce_channels(attr, "absolute")
        names.append(name or "(model)")
        rho_abs.append(rank_correlation(reference_abs, reduced))
        rho_signed.append(rank_correlation(reference_signed, reduce_channels(attr, "signed")))
        if keep_maps:
            maps.append(reduced)
        if progress is not None:
            progress(i + 1, len(chosen), name)
    return SanityResult(names, rho_abs, rho_signed, maps)


def random_target_test(module, x: torch.Tensor, target: int, config: SmoothingConfig = SmoothingConfig(), *,
                       baseline: torch.Tensor | None = None, seed: int = 0, classes: int | None = None) -> dict:
    """The map for a random other class, compared with the target's map (Spearman of ``|map|``)."""
    if classes is None:
        with torch.no_grad():
            classes = class_scores(module, x.unsqueeze(0)).shape[1]
    if classes < 2:
        raise AttributionError("the random-target test needs a model with at least two classes")
    rng = np.random.default_rng(seed)
    other = int(rng.integers(0, classes - 1))
    other = other + 1 if other >= target else other
    a = smooth_attribution(module, x, target, config, baseline=baseline).attribution
    b = smooth_attribution(module, x, other, config, baseline=baseline).attribution
    return {"target": target, "random_target": other,
            "spearman_abs": rank_correlation(reduce_channels(a, "absolute"), reduce_channels(b, "absolute")),
            "spearman_signed": rank_correlation(reduce_channels(a, "signed"), reduce_channels(b, "signed"))}


# ----------------------------------------------------------------------------------------------- pixel probe
class PixelProbe:
    """Collects, during a SmoothGrad run, the per-sample attribution of a few pixels (every channel).

    Pass it as ``on_batch`` to :func:`smooth_attribution`. Memory: ``n x channels`` floats per probed pixel."""

    def __init__(self, pixels: Sequence[tuple[int, int]]):
        self.pixels = [(int(y), int(x)) for y, x in pixels]
        self._values: dict[tuple[int, int], list[torch.Tensor]] = {p: [] for p in self.pixels}
        self.indices: list[int] = []

    def __call__(self, indices: Sequence[int], attributions: torch.Tensor) -> None:
        self.indices.extend(int(i) for i in indices)
        for (y, x) in self.pixels:
            self._values[(y, x)].append(attributions[:, :, y, x].detach().to("cpu", torch.float64))

    def values(self, pixel: tuple[int, int], view: str = "signed") -> np.ndarray:
        """Per-sample values of ``pixel``: ``(n,)`` after channel reduction (signed: sum, absolute: sum of |.|)."""
        chunks = self._values[(int(pixel[0]), int(pixel[1]))]
        if not chunks:
            return np.zeros(0)
        per_channel = torch.cat(chunks).numpy()  # (n, C)
        return np.abs(per_channel).sum(1) if view == "absolute" else per_channel.sum(1)

    def stats(self, pixel: tuple[int, int], view: str = "signed") -> dict:
        v = self.values(pixel, view)
        n = len(v)
        std = float(v.std(ddof=1)) if n > 1 else 0.0
        return {"n": n, "mean": float(v.mean()) if n else float("nan"), "std": std,
                "standard_error": std / math.sqrt(n) if n > 1 else float("nan")}
