"""The compute worker: ONE QObject living on ONE QThread; it owns the loaded model and runs ``core``.

Threading rules (see the architecture guide, pitfalls 5-7):

* The GUI never calls the worker's methods directly. :class:`WorkerController` (a GUI-thread QObject) emits a
  signal carrying a :class:`Job`; that signal is connected to :meth:`Worker.run`, a slot of an object that
  lives in the worker thread, so Qt queues the call into the worker's event loop. Jobs therefore run one at
  a time, in the order they were submitted.
* Cancellation is cooperative: every job carries a ``threading.Event``; the core's ``cancel`` callback checks
  it before every batch, so a run stops within one batch. A Python thread is never killed.
* A newly submitted job cancels the running/pending job of the **same kind** (a new map request supersedes
  the old one; a new grid request supersedes the old grid); loading a model cancels everything. Jobs of
  other kinds wait in the queue (the map is never thrown away because a tab asked for the grid).
* The worker never touches a widget. It reports through signals whose receivers are ``@Slot`` methods of
  GUI-thread objects (queued connections); payloads are plain Python/numpy objects that the worker does not
  modify after emitting them.
* Every job body is wrapped: an exception becomes ``failed(job_id, kind, one-line message)`` and is logged
  with its traceback; nothing dies silently.
* Gradient mode is thread-local in torch: the worker enables it itself around every job.
"""

from __future__ import annotations

import itertools
import logging
import math
import sys
import threading
import time
import traceback
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..core import experiments as ex
from ..core.devices import describe_device
from ..core.errors import AttributionError, Cancelled, UserFacingError
from ..core.explain import Explanation, Prediction, PreparedInput, explain, predict, prepare_input, resolve_target, top_k
from ..core.images import InputImage, load_input
from ..core.methods import evaluations_per_sample, method_refusals
from ..core.models import LoadedModel, load_model
from ..core.models.catalog import remember
from ..core.smoothing import SmoothingConfig, SmoothingResult, auto_batch_size

log = logging.getLogger(__name__)

PARTIAL_INTERVAL_S = 0.25
"""The running mean is sent at most this often (and after the first batch that passes it)."""
PROGRESS_INTERVAL_S = 0.05
TARGET_BATCH_SECONDS = 0.2
"""Automatic batch size aims at batches of about this duration, so progress, partial maps and cancel stay lively."""

MIN_BATCHES = 8
"""Automatic batch size: at least this many batches per run (see Worker._config)."""

KINDS = ("load", "explain", "grid", "strip", "difference", "noise", "fluctuation", "evaluate", "sanity", "probe")

_ids = itertools.count(1)


# ---------------------------------------------------------------------------------------------- job + payloads


@dataclass(frozen=True)
class ImageRef:
    """What the worker needs to get an image: a stable ``key`` and either a file ``path`` or a loaded ``image``."""

    key: str
    name: str
    path: Path | None = None
    image: InputImage | None = None


@dataclass
class Job:
    kind: str
    image: ImageRef | None = None
    config: SmoothingConfig = field(default_factory=SmoothingConfig)
    target: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    id: int = field(default_factory=lambda: next(_ids))
    cancel: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def cancelled(self) -> bool:
        return self.cancel.is_set()


@dataclass(frozen=True)
class ModelInfo:
    spec: str
    name: str
    kind: str
    labels: tuple[str, ...]
    device: str
    device_text: str
    guided_ok: bool
    notes: tuple[str, ...]
    seconds: float
    weights_arg: str | None = None  # what the model was loaded with (for session files)
    weights_sha256: str | None = None
    weights_path: str | None = None  # the file the weights (or the TorchScript/export program) were read from
    layout: tuple = ()  # Inception v3 / GoogLeNet: (("aux_logits", bool), ("transform_input", bool), ...)
    method_refusals: tuple = ()  # ((method, one-line reason), ...): methods this model cannot run


