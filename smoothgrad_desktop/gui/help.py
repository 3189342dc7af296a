"""The built-in guide: one short page per panel (what it shows, its formula, how to read it, the paper's figure it
reproduces), written in Markdown under ``resources/guide/`` and shown in a ``QTextBrowser``.

API
---
* ``PAGES``: ``(page, title)`` in the order of the guide's contents.
* ``guide_text(page) -> str``: a page's Markdown (``ValueError`` for an unknown page, never a path: page names
  are looked up in ``PAGES`` only).
* ``open_guide(parent, page="index") -> GuideWindow``: opens (or raises) the one guide window of ``parent``'s
  top-level window at ``page``. Panels' "?" buttons call it; the window's Help ▸ Guide menu entry calls it with
  ``"index"``.
* ``GuideWindow``: contents list on the left, the page on the right; links between pages (``page.md``) stay in
  the guide; links to the web open in the system browser.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Slot

from ..core.resources import resource_path

__all__ = ["PAGES", "guide_text", "open_guide", "GuideWindow"]

PAGES: tuple[tuple[str, str], ...] = (
    ("index", "Contents"),
    ("map", "Map: image, heatmap and overlay"),
    ("uncertainty", "Standard error and SNR"),
    ("sigma-n-grid", "σ/n grid"),
    ("methods", "Methods strip"),
    ("class-difference", "Class difference"),
    ("noise-training", "Training with noise"),
    ("fluctuation", "Gradient fluctuation"),
    ("convergence", "Convergence"),
    ("faithfulness", "Faithfulness (deletion / insertion)"),
    ("sanity", "Sanity checks"),
)
_TITLES = dict(PAGES)


def guide_text(page: str) -> str:
    """The Markdown of one guide page."""
    if page not in _TITLES:
        raise ValueError(f"no guide page {page!r}; the pages are {', '.join(p for p, _ in PAGES)}")
    return resource_path("guide", f"{page}.md").read_text(encoding="utf-8")


class GuideWindow(QtWidgets.QWidget):
    """Help ▸ Guide: the page list and the page (see the module docstring)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent, QtCore.Qt.WindowType.Window)
        self.setWindowTitle("SmoothGrad Desktop — Guide")
        self.setObjectName("guide_window")
        self._list = QtWidgets.QListWidget()
        self._list.setObjectName("guide_pages")
        for page, title in PAGES:
            item = QtWidgets.QListWidgetItem(title)
            item.setData(QtCore.Qt.ItemDataRole.UserRole, page)
            self._list.addItem(item)
        self._list.setMaximumWidth(240)
        self._browser = QtWidgets.QTextBrowser()
        self._browser.setObjectName("guide_browser")
        self._browser.setOpenLinks(False)  # page links are handled here; nothing is loaded from a path
        self._browser.anchorClicked.connect(self._on_link)
        split = QtWidgets.QSplitter()
        split.addWidget(self._list)
        split.addWidget(self._browser)
        split.setStretchFactor(1, 1)
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.addWidget(split)
        self._page = ""
        self._list.currentRowChanged.connect(self._on_row)
        self.resize(820, 600)

    @property
    def browser(self) -> QtWidgets.QTextBrowser:
        return self._browser

    def page(self) -> str:
        return self._page

    def show_page(self, page: str) -> None:
        text = guide_text(page)  # raises for an unknown page before anything changes
        self._page = page
        self._browser.setMarkdown(text)
        row = [p for p, _ in PAGES].index(page)
        if self._list.currentRow() != row:
            blocker = QtCore.QSignalBlocker(self._list)
            self._list.setCurrentRow(row)
            del blocker

    @Slot(int)
    def _on_row(self, row: int) -> None:
        if 0 <= row < len(PAGES):
            self.show_page(PAGES[row][0])

    @Slot(QtCore.QUrl)
    def _on_link(self, url: QtCore.QUrl) -> None:
        if url.scheme() in ("http", "https"):
            QtGui.QDesktopServices.openUrl(url)
            return
        name = url.path().rsplit("/", 1)[-1]
        page = name[:-3] if name.endswith(".md") else name
        if page in _TITLES:
            self.show_page(page)


def open_guide(parent: QtWidgets.QWidget | None, page: str = "index") -> GuideWindow:
    """Show the guide at ``page``: one guide window per top-level window, raised if already open."""
    if page not in _TITLES:
        raise ValueError(f"no guide page {page!r}")
    owner = parent.window() if parent is not None else None
    guide = owner.findChild(GuideWindow) if owner is not None else None  # a child of the window that opened it
    if guide is None:
        guide = GuideWindow(owner)
    guide.show_page(page)
    guide.show()
    guide.raise_()
    guide.activateWindow()
    return guide
