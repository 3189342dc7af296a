"""A table model whose columns have fixed headers and header tooltips: the row count and header data of the class
table and the run history, written once."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt


class HeaderTableModel(QAbstractTableModel):
    """Subclasses set ``HEADERS`` and ``TOOLTIPS`` (one per column) and return their rows from ``_row_list()``;
    ``NUMBERED`` rows show 1, 2, … in the vertical header."""

    HEADERS: tuple[str, ...] = ()
    TOOLTIPS: tuple[str, ...] = ()
    NUMBERED = False

    def _row_list(self) -> list:
        raise NotImplementedError

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._row_list())

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.HEADERS):
            if role == Qt.ItemDataRole.DisplayRole:
                return self.HEADERS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return self.TOOLTIPS[section]
        if self.NUMBERED and orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
            return str(section + 1)
        return None
