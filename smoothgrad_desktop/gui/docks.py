"""The views of the window's docks, built from their Qt models: the image list, the top-classes table and the run
history (widgets only; the window connects them); and the About box's text."""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QApplication, QHBoxLayout, QHeaderView, QLabel, QListView, QMessageBox, QSizePolicy,
    QStatusBar, QTableView, QVBoxLayout, QWidget,
)

from ..core.paths import printable
from .app_terms import app_text
from .models import ClassTableModel, ImageListModel, RunHistoryModel
from .widgets.error_line import ErrorLine


def titled(title: str, widget: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(2, 2, 2, 2)
    layout.setSpacing(2)
    layout.addWidget(QLabel(f"<b>{title}</b>"))
    layout.addWidget(widget, 1)
    return box


def action(parent: QWidget, text: str, slot, shortcuts=(), tip: str = "", menu=None) -> QAction:
    """A window action (active while the window has focus), in ``menu`` when given."""
    action = QAction(text, parent)
    seqs: list[QKeySequence] = []
    for s in shortcuts:  # StandardKey.Quit is Ctrl+Q on Linux: a second Ctrl+Q would make it ambiguous
        seq = QKeySequence(s)
        if not seq.isEmpty() and seq not in seqs:
            seqs.append(seq)
    action.setShortcuts(seqs)
    action.setToolTip(tip)
    action.setStatusTip(tip)
    action.triggered.connect(slot)
    parent.addAction(action)
    if menu is not None:
        menu.addAction(action)
    return action


def message_line() -> ErrorLine:
    """The red message under the tabs: one elided line and a Details toggle with the whole, selectable text."""
    line = ErrorLine(error=True)
    line.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return line


def one_line(text: str) -> str:
    """A message as the window shows it: printable, on one line, naming app controls (not command-line options)."""
    return printable(" ".join(app_text(str(text)).split()))


class PrintableStatusBar(QStatusBar):
    """The status line: every message is one printable line (:func:`core.paths.printable`; control characters,
    bidirectional overrides or undecodable bytes show as escapes, never as layout) naming app controls, shown in an
    :class:`ErrorLine` (elided to the room there is, with a Details toggle showing all of it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.line = ErrorLine(error=False)
        self.line.setObjectName("status_line")
        self.addWidget(self.line, 1)
        self._message = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clearMessage)

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 - Qt's name
        self._message = one_line(text)
        self.line.set_text(self._message)
        self._timer.stop()
        if timeout > 0:
            self._timer.start(timeout)
        self.messageChanged.emit(self._message)

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._timer.stop()  # a closed window keeps no timer running
        super().hideEvent(event)

    def currentMessage(self) -> str:  # noqa: N802 - Qt's name
        return self._message

    def clearMessage(self) -> None:  # noqa: N802 - Qt's name
        if self.line.details_visible():
            return  # the user is reading the details: the message stays until they close them
        self._message = ""
        self.line.clear()
        self.messageChanged.emit("")


class ShortcutKeeper(QObject):
    """Keeps the window's shortcuts ``sequences`` (Ctrl+E) working while a text field has focus: a line edit or
    spin box would otherwise take the key for itself (Ctrl+E moves to the end of the line)."""

    def __init__(self, window: QWidget, sequences) -> None:
        super().__init__(window)
        self._window = window
        self._keys = {QKeySequence(s)[0].toCombined() for s in sequences}
        QApplication.instance().installEventFilter(self)
        window.destroyed.connect(self._remove)

    def _remove(self, *_args) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(obj, QWidget) and obj.window() is self._window:
            if event.keyCombination().toCombined() in self._keys:
                event.ignore()
                return True  # not overridden: the shortcut map triggers the window's action
        return False


def row(*widgets: QWidget, stretch=()) -> QWidget:
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(4, 2, 4, 2)
    for i, w in enumerate(widgets):
        layout.addWidget(w, stretch[i] if i < len(stretch) else 0)
    return box


def stack(top: QWidget, bottom: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(top, 1)
    layout.addWidget(bottom)
    return box


def image_list_view(images: ImageListModel) -> QListView:
    view = QListView()
    view.setModel(images)
    view.setIconSize(ImageListModel.thumb_size() * 0.5)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setUniformItemSizes(True)
    row = max(view.iconSize().height(), view.fontMetrics().height()) + 6
    view.setMinimumHeight(int(5.4 * row) + 2 * view.frameWidth())  # at least five images in view
    view.setToolTip("Opened images (Ctrl+O, drag and drop files or folders, Ctrl+V to paste). "
                    "Ctrl+Right / Ctrl+Left or PageDown / PageUp: next / previous.")
    return view


def _table(model) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 6)
    return view


def class_table_view(classes: ClassTableModel) -> QTableView:
    view = _table(classes)
    header = view.horizontalHeader()
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
    view.setToolTip("The model's top classes for this image. Click a row to explain that class.")
    return view


NAME_COLUMN_PX = 130
"""The most the run history gives the image (or model, target) name before eliding it ("…label_7.png")."""


def run_history_view(runs: RunHistoryModel) -> QTableView:
    """Every column as wide as its widest cell (never cut); a name column at most :data:`NAME_COLUMN_PX` wide
    (elided at the start: "…label_7.png", the end tells images apart), with the full values in each cell's
    tooltip; the view scrolls sideways when the dock is narrower than the row."""
    view = _table(runs)
    header = view.horizontalHeader()
    header.setStretchLastSection(True)
    header.setMinimumSectionSize(view.fontMetrics().horizontalAdvance("…") * 3)
    names = [runs.headerData(c, Qt.Orientation.Horizontal) for c in range(runs.columnCount())]
    for col in range(runs.columnCount()):
        header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)

    def fit(*_args) -> None:
        for col, name in enumerate(names):
            width = max(view.sizeHintForColumn(col), header.sectionSizeHint(col))
            header.resizeSection(col, min(width, NAME_COLUMN_PX) if name in ("Image", "Model", "Target") else width)

    runs.rowsInserted.connect(fit)
    runs.modelReset.connect(fit)
    fit()
    view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    view.setTextElideMode(Qt.TextElideMode.ElideLeft)
    view.setWordWrap(False)
    view.setToolTip("Every finished run with its parameters and time. Click a row to show it again.")
    return view


def about_html(model_info, log_file, settings_path: str) -> str:
    from .. import __version__
    from ..core.explain import versions

    v = versions()
    try:
        import PySide6
        import pyqtgraph

        qt = f"PySide6 {PySide6.__version__}, pyqtgraph {pyqtgraph.__version__}"
    except ImportError:  # pragma: no cover
        qt = ""
    return (f"<b>SmoothGrad Desktop {__version__}</b><br>SmoothGrad sensitivity maps (Smilkov et al. 2017, "
            f"arXiv:1706.03825), offline.<br><br>Python {v['python']}, torch {v['torch']}, torchvision "
            f"{v['torchvision']}, numpy {v['numpy']}<br>{qt}<br><br>"
            f"Device: {model_info.device_text if model_info else '–'}<br>"
            f"Log file: {html.escape(str(log_file or 'none (logging to the console)'))}<br>"
            f"Settings: {html.escape(settings_path)}")


def confirm_replace(parent: QWidget, paths) -> bool:
    """Ask before an export replaces files (No is the default)."""
    names = "\n".join(str(p) for p in paths[:8]) + ("\n…" if len(paths) > 8 else "")
    return QMessageBox.question(
        parent, "Replace files?", f"{len(paths)} file(s) already exist:\n{names}\n\nReplace them?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No) == QMessageBox.StandardButton.Yes
