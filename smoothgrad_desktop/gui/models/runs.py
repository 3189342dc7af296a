"""The run history: every finished map run with its parameters and timing; selecting a row shows it again."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from PySide6.QtCore import QModelIndex, QObject, Qt

from ...core.params import Params
from ._table import HeaderTableModel

RunRole = Qt.ItemDataRole.UserRole + 1
MAX_RUNS = 50

HEADERS = ("#", "Image", "Model", "Method", "Noise", "n", "Seed", "Target", "Time")
TOOLTIPS = (
    "Run number (click a row to show that run again, with its parameters)",
    "The image the run explained",
    "The model the run explained (the tooltip of a row has its full name)",
    "Base method + aggregation (SG: SmoothGrad, SG²: SmoothGrad², VarGrad; the tooltip of a row has the full names)",
    "Noise level as a percentage of the input range (the tooltip of a row gives the absolute σ)",
    "Number of noisy samples",
    "Noise seed",
    "The class the map explains",
    "Wall-clock time of the run",
)


@dataclass
class RunRecord:
    number: int
    image_key: str
    image_name: str
    params: Params
    outcome: object  # worker.ExplainOutcome
    seconds: float
    sigma: float
    n: int
    target: int
    target_label: str
    device: str
    batch_size: int
    model_name: str = ""
    created: float = field(default_factory=time.time)

    def summary(self) -> str:
        p = self.params
        model = f", model {self.model_name}" if self.model_name else ""
        return (f"run #{self.number}: {self.image_name}{model}, {p.method}/{p.aggregation}, noise {p.noise_level:.0%} "
                f"(σ={self.sigma:.3g}), n={self.n}, seed {p.seed}, target {self.target_label}, "
                f"{self.seconds:.2f} s on {self.device}, batch {self.batch_size}")


SHORT_METHODS = {"gradient": "Grad", "gradient-x-input": "Grad×In", "integrated-gradients": "IG",
                 "guided-backprop": "GBP"}
SHORT_AGGREGATIONS = {"smoothgrad": "SG", "smoothgrad-sq": "SG²", "vargrad": "VarGrad", "none": ""}


def short_model(name: str) -> str:
    """``"MNIST CNN"`` for ``"MNIST CNN (embedded)"``: the run history's Model column (the tooltip has it all)."""
    head = name.split(" (", 1)[0].strip()
    return head or name


def short_method(method: str, aggregation: str) -> str:
    """``"Grad + SG"``: the run history's narrow Method column (unknown names are kept as they are)."""
    m = SHORT_METHODS.get(method, method)
    a = SHORT_AGGREGATIONS.get(aggregation, aggregation)
    return f"{m} + {a}" if a else m


class RunHistoryModel(HeaderTableModel):
    HEADERS, TOOLTIPS = HEADERS, TOOLTIPS

    def __init__(self, parent: QObject | None = None, max_runs: int = MAX_RUNS) -> None:
        super().__init__(parent)
        self._runs: list[RunRecord] = []  # newest first
        self._next = 1
        self._max = max_runs

    def _row_list(self) -> list:
        return self._runs

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._runs):
            return None
        r = self._runs[index.row()]
        col = index.column()
        p = r.params
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                str(r.number), r.image_name, short_model(r.model_name), short_method(p.method, p.aggregation),
                f"{p.noise_level * 100:g} %", str(r.n), str(p.seed), r.target_label,
                f"{r.seconds:.2f} s",
            )[col]
        if role == Qt.ItemDataRole.ToolTipRole:  # the cell's full value first, then the whole run
            full = (f"run #{r.number}", r.image_name, r.model_name or "–", f"{p.method} + {p.aggregation}",
                    f"noise {p.noise_level * 100:g} % (σ = {r.sigma:.3g})", f"n = {r.n}", f"seed {p.seed}",
                    f"target {r.target_label}", f"{r.seconds:.2f} s on {r.device}")[col]
            return f"{full}\n{r.summary()}"
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (0, 5, 6, 8):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == RunRole:
            return r
        return None

    def add(self, **fields) -> RunRecord:
        record = RunRecord(number=self._next, **fields)
        self._next += 1
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._runs.insert(0, record)
        self.endInsertRows()
        if len(self._runs) > self._max:
            last = len(self._runs) - 1
            self.beginRemoveRows(QModelIndex(), self._max, last)
            del self._runs[self._max:]
            self.endRemoveRows()
        return record

    def run(self, row: int) -> RunRecord | None:
        return self._runs[row] if 0 <= row < len(self._runs) else None

    def row_of(self, number: int) -> int:
        for i, r in enumerate(self._runs):
            if r.number == number:
                return i
        return -1

    def runs(self) -> list[RunRecord]:
        return list(self._runs)

    def clear(self) -> None:
        self.beginResetModel()
        self._runs.clear()
        self.endResetModel()
