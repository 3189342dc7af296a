"""SmoothGrad and its relatives as one streaming pass over noisy copies of the input.

For noisy copies ``x_i = x + eps_i``, ``eps_i ~ N(0, sigma^2)`` i.i.d. per element, with

    sigma = noise_level * (max(x) - min(x))       (over the whole input tensor, in model-input space)

one pass of ``n`` samples of a base method ``M_c`` gives every aggregation at once:

* ``smoothgrad``    ``(1/n) sum_i M_c(x_i)``                 (the paper's method)
* ``smoothgrad-sq`` ``(1/n) sum_i M_c(x_i)^2``
* ``vargrad``       ``(1/n) sum_i (M_c(x_i) - mean)^2``      (population variance)
* ``none``          ``M_c(x)``                               (one evaluation, no noise)

The running count, mean, mean of squares and sum of squared deviations (M2) are merged batch by batch with
Chan et al.'s parallel form of Welford's update, so VarGrad never suffers the cancellation of
``E[a^2] - E[a]^2`` and memory does not grow with ``n``: only one batch of gradients exists at a time.

Noise is drawn per sample index from its own generator seeded by ``(seed, index)``, so the result does not
depend on the batch size (up to float summation order) and a seed reproduces a run on the same device.
Noisy inputs are not clipped back into the input range.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from .errors import AttributionError, Cancelled
from .methods import METHODS, Forward, MethodContext, evaluations_per_sample

AGGREGATIONS = ("smoothgrad", "smoothgrad-sq", "vargrad", "none")
AGGREGATION_LABELS = {
    "smoothgrad": "SmoothGrad (mean)",
    "smoothgrad-sq": "SmoothGrad² (mean of squares)",
    "vargrad": "VarGrad (variance)",
    "none": "None (single evaluation)",
}
DEFAULT_NOISE_LEVEL = 0.15
DEFAULT_SAMPLES = 50
DEFAULT_STEPS = 50


@dataclass(frozen=True)
class SmoothingConfig:
    method: str = "gradient"
    aggregation: str = "smoothgrad"
    noise_level: float = DEFAULT_NOISE_LEVEL
    n_samples: int = DEFAULT_SAMPLES
    steps: int = DEFAULT_STEPS
    seed: int = 0
    batch_size: int | None = None
    """Model input rows per forward/backward pass; ``None`` chooses automatically (see :func:`auto_batch_size`)."""
    quadrature: str = "gauss-legendre"

    def validate(self) -> None:
        if self.method not in METHODS:
            raise AttributionError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.aggregation not in AGGREGATIONS:
            raise AttributionError(f"unknown aggregation {self.aggregation!r}; choose one of {', '.join(AGGREGATIONS)}")
        if not (math.isfinite(self.noise_level) and self.noise_level >= 0):
            raise AttributionError(f"noise level must be a finite number >= 0, got {self.noise_level}")
        if self.n_samples < 1:
            raise AttributionError(f"the number of samples must be at least 1, got {self.n_samples}")
        if self.steps < 1:
            raise AttributionError(f"integrated gradients needs at least 1 step, got {self.steps}")
        if self.batch_size is not None and self.batch_size < 1:
            raise AttributionError(f"batch size must be at least 1, got {self.batch_size}")

    @property
    def effective_samples(self) -> int:
        return 1 if self.aggregation == "none" else self.n_samples

    @property
    def effective_noise_level(self) -> float:
        return 0.0 if self.aggregation == "none" else self.noise_level


def noise_sigma(x: torch.Tensor, noise_level: float) -> float:
    """The paper's absolute noise scale: ``noise_level * (max(x) - min(x))`` over the whole input tensor."""
    return float(noise_level) * float(x.max() - x.min())


def sample_seed(seed: int, index: int) -> int:
    """The generator seed of sample ``index``: independent streams per index, fixed by ``seed``."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFFFFFFFFFF, int(index)]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def sample_noise(shape: Sequence[int], indices: Sequence[int], seed: int, device: torch.device,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Standard normal noise of shape ``(len(indices), *shape)``, row ``r`` drawn from the stream of ``indices[r]``.

    Generated on ``device`` (no host transfer on GPUs)."""
    out = torch.empty((len(indices), *shape), device=device, dtype=dtype)
    gen = torch.Generator(device=device)
    for row, index in enumerate(indices):
        gen.manual_seed(sample_seed(seed, index))
        out[row].normal_(generator=gen)
    return out


