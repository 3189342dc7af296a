"""A grid of map cells on ONE shared colour scale, in one pyqtgraph scene (internal base of the comparison panels).

``CellGrid`` is the common base of :class:`~.grid.GridPanel`, :class:`~.strip.StripPanel` and
:class:`~.noise_training.NoiseTrainingPanel`. It lays out, in a single ``pg.GraphicsLayoutWidget``: optional row
labels (left), column labels (top), ``nrows x ncols`` cells (a ``ViewBox`` with locked aspect and inverted y,
holding one ``ImageItem`` and, for an error, a centred text inside the cell) and one ``pg.ColorBarItem`` legend on the
right spanning all rows. All cells show raw values with the same levels and lookup table (see ``_pg``); the
span is a locked float or, with ``span=None``, core ``shared_span`` over every map currently shown (so it is
recomputed as cells are filled progressively). Cells' views are linked (zoom/pan one, all follow).

Protected API used by subclasses: ``_build``, ``_set_cell``, ``_set_scale``, ``_rescale``, ``_cells``.
Public API inherited by the panels: ``hovered = Signal(str)`` (e.g. ``"10 % / n = 5: x=3 y=4 value=0.12"``),
``span`` (the span of the current levels or None), ``image_item(r, c)``, ``view_box(r, c)``,
``cell_text(r, c)``, ``value_at(r, c, x, y)``, ``grab_image() -> QImage`` (the whole figure),
``graphics_widget``, ``color_bar``.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Signal, Slot

from . import _pg
from ._pg import pg

ERROR_COLOR = "#c0392b"


class _Cell:
    __slots__ = ("view_box", "image_item", "text_item", "values", "error", "shape", "name")

    def __init__(self, name: str) -> None:
        self.view_box = _pg.new_view_box()
        self.image_item = pg.ImageItem()
        self.view_box.addItem(self.image_item)
        # error text: a child of the ViewBox itself (widget pixels), so it ignores zoom/pan and linked ranges
        self.text_item = QtWidgets.QGraphicsTextItem(self.view_box)
        self.text_item.setDefaultTextColor(QtGui.QColor(ERROR_COLOR))
        opt = self.text_item.document().defaultTextOption()
        opt.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.text_item.document().setDefaultTextOption(opt)
        self.text_item.setZValue(1000)
        self.text_item.setVisible(False)
        self.view_box.sigResized.connect(lambda _vb: self.place_text())
        self.values: np.ndarray | None = None
        self.error: str | None = None
        self.shape: tuple[int, int] | None = None
        self.name = name

    def set_error(self, error: str | None) -> None:
        self.error = error
        self.text_item.setPlainText(error or "")
        self.text_item.setVisible(bool(error))
        self.place_text()

    def place_text(self) -> None:
        if not self.error:
            return
        r = self.view_box.boundingRect()
        self.text_item.setTextWidth(max(40.0, r.width() - 8.0))
        br = self.text_item.boundingRect()
        x = r.x() + (r.width() - br.width()) / 2.0
        y = r.y() + max(0.0, (r.height() - br.height()) / 2.0)
        self.text_item.setPos(x, y)


class CellGrid(QtWidgets.QWidget):
    hovered = Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._bg, self._fg = _pg.theme_colors()
        self._glw = _pg.new_layout_widget(self._bg)
        self._glw.setMinimumSize(120, 80)
        self._layout: pg.GraphicsLayout | None = None
        self._cells: list[list[_Cell]] = []
        self._row_labels: list[pg.LabelItem] = []
        self._col_labels: list[pg.LabelItem] = []
        self._cbar: pg.ColorBarItem | None = None
        self._structure: tuple | None = None

        self._view = "absolute"
        self._cmap: str | None = None
        self._span_arg: float | None = None
        self._percentile = 99.0
        self._span: float | None = None

        self._readout = QtWidgets.QLabel("")
        self._readout.setObjectName("readout")
        f = self._readout.font()
        f.setPointSizeF(max(6.0, f.pointSizeF() * 0.85))
        self._readout.setFont(f)
        self._readout.setFixedHeight(self._readout.fontMetrics().height() + 2)

        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        self._top = QtWidgets.QVBoxLayout()  # for subclasses' controls
        self._top.setContentsMargins(0, 0, 0, 0)
        box.addLayout(self._top)
        box.addWidget(self._glw, 1)
        box.addWidget(self._readout)
        self._glw.scene().sigMouseMoved.connect(self._on_mouse_moved)

    # -- structure ---------------------------------------------------------------------------------------------
    def _build(
        self,
        nrows: int,
        ncols: int,
        row_labels: list[str] | None,
        col_labels: list[str] | None,
        *,
        colorbar: bool = True,
    ) -> None:
        """(Re)build the layout; all cells empty. Reuses nothing (a fresh GraphicsLayout replaces the old one)."""
        fg = self._fg
        layout = pg.GraphicsLayout()
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        self._glw.setCentralItem(layout)
        self._layout = layout
        ql = layout.layout  # the QGraphicsGridLayout

        c0 = 1 if row_labels is not None else 0
        r0 = 1 if col_labels is not None else 0
        step = 1

        self._col_labels = []
        if col_labels is not None:
            for c, text in enumerate(col_labels):
                lab = pg.LabelItem(html.escape(text), color=fg, size="10pt")
                layout.addItem(lab, row=0, col=c0 + c)
                self._col_labels.append(lab)
            ql.setRowStretchFactor(0, 0)
        self._row_labels = []
        if row_labels is not None:
            for r, text in enumerate(row_labels):
                lab = pg.LabelItem(text, color=fg, size="10pt", justify="right")
                layout.addItem(lab, row=r0 + r * step, col=0)
                self._row_labels.append(lab)
            ql.setColumnStretchFactor(0, 0)

        self._cells = []
        for r in range(nrows):
            row_cells = []
            for c in range(ncols):
                rl = row_labels[r] if row_labels is not None else ""
                cl = col_labels[c] if col_labels is not None else ""
                name = " / ".join(t for t in (_plain(rl), _plain(cl)) if t)
                cell = _Cell(name)
                layout.addItem(cell.view_box, row=r0 + r * step, col=c0 + c)
                ql.setRowStretchFactor(r0 + r * step, 1)
                ql.setColumnStretchFactor(c0 + c, 1)
                row_cells.append(cell)
            self._cells.append(row_cells)
        # equal cell columns, however long the column labels are
        widest = max([lab.minimumWidth() for lab in self._col_labels] + [40.0])
        for c in range(ncols):
            ql.setColumnMinimumWidth(c0 + c, widest)
            ql.setColumnPreferredWidth(c0 + c, widest)
        first = self._cells[0][0].view_box if nrows and ncols else None
        for row_cells in self._cells:
            for cell in row_cells:
                if first is not None and cell.view_box is not first:
                    _pg.link_views(first, cell.view_box)

        self._cbar = None
        if colorbar and nrows and ncols:
            self._cbar = _pg.new_color_bar(fg)
            layout.addItem(self._cbar, row=r0, col=c0 + ncols, rowspan=max(1, nrows * step))
            ql.setColumnStretchFactor(c0 + ncols, 0)
            self._cbar.setVisible(False)
        self._span = None
        self._readout.setText("")

    # -- scale -------------------------------------------------------------------------------------------------
    def _set_scale(self, view: str, span: float | None, percentile: float, cmap: str | None) -> None:
        _pg.levels_for(view, span)  # validates the view
        _pg.resolve_cmap(cmap, view)  # validates the colour map
        if percentile is not None and not (0.0 < float(percentile) <= 100.0):
            raise ValueError(f"percentile must be in (0, 100], got {percentile}")
        self._view = view
        self._span_arg = None if span is None else float(span)
        self._percentile = float(percentile)
        self._cmap = cmap

    def _rescale(self) -> None:
        """Apply the shared span (locked, or core shared_span over all shown maps) to every cell and the bar."""
        maps = [cell.values for row in self._cells for cell in row if cell.values is not None]
        cm = _pg.resolve_cmap(self._cmap, self._view)
        if not maps:
            self._span = None
            if self._cbar is not None:
                self._cbar.setVisible(False)
            return
        span = _pg.effective_span(_pg.resolve_span(maps, self._view, self._span_arg, self._percentile))
        self._span = span
        levels = _pg.levels_for(self._view, span)
        for row in self._cells:
            for cell in row:
                if cell.values is not None:
                    _pg.set_levels(cell.image_item, self._view, span, cm)
        if self._cbar is not None:
            self._cbar.setColorMap(_pg.pg_colormap(cm))
            self._cbar.setLevels(levels)
            self._cbar.setVisible(True)

    # -- cells -------------------------------------------------------------------------------------------------
    def _set_cell(self, r: int, c: int, values: np.ndarray | None, error: str | None = None) -> None:
        """Set one cell's map (levels are applied by the next ``_rescale``) or empty it; show ``error`` text."""
        cell = self._cells[r][c]
        if values is None:
            cell.values = None
            cell.image_item.clear()
            cell.shape = None
        else:
            data = _pg.as_map(values)
            cell.values = data
            cm = _pg.resolve_cmap(self._cmap, self._view)
            _pg.apply_map(cell.image_item, data, self._view, self._span or 1.0, cm)
            shape = (int(data.shape[0]), int(data.shape[1]))
            if shape != cell.shape:
                cell.shape = shape
                cell.view_box.autoRange(padding=0.0)
        cell.set_error(error)

    def _clear_cells(self) -> None:
        for row in self._cells:
            for cell in row:
                self._set_cell_empty(cell)
        self._span = None
        if self._cbar is not None:
            self._cbar.setVisible(False)
        self._readout.setText("")

    def _set_cell_empty(self, cell: _Cell) -> None:
        cell.values = None
        cell.shape = None
        cell.image_item.clear()
        cell.set_error(None)

    # -- public helpers ----------------------------------------------------------------------------------------
    @property
    def span(self) -> float | None:
        return self._span

    @property
    def view(self) -> str:
        return self._view

    @property
    def graphics_widget(self) -> pg.GraphicsLayoutWidget:
        return self._glw

    @property
    def color_bar(self) -> pg.ColorBarItem | None:
        return self._cbar

    def cell_count(self) -> tuple[int, int]:
        return (len(self._cells), len(self._cells[0]) if self._cells else 0)

    def image_item(self, r: int, c: int) -> pg.ImageItem:
        return self._cells[r][c].image_item

    def view_box(self, r: int, c: int) -> pg.ViewBox:
        return self._cells[r][c].view_box

    def cell_text(self, r: int, c: int) -> str:
        """The text shown inside a cell (an error message), "" when none is shown."""
        item = self._cells[r][c].text_item
        return item.toPlainText() if item.isVisible() else ""

    def value_at(self, r: int, c: int, x: int, y: int) -> float | None:
        v = _pg.value_in(self._cells[r][c].image_item, x, y)
        return None if isinstance(v, tuple) else v

    def grab_image(self) -> QtGui.QImage:
        return self._glw.grab().toImage()

    @Slot(object)
    def _on_mouse_moved(self, scene_pos: QtCore.QPointF) -> None:
        for row in self._cells:
            for cell in row:
                px = _pg.item_pixel(cell.image_item, scene_pos)
                if px is None:
                    continue
                v = _pg.value_in(cell.image_item, *px)
                if v is None:
                    continue
                text = f"{cell.name}: {_pg.readout_text(px[0], px[1], v)}" if cell.name else _pg.readout_text(
                    px[0], px[1], v
                )
                self._readout.setText(text)
                self.hovered.emit(text)
                return


def _plain(text: str) -> str:
    """Label html -> plain text (``<br>`` -> space, entities unescaped)."""
    import re

    t = re.sub(r"<br\s*/?>", " ", text or "")
    t = re.sub(r"<[^>]+>", "", t)
    return html.unescape(t).strip()
