"""What the app computes and when: the map, the tabs' figures and the model load, each submitted to the
:class:`~.controller.RunController` and followed through its :class:`~.controller.JobHandle`.

* The map runs for the image selected with the current parameters; a model or compute change restarts it after
  the controller's debounce, unless the map shown was made with exactly these parameters (a run picked in the
  history, the fields put back after a cancel).
* A tab's figure is stale when its image, model, parameters or tab options differ from its result's; it computes
  by itself (opened, or its inputs changed while open) only when the estimate is :data:`~.tabs.AUTO_SECONDS` or
  less, from the measured seconds per evaluation of the current model.
* Each result goes into :class:`~.state.AppState` with the parameters of its job; the panels draw from there.
* The progress bar and Cancel follow the jobs; the status bar's device / model / last-run labels are here too.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton

from ..core.params import COMPUTE_FIELDS, MODEL_FIELDS, Params
from ..core.paths import display_name, printable
from .controller import JobHandle, RunController
from .state import MAP, AppState, Result
from . import tabs as registry
from .tabs import BY_KIND, COMPUTED, ExperimentTab, View, estimate_text
from .worker import ImageRef, Job


def job_params(live: Params, submitted: Params) -> Params:
    """The parameters a result carries: model and compute fields of the job, display fields of now."""
    return replace(live, **{f: getattr(submitted, f) for f in (*MODEL_FIELDS, *COMPUTE_FIELDS)})


class RunFlow(QObject):
    """See the module docstring. ``entry()`` is the image entry selected (or None), ``tab()`` the tab shown."""

    status = Signal(str, int)  # text, milliseconds
    error = Signal(str)
    clear_error = Signal()
    run_finished = Signal(object)
    experiment_finished = Signal(str, object)
    job_failed = Signal(str, str)
    model_ready = Signal(object)

    def __init__(self, state: AppState, controller: RunController, *, map_tab, convergence, tabs: dict,
                 classes, runs, images, editor, entry: Callable, tab: Callable[[], str],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.controller = state, controller
        self.map_tab, self.convergence, self.tabs = map_tab, convergence, tabs
        self.classes, self.runs, self.images, self.editor = classes, runs, images, editor
        self.entry, self.tab = entry, tab
        self.closing = False
        self.notice: str | None = None
        """A message that outlives the clearing of messages (a model load, a finished map): the start-up note
        about a program model that was not loaded. Dropped once a model other than the default has loaded."""
        self.model_error = False  # the message line shows a model that failed to load
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setFormat("idle")
        self.progress.setToolTip("Samples done / total for the running job, with the estimated time left.")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running computation (Esc). It stops after the current batch.")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.device_label = QLabel("device: –")
        self.model_label = QLabel("model: loading…")
        self.time_label = QLabel("last run: –")
        controller.due.connect(self.apply_changes)
        controller.activity.connect(self._on_activity)

    def labels(self) -> tuple[QLabel, QLabel, QLabel]:
        """The status bar's device, model and last-run labels, kept current here."""
        for w, tip in ((self.device_label, "Where the computation runs"), (self.model_label, "The loaded model"),
                       (self.time_label, "Wall-clock time of the last finished map run")):
            w.setToolTip(tip)
        return self.device_label, self.model_label, self.time_label

    def stop(self) -> None:
        """The window is closing: submit nothing more."""
        self.closing = True

    # ------------------------------------------------------------------ keys and staleness
    def image_ref(self) -> ImageRef | None:
        e = self.entry()
        return None if e is None else ImageRef(key=e.key, name=e.name, path=e.path, image=e.image)

    def key(self, kind: str, options: dict | None = None) -> tuple:
        e, p = self.entry(), self.state.params
        if kind == MAP:
            return (MAP, e.key if e else None, p.model_key(), p.compute_key())
        return (kind, e.key if e else None, self.controller.loaded_key, p.compute_key(),
                tuple(sorted((options or {}).items())))

    def _options(self, kind: str) -> dict | None:
        try:
            return self.tabs[kind].options(self.state.image)
        except ValueError:
            return None

    def is_stale(self, kind: str) -> bool:
        r = self.state.result(kind)
        return r is None or r.key != self.key(kind, self._options(kind))

    def mark_stale(self) -> None:
        for kind, tab in self.tabs.items():
            if self.state.result(kind) is not None and self.is_stale(kind):
                tab.status.setText("Out of date: parameters or image changed. Press Compute (or reopen the tab).")

    # ------------------------------------------------------------------ what to compute
    def load_model(self) -> JobHandle | None:
        p = self.state.params
        if not self.controller.trusted(p.model):
            self.controller.refuse_model(p)
            self.error.emit(f"{display_name(p.model)}: not loaded: a TorchScript/torch.export file is a program; "
                            f"choose it under Model file to load it")
            return None
        self.model_label.setText(printable(f"model: loading {p.model}…", limit=120))
        h = self.controller.load_model(p)
        h.finished.connect(self._model_loaded)
        h.failed.connect(self._model_failed)
        return h

    def run_map(self) -> JobHandle | None:
        """Start (or restart) the map run for the current image and parameters."""
        if self.closing:
            return None
        if self.controller.loaded_key is None:
            if self.controller.loading_key is None:
                self.load_model()
            return None
        ref = self.image_ref()
        if ref is None:
            return None
        p = self.state.params
        h = self.controller.submit(Job("explain", image=ref, config=p.config(), target=p.target), p, self.key(MAP))
        h.started.connect(self.convergence.clear)
        h.prepared.connect(self._on_prepared)
        h.partial.connect(self.map_tab.show_partial)
        h.yielded.connect(lambda what, points: what == "convergence" and self.convergence.set_points(list(points)))
        h.progress.connect(self._on_progress)
        h.finished.connect(lambda outcome: self._map_done(h, outcome))
        h.failed.connect(lambda message: self._failed(h, message))
        h.cancelled.connect(lambda: self._map_cancelled(h))
        return h

    def run_now(self) -> None:
        self.controller.stop_schedule()
        if self.controller.model_wanted(self.state.params) or \
                self.state.params.model_key() == self.controller.failed_key:
            self.controller.retry_model()
            self.load_model()
            return
        self.run_map()
        if self.tab() in COMPUTED:
            self.compute(self.tab())

    @Slot()
    def apply_changes(self) -> None:
        """The debounce ran out: load the model the parameters name, else recompute what is out of date."""
        if self.controller.model_wanted(self.state.params):
            self.load_model()
            return
        if self.model_error and self.state.params.model_key() == self.controller.loaded_key:
            self.model_error = False  # back to the model that is loaded: its message is no longer true
            self.clear_error.emit()
        shown = self.state.result(MAP)
        if shown is None or shown.key != self.key(MAP):
            self.run_map()
        elif self.controller.busy("explain"):  # back to the parameters of the map shown: stop the run for others
            self.controller.cancel("explain")
        self.auto_compute(self.tab())

    def compute(self, kind: str) -> JobHandle | None:
        if kind not in COMPUTED or self.closing:
            return None
        tab: ExperimentTab = self.tabs[kind]
        if self.controller.loaded_key is None:
            tab.status.setText("Waiting for the model…")
            return None
        ref = self.image_ref()
        if ref is None:
            tab.status.setText("Open an image first.")
            return None
        try:
            options = tab.options(self.state.image)
        except ValueError as exc:
            self.error.emit(f"{BY_KIND[kind].title}: {exc}")
            tab.status.setText(f"Bad values: {exc}")
            return None
        p = self.state.params
        if tab.spec.prefill is not None:
            tab.spec.prefill(tab.panel, options, View(p, self.state.locked_span))
        job_options = dict(options)
        mapped = self.state.map_for_image()
        if kind in ("evaluate", "sanity") and mapped is not None:  # the map shown, when it fits (worker checks)
            r = mapped.outcome.explanation
            job_options.update(attribution=r.result.attribution, attribution_model=r.model_serial,
                               attribution_config=r.result.config, attribution_target=r.target)
        job = Job(kind, image=ref, config=p.config(), target=p.target, options=job_options)
        tab.status.setText("Computing…")
        h = self.controller.submit(job, p, self.key(kind, options))
        h.prepared.connect(self._on_prepared)
        h.progress.connect(self._on_progress)
        h.yielded.connect(lambda _what, payload: self._stream(h, payload))
        h.finished.connect(lambda outcome: self._experiment_done(h, outcome))
        h.failed.connect(lambda message: self._failed(h, message))
        h.cancelled.connect(lambda: self._experiment_cancelled(h))
        return h

    def estimate(self, kind: str) -> tuple[int, float | None]:
        """(model evaluations, seconds or None) of computing ``kind`` now."""
        options = self._options(kind)
        if options is None:
            return 0, None
        n = self.tabs[kind].cost(self.state.params, options)
        image = self.state.image
        per = self.controller.seconds_per_evaluation or (image.row_seconds if image is not None else None)
        return n, (n * per if per else None)

    def auto_compute(self, kind: str) -> None:
        """Compute ``kind`` (the tab shown) when it is out of date and cheap; else show what it would cost."""
        if kind not in COMPUTED or not self.is_stale(kind) or self.controller.busy(kind) \
                or self.controller.loaded_key is None:
            return
        n, seconds = self.estimate(kind)
        if seconds is None or seconds <= registry.AUTO_SECONDS:
            self.compute(kind)
        else:
            self.tabs[kind].status.setText(f"{estimate_text(n, seconds)}. Press Compute to start.")

    def cancel(self) -> None:
        """The user's Cancel: stop every job; the fields go back to the parameters of the map shown."""
        if self.controller.cancel():
            self.progress.setFormat("cancelling…")
        mapped = self.state.map_for_image()
        if mapped is not None and mapped.key != self.key(MAP):
            self.state.apply(job_params(self.state.params, mapped.params), keep_target=True)
            self.controller.stop_schedule()

    def show_run(self, record, select_row: Callable[[int], None]) -> None:
        """Show a past run again (its map, classes and every parameter, display ones included) without recomputing."""
        self.controller.stop_schedule()
        self.controller.cancel("explain")
        select_row(self.images.row_of(record.image_key))
        outcome = record.outcome
        self.state.set_image(outcome.state)
        key = (MAP, outcome.state.key, record.params.model_key(), record.params.compute_key())
        self.state.set_result(Result(MAP, outcome, record.params, key))
        self.state.apply(record.params, keep_target=True)
        self.controller.stop_schedule()
        self.classes.set_predictions(outcome.state.top, record.target)
        self.convergence.set_points(list(outcome.explanation.result.convergence))
        self.status.emit(f"Showing {record.summary()}", 10000)

    def open_session(self, opened, select_row: Callable[[int], None]) -> list[str]:
        """Apply a session read by :func:`.sessions.read`: its images, parameters (one ``apply``), colour scale,
        then load its model or compute its map. Returns the problems to report."""
        self.controller.trust(opened.params.model)
        self.controller.cancel()
        self.images.clear()
        self.state.set_image(None)
        self.state.clear_results()
        _first, problems = self.images.add_paths(opened.images)
        rows = [i for i, e in enumerate(self.images.entries()) if e.path is not None and opened.current is not None
                and e.path.resolve() == opened.current]
        self.state.apply(opened.params, keep_target=True)
        self.controller.stop_schedule()
        self.state.set_locked_span(opened.locked_span)
        select_row(rows[0] if rows else 0)
        if opened.params.model_key() != self.controller.loaded_key:
            self.controller.retry_model()
            self.load_model()
        else:
            self.run_map()
        return opened.problems + problems

    def _clear_messages(self) -> None:
        """Clear the message line; the standing notice, if any, is said again."""
        self.clear_error.emit()
        if self.notice:
            self.error.emit(self.notice)

    # ------------------------------------------------------------------ job results
    @Slot(object)
    def _model_loaded(self, info) -> None:
        self.state.set_model(info)
        self.device_label.setText(f"device: {info.device_text}")
        self.model_label.setText(printable(f"model: {info.name}"))
        self.model_label.setToolTip("; ".join((info.name, info.kind, *info.notes)))
        self.editor.set_labels(info.labels)
        self.editor.set_method_refusals(dict(info.method_refusals))
        self.model_error = False
        if info.spec != "default":  # a model the user chose: the start-up note is no longer true
            self.notice = None
        self._clear_messages()  # a message about an earlier model is no longer true
        self.status.emit(f"Loaded {info.name} on {info.device} in {info.seconds:.2f} s", 5000)
        self.model_ready.emit(info)
        self.run_map()
        self.auto_compute(self.tab())

    @Slot(str)
    def _model_failed(self, message: str) -> None:
        info = self.state.model_info
        self.model_error = True
        self.error.emit(f"model: {message}" + (f"; still using {info.name}" if info else ""))
        self.model_label.setText(f"model: {info.name if info else 'none'}")
        self.job_failed.emit("load", message)

    @Slot(object)
    def _on_prepared(self, st) -> None:
        entry = self.entry()
        if entry is None or entry.key != st.key:
            return
        self.state.set_image(st)
        self.images.set_notes(st.key, st.image.notes)
        self.editor.set_input_range(st.input_range)
        self.classes.set_predictions(st.top, st.target)
        self.tabs["difference"].controls.fill(st)

    @Slot(int, int, float)
    def _on_progress(self, done: int, total: int, eta: float) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(done, total))
        text = f"{done}/{total}"
        if math.isfinite(eta) and done < total:
            text += f" · {eta:.1f} s left" if eta < 90 else f" · {eta / 60:.1f} min left"
        self.progress.setFormat(text)

    @Slot(object)
    def _on_activity(self, h: JobHandle) -> None:
        if not h.done:
            if not h.job.cancelled():
                self.progress.setRange(0, 0)  # busy until the first progress report
                self.progress.setFormat("loading the model…" if h.kind == "load" else
                                        f"{BY_KIND[h.kind].title if h.kind in BY_KIND else h.kind}…")
                self.cancel_button.setEnabled(True)
        elif not self.controller.busy():
            cancelled = h.job.cancelled()
            self.progress.setRange(0, 1)
            self.progress.setValue(0 if cancelled else 1)
            self.progress.setFormat("cancelled" if cancelled else "done")
            self.cancel_button.setEnabled(False)

    def _map_done(self, h: JobHandle, outcome) -> None:
        expl, r = outcome.explanation, outcome.explanation.result
        params = job_params(self.state.params, h.params)
        self.state.set_image(outcome.state)
        self.state.set_result(Result(MAP, outcome, params, h.key))
        self.classes.set_predictions(outcome.state.top, expl.target)
        self.convergence.set_points(list(r.convergence))
        self.time_label.setText(f"last run: {expl.seconds:.2f} s")
        self.runs.add(image_key=outcome.state.key, image_name=expl.image.name, params=params, outcome=outcome,
                      seconds=expl.seconds, sigma=r.sigma, n=r.n, target=expl.target, target_label=expl.target_label,
                      device=r.device, batch_size=r.batch_size,
                      model_name=self.state.model_info.name if self.state.model_info is not None else "")
        self._clear_messages()
        self.status.emit(
            f"{expl.image.name}: {expl.target_label} explained with {r.config.method}/{r.config.aggregation}, "
            f"n={r.n}{_until_converged(r)}, σ={r.sigma:.3g} in {expl.seconds:.2f} s"
            + (f" (input: {'; '.join(expl.image.notes)})" if expl.image.notes else ""), 8000)
        self.mark_stale()
        self.run_finished.emit(outcome)

    def _map_cancelled(self, h: JobHandle) -> None:
        if self.controller.latest("explain") not in (None, h):
            return  # superseded: the newer run draws
        if self.state.map_for_image() is None:
            self._no_map("Heatmap (cancelled)")
        else:
            self.map_tab.render()  # the running mean of a cancelled run is not a result

    def _no_map(self, title: str) -> None:
        """No map (and no picture, unless it is the selected image's) rather than one that is not this run's."""
        entry, image = self.entry(), self.state.image
        self.state.drop_result(MAP)
        if image is not None and (entry is None or image.key != entry.key):
            self.state.set_image(None)
        self.map_tab.clear_map(title)

    def _failed(self, h: JobHandle, message: str) -> None:
        self.error.emit(message)
        if h.kind == "explain":
            self._no_map("Heatmap (no map: the run failed)")
        elif h.kind in self.tabs:
            self.tabs[h.kind].status.setText(f"Failed: {message}")
        entry = self.entry()
        if entry is not None and entry.name and message.startswith(entry.name + ":"):
            self.images.set_error(entry.key, message)
        self.job_failed.emit(h.kind, message)

    def _stream(self, h: JobHandle, payload) -> None:
        tab = self.tabs[h.kind]
        if tab.spec.stream is not None and self.state.image is not None:
            try:
                tab.spec.stream(tab.panel, payload, self.state.image, View(self.state.params, self.state.locked_span))
            except (IndexError, ValueError):  # a figure rebuilt meanwhile; the finished result redraws it
                pass

    def _experiment_done(self, h: JobHandle, outcome) -> None:
        kind, key = h.kind, h.key
        if kind == "difference":  # the classes actually used (the default is the top two)
            key = key[:-1] + (tuple(sorted({"c1": outcome.c1, "c2": outcome.c2}.items())),)
            panel = self.tabs[kind].panel
            if panel.classes() != (outcome.c1, outcome.c2) and len(outcome.state.labels) > 1:
                panel.set_classes(list(outcome.state.labels), outcome.c1, outcome.c2)
        info = self.state.model_info
        self.state.set_result(Result(kind, outcome, job_params(self.state.params, h.params), key,
                                     info.name if info is not None else ""))
        self.render(kind)
        self.tabs[kind].status.setText(self.tabs[kind].spec.summary(outcome))
        self.experiment_finished.emit(kind, outcome)

    def _experiment_cancelled(self, h: JobHandle) -> None:
        if self.controller.latest(h.kind) in (None, h):
            self.tabs[h.kind].status.setText("Cancelled. Press Compute to try again.")

    def render(self, kind: str) -> None:
        r = self.state.result(kind)
        if r is not None and kind in self.tabs:
            tab = self.tabs[kind]
            tab.spec.render(tab.panel, r.outcome, View(self.state.params, self.state.locked_span))


def _until_converged(r) -> str:
    """With samples "auto": whether the tolerance stopped the run or the cap did, and the error reached."""
    cfg = r.config
    if not getattr(cfg, "auto", False):
        return ""
    how = "converged" if r.converged else f"stopped at the sample cap {cfg.max_samples}"
    return f" ({how}: relative standard error {r.relative_error:.3g}, tolerance {cfg.tolerance:g})"
