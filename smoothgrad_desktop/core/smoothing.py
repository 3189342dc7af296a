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
    AGGREGATION_LABELS, AGGREGATIONS, AUTO, DEFAULT_MAX_SAMPLES, DEFAULT_NOISE_LEVEL, DEFAULT_SAMPLES, DEFAULT_STEPS,
    DEFAULT_TOLERANCE, FIELDS, MIN_AUTO_SAMPLES, PRECISIONS, check, check_total,
)

FIDELITY_RHO = 0.99
FIDELITY_IOU = 0.9
GATE_SAMPLES = 8
"""bf16: the first samples of an input are computed in float32 and in bfloat16, and bfloat16 is kept for the rest
only when the two means agree (:func:`fidelity`). The float32 maps of these samples are the ones merged."""


@dataclass(frozen=True)
class SmoothingConfig:
    method: str = "gradient"
    aggregation: str = "smoothgrad"
    noise_level: float = DEFAULT_NOISE_LEVEL
    n_samples: int | str = DEFAULT_SAMPLES
    """A number of samples, or ``"auto"``: sample until :func:`relative_standard_error` of the mean map is at most
    ``tolerance``, checked after every batch once :data:`MIN_AUTO_SAMPLES` are in, or until ``max_samples``."""
    tolerance: float = DEFAULT_TOLERANCE
    max_samples: int = DEFAULT_MAX_SAMPLES
    steps: int = DEFAULT_STEPS
    seed: int = 0
    batch_size: int | None = None
    """Model input rows per forward/backward pass; ``None`` chooses automatically (see :func:`auto_batch_size`)."""
    quadrature: str = "gauss-legendre"
    precision: str = "fp32"
    """``fp32``, or ``bf16``: autocast the model to bfloat16 (its first and last convolution/linear layer kept in
    float32, see :class:`Fp32Ends`), kept only if the first :data:`GATE_SAMPLES` samples pass the fidelity gate
    (:func:`fidelity`: Spearman rho >= 0.99 and top-5 % IoU >= 0.9 against fp32 on the same noisy samples)."""

    def validate(self) -> None:
        """Every field within the bounds of :mod:`.schema`, and the run's total work within its cap."""
        for f in FIELDS:
            check(f.name, getattr(self, f.name))
        check_total(self.method, self.n_samples, self.steps, self.aggregation, self.max_samples)

    @property
    def auto(self) -> bool:
        """Sampling until converged (``n_samples == "auto"``; never for aggregation ``none``)."""
        return self.n_samples == AUTO and self.aggregation != "none"

    @property
    def effective_samples(self) -> int:
        """The samples of a run: exactly these, or at most these with ``auto``."""
        if self.aggregation == "none":
            return 1
        return self.max_samples if self.n_samples == AUTO else self.n_samples

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
    relative_error: float = float("nan")
    """:func:`relative_standard_error` of the mean map at the end of the run (NaN for fewer than 2 samples)."""
    converged: bool | None = None
    """With ``n_samples="auto"``: True when the tolerance was reached, False when the cap stopped the run."""

    def convergence_record(self) -> dict:
        """The sampling part of a provenance record: n reached and the error achieved."""
        cfg = self.config
        record = {"samples": AUTO if cfg.auto else self.n, "n": self.n,
                  "relative_standard_error": None if math.isnan(self.relative_error) else self.relative_error}
        if cfg.auto:
            record.update({"tolerance": cfg.tolerance, "max_samples": cfg.max_samples, "converged": self.converged})
        return record

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


def relative_standard_error(moments: StreamingMoments) -> torch.Tensor:
    """``||SE||_2 / ||mean||_2`` of the running mean map (a 0-d tensor on the moments' device): ``SE`` per element
    is ``sqrt(M2 / (k - 1)) / sqrt(k)``, the sample standard deviation over ``k`` samples divided by ``sqrt(k)``,
    and both norms run over every element of the map. NaN for fewer than 2 samples; ``inf`` for an all-zero mean
    with non-zero spread."""
    k = moments.count
    if k < 2:
        return torch.tensor(float("nan"), dtype=moments.mean.dtype, device=moments.mean.device)
    se = torch.sqrt(moments.m2.sum() / (k * (k - 1)))
    mean = torch.linalg.vector_norm(moments.mean)
    return torch.where(mean > 0, se / mean.clamp(min=torch.finfo(mean.dtype).tiny),
                       torch.where(se > 0, torch.full_like(se, float("inf")), torch.zeros_like(se)))