@dataclass
class ImageState:
    """An image prepared for the current model (sent before a run starts, so the GUI can show it at once)."""

    key: str
    image: InputImage
    display: np.ndarray  # (H0, W0, 3) uint8: the image at its native resolution (model input for raw .npy)
    visible: np.ndarray  # (H, W, 3) uint8: what the model sees
    box: tuple[float, float, float, float]  # region of `display` the model input covers
    raw: bool
    x: np.ndarray  # (C, H, W) float32 model input (host copy, for multiply-by-input)
    input_range: float  # max(x) - min(x)
    scores: np.ndarray
    top: list[Prediction]
    target: int
    labels: tuple[str, ...]
    row_seconds: float | None = None
    """Seconds per model evaluation of this model and input size: measured by an earlier run, or guessed from the
    prediction just made (cost estimates before a tab computes)."""


@dataclass
class MapExplanation:
    """What the GUI thread gets of a core :class:`~..core.explain.Explanation`: host data only (no model, no
    device tensor). ``record`` is the provenance the command line writes, without its ``view`` block."""

    image: InputImage
    scores: np.ndarray
    target: int
    target_label: str
    result: SmoothingResult
    seconds: float
    top: list[Prediction]
    record: dict
    model_serial: int

    def provenance(self, **extra) -> dict:
        return {**self.record, **extra}

    @classmethod
    def of(cls, expl: Explanation, serial: int) -> "MapExplanation":
        return cls(image=expl.image, scores=np.asarray(expl.scores), target=int(expl.target),
                   target_label=expl.target_label, result=expl.result, seconds=float(expl.seconds),
                   top=list(expl.top), record=expl.provenance(), model_serial=serial)


@dataclass
class ExplainOutcome:
    explanation: MapExplanation
    state: ImageState
    params_text: str = ""
    row_seconds: float | None = None
    """Seconds per model evaluation measured by this run (its batches after the first), for cost estimates."""


@dataclass
class GridOutcome:
    state: ImageState
    result: ex.GridResult
    target: int
    config: SmoothingConfig


@dataclass
class StripOutcome:
    state: ImageState
    entries: list[tuple[str, SmoothingResult | None, str | None]]
    target: int
    config: SmoothingConfig


@dataclass
class DifferenceOutcome:
    state: ImageState
    c1: int
    c2: int
    diff: np.ndarray
    r1: SmoothingResult
    r2: SmoothingResult
    config: SmoothingConfig


@dataclass
class NoiseOutcome:
    state: ImageState
    results: dict[tuple[str, str], SmoothingResult]
    target: int
    config: SmoothingConfig


@dataclass
class FluctuationOutcome:
    state: ImageState
    result: ex.FluctuationResult
    target: int


def _lower_thread_priority() -> None:
    """Give this (worker) thread a lower CPU priority than the GUI thread, so that on a busy machine the event
    loop gets a core first; torch's compute threads started from here inherit it. Linux: per-thread nice
    value; elsewhere QThread priorities are used by the controller instead (a no-op if not permitted)."""
    import os

    if hasattr(os, "setpriority") and sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 5)
        except OSError:
            pass


def _pow2_floor(value: int) -> int:
    return 1 << (max(1, int(value)).bit_length() - 1)


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text[:300]


# ---------------------------------------------------------------------------------------------- the worker


