"""The main window: composes models, panels and the worker; owns no maths.

Layout: left dock = image list + parameters; centre = tabs (Map, σ/n grid, Methods, Class difference, Noise
training, Fluctuation, Convergence) above a progress bar with Cancel; right dock = top-k classes + run history;
status bar = device, model, last run time.

Flow: a parameter change is sorted by :meth:`Params.changed_groups`. Display changes re-render at once; compute
changes restart the map run after a short debounce (the running job of the same kind is cancelled by the
controller); model changes reload the model first. Tabs other than Map compute on demand: when they are shown
and their result is stale, or with their Compute button. Results arriving from a superseded job are ignored.
"""

from __future__ import annotations

import io
import logging
import math
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import (
    QBuffer, QByteArray, QIODevice, QItemSelectionModel, QModelIndex, QSignalBlocker, Qt, QTimer, Signal, Slot,
)
from PySide6.QtGui import QAction, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QDockWidget, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
    QListView, QMainWindow, QMessageBox, QProgressBar, QPushButton, QScrollArea, QSizePolicy, QSplitter, QStatusBar,
    QTableView, QTabWidget, QVBoxLayout, QWidget,
)

from .. import __version__
from ..core import experiments as ex
from ..core.errors import ExportError, UserFacingError
from ..core.explain import versions
from ..core.images import SUPPORTED_SUFFIXES, image_from_pil
from ..core.models import code_model_path
from ..core.paths import display_name, printable
from ..core.resources import sample_images
from . import display
from . import export as gx
from .models import ClassTableModel, ImageListModel, RunHistoryModel
from .models.classes import ClassIndexRole
from .models.images import EntryRole
from .models.runs import RunRole
from .panels.curves import ConvergencePanel, FluctuationPanel
from .panels.difference import DifferencePanel
from .panels.grid import GridPanel
from .panels.image_views import ImagePanels
from .panels.noise_training import NoiseTrainingPanel
from .panels.strip import StripPanel
from .params import COMPUTE_FIELDS, MODEL_FIELDS, Params
from .settings import AppSettings
from .trust_window import TrustMixin
from .widgets.parameters import ParameterEditor
from .worker import ImageRef, Job, WorkerController

log = logging.getLogger(__name__)

APP_TITLE = "SmoothGrad Desktop"
RESTART_DELAY_MS = 300
EXPERIMENTS = ("grid", "strip", "difference", "noise", "fluctuation", "evaluate", "sanity")
TAB_TITLES = {
    "map": "Map", "grid": "σ/n grid", "strip": "Methods", "difference": "Class difference",
    "noise": "Noise training", "fluctuation": "Fluctuation", "convergence": "Convergence",
    "evaluate": "Faithfulness", "sanity": "Sanity checks",
}
TAB_ORDER = ("map", "grid", "strip", "difference", "noise", "fluctuation", "convergence", "evaluate", "sanity")
TAB_TIPS = {
    "map": "The image, the SmoothGrad map with its colour bar, and the map over the image.",
    "grid": "The paper's Figs 3-4: rows are noise levels, columns the number of samples n. "
            "Column n is the mean of the first n samples of one run per row.",
    "strip": "Gradient, SmoothGrad, Integrated Gradients, IG + SmoothGrad, Guided Backprop and Guided BP + "
             "SmoothGrad side by side.",
    "difference": "The map of one class minus the map of another (signed): which pixels speak for which class.",
    "noise": "The same network trained on clean images and trained with noisy images, each explained by the "
             "plain gradient and by SmoothGrad (paper, section 5).",
    "fluctuation": "How sharply the raw gradient jumps along a line x + tε (paper, Fig 2).",
    "convergence": "How much the running mean still changes as samples are added (live during a run).",
    "evaluate": "Deletion and insertion curves (Petsiuk et al. 2018): the class probability as pixels are removed or "
                "revealed in the order of the map, against a random order and optionally a second method.",
    "sanity": "Sanity checks (Adebayo et al. 2018): how much the map changes when the network's layers are "
              "randomised from the top down, and when another class is explained.",
}
SCALE_TABS = ("grid", "strip", "difference", "noise")
SHARED_SCALE_TIP = (
    "On: one colour scale for every cell, capped at the {p} percentile of all cells together. Equal colours mean "
    "equal values, so magnitudes can be compared, but cells with small values (the low-noise rows of the σ/n "
    "grid) look nearly black.\n"
    "Off: each cell is capped at its own {p} percentile, as in the paper's figures. Every cell shows its own "
    "structure at full contrast, but brightness can no longer be compared between cells.\n"
    "The same setting applies to the σ/n grid, the methods, the class difference (its two class maps; D always has "
    "its own scale) and noise training."
)
FILE_FILTER = "Images ({})".format(" ".join(f"*{s}" for s in SUPPORTED_SUFFIXES)) + ";;All files (*)"


def _parse_numbers(text: str, kind, lo, hi) -> list:
    out = []
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        part = part.strip().rstrip("%")
        if not part:
            continue
        value = kind(float(part))
        if not lo <= value <= hi:
            raise ValueError(f"{part} is outside {lo}..{hi}")
        out.append(value)
    if not out:
        raise ValueError("no values")
    return out


class ExperimentTab(QWidget):
    """A panel with a Compute button and a status line above it."""

    compute_requested = Signal(str)

    def __init__(self, kind: str, panel: QWidget, note: str, extra: list[QWidget] | None = None,
                 parent: QWidget | None = None, *, status_below: bool = False) -> None:
        super().__init__(parent)
        self.kind = kind
        self.panel = panel
        self.button = QPushButton("Compute")
        self.button.setToolTip("Compute this figure for the current image and parameters (it is also computed "
                               "when you open this tab and it is out of date).")
        self.status = QLabel(note)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 4, 4, 0)
        bar.addWidget(self.button)
        for w in extra or []:
            bar.addWidget(w)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(bar)
        if status_below:  # a crowded control row: the status gets a line of its own instead of three wrapped ones
            bar.addStretch(1)
            line = QHBoxLayout()
            line.setContentsMargins(4, 0, 4, 0)
            line.addWidget(self.status, 1)
            box.addLayout(line)
        else:
            bar.addWidget(self.status, 1)
        box.addWidget(panel, 1)
        self.button.clicked.connect(self._on_clicked)

    @Slot()
    def _on_clicked(self) -> None:
        self.compute_requested.emit(self.kind)


