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

Noise is drawn in fixed blocks of sample indices, each from its own generator seeded by ``(seed, block)``
(:class:`NoiseSource`), so the result does not depend on the batch size (up to float summation order) and a seed reproduces a run on the same device.
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

from .schema import (  # noqa: F401 - re-exported: the schema defines them, older imports read them here
    AGGREGATION_LABELS, AGGREGATIONS, DEFAULT_NOISE_LEVEL, DEFAULT_SAMPLES, DEFAULT_STEPS, FIELDS, PRECISIONS,
    check, check_total,
)

FIDELITY_RHO = 0.99
FIDELITY_IOU = 0.9


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
    precision: str = "fp32"
    """``fp32``, or ``bf16``: autocast the model to bfloat16, kept only if the first batch passes the fidelity gate
    (:func:`fidelity`: Spearman rho >= 0.99 and top-5 % IoU >= 0.9 against fp32 on the same noisy samples)."""

    def validate(self) -> None:
        """Every field within the bounds of :mod:`.schema`, and the run's total work within its cap."""
        for f in FIELDS:
            check(f.name, getattr(self, f.name))
        check_total(self.method, self.n_samples, self.steps, self.aggregation)

    @property
    def effective_samples(self) -> int:
        return 1 if self.aggregation == "none" else self.n_samples

    @property
    def effective_noise_level(self) -> float:
        return 0.0 if self.aggregation == "none" else self.noise_level


def noise_sigma(x: torch.Tensor, noise_level: float) -> float:
    """The paper's absolute noise scale: ``noise_level * (max(x) - min(x))`` over the whole input tensor."""
    return float(noise_level) * float(x.max() - x.min())


_MASK64 = (1 << 64) - 1


def _splitmix64(value: int) -> int:
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def sample_seed(seed: int, index: int) -> int:
    """The generator seed of noise block ``index``: independent streams per block, fixed by ``seed`` (SplitMix64
    of the pair, a microsecond each)."""
    return _splitmix64(_splitmix64(int(seed) & _MASK64) ^ (int(index) & _MASK64)) >> 1


