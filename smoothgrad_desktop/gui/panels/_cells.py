"""A grid of map cells in one pyqtgraph scene, on one shared colour scale or each on its own (internal base of the
comparison panels).

``CellGrid`` is the common base of :class:`~.grid.GridPanel`, :class:`~.strip.StripPanel` and
:class:`~.noise_training.NoiseTrainingPanel`. It lays out, in a single ``pg.GraphicsLayoutWidget``: optional row
labels (left), column labels (top), ``nrows x ncols`` cells (a ``ViewBox`` with locked aspect and inverted y,
holding one ``ImageItem`` and, for an error, a centred text inside the cell) and one ``pg.ColorBarItem`` legend on the
right spanning all rows, headed "shared" or "per cell". All cells show raw values with one lookup table (see
``_pg``). The scale:

* **shared** (``shared=True``): one span for every cell -- a locked float, or with ``span=None``
  core ``shared_span`` over every map currently shown (recomputed as cells are filled progressively); the colour
  bar is labelled with round ticks (``_pg.set_bar_ticks``: at least three at any span);
* **per cell** (``shared=False``, the paper's own figures): each cell capped at its own percentile (core
  ``compute_span`` of that cell); the colour bar then reads 0 .. P99 (signed: −P99 .. +P99) of each cell.
  A locked ``span`` still applies to every cell.

The choice belongs to the panel instance: a "Shared colour scale" box in the panel's own control row (``scale_check``;
the class's ``DEFAULT_SHARED`` is where a new panel starts: per cell for the σ/n grid, shared for the others) and
``set_shared_scale``; ``shared=None`` in the setters keeps it. Signal ``shared_scale_changed(bool)`` when the user
ticks the box. The row also holds a "?" button (``help_button``) opening the panel's guide page (``HELP_PAGE``);
``set_controls_visible(False)`` hides the row (thumbnails inside another panel).

The figure's height is capped at what the cells need at their width (so a width-limited figure is not drawn as
tall empty boxes; the spare height goes below it). ``_build(..., flow_cols=k)`` wraps one logical row onto rows of
``k`` cells, each labelled (the method strip chooses ``k`` with ``_best_flow`` so its cells are as large as the
panel allows).

Cells' views are linked (zoom/pan one, all follow). Long column labels are wrapped onto two lines
(:func:`wrap_label`) and columns shrink equally with the widget, so a row of six methods fits.

Protected API used by subclasses: ``_build``, ``_set_cell``, ``_set_scale``, ``_rescale``, ``_cells``.
Public API inherited by the panels: ``hovered = Signal(str)`` (e.g. ``"10 % / n = 5: x=3 y=4 value=0.12"``),
``span`` (the shared span of the current levels; None when empty or per cell), ``cell_span(r, c)`` (the span
behind one cell's levels), ``shared_scale`` / ``set_shared_scale(bool)``, ``image_item(r, c)``,
``view_box(r, c)``, ``cell_text(r, c)``, ``value_at(r, c, x, y)``, ``grab_image() -> QImage`` (the whole figure),
``graphics_widget``, ``color_bar``, ``scale_label`` (the text above the colour bar).
"""

from __future__ import annotations

import html

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Signal, Slot

from ...core import visualize as vz
from . import _controls, _pg
from ._pg import pg

ERROR_COLOR = "#c0392b"
WRAP_AT = 12  # column labels longer than this (characters) are wrapped onto two lines


def wrap_label(text: str, width: int = WRAP_AT) -> str:
    """LabelItem html for a column label: escaped, and broken at the space nearest its middle when longer than
    ``width`` (``"Guided BP + SmoothGrad"`` -> ``"Guided BP +<br>SmoothGrad"``)."""
    text = str(text)
    if len(text) <= width or " " not in text:
        return html.escape(text)
    mid = len(text) / 2.0
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    cut = min(spaces, key=lambda i: (abs(i - mid), i))
    return html.escape(text[:cut]) + "<br>" + html.escape(text[cut + 1:])


def ordinal(p: float) -> str:
    """``99`` -> ``"99th"``, ``91`` -> ``"91st"``, ``99.5`` -> ``"99.5th"``."""
    text = f"{float(p):g}"
    if "." in text or "e" in text:
        return text + "th"
    n = int(text)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class _RowLabel(pg.LabelItem):
    """A right-justified row label, vertically centred on its row (``LabelItem`` keeps text at the top)."""

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        dy = self.rect().center().y() - self.itemRect().center().y()
        if dy:
            self.item.setPos(self.item.pos().x(), self.item.pos().y() + dy)


