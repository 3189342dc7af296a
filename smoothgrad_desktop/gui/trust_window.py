"""The main window's trust tools, as a mixin of :class:`~.main_window.MainWindow` (kept apart so the window's
own module stays about composing the app; everything here runs in the GUI thread and owns no maths):

* the Map tab: "Show: map | standard error | SNR" (the uncertainty of the SmoothGrad mean, from the same pass),
  the colour-scale control (:class:`~.widgets.levels.LevelsWidget`: a histogram of the values shown with
  draggable levels) and "Lock colour scale" (Ctrl+L: freezes the current span and applies it to the heatmap, the
  overlay and every comparison figure; dragging the levels locks the dragged span);
* the Faithfulness tab (job ``evaluate``: deletion/insertion curves, random order, an optional second method,
  a scrubber) and the Sanity checks tab (job ``sanity``: cascading randomisation, random target, thumbnails);
* the pixel probe: a click on the heatmap re-runs the shown SmoothGrad map with the same seed, configuration and
  batch size and a core ``PixelProbe`` for that pixel (job ``probe``); the histogram goes to the "Pixel probe"
  dock. Only probed pixels are kept (the last PROBE_CACHE of them);
* sessions: File > Save session… (Ctrl+S) / Open session… (Ctrl+Alt+O), see :mod:`.session_io`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox, QDockWidget, QFileDialog, QLabel, QMessageBox, QSpinBox, QToolButton, QVBoxLayout, QWidget,
)

from ..core import visualize as vz
from ..core.devices import available_devices
from ..core.errors import UserFacingError
from ..core.paths import display_name, printable, resolve_path
from ..core.session import Session, SessionError
from . import display, session_io
from .panels import _pg
from .panels.trust import FaithfulnessPanel, ProbePanel, SanityPanel
from .params import SHOW_CHOICES
from .trust_data import COMPARE_CHOICES, method_label, uncertainty_maps
from .widgets.levels import LevelsWidget
from .worker import KINDS, ImageRef, Job

log = logging.getLogger(__name__)

TRUST_KINDS = ("evaluate", "sanity")
PROBE_CACHE = 32
SANITY_LAYERS = 5
SHOW_TEXT = {"map": "Map", "standard-error": "Standard error", "snr": "SNR (|mean| / SE)"}
SHOW_TIP = ("What the heatmap shows. Map: the attribution. Standard error: how uncertain the SmoothGrad mean is at "
            "each pixel (standard deviation of the noisy samples / √n, from the same pass; channels summed). "
            "SNR: |mean| / standard error — below about 2 the pixel's value is mostly noise.")
LOCK_TIP = ("Freeze the current colour scale and use it for the heatmap, the overlay and every comparison figure "
            "(σ/n grid, methods, class difference, noise training), so equal colours mean equal values everywhere. "
            "Dragging the levels under the heatmap also locks the scale. Changing the view unlocks it.")
PROBE_TIP = ("Click a pixel to see the values of its noisy samples (Pixel probe). Drag to pan, wheel to zoom.")


class TrustMixin:
    """See the module docstring. Relies on MainWindow's attributes (params, state, current, panels, ...)."""

    # ================================================================== construction (called by MainWindow)
    def _init_trust(self) -> None:
        self._locked_span: float | None = None
        self._map_span: float | None = None  # span of the attribution map at the last render (what a lock freezes)
        self._shown: tuple | None = None  # (values, view, cmap, rect) on the heatmap now
        self._probes: OrderedDict[tuple, object] = OrderedDict()
        self.session_messages: list[str] = []

    def _build_map_tab(self) -> QWidget:
        self.levels = LevelsWidget()
        self.levels.setToolTip("Histogram of the values in the heatmap (log counts). The shaded band is the colour "
                               "scale: drag its edge to change it.")
        self.show_combo = QComboBox()
        self.show_combo.setObjectName("show_combo")
        for key in SHOW_CHOICES:
            self.show_combo.addItem(SHOW_TEXT[key], key)
        self.show_combo.setToolTip(SHOW_TIP)
        self.show_combo.setCurrentIndex(max(0, self.show_combo.findData(self.params.show)))
        self.show_combo.currentIndexChanged.connect(self._on_show_changed)
        self.lock_action = QAction("&Lock colour scale", self)
        self.lock_action.setCheckable(True)
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lock_action.setToolTip(LOCK_TIP)
        self.lock_action.setStatusTip(LOCK_TIP)
        self.lock_action.toggled.connect(self._on_lock_toggled)
        self.addAction(self.lock_action)
        lock_button = QToolButton()
        lock_button.setObjectName("lock_scale_button")
        lock_button.setDefaultAction(self.lock_action)
        lock_button.setText("Lock scale")
        lock_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        show_label = QLabel("Show:")
        show_label.setBuddy(self.show_combo)
        show_label.setToolTip(SHOW_TIP)
        for w in (show_label, self.show_combo, lock_button):
            self.levels.add_control(w)
        self.levels.span_dragged.connect(self._on_levels_dragged)
        self.levels.span_edited.connect(self._on_levels_edited)
        self.panels.heatmap_view.graphics_widget.scene().sigMouseClicked.connect(self._on_heatmap_clicked)
        self.panels.heatmap_view.graphics_widget.setToolTip(PROBE_TIP)
        tab = QWidget()
        box = QVBoxLayout(tab)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self.panels, 1)
        box.addWidget(self.levels)
        self.map_tab = tab
        return tab

    def _trust_tabs(self, tab_class) -> dict:
        self.faithfulness_panel = FaithfulnessPanel()
        self.sanity_panel = SanityPanel()
        self.compare_combo = QComboBox()
        self.compare_combo.setObjectName("compare_combo")
        for label, method, aggregation in COMPARE_CHOICES:
            self.compare_combo.addItem(label, (method, aggregation))
        self.compare_combo.setCurrentIndex(1)
        self.compare_combo.setToolTip("A second method whose curves are drawn on the same plots, with the same "
                                      "noise seed and parameters.")
        self.compare_combo.currentIndexChanged.connect(lambda _i: self._on_trust_option("evaluate"))
        compare_label = QLabel("Compare with:")
        compare_label.setBuddy(self.compare_combo)
        self.sanity_layers_spin = QSpinBox()
        self.sanity_layers_spin.setObjectName("sanity_layers")
        self.sanity_layers_spin.setRange(0, 10_000)
        self.sanity_layers_spin.setSpecialValueText("all")
        self.sanity_layers_spin.setToolTip("How many layers to randomise, from the output down (all: every layer "
                                           "with parameters; each costs one SmoothGrad run).")
        self.sanity_layers_spin.setKeyboardTracking(False)
        self.sanity_layers_spin.valueChanged.connect(lambda _v: self._on_trust_option("sanity"))
        layers_label = QLabel("Layers:")
        layers_label.setBuddy(self.sanity_layers_spin)
        self.model_ready.connect(self._on_model_ready_trust)
        return {
            "evaluate": tab_class("evaluate", self.faithfulness_panel,
                                  "Pixels are removed (deletion) or revealed on a blurred copy (insertion) in the "
                                  "order of |map|.", [compare_label, self.compare_combo]),
            "sanity": tab_class("sanity", self.sanity_panel,
                                "Layers are re-initialised from the output down; the map is recomputed after each.",
                                [layers_label, self.sanity_layers_spin]),
        }

    def _build_probe_dock(self) -> None:
        self.probe_panel = ProbePanel()
        self.probe_dock = QDockWidget("Pixel probe", self)
        self.probe_dock.setObjectName("probe_dock")
        self.probe_dock.setWidget(self.probe_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.probe_dock)
        self.tabifyDockWidget(self.right_dock, self.probe_dock)
        self.right_dock.raise_()

    def _add_session_actions(self, menu) -> None:
        self.save_session_action = self._action(
            "Save &session…", self.save_session_dialog, ["Ctrl+S"],
            "Save the images, model (with its weights hash), parameters and seed to a session file: opening it "
            "again reproduces the same maps", menu)
        self.open_session_action = self._action(
            "Open s&ession…", self.open_session_dialog, ["Ctrl+Alt+O"],
            "Open a session file: its images, model and parameters, and recompute its maps", menu)

    def _add_trust_view_actions(self, menu) -> None:
        menu.addAction(self.lock_action)
        menu.addAction(self.probe_dock.toggleViewAction())

    # ================================================================== the heatmap: map | SE | SNR, clip, lock
    def _current_result(self):
        cur = self.current
        if cur is None or self.state is None or cur.state.key != self.state.key:
            return None
        return cur.explanation.result

    def _render_heatmap(self, attr, *, final: bool) -> None:
        state = self.state
        if state is None:
            return
        p = self.params
        values = display.reduce_map(attr, p.view, state, p.multiply_by_input)
        self._map_span = vz.compute_span(values, p.view, p.percentile, mode=p.clip_mode)
        show = p.show if final else "map"
        result = self._current_result() if show != "map" else None
        if result is None:
            show = "map"
        if show == "map":
            shown, view, cmap = values, p.view, p.cmap
            locked = self._locked_span is not None
            span = self._locked_span if locked else self._map_span
            title = "Heatmap" if final else "Heatmap (running mean…)"
            how = "locked" if locked else _clip_text(p.percentile, p.clip_mode)
        else:
            se_map, snr = uncertainty_maps(result.mean, result.standard_error, p.view, x=state.x,
                                           multiply_by_input=p.multiply_by_input)
            shown = se_map if show == "standard-error" else snr
            view, cmap = "absolute", p.cmap_absolute
            span = vz.compute_span(shown, "absolute", p.percentile, mode=p.clip_mode)
            title = (f"Standard error of the mean (n = {result.n})" if show == "standard-error"
                     else "SNR = |mean| / standard error")
            if result.n < 2:
                title += " — needs n ≥ 2"
            how = _clip_text(p.percentile, p.clip_mode) + " (the lock applies to the map)"
        rect = display.map_rect(state)
        self.panels.set_heatmap(shown, view, span=span, cmap=cmap, rect=rect)
        self.panels.set_overlay(display.overlay(state, shown, view, percentile=p.percentile, cmap=cmap,
                                                alpha=p.opacity, span=span), rect=display.image_rect(state))
        self.panels.heatmap_view.set_title(title)
        self._shown = (shown, view, cmap, rect)
        self.levels.set_values(shown, view, span, text=f"span {_pg.format_value(_pg.effective_span(span))} · {how}")

    @Slot(int)
    def _on_show_changed(self, _index: int) -> None:
        show = self.show_combo.currentData()
        if show and show != self.params.show:
            self.set_params(replace(self.params, show=show))

    def _on_display_changed(self, old, new) -> None:
        """Display parameters changed (before the re-render): keep the Show box in step; a locked scale no longer
        fits a different view or multiply-by-input, so it is released."""
        if self.show_combo.currentData() != new.show:
            blocker = QSignalBlocker(self.show_combo)
            self.show_combo.setCurrentIndex(max(0, self.show_combo.findData(new.show)))
            del blocker
        if self._locked_span is not None and (old.view != new.view or old.multiply_by_input != new.multiply_by_input):
            self._set_lock(None)
            self.statusBar().showMessage("Colour scale unlocked: the view changed", 5000)

    def locked_span(self) -> float | None:
        return self._locked_span

    def _set_lock(self, span: float | None) -> None:
        self._locked_span = None if span is None else float(span)
        if self.lock_action.isChecked() != (span is not None):
            blocker = QSignalBlocker(self.lock_action)
            self.lock_action.setChecked(span is not None)
            del blocker

    def set_locked_span(self, span: float | None) -> None:
        """Lock the colour scale at ``span`` (None: unlock) and redraw everything."""
        self._set_lock(span)
        self._rerender()

    @Slot(bool)
    def _on_lock_toggled(self, checked: bool) -> None:
        if checked:
            span = self._map_span
            if span is None or not span > 0:
                self._set_lock(None)
                self.show_error("nothing to lock yet: compute a map first")
                return
            self.set_locked_span(span)
            self.statusBar().showMessage(f"Colour scale locked at {_pg.format_value(span)} for every panel", 5000)
        else:
            self.set_locked_span(None)
            self.statusBar().showMessage("Colour scale unlocked", 3000)

    @Slot(float)
    def _on_levels_dragged(self, span: float) -> None:
        if self._shown is None or self.panels.heatmap_view.image_item.image is None:  # no map shown (cleared)
            return
        shown, view, cmap, rect = self._shown
        self.panels.set_heatmap(shown, view, span=span, cmap=cmap, rect=rect)  # live: the heatmap only

    @Slot(float)
    def _on_levels_edited(self, span: float) -> None:
        if self.params.show == "map":
            self.set_locked_span(span)
            self.statusBar().showMessage(f"Colour scale locked at {_pg.format_value(span)} for every panel", 5000)
        elif self._shown is not None:  # the standard error / SNR view: this view only, until the next render
            shown, view, cmap, rect = self._shown
            p = self.params
            self.panels.set_overlay(display.overlay(self.state, shown, view, percentile=p.percentile, cmap=cmap,
                                                    alpha=p.opacity, span=span), rect=display.image_rect(self.state))

    def _apply_clip_mode(self) -> None:
        for panel in (self.grid_panel, self.strip_panel, self.difference_panel, self.noise_panel):
            panel.set_clip_mode(self.params.clip_mode)

    # ================================================================== faithfulness, sanity
    def _trust_options(self, kind: str) -> dict:
        if kind == "evaluate":
            i = max(0, self.compare_combo.currentIndex())
            label, method, aggregation = COMPARE_CHOICES[i]
            return {"compare": (label, method, aggregation) if method else None}
        if kind == "sanity":
            return {"layers": int(self.sanity_layers_spin.value())}
        return {}

    def _job_options(self, kind: str, options: dict) -> dict:
        """The options sent with a job: for the trust jobs, the shown map too when it was computed for the current
        image and parameters (the worker checks model, configuration and target and recomputes otherwise)."""
        if kind not in TRUST_KINDS:
            return options
        cur, entry = self.current, self.current_entry()
        if cur is None or entry is None or cur.state.key != entry.key:
            return options
        r = cur.explanation.result
        return {**options, "attribution": r.attribution, "attribution_model": cur.explanation.model,
                "attribution_config": r.config, "attribution_target": cur.explanation.target}

    @Slot(object)
    def _on_model_ready_trust(self, info) -> None:
        """A large model makes "all layers" a long job (one SmoothGrad run per layer) that would hold up the map:
        outside the embedded models the sanity check starts with the top SANITY_LAYERS layers (the user can choose
        all)."""
        if info.kind != "embedded" and self.sanity_layers_spin.value() == 0:
            blocker = QSignalBlocker(self.sanity_layers_spin)
            self.sanity_layers_spin.setValue(SANITY_LAYERS)
            del blocker

    def _on_trust_option(self, kind: str) -> None:
        if self.current_tab_kind() == kind:
            self.compute_experiment(kind)
        elif kind in self.outcomes:
            self._mark_stale_tabs()

    def _render_trust(self, kind: str, outcome) -> None:
        if kind == "evaluate":
            self.faithfulness_panel.set_result(outcome)
        elif kind == "sanity":
            self.sanity_panel.set_result(outcome.layers, outcome.spearman_abs, outcome.spearman_signed,
                                         random_target=outcome.random_target, thumbnails=outcome.thumbnails,
                                         original=outcome.original, labels=list(outcome.state.labels))

    def _trust_summary(self, kind: str, outcome) -> str:
        st = outcome.state
        label = st.labels[outcome.target] if outcome.target < len(st.labels) else str(outcome.target)
        if kind == "evaluate":
            s = outcome.summary()
            text = (f"{st.image.name}, class {label}, {outcome.label}: deletion AUC {s['deletion_attribution_auc']:.3f}"
                    f" (random {s['deletion_random_auc']:.3f}), insertion AUC {s['insertion_attribution_auc']:.3f} "
                    f"(random {s['insertion_random_auc']:.3f}).")
            if outcome.compare_error:
                text += f" {outcome.compare_label}: {outcome.compare_error}"
            return text
        if kind == "sanity":
            rt = outcome.random_target
            full = outcome.spearman_abs[-1] if outcome.spearman_abs else float("nan")
            return (f"{st.image.name}, class {label}, {method_label(outcome.config.method, outcome.config.aggregation)}"
                    f": {len(outcome.layers)} layer(s) randomised; ρ(|map|) when all are random {full:.2f}; random "
                    f"target {rt['random_target']}: ρ {rt['spearman_abs']:.2f}.")
        return ""

    # ================================================================== pixel probe
    @Slot(object)
    def _on_heatmap_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        px = _pg.item_pixel(self.panels.heatmap_view.image_item, event.scenePos())
        if px is not None:
            self.probe_pixel(*px)

    def probe_pixel(self, x: int, y: int) -> Job | None:
        """Probe model-input pixel (x = column, y = row) of the shown map; None when cached or impossible."""
        if self._closing:
            return None
        cur, entry = self.current, self.current_entry()
        if cur is None or entry is None or cur.state.key != entry.key:
            self.show_error("pixel probe: compute a map for this image first")
            return None
        r = cur.explanation.result
        config = replace(r.config, batch_size=r.batch_size)
        mbi = bool(self.params.multiply_by_input)
        key = (entry.key, int(x), int(y), config, cur.explanation.target, mbi)
        cached = self._probes.get(key)
        if cached is not None:
            self._probes.move_to_end(key)
            self._show_probe(cached)
            return None
        job = Job("probe", image=ImageRef(key=entry.key, name=entry.name, path=entry.path, image=entry.image),
                  config=config, target=cur.explanation.target,
                  options={"pixel": (int(x), int(y)), "multiply_by_input": mbi})
        self.probe_panel.clear()
        self.probe_dock.show()
        self.probe_dock.raise_()
        self.statusBar().showMessage(f"Probing pixel x={x} y={y} ({r.n} samples)…", 5000)
        return self._submit(job)

    def _probe_done(self, job_id: int, outcome) -> None:
        key = (outcome.key, outcome.pixel[0], outcome.pixel[1], outcome.config, outcome.target,
               outcome.multiply_by_input)
        self._probes[key] = outcome
        while len(self._probes) > PROBE_CACHE:
            self._probes.popitem(last=False)
        self._show_probe(outcome)
        self.experiment_finished.emit("probe", outcome)

    def _show_probe(self, outcome) -> None:
        what = "gradient × input" if outcome.multiply_by_input else "per-sample map values"
        self.probe_panel.set_probe(outcome.pixel, outcome.values, outcome.stats, map_value=outcome.map_value,
                                   title=f"{outcome.name}, {what}")
        self.probe_dock.show()
        self.probe_dock.raise_()

    # ================================================================== sessions
    def _session_folder(self) -> str:
        return self.settings.last_folder()

    def save_session_to(self, path) -> Path:
        """Write a session file for the current state (see :mod:`.session_io`); returns the path written."""
        entries = self.images.entries()
        paths = [e.path for e in entries if e.path is not None]
        skipped = [e.name for e in entries if e.path is None]
        entry = self.current_entry()
        current = paths.index(entry.path) if entry is not None and entry.path in paths else 0
        result = self._current_result()
        batch = result.batch_size if result is not None else None
        device = self.model_info.device if self.model_info is not None else self.params.device
        session = session_io.build_session(self.params, self.model_info, paths, current, batch_size=batch,
                                           device=device, locked_span=self._locked_span, tab=self.current_tab_kind())
        out = session.save(path, overwrite=True)
        for name in skipped:
            self.show_error(f"{name}: not saved in the session (it has no file)")
        return out

    def open_session_from(self, path) -> bool:
        """Open a session: its images (the current one selected), model, parameters, colour scale and tab, then
        recompute. Missing or changed files are reported as one-line messages. False when it cannot be read."""
        try:
            session = Session.load(path)
        except SessionError as exc:
            self.show_error(str(exc))
            return False
        problems = list(session.check_files())
        code = session.code_model()  # resolved exactly as the loader resolves it (core.models.code_model_path)
        if code is not None and code.is_file():
            if session.code_model_changed():  # also when the session records no hash for it
                self.show_error(f"{display_name(path)}: not opened: {problems[0] if problems else 'model file changed'}")
                return False
            if str(code) not in self._trusted_code:
                if not self.confirm_code_model(code):
                    self.statusBar().showMessage(f"Session {display_name(path)} not opened", 8000)
                    return False
                self._trusted_code.add(str(code))
        new = session_io.params_from_session(session, self.params)
        known = {"auto", "cpu", *available_devices()}
        if new.device not in known and new.device.split(":")[0] not in known:
            problems.append(f"{Path(path).name}: computed on {new.device}, which is not available here: using auto "
                            f"(maps may differ in the last bits)")
            new = replace(new, device="auto")
        self._restart.stop()
        for kind in KINDS:
            if kind != "load":
                self.controller.cancel(kind)
        existing = [str(resolve_path(p)) for p in session.images if resolve_path(p).is_file()]
        self.images.clear()
        self.state = None
        self.current = None
        self.outcomes.clear()
        self._outcome_keys.clear()
        self._difference_image = None
        _first, add_problems = self.images.add_paths(existing)
        problems.extend(add_problems)
        row = -1
        if 0 <= session.current < len(session.images):
            want = resolve_path(session.images[session.current])
            row = next((i for i, e in enumerate(self.images.entries()) if e.path is not None
                        and Path(e.path).resolve() == want), -1)
        if row < 0 and self.images.rowCount() > 0:
            row = 0
        self.editor.set_params(new)
        self.params = new
        self.settings.set_params(new)
        self.panels.set_opacity(new.opacity)
        self._sync_scale_checks()
        locked, tab = session_io.display_state(session)
        self._set_lock(locked)
        blocker = QSignalBlocker(self.show_combo)
        self.show_combo.setCurrentIndex(max(0, self.show_combo.findData(new.show)))
        del blocker
        self.classes.set_target(new.target)
        if row >= 0:
            self._select_row(row, run=False)
        self.session_messages = problems
        for line in problems:
            self.show_error(line)
        if new.model_key() != self._loaded_key:
            self._failed_key = None
            self.load_model()
        else:
            self.run_map()
        if tab in self._tab_index:
            self.show_tab(tab)
        if not problems:
            self.message_label.setText("")
        self.statusBar().showMessage(f"Opened session {display_name(path)}: {len(existing)} image(s), "
                                     f"{new.short_text()}", 8000)
        return True

    def confirm_code_model(self, path: Path) -> bool:
        """A session naming a TorchScript / torch.export file would run that file's code: ask first."""
        answer = QMessageBox.question(
            self, "Load model code?",
            f"This session loads the model file\n{printable(path)}\n\nTorchScript and torch.export files are programs. "
            f"Load it only if you trust where it came from.", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    @Slot()
    def save_session_dialog(self, *_args) -> None:
        entry = self.current_entry()
        stem = Path(entry.name).stem if entry is not None else "smoothgrad"
        suggestion = str(Path(self._session_folder()) / f"{stem}{session_io.SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(self, "Save session", suggestion,
                                              f"SmoothGrad session (*{session_io.SUFFIX})")
        if not path:
            return
        if not path.endswith(session_io.SUFFIX):
            path += session_io.SUFFIX
        try:
            out = self.save_session_to(path)
        except (UserFacingError, OSError) as exc:
            self.show_error(f"session not saved: {exc}")
            return
        self.settings.set_last_folder(out)
        self.statusBar().showMessage(f"Session saved to {out}", 8000)

    @Slot()
    def open_session_dialog(self, *_args) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open session", self._session_folder(),
                                              f"SmoothGrad session (*{session_io.SUFFIX});;All files (*)")
        if path:
            self.settings.set_last_folder(path)
            self.open_session_from(path)


def _clip_text(percentile: float, mode: str) -> str:
    if mode == "cumulative":
        return f"{percentile:g} % of the total mass (cumulative)"
    if mode == "two-tailed":
        return f"P{percentile:g} of each sign (two-tailed)"
    return f"P{percentile:g} (percentile)"
