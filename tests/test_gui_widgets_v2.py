"""The error line (one elided line + Details) and the built-in guide (Help ▸ Guide, the panels' "?" links)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import re  # noqa: E402
import tomllib  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402

from smoothgrad_desktop.core.resources import resource_path  # noqa: E402
from smoothgrad_desktop.gui import help as guide  # noqa: E402
from smoothgrad_desktop.gui.panels import (  # noqa: E402
    ConvergencePanel,
    DifferencePanel,
    FluctuationPanel,
    GridPanel,
    ImagePanels,
    NoiseTrainingPanel,
    StripPanel,
)
from smoothgrad_desktop.gui.panels.trust import FaithfulnessPanel, SanityPanel  # noqa: E402
from smoothgrad_desktop.gui.widgets.error_line import ErrorLine  # noqa: E402

pytestmark = pytest.mark.gui
REPO = Path(__file__).resolve().parents[1]


def _settle() -> None:
    for _ in range(5):
        QtWidgets.QApplication.processEvents()


# --------------------------------------------------------------------------------------------- error line


def test_error_line_elides_and_details_show_everything(qtbot):
    w = ErrorLine()
    qtbot.addWidget(w)
    w.resize(300, 40)
    w.show()
    message = ("could not load the model: the file 'resnet50-custom.pt' is a TorchScript archive; choose the file "
               "with Weights … and allow code models under Model ▸ Trust this file")
    w.set_text(message)
    _settle()
    assert w.text() == message
    assert w.is_clipped() and w.shown_text().endswith("…") and len(w.shown_text()) < len(message)
    assert w.line.fontMetrics().horizontalAdvance(w.shown_text()) <= w.width()
    assert w.line.toolTip() == message and w.toolTip() == message
    assert w.toggle.isVisible() and not w.details_visible()
    qtbot.mouseClick(w.toggle, QtCore.Qt.MouseButton.LeftButton)
    _settle()
    assert w.details_visible() and w.details.isVisible()
    assert w.details.toPlainText() == message
    assert w.details.isReadOnly()
    assert w.details.textInteractionFlags() & QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
    w.details.selectAll()
    assert w.details.textCursor().selectedText() == message  # the whole text can be selected and copied
    qtbot.mouseClick(w.toggle, QtCore.Qt.MouseButton.LeftButton)
    assert not w.details_visible()


def test_error_line_short_and_multiline_texts(qtbot):
    w = ErrorLine(error=False)
    qtbot.addWidget(w)
    w.resize(600, 40)
    w.show()
    w.set_text("Loaded MNIST CNN")
    _settle()
    assert w.shown_text() == "Loaded MNIST CNN" and not w.is_clipped() and not w.toggle.isVisible()
    w.set_text("first line\nTraceback-free second line with the detail")
    _settle()
    assert w.shown_text().startswith("first line") and w.is_clipped() and w.toggle.isVisible()
    w.set_details_visible(True)
    assert "second line" in w.details.toPlainText()
    w.resize(2000, 40)  # wider: a one-line text that fits is shown whole again
    w.set_text("Loaded MNIST CNN")
    _settle()
    assert not w.is_clipped()
    w.clear()
    assert w.text() == "" and not w.details_visible() and not w.toggle.isVisible()


# --------------------------------------------------------------------------------------------- guide


def test_every_guide_page_exists_and_has_its_sections():
    for page, _title in guide.PAGES:
        text = guide.guide_text(page)
        assert text.startswith("# ")
        if page == "index":
            for other, _t in guide.PAGES[1:]:
                assert f"({other}.md)" in text
            continue
        for part in ("**What it shows.**", "**Formula.**", "**How to read it.**", "**Paper.**"):
            assert part in text, (page, part)
    assert "Figs 3" in guide.guide_text("sigma-n-grid") and "Fig 2" in guide.guide_text("fluctuation")
    assert "§4" in guide.guide_text("class-difference") and "§5" in guide.guide_text("noise-training")
    files = {p.stem for p in resource_path("guide").glob("*.md")}
    assert files == {p for p, _ in guide.PAGES}
    with pytest.raises(ValueError):
        guide.guide_text("../README")


def test_guide_pages_are_package_data():
    """The wheel ships resources/guide/*.md (pyproject package-data); the frozen build copies all of resources/."""
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = data["tool"]["setuptools"]["package-data"]["smoothgrad_desktop.resources"]
    assert "guide/*.md" in patterns


def test_open_guide_shows_the_page_and_follows_links(qtbot):
    host = QtWidgets.QWidget()
    qtbot.addWidget(host)
    window = guide.open_guide(host, "sigma-n-grid")
    qtbot.addWidget(window)
    assert window.isVisible() and window.page() == "sigma-n-grid"
    assert "σ/n grid" in window.browser.toPlainText() and "Figs 3" in window.browser.toPlainText()
    assert "**" not in window.browser.toPlainText()  # rendered, not shown as markdown source
    assert guide.open_guide(host, "index") is window  # one guide window, raised and switched
    window._on_link(QtCore.QUrl("class-difference.md"))
    assert window.page() == "class-difference"
    window._on_link(QtCore.QUrl("../../etc/passwd"))  # not a page: nothing happens
    assert window.page() == "class-difference"
    with pytest.raises(ValueError):
        guide.open_guide(host, "nope")


@pytest.mark.parametrize("cls,page", [
    (ImagePanels, "map"), (GridPanel, "sigma-n-grid"), (StripPanel, "methods"),
    (DifferencePanel, "class-difference"), (NoiseTrainingPanel, "noise-training"),
    (FluctuationPanel, "fluctuation"), (ConvergencePanel, "convergence"),
    (FaithfulnessPanel, "faithfulness"), (SanityPanel, "sanity"),
])
def test_each_panel_has_a_help_link_to_its_page(qtbot, monkeypatch, cls, page):
    opened = []
    monkeypatch.setattr(guide, "open_guide", lambda parent, p="index": opened.append(p))
    panel = cls()
    qtbot.addWidget(panel)
    panel.show()
    button = panel.help_button
    assert button is not None and button.text() == "?" and button.isVisible()
    qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)
    assert opened == [page]
    assert re.search(r"\bGuide\b", button.toolTip())
