"""A message line that never hides its text: one line, elided to the width it has, and a "Details" toggle that
shows the whole message in a selectable, read-only box (for the status line and the red error label).

``ErrorLine(parent=None, *, error=True)``:

* ``set_text(text)`` -- the message (any length, several lines allowed); the line shows its first line, elided
  ("…") when wider than the widget, with the full text as tooltip (of the line and of the widget). "Details" appears whenever the line does not
  show everything (elided or more than one line). ``text()`` -- the full message; ``clear()``.
* ``shown_text()`` -- what the line shows now; ``is_clipped()`` -- True when the line does not show all of it.
* ``set_details_visible(bool)`` / ``details_visible()``; the toggle button does the same for the user.
* ``line`` (``QLabel``), ``toggle`` (``QToolButton``), ``details`` (``QPlainTextEdit``, read-only, selectable).
* ``error=True`` colours the line red (the error label); ``error=False`` keeps the palette's text colour.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Slot

__all__ = ["ErrorLine"]

ERROR_COLOR = "#c0392b"
DETAILS_LINES = 6  # the details box shows about this many lines before it scrolls


class ErrorLine(QtWidgets.QWidget):
    """One elided line + a "Details" expander (see the module docstring)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None, *, error: bool = True) -> None:
        super().__init__(parent)
        self._text = ""
        self._line = QtWidgets.QLabel("")
        self._line.setObjectName("error_line_text")
        self._line.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self._line.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self._line.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self._line.setMinimumWidth(20)
        if error:
            self._line.setStyleSheet(f"color: {ERROR_COLOR};")
        self._toggle = QtWidgets.QToolButton()
        self._toggle.setObjectName("error_line_details_button")
        self._toggle.setText("Details")
        self._toggle.setCheckable(True)
        self._toggle.setAutoRaise(True)
        self._toggle.setToolTip("Show the whole message (selectable, so it can be copied)")
        self._toggle.toggled.connect(self._on_toggled)
        self._toggle.setVisible(False)
        self._details = QtWidgets.QPlainTextEdit()
        self._details.setObjectName("error_line_details")
        self._details.setReadOnly(True)
        self._details.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
                                              | QtCore.Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self._details.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.WidgetWidth)
        fm = self._details.fontMetrics()
        self._details.setMaximumHeight(fm.lineSpacing() * DETAILS_LINES + 12)
        self._details.setVisible(False)

        row = QtWidgets.QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(self._line, 1)
        row.addWidget(self._toggle, 0)
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addLayout(row)
        box.addWidget(self._details)

    # -- access ------------------------------------------------------------------------------------------------
    @property
    def line(self) -> QtWidgets.QLabel:
        return self._line

    @property
    def toggle(self) -> QtWidgets.QToolButton:
        return self._toggle

    @property
    def details(self) -> QtWidgets.QPlainTextEdit:
        return self._details

    def text(self) -> str:
        return self._text

    def shown_text(self) -> str:
        return self._line.text()

    def is_clipped(self) -> bool:
        return self._line.text() != self._text

    def details_visible(self) -> bool:
        return not self._details.isHidden()

    # -- content -----------------------------------------------------------------------------------------------
    def set_text(self, text: str) -> None:
        self._text = str(text or "")
        self._details.setPlainText(self._text)
        self._line.setToolTip(self._text)
        self.setToolTip(self._text)  # the whole widget reads back like a label's tooltip
        self._refresh()

    def clear(self) -> None:
        self.set_text("")
        self.set_details_visible(False)

    def set_details_visible(self, visible: bool) -> None:
        visible = bool(visible) and bool(self._text)
        if self._toggle.isChecked() != visible:
            blocker = QtCore.QSignalBlocker(self._toggle)
            self._toggle.setChecked(visible)
            del blocker
        self._details.setVisible(visible)

    @Slot(bool)
    def _on_toggled(self, checked: bool) -> None:
        self.set_details_visible(checked)

    def _refresh(self) -> None:
        first = self._text.splitlines()[0] if self._text else ""
        more = "\n" in self._text.strip()
        full = max(20, self.width() - 2)
        room = max(20, full - self._toggle.sizeHint().width() - 6)  # the line beside a shown "Details"
        fm = QtGui.QFontMetrics(self._line.font())
        shown = first
        if fm.horizontalAdvance(first) > full:
            shown = fm.elidedText(first, QtCore.Qt.TextElideMode.ElideRight, room)
        elif more:
            shown = first if fm.horizontalAdvance(first + " …") <= room else fm.elidedText(
                first, QtCore.Qt.TextElideMode.ElideRight, room)
            if not shown.endswith("…"):
                shown += " …"
        self._line.setText(shown)
        clipped = shown != self._text
        self._toggle.setVisible(clipped)
        if not clipped and not self._toggle.isChecked():
            self._details.setVisible(False)

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self._refresh()

    def showEvent(self, ev) -> None:  # noqa: N802
        super().showEvent(ev)
        self._refresh()
