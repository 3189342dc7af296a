"""The top-k class table: label, logit (the pre-softmax score the maps explain) and softmax probability."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtGui import QFont

from ...core.explain import Prediction
from ._table import HeaderTableModel

ClassIndexRole = Qt.ItemDataRole.UserRole + 1

HEADERS = ("Class", "Logit", "Probability")
TOOLTIPS = (
    "The class name; the row in bold is the class the map explains (the target). Click a row to explain it.",
    "The model's raw score S_c for the class (pre-softmax logit): the quantity whose gradient is the map.",
    "Softmax probability of the class among all the model's classes.",
)


class ClassTableModel(HeaderTableModel):
    HEADERS, TOOLTIPS, NUMBERED = HEADERS, TOOLTIPS, True

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Prediction] = []
        self._target: int | None = None

    def _row_list(self) -> list:
        return self._rows

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        p = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return f"{p.label}  ({p.index})" if p.label != str(p.index) else p.label
            if col == 1:
                return f"{p.logit:.3f}"
            if col == 2:
                return f"{p.probability:.1%}" if p.probability >= 0.001 else f"{p.probability:.2e}"
        if role == Qt.ItemDataRole.TextAlignmentRole and col > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and p.index == self._target:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            mark = " (the target the map explains)" if p.index == self._target else " (click to explain this class)"
            return f"class {p.index}: {p.label}{mark}"
        if role == ClassIndexRole:
            return p.index
        return None

    def set_predictions(self, rows: list[Prediction], target: int | None) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._target = target
        self.endResetModel()

    def set_target(self, target: int | None) -> None:
        self._target = target
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(HEADERS) - 1))

    def target(self) -> int | None:
        return self._target

    def class_at(self, row: int) -> int | None:
        return self._rows[row].index if 0 <= row < len(self._rows) else None

    def row_of_class(self, index: int) -> int:
        for i, p in enumerate(self._rows):
            if p.index == index:
                return i
        return -1

    def predictions(self) -> list[Prediction]:
        return list(self._rows)
