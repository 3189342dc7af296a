"""The views of the window's docks, built from their Qt models: the image list, the top-classes table and the run
history (widgets only; the window connects them); and the About box's text."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QListView, QMessageBox, QSizePolicy, QTableView, QVBoxLayout,
    QWidget,
)

from .models import ClassTableModel, ImageListModel, RunHistoryModel


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


def message_line() -> QLabel:
    """The red one-line message under the tabs (selectable, never widening the window)."""
    label = QLabel("")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


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
    view.setIconSize(ImageListModel.thumb_size() * 0.75)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setUniformItemSizes(True)
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


def run_history_view(runs: RunHistoryModel) -> QTableView:
    view = _table(runs)
    # fixed widths from typical contents (ResizeToContents only saw the headers of the empty model); the image
    # name takes the rest
    header = view.horizontalHeader()
    header.setStretchLastSection(False)
    fm = view.fontMetrics()
    samples = ("99", "", "Grad + SG²", "15 %", "100", "Seed", "Target", "0.00 s")  # typical; longer ones elide
    for col, text in enumerate(samples):
        if col == 1:
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)
            continue
        header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(col, max(fm.horizontalAdvance(text), header.fontMetrics().horizontalAdvance(
            str(runs.headerData(col, Qt.Orientation.Horizontal)))) + 10)
    view.setTextElideMode(Qt.TextElideMode.ElideLeft)  # "…label_7.png": the end tells images apart
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
