"""The run controller: owns the worker, the debounce, model loading and which job is current; one
:class:`JobHandle` per job (superqt's ``WorkerBase`` model: each job has its own signals).

* :meth:`RunController.submit` returns a handle whose signals (``started``, ``progress``, ``partial``,
  ``prepared``, ``yielded``, ``finished``, ``failed``, ``cancelled``) fire for that job only. A job superseded
  by a newer one of the same kind, or cancelled, ends with ``cancelled`` and nothing else: whoever holds a handle
  never has to sort a shared signal bus by job id.
* Model loading: :meth:`load_model` / :meth:`model_wanted` keep the keys of the loaded, loading and failed model;
  programs (TorchScript / torch.export files) load only when the user chose them in this run (:meth:`trust`).
* The debounce: :meth:`schedule` restarts a single-shot timer; :attr:`due` fires when it runs out.
* Throughput: the seconds per model evaluation measured by the last map (host float), for cost estimates.

What reaches the GUI thread is host data (numpy arrays, numbers, ids); the model stays in the worker.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from ..core.models import code_model_path
from ..core.params import Params
from .worker import Job, WorkerController

log = logging.getLogger(__name__)

RESTART_DELAY_MS = 300


class JobHandle(QObject):
    """One submitted job: its signals, its parameters, and a way to cancel it."""

    started = Signal()
    progress = Signal(int, int, float)  # done, total, eta seconds (nan when unknown)
    partial = Signal(object)  # running mean (C, H, W)
    prepared = Signal(object)  # ImageState
    yielded = Signal(str, object)  # ("convergence", points) | ("grid_row", (row, maps)) | ("strip_entry", (...))
    finished = Signal(object)  # outcome
    failed = Signal(str)  # one-line message
    cancelled = Signal()

    def __init__(self, job: Job, params: Params, key: tuple | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self.params = params
        """The parameters the job was submitted with (its result carries them)."""
        self.key = key
        self.done = False

    @property
    def id(self) -> int:
        return self.job.id

    @property
    def kind(self) -> str:
        return self.job.kind

    def cancel(self) -> None:
        self.job.cancel.set()


class RunController(QObject):
    """See the module docstring."""

    due = Signal()  # the debounce ran out
    activity = Signal(object)  # JobHandle submitted, started or ended (the progress bar follows)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workers = WorkerController(self)
        self._handles: dict[int, JobHandle] = {}
        self._latest: dict[str, JobHandle] = {}
        self.loaded_key: tuple | None = None
        self.loading_key: tuple | None = None
        self.failed_key: tuple | None = None
        self._trusted: set[str] = set()
        self.seconds_per_evaluation: float | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RESTART_DELAY_MS)
        self._timer.timeout.connect(self.due)
        w = self.workers.worker
        w.started.connect(self._on_started)
        w.progress.connect(self._on_progress)
        w.partial.connect(self._on_partial)
        w.prepared.connect(self._on_prepared)
        w.convergence.connect(self._on_convergence)
        w.grid_row.connect(self._on_grid_row)
        w.strip_entry.connect(self._on_strip_entry)
        w.finished.connect(self._on_finished)
        w.failed.connect(self._on_failed)
        w.cancelled.connect(self._on_cancelled)

    # ------------------------------------------------------------------ worker access (tests, shutdown)
    @property
    def worker(self):
        return self.workers.worker

    @property
    def worker_thread(self):
        return self.workers.worker_thread

    # ------------------------------------------------------------------ jobs
    def submit(self, job: Job, params: Params, key: tuple | None = None) -> JobHandle:
        """Queue ``job``; a pending job of the same kind (every job, for a model load) is superseded."""
        old = self._latest.get(job.kind)
        handle = JobHandle(job, params, key, self)
        self._handles[job.id] = handle
        self._latest[job.kind] = handle
        if old is not None and not old.done:
            old.cancel()
        if job.kind == "load":
            self.loading_key = params.model_key()
        self.workers.submit(job)
        self.activity.emit(handle)
        return handle

    def latest(self, kind: str) -> JobHandle | None:
        return self._latest.get(kind)

    def cancel(self, kind: str | None = None) -> int:
        if kind is None:
            self._timer.stop()
        return self.workers.cancel(kind)

    def busy(self, kind: str | None = None) -> bool:
        return self.workers.busy(kind)

    def pending(self) -> list[Job]:
        return self.workers.pending()

    def shutdown(self, timeout_ms: int) -> bool:
        self._timer.stop()
        return self.workers.shutdown(timeout_ms)

    # ------------------------------------------------------------------ debounce
    def schedule(self) -> None:
        self._timer.start()

    def stop_schedule(self) -> None:
        self._timer.stop()

    # ------------------------------------------------------------------ model loading
    def trust(self, spec: str) -> None:
        """Mark the program ``spec`` names as chosen or confirmed by the user in this run."""
        path = code_model_path(spec)
        if path is not None:
            self._trusted.add(str(path))

    def trusted(self, spec: str) -> bool:
        path = code_model_path(spec)
        return path is None or str(path) in self._trusted

    def model_wanted(self, params: Params) -> bool:
        """True when ``params`` name a model that is neither loaded, loading nor known to fail."""
        key = params.model_key()
        return key not in (self.loaded_key, self.loading_key, self.failed_key)

    def retry_model(self) -> None:
        """A model that failed may be tried again (the user asked to run)."""
        self.failed_key = None

    def refuse_model(self, params: Params) -> None:
        """The model ``params`` name is not loaded (a program not chosen in this run): do not try it again."""
        self.failed_key, self.loading_key = params.model_key(), None

    def forget_model(self) -> None:
        """Load the model again on the next request (a file chosen again, e.g. after fixing its sidecar)."""
        self.failed_key = None
        self.loaded_key = None

    def load_model(self, params: Params) -> JobHandle:
        job = Job("load", options={"spec": params.model, "weights": params.weights, "device": params.device,
                                   "transform_input": params.layout_option()})
        return self.submit(job, params)

    # ------------------------------------------------------------------ routing (GUI thread)
    def _live(self, job_id: int) -> JobHandle | None:
        """The handle of ``job_id`` while it is the current job of its kind and not cancelled."""
        h = self._handles.get(job_id)
        if h is None or h.done or self._latest.get(h.kind) is not h or h.job.cancelled():
            return None
        return h

    def _end(self, job_id: int) -> JobHandle | None:
        h = self._handles.pop(job_id, None)
        if h is None or h.done:
            return None
        h.done = True
        if self._latest.get(h.kind) is h and h.job.cancelled():
            self._latest.pop(h.kind, None)
        return h

    @Slot(int, str)
    def _on_started(self, job_id: int, _kind: str) -> None:
        h = self._live(job_id)
        if h is not None:
            h.started.emit()
            self.activity.emit(h)

    @Slot(int, int, int, float)
    def _on_progress(self, job_id: int, done: int, total: int, eta: float) -> None:
        h = self._live(job_id)
        if h is not None:
            h.progress.emit(done, total, eta)

    @Slot(int, object)
    def _on_partial(self, job_id: int, mean: object) -> None:
        h = self._live(job_id)
        if h is not None:
            h.partial.emit(mean)

    @Slot(int, object)
    def _on_prepared(self, job_id: int, state: object) -> None:
        h = self._live(job_id)
        if h is not None:
            h.prepared.emit(state)

    @Slot(int, object)
    def _on_convergence(self, job_id: int, points: object) -> None:
        h = self._live(job_id)
        if h is not None:
            h.yielded.emit("convergence", points)

    @Slot(int, int, object)
    def _on_grid_row(self, job_id: int, row: int, maps: object) -> None:
        h = self._live(job_id)
        if h is not None:
            h.yielded.emit("grid_row", (row, maps))

    @Slot(int, int, str, object, str)
    def _on_strip_entry(self, job_id: int, i: int, label: str, result: object, error: str) -> None:
        h = self._live(job_id)
        if h is not None:
            h.yielded.emit("strip_entry", (i, label, result, error))

    @Slot(int, str, object)
    def _on_finished(self, job_id: int, kind: str, outcome: object) -> None:
        superseded = self._live(job_id) is None
        h = self._end(job_id)
        if h is None:
            return
        if superseded:
            h.cancelled.emit()
        else:
            if kind == "load":
                self.loaded_key, self.loading_key, self.failed_key = h.params.model_key(), None, None
                self.seconds_per_evaluation = None  # measured again by the next map of this model
            elif kind == "explain":
                r = outcome.explanation.result
                self.seconds_per_evaluation = outcome.row_seconds or (
                    r.seconds / r.evaluations if r.evaluations > 0 and r.seconds > 0 else None)
            h.finished.emit(outcome)
        self.activity.emit(h)

    @Slot(int, str, str)
    def _on_failed(self, job_id: int, kind: str, message: str) -> None:
        superseded = self._live(job_id) is None
        h = self._end(job_id)
        if h is None:
            return
        if superseded:
            h.cancelled.emit()
        else:
            if kind == "load":
                self.failed_key, self.loading_key = h.params.model_key(), None
            h.failed.emit(message)
        self.activity.emit(h)

    @Slot(int, str)
    def _on_cancelled(self, job_id: int, kind: str) -> None:
        h = self._end(job_id)
        if h is None:
            return
        if kind == "load" and self.loading_key == h.params.model_key():
            self.loading_key = None
        h.cancelled.emit()
        self.activity.emit(h)
