"""The main window: composes the docks, the tabs, the menus, the dialogs and drag-and-drop; owns no state.

Left dock: images + parameter editor; centre: one tab per :class:`~.tabs.TabSpec`, progress bar, Cancel; right
dock: top classes, run history, pixel probe. State: :class:`~.state.AppState`; jobs: :class:`~.controller.RunController`
(one :class:`~.controller.JobHandle` each), decided by :class:`~.run_flow.RunFlow`.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, Signal, Slot
from PySide6.QtGui import QAction, QImage, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QScrollArea, QSplitter, QTabWidget, QWidget

from ..core.models import code_model_path
from ..core.params import Params
from ..core.paths import display_name
from ..core.resources import sample_images
from . import docks
from . import export as gx
from .controller import JobHandle, RunController
from .images_input import ImageBrowser
from .help import open_guide
from .map_tab import MapTab
from .model_chooser import open_model_chooser
from .models import ClassTableModel, ImageListModel, RunHistoryModel
from .models.classes import ClassIndexRole
from .models.runs import RunRole
from .panels.curves import ConvergencePanel
from .probe import ProbeTool
from .run_flow import RunFlow
from .sessions import SessionActions
from .settings import AppSettings
from .state import MAP, AppState
from .tab_nav import TabNavigator
from .tabs import BY_KIND, COMPUTED, TABS, ExperimentTab
from .widgets.parameters import ParameterEditor

log = logging.getLogger(__name__)

APP_TITLE = "SmoothGrad Desktop"


class MainWindow(QMainWindow):
    """See the module docstring. ``autostart``: load the model, the samples and compute at once."""

    run_finished = Signal(object)  # ExplainOutcome, after it is shown (tests wait on this)
    experiment_finished = Signal(str, object)  # kind, outcome
    job_failed = Signal(str, str)  # kind, message
    model_ready = Signal(object)  # ModelInfo
    close_wait_ms = 10_000
    """How long closing waits for the worker's current batch (run_gui lowers it: it can end the process)."""

    def __init__(self, settings: AppSettings | None = None, *, params: Params | None = None,
                 files: list[str] | None = None, autostart: bool = True, samples: bool = True,
                 log_file: Path | None = None, close_wait_ms: int | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or AppSettings()
        params = params if params is not None else self.settings.params()
        startup_code = code_model_path(params.model)
        if startup_code is not None:  # a program is loaded only when chosen (or confirmed) in this run
            params = replace(params, model="default", weights="")
        self._log_file = log_file
        self.close_wait_ms = close_wait_ms if close_wait_ms is not None else MainWindow.close_wait_ms
        self._closing = False
        self._worker_stopped = True
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)

        self.state = AppState(params, self)
        self.controller = RunController(self)
        self.images = ImageListModel(self)
        self.classes = ClassTableModel(self)
        self.runs = RunHistoryModel(self)
        self.probe = ProbeTool(self.state, self.controller, self)
        self.map_tab = MapTab(self.state)
        self.panels = self.map_tab.panels
        self.convergence_panel = ConvergencePanel()
        self.exp_tabs = {spec.kind: ExperimentTab(spec) for spec in TABS if spec.computes}
        self._build_docks()
        self.flow = RunFlow(self.state, self.controller, map_tab=self.map_tab, convergence=self.convergence_panel,
                            tabs=self.exp_tabs, classes=self.classes, runs=self.runs, images=self.images,
                            editor=self.editor, entry=self.current_entry, tab=self.current_tab_kind, parent=self)
        self.progress = self.flow.progress
        self.exports = gx.ExportActions(self, self.settings, self.state, self.panel, self.convergence_panel,
                                        tab=self.current_tab_kind, inputs=lambda: gx.inputs(self.images, self.state),
                                        confirm=lambda paths: self._confirm_replace(paths))
        self.sessions = SessionActions(self, self.settings, self.state, self.controller, self.flow, self.images,
                                       entry=self.current_entry, tab=self.current_tab_kind,
                                       select_row=lambda row: self._select_row(row, run=False),
                                       confirm=lambda path: self.confirm_code_model(path))
        self.sessions.opened.connect(lambda tab: tab in BY_KIND and self.show_tab(tab))
        for source in (self.flow, self.exports, self.sessions):
            source.status.connect(self._status)
            source.error.connect(self.show_error)
        for signal, slot in ((self.flow.clear_error, self.clear_error), (self.sessions.clear_error, self.clear_error),
                             (self.flow.run_finished, self.run_finished), (self.flow.model_ready, self.model_ready),
                             (self.flow.experiment_finished, self.experiment_finished),
                             (self.flow.job_failed, self.job_failed)):
            signal.connect(slot)
        self._build_central()
        self._build_status()
        self._build_actions()
        self._restore_window()

        self.state.params_changed.connect(self._on_params_changed)
        self.state.lock_changed.connect(self._rerender_tabs)
        self._worker_stopped = False

        if samples and sample_images():
            self.images.add_paths(sample_images())
        first = -1
        if files:
            first, problems = self.images.add_paths(files)
            for p in problems:
                self.show_error(p)
        if self.images.rowCount() > 0:
            self._select_row(first if first >= 0 else 0, run=False)
        if startup_code is not None:  # a notice: it stays through the default model's load and first map
            self.flow.notice = (f"{display_name(startup_code)} (the last model) was not loaded at start: it is a "
                                f"program; choose it again under Model file to load it")
            self.show_error(self.flow.notice)
        if autostart:
            self.flow.load_model()

    # ================================================================== reading the state
    @property
    def params(self) -> Params:
        return self.state.params

    @property
    def current(self):
        """The map outcome shown (the last finished map), or None."""
        return self.state.outcome(MAP)

    @property
    def model_info(self):
        return self.state.model_info

    @property
    def outcomes(self) -> dict:
        return {k: r.outcome for k, r in self.state.results().items() if k != MAP}

    def locked_span(self) -> float | None:
        return self.state.locked_span

    def set_locked_span(self, span: float | None) -> None:
        self.state.set_locked_span(span)

    def panel(self, kind: str) -> QWidget:
        return self.map_tab if kind == MAP else self.convergence_panel if kind == "convergence" else \
            self.exp_tabs[kind].panel

    # ================================================================== construction
    def _build_central(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for spec in TABS:
            if spec.computes:
                tab = self.exp_tabs[spec.kind]
                tab.compute_requested.connect(self.flow.compute)
                tab.options_changed.connect(self._on_tab_options)
            widget = {MAP: self.map_tab, "convergence": self.convergence_panel}.get(spec.kind) or tab
            self.tabs.setTabToolTip(self.tabs.addTab(widget, spec.title), spec.tip)
        self._sync_tabs()
        self.tabs.currentChanged.connect(lambda _i: self.flow.auto_compute(self.current_tab_kind()))
        self.map_tab.message.connect(self._status)
        self.map_tab.error.connect(self.show_error)
        self.map_tab.pixel_clicked.connect(self.probe_pixel)
        self.panels.hovered.connect(self._status)
        self.model_ready.connect(self.exp_tabs["sanity"].controls.model_loaded)

        self.message_label = docks.message_line()
        self.tab_nav = TabNavigator(self.tabs)  # the titles in two rows: the paper's experiments, the checks
        central = docks.stack(self.tabs, docks.row(self.flow.progress, self.flow.cancel_button, self.message_label,
                                                   stretch=(2, 0, 3)))
        central.layout().insertWidget(0, self.tab_nav)
        self.setCentralWidget(central)

    def _dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.browser = ImageBrowser(self.images, self.settings, self)
        self.image_view = self.browser.view
        self.browser.selected.connect(self._on_image_selected)
        self.browser.error.connect(self.show_error)
        self.editor = ParameterEditor(self.state.params)
        self.editor.set_folders(self.settings)
        self.editor.params_changed.connect(self._on_editor)
        self.editor.model_file_chosen.connect(self._on_model_file_chosen)
        self.editor.reset_requested.connect(self.reset_parameters)
        scroll = QScrollArea()
        scroll.setWidget(self.editor)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.editor.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.image_view)
        left.addWidget(scroll)
        left.setStretchFactor(0, 1)
        left.setStretchFactor(1, 3)
        self.left_dock = self._dock("Images and parameters", "left_dock", left, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.class_view = docks.class_table_view(self.classes)
        self.class_view.clicked.connect(self._on_class_clicked)
        self.class_view.activated.connect(self._on_class_clicked)
        self.run_view = docks.run_history_view(self.runs)
        self.run_view.clicked.connect(self._on_run_clicked)
        self.run_view.activated.connect(self._on_run_clicked)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(docks.titled("Top classes", self.class_view))
        right.addWidget(docks.titled("Run history", self.run_view))
        self.right_dock = self._dock("Classes and runs", "right_dock", right, Qt.DockWidgetArea.RightDockWidgetArea)
        self.resizeDocks([self.left_dock, self.right_dock], [320, 400], Qt.Orientation.Horizontal)
        self.probe_panel = self.probe.panel
        self.probe_dock = self._dock("Pixel probe", "probe_dock", self.probe_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.right_dock, self.probe_dock)
        self.right_dock.raise_()
        self.probe.wants_dock.connect(lambda: (self.probe_dock.show(), self.probe_dock.raise_()))
        self.probe.message.connect(self._status)
        self.probe.error.connect(self.show_error)
        self.probe.finished.connect(partial(self.experiment_finished.emit, "probe"))

    def _build_status(self) -> None:
        self.setStatusBar(docks.PrintableStatusBar(self))
        self.device_label, self.model_label, self.time_label = self.flow.labels()
        for w in (self.device_label, self.model_label, self.time_label):
            self.statusBar().addPermanentWidget(w)

    def _action(self, text: str, slot, shortcuts=(), tip: str = "", menu=None) -> QAction:
        return docks.action(self, text, slot, shortcuts, tip, menu)

    def _build_actions(self) -> None:
        mb, a = self.menuBar(), self._action
        f = mb.addMenu("&File")
        self.open_action = a("&Open files…", self.open_files, [QKeySequence.StandardKey.Open], "Open image files", f)
        a("Open &folder…", self.open_folder, ["Ctrl+Shift+O"], "Open every image in a folder", f)
        self.paste_action = a("&Paste image", self.paste, [QKeySequence.StandardKey.Paste],
                              "Add the image (or image files) on the clipboard", f)
        f.addSeparator()
        self.export_action = a("&Export…", self.exports.export_dialog, ["Ctrl+E"], "Export the current view: PNG at the "
                               "image's resolution, raw .npy and provenance .json (or the figure of the current tab)", f)
        self.export_all_action = a("Export &all…", self.exports.export_all_dialog, ["Ctrl+Shift+E"], "Export the run and "
                                   "every computed figure, each with its own parameters, to a folder with an index.html", f)
        self._shortcut_keeper = docks.ShortcutKeeper(self, ["Ctrl+E", "Ctrl+Shift+E"])
        f.addSeparator()
        self.save_session_action = a("Save &session…", self.sessions.save_dialog, ["Ctrl+S"], "Save the images, model "
                                     "(with its weights hash), parameters and seed to a session file: opening it "
                                     "again reproduces the same maps", f)
        self.open_session_action = a("Open s&ession…", self.sessions.open_dialog, ["Ctrl+Alt+O"], "Open a session "
                                     "file: its images, model and parameters, and recompute its maps", f)
        f.addSeparator()
        a("&Quit", self.close, [QKeySequence.StandardKey.Quit, "Ctrl+Q"], "Quit", f)
        r = mb.addMenu("&Run")
        self.run_action = a("&Run", self.run_now, ["F5"], "Compute the map (and the figure of the current tab) now", r)
        self.cancel_action = a("&Cancel", self.cancel, ["Esc"], "Stop the running computation", r)
        r.addSeparator()
        a("&Next image", self.next_image, ["Ctrl+Right", "PgDown"], "Show the next image", r)
        a("&Previous image", self.previous_image, ["Ctrl+Left", "PgUp"], "Show the previous image", r)
        v = mb.addMenu("&View")
        v.addAction(self.left_dock.toggleViewAction())
        v.addAction(self.right_dock.toggleViewAction())
        v.addSeparator()
        for i, spec in enumerate(TABS):
            a(spec.title, partial(self.show_tab, spec.kind), [f"Ctrl+{i + 1}"], spec.tip, v)
        v.addSeparator()
        a("Reset &zoom", self.panels.image_view.reset_view, ["Ctrl+0"], "Show the whole image again", v)
        self.lock_action = self.map_tab.lock_action
        self.addAction(self.lock_action)
        v.addAction(self.lock_action)
        v.addAction(self.probe_dock.toggleViewAction())
        a("Reset to &defaults", self.reset_to_defaults, [], "Reset every parameter and the window layout to the "
          "defaults", v)
        a("&Choose…", lambda: open_model_chooser(self, self.params, self.apply_model_choice), ["Ctrl+M"],
          "Choose a model: what this machine has, the preprocessing it will apply", mb.addMenu("&Model"))
        h = mb.addMenu("&Help")
        a("&Guide", partial(open_guide, self, "index"), ["F1"], "What each panel shows, its formula, how to read it", h)
        a("&About SmoothGrad Desktop", self.about, [], "Versions and where the log file is", h)

    def _restore_window(self) -> None:
        geometry = self.settings.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1400, 860)
        state = self.settings.window_state()
        if state is not None:
            self.restoreState(state)
        if self.settings.current_tab() == 0:
            self.tabs.setCurrentIndex(0)

    # ================================================================== parameters
    @Slot(object)
    def _on_editor(self, new: Params) -> None:
        if new.model_key() != self.params.model_key():
            self.controller.trust(new.model)  # the user chose this model now
        self.state.apply(new)

    def set_params(self, params: Params) -> None:
        """Programmatic parameter change (as if the user edited them)."""
        self._on_editor(params)

    @Slot(object, object, object)
    def _on_params_changed(self, new: Params, old: Params, groups: set) -> None:
        self.settings.set_params(new)
        self.editor.set_params(new)
        if "display" in groups:
            self._sync_tabs()
            self._rerender_tabs()
        if groups & {"model", "compute"}:
            self.classes.set_target(new.target)
            self.controller.schedule()
            self.flow.mark_stale()

    @Slot(str)
    def _on_model_file_chosen(self, spec: str) -> None:
        """A model file picked (again): load it now, even when loaded or just failed (e.g. its sidecar fixed)."""
        self.controller.trust(spec)
        self.controller.forget_model()
        self.controller.schedule()

    @Slot(object)
    def apply_model_choice(self, choice) -> None:
        """Load the model a :class:`~.model_chooser.ModelChoice` names (through the parameters, as if edited)."""
        self.set_params(replace(self.params, model=choice.spec, weights=choice.weights or "",
                                transform_input=bool(choice.option("transform_input", self.params.transform_input))))
        self._on_model_file_chosen(choice.spec)

    def _sync_tabs(self) -> None:
        for tab in self.exp_tabs.values():
            tab.set_clip_mode(self.params.clip_mode)

    @Slot()
    def reset_parameters(self) -> None:
        self.state.apply(Params())

    @Slot()
    def reset_to_defaults(self) -> None:
        if QMessageBox.question(self, APP_TITLE, "Reset every parameter and the window layout to the defaults?") \
                != QMessageBox.StandardButton.Yes:
            return
        self.settings.reset()
        self.reset_parameters()
        self.resize(1400, 860)
        for dock, area in ((self.left_dock, Qt.DockWidgetArea.LeftDockWidgetArea),
                           (self.right_dock, Qt.DockWidgetArea.RightDockWidgetArea)):
            dock.show()
            self.addDockWidget(area, dock)
            dock.setFloating(False)
        self._status("Parameters and layout reset to the defaults")

    # ================================================================== images (images_input.py)
    def current_entry(self):
        return self.browser.current_entry()

    def _select_row(self, row: int, run: bool = True) -> None:
        self.browser.select_row(row, run)

    @Slot()
    def _on_image_selected(self) -> None:
        self.controller.stop_schedule()
        self.flow.run_map()
        self.flow.mark_stale()
        self.flow.auto_compute(self.current_tab_kind())

    def next_image(self) -> None:
        self.browser.step(+1)

    def previous_image(self) -> None:
        self.browser.step(-1)

    def add_files(self, paths: list[str]) -> int:
        return self.browser.add_files(paths)

    def open_files(self) -> None:
        self.browser.open_files(self)

    def open_folder(self) -> None:
        self.browser.open_folder(self)

    def paste(self) -> None:
        self.browser.paste()

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        mime = event.mimeData()
        if (mime.hasUrls() and any(u.isLocalFile() for u in mime.urls())) or mime.hasImage():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802
        mime = event.mimeData()
        image_of = lambda: mime.imageData() if isinstance(mime.imageData(), QImage) else QImage(mime.imageData())  # noqa: E731
        if self.browser.add_mime(mime, "dropped image", image_of):
            event.acceptProposedAction()
        else:
            event.ignore()

    # ================================================================== runs (run_flow.py decides, the window asks)
    def current_tab_kind(self) -> str:
        i = self.tabs.currentIndex()
        return TABS[i].kind if 0 <= i < len(TABS) else MAP

    def show_tab(self, kind: str) -> None:
        self.tabs.setCurrentIndex([s.kind for s in TABS].index(kind))

    @Slot(str)
    def _on_tab_options(self, kind: str) -> None:
        if self.current_tab_kind() == kind:
            self.flow.auto_compute(kind)
        else:
            self.flow.mark_stale()

    def run_now(self) -> None:
        self.flow.run_now()

    def is_stale(self, kind: str) -> bool:
        return self.flow.is_stale(kind)

    def cancel(self) -> None:
        self.flow.cancel()

    def probe_pixel(self, x: int, y: int) -> JobHandle | None:
        return None if self._closing else self.probe.probe(x, y, self.flow.image_ref())

    @Slot(QModelIndex)
    def _on_class_clicked(self, index: QModelIndex) -> None:
        cls = self.classes.data(index, ClassIndexRole) if index.isValid() else None
        if cls is not None:
            self.set_target(int(cls))

    def set_target(self, cls: int | None) -> None:
        self.classes.set_target(cls)
        self.state.apply(replace(self.params, target=cls))

    @Slot(QModelIndex)
    def _on_run_clicked(self, index: QModelIndex) -> None:
        record = self.runs.data(index, RunRole) if index.isValid() else None
        if record is not None:
            self.show_run(record)

    def show_run(self, record) -> None:
        """Show a past run again (its map, classes and every parameter) without recomputing."""
        self.flow.show_run(record, lambda row: self._select_row(row, run=False))

    @Slot()
    def _rerender_tabs(self, *_args) -> None:
        for kind in COMPUTED:
            self.flow.render(kind)

    # ================================================================== messages, dialogs
    @Slot(str, int)
    def _status(self, text: str, timeout: int = 5000) -> None:
        self.statusBar().showMessage(text, timeout)

    @Slot()
    def clear_error(self) -> None:
        self.message_label.clear()

    @Slot(str)
    def show_error(self, message: str) -> None:
        """A one-line message (Details shows all of it) in the status bar and under the progress bar."""
        line = docks.one_line(message)
        log.info("message shown: %s", line)
        self.message_label.set_text(line)
        self.message_label.setToolTip(line)
        self.statusBar().showMessage(line, 15000)

    def about(self) -> None:
        QMessageBox.about(self, "About SmoothGrad Desktop", docks.about_html(self.model_info, self._log_file,
                                                                             self.settings.path))

    def _confirm_replace(self, paths: list[Path]) -> bool:  # a method: tests replace it
        return docks.confirm_replace(self, paths)

    # ================================================================== export, sessions (export.py, sessions.py)
    def export_to(self, path: str | os.PathLike[str], kind: str | None = None) -> list[Path]:
        return self.exports.export_to(path, kind)

    def export_all_to(self, folder: str | os.PathLike[str]) -> list[Path]:
        return self.exports.export_all_to(folder)

    def _run_export(self, action, folder: Path) -> None:
        self.exports.run(action, folder)

    def save_session_to(self, path) -> Path:
        return self.sessions.save_to(path)

    def open_session_from(self, path) -> bool:
        return self.sessions.open_from(path)

    @property
    def session_messages(self) -> list[str]:
        return self.sessions.messages

    def confirm_code_model(self, path: Path) -> bool:
        return self.sessions.ask_code_model(path)

    # ================================================================== closing
    @property
    def worker_stopped(self) -> bool:
        return self._worker_stopped

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel, stop and wait for the worker and thumbnail threads (``timeout_ms`` in all)."""
        if self._worker_stopped:
            return True
        self._closing = True
        self.flow.stop()
        self.images.shutdown(0)  # no new thumbnails; the one being decoded finishes while the worker stops
        start = time.monotonic()
        ok = self.controller.shutdown(timeout_ms)
        left = max(0, timeout_ms - int(1000 * (time.monotonic() - start)))
        self._worker_stopped = ok = self.images.shutdown(min(left, 5000)) and ok
        return ok

    def closeEvent(self, event) -> None:  # noqa: N802
        try:
            self.settings.set_window(self.saveGeometry(), self.saveState())
            self.settings.set_current_tab(self.tabs.currentIndex())
            self.settings.set_params(self.params)
            self.settings.sync()
        except Exception:  # noqa: BLE001 - never block closing on settings
            log.exception("could not save the settings")
        if not self.shutdown(self.close_wait_ms):
            # never let a running QThread be destroyed; the application exits hard instead (application.py)
            _keep_alive.extend([self.controller.worker_thread, self.controller.worker])
            log.warning("closing with the worker still busy; the process will exit without waiting further")
        event.accept()


_keep_alive: list = []

