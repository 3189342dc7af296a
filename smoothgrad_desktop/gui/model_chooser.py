"""The model chooser: every kind of model the app loads, what this machine has of each, and what a choice will do.

The left side is a tree of the model kinds (:func:`core.models.catalog.model_kinds`) with, under each, what this
machine has (:func:`core.models.catalog.catalog`: the embedded models, torch hub checkpoints, timm and transformers
repositories in the local Hugging Face cache, recently used files and folders). A kind that cannot load here (its
library is missing) is greyed out with the one-line reason beside it and in its tooltip.

The right side shows what loading the current choice will do (:func:`core.models.catalog.preview`, read from the
files, never by loading the model): input size, resize, crop, mean/std, interpolation, who does the preprocessing,
where the class names and the weights come from, or the one line saying why it cannot load (e.g. missing weights,
naming where they were looked for). Below, the choice itself can be typed or picked: a model file, a model folder,
a weights file (``.safetensors`` preferred) or ``random``.

The result is one :class:`~core.models.catalog.ModelChoice` (``spec``, ``weights``, ``options``), emitted by
:attr:`ModelChooser.chosen` when the dialog is accepted and returned by :meth:`ModelChooser.choice`. The dialog owns
no loading: the app hands the choice to its own load path.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (
    QAbstractItemModel, QModelIndex, QSortFilterProxyModel, Qt, QTimer, Signal, Slot,
)
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
    QLineEdit, QPushButton, QSplitter, QTreeView, QVBoxLayout, QWidget,
)

from ..core.models import LAYOUT_ARCHS
from ..core.models.catalog import (
    CatalogEntry, ModelChoice, ModelKind, Preview, catalog, entry_kind, kind_of, model_kinds, preview, where_looked,
)
from ..core.paths import printable
from .settings import AppSettings

EntryRole = Qt.ItemDataRole.UserRole + 1  # the CatalogEntry of a row (None for a kind's row)
KindRole = Qt.ItemDataRole.UserRole + 2  # the ModelKind of a row (its own for a kind's row, its parent's otherwise)

MODEL_FILE_FILTER = "Model programs (*.pt *.pt2 *.ts *.torchscript *.jit);;All files (*)"
WEIGHTS_FILTER = "Weights (*.safetensors *.pt *.pth);;All files (*)"

PREVIEW_FIELDS = (
    ("spec", "Model"), ("weights", "Weights"), ("input", "Model input"), ("resize", "Resize"), ("crop", "Crop"),
    ("mean", "Mean"), ("std", "Std"), ("interpolation", "Interpolation"), ("preprocessing", "Preprocessing by"),
    ("classes", "Class names"), ("notes", "Notes"),
)


class _Group:
    """A kind's row and its entries (kept alive: child indexes point at it)."""

    def __init__(self, row: int, kind: ModelKind, entries: list[CatalogEntry]) -> None:
        self.row, self.kind, self.entries = row, kind, entries