def noise_block_size(shape: Sequence[int]) -> int:
    """Samples per noise block: a power of two up to 16 keeping a block near 2**22 elements. It depends on the
    input's shape only, never on the batch size, so the noise of sample ``i`` is the same for every batching."""
    numel = max(1, int(np.prod(shape)))
    block = max(1, min(16, (1 << 22) // numel))
    return 1 << (block.bit_length() - 1)


class NoiseSource:
    """Standard normal noise for sample indices, drawn in fixed blocks of :func:`noise_block_size` samples.

    Block ``k`` (samples ``k*B .. k*B+B-1``) comes from one generator call seeded by ``(seed, k)``, on ``device``:
    one kernel launch per block instead of one per sample, and the noise of a sample depends only on the seed and
    its index, whatever the batch size. The last block drawn is kept, so consecutive batches that share a block
    draw it once."""

    def __init__(self, shape: Sequence[int], seed: int, device: torch.device, dtype: torch.dtype = torch.float32):
        self.shape, self.seed, self.device, self.dtype = tuple(shape), int(seed), device, dtype
        self.block = noise_block_size(self.shape)
        self.generator = torch.Generator(device=device)
        self._cached: tuple[int, torch.Tensor] | None = None

    def _block(self, k: int) -> torch.Tensor:
        if self._cached is None or self._cached[0] != k:
            self.generator.manual_seed(sample_seed(self.seed, k))
            values = torch.empty((self.block, *self.shape), device=self.device, dtype=self.dtype)
            values.normal_(generator=self.generator)
            self._cached = (k, values)
        return self._cached[1]

    def take(self, indices: Sequence[int]) -> torch.Tensor:
        """Noise rows for ``indices`` (any order, repeats allowed), shape ``(len(indices), *shape)``."""
        out = torch.empty((len(indices), *self.shape), device=self.device, dtype=self.dtype)
        row = 0
        while row < len(indices):
            k, offset = divmod(int(indices[row]), self.block)
            run = 1  # copy runs of consecutive indices inside one block with one slice
            while (row + run < len(indices) and int(indices[row + run]) == int(indices[row]) + run
                   and offset + run < self.block):
                run += 1
            out[row:row + run] = self._block(k)[offset:offset + run]
            row += run
        return out


def sample_noise(shape: Sequence[int], indices: Sequence[int], seed: int, device: torch.device,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Standard normal noise of shape ``(len(indices), *shape)``, row ``r`` being sample ``indices[r]``'s noise
    (the same noise :func:`smooth_attribution` adds for that seed and index)."""
    return NoiseSource(shape, seed, device, dtype).take(indices)


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
    """``(n, ||mean_n - mean_{n-k}|| / ||mean_n||)``: one step k (the nominal batch) for every point, the last too."""
    precision: str = "fp32"
    """The precision actually used (``bf16`` falls back to ``fp32`` when the fidelity gate fails)."""
    fidelity: dict | None = None
    """``{"spearman": rho, "iou_top5": iou, "passed": bool}`` when bf16 was requested."""

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


def uses_channels_last(forward) -> bool:
    """True when ``forward`` is a module whose first 4-D weight is stored channels-last (NHWC)."""
    parameters = getattr(forward, "parameters", None)
    if parameters is None:
        return False
    try:
        weight = next((p for p in parameters() if p.dim() == 4 and p.shape[1] > 1), None)
    except (TypeError, RuntimeError):
        return False
    return weight is not None and weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()


def _rank(v: torch.Tensor) -> torch.Tensor:
    ranks = torch.empty_like(v)
    ranks[v.argsort()] = torch.arange(v.numel(), device=v.device, dtype=v.dtype)
    return ranks


def fidelity(reference: torch.Tensor, candidate: torch.Tensor, top: float = 0.05) -> dict:
    """How faithfully ``candidate`` reproduces ``reference`` (maps of the same shape), on ``|map|``:
    Spearman's rank correlation and the IoU of the top ``top`` fraction of elements."""
    a = reference.detach().abs().flatten().double()
    b = candidate.detach().abs().flatten().double()
    ra, rb = _rank(a), _rank(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    rho = float((ra * rb).sum() / torch.clamp(ra.norm() * rb.norm(), min=1e-30))
    k = max(1, int(round(top * a.numel())))
    ta = torch.zeros_like(a, dtype=torch.bool)
    tb = torch.zeros_like(b, dtype=torch.bool)
    ta[a.topk(k).indices] = True
    tb[b.topk(k).indices] = True
    iou = float((ta & tb).sum()) / float(max(1, int((ta | tb).sum())))
    return {"spearman": rho, "iou_top5": iou, "passed": rho >= FIDELITY_RHO and iou >= FIDELITY_IOU}


def _probe_rows(run_rows: Callable[[int], None], x: torch.Tensor, n_rows: int) -> int:
    """CUDA: measure the memory one row costs and fit as many rows as half the free memory allows."""
    device = x.device
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    run_rows(1)
    per_row = max(1, torch.cuda.max_memory_allocated(device) - before)
    free, _ = torch.cuda.mem_get_info(device)
    return max(1, min(n_rows, 512, int(0.5 * free / per_row)))


def _largest(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size else float("nan")


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
    channels_last: bool | None = None,
) -> SmoothingResult:
    """Run ``config.method`` aggregated by ``config.aggregation`` on one input ``x`` of shape ``(C, H, W)``.

    ``forward`` must already live on ``x``'s device in eval mode. ``progress`` is called after every batch;
    ``cancel`` is checked before every batch (raise :class:`Cancelled`). ``on_batch(indices, attributions)``
    sees every batch of per-sample maps (e.g. for a pixel probe) before they are merged and dropped.
    Gradient mode is enabled here, so the function works from any thread. ``channels_last`` feeds batches in
    NHWC layout; ``None`` does so when the model's convolution weights are channels-last (see
    :func:`uses_channels_last`), which the model loaders arrange for torchvision CNNs.
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
    if accumulate_dtype is None:
        accumulate_dtype = torch.float32 if device.type == "mps" else torch.float64
    moments = StreamingMoments(x.shape, device, accumulate_dtype)
    kept: dict[int, torch.Tensor] = {}
    convergence: list = []
    wanted = sorted({int(s) for s in snapshots if 0 < int(s) <= n})
    if channels_last is None:
        channels_last = uses_channels_last(forward)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    use_bf16 = config.precision == "bf16"
    autocast_device = device.type if device.type in ("cuda", "cpu", "mps") else "cpu"
    fidelity_record: dict | None = None
    noise = NoiseSource(x.shape, config.seed, device, x.dtype)

    def compute(indices: list[int], rows: int, bf16: bool) -> torch.Tensor:
        context = MethodContext(steps=config.steps, baseline=baseline, quadrature=config.quadrature,
                                max_rows=rows, guided_ok=guided_ok, cancel=cancel)
        with torch.enable_grad():
            if sigma > 0:
                batch = noise.take(indices).mul_(sigma).add_(x)
            else:
                batch = x.unsqueeze(0).expand(len(indices), *x.shape).clone()
            if channels_last:
                batch = batch.contiguous(memory_format=memory_format)
            if bf16:
                with torch.autocast(autocast_device, dtype=torch.bfloat16):
                    return method(forward, batch, target, context=context).float()
            return method(forward, batch, target, context=context)

    if config.batch_size:
        rows = config.batch_size
    elif device.type == "cuda":
        rows = _probe_rows(lambda r: compute(list(range(r)), r, use_bf16), x, rows_wanted)
    else:
        rows = auto_batch_size(x, rows_wanted, device)
    evaluations = 0
    t0 = time.perf_counter()
    # Convergence points all use one step k (the nominal chunk): change(n) = |mean_n - mean_{n-k}| / |mean_n|.
    # A chunk ends at n - k, so the last point (at n) has the same step as the others, not a short remainder.
    step = max(1, rows // per_sample)
    boundary_means: dict[int, torch.Tensor] = {}
    start = 0
    while start < n:
        if cancel is not None and cancel():
            raise Cancelled()
        stop = min(n, start + max(1, rows // per_sample))
        # end the chunk at the next snapshot (prefix means are exact) or at n - k (the last convergence step)
        cuts = [s for s in (*wanted, n - step) if start < s < stop]
        if cuts:
            stop = min(cuts)
        indices = list(range(start, stop))
        try:
            if use_bf16 and fidelity_record is None:
                attributions = compute(indices, rows, False)
                fidelity_record = fidelity(attributions.mean(0), compute(indices, rows, True).mean(0))
                use_bf16 = fidelity_record["passed"]
            else:
                attributions = compute(indices, rows, use_bf16)
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
        earlier = boundary_means.get(stop - step)
        if earlier is not None:
            denominator = torch.linalg.vector_norm(moments.mean)
            change = torch.linalg.vector_norm(moments.mean - earlier) / torch.clamp(denominator, min=1e-30)
            convergence.append((stop, change))
        if stop < n:
            boundary_means[stop] = moments.mean.detach().clone()
            for key in [k for k in boundary_means if k < stop - step]:
                del boundary_means[key]
        start = stop
        if progress is not None:
            progress(Progress(start, n, time.perf_counter() - t0, moments, convergence))

    # One device-to-host copy for everything (each copy is a synchronisation): the three moments, the prefix
    # means and the convergence values, which stayed on the device during the run.
    snapshot_keys = sorted(kept)
    parts = [moments.mean, moments.mean_sq, moments.variance, *(kept[k] for k in snapshot_keys)]
    stacked = torch.stack([p.detach().to(torch.float32) for p in parts])
    changes = torch.stack([v.detach().to(torch.float64) for _, v in convergence]) if convergence else None
    host = stacked.cpu().numpy()
    changes_host = changes.cpu().numpy() if changes is not None else np.zeros(0)
    mean = host[0]
    # Every map this result can give is checked, as float32 (the type it is stored and written in): gradients
    # near 1e20 have a finite mean but a square that overflows to inf (SmoothGrad², VarGrad, standard error).
    for index, what in ((0, "mean"), (1, "mean of squares"), (2, "variance")):
        if not np.all(np.isfinite(host[index])):
            raise AttributionError(
                f"the attribution is not finite (NaN/Inf in its {what}): the model's scores or gradients are not "
                f"finite, or too large for float32 (|gradient| up to {_largest(host[0]):.3g})")
    if host.shape[0] > 3 and not np.all(np.isfinite(host[3:])):
        raise AttributionError("the attribution is not finite (NaN/Inf in a running mean)")
    return SmoothingResult(
        config=config,
        mean=mean,
        mean_sq=host[1],
        variance=host[2],
        n=n,
        sigma=sigma,
        noise_level=level,
        evaluations=evaluations,
        batch_size=rows,
        seconds=time.perf_counter() - t0,
        device=str(device),
        snapshots={k: host[3 + i] for i, k in enumerate(snapshot_keys)},
        convergence=[(k, float(v)) for (k, _), v in zip(convergence, changes_host)],
        precision="bf16" if use_bf16 else "fp32",
        fidelity=fidelity_record,
    )
