"""Small controls shared by the panels (internal): the per-panel "Shared colour scale" box and the "?" help link.

Each panel owns its own box: the choice belongs to that panel instance only (no module, global or QSettings
value is shared between tabs), so ticking it on one tab never changes another.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["scale_check", "help_button", "SHARED_TIP", "PER_CELL_TIP"]

SHARED_TIP = (
    "Shared colour scale: every map of this figure uses one span (the 99th percentile over all of them), so equal "
    "colours mean equal values and maps can be compared in brightness. Unticked: each map is capped at its own "
    "99th percentile, as in the SmoothGrad paper's figures (shapes compare; brightness does not). This choice is "
    "this tab's own."
)
PER_CELL_TIP = SHARED_TIP


def scale_check(shared: bool, parent: QtWidgets.QWidget | None = None) -> QtWidgets.QCheckBox:
    check = QtWidgets.QCheckBox("Shared colour scale", parent)
    check.setObjectName("shared_scale")
    check.setChecked(bool(shared))
    check.setToolTip(SHARED_TIP)
    return check


def help_button(page: str, parent: QtWidgets.QWidget | None = None) -> QtWidgets.QToolButton:
    """A small "?" button that opens the built-in guide at ``page`` (see :func:`smoothgrad_desktop.gui.help.open_guide`)."""
    button = QtWidgets.QToolButton(parent)
    button.setObjectName("help_button")
    button.setText("?")
    button.setAutoRaise(True)
    button.setToolTip(f"What this panel shows, its formula and how to read it (Help ▸ Guide: {page})")
    button.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
    button.setProperty("guide_page", page)

    def _open() -> None:
        from ..help import open_guide

        open_guide(button.window(), page)

    button.clicked.connect(_open)
    return button