class CatalogTreeModel(QAbstractItemModel):
    """Kinds (top level) and the catalog entries of each (children); columns: name, where it is."""

    HEADERS = ("Model", "Where")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._groups: list[_Group] = []
        self._top = object()  # internal pointer of top-level rows

    def set_catalog(self, kinds: list[ModelKind], entries: list[CatalogEntry]) -> None:
        self.beginResetModel()
        by_kind: dict[str, list[CatalogEntry]] = {k.key: [] for k in kinds}
        for entry in entries:
            by_kind.setdefault(entry_kind(entry), []).append(entry)
        self._groups = [_Group(i, k, by_kind.get(k.key, [])) for i, k in enumerate(kinds)]
        self.endResetModel()

    # ------------------------------------------------------------------ structure
    def index(self, row: int, column: int, parent=QModelIndex()) -> QModelIndex:
        if column < 0 or column >= len(self.HEADERS):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, self._top) if 0 <= row < len(self._groups) else QModelIndex()
        group = self._group_of(parent)
        if group is None or parent.internalPointer() is not self._top:
            return QModelIndex()
        return self.createIndex(row, column, group) if 0 <= row < len(group.entries) else QModelIndex()

    def parent(self, index: QModelIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        pointer = index.internalPointer()
        if pointer is self._top or not isinstance(pointer, _Group):
            return QModelIndex()
        return self.createIndex(pointer.row, 0, self._top)

    def rowCount(self, parent=QModelIndex()) -> int:
        if not parent.isValid():
            return len(self._groups)
        if parent.column() != 0 or parent.internalPointer() is not self._top:
            return 0
        return len(self._groups[parent.row()].entries)

    def columnCount(self, parent=QModelIndex()) -> int:
        return len(self.HEADERS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def _group_of(self, index: QModelIndex) -> _Group | None:
        if not index.isValid():
            return None
        pointer = index.internalPointer()
        if pointer is self._top:
            return self._groups[index.row()] if 0 <= index.row() < len(self._groups) else None
        return pointer if isinstance(pointer, _Group) else None

    def entry(self, index: QModelIndex) -> CatalogEntry | None:
        if not index.isValid() or index.internalPointer() is self._top:
            return None
        group = self._group_of(index)
        return group.entries[index.row()] if group is not None and 0 <= index.row() < len(group.entries) else None

    def kind(self, index: QModelIndex) -> ModelKind | None:
        group = self._group_of(index)
        return group.kind if group is not None else None

    def kind_index(self, key: str) -> QModelIndex:
        for group in self._groups:
            if group.kind.key == key:
                return self.index(group.row, 0)
        return QModelIndex()

    def find(self, spec: str, weights: str | None) -> QModelIndex:
        """The row of the entry with this spec and weights (the first), or an invalid index."""
        for group in self._groups:
            for row, e in enumerate(group.entries):
                if e.spec == spec and (e.weights or None) == (weights or None):
                    return self.index(row, 0, self.index(group.row, 0))
        return QModelIndex()

    # ------------------------------------------------------------------ contents
    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        kind, entry = self.kind(index), self.entry(index)
        usable = kind is not None and kind.available and (entry is None or entry.available)
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable if usable else Qt.ItemFlag.NoItemFlags

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        kind, entry = self.kind(index), self.entry(index)
        if kind is None:
            return None
        if role == EntryRole:
            return entry
        if role == KindRole:
            return kind
        if entry is None:
            return self._kind_data(index, kind, role)
        return self._entry_data(index, kind, entry, role)

    def _kind_data(self, index: QModelIndex, kind: ModelKind, role):
        group = self._groups[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == 0:
                return f"{kind.title} ({len(group.entries)})" if group.entries else kind.title
            return kind.hint if kind.available else f"unavailable: {kind.reason}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return kind.hint if kind.available else f"{kind.title}: {kind.reason}"
        if role == Qt.ItemDataRole.FontRole and index.column() == 0:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 1 and not kind.available:
            return QColor(170, 40, 30)
        return None

    def _entry_data(self, index: QModelIndex, kind: ModelKind, entry: CatalogEntry, role):
        usable = kind.available and entry.available
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == 0:
                return printable(entry.title, limit=90)
            if not usable:
                return printable(f"unavailable: {entry.reason or kind.reason}", limit=300)
            # a path keeps its start and its end (the view elides on the right)
            return entry.origin if entry.path is None else f"{entry.origin}: {printable(entry.path, limit=64)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"--model {entry.spec}" + (f" --weights {entry.weights}" if entry.weights else "")]
            if not usable:
                lines.append(f"unavailable: {entry.reason or kind.reason}")
            return "\n".join(printable(line, limit=300) for line in lines)
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 1 and not usable:
            return QColor(170, 40, 30)
        return None


class _Filter(QSortFilterProxyModel):
    """Filters entries by text in any column; a kind stays visible while the filter is empty or one of its entries
    (or its own title) matches."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)


class ModelChooser(QDialog):
    """See the module docstring. ``current``: the choice to start from (shown and selected when listed)."""

    chosen = Signal(object)  # ModelChoice, when the dialog is accepted

    def __init__(self, parent: QWidget | None = None, *, current: ModelChoice | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose a model")
        self.setObjectName("modelChooser")
        self._preview: Preview | None = None
        self._updating = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.refresh_preview)
        self._build()
        self.refresh_catalog()
        start = current or ModelChoice("default")
        self._set_choice(start, select=True)
        self.refresh_preview()

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        self.catalog_model = CatalogTreeModel(self)
        self.proxy = _Filter(self)
        self.proxy.setSourceModel(self.catalog_model)

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter (name, kind, folder)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._on_filter)
        self.refresh_button = QPushButton("Rescan")
        self.refresh_button.setToolTip("Look again at the torch hub cache, the Hugging Face cache and the recently "
                                       "used files")
        self.refresh_button.clicked.connect(self.refresh_catalog)

        self.tree = QTreeView()
        self.tree.setModel(self.proxy)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.tree.setToolTip("What this machine has, by kind. Greyed out: it cannot load here (the reason is beside "
                             "it).")
        self.tree.selectionModel().currentChanged.connect(self._on_current)
        self.tree.doubleClicked.connect(self._on_double_click)
        self.where_label = QLabel()
        self.where_label.setWordWrap(True)
        self.where_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.refresh_button)
        lv.addLayout(top)
        lv.addWidget(self.tree, 1)
        lv.addWidget(self.where_label)

        box = QGroupBox("What will be applied")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.preview_labels: dict[str, QLabel] = {}
        for key, title in PREVIEW_FIELDS:
            label = QLabel()
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setObjectName(f"preview_{key}")
            self.preview_labels[key] = label
            form.addRow(f"{title}:", label)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([720, 480])

        self.spec_edit = QLineEdit()
        self.spec_edit.setPlaceholderText("default, resnet50, timm:convnext_tiny, hf:ORG/NAME, a folder or a file")
        self.spec_edit.setToolTip("What --model takes: an embedded model, a torchvision architecture, timm:NAME, "
                                  "hf:ORG/NAME (local cache), a model folder or a TorchScript / torch.export file")
        self.file_button = QPushButton("File…")
        self.file_button.setToolTip("Choose a TorchScript (.pt/.ts) or torch.export (.pt2) file. Such files contain "
                                    "code: only open files you trust.")
        self.folder_button = QPushButton("Folder…")
        self.folder_button.setToolTip("Choose a model folder: transformers save_pretrained or timm layout "
                                      "(config.json + model.safetensors)")
        self.weights_edit = QLineEdit()
        self.weights_edit.setPlaceholderText("empty: the cached pretrained weights; a file; or random")
        self.weights_edit.setToolTip("For a torchvision architecture or timm:NAME: a .safetensors (preferred) or "
                                     "state_dict file, a torchvision weights name in the torch hub cache, 'random', "
                                     "or empty for the pretrained weights in the local cache")
        self.weights_button = QPushButton("Weights…")
        self.weights_button.setToolTip("Choose a weights file (.safetensors, .pt, .pth) for the architecture")
        self.random_button = QPushButton("Random")
        self.random_button.setToolTip("Untrained weights (for timing and sanity checks)")
        self.transform_check = QCheckBox("Input transform (Inception v3 / GoogLeNet)")
        self.transform_check.setChecked(True)
        self.transform_check.setToolTip("torchvision's transform_input: on for torchvision's pretrained weights and "
                                        "networks fine-tuned from them; off for one trained from scratch")
        for edit in (self.spec_edit, self.weights_edit):
            edit.textEdited.connect(self._on_edited)
        self.file_button.clicked.connect(self.pick_model_file)
        self.folder_button.clicked.connect(self.pick_folder)
        self.weights_button.clicked.connect(self.pick_weights)
        self.random_button.clicked.connect(lambda: self._set_weights("random"))

        choice = QFormLayout()
        row = QHBoxLayout()
        row.addWidget(self.spec_edit, 1)
        row.addWidget(self.file_button)
        row.addWidget(self.folder_button)
        choice.addRow(self._buddy("&Model:", self.spec_edit), row)
        row = QHBoxLayout()
        row.addWidget(self.weights_edit, 1)
        row.addWidget(self.weights_button)
        row.addWidget(self.random_button)
        choice.addRow(self._buddy("&Weights:", self.weights_edit), row)
        choice.addRow("", self.transform_check)

        self.status_label = QLabel()
        self.status_label.setObjectName("chooserStatus")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.load_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.load_button.setText("&Load")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(choice)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status_label, 1)
        bottom.addWidget(self.buttons)
        layout.addLayout(bottom)
        self.resize(1100, 680)

    @staticmethod
    def _buddy(text: str, widget: QWidget) -> QLabel:
        label = QLabel(text)
        label.setBuddy(widget)
        return label

    # ------------------------------------------------------------------ catalog
    @Slot()
    def refresh_catalog(self) -> None:
        """Read what this machine has again (kinds, caches, recently used files)."""
        self.catalog_model.set_catalog(model_kinds(), catalog())
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)  # the "Where" column takes the rest, elided in the middle
        self.tree.setColumnWidth(0, min(max(self.tree.columnWidth(0), 260), 420))
        looked = where_looked()
        self.where_label.setText(printable(f"Looked in: torch hub cache {looked['torch hub cache']}; Hugging Face "
                                           f"cache {looked['Hugging Face cache']}", limit=400))

    def kind_index(self, key: str) -> QModelIndex:
        """The tree's (proxy) index of a kind's row."""
        return self.proxy.mapFromSource(self.catalog_model.kind_index(key))

    def entry_index(self, spec: str, weights: str | None = None) -> QModelIndex:
        """The tree's (proxy) index of a listed entry, or an invalid index."""
        return self.proxy.mapFromSource(self.catalog_model.find(spec, weights))

    @Slot(str)
    def _on_filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        self.tree.expandAll()

    @Slot(QModelIndex, QModelIndex)
    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        source = self.proxy.mapToSource(current)
        entry = self.catalog_model.entry(source)
        kind = self.catalog_model.kind(source)
        if entry is not None:
            self._set_choice(ModelChoice(entry.spec, entry.weights), select=False)
            self.refresh_preview()
        elif kind is not None and kind.key == "embedded":
            pass
        elif kind is not None:
            self.status_label.setText(printable(f"{kind.title}: {kind.hint}", limit=300))
            self._set_status_style(False)

    @Slot(QModelIndex)
    def _on_double_click(self, index: QModelIndex) -> None:
        source = self.proxy.mapToSource(index)
        entry, kind = self.catalog_model.entry(source), self.catalog_model.kind(source)
        if entry is not None:
            if self.load_button.isEnabled():
                self.accept()
            return
        if kind is None or not kind.available:
            return
        if kind.key == "file":
            self.pick_model_file()
        elif kind.key == "folder":
            self.pick_folder()
        elif kind.key == "weights":
            self.pick_weights()

    # ------------------------------------------------------------------ the choice
    def choice(self) -> ModelChoice:
        """The choice as it stands (what :attr:`chosen` emits on accept)."""
        spec = self.spec_edit.text().strip() or "default"
        weights = self.weights_edit.text().strip() or None
        options: tuple = ()
        if spec in LAYOUT_ARCHS:
            options = (("transform_input", self.transform_check.isChecked()),)
        return ModelChoice(spec, weights, options)

    def current_preview(self) -> Preview | None:
        return self._preview

    def _set_choice(self, choice: ModelChoice, *, select: bool) -> None:
        self._updating = True
        try:
            self.spec_edit.setText(choice.spec)
            self.weights_edit.setText(choice.weights or "")
            self.transform_check.setChecked(bool(choice.option("transform_input", True)))
        finally:
            self._updating = False
        if select:
            index = self.entry_index(choice.spec, choice.weights)
            if index.isValid():
                self.tree.setCurrentIndex(index)
                self.tree.scrollTo(index)

    def _set_weights(self, text: str) -> None:
        self.weights_edit.setText(text)
        if kind_of(self.spec_edit.text().strip()) not in ("torchvision", "timm", "weights"):
            self.spec_edit.clear()  # weights need an architecture: ask for one
            self.spec_edit.setFocus()
        self.refresh_preview()

    @Slot()
    def _on_edited(self, *_args) -> None:
        if not self._updating:
            self._timer.start()

    @Slot()
    def refresh_preview(self) -> None:
        """Show what the current choice will do; Load is enabled only when it can load."""
        self._timer.stop()
        spec, weights = self.spec_edit.text().strip(), self.weights_edit.text().strip() or None
        if not spec and weights:
            p = Preview(spec="", weights=weights, kind="weights",
                        problem="type the architecture the weights are for (e.g. resnet50 or timm:convnext_tiny)")
        else:
            p = preview(spec or "default", weights)
        self._preview = p
        self._show_preview(p)
        self.transform_check.setVisible(p.spec in LAYOUT_ARCHS)
        self.load_button.setEnabled(p.problem is None)
        if p.problem:
            self.status_label.setText(p.problem)
        else:
            self.status_label.setText(printable(f"Ready to load {p.spec}" + (f" with {p.weights}" if p.weights else ""),
                                                limit=300))
        self._set_status_style(bool(p.problem))

    def _set_status_style(self, problem: bool) -> None:
        self.status_label.setStyleSheet("color: rgb(170, 40, 30);" if problem else "")

    def _show_preview(self, p: Preview) -> None:
        def numbers(values) -> str:
            return ", ".join(f"{v:.4g}" for v in values) if values is not None else "none"

        size = " × ".join(str(v) for v in p.input_size) if p.input_size else ""
        if p.input_size:
            size += " (channels × height × width)"
        texts = {
            "spec": p.spec, "weights": p.weights_text or (p.weights or ""), "input": size, "resize": p.resize,
            "crop": p.crop, "mean": numbers(p.mean) if p.input_size else "",
            "std": numbers(p.std) if p.input_size else "", "interpolation": p.interpolation,
            "preprocessing": p.preprocessing, "classes": p.classes, "notes": "; ".join(p.notes),
        }
        for key, label in self.preview_labels.items():
            label.setText(printable(texts.get(key, ""), limit=400))

    # ------------------------------------------------------------------ pickers
    def _start_folder(self, dialog: str = "model_file") -> str:
        text = self.spec_edit.text().strip() or self.weights_edit.text().strip()
        path = Path(text).expanduser() if text else None
        if path is not None and (path.exists() or path.parent.exists()) and ("/" in text or "\\" in text):
            return str(path if path.is_dir() else path.parent)
        return AppSettings().folder(dialog)  # the folder this dialog used last

    @Slot()
    def pick_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a TorchScript / torch.export model", self._start_folder(),
                                              MODEL_FILE_FILTER)
        if path:
            AppSettings().set_folder("model_file", path)
            self._set_choice(ModelChoice(path), select=False)
            self.refresh_preview()

    @Slot()
    def pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a model folder (config.json + model.safetensors)",
                                                self._start_folder("model_folder"))
        if path:
            AppSettings().set_folder("model_folder", Path(path).parent)
            self._set_choice(ModelChoice(path), select=False)
            self.refresh_preview()

    @Slot()
    def pick_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a weights file", self._start_folder("weights"),
                                              WEIGHTS_FILTER)
        if path:
            AppSettings().set_folder("weights", path)
            self._set_weights(path)

    # ------------------------------------------------------------------ accept
    def accept(self) -> None:
        self.refresh_preview()
        if self._preview is None or self._preview.problem is not None:
            return  # the status line says why
        choice = self.choice()
        super().accept()
        self.chosen.emit(choice)


__all__ = ["CatalogTreeModel", "EntryRole", "KindRole", "ModelChoice", "ModelChooser"]


def open_model_chooser(parent: QWidget, params, on_chosen) -> ModelChooser:
    """Open the chooser (window-modal, deleted on close) on the model that ``params`` name; ``on_chosen`` gets the
    :class:`ModelChoice` when the user accepts."""
    dialog = ModelChooser(parent, current=ModelChoice(params.model, params.weights or None,
                                                      (("transform_input", params.transform_input),)))
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.chosen.connect(on_chosen)
    dialog.open()
    return dialog