class StreamingMoments:
    """Running count, mean, mean of squares and M2 of batches of equally shaped tensors (Chan/Welford)."""

    def __init__(self, shape: Sequence[int], device: torch.device, dtype: torch.dtype) -> None:
        self.count = 0
        self.mean = torch.zeros(shape, device=device, dtype=dtype)
        self.mean_sq = torch.zeros(shape, device=device, dtype=dtype)
        self.m2 = torch.zeros(shape, device=device, dtype=dtype)

    def update(self, batch: torch.Tensor) -> None:
        b = batch.shape[0]
        if b == 0:
            return
        batch = batch.to(self.mean.dtype)
        batch_mean = batch.mean(dim=0)
        batch_m2 = (batch - batch_mean).square_().sum(dim=0)
        batch_mean_sq = batch.square().mean(dim=0)
        n_old = self.count
        n_new = n_old + b
        delta = batch_mean - self.mean
        self.mean.add_(delta, alpha=b / n_new)
        self.mean_sq.add_(batch_mean_sq - self.mean_sq, alpha=b / n_new)
        self.m2.add_(batch_m2).add_(delta.square_(), alpha=n_old * b / n_new)
        self.count = n_new

    @property
    def variance(self) -> torch.Tensor:
        """Population variance ``M2 / n`` (zero before any update)."""
        return self.m2 / max(self.count, 1)


@dataclass
class Progress:
    """What a progress callback receives after each batch. ``running_mean()`` copies the current mean to the host
    only when called, so a caller that does not ask costs no device synchronisation."""

    done: int
    total: int
    elapsed: float
    _moments: StreamingMoments = field(repr=False)
    _convergence: list = field(repr=False)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @property
    def eta(self) -> float:
        """Seconds left at the current rate."""
        return self.elapsed / self.done * (self.total - self.done) if self.done else float("nan")

    def running_mean(self) -> np.ndarray:
        return self._moments.mean.detach().to("cpu", torch.float32).numpy().copy()

    def convergence(self) -> list[tuple[int, float]]:
        return [(n, float(v)) for n, v in self._convergence]


@dataclass
class SmoothingResult:
    """All aggregations of one pass; arrays are float32 ``(C, H, W)`` in model-input space."""

    config: SmoothingConfig
    mean: np.ndarray
    mean_sq: np.ndarray
    variance: np.ndarray
    n: int
    sigma: float
    noise_level: float
    evaluations: int
    batch_size: int
    seconds: float
    device: str
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)
    """Prefix means: ``snapshots[k]`` is the mean of the first ``k`` samples."""
    convergence: list[tuple[int, float]] = field(default_factory=list)
    """``(n, ||mean_n - mean_prev|| / ||mean_n||)`` after every batch."""

    def aggregate(self, aggregation: str | None = None) -> np.ndarray:
        """The map for ``aggregation`` (default: the configured one)."""
        aggregation = aggregation or self.config.aggregation
        if aggregation in ("smoothgrad", "none"):
            return self.mean
        if aggregation == "smoothgrad-sq":
            return self.mean_sq
        if aggregation == "vargrad":
            return self.variance
        raise AttributionError(f"unknown aggregation {aggregation!r}")

    @property
    def attribution(self) -> np.ndarray:
        return self.aggregate()

    @property
    def standard_error(self) -> np.ndarray:
        """Standard error of the SmoothGrad mean per element: ``sqrt(var / (n - 1))`` (sample variance / n)."""
        if self.n < 2:
            return np.zeros_like(self.mean)
        return np.sqrt(self.variance * (self.n / (self.n - 1)) / self.n).astype(np.float32)


ProgressCallback = Callable[[Progress], None]
CancelCheck = Callable[[], bool]
BatchCallback = Callable[[Sequence[int], torch.Tensor], None]


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA OOM, MPS OOM and CPU allocation failures all look different; recognise each."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc)
    return isinstance(exc, (RuntimeError, MemoryError)) and (
        "out of memory" in text.lower()
        or "DefaultCPUAllocator: can't allocate memory" in text
        or "MPS backend out of memory" in text
        or isinstance(exc, MemoryError)
    )


def auto_batch_size(x: torch.Tensor, n_rows: int, device: torch.device) -> int:
    """A starting batch size: as many rows as fit a conservative budget for the input size.

    On out-of-memory the engine halves and retries, so this only needs to be a good first guess."""
    per_row = max(1, x.numel())
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        # ~ 400 floats of activations and gradients per input element is generous for common CNNs
        budget_rows = int(0.5 * free / (per_row * 4 * 400))
        cap = 256
    else:
        budget_rows = int(8_000_000 / per_row)
        cap = 64
    rows = max(1, min(cap, budget_rows))
    if rows < n_rows:
        rows = 1 << (rows.bit_length() - 1)  # a power of two below the budget
    return max(1, min(rows, n_rows))