class _Cell:
    __slots__ = ("view_box", "image_item", "text_item", "values", "error", "shape", "name", "span")

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
        self.span: float | None = None

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
    shared_scale_changed = Signal(bool)  # the user ticked or unticked this panel's "Shared colour scale"

    DEFAULT_SHARED = True  # subclasses: the scale a new panel starts with
    HELP_PAGE: str | None = None  # subclasses: the guide page its "?" opens

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
        self._scale_label: pg.LabelItem | None = None
        self._structure: tuple | None = None
        self._shared = bool(self.DEFAULT_SHARED)

        self._view = "absolute"
        self._cmap: str | None = None
        self._span_arg: float | None = None
        self._percentile = 99.0
        self._span: float | None = None
        self._mode = "percentile"  # core CLIP_MODES: how spans are found (set_clip_mode)

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
        self._controls = QtWidgets.QHBoxLayout()
        self._controls.setContentsMargins(4, 0, 4, 0)
        self._scale_check = _controls.scale_check(self._shared)
        self._scale_check.toggled.connect(self._on_scale_check)
        self._controls.addWidget(self._scale_check)
        self._controls.addStretch(1)
        self._help = _controls.help_button(self.HELP_PAGE) if self.HELP_PAGE else None
        if self._help is not None:
            self._controls.addWidget(self._help)
        self._top.addLayout(self._controls)
        box.addLayout(self._top)
        box.addWidget(self._glw, 1)
        box.addWidget(self._readout)
        box.addStretch(0)  # takes what the figure does not need (see _fit_height)
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
        flow_cols: int | None = None,
    ) -> None:
        """(Re)build the layout; all cells empty. Reuses nothing (a fresh GraphicsLayout replaces the old one).

        ``flow_cols`` (one logical row only, e.g. the method strip): the cells wrap onto several rows of
        ``flow_cols`` cells, each with its label above it, so six methods can be shown 3x2 and grow with the panel.
        """
        fg = self._fg
        layout = pg.GraphicsLayout()
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        self._glw.setCentralItem(layout)
        self._layout = layout
        ql = layout.layout  # the QGraphicsGridLayout
        flow = flow_cols is not None and nrows == 1 and ncols > 0
        fc = max(1, min(int(flow_cols), ncols)) if flow else ncols
        prows = -(-ncols // fc) if flow else nrows

        c0 = 1 if row_labels is not None else 0
        r0 = 1 if col_labels is not None else 0

        def label_pos(c: int) -> tuple[int, int]:
            return ((2 * (c // fc), c % fc) if flow else (0, c0 + c))

        def cell_pos(r: int, c: int) -> tuple[int, int]:
            if flow:
                return (2 * (c // fc) + (1 if col_labels is not None else 0), c % fc)
            return (r0 + r, c0 + c)

        self._col_labels = []
        if col_labels is not None:
            for c, text in enumerate(col_labels):
                lab = pg.LabelItem(wrap_label(text), color=fg, size="10pt")
                row, col = label_pos(c)
                layout.addItem(lab, row=row, col=col)
                ql.setRowStretchFactor(row, 0)
                lab.setMaximumHeight(lab.minimumHeight())  # label rows never take the cells' height
                self._col_labels.append(lab)
        self._row_labels = []
        if row_labels is not None and not flow:
            for r, text in enumerate(row_labels):
                lab = _RowLabel(text, color=fg, size="10pt", justify="right")
                layout.addItem(lab, row=r0 + r, col=0)
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
                row, col = cell_pos(r, c)
                layout.addItem(cell.view_box, row=row, col=col)
                ql.setRowStretchFactor(row, 1)
                ql.setColumnStretchFactor(col, 1)
                row_cells.append(cell)
            self._cells.append(row_cells)
        first_col = 0 if flow else c0
        # equal cell columns, however long the (wrapped) column labels are; they shrink together with the widget
        widest = max([lab.minimumWidth() for lab in self._col_labels] + [40.0])
        for c in range(fc):
            ql.setColumnMinimumWidth(first_col + c, min(widest, 90.0) if flow else widest)
            ql.setColumnPreferredWidth(first_col + c, widest)
        first = self._cells[0][0].view_box if nrows and ncols else None
        for row_cells in self._cells:
            for cell in row_cells:
                if first is not None and cell.view_box is not first:
                    _pg.link_views(first, cell.view_box)

        self._cbar = None
        self._scale_label = None
        bar_col = first_col + fc
        if colorbar and nrows and ncols:
            self._cbar = _pg.new_color_bar(fg)
            top = 1 if (flow and col_labels is not None) else r0
            span_rows = (2 * prows - (1 if col_labels is not None else 0)) if flow else nrows
            layout.addItem(self._cbar, row=top, col=bar_col, rowspan=max(1, span_rows))
            ql.setColumnStretchFactor(bar_col, 0)
            self._cbar.setVisible(False)
            if top:
                self._scale_label = pg.LabelItem("", color=fg, size="8pt")
                layout.addItem(self._scale_label, row=0, col=bar_col)
                ql.setAlignment(self._scale_label, QtCore.Qt.AlignmentFlag.AlignBottom)
        self._phys = (prows, fc, prows if (flow and col_labels is not None) else r0)
        self._span = None
        self._readout.setText("")
        self._fit_height()

    # -- height ------------------------------------------------------------------------------------------------
    def _label_height(self) -> float:
        return max([lab.minimumHeight() for lab in self._col_labels], default=0.0)

    def _cell_width_for(self, ncols: int, width: float) -> float:
        spacing = 3.0
        label_w = max([lab.minimumWidth() for lab in self._row_labels], default=0.0)
        bar_w = float(self._cbar.maximumWidth()) if self._cbar is not None else 0.0
        extra_cols = (1 if self._row_labels else 0) + (1 if self._cbar is not None else 0)
        return (width - 8.0 - label_w - bar_w - spacing * (ncols - 1 + extra_cols)) / ncols

    def _aspect(self) -> float:
        """The tallest map's height / width (the last one known while the cells are empty)."""
        shapes = [cell.shape for row in self._cells for cell in row if cell.shape]
        if shapes:
            self._known_aspect = max(h / w for h, w in shapes)
        return getattr(self, "_known_aspect", 1.0)

    def _fit_height(self) -> None:
        """Cap the figure's height at what its cells need at their width (the widest map's aspect), so a row
        limited by the width is not drawn as tall empty boxes; the spare height goes below the figure."""
        unlimited = 16777215  # QWIDGETSIZE_MAX
        if not self._cells or not self._cells[0] or self.width() < 50:
            self._glw.setMaximumHeight(unlimited)
            return
        prows, pcols, label_rows = getattr(self, "_phys", (len(self._cells), len(self._cells[0]), 0))
        spacing = 3.0
        cell_w = self._cell_width_for(pcols, self.width())
        label_h = self._label_height()
        need = 8.0 + label_rows * (label_h + spacing) + prows * cell_w * self._aspect()
        need += spacing * (prows - 1) + 4.0
        self._glw.setMaximumHeight(max(self._glw.minimumHeight(), int(need)))

    def _best_flow(self, n: int) -> int:
        """The number of columns (1..n) that shows ``n`` labelled cells largest in this widget."""
        if n <= 1 or self.width() < 50 or self.height() < 50:
            return max(1, n)
        avail_h = float(self.height() - self._readout.height() - self._top.sizeHint().height() - 4)
        label_h = self._label_height() or 30.0
        aspect = self._aspect()
        best, best_size = n, -1.0
        for cols in range(n, 0, -1):  # ties keep more columns (one row reads best)
            rows = -(-n // cols)
            if rows > 1 and (rows - 1) * cols >= n:
                continue
            cw = self._cell_width_for(cols, float(self.width()))
            ch = (avail_h - 8.0 - rows * (label_h + 3.0) - 3.0 * (rows - 1)) / rows
            size = min(cw, ch / aspect)
            if size > best_size * 1.02:
                best, best_size = cols, size
        return best

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self._fit_height()

    # -- scale -------------------------------------------------------------------------------------------------
    def _set_scale(
        self, view: str, span: float | None, percentile: float, cmap: str | None, shared: bool | None = None
    ) -> None:
        """Validate and store the scale settings; ``shared=None`` keeps the current shared/per-cell choice."""
        _pg.levels_for(view, span)  # validates the view
        _pg.resolve_cmap(cmap, view)  # validates the colour map
        if percentile is not None and not (0.0 < float(percentile) <= 100.0):
            raise ValueError(f"percentile must be in (0, 100], got {percentile}")
        self._view = view
        self._span_arg = None if span is None else float(span)
        self._percentile = float(percentile)
        self._cmap = cmap
        if shared is not None:
            self._shared = bool(shared)
            self._sync_check()

    @property
    def shared_scale(self) -> bool:
        """True: one colour scale for every cell; False: each cell capped at its own percentile."""
        return self._shared

    @property
    def clip_mode(self) -> str:
        return self._mode

    def set_clip_mode(self, mode: str) -> None:
        """How spans are found (core ``CLIP_MODES``: percentile, cumulative, two-tailed); re-levels what is shown."""
        if mode not in vz.CLIP_MODES:
            raise ValueError(f"unknown clip mode {mode!r}; expected one of {vz.CLIP_MODES}")
        if mode != self._mode:
            self._mode = mode
            self._rescale()

    def set_shared_scale(self, shared: bool) -> None:
        """Switch between one shared scale and a per-cell scale, re-levelling what is shown (no new data)."""
        if bool(shared) != self._shared:
            self._shared = bool(shared)
            self._sync_check()
            self._rescale()

    def set_controls_visible(self, visible: bool) -> None:
        """Show or hide the row with the scale box and the "?" button (e.g. for thumbnails inside another panel)."""
        self._scale_check.setVisible(visible)
        if self._help is not None:
            self._help.setVisible(visible)

    @property
    def scale_check(self) -> QtWidgets.QCheckBox:
        """This panel's own "Shared colour scale" box."""
        return self._scale_check

    @property
    def help_button(self) -> QtWidgets.QToolButton | None:
        return self._help

    def _sync_check(self) -> None:
        if self._scale_check.isChecked() != self._shared:
            blocker = QtCore.QSignalBlocker(self._scale_check)
            self._scale_check.setChecked(self._shared)
            del blocker

    @Slot(bool)
    def _on_scale_check(self, checked: bool) -> None:
        if bool(checked) != self._shared:
            self.set_shared_scale(bool(checked))
            self.shared_scale_changed.emit(bool(checked))

    def _rescale(self) -> None:
        """Apply the span(s) to every cell and the colour bar: one shared span (locked, or core shared_span over
        all shown maps) or, per cell, core compute_span of each cell."""
        maps = [cell.values for row in self._cells for cell in row if cell.values is not None]
        cm = _pg.resolve_cmap(self._cmap, self._view)
        per_cell = not self._shared and self._span_arg is None
        if not maps:
            self._span = None
            for row in self._cells:
                for cell in row:
                    cell.span = None
            if self._cbar is not None:
                self._cbar.setVisible(False)
            self._set_scale_label("")
            return
        if per_cell:
            self._span = None
            for row in self._cells:
                for cell in row:
                    if cell.values is None:
                        cell.span = None
                        continue
                    cell.span = _pg.effective_span(vz.compute_span(cell.values, self._view, self._percentile,
                                                                   mode=self._mode))
                    _pg.set_levels(cell.image_item, self._view, cell.span, cm)
            levels = _pg.levels_for(self._view, 1.0)
        else:
            span = _pg.effective_span(_pg.resolve_span(maps, self._view, self._span_arg, self._percentile,
                                                       self._mode))
            self._span = span
            levels = _pg.levels_for(self._view, span)
            for row in self._cells:
                for cell in row:
                    cell.span = span if cell.values is not None else None
                    if cell.values is not None:
                        _pg.set_levels(cell.image_item, self._view, span, cm)
        if self._cbar is not None:
            self._cbar.setColorMap(_pg.pg_colormap(cm))
            self._cbar.setLevels(levels)
            axis = self._cbar.axis
            if per_cell:
                p = f"P{self._percentile:g}"
                ticks = [(0.0, "0"), (1.0, p)] if self._view == "absolute" else [(-1.0, f"−{p}"), (0.0, "0"),
                                                                                   (1.0, f"+{p}")]
                axis.setTicks([ticks])
            else:
                _pg.set_bar_ticks(self._cbar, *levels)
            self._cbar.setToolTip(
                f"Per cell: each cell is capped at its own {ordinal(self._percentile)} percentile (P"
                f"{self._percentile:g}), so cells are not comparable in brightness." if per_cell else
                "One colour scale for every cell: equal colours mean equal values.")
            self._cbar.setVisible(True)
        self._set_scale_label("per cell" if per_cell else "shared")

    def _set_scale_label(self, text: str) -> None:
        if self._scale_label is not None:
            self._scale_label.setText(text, color=self._fg)

    @property
    def scale_label(self) -> str:
        """The text above the colour bar: "shared", "per cell" or "" (nothing shown)."""
        return self._scale_label.text if self._scale_label is not None else ""

    def cell_span(self, r: int, c: int) -> float | None:
        """The span behind cell ``(r, c)``'s levels (None when the cell is empty)."""
        return self._cells[r][c].span

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
                self._fit_height()
        cell.set_error(error)

    def _clear_cells(self) -> None:
        for row in self._cells:
            for cell in row:
                self._set_cell_empty(cell)
        self._span = None
        if self._cbar is not None:
            self._cbar.setVisible(False)
        self._set_scale_label("")
        self._readout.setText("")

    def _set_cell_empty(self, cell: _Cell) -> None:
        cell.values = None
        cell.span = None
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
