"""The class table and the run history as Qt item models: Qt's own model tester, and the headers both read from
one base (fixed column titles, a tooltip per column, numbered rows only in the class table)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from smoothgrad_desktop.core.explain import Prediction
from smoothgrad_desktop.core.params import Params
from smoothgrad_desktop.gui.models import ClassTableModel, RunHistoryModel

pytestmark = pytest.mark.gui

H, V = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
DISPLAY, TIP = Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole


def _run(model: RunHistoryModel, name: str):
    return model.add(image_key=name, image_name=name, params=Params(), outcome=None, seconds=0.5, sigma=0.15, n=50,
                     target=7, target_label="7", device="cpu", batch_size=50, model_name="MNIST CNN (embedded)")


def test_class_table_passes_qt_model_tester_and_numbers_its_rows(qtmodeltester):
    model = ClassTableModel()
    model.set_predictions([Prediction(7, "7", 9.5, 0.999), Prediction(1, "1", 2.0, 0.001)], target=7)
    qtmodeltester.check(model, force_py=True)
    assert (model.rowCount(), model.columnCount()) == (2, 3)
    assert [model.headerData(c, H, DISPLAY) for c in range(3)] == ["Class", "Logit", "Probability"]
    assert "pre-softmax" in model.headerData(1, H, TIP)
    assert model.headerData(1, V, DISPLAY) == "2"
    assert model.headerData(3, H, DISPLAY) is None  # past the last column


def test_run_history_passes_qt_model_tester_without_row_numbers(qtmodeltester):
    model = RunHistoryModel(max_runs=3)
    for name in ("a.png", "b.png", "c.png", "d.png"):
        _run(model, name)
    qtmodeltester.check(model, force_py=True)
    assert model.rowCount() == 3  # capped: the oldest run went
    assert model.headerData(0, V, DISPLAY) is None
    assert all(model.headerData(c, H, TIP) for c in range(model.columnCount()))
    assert "Model" in [model.headerData(c, H, DISPLAY) for c in range(model.columnCount())]