class Worker(QObject):
    """Runs jobs in its own thread; see the module docstring."""

    started = Signal(int, str)  # job id, kind
    progress = Signal(int, int, int, float)  # job id, done, total, eta seconds (nan when unknown)
    partial = Signal(int, object)  # job id, running mean (C, H, W) float32
    convergence = Signal(int, object)  # job id, [(n, relative change)]
    prepared = Signal(int, object)  # job id, ImageState
    grid_row = Signal(int, int, object)  # job id, row, [maps (C, H, W)]
    strip_entry = Signal(int, int, str, object, str)  # job id, index, label, SmoothingResult | None, error
    finished = Signal(int, str, object)  # job id, kind, outcome
    failed = Signal(int, str, str)  # job id, kind, one-line message
    cancelled = Signal(int, str)  # job id, kind

    def __init__(self) -> None:
        super().__init__()
        self.model: LoadedModel | None = None
        self.model_serial = 0
        """Counts the models loaded: results name their model by this number, never by the object."""
        self._noise_model: LoadedModel | None = None
        self._images: OrderedDict[str, InputImage] = OrderedDict()
        self._prepared: OrderedDict[tuple, PreparedInput] = OrderedDict()
        self._row_seconds: dict[tuple, float] = {}  # measured seconds per model-input row
        self._row_estimates: dict[tuple, float] = {}  # guessed from one prediction, before any measurement

    # -------------------------------------------------------------- entry point
    @Slot(object)
    def run(self, job: Job) -> None:
        if not getattr(self, "_priority_lowered", False):
            self._priority_lowered = True
            _lower_thread_priority()
        if job.cancelled():
            self.cancelled.emit(job.id, job.kind)
            return
        self.started.emit(job.id, job.kind)
        t0 = time.perf_counter()
        try:
            with torch.enable_grad():
                handler = getattr(self, f"_job_{job.kind}")
                outcome = handler(job)
        except Cancelled:
            log.info("job %d (%s) cancelled after %.2f s", job.id, job.kind, time.perf_counter() - t0)
            self.cancelled.emit(job.id, job.kind)
            return
        except UserFacingError as exc:
            log.info("job %d (%s) failed: %s", job.id, job.kind, exc)
            self.failed.emit(job.id, job.kind, first_line(exc))
            return
        except Exception as exc:  # noqa: BLE001 - report everything, never die silently
            log.error("job %d (%s) crashed:\n%s", job.id, job.kind, traceback.format_exc())
            self.failed.emit(job.id, job.kind, f"unexpected error: {type(exc).__name__}: {first_line(exc)}")
            return
        if job.cancelled():  # cancelled after the last batch: the result is stale for whoever cancelled it
            self.cancelled.emit(job.id, job.kind)
            return
        log.info("job %d (%s) done in %.2f s", job.id, job.kind, time.perf_counter() - t0)
        self.finished.emit(job.id, job.kind, outcome)

    # -------------------------------------------------------------- helpers
    def _check(self, job: Job) -> None:
        if job.cancelled():
            raise Cancelled()

    def _require_model(self) -> LoadedModel:
        if self.model is None:
            raise UserFacingError("no model is loaded (choose a model in the parameters)")
        return self.model

    def _image(self, ref: ImageRef) -> InputImage:
        if ref.image is not None:
            return ref.image
        image = self._images.get(ref.key)
        if image is None:
            if ref.path is None:
                raise UserFacingError(f"{ref.name}: no file to load")
            image = load_input(ref.path)
            self._images[ref.key] = image
            while len(self._images) > 8:
                self._images.popitem(last=False)
        else:
            self._images.move_to_end(ref.key)
        return image

    def _prepare(self, job: Job) -> tuple[LoadedModel, PreparedInput, ImageState]:
        model = self._require_model()
        if job.image is None:
            raise UserFacingError("no image selected")
        image = self._image(job.image)
        self._check(job)
        pkey = (id(model), job.image.key)
        prepared = self._prepared.get(pkey)
        if prepared is None:
            prepared = prepare_input(model, image)
            self._prepared[pkey] = prepared
            while len(self._prepared) > 8:
                self._prepared.popitem(last=False)
        t0 = time.perf_counter()
        scores = predict(model, prepared.x, name=image.name)
        key = self._speed_key(model, prepared.x)
        if key not in self._row_seconds:
            # first look at this model/input size: forward + backward cost about 3 forwards of one row
            self._row_estimates[key] = 3.0 * (time.perf_counter() - t0)
        target = resolve_target(model, scores, job.target)
        x = prepared.x.detach().float().cpu().numpy().copy()
        if prepared.raw:
            display = prepared.visible
        else:
            display = np.asarray(image.image.convert("RGB")).copy()
        k = min(10, scores.shape[0])
        state = ImageState(
            key=job.image.key, image=image, display=display, visible=prepared.visible, box=prepared.box,
            raw=prepared.raw, x=x, input_range=float(x.max() - x.min()), scores=scores,
            top=top_k(model, scores, k), target=target, labels=tuple(model.labels),
            row_seconds=self._row_seconds.get(key) or self._row_estimates.get(key),
        )
        return model, prepared, state

    def _config(self, config: SmoothingConfig, model: LoadedModel, x: torch.Tensor) -> SmoothingConfig:
        """The automatic batch size (``config.batch_size`` None) of the GUI: the core's memory-based guess,
        lowered so that a run has at least MIN_BATCHES batches (the progress bar, the running mean, the
        convergence curve and Cancel then have something to work with even on the tiny default model) and, once
        the time per model-input row is known (measured by an earlier run, or guessed from the prediction just
        made), so that one batch takes about TARGET_BATCH_SECONDS.
        Results do not depend on the batch size (noise is drawn per sample index), only the liveliness does."""
        if config.batch_size is not None:
            return config
        per = evaluations_per_sample(config.method, config.steps)
        wanted = config.effective_samples * per
        rows = auto_batch_size(x, wanted, x.device)
        rows = min(rows, _pow2_floor(max(1, wanted // MIN_BATCHES)))
        key = self._speed_key(model, x)
        seconds = self._row_seconds.get(key) or self._row_estimates.get(key)
        if seconds is not None and seconds > 0:
            rows = min(rows, _pow2_floor(max(1, int(TARGET_BATCH_SECONDS / seconds))))
        return replace(config, batch_size=max(1, rows))

    @staticmethod
    def _speed_key(model: LoadedModel, x: torch.Tensor) -> tuple:
        return (model.spec, str(x.device), tuple(x.shape))

    def _measured(self, model: LoadedModel, x: torch.Tensor, result: SmoothingResult) -> None:
        if result.evaluations > 0 and result.seconds > 0:
            self._row_seconds[self._speed_key(model, x)] = result.seconds / result.evaluations

    # -------------------------------------------------------------- jobs
    def _job_load(self, job: Job) -> ModelInfo:
        spec = job.options.get("spec", "default")
        weights = job.options.get("weights") or None
        device = job.options.get("device", "auto")
        t0 = time.perf_counter()
        model = load_model(spec, weights, device, transform_input=job.options.get("transform_input"))
        self.model = model
        remember(spec, weights)  # a model file, folder or weights file: listed under "recent" in the model chooser
        self.model_serial += 1
        self._prepared.clear()
        if self._noise_model is not None and self._noise_model.device != model.device:
            self._noise_model = None
        return ModelInfo(spec=model.spec, name=model.name, kind=model.kind, labels=tuple(model.labels),
                         device=str(model.device), device_text=describe_device(model.device),
                         guided_ok=model.guided_ok, notes=tuple(model.notes), seconds=time.perf_counter() - t0,
                         weights_arg=model.weights_arg, weights_sha256=model.weights_sha256,
                         weights_path=str(model.weights_path) if model.weights_path is not None else None,
                         layout=tuple(sorted(model.layout.items())),
                         method_refusals=tuple(sorted(method_refusals(model).items())))

    def _job_explain(self, job: Job) -> ExplainOutcome:
        model, prepared, state = self._prepare(job)
        self.prepared.emit(job.id, state)
        self._check(job)
        config = self._config(job.config, model, prepared.x)
        send_partial = config.aggregation == "smoothgrad"
        last = {"progress": 0.0, "partial": 0.0}  # the first batch's mean is shown at once, then every 250 ms
        steady: list[tuple[float, int]] = []  # (time, samples done) after each batch: the first is warm-up

        def progress(p) -> None:
            now = time.perf_counter()
            steady.append((now, p.done))
            final = p.done >= p.total
            if final or now - last["progress"] >= PROGRESS_INTERVAL_S:
                last["progress"] = now
                eta = p.eta
                self.progress.emit(job.id, p.done, p.total, float(eta) if math.isfinite(eta) else float("nan"))
            if not final and now - last["partial"] >= PARTIAL_INTERVAL_S:
                last["partial"] = now
                if send_partial:
                    self.partial.emit(job.id, p.running_mean())
                self.convergence.emit(job.id, p.convergence())

        expl = explain(model, state.image, config, target=state.target, progress=progress, cancel=job.cancelled,
                       prepared=prepared, scores=state.scores)  # the prediction made by _prepare: one forward
        self._measured(model, prepared.x, expl.result)
        if len(steady) >= 3 and steady[-1][1] > steady[0][1]:  # batches after the first: the throughput to expect
            per = evaluations_per_sample(config.method, config.steps) if config.aggregation != "none" else 1
            rows = (steady[-1][1] - steady[0][1]) * per
            self._row_seconds[self._speed_key(model, prepared.x)] = (steady[-1][0] - steady[0][0]) / rows
        self.convergence.emit(job.id, list(expl.result.convergence))
        return ExplainOutcome(MapExplanation.of(expl, self.model_serial), state,
                              row_seconds=self._row_seconds.get(self._speed_key(model, prepared.x)))

    def _step(self, job: Job):
        last = {"t": 0.0}

        def step(done: int, total: int) -> None:
            now = time.perf_counter()
            if done >= total or now - last["t"] >= PROGRESS_INTERVAL_S:
                last["t"] = now
                self.progress.emit(job.id, int(done), int(total), float("nan"))

        return step

    def _job_grid(self, job: Job) -> GridOutcome:
        model, prepared, state = self._prepare(job)
        self.prepared.emit(job.id, state)
        levels = tuple(job.options.get("levels", ex.GRID_LEVELS))
        ns = tuple(job.options.get("ns", ex.GRID_SAMPLES))
        cfg = replace(job.config, aggregation="smoothgrad", n_samples=max(ns))
        cfg = self._config(cfg, model, prepared.x)

        def row_done(row: int, maps: list[np.ndarray]) -> None:
            self.grid_row.emit(job.id, row, [m.copy() for m in maps])

        result = ex.sigma_n_grid(model.module, prepared.x, state.target, levels=levels, ns=ns, config=cfg,
                                 baseline=prepared.baseline, guided_ok=model.guided_ok, step=self._step(job),
                                 cancel=job.cancelled, row_done=row_done)
        return GridOutcome(state, result, state.target, cfg)

    def _job_strip(self, job: Job) -> StripOutcome:
        model, prepared, state = self._prepare(job)
        self.prepared.emit(job.id, state)
        cfg = self._config(replace(job.config, aggregation="smoothgrad"), model, prepared.x)
        cfg = replace(job.config, batch_size=cfg.batch_size)
        total = len(ex.STRIP)

        def done(i: int, label: str, result: SmoothingResult | None) -> None:
            self.progress.emit(job.id, i + 1, total, float("nan"))
            if result is not None:  # entries that failed arrive with their message in the finished outcome
                self.strip_entry.emit(job.id, i, label, result, "")

        entries = ex.method_strip(model.module, prepared.x, state.target, cfg, baseline=prepared.baseline,
                                  guided_ok=model.guided_ok, cancel=job.cancelled, done=done)
        return StripOutcome(state, entries, state.target, cfg)

    def _job_difference(self, job: Job) -> DifferenceOutcome:
        model, prepared, state = self._prepare(job)
        self.prepared.emit(job.id, state)
        classes = state.scores.shape[0]
        order = [int(i) for i in np.argsort(-state.scores, kind="stable")]
        c1 = job.options.get("c1")
        c1 = order[0] if c1 is None else int(c1)
        c2 = job.options.get("c2")
        if c2 is None:
            c2 = next((c for c in order if c != c1), c1)
        c2 = int(c2)
        for c in (c1, c2):
            if not 0 <= c < classes:
                raise AttributionError(f"class {c} is out of range: the model has {classes} classes")
        cfg = self._config(job.config, model, prepared.x)
        diff, r1, r2 = ex.class_difference(model.module, prepared.x, c1, c2, cfg, baseline=prepared.baseline,
                                           guided_ok=model.guided_ok, cancel=job.cancelled)
        return DifferenceOutcome(state, c1, c2, diff, r1, r2, cfg)

    def _job_noise(self, job: Job) -> NoiseOutcome:
        model, prepared, state = self._prepare(job)
        self.prepared.emit(job.id, state)
        if model.kind != "embedded":
            raise UserFacingError("the training-with-noise comparison needs an embedded MNIST model: only it ships "
                                  "with a twin trained with input noise (choose model 'default')")
        clean_spec, noisy_spec = "default", "mnist-noise"
        clean = model if model.spec == clean_spec else self._embedded(clean_spec, model)
        noisy = model if model.spec == noisy_spec else self._embedded(noisy_spec, model)
        self._check(job)
        cfg = self._config(job.config, model, prepared.x)
        results = ex.noise_training_grid(clean.module, noisy.module, prepared.x, state.target, cfg,
                                         cancel=job.cancelled)
        return NoiseOutcome(state, results, state.target, cfg)

    def _embedded(self, spec: str, like: LoadedModel) -> LoadedModel:
        if self._noise_model is None or self._noise_model.spec != spec or self._noise_model.device != like.device:
            self._noise_model = load_model(spec, None, like.device)
        return self._noise_model

    # trust tools (gui/trust_jobs.py): deletion/insertion curves, sanity checks, pixel probe
    def _job_evaluate(self, job: Job):
        from . import trust_jobs

        return trust_jobs.evaluate(self, job)

    def _job_sanity(self, job: Job):
        from . import trust_jobs

        return trust_jobs.sanity(self, job)

    def _job_probe(self, job: Job):
        from . import trust_jobs

        return trust_jobs.probe(self, job)

    def _job_fluctuation(self, job: Job) -> FluctuationOutcome:
        model, prepared, state = self._prepare(job)
        self.prepared.emit(job.id, state)
        points = int(job.options.get("points", 200))
        result = ex.gradient_fluctuation(model.module, prepared.x, state.target, points=points,
                                         noise_level=job.config.noise_level, seed=job.config.seed,
                                         cancel=job.cancelled)
        return FluctuationOutcome(state, result, state.target)


# ---------------------------------------------------------------------------------------------- controller

_controllers: "weakref.WeakSet[WorkerController]" = weakref.WeakSet()


def live_threads() -> list[QThread]:
    """Worker threads still running (tests use this to fail on leaked threads)."""
    return [c.worker_thread for c in list(_controllers) if c.worker_thread.isRunning()]


class WorkerController(QObject):
    """GUI-thread owner of the worker thread: submits jobs, supersedes stale ones, shuts down cleanly."""

    submit_job = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("smoothgrad-worker")
        self.worker = Worker()
        self.worker.moveToThread(self._thread)
        self.submit_job.connect(self.worker.run)  # queued: the worker lives in self._thread
        self._thread.finished.connect(self.worker.deleteLater)
        self.worker.finished.connect(self._on_done)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(self._on_cancelled)
        self._pending: dict[int, Job] = {}
        self._stopped = False
        self._thread.start(QThread.Priority.LowPriority if not sys.platform.startswith("linux") else QThread.Priority.InheritPriority)
        _controllers.add(self)

    # -------------------------------------------------------------- API
    def submit(self, job: Job) -> Job:
        if self._stopped:
            raise RuntimeError("the worker was shut down")
        for other in list(self._pending.values()):
            if job.kind == "load" or other.kind == job.kind:
                other.cancel.set()
        self._pending[job.id] = job
        log.debug("submit job %d (%s)", job.id, job.kind)
        self.submit_job.emit(job)
        return job

    def cancel(self, kind: str | None = None) -> int:
        """Cancel the pending/running jobs of ``kind`` (all when None); returns how many were asked to stop."""
        count = 0
        for job in list(self._pending.values()):
            if kind is None or job.kind == kind:
                if not job.cancel.is_set():
                    job.cancel.set()
                    count += 1
        return count

    def busy(self, kind: str | None = None) -> bool:
        return any(kind is None or j.kind == kind for j in self._pending.values() if not j.cancel.is_set())

    def pending(self) -> list[Job]:
        return list(self._pending.values())

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything, stop the thread's event loop and wait; True when the thread has ended."""
        if self._stopped:
            return not self._thread.isRunning()
        self._stopped = True
        self.cancel()
        self._thread.quit()
        ok = self._thread.wait(max(0, int(timeout_ms)))
        if not ok:
            log.warning("the worker thread did not stop within %d ms (a batch is still running)", timeout_ms)
        return ok

    @property
    def worker_thread(self) -> QThread:
        return self._thread

    @property
    def stopped(self) -> bool:
        return self._stopped

    # -------------------------------------------------------------- bookkeeping (GUI thread)
    @Slot(int, str, object)
    def _on_done(self, job_id: int, kind: str, outcome: object) -> None:
        self._pending.pop(job_id, None)

    @Slot(int, str, str)
    def _on_failed(self, job_id: int, kind: str, message: str) -> None:
        self._pending.pop(job_id, None)

    @Slot(int, str)
    def _on_cancelled(self, job_id: int, kind: str) -> None:
        self._pending.pop(job_id, None)