def smooth_attribution(
    forward: Forward,
    x: torch.Tensor,
    target: int,
    config: SmoothingConfig = SmoothingConfig(),
    *,
    baseline: torch.Tensor | None = None,
    guided_ok: bool = True,
    snapshots: Sequence[int] = (),
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    on_batch: BatchCallback | None = None,
    accumulate_dtype: torch.dtype | None = None,
) -> SmoothingResult:
    """Run ``config.method`` aggregated by ``config.aggregation`` on one input ``x`` of shape ``(C, H, W)``.

    ``forward`` must already live on ``x``'s device in eval mode. ``progress`` is called after every batch;
    ``cancel`` is checked before every batch (raise :class:`Cancelled`). ``on_batch(indices, attributions)``
    sees every batch of per-sample maps (e.g. for a pixel probe) before they are merged and dropped.
    Gradient mode is enabled here, so the function works from any thread.
    """
    config.validate()
    if x.dim() != 3:
        raise AttributionError(f"expected one input of shape (C, H, W), got {tuple(x.shape)}")
    device = x.device
    method = METHODS[config.method]
    n = config.effective_samples
    level = config.effective_noise_level
    sigma = noise_sigma(x, level)
    per_sample = evaluations_per_sample(config.method, config.steps)
    rows_wanted = n * per_sample
    rows = config.batch_size or auto_batch_size(x, rows_wanted, device)
    if accumulate_dtype is None:
        accumulate_dtype = torch.float32 if device.type == "mps" else torch.float64
    moments = StreamingMoments(x.shape, device, accumulate_dtype)
    kept: dict[int, torch.Tensor] = {}
    convergence: list = []
    wanted = {int(s) for s in snapshots if 0 < int(s) <= n}
    evaluations = 0
    t0 = time.perf_counter()
    previous = None
    start = 0
    while start < n:
        if cancel is not None and cancel():
            raise Cancelled()
        samples_per_batch = max(1, rows // per_sample)
        stop = min(n, start + samples_per_batch)
        # end the chunk at the next snapshot so prefix means are exact
        for s in sorted(wanted):
            if start < s < stop:
                stop = s
                break
        indices = list(range(start, stop))
        context = MethodContext(steps=config.steps, baseline=baseline, quadrature=config.quadrature,
                                max_rows=rows, guided_ok=guided_ok)
        try:
            with torch.enable_grad():
                if sigma > 0:
                    noise = sample_noise(x.shape, indices, config.seed, device, x.dtype)
                    batch = x.unsqueeze(0) + noise.mul_(sigma)
                    del noise
                else:
                    batch = x.unsqueeze(0).expand(len(indices), *x.shape).contiguous()
                attributions = method(forward, batch, target, context=context)
            del batch
        except Exception as exc:  # noqa: BLE001 - classify then re-raise
            if is_out_of_memory(exc) and rows > 1:
                rows = max(1, rows // 2)
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                continue  # retry the same sample indices: the noise is per index, so nothing changes
            raise
        evaluations += len(indices) * per_sample
        if on_batch is not None:
            on_batch(indices, attributions)
        moments.update(attributions)
        del attributions
        if stop in wanted:
            kept[stop] = moments.mean.detach().clone()
        if previous is not None:
            denominator = torch.linalg.vector_norm(moments.mean)
            change = torch.linalg.vector_norm(moments.mean - previous) / torch.clamp(denominator, min=1e-30)
            convergence.append((stop, change))
        previous = moments.mean.detach().clone()
        start = stop
        if progress is not None:
            progress(Progress(start, n, time.perf_counter() - t0, moments, convergence))

    def host(t: torch.Tensor) -> np.ndarray:
        return t.detach().to("cpu", torch.float32).numpy()

    mean = host(moments.mean)
    if not np.all(np.isfinite(mean)):
        raise AttributionError("the attribution is not finite (NaN/Inf): the model's scores or gradients are not finite")
    return SmoothingResult(
        config=config,
        mean=mean,
        mean_sq=host(moments.mean_sq),
        variance=host(moments.variance),
        n=n,
        sigma=sigma,
        noise_level=level,
        evaluations=evaluations,
        batch_size=rows,
        seconds=time.perf_counter() - t0,
        device=str(device),
        snapshots={k: host(v) for k, v in sorted(kept.items())},
        convergence=[(k, float(v)) for k, v in convergence],
    )