class Fp32Ends:
    """While active (``with``), the first and the last convolution or linear layer of ``forward`` (in definition
    order: the stem and the classifier of common CNNs) run in float32 with autocast switched off, their inputs cast
    to float32. Under bf16 autocast the bulk of the network then runs in bfloat16 while the layer whose backward
    produces the input gradient, and the layer that produces the class score, keep float32: the map stays far
    closer to float32 for a few percent of the work. Hooks exist only inside the ``with`` block."""

    LAYERS = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.Linear)

    def __init__(self, forward, device_type: str) -> None:
        self.device_type = device_type
        self.layers: list[torch.nn.Module] = []
        if isinstance(forward, torch.nn.Module) and not isinstance(forward, torch.jit.ScriptModule):
            leaves = [m for m in forward.modules() if isinstance(m, self.LAYERS)]
            if leaves:
                self.layers = [leaves[0]] if len(leaves) == 1 else [leaves[0], leaves[-1]]
        self._handles: list = []

    def __enter__(self) -> "Fp32Ends":
        for layer in self.layers:
            stack: list = []

            def pre(_module, args, stack=stack):
                ctx = torch.autocast(self.device_type, enabled=False)
                ctx.__enter__()
                stack.append(ctx)
                return tuple(a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args)

            def post(_module, _args, _output, stack=stack):
                if stack:
                    stack.pop().__exit__(None, None, None)

            self._handles += [layer.register_forward_pre_hook(pre), layer.register_forward_hook(post)]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


@dataclass
class _Job:
    """One input's share of a run: its noise, its moments and where its sampling stands."""

    x: torch.Tensor
    target: int
    baseline: torch.Tensor | None
    sigma: float
    noise: NoiseSource
    moments: StreamingMoments
    chunk: int
    """Samples per batch for this input: the same chunking whether it runs alone or batched with others."""
    cap: int
    wanted: list[int]
    use_bf16: bool
    gate_pending: bool
    start: int = 0
    done: bool = False
    converged: bool | None = None
    evaluations: int = 0
    kept: dict = field(default_factory=dict)
    convergence: list = field(default_factory=list)
    boundary: dict = field(default_factory=dict)
    """Running means at chunk ends, kept for one step k: change(n) = |mean_n - mean_(n-k)| / |mean_n|."""
    fidelity: dict | None = None

    def next_indices(self) -> list[int]:
        stop = min(self.cap, self.start + self.chunk)
        # end the chunk at the next snapshot (prefix means are exact) or at cap - k, so that the last convergence
        # point has the same step k (the nominal chunk) as the others instead of a short remainder
        cuts = [s for s in (*self.wanted, self.cap - self.chunk) if self.start < s < stop]
        if cuts:
            stop = min(cuts)
        return list(range(self.start, stop))


