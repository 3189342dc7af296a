"""The worker's trust jobs: ``evaluate`` (deletion/insertion curves), ``sanity`` (cascading randomisation and the
random-target test) and ``probe`` (the per-sample values of one pixel). They run in the worker thread, called by
``Worker._job_evaluate`` / ``_job_sanity`` / ``_job_probe``, and follow the worker's rules: no widget is touched,
progress goes out through the worker's signals, cancellation is checked between batches (core ``cancel``), and
the outcome holds plain numpy/Python data only (nothing the GUI thread would have to read from a tensor).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..core import visualize as vz
from ..core.errors import UserFacingError
from ..core.smoothing import SmoothingConfig, smooth_attribution
from ..core.trust import Curve, PixelProbe, cascading_randomization, parameter_layers, perturbation_curves, \
    random_target_test
from ..core.trust_data import input_rgb, method_label, thumbnail

DEFAULT_CURVE_STEPS = 50
THUMB_SIZE = 64


@dataclass
class EvaluateOutcome:
    """Deletion/insertion curves of the current map, a random pixel order and optionally a second method, plus
    what the scrubber needs: the pixel ranks and the model input, baseline and blurred start as images."""

    state: object  # worker.ImageState
    target: int
    config: SmoothingConfig
    label: str
    curves: dict[tuple[str, str], Curve]  # (kind, "attribution" | "random") -> curve of the map
    ranks: dict[str, np.ndarray]  # "attribution" | "random" | "compare" -> (H, W) pixel ranks (0 = first)
    x_rgb: np.ndarray  # (H, W, 3) uint8: the model input, un-normalised
    baseline_rgb: np.ndarray  # what deletion puts in
    start_rgb: np.ndarray  # what insertion starts from (the blurred input)
    steps: int
    compare_label: str | None = None
    compare_curves: dict[str, Curve] = field(default_factory=dict)  # kind -> curve of the second method
    compare_error: str | None = None

    def summary(self) -> dict:
        out = {f"{kind}_{order}_auc": c.auc for (kind, order), c in self.curves.items()}
        out.update({f"{kind}_compare_auc": c.auc for kind, c in self.compare_curves.items()})
        return out


@dataclass
class SanityOutcome:
    state: object
    target: int
    config: SmoothingConfig
    layers: list[str]
    spearman_abs: list[float]
    spearman_signed: list[float]
    random_target: dict
    thumbnails: list[np.ndarray]  # |map| after each randomisation step, at most THUMB_SIZE pixels a side
    original: np.ndarray | None = None  # |map| of the trained model (thumbnail), when the GUI sent it


@dataclass
class ProbeOutcome:
    key: str
    name: str
    pixel: tuple[int, int]  # (x = column, y = row) in model-input pixels
    values: np.ndarray  # (n,) per-sample values, channels summed, signed (x input with multiply-by-input)
    stats: dict  # PixelProbe.stats: n, mean, std, standard_error
    map_value: float  # the re-run map (signed channel sum, same options) at the pixel
    target: int
    config: SmoothingConfig
    multiply_by_input: bool = False


def _model_rgb(model, prepared, t: torch.Tensor) -> np.ndarray:
    x = prepared.x.detach().float().cpu()
    pipeline = model.pipeline
    return input_rgb(t.detach().float().cpu().numpy(), mean=None if prepared.raw else pipeline.mean,
                     std=None if prepared.raw else pipeline.std, raw=prepared.raw,
                     value_range=(float(x.min()), float(x.max())))


def _given_attribution(worker, job, model, prepared, target: int, config: SmoothingConfig) -> np.ndarray | None:
    """The map the GUI sent with the job, if it was computed by this model (``worker.model_serial``) for this
    input, target and configuration (the batch size aside); else None."""
    given = job.options.get("attribution")
    cfg = job.options.get("attribution_config")
    if given is None or cfg is None or job.options.get("attribution_model") != worker.model_serial:
        return None
    if job.options.get("attribution_target") != target or tuple(np.shape(given)) != tuple(prepared.x.shape):
        return None
    if replace(cfg, batch_size=None) != replace(config, batch_size=None):
        return None
    return np.asarray(given, dtype=np.float32)


def _attribution(worker, job, model, prepared, target: int, config: SmoothingConfig) -> np.ndarray:
    given = _given_attribution(worker, job, model, prepared, target, config)
    if given is not None:
        return given
    result = smooth_attribution(model.module, prepared.x, target, config, baseline=prepared.baseline,
                                guided_ok=model.guided_ok, cancel=job.cancelled)
    worker._measured(model, prepared.x, result)
    return result.attribution


def evaluate(worker, job) -> EvaluateOutcome:
    model, prepared, state = worker._prepare(job)
    worker.prepared.emit(job.id, state)
    steps = int(job.options.get("steps", DEFAULT_CURVE_STEPS))
    compare = job.options.get("compare")  # (label, method, aggregation) or None
    total = 3 if compare else 2
    config = worker._config(job.config, model, prepared.x)
    worker.progress.emit(job.id, 0, total, float("nan"))
    attr = _attribution(worker, job, model, prepared, state.target, config)
    saliency = vz.reduce_channels(attr, "absolute")
    worker._check(job)
    res = perturbation_curves(model.module, prepared.x, state.target, saliency, steps=steps,
                              baseline=prepared.baseline, seed=config.seed, cancel=job.cancelled)
    worker.progress.emit(job.id, 1, total, float("nan"))
    outcome = EvaluateOutcome(
        state=state, target=state.target, config=config, label=method_label(config.method, config.aggregation),
        curves=dict(res.curves), ranks={"attribution": np.asarray(res.rank), "random": np.asarray(res.random_rank)},
        x_rgb=_model_rgb(model, prepared, prepared.x), baseline_rgb=_model_rgb(model, prepared, res.baseline),
        start_rgb=_model_rgb(model, prepared, res.start), steps=steps)
    if compare:
        label, method, aggregation = compare
        outcome.compare_label = str(label)
        cfg2 = replace(config, method=str(method), aggregation=str(aggregation))
        try:
            r2 = smooth_attribution(model.module, prepared.x, state.target, cfg2, baseline=prepared.baseline,
                                    guided_ok=model.guided_ok, cancel=job.cancelled)
        except UserFacingError as exc:  # e.g. guided backprop on a model it cannot handle: the rest still shows
            outcome.compare_error = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        else:
            sal2 = vz.reduce_channels(r2.attribution, "absolute")
            res2 = perturbation_curves(model.module, prepared.x, state.target, sal2, steps=steps,
                                       baseline=prepared.baseline, seed=config.seed, cancel=job.cancelled)
            outcome.compare_curves = {kind: c for (kind, order), c in res2.curves.items() if order == "attribution"}
            outcome.ranks["compare"] = np.asarray(res2.rank)
    worker.progress.emit(job.id, total, total, float("nan"))
    return outcome


def sanity(worker, job) -> SanityOutcome:
    model, prepared, state = worker._prepare(job)
    worker.prepared.emit(job.id, state)
    module = model.module
    if not isinstance(module, torch.nn.Module) or isinstance(module, torch.jit.ScriptModule):
        raise UserFacingError("sanity checks need a Python model: the layers of a TorchScript or exported model "
                              "cannot be re-initialised")
    config = worker._config(job.config, model, prepared.x)
    max_layers = int(job.options.get("layers") or 0) or None
    available = len(parameter_layers(module))
    chosen = available if max_layers is None else min(available, max_layers)
    total = chosen + 1

    def progress(done: int, _total: int, _name: str) -> None:
        worker.progress.emit(job.id, int(done), total, float("nan"))

    worker.progress.emit(job.id, 0, total, float("nan"))
    result = cascading_randomization(module, prepared.x, state.target, config, baseline=prepared.baseline,
                                     max_layers=max_layers, seed=config.seed, keep_maps=True, progress=progress,
                                     cancel=job.cancelled)
    worker._check(job)
    rt = random_target_test(module, prepared.x, state.target, config, baseline=prepared.baseline, seed=config.seed,
                            classes=int(state.scores.shape[0]))
    worker.progress.emit(job.id, total, total, float("nan"))
    given = _given_attribution(worker, job, model, prepared, state.target, config)
    original = None if given is None else thumbnail(vz.reduce_channels(given, "absolute"), THUMB_SIZE)
    return SanityOutcome(state=state, target=state.target, config=config, layers=list(result.layers),
                         spearman_abs=[float(v) for v in result.spearman_abs],
                         spearman_signed=[float(v) for v in result.spearman_signed], random_target=dict(rt),
                         thumbnails=[thumbnail(m, THUMB_SIZE) for m in result.maps], original=original)


def probe(worker, job) -> ProbeOutcome:
    model, prepared, state = worker._prepare(job)
    px, py = (int(v) for v in job.options["pixel"])
    _, h, w = prepared.x.shape
    if not (0 <= px < w and 0 <= py < h):
        raise UserFacingError(f"pixel ({px}, {py}) is outside the {w}x{h} model input")
    mbi = bool(job.options.get("multiply_by_input", False))
    target = state.target
    probe_ = PixelProbe([(py, px)])
    x = prepared.x
    on_batch = (lambda indices, a: probe_(indices, a * x)) if mbi else probe_
    last = {"t": 0.0}

    def progress(p) -> None:
        import time

        now = time.perf_counter()
        if p.done >= p.total or now - last["t"] >= 0.05:
            last["t"] = now
            eta = p.eta
            worker.progress.emit(job.id, p.done, p.total, float(eta) if math.isfinite(eta) else float("nan"))

    result = smooth_attribution(model.module, x, target, job.config, baseline=prepared.baseline,
                                guided_ok=model.guided_ok, cancel=job.cancelled, on_batch=on_batch,
                                progress=progress)
    host_x = x.detach().float().cpu().numpy()
    reduced = vz.reduce_channels(result.attribution, "signed", input=host_x if mbi else None, multiply_by_input=mbi)
    return ProbeOutcome(key=state.key, name=state.image.name, pixel=(px, py), values=probe_.values((py, px)),
                        stats=probe_.stats((py, px)), map_value=float(reduced[py, px]), target=target,
                        config=job.config, multiply_by_input=mbi)
