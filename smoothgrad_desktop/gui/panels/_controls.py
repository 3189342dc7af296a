"""Small controls shared by the panels (internal): the per-panel "Shared colour scale" box and the "?" help link.

Each panel owns its own box: the choice belongs to that panel instance only (no module, global or QSettings
value is shared between tabs), so ticking it on one tab never changes another.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["scale_check", "help_button", "pin_to_corner", "SHARED_TIP", "PER_CELL_TIP"]

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


class _Corner(QtCore.QObject):
    """Keeps a small child widget in its parent's top-right corner (no layout row of its own)."""

    def __init__(self, child: QtWidgets.QWidget, parent: QtWidgets.QWidget) -> None:
        super().__init__(parent)
        self._child = child
        parent.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if event.type() in (QtCore.QEvent.Type.Resize, QtCore.QEvent.Type.Show):
            self.place(obj)
        return False

    def place(self, parent: QtWidgets.QWidget) -> None:
        hint = self._child.sizeHint()
        self._child.setGeometry(parent.width() - hint.width() - 2, 2, hint.width(), hint.height())
        self._child.raise_()


def pin_to_corner(child: QtWidgets.QWidget, parent: QtWidgets.QWidget) -> None:
    """Show ``child`` (e.g. a "?" button) in ``parent``'s top-right corner, above the parent's content."""
    child.setParent(parent)
    corner = _Corner(child, parent)
    corner.place(parent)
    child.show()