class _Engine:
    """The batches of one or several same-shape inputs: noisy copies of each input, chunked per input exactly as
    a run of that input alone would be, several inputs' chunks concatenated into one forward/backward of at most
    ``group_rows`` rows (each row with its input's target), and each input's rows merged into its own moments."""

    def __init__(self, forward: Forward, config: SmoothingConfig, *, guided_ok: bool, cancel: CancelCheck | None,
                 accumulate_dtype: torch.dtype | None, channels_last: bool | None, device: torch.device) -> None:
        self.forward, self.config, self.guided_ok, self.cancel, self.device = forward, config, guided_ok, cancel, device
        self.method = METHODS[config.method]
        self.per_sample = evaluations_per_sample(config.method, config.steps)
        self.accumulate_dtype = accumulate_dtype or (torch.float32 if device.type == "mps" else torch.float64)
        self.channels_last = uses_channels_last(forward) if channels_last is None else channels_last
        self.autocast_device = device.type if device.type in ("cuda", "cpu", "mps") else "cpu"

    def job(self, x: torch.Tensor, target: int, baseline: torch.Tensor | None, snapshots: Sequence[int]) -> _Job:
        cfg = self.config
        cap = cfg.effective_samples
        level = cfg.effective_noise_level
        bf16 = cfg.precision == "bf16"
        return _Job(x=x, target=int(target), baseline=baseline, sigma=noise_sigma(x, level),
                    noise=NoiseSource(x.shape, cfg.seed, x.device, x.dtype),
                    moments=StreamingMoments(x.shape, x.device, self.accumulate_dtype), chunk=1, cap=cap,
                    wanted=sorted({int(s) for s in snapshots if 0 < int(s) <= cap}), use_bf16=bf16, gate_pending=bf16)

    def compute(self, parts: list[tuple[_Job, list[int]]], rows: int, bf16: bool) -> torch.Tensor:
        """Per-sample maps of the rows of ``parts`` (each a job and its sample indices), concatenated."""
        cfg = self.config
        first = parts[0][0]
        context = MethodContext(steps=cfg.steps, baseline=first.baseline, quadrature=cfg.quadrature,
                                max_rows=rows, guided_ok=self.guided_ok, cancel=self.cancel)
        with torch.enable_grad():
            pieces = []
            for job, indices in parts:
                if job.sigma > 0:
                    pieces.append(job.noise.take(indices).mul_(job.sigma).add_(job.x))
                else:
                    pieces.append(job.x.unsqueeze(0).expand(len(indices), *job.x.shape).clone())
            batch = pieces[0] if len(pieces) == 1 else torch.cat(pieces)
            if self.channels_last:
                batch = batch.contiguous(memory_format=torch.channels_last)
            if len(parts) == 1:
                target: int | torch.Tensor = first.target
            else:
                target = torch.tensor([job.target for job, indices in parts for _ in indices], device=batch.device)
            if bf16:
                with torch.autocast(self.autocast_device, dtype=torch.bfloat16), \
                        Fp32Ends(self.forward, self.autocast_device):
                    return self.method(self.forward, batch, target, context=context).float()
            return self.method(self.forward, batch, target, context=context)

    def merge(self, job: _Job, indices: list[int], attributions: torch.Tensor, on_batch) -> None:
        cfg = self.config
        job.evaluations += len(indices) * self.per_sample
        if on_batch is not None:
            on_batch(indices, attributions)
        job.moments.update(attributions)
        stop = indices[-1] + 1
        if stop in job.wanted:
            job.kept[stop] = job.moments.mean.detach().clone()
        earlier = job.boundary.get(stop - job.chunk)
        if earlier is not None:
            denominator = torch.linalg.vector_norm(job.moments.mean)
            change = torch.linalg.vector_norm(job.moments.mean - earlier) / torch.clamp(denominator, min=1e-30)
            job.convergence.append((stop, change))
        if stop < job.cap:
            job.boundary[stop] = job.moments.mean.detach().clone()
            for key in [k for k in job.boundary if k < stop - job.chunk]:
                del job.boundary[key]
        job.start = stop
        if cfg.auto and job.moments.count >= MIN_AUTO_SAMPLES and job.start < job.cap:
            error = float(relative_standard_error(job.moments))  # one synchronisation per batch, auto only
            if error <= cfg.tolerance:
                job.done, job.converged = True, True
        if job.start >= job.cap:
            job.done = True
            if cfg.auto and job.converged is None:
                job.converged = bool(float(relative_standard_error(job.moments)) <= cfg.tolerance)

    def run(self, jobs: list[_Job], rows: int, group_rows: int, *, on_batch=None,
            progress: ProgressCallback | None = None, on_done: Callable[[int, _Job], None] | None = None) -> int:
        """Run every job to its end; returns the batch size (rows per job chunk) finally used."""
        self.rows = rows
        for job in jobs:
            job.chunk = max(1, rows // self.per_sample)
        mix = len(jobs) > 1 and self.config.method != "integrated-gradients"  # IG's baseline is per input
        t0 = time.perf_counter()
        pending = list(range(len(jobs)))
        while pending:
            if self.cancel is not None and self.cancel():
                raise Cancelled()
            head = jobs[pending[0]]
            parts = [(head, head.next_indices()[:GATE_SAMPLES] if head.gate_pending else head.next_indices())]
            members = [pending[0]]
            total = len(parts[0][1]) * self.per_sample
            if mix and not head.gate_pending:
                for i in pending[1:]:
                    job = jobs[i]
                    if job.gate_pending or job.use_bf16 != head.use_bf16:
                        continue
                    indices = job.next_indices()
                    if total + len(indices) * self.per_sample > group_rows:
                        break
                    parts.append((job, indices))
                    members.append(i)
                    total += len(indices) * self.per_sample
            try:
                if head.gate_pending:
                    attributions = self.compute(parts, rows, False)
                    head.fidelity = fidelity(attributions.mean(0), self.compute(parts, rows, True).mean(0))
                    head.use_bf16 = head.fidelity["passed"]
                    head.gate_pending = False
                else:
                    attributions = self.compute(parts, rows, head.use_bf16)
            except Exception as exc:  # noqa: BLE001 - classify then re-raise
                if is_out_of_memory(exc) and (group_rows > rows or rows > 1):
                    if group_rows > rows:
                        group_rows = max(rows, group_rows // 2)
                    else:
                        rows = self.rows = max(1, rows // 2)
                        group_rows = rows
                        for job in jobs:
                            job.chunk = max(1, rows // self.per_sample)
                    if self.device.type == "cuda":
                        torch.cuda.empty_cache()
                    continue  # retry the same sample indices: the noise is per index, so nothing changes
                raise
            offset = 0
            for job, indices in parts:
                self.merge(job, indices, attributions[offset:offset + len(indices)], on_batch)
                offset += len(indices)
            del attributions
            if progress is not None and len(jobs) == 1:
                progress(Progress(head.start, head.cap, time.perf_counter() - t0, head.moments, head.convergence))
            for i in members:
                if jobs[i].done:
                    pending.remove(i)
                    if on_done is not None:
                        on_done(i, jobs[i])
        return rows

    def result(self, job: _Job, rows: int, seconds: float) -> SmoothingResult:
        # One device-to-host copy for everything (each copy is a synchronisation): the three moments, the prefix
        # means and the convergence values, which stayed on the device during the run.
        moments = job.moments
        snapshot_keys = sorted(job.kept)
        parts = [moments.mean, moments.mean_sq, moments.variance, *(job.kept[k] for k in snapshot_keys)]
        stacked = torch.stack([p.detach().to(torch.float32) for p in parts])
        changes = [v.detach().to(torch.float64) for _, v in job.convergence]
        changes.append(relative_standard_error(moments).detach().to(torch.float64))
        host = stacked.cpu().numpy()
        changes_host = torch.stack(changes).cpu().numpy()
        mean = host[0]
        # Every map this result can give is checked, as float32 (the type it is stored and written in): gradients
        # near 1e20 have a finite mean but a square that overflows to inf (SmoothGrad², VarGrad, standard error).
        for index, what in ((0, "mean"), (1, "mean of squares"), (2, "variance")):
            if not np.all(np.isfinite(host[index])):
                raise AttributionError(
                    f"the attribution is not finite (NaN/Inf in its {what}): the model's scores or gradients are "
                    f"not finite, or too large for float32 (|gradient| up to {_largest(host[0]):.3g})")
        if host.shape[0] > 3 and not np.all(np.isfinite(host[3:])):
            raise AttributionError("the attribution is not finite (NaN/Inf in a running mean)")
        return SmoothingResult(
            config=self.config, mean=mean, mean_sq=host[1], variance=host[2], n=moments.count, sigma=job.sigma,
            noise_level=self.config.effective_noise_level, evaluations=job.evaluations, batch_size=rows,
            seconds=seconds, device=str(self.device),
            snapshots={k: host[3 + i] for i, k in enumerate(snapshot_keys)},
            convergence=[(k, float(v)) for (k, _), v in zip(job.convergence, changes_host[:-1])],
            precision="bf16" if job.use_bf16 else "fp32", fidelity=job.fidelity,
            relative_error=float(changes_host[-1]), converged=job.converged,
        )


def _first_rows(engine: _Engine, job: _Job, config: SmoothingConfig) -> int:
    """Rows per forward/backward for one input: the configured batch size, a measured fit on CUDA, or
    :func:`auto_batch_size`."""
    rows_wanted = job.cap * engine.per_sample
    if config.batch_size:
        return config.batch_size
    if engine.device.type == "cuda":
        def probe(r: int) -> None:
            engine.compute([(job, list(range(r)))], r, job.use_bf16)
        return _probe_rows(probe, job.x, rows_wanted)
    return auto_batch_size(job.x, rows_wanted, engine.device)


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

    With ``config.n_samples == "auto"`` the run stops after the first batch at which
    :func:`relative_standard_error` is at most ``config.tolerance`` (checked from :data:`MIN_AUTO_SAMPLES` samples
    on), or at ``config.max_samples``; ``result.n`` is the number reached, ``result.relative_error`` the error.
    """
    config.validate()
    if x.dim() != 3:
        raise AttributionError(f"expected one input of shape (C, H, W), got {tuple(x.shape)}")
    engine = _Engine(forward, config, guided_ok=guided_ok, cancel=cancel, accumulate_dtype=accumulate_dtype,
                     channels_last=channels_last, device=x.device)
    job = engine.job(x, target, baseline, snapshots)
    rows = _first_rows(engine, job, config)
    t0 = time.perf_counter()
    rows = engine.run([job], rows, rows, on_batch=on_batch, progress=progress)
    return engine.result(job, rows, time.perf_counter() - t0)


def group_rows_for(x: torch.Tensor, rows: int, device: torch.device) -> int:
    """Rows of one forward/backward when several inputs share it, on a CPU: at least one input's batch, and up to
    64 rows (within :func:`auto_batch_size`'s memory budget) so that runs with few samples per input (where the
    fixed cost of a pass dominates) fill their batches. Measured on a 2-core CPU, batches beyond ~50 rows of a
    28 x 28 input bring no further gain: the work is bound by the arithmetic, not by the calls."""
    per_row = max(1, x.numel())
    return max(rows, min(64, int(8_000_000 / per_row)))


def smooth_many(
    forward: Forward,
    xs: Sequence[torch.Tensor],
    targets: Sequence[int],
    config: SmoothingConfig = SmoothingConfig(),
    *,
    baselines: Sequence[torch.Tensor | None] | None = None,
    guided_ok: bool = True,
    cancel: CancelCheck | None = None,
    group_rows: int | None = None,
    on_done: Callable[[int, SmoothingResult], None] | None = None,
    channels_last: bool | None = None,
    return_errors: bool = False,
) -> list[SmoothingResult]:
    """:func:`smooth_attribution` for several inputs of the same shape at once: each input keeps the chunking it
    would have alone (the same batch size and the same noise for the same seed, so its result is the
    one-at-a-time result), and the chunks of several inputs share one forward/backward of at most ``group_rows``
    rows (default :func:`group_rows_for`), so small inputs run at the throughput of large batches. Memory is
    bounded by one such batch plus four maps per input. Integrated gradients keeps one input per batch (each
    input has its own baseline). ``on_done(i, result)`` is called as soon as input ``i`` is finished; with
    ``return_errors`` an input whose map is not finite gets its :class:`AttributionError` in place of a result
    (the other inputs go on)."""
    config.validate()
    if not xs:
        return []
    shape = tuple(xs[0].shape)
    if len(shape) != 3 or any(tuple(x.shape) != shape for x in xs):
        raise AttributionError("smooth_many needs inputs of one shape (C, H, W)")
    if len(targets) != len(xs):
        raise AttributionError(f"{len(targets)} targets for {len(xs)} inputs")
    baselines = list(baselines) if baselines is not None else [None] * len(xs)
    device = xs[0].device
    engine = _Engine(forward, config, guided_ok=guided_ok, cancel=cancel, accumulate_dtype=None,
                     channels_last=channels_last, device=device)
    jobs = [engine.job(x, t, b, ()) for x, t, b in zip(xs, targets, baselines)]
    rows = _first_rows(engine, jobs[0], config)
    if group_rows is None and device.type == "cuda" and not config.batch_size:
        # a GPU gains most from sharing passes (its fixed cost per pass is large): as many rows as memory allows
        total = len(jobs) * jobs[0].cap * engine.per_sample

        def probe(r: int) -> None:
            engine.compute([(jobs[0], list(range(r)))], r, jobs[0].use_bf16)

        group_rows = _probe_rows(probe, xs[0], min(512, total))
    group = max(rows, group_rows or group_rows_for(xs[0], rows, device))
    results: list[SmoothingResult | None] = [None] * len(jobs)
    t0 = time.perf_counter()

    def finished(i: int, job: _Job) -> None:
        try:
            results[i] = engine.result(job, engine.rows, time.perf_counter() - t0)
        except AttributionError as exc:
            if not return_errors:
                raise
            results[i] = exc  # type: ignore[call-overload]
        job.moments = None  # type: ignore[assignment] - on the host now; free the device copies
        job.boundary.clear()
        job.kept.clear()
        job.convergence.clear()
        if on_done is not None:
            on_done(i, results[i])

    engine.run(jobs, rows, group, on_done=finished)
    return results  # type: ignore[return-value]
