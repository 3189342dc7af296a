"""The row of tab titles above the tabs, in two labelled groups so that every title stays visible at 1280 px.

Nine titles in one tab bar need ~820 px, more than the centre of a 1280 px window has beside the docks, and a
tab bar then hides the last ones (Faithfulness, Sanity checks) behind scroll arrows. :class:`TabNavigator` shows
them as two rows of buttons: the paper's experiments (:data:`PAPER`) and the checks of how far a map can be
trusted (:data:`CHECKS`). The ``QTabWidget`` keeps its pages and its indices (one per
:data:`~.tabs.TABS` entry, as before); only its own bar is hidden. Choosing a button selects the page; a page
chosen otherwise (Ctrl+1…9, a session) checks its button.
"""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QButtonGroup, QGridLayout, QLabel, QSizePolicy, QTabWidget, QToolButton, QWidget

from .tabs import TABS

PAPER = ("map", "grid", "strip", "difference", "noise")
CHECKS = ("fluctuation", "convergence", "evaluate", "sanity")
GROUPS = (("Paper", "The SmoothGrad paper's experiments (Smilkov et al. 2017)", PAPER),
          ("Checks", "How far a map can be trusted: gradient fluctuation, convergence of the mean, faithfulness "
                     "(deletion / insertion) and sanity checks", CHECKS))


class TabNavigator(QWidget):
    """Two labelled rows of checkable buttons, one per page of ``tabs`` (see the module docstring)."""

    def __init__(self, tabs: QTabWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tabs = tabs
        tabs.tabBar().hide()
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[str, QToolButton] = {}
        kinds = [s.kind for s in TABS]
        grid = QGridLayout(self)
        grid.setContentsMargins(4, 2, 4, 0)
        grid.setHorizontalSpacing(2)
        grid.setVerticalSpacing(1)
        for row, (title, tip, members) in enumerate(GROUPS):
            label = QLabel(f"<b>{title}</b>")
            label.setToolTip(tip)
            grid.addWidget(label, row, 0)
            for col, kind in enumerate(k for k in members if k in kinds):
                index = kinds.index(kind)
                button = QToolButton()
                button.setObjectName(f"tab_button_{kind}")
                button.setText(tabs.tabText(index).replace("&", "&&"))
                button.setToolTip(tabs.tabToolTip(index))
                button.setCheckable(True)
                button.setAutoRaise(True)
                button.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
                self.group.addButton(button, index)
                self.buttons[kind] = button
                grid.addWidget(button, row, col + 1)
        grid.setColumnStretch(grid.columnCount(), 1)
        self.group.idClicked.connect(tabs.setCurrentIndex)
        tabs.currentChanged.connect(self._on_current)
        self._on_current(tabs.currentIndex())
        self.setStyleSheet("QToolButton:checked { font-weight: bold; }")

    @Slot(int)
    def _on_current(self, index: int) -> None:
        button = self.group.button(index)
        if button is not None and not button.isChecked():
            button.setChecked(True)

    def all_visible(self) -> bool:
        """Every title shown whole: each button as wide as its text needs, inside the navigator."""
        return all(b.isVisible() and b.width() >= b.sizeHint().width()
                   and b.geometry().right() <= self.width() for b in self.buttons.values())