class MainWindow(TrustMixin, QMainWindow):
    """See the module docstring. ``autostart``: load the model, the samples and compute at once."""

    run_finished = Signal(object)  # ExplainOutcome, after it is shown (tests wait on this)
    close_wait_ms = 10_000
    """How long closing waits for the worker's current batch (run_gui lowers it: it can end the process)."""
    experiment_finished = Signal(str, object)  # kind, outcome
    job_failed = Signal(str, str)  # kind, message
    model_ready = Signal(object)  # ModelInfo

    def __init__(self, settings: AppSettings | None = None, *, params: Params | None = None,
                 files: list[str] | None = None, autostart: bool = True, samples: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or AppSettings()
        self.params = params if params is not None else self.settings.params()
        self._trusted_code: set[str] = set()
        """Resolved paths of the TorchScript / torch.export files the user chose or confirmed in this run: only
        these are loaded (a file named by the stored settings is not, see :meth:`load_model`)."""
        startup_code = code_model_path(self.params.model)
        if startup_code is not None:  # a program is loaded only when chosen (or confirmed) in this run
            self.params = replace(self.params, model="default", weights="")
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)

        self.controller = WorkerController(self)
        self.model_info = None
        self._loaded_key: tuple | None = None  # model key of the loaded model
        self._loading_key: tuple | None = None
        self._failed_key: tuple | None = None
        self._latest: dict[str, int] = {}  # kind -> id of the job whose results are wanted
        self._progress_job: int | None = None
        self.current = None  # ExplainOutcome shown on the Map tab
        self.state = None  # ImageState of the current image
        self._live_partial = False
        self.outcomes: dict[str, object] = {}
        self._outcome_keys: dict[str, tuple] = {}
        self._suppress_selection = False
        self._closing = False
        self._worker_stopped = True
        self._pending_keys: dict[int, tuple] = {}  # job id -> the experiment key it was computed for
        self._job_params: dict[int, Params] = {}  # job id -> the parameters it was submitted with
        self._difference_image: str | None = None
        self._init_trust()

        self._build_models()
        self._build_central()
        self._build_docks()
        self._build_status()
        self._build_actions()
        self._restore_window()

        self._restart = QTimer(self)
        self._restart.setSingleShot(True)
        self._restart.setInterval(RESTART_DELAY_MS)
        self._restart.timeout.connect(self._apply_changes)

        w = self.controller.worker
        w.started.connect(self._on_started)
        w.progress.connect(self._on_progress)
        w.partial.connect(self._on_partial)
        w.convergence.connect(self._on_convergence)
        w.prepared.connect(self._on_prepared)
        w.grid_row.connect(self._on_grid_row)
        w.strip_entry.connect(self._on_strip_entry)
        w.finished.connect(self._on_finished)
        w.failed.connect(self._on_failed)
        w.cancelled.connect(self._on_cancelled)
        self._worker_stopped = False

        if samples:
            shipped = sample_images()
            if shipped:
                self.images.add_paths(shipped)
        first = -1
        if files:
            first, problems = self.images.add_paths(files)
            for p in problems:
                self.show_error(p)
        if self.images.rowCount() > 0:
            self._select_row(first if first >= 0 else 0, run=False)
        if startup_code is not None:
            self.show_error(f"{display_name(startup_code)} (the last model) was not loaded at start: it is a "
                            f"program; choose it again under Model file to load it")
        if autostart:
            self.load_model()

    # ================================================================== construction
    def _build_models(self) -> None:
        self.images = ImageListModel(self)
        self.classes = ClassTableModel(self)
        self.runs = RunHistoryModel(self)

    def _build_central(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.panels = ImagePanels(opacity=self.params.opacity)
        self.grid_panel = GridPanel()
        self.strip_panel = StripPanel()
        self.difference_panel = DifferencePanel()
        self.noise_panel = NoiseTrainingPanel()
        self.fluctuation_panel = FluctuationPanel()
        self.convergence_panel = ConvergencePanel()

        self.grid_levels_edit = QLineEdit(", ".join(f"{v * 100:g}" for v in ex.GRID_LEVELS))
        self.grid_levels_edit.setToolTip("Noise levels of the rows, in % of the input range, separated by commas.")
        self.grid_levels_edit.setMinimumWidth(150)
        self.grid_levels_edit.setMaximumWidth(220)
        self.grid_ns_edit = QLineEdit(", ".join(str(n) for n in ex.GRID_SAMPLES))
        self.grid_ns_edit.setToolTip("Sample counts n of the columns, separated by commas. One run of max(n) "
                                     "samples per row gives every column (prefix means).")
        self.grid_ns_edit.setMinimumWidth(130)
        self.grid_ns_edit.setMaximumWidth(200)
        levels_label = QLabel("Noise %:")
        levels_label.setToolTip(self.grid_levels_edit.toolTip())
        ns_label = QLabel("n:")
        ns_label.setToolTip(self.grid_ns_edit.toolTip())

        # each comparison panel owns its "Shared colour scale" box (the choice is that tab's own)
        self.scale_checks: dict[str, QCheckBox] = {
            "grid": self.grid_panel.scale_check, "strip": self.strip_panel.scale_check,
            "difference": self.difference_panel.scale_check, "noise": self.noise_panel.scale_check}

        self.exp_tabs: dict[str, ExperimentTab] = {
            "grid": ExperimentTab("grid", self.grid_panel, "Rows: noise level; columns: n (prefix means of one run "
                                  "per row).",
                                  [levels_label, self.grid_levels_edit, ns_label, self.grid_ns_edit],
                                  status_below=True),
            "strip": ExperimentTab("strip", self.strip_panel, "Six methods, same noise seed."),
            "difference": ExperimentTab("difference", self.difference_panel,
                                        "The maps of two classes, each reduced in the View, and their difference D "
                                        "(pick the classes above the map)."),
            "noise": ExperimentTab("noise", self.noise_panel, "Needs the embedded MNIST model (it has a twin trained "
                                   "with noise)."),
            "fluctuation": ExperimentTab("fluctuation", self.fluctuation_panel,
                                         "One random direction ε at the current noise level; 200 points."),
        }
        self.exp_tabs.update(self._trust_tabs(ExperimentTab))
        self._tab_index: dict[str, int] = {}
        for kind in TAB_ORDER:
            if kind == "map":
                widget = self._build_map_tab()
            elif kind == "convergence":
                widget = self.convergence_panel
            else:
                widget = self.exp_tabs[kind]
                widget.compute_requested.connect(self.compute_experiment)
            i = self.tabs.addTab(widget, TAB_TITLES[kind])
            self.tabs.setTabToolTip(i, TAB_TIPS[kind])
            self._tab_index[kind] = i
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.panels.opacity_changed.connect(self._on_panel_opacity)
        self.panels.hovered.connect(self._on_hovered)
        self.difference_panel.classes_changed.connect(self._on_difference_classes)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        self.progress.setToolTip("Samples done / total for the running job, with the estimated time left.")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running computation (Esc). It stops after the current batch.")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.message_label = QLabel("")
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(4, 2, 4, 2)
        bottom.addWidget(self.progress, 2)
        bottom.addWidget(self.cancel_button)
        bottom.addWidget(self.message_label, 3)

        central = QWidget()
        box = QVBoxLayout(central)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self.tabs, 1)
        box.addLayout(bottom)
        self.setCentralWidget(central)

    def _build_docks(self) -> None:
        self.image_view = QListView()
        self.image_view.setModel(self.images)
        self.image_view.setIconSize(ImageListModel.thumb_size() * 0.75)
        self.image_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.image_view.setUniformItemSizes(True)
        self.image_view.setToolTip("Opened images (Ctrl+O, drag and drop files or folders, Ctrl+V to paste). "
                                   "Ctrl+Right / Ctrl+Left or PageDown / PageUp: next / previous.")
        self.image_view.selectionModel().currentChanged.connect(self._on_image_current)

        self.editor = ParameterEditor(self.params)
        self.editor.params_changed.connect(self._on_params_changed)
        self.editor.model_file_chosen.connect(self._on_model_file_chosen)
        self.editor.reset_requested.connect(self.reset_parameters)
        scroll = QScrollArea()
        scroll.setWidget(self.editor)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.image_view)
        left.addWidget(scroll)
        left.setStretchFactor(0, 1)
        left.setStretchFactor(1, 3)
        self.left_dock = QDockWidget("Images and parameters", self)
        self.left_dock.setObjectName("left_dock")
        self.left_dock.setWidget(left)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.left_dock)

        self.class_view = QTableView()
        self.class_view.setModel(self.classes)
        self.class_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.class_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.class_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.class_view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.class_view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.class_view.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.class_view.verticalHeader().setVisible(False)
        self.class_view.verticalHeader().setDefaultSectionSize(self.class_view.fontMetrics().height() + 6)
        self.class_view.setToolTip("The model's top classes for this image. Click a row to explain that class.")
        self.class_view.clicked.connect(self._on_class_clicked)
        self.class_view.activated.connect(self._on_class_clicked)

        self.run_view = QTableView()
        self.run_view.setModel(self.runs)
        self.run_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.run_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.run_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.run_view.verticalHeader().setVisible(False)
        self.run_view.verticalHeader().setDefaultSectionSize(self.run_view.fontMetrics().height() + 6)
        # fixed widths from typical contents (ResizeToContents only saw the headers of the empty model), the image
        # name takes the rest
        header = self.run_view.horizontalHeader()
        header.setStretchLastSection(False)
        fm = self.run_view.fontMetrics()
        samples = ("99", "", "Grad + SG²", "15 %", "100", "Seed", "Target", "0.00 s")  # typical; longer elide
        for col, text in enumerate(samples):
            if col == 1:
                header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)
                continue
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(col, max(fm.horizontalAdvance(text), header.fontMetrics().horizontalAdvance(
                str(self.runs.headerData(col, Qt.Orientation.Horizontal)))) + 10)
        self.run_view.setTextElideMode(Qt.TextElideMode.ElideLeft)  # "…label_7.png": the end tells images apart
        self.run_view.setWordWrap(False)
        self.run_view.setToolTip("Every finished run with its parameters and time. Click a row to show it again.")
        self.run_view.clicked.connect(self._on_run_clicked)
        self.run_view.activated.connect(self._on_run_clicked)

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self._titled("Top classes", self.class_view))
        right.addWidget(self._titled("Run history", self.run_view))
        right.setStretchFactor(0, 1)
        right.setStretchFactor(1, 1)
        self.right_dock = QDockWidget("Classes and runs", self)
        self.right_dock.setObjectName("right_dock")
        self.right_dock.setWidget(right)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.right_dock)
        self.resizeDocks([self.left_dock, self.right_dock], [320, 400], Qt.Orientation.Horizontal)
        self._build_probe_dock()

    @staticmethod
    def _titled(title: str, widget: QWidget) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        label = QLabel(f"<b>{title}</b>")
        layout.addWidget(label)
        layout.addWidget(widget, 1)
        return box

    def _build_status(self) -> None:
        self.setStatusBar(PrintableStatusBar(self))
        self.device_label = QLabel("device: –")
        self.device_label.setToolTip("Where the computation runs")
        self.model_label = QLabel("model: loading…")
        self.model_label.setToolTip("The loaded model")
        self.time_label = QLabel("last run: –")
        self.time_label.setToolTip("Wall-clock time of the last finished map run")
        for w in (self.device_label, self.model_label, self.time_label):
            self.statusBar().addPermanentWidget(w)

    def _action(self, text: str, slot, shortcuts=(), tip: str = "", menu=None) -> QAction:
        action = QAction(text, self)
        if shortcuts:
            seqs: list[QKeySequence] = []
            for s in shortcuts:  # StandardKey.Quit is Ctrl+Q on Linux: a second Ctrl+Q would make it ambiguous
                seq = QKeySequence(s)
                if not seq.isEmpty() and seq not in seqs:
                    seqs.append(seq)
            action.setShortcuts(seqs)
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        if menu is not None:
            menu.addAction(action)
        return action

    def _build_actions(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self.open_action = self._action("&Open files…", self.open_files, [QKeySequence.StandardKey.Open],
                                        "Open image files", f)
        self._action("Open &folder…", self.open_folder, ["Ctrl+Shift+O"], "Open every image in a folder", f)
        self.paste_action = self._action("&Paste image", self.paste, [QKeySequence.StandardKey.Paste],
                                         "Add the image (or image files) on the clipboard", f)
        f.addSeparator()
        self.export_action = self._action("&Export…", self.export_dialog, ["Ctrl+E"],
                                          "Export the current view: PNG at the image's resolution, raw .npy and "
                                          "provenance .json (or the figure of the current tab)", f)
        self.export_all_action = self._action("Export &all…", self.export_all_dialog, ["Ctrl+Shift+E"],
                                              "Export the run and every computed figure to a folder with an "
                                              "index.html", f)
        f.addSeparator()
        self._add_session_actions(f)
        f.addSeparator()
        self._action("&Quit", self.close, [QKeySequence.StandardKey.Quit, "Ctrl+Q"], "Quit", f)

        r = mb.addMenu("&Run")
        self.run_action = self._action("&Run", self.run_now, ["F5"], "Compute the map (and the figure of the current "
                                       "tab) now", r)
        self.cancel_action = self._action("&Cancel", self.cancel, ["Esc"], "Stop the running computation", r)
        r.addSeparator()
        self._action("&Next image", self.next_image, ["Ctrl+Right", "PgDown"], "Show the next image", r)
        self._action("&Previous image", self.previous_image, ["Ctrl+Left", "PgUp"], "Show the previous image", r)

        v = mb.addMenu("&View")
        v.addAction(self.left_dock.toggleViewAction())
        v.addAction(self.right_dock.toggleViewAction())
        v.addSeparator()
        for i, kind in enumerate(TAB_ORDER):
            self._action(TAB_TITLES[kind], lambda _checked=False, k=kind: self.show_tab(k), [f"Ctrl+{i + 1}"],
                         TAB_TIPS[kind], v)
        v.addSeparator()
        self._action("Reset &zoom", self.reset_zoom, ["Ctrl+0"], "Show the whole image again", v)
        self._add_trust_view_actions(v)
        self._action("Reset to &defaults", self.reset_to_defaults, [], "Reset every parameter and the window layout "
                     "to the defaults", v)

        m = mb.addMenu("&Model")
        self._action("&Choose…", self.choose_model, ["Ctrl+M"], "Choose a model: what this machine has, the "
                     "preprocessing it will apply", m)

        h = mb.addMenu("&Help")
        self._action("&Guide", self.open_guide, ["F1"], "What each panel shows, its formula, how to read it", h)
        self._action("&About SmoothGrad Desktop", self.about, [], "Versions and where the log file is", h)

    def _restore_window(self) -> None:
        geometry = self.settings.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1400, 860)
        state = self.settings.window_state()
        if state is not None:
            self.restoreState(state)
        tab = self.settings.current_tab()
        if 0 <= tab < self.tabs.count() and TAB_ORDER[tab] == "map":
            self.tabs.setCurrentIndex(tab)

    # ================================================================== model + runs
    def trust_code_model(self, spec: str) -> None:
        """Mark the program ``spec`` names as chosen or confirmed by the user in this run."""
        path = code_model_path(spec)
        if path is not None:
            self._trusted_code.add(str(path))

    @Slot()
    def choose_model(self) -> None:
        from .model_chooser import ModelChoice, ModelChooser

        dialog = ModelChooser(self, current=ModelChoice(self.params.model, self.params.weights or None,
                                                        (("transform_input", self.params.transform_input),)))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.chosen.connect(self.apply_model_choice)
        dialog.open()

    @Slot(object)
    def apply_model_choice(self, choice) -> None:
        """Load the model a :class:`ModelChoice` names (through the parameters, as if edited)."""
        self.set_params(replace(self.params, model=choice.spec, weights=choice.weights or "",
                                transform_input=bool(choice.option("transform_input", self.params.transform_input))))
        self._on_model_file_chosen(choice.spec)

    def load_model(self) -> None:
        code = code_model_path(self.params.model)
        if code is not None and str(code) not in self._trusted_code:
            self._failed_key = self.params.model_key()
            self._loading_key = None
            self.show_error(f"{display_name(code)}: not loaded: a TorchScript/torch.export file is a program; "
                            f"choose it under Model file to load it")
            return
        key = self.params.model_key()
        self._loading_key = key
        self.model_label.setText(printable(f"model: loading {self.params.model}…", limit=120))
        job = Job("load", options={"spec": self.params.model, "weights": self.params.weights,
                                   "device": self.params.device, "transform_input": self.params.layout_option()})
        self._submit(job)

    def _image_ref(self) -> ImageRef | None:
        entry = self.current_entry()
        if entry is None:
            return None
        return ImageRef(key=entry.key, name=entry.name, path=entry.path, image=entry.image)

    def run_map(self) -> Job | None:
        """Start (or restart) the map run for the current image and parameters."""
        if self._closing:
            return None
        if self._loaded_key is None:
            if self._loading_key is None:
                self.load_model()
            return None
        ref = self._image_ref()
        if ref is None:
            return None
        self._live_partial = False
        job = Job("explain", image=ref, config=self.params.config(), target=self.params.target)
        return self._submit(job)

    @Slot()
    def run_now(self) -> None:
        self._restart.stop()
        if self.params.model_key() != self._loaded_key and self.params.model_key() != self._loading_key:
            self._failed_key = None
            self.load_model()
            return
        self.run_map()
        kind = self.current_tab_kind()
        if kind in EXPERIMENTS:
            self.compute_experiment(kind)

    def compute_experiment(self, kind: str) -> Job | None:
        if kind not in EXPERIMENTS or self._closing:
            return None
        tab = self.exp_tabs[kind]
        if self._loaded_key is None:
            tab.status.setText("Waiting for the model…")
            return None
        ref = self._image_ref()
        if ref is None:
            tab.status.setText("Open an image first.")
            return None
        options: dict = {}
        if kind == "grid":
            try:
                levels = [v / 100.0 for v in _parse_numbers(self.grid_levels_edit.text(), float, 0.0, 1000.0)]
                ns = sorted(set(_parse_numbers(self.grid_ns_edit.text(), int, 1, 100_000)))
            except ValueError as exc:
                self.show_error(f"grid: {exc}")
                tab.status.setText(f"Bad grid values: {exc}")
                return None
            options = {"levels": tuple(levels), "ns": tuple(ns)}
            self._apply_clip_mode()
            self.grid_panel.set_grid(levels, ns, None, self.params.view, percentile=self.params.percentile,
                                     cmap=self.params.cmap, span=self._locked_span)
        elif kind == "difference":
            c1, c2 = self.difference_panel.classes() if self._difference_classes_valid() else (None, None)
            options = {"c1": c1, "c2": c2}
        elif kind == "strip":
            self._apply_clip_mode()
            self.strip_panel.set_entries([(label, None, None) for label, _m, _a in ex.STRIP], self.params.view,
                                         percentile=self.params.percentile, cmap=self.params.cmap,
                                         span=self._locked_span)
        elif kind == "fluctuation":
            options = {"points": 200}
        elif kind in ("evaluate", "sanity"):
            options = self._trust_options(kind)
        job = Job(kind, image=ref, config=self.params.config(), target=self.params.target,
                  options=self._job_options(kind, options))
        tab.status.setText("Computing…")
        self._outcome_keys.pop(kind, None)
        return self._submit(job, experiment_key=self._experiment_key(kind, options))

    def _difference_classes_valid(self) -> bool:
        if self.state is None or self.difference_panel.combo1.count() == 0:
            return False
        c1, c2 = self.difference_panel.classes()
        n = len(self.state.labels)
        return 0 <= c1 < n and 0 <= c2 < n and self._difference_image == self.state.key

    def _experiment_key(self, kind: str, options: dict | None = None) -> tuple:
        entry = self.current_entry()
        extra = tuple(sorted((options or {}).items())) if kind in ("grid", "difference", "evaluate", "sanity") else ()
        return (kind, entry.key if entry else None, self._loaded_key, self.params.compute_key(), extra)

    def _current_options_key(self, kind: str) -> tuple:
        if kind == "grid":
            try:
                levels = tuple(v / 100.0 for v in _parse_numbers(self.grid_levels_edit.text(), float, 0.0, 1000.0))
                ns = tuple(sorted(set(_parse_numbers(self.grid_ns_edit.text(), int, 1, 100_000))))
            except ValueError:
                return self._experiment_key(kind, {"invalid": True})
            return self._experiment_key(kind, {"levels": levels, "ns": ns})
        if kind == "difference":
            c1, c2 = self.difference_panel.classes() if self._difference_classes_valid() else (None, None)
            return self._experiment_key(kind, {"c1": c1, "c2": c2})
        if kind in ("evaluate", "sanity"):
            return self._experiment_key(kind, self._trust_options(kind))
        return self._experiment_key(kind)

    def is_stale(self, kind: str) -> bool:
        return self._outcome_keys.get(kind) != self._current_options_key(kind)

    def _submit(self, job: Job, experiment_key: tuple | None = None) -> Job:
        self._latest[job.kind] = job.id
        self._job_params[job.id] = self.params
        if experiment_key is not None:
            self._pending_keys[job.id] = experiment_key
        self.controller.submit(job)
        self._progress_job = job.id
        self.progress.setRange(0, 0)  # busy until the first progress report
        self.progress.setFormat(f"{job.kind}: starting…")
        self.cancel_button.setEnabled(True)
        return job

    def _wanted(self, job_id: int, kind: str) -> bool:
        return self._latest.get(kind) == job_id

    @Slot()
    def cancel(self) -> None:
        self._restart.stop()
        count = self.controller.cancel()
        if count:
            self.progress.setFormat("cancelling…")

    # ================================================================== worker signals (GUI thread)
    @Slot(int, str)
    def _on_started(self, job_id: int, kind: str) -> None:
        if self._wanted(job_id, kind):
            if kind == "explain":
                self.convergence_panel.clear()
            self._progress_job = job_id
            self.progress.setRange(0, 0)
            self.progress.setFormat({"load": "loading the model…"}.get(kind, f"{TAB_TITLES.get(kind, kind)}…"))
            self.cancel_button.setEnabled(True)

    @Slot(int, int, int, float)
    def _on_progress(self, job_id: int, done: int, total: int, eta: float) -> None:
        if job_id not in self._latest.values():
            return
        self._progress_job = job_id
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(done, total))
        text = f"{done}/{total}"
        if math.isfinite(eta) and done < total:
            text += f" · {eta:.1f} s left" if eta < 90 else f" · {eta / 60:.1f} min left"
        self.progress.setFormat(text)

    @Slot(int, object)
    def _on_partial(self, job_id: int, mean: object) -> None:
        if not self._wanted(job_id, "explain") or self.state is None:
            return
        self._live_partial = True
        self._render_map(np.asarray(mean), final=False)

    @Slot(int, object)
    def _on_convergence(self, job_id: int, points: object) -> None:
        if self._wanted(job_id, "explain"):
            self.convergence_panel.set_points(list(points))

    @Slot(int, object)
    def _on_prepared(self, job_id: int, state: object) -> None:
        kind = next((k for k, v in self._latest.items() if v == job_id), None)
        if kind is None:
            return
        entry = self.current_entry()
        if entry is None or entry.key != state.key:
            return
        new_image = self.state is None or self.state.key != state.key or self.state.display.shape != state.display.shape
        self.state = state
        self.images.set_notes(state.key, state.image.notes)
        self.editor.set_input_range(state.input_range)
        self.classes.set_predictions(state.top, state.target)
        if new_image or kind == "explain":
            self.panels.set_image(state.display)
        if self._difference_image != state.key and len(state.labels) > 1:
            order = [p.index for p in state.top]
            c1 = order[0]
            c2 = order[1] if len(order) > 1 else (1 if c1 == 0 else 0)
            self.difference_panel.set_classes(list(state.labels), c1, c2)
            self.difference_panel.set_image(state.visible)
            self._difference_image = state.key

    @Slot(int, int, object)
    def _on_grid_row(self, job_id: int, row: int, maps: object) -> None:
        if not self._wanted(job_id, "grid") or self.state is None:
            return
        p = self.params
        reduced = [display.reduce_map(m, p.view, self.state, p.multiply_by_input) for m in maps]
        try:
            self.grid_panel.set_row(row, reduced)
        except (IndexError, ValueError) as exc:
            log.warning("grid row %d not shown: %s", row, exc)

    @Slot(int, int, str, object, str)
    def _on_strip_entry(self, job_id: int, i: int, label: str, result: object, error: str) -> None:
        if not self._wanted(job_id, "strip") or self.state is None:
            return
        p = self.params
        values = None if result is None else display.reduce_map(result.attribution, p.view, self.state,
                                                                  p.multiply_by_input)
        self.strip_panel.set_entry(i, label, values, error or None)

    @Slot(int, str, object)
    def _on_finished(self, job_id: int, kind: str, outcome: object) -> None:
        key = self._pending_keys.pop(job_id, None)
        params = self._job_params.pop(job_id, self.params)
        if not self._wanted(job_id, kind):
            return
        self._idle_if_done(job_id)
        if kind == "load":
            self._model_loaded(outcome)
            return
        if kind == "explain":
            self._map_done(outcome, params)
            return
        if kind == "probe":
            self._probe_done(job_id, outcome)
            return
        self.outcomes[kind] = outcome
        if key is not None:
            if kind == "difference":  # the classes actually used (the default is the top two)
                key = key[:-1] + (tuple(sorted({"c1": outcome.c1, "c2": outcome.c2}.items())),)
                if self.difference_panel.classes() != (outcome.c1, outcome.c2) and len(outcome.state.labels) > 1:
                    self.difference_panel.set_classes(list(outcome.state.labels), outcome.c1, outcome.c2)
            self._outcome_keys[kind] = key
        self._render_experiment(kind)
        self.exp_tabs[kind].status.setText(self._experiment_summary(kind, outcome))
        self.experiment_finished.emit(kind, outcome)

    @Slot(int, str, str)
    def _on_failed(self, job_id: int, kind: str, message: str) -> None:
        self._pending_keys.pop(job_id, None)
        self._job_params.pop(job_id, None)
        if not self._wanted(job_id, kind):
            return
        self._idle_if_done(job_id)
        if kind == "load":
            self._failed_key = self._loading_key
            self._loading_key = None
            still = f"; still using {self.model_info.name}" if self.model_info else ""
            self.show_error(f"model: {message}{still}")
            self.model_label.setText(f"model: {self.model_info.name if self.model_info else 'none'}")
        else:
            self.show_error(message)
            if kind == "explain":
                self._no_map("Heatmap (no map: the run failed)")
            if kind in self.exp_tabs:
                self.exp_tabs[kind].status.setText(f"Failed: {message}")
            entry = self.current_entry()
            if entry is not None and entry.name and message.startswith(entry.name + ":"):
                self.images.set_error(entry.key, message)
        self.job_failed.emit(kind, message)

    @Slot(int, str)
    def _on_cancelled(self, job_id: int, kind: str) -> None:
        self._pending_keys.pop(job_id, None)
        self._job_params.pop(job_id, None)
        if not self._wanted(job_id, kind):
            return
        self._idle_if_done(job_id, text="cancelled")
        if kind == "load":
            self._loading_key = None
        if kind == "explain":
            # the running mean of a cancelled run is not a result: show the last final map of this image again,
            # or no map when the last final map belongs to another image
            # (a superseded run may have left its running mean up, so this does not depend on _live_partial)
            if self.current is None or self.state is None or self.current.state.key != self.state.key:
                self._no_map("Heatmap (cancelled)")
            else:
                self._live_partial = False
                self._render_map(self.current.explanation.result.attribution, final=True)
        if kind in self.exp_tabs:
            self.exp_tabs[kind].status.setText("Cancelled. Press Compute to try again.")

    def _idle_if_done(self, job_id: int, text: str = "done") -> None:
        if self.controller.busy():
            return
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if text == "done" else 0)
        self.progress.setFormat(text)
        self.cancel_button.setEnabled(False)

    # ================================================================== results
    def _model_loaded(self, info) -> None:
        self.model_info = info
        self._loaded_key = self._loading_key
        self._loading_key = None
        self._failed_key = None
        self._difference_image = None
        self.device_label.setText(f"device: {info.device_text}")
        self.model_label.setText(printable(f"model: {info.name}"))
        self.model_label.setToolTip("; ".join((info.name, info.kind, *info.notes)))
        self.editor.set_labels(info.labels)
        self.editor.set_method_refusals(dict(info.method_refusals))
        self.statusBar().showMessage(f"Loaded {info.name} on {info.device} in {info.seconds:.2f} s", 5000)
        self.model_ready.emit(info)
        self.run_map()
        kind = self.current_tab_kind()
        if kind in EXPERIMENTS and self.is_stale(kind):
            self.compute_experiment(kind)

    def _no_map(self, title: str) -> None:
        """A map run failed or was cancelled: show no map rather than one that is not this run's (and no image
        when the one shown is not the selected one)."""
        self._live_partial = False
        self.current = None
        entry = self.current_entry()
        if self.state is None or entry is None or self.state.key != entry.key:
            self.panels.clear()
        else:
            self.panels.heatmap_view.clear()
            self.panels.overlay_view.clear()
        self.panels.heatmap_view.set_title(title)

    def _map_done(self, outcome, params: Params) -> None:
        self.current = outcome
        self.state = outcome.state
        expl = outcome.explanation
        r = expl.result
        self.classes.set_predictions(outcome.state.top, expl.target)
        self._render_map(r.attribution, final=True)
        self.convergence_panel.set_points(list(r.convergence))
        self.time_label.setText(f"last run: {expl.seconds:.2f} s")
        # the record keeps the compute parameters the run used and the display parameters of now
        shown = replace(self.params, **{f: getattr(params, f) for f in (*MODEL_FIELDS, *COMPUTE_FIELDS)})
        self.runs.add(image_key=outcome.state.key, image_name=expl.image.name, params=shown, outcome=outcome,
                      seconds=expl.seconds, sigma=r.sigma, n=r.n, target=expl.target, target_label=expl.target_label,
                      device=r.device, batch_size=r.batch_size)
        self.message_label.setText("")
        self.statusBar().showMessage(
            f"{expl.image.name}: {expl.target_label} explained with {r.config.method}/{r.config.aggregation}, "
            f"n={r.n}, σ={r.sigma:.3g} in {expl.seconds:.2f} s"
            + (f" (input: {'; '.join(expl.image.notes)})" if expl.image.notes else ""), 8000)
        self.run_finished.emit(outcome)

    def _render_map(self, attr: np.ndarray, *, final: bool) -> None:
        state = self.state
        if state is None:
            return
        # map | standard error | SNR, clip mode, locked scale and the levels histogram: trust_window.py
        self._render_heatmap(attr, final=final)

    def _rerender(self) -> None:
        """Display parameters changed: redraw everything from the stored raw results (no recompute)."""
        if self.current is not None and self.state is not None and self.current.state.key == self.state.key:
            self._render_map(self.current.explanation.result.attribution, final=True)
        for kind in EXPERIMENTS:
            if kind in self.outcomes:
                self._render_experiment(kind)

    def _render_experiment(self, kind: str) -> None:
        outcome = self.outcomes.get(kind)
        if outcome is None:
            return
        p = self.params
        st = outcome.state
        span = self._locked_span  # None unless the colour scale is locked
        self._apply_clip_mode()

        def red(a: np.ndarray, view: str | None = None) -> np.ndarray:
            return display.reduce_map(a, view or p.view, st, p.multiply_by_input)

        if kind == "grid":
            r = outcome.result
            self.grid_panel.set_grid(r.levels, r.ns, [[red(m) for m in row] for row in r.maps], p.view,
                                     sigmas=r.sigmas, percentile=p.percentile, cmap=p.cmap, span=span)
        elif kind == "strip":
            self.strip_panel.set_entries(
                [(label, None if res is None else red(res.attribution), err) for label, res, err in outcome.entries],
                p.view, percentile=p.percentile, cmap=p.cmap, span=span)
        elif kind == "difference":
            self.difference_panel.set_attributions(
                outcome.r1.attribution, outcome.r2.attribution, p.view, input=st.x,
                multiply_by_input=p.multiply_by_input, percentile=p.percentile, cmap=p.cmap_signed,
                cmap_absolute=p.cmap_absolute, span=span)
        elif kind == "noise":
            maps = {key: red(res.attribution) for key, res in outcome.results.items()}
            self.noise_panel.set_maps(maps, p.view, percentile=p.percentile, cmap=p.cmap, span=span)
        elif kind == "fluctuation":
            r = outcome.result
            self.fluctuation_panel.set_data(r.t, r.max_partial, r.score, partial_at_pixel=r.partial_at_pixel,
                                            sigma=r.sigma)
        elif kind in ("evaluate", "sanity"):
            self._render_trust(kind, outcome)

    def _experiment_summary(self, kind: str, outcome) -> str:
        if kind in ("evaluate", "sanity"):
            return self._trust_summary(kind, outcome)
        st = outcome.state
        label = st.labels[outcome.target] if kind != "difference" and outcome.target < len(st.labels) else ""
        if kind == "grid":
            r = outcome.result
            return (f"{st.image.name}, class {label}: {len(r.levels)} noise levels × n up to {max(r.ns)}, "
                    f"{r.evaluations} evaluations, {outcome.config.method}, seed {outcome.config.seed}.")
        if kind == "strip":
            failed = [lab for lab, res, err in outcome.entries if res is None]
            text = f"{st.image.name}, class {label}: noise {outcome.config.noise_level:.0%}, n={outcome.config.n_samples}."
            return text + (f" Not available: {', '.join(failed)}." if failed else "")
        if kind == "difference":
            return (f"{st.image.name}: D = M({st.labels[outcome.c1]}) − M({st.labels[outcome.c2]}), "
                    f"{outcome.config.method}/{outcome.config.aggregation}, n={outcome.config.n_samples}.")
        if kind == "noise":
            return f"{st.image.name}, class {label}: rows clean / noise-trained model; columns gradient / SmoothGrad."
        if kind == "fluctuation":
            r = outcome.result
            return (f"{st.image.name}, class {label}: ε ~ N(0, σ²), σ = {r.sigma:.3g}; {len(r.t)} points; the dashed "
                    f"curve is the partial derivative at input element {r.pixel}.")
        return ""

    # ================================================================== parameters
    @Slot(object)
    def _on_params_changed(self, new: Params) -> None:
        old = self.params
        groups = new.changed_groups(old)
        if "model" in groups:  # the user chose this model now (editor or set_params)
            self.trust_code_model(new.model)
        self.params = new
        self.settings.set_params(new)
        if "display" in groups:
            if new.opacity != old.opacity:
                self.panels.set_opacity(new.opacity)
            self._sync_scale_checks()
            self._on_display_changed(old, new)
            self._rerender()
        if groups & {"model", "compute"}:
            self.classes.set_target(new.target if new.target is not None else None)
            self._restart.start()
            self._mark_stale_tabs()

    @Slot(str)
    def _on_model_file_chosen(self, spec: str) -> None:
        """The user picked a model file (again): load it now, even when it is the file already loaded or the one
        that just failed (e.g. after fixing its sidecar JSON)."""
        self.trust_code_model(spec)
        self._failed_key = None
        self._loaded_key = None
        self._restart.start()

    def _mark_stale_tabs(self) -> None:
        for kind, tab in self.exp_tabs.items():
            if kind in self.outcomes and self.is_stale(kind):
                tab.status.setText("Out of date: parameters or image changed. Press Compute (or reopen the tab).")

    @Slot()
    def _apply_changes(self) -> None:
        key = self.params.model_key()
        if key != self._loaded_key and key != self._loading_key and key != self._failed_key:
            self.load_model()
            return
        self.run_map()
        kind = self.current_tab_kind()
        if kind in EXPERIMENTS and self.is_stale(kind):
            self.compute_experiment(kind)

    def _sync_scale_checks(self) -> None:
        """Nothing to do: each comparison panel keeps its own shared/per-cell choice."""

    @Slot(float)
    def _on_panel_opacity(self, value: float) -> None:
        self.editor.set_opacity(value)  # emits params_changed -> re-render

    def set_params(self, params: Params) -> None:
        """Programmatic parameter change (as if the user edited them)."""
        self.editor.set_params(params)
        self._on_params_changed(params)

    @Slot()
    def reset_parameters(self) -> None:
        self.set_params(Params())

    @Slot()
    def reset_to_defaults(self) -> None:
        answer = QMessageBox.question(self, APP_TITLE, "Reset every parameter and the window layout to the defaults?")
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.settings.reset()
        self.reset_parameters()
        self.resize(1400, 860)
        self.left_dock.show()
        self.right_dock.show()
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.left_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.right_dock)
        self.left_dock.setFloating(False)
        self.right_dock.setFloating(False)
        self.statusBar().showMessage("Parameters and layout reset to the defaults", 5000)

    # ================================================================== class table, history
    @Slot(QModelIndex)
    def _on_class_clicked(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        cls = self.classes.data(index, ClassIndexRole)
        if cls is None:
            return
        self.set_target(int(cls))

    def set_target(self, cls: int | None) -> None:
        self.classes.set_target(cls)
        self.editor.set_target(cls)

    @Slot(QModelIndex)
    def _on_run_clicked(self, index: QModelIndex) -> None:
        record = self.runs.data(index, RunRole) if index.isValid() else None
        if record is not None:
            self.show_run(record)

    def show_run(self, record) -> None:
        """Show a past run again (its maps, classes and parameters) without recomputing."""
        self._restart.stop()
        self.controller.cancel("explain")
        row = self.images.row_of(record.image_key)
        if row >= 0:
            self._select_row(row, run=False)
        self.editor.set_params(replace(record.params))
        self.params = record.params
        self.current = record.outcome
        self.state = record.outcome.state
        self.panels.set_image(self.state.display)
        self.classes.set_predictions(self.state.top, record.target)
        self._render_map(record.outcome.explanation.result.attribution, final=True)
        self.convergence_panel.set_points(list(record.outcome.explanation.result.convergence))
        self.statusBar().showMessage(f"Showing {record.summary()}", 10000)

    # ================================================================== images
    def current_entry(self):
        index = self.image_view.currentIndex()
        return self.images.data(index, EntryRole) if index.isValid() else None

    def _select_row(self, row: int, run: bool = True) -> None:
        if not 0 <= row < self.images.rowCount():
            return
        self._suppress_selection = not run
        try:
            index = self.images.index(row)
            self.image_view.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.image_view.scrollTo(index)
        finally:
            self._suppress_selection = False

    @Slot(QModelIndex, QModelIndex)
    def _on_image_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        entry = self.images.data(current, EntryRole) if current.isValid() else None
        if entry is None:
            return
        if self._suppress_selection:
            return
        self.state = None if self.state is None or self.state.key != entry.key else self.state
        self._restart.stop()
        self.run_map()
        self._mark_stale_tabs()
        kind = self.current_tab_kind()
        if kind in EXPERIMENTS:
            self.compute_experiment(kind)

    @Slot()
    def next_image(self) -> None:
        self._step_image(+1)

    @Slot()
    def previous_image(self) -> None:
        self._step_image(-1)

    def _step_image(self, delta: int) -> None:
        n = self.images.rowCount()
        if n == 0:
            return
        row = self.image_view.currentIndex().row()
        new = min(n - 1, max(0, row + delta)) if row >= 0 else 0
        if new != row:
            self._select_row(new)

    def add_files(self, paths: list[str]) -> int:
        """Add files/folders to the list and show the first; returns its row (-1 when nothing was added)."""
        first, problems = self.images.add_paths(paths)
        for p in problems:
            self.show_error(p)
        if paths:
            self.settings.set_last_folder(paths[0])
        if first >= 0:
            self._select_row(first)
        return first

    @Slot()
    def open_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images", self.settings.last_folder(), FILE_FILTER)
        if paths:
            self.add_files(paths)

    @Slot()
    def open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images", self.settings.last_folder())
        if folder:
            self.add_files([folder])

    @Slot()
    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None:
            self.show_error("the clipboard is empty")
            return
        if mime.hasUrls():
            paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
            if paths:
                self.add_files(paths)
                return
        if mime.hasImage():
            image = QGuiApplication.clipboard().image()
            self.add_qimage(image, "pasted image")
            return
        if mime.hasText():
            text = mime.text().strip()
            if text and os.path.exists(text):
                self.add_files([text])
                return
        self.show_error("the clipboard holds no image and no image file")

    def add_qimage(self, image: QImage, name: str) -> int:
        if image is None or image.isNull():
            self.show_error(f"{name}: empty image")
            return -1
        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buf, "PNG")
        buf.close()
        try:
            from PIL import Image

            pil = Image.open(io.BytesIO(bytes(data.data())))
            pil.load()
            loaded = image_from_pil(pil, name)
        except UserFacingError as exc:
            self.show_error(str(exc))
            return -1
        except Exception as exc:  # noqa: BLE001
            self.show_error(f"{name}: cannot read the image ({exc})")
            return -1
        row = self.images.add_image(loaded)
        self._select_row(row)
        return row

    # drag and drop ------------------------------------------------------------------------------
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
        paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
        if paths:
            event.acceptProposedAction()
            self.add_files(paths)
        elif mime.hasImage():
            event.acceptProposedAction()
            image = mime.imageData()
            self.add_qimage(image if isinstance(image, QImage) else QImage(image), "dropped image")
        else:
            event.ignore()

    # ================================================================== tabs, view
    def current_tab_kind(self) -> str:
        i = self.tabs.currentIndex()
        return TAB_ORDER[i] if 0 <= i < len(TAB_ORDER) else "map"

    def show_tab(self, kind: str) -> None:
        self.tabs.setCurrentIndex(self._tab_index[kind])

    @Slot(int)
    def _on_tab_changed(self, _index: int) -> None:
        kind = self.current_tab_kind()
        if kind in EXPERIMENTS and self.is_stale(kind) and not self.controller.busy(kind) and self._loaded_key:
            self.compute_experiment(kind)

    @Slot(int, int)
    def _on_difference_classes(self, _c1: int, _c2: int) -> None:
        self.compute_experiment("difference")

    @Slot(str)
    def _on_hovered(self, text: str) -> None:
        self.statusBar().showMessage(text, 3000)

    @Slot()
    def open_guide(self) -> None:
        from .help import open_guide

        open_guide(self, "index")

    @Slot()
    def reset_zoom(self) -> None:
        self.panels.image_view.reset_view()

    # ================================================================== messages
    @Slot(str)
    def show_error(self, message: str) -> None:
        """A one-line message in the status bar and under the progress bar; the app stays usable."""
        line = printable(" ".join(str(message).split()))
        log.info("message shown: %s", line)
        self.message_label.setText(f"<span style='color:#c0392b'>{_html_escape(line)}</span>")
        self.message_label.setToolTip(line)
        self.statusBar().showMessage(line, 15000)

    @Slot()
    def about(self) -> None:
        from .application import log_file_path

        v = versions()
        try:
            import PySide6
            import pyqtgraph

            qt = f"PySide6 {PySide6.__version__}, pyqtgraph {pyqtgraph.__version__}"
        except ImportError:  # pragma: no cover
            qt = ""
        text = (f"<b>SmoothGrad Desktop {__version__}</b><br>"
                "SmoothGrad sensitivity maps (Smilkov et al. 2017, arXiv:1706.03825), offline.<br><br>"
                f"Python {v['python']}, torch {v['torch']}, torchvision {v['torchvision']}, numpy {v['numpy']}"
                f"<br>{qt}<br><br>"
                f"Device: {self.model_info.device_text if self.model_info else '–'}<br>"
                f"Log file: {_html_escape(str(log_file_path() or 'none (logging to the console)'))}<br>"
                f"Settings: {_html_escape(self.settings.path)}")
        QMessageBox.about(self, "About SmoothGrad Desktop", text)

    # ================================================================== export
    def _confirm_replace(self, paths: list[Path]) -> bool:
        names = "\n".join(str(p) for p in paths[:8]) + ("\n…" if len(paths) > 8 else "")
        answer = QMessageBox.question(
            self, "Replace files?", f"{len(paths)} file(s) already exist:\n{names}\n\nReplace them?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _figure(self, kind: str) -> QImage | None:
        if kind == "map":
            return self.panels.grab_image()
        if kind == "convergence":
            return self.convergence_panel.grab_image() if self.convergence_panel.points() else None
        if kind in self.outcomes:
            return {"grid": self.grid_panel, "strip": self.strip_panel, "difference": self.difference_panel,
                    "noise": self.noise_panel, "fluctuation": self.fluctuation_panel,
                    "evaluate": self.faithfulness_panel, "sanity": self.sanity_panel}[kind].grab_image()
        return None

    def export_to(self, path: str | os.PathLike[str], kind: str | None = None) -> list[Path]:
        """Export the current tab's content to ``path`` (see :mod:`.export`). Raises ExportError/ExportCancelled."""
        kind = kind or self.current_tab_kind()
        if kind == "map":
            if self.current is None:
                raise ExportError("no map has been computed yet")
            files = gx.map_files(path, self.current, self.params)
        elif kind == "grid":
            if "grid" not in self.outcomes:
                raise ExportError("the σ/n grid has not been computed yet")
            grid_params = replace(self.params, shared_scale=self.grid_panel.shared_scale)  # the grid tab's own choice
            files = gx.grid_files(path, self.outcomes["grid"], grid_params, self.grid_panel.grab_image())
        else:
            image = self._figure(kind)
            if image is None:
                raise ExportError(f"the {TAB_TITLES[kind]} figure has not been computed yet")
            files = gx.figure_files(path, image)
        return gx.write_files(files, self._confirm_replace, self._inputs())

    def _inputs(self) -> list:
        """Every file the app reads (open images, model and weights files): exports never write over them."""
        paths = [e.path for e in self.images.entries() if e.path is not None]
        if self.model_info is not None:
            paths.append(getattr(self.model_info, "weights_path", None))
        return paths

    def export_all_to(self, folder: str | os.PathLike[str]) -> list[Path]:
        if self.current is None:
            raise ExportError("no map has been computed yet")
        figures = {k: self._figure(k) for k in (*EXPERIMENTS, "convergence")}
        grid_params = replace(self.params, shared_scale=self.grid_panel.shared_scale)  # the grid tab's own choice
        return gx.write_all(folder, lambda f: gx.all_files(f, self.current, grid_params, figures=figures,
                                                            grid_outcome=self.outcomes.get("grid")),
                            self._confirm_replace, self._inputs())

    def _export_suggestion(self, kind: str) -> str:
        base = gx.default_stem(self.current) if self.current is not None else "smoothgrad"
        suffix = {"map": "", "grid": "-grid", "strip": "-methods", "difference": "-difference",
                  "noise": "-noise-training", "fluctuation": "-fluctuation", "convergence": "-convergence",
                  "evaluate": "-faithfulness", "sanity": "-sanity"}[kind]
        return str(Path(self.settings.last_export_folder()) / f"{base}{suffix}.png")

    @Slot()
    def export_dialog(self) -> None:
        kind = self.current_tab_kind()
        what = {"map": "Export the map (PNG, overlay PNG, .npy and .json)",
                "grid": "Export the σ/n grid (PNG, .npy and .json)"}.get(kind, f"Export the {TAB_TITLES[kind]} figure")
        path, _ = QFileDialog.getSaveFileName(self, what, self._export_suggestion(kind), "PNG image (*.png)",
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if not path:
            return
        self._run_export(lambda: self.export_to(path, kind), Path(path).parent)

    @Slot()
    def export_all_dialog(self) -> None:
        if self.current is None:
            self.show_error("nothing to export yet: no map has been computed")
            return
        suggestion = str(Path(self.settings.last_export_folder()) / f"{gx.default_stem(self.current)}-export")
        path, _ = QFileDialog.getSaveFileName(self, "Export all to a folder (created if new)", suggestion, "Folder (*)",
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if not path:
            return
        self._run_export(lambda: self.export_all_to(path), Path(path).parent)

    def _run_export(self, action, folder: Path) -> None:
        try:
            paths = action()
        except gx.ExportCancelled:
            self.statusBar().showMessage("Export cancelled: nothing was written", 5000)
            return
        except (ExportError, UserFacingError) as exc:
            self.show_error(f"export failed, nothing was written: {exc}")
            QMessageBox.warning(self, "Export failed", f"Nothing was written.\n\n{exc}")
            return
        except OSError as exc:
            self.show_error(f"export failed, nothing was written: {exc}")
            QMessageBox.warning(self, "Export failed", f"Nothing was written.\n\n{exc}")
            return
        self.settings.set_last_export_folder(folder)
        self.statusBar().showMessage(f"Exported {len(paths)} file(s) to {paths[0].parent if paths else folder}", 8000)

    # ================================================================== closing
    @property
    def worker_stopped(self) -> bool:
        return self._worker_stopped

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel, stop and wait for the worker and thumbnail threads (``timeout_ms`` in all); True when everything
        has stopped."""
        if self._worker_stopped:
            return True
        self._closing = True
        self._restart.stop()
        self.images.shutdown(0)  # no new thumbnails; the one being decoded finishes while the worker stops
        start = time.monotonic()
        ok = self.controller.shutdown(timeout_ms)
        left = max(0, timeout_ms - int(1000 * (time.monotonic() - start)))
        ok = self.images.shutdown(min(left, 5000)) and ok
        self._worker_stopped = ok
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


class PrintableStatusBar(QStatusBar):
    """The status bar: every message is made one printable line (:func:`core.paths.printable`), so a file name
    with control characters, bidirectional overrides or undecodable bytes shows as escapes, never as layout."""

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 - Qt's name
        super().showMessage(printable(" ".join(str(text).split())), timeout)


def _html_escape(text: str) -> str:
    import html

    return html.escape(text)

