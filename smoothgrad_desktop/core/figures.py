"""Annotated figures for papers and scripts: the image and its maps with titles and colour bars, as PNG, SVG or PDF.

One description (:class:`FigureSpec`: a grid of :class:`Cell`, row and column labels, a title and a caption) is
built from results by the ``*_figure`` functions and drawn by :func:`render`. The command line's ``figure``
command and the app's Export both go through here, so a figure is the same wherever it was made.

Drawing uses matplotlib's object-oriented API with its non-interactive backends (Agg for PNG, its own SVG and PDF
writers), never ``pyplot`` and never a GUI toolkit: vector text and colour bars in SVG and PDF, fonts that ship
with matplotlib (so a figure looks the same on every machine), and the maps themselves as exact pixel images.

Map pixels are coloured by :mod:`.visualize` (the same capping and the same colour tables as the app's views and
the ``compute`` PNGs); the colour bar shows the raw values those colours stand for. Scales:

* ``shared``: every map cell has the same span; one colour bar in raw units;
* ``each``: every map cell has its own colour bar in raw units (few cells: the map, the method strip, ...);
* ``relative``: every map cell is capped at its own percentile (the paper's figures); one colour bar from 0 to
  "the cell's own span", and each cell's span is written in the cell.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from . import visualize as vz
from .errors import AttributionError

FORMATS = ("png", "svg", "pdf")
SCALES = ("shared", "each", "relative")
DPI = 200
CELL_INCHES = 1.9


@dataclass
class Cell:
    """One panel: a picture (``rgb``) or a map (``values``, the reduced map in raw units, ``(H, W)``)."""

    title: str = ""
    rgb: np.ndarray | None = None
    values: np.ndarray | None = None
    view: str = "absolute"
    cmap: str | None = None
    percentile: float = 99.0
    clip_mode: str = "percentile"
    span: float | None = None
    """A fixed span (shared or locked scale); ``None``: the cell's own percentile span."""
    note: str = ""
    """Shown instead of a picture when there is nothing to show (e.g. a method the model refuses)."""
    bar_labels: tuple[str, str] | None = None
    """Words for the two ends of this cell's colour bar (signed difference: ``(class 2, class 1)``)."""

    @property
    def is_map(self) -> bool:
        return self.values is not None

    def spans(self) -> tuple[float, float]:
        """``(negative side, positive side)`` spans the colours stand for."""
        assert self.values is not None
        if self.span is not None:
            s = float(self.span) if np.isfinite(self.span) and self.span > 0 else 0.0
            return s, s
        return vz.side_spans(self.values, self.view, self.percentile, mode=self.clip_mode)

    def rgba(self) -> np.ndarray:
        assert self.values is not None
        neg, pos = self.spans()
        capped = vz.cap_with_spans(self.values, self.view, neg, pos)
        return vz.colorize(capped, self.view, self.cmap)


@dataclass
class FigureSpec:
    kind: str
    title: str
    cells: list[list[Cell | None]]
    row_labels: Sequence[str] = ()
    col_labels: Sequence[str] = ()
    caption: str = ""
    scale: str = "each"
    array: np.ndarray | None = None
    """The raw arrays the figure shows (what ``STEM.npy`` holds); ``array_axes`` says what its axes are."""
    array_axes: str = ""
    meta: dict = field(default_factory=dict)
    """Figure-specific provenance (levels, classes, spans ...), merged into ``STEM.json``."""

    def map_cells(self) -> list[Cell]:
        return [c for row in self.cells for c in row if c is not None and c.is_map]


# ----------------------------------------------------------------------------------------------------- render


def _colormap(name: str | None, view: str):
    from matplotlib.colors import ListedColormap

    cm = vz.get_colormap(name, view)
    return ListedColormap(cm.table, name=cm.name)


def _colorbar(fig, ax_or_axes, cell: Cell, *, relative: bool, orientation: str, fraction: float):
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize, TwoSlopeNorm

    neg, pos = cell.spans()
    if relative:
        norm = Normalize(0.0, 1.0) if cell.view == "absolute" else Normalize(-1.0, 1.0)
    elif cell.view == "absolute":
        norm = Normalize(0.0, pos if pos > 0 else 1.0)
    elif neg > 0 and pos > 0 and neg != pos:
        norm = TwoSlopeNorm(0.0, -neg, pos)
    else:
        s = max(neg, pos) or 1.0
        norm = Normalize(-s, s)
    mappable = ScalarMappable(norm=norm, cmap=_colormap(cell.cmap, cell.view))
    bar = fig.colorbar(mappable, ax=ax_or_axes, orientation=orientation, fraction=fraction, pad=0.03, aspect=25)
    bar.ax.tick_params(labelsize=7, length=2)
    locator_ticks = nice_ticks(norm.vmin, norm.vmax, 5 if orientation == "vertical" else 3)
    bar.set_ticks(locator_ticks)
    bar.set_ticklabels([format_tick(t, locator_ticks) for t in locator_ticks])
    if relative:
        bar.set_label("fraction of each cell's span", fontsize=7)
    if cell.bar_labels is not None:
        low, high = cell.bar_labels
        if orientation == "vertical":
            bar.ax.set_title(high, fontsize=7, pad=3)
            bar.ax.set_xlabel(low, fontsize=7, labelpad=3)
        else:
            bar.ax.set_title(f"← {low}      {high} →", fontsize=7, pad=2)
    bar.outline.set_linewidth(0.5)
    return bar


def nice_ticks(lo: float, hi: float, minimum: int = 3) -> list[float]:
    """At least ``minimum`` round tick values covering ``[lo, hi]`` (both ends included when they are round
    enough), for any span from 1e-30 to 1e30: 1-2-5 steps, and 0 whenever the range crosses it."""
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return [lo] if np.isfinite(lo) else [0.0]
    for target in (5, 6, 8, 10, 12, 16):
        raw = (hi - lo) / target
        mag = 10.0 ** np.floor(np.log10(raw))
        step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
        first = np.ceil(lo / step - 1e-9) * step
        ticks = [first + i * step for i in range(int(np.floor((hi - first) / step + 1e-9)) + 1)]
        ticks = [0.0 if abs(t) < step * 1e-9 else float(t) for t in ticks]
        if len(ticks) >= minimum:
            return ticks
    return list(np.linspace(lo, hi, minimum))


def _strip_mantissa(text: str) -> str:
    mantissa, _, exponent = text.partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    if not exponent:
        return mantissa
    sign, digits = (exponent[0], exponent[1:]) if exponent[0] in "+-" else ("", exponent)
    return f"{mantissa}e{'-' if sign == '-' else ''}{digits.lstrip('0') or '0'}"


def format_tick(value: float, ticks: Sequence[float]) -> str:
    """A short label that tells neighbouring ``ticks`` apart: ``0``, ``0.15``, ``2e-4``, ``1.5e6``."""
    if value == 0:
        return "0"
    ordered = sorted(float(t) for t in ticks)
    step = min((b - a for a, b in zip(ordered, ordered[1:]) if b > a), default=abs(value))
    biggest = max(abs(t) for t in ordered) or abs(value)
    step_exp = int(np.floor(np.log10(step)))
    extra = 0 if abs(step / 10.0 ** step_exp - round(step / 10.0 ** step_exp)) < 1e-6 else 1  # 2.5 steps
    if 1e-3 <= biggest < 1e4:
        decimals = min(8, max(0, -step_exp + extra))
        return _strip_mantissa(f"{value:.{decimals}f}")
    digits = min(8, max(0, int(np.floor(np.log10(biggest))) - step_exp + extra))
    return _strip_mantissa(f"{value:.{digits}e}")


def render(spec: FigureSpec, fmt: str) -> bytes:
    """The figure as ``fmt`` (``png``, ``svg`` or ``pdf``) bytes."""
    if fmt not in FORMATS:
        raise AttributionError(f"unknown figure format {fmt!r}; choose one of {', '.join(FORMATS)}")
    from matplotlib.figure import Figure

    rows = len(spec.cells)
    cols = max(len(r) for r in spec.cells)
    maps = spec.map_cells()
    one_bar = spec.scale in ("shared", "relative") and bool(maps)
    # every cell has the same area; the aspect of the first picture decides their shape
    first = next((c for row in spec.cells for c in row if c is not None and (c.rgb is not None or c.is_map)), None)
    aspect = 1.0
    if first is not None:
        h, w = (first.values if first.is_map else first.rgb).shape[:2]
        aspect = min(max(w / h, 1 / 3), 3.0)
    cell_w, cell_h = CELL_INCHES * aspect ** 0.5, CELL_INCHES / aspect ** 0.5
    width = cols * cell_w + (0.9 if one_bar else 0.0) + (0.35 if spec.row_labels else 0.0)
    height = rows * (cell_h + 0.3 + (0.45 if spec.scale == "each" and maps else 0.0)) + 0.45 + (0.25 if spec.caption else 0)
    fig = Figure(figsize=(max(width, 3.0), max(height, 2.2)), dpi=DPI, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_linewidth(0.4)
            cell = spec.cells[r][c] if c < len(spec.cells[r]) else None
            if cell is None:
                ax.set_axis_off()
                continue
            if cell.is_map:
                ax.imshow(cell.rgba(), interpolation="nearest")
                if spec.scale == "relative":
                    neg, pos = cell.spans()
                    ax.text(0.02, 0.02, f"span {format_tick(max(neg, pos), [max(neg, pos)])}", transform=ax.transAxes,
                            fontsize=5.5, color="white", va="bottom", ha="left",
                            bbox={"boxstyle": "square,pad=0.15", "fc": "black", "ec": "none", "alpha": 0.55})
                elif spec.scale == "each":
                    _colorbar(fig, ax, cell, relative=False, orientation="horizontal", fraction=0.06)
            elif cell.rgb is not None:
                ax.imshow(cell.rgb, interpolation="nearest")
            else:
                ax.set_facecolor("#f2f2f2")
                ax.text(0.5, 0.5, cell.note or "—", transform=ax.transAxes, ha="center", va="center", fontsize=6.5,
                        wrap=True)
            if cell.title:
                ax.set_title(cell.title, fontsize=7.5, pad=3)
            if r == 0 and c < len(spec.col_labels) and spec.col_labels[c]:
                ax.set_title(spec.col_labels[c] + (f"\n{cell.title}" if cell.title else ""), fontsize=7.5, pad=3)
            first_in_row = next(i for i, other in enumerate(spec.cells[r]) if other is not None)
            if c == first_in_row and r < len(spec.row_labels) and spec.row_labels[r]:
                ax.set_ylabel(spec.row_labels[r], fontsize=7.5)
    if one_bar:
        _colorbar(fig, axes, maps[0], relative=spec.scale == "relative", orientation="vertical", fraction=0.04)
    if spec.title:
        fig.suptitle(spec.title, fontsize=9)
    if spec.caption:
        fig.supxlabel(spec.caption, fontsize=6.5, color="#333333")
    buffer = io.BytesIO()
    metadata = {"png": {"Software": "SmoothGrad Desktop", "Title": spec.title},
                "svg": {"Title": spec.title, "Creator": "SmoothGrad Desktop", "Date": None},
                "pdf": {"Title": spec.title, "Creator": "SmoothGrad Desktop", "CreationDate": None}}[fmt]
    import matplotlib

    with matplotlib.rc_context({"pdf.fonttype": 42, "svg.hashsalt": "smoothgrad-desktop"}):  # TrueType in PDFs
        fig.savefig(buffer, format=fmt, dpi=DPI, metadata=metadata, facecolor="white")
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------------- builders

AGGREGATION_SHORT = {"smoothgrad": "SmoothGrad", "smoothgrad-sq": "SmoothGrad²", "vargrad": "VarGrad"}


def method_text(method: str, aggregation: str) -> str:
    """``SmoothGrad of the gradient``, ``Integrated Gradients``, ``VarGrad of Guided Backprop``..."""
    from .methods import METHOD_LABELS

    label = METHOD_LABELS.get(method, method)
    if aggregation == "none":
        return label
    return f"{AGGREGATION_SHORT.get(aggregation, aggregation)} of {'the gradient' if method == 'gradient' else label}"


def noise_text(level: float, sigma: float) -> str:
    return f"noise {level * 100:.3g} % (σ = {sigma:.3g})"


def class_text(label: str, index: int, probability: float | None = None) -> str:
    name = f"class {index}" if label in (str(index), f"class {index}") else f"class {index} “{label}”"
    return name if probability is None else f"{name} ({probability * 100:.1f} %)"


def _reduce(attr: np.ndarray, view: str, x: np.ndarray | None, multiply_by_input: bool) -> np.ndarray:
    return vz.reduce_channels(attr, view, input=x, multiply_by_input=multiply_by_input)


def _scale_cells(cells: Sequence[Cell], shared: bool) -> None:
    if shared and cells:
        c0 = cells[0]
        span = vz.shared_span([c.values for c in cells], c0.view, c0.percentile, c0.clip_mode)
        for c in cells:
            c.span = span


def map_figure(expl, *, view: str = "absolute", percentile: float = 99.0, clip_mode: str = "percentile",
               cmap: str | None = None, multiply_by_input: bool = False, span: float | None = None,
               alpha: float = 0.6) -> FigureSpec:
    """The image, its map (with colour bar) and the overlay, all in model-input space."""
    from .views import model_input_pixels

    return map_figure_of(expl.prepared.visible, model_input_pixels(expl), expl.result, expl.target,
                         expl.target_label, expl.top, expl.model.name, view=view, percentile=percentile,
                         clip_mode=clip_mode, cmap=cmap, multiply_by_input=multiply_by_input, span=span, alpha=alpha)


def map_figure_of(visible: np.ndarray, x: np.ndarray, r, target: int, target_label: str, top, model_name: str, *,
                  view: str = "absolute", percentile: float = 99.0, clip_mode: str = "percentile",
                  cmap: str | None = None, multiply_by_input: bool = False, span: float | None = None,
                  alpha: float = 0.6) -> FigureSpec:
    """:func:`map_figure` from host data (what the app keeps of a run): ``visible`` the ``(H, W, 3)`` picture the
    model sees, ``x`` the ``(C, H, W)`` model input, ``r`` the smoothing result, ``top`` the top predictions (for
    the target's probability). ``span`` fixes the scale (the app's locked span); None caps as ``clip_mode`` says."""
    v = _reduce(r.attribution, view, x, multiply_by_input)
    cell = Cell(f"{view} map" + (" × input" if multiply_by_input else ""), values=v, view=view, cmap=cmap,
                percentile=percentile, clip_mode=clip_mode, span=span)
    neg, pos = cell.spans()
    over = vz.overlay(visible, vz.cap_with_spans(v, view, neg, pos), view, cmap, alpha)
    prob = next((p.probability for p in top if p.index == target), None)
    cfg = r.config
    return FigureSpec(
        kind="map", title=f"{method_text(cfg.method, cfg.aggregation)} · {class_text(target_label, target, prob)}",
        cells=[[Cell("input (as the model sees it)", rgb=visible), cell, Cell("overlay", rgb=over)]],
        caption=_caption(model_name, r, view, percentile, clip_mode, span is not None),
        scale="each", array=v, array_axes="(H, W): the channel-reduced map in model-input space, before capping",
        meta={"spans": [max(neg, pos)]},
    )


def _caption(model_name: str, r, view: str, percentile: float, clip_mode: str, fixed: bool) -> str:
    cfg = r.config
    parts = [model_name]
    if cfg.aggregation != "none":
        parts += [noise_text(r.noise_level, r.sigma), f"n = {r.n}", f"seed {cfg.seed}"]
    if cfg.method == "integrated-gradients":
        parts.append(f"{cfg.steps} IG steps")
    scale = "fixed scale" if fixed else (f"capped at P{percentile:g}" + ("" if clip_mode == "percentile"
                                                                           else f" ({clip_mode})"))
    parts.append(f"{view} view, {scale}")
    return " · ".join(parts)


def grid_figure(grid, visible: np.ndarray, *, method: str, target: str, model_name: str, seed: int,
                view: str = "absolute", percentile: float = 99.0, clip_mode: str = "percentile",
                cmap: str | None = None, shared: bool = False, x: np.ndarray | None = None,
                multiply_by_input: bool = False) -> FigureSpec:
    """The σ/n grid (the paper's Figs 3–4): rows are noise levels, columns sample counts. Per-cell scaling (the
    paper's) unless ``shared``."""
    rows = []
    values = []
    for r, level in enumerate(grid.levels):
        row = [Cell(rgb=visible) if r == 0 else None]
        row_values = []
        for c, n in enumerate(grid.ns):
            v = _reduce(grid.maps[r][c], view, x, multiply_by_input)
            row_values.append(v)
            row.append(Cell(values=v, view=view, cmap=cmap, percentile=percentile, clip_mode=clip_mode))
        rows.append(row)
        values.append(row_values)
    spec = FigureSpec(
        kind="grid", title=f"{method_text(method, 'smoothgrad')} · {target}: noise level × samples",
        cells=rows, row_labels=[f"{lv * 100:.3g} %\nσ = {s:.3g}" for lv, s in zip(grid.levels, grid.sigmas)],
        col_labels=["input"] + [f"n = {n}" for n in grid.ns],
        caption=f"{model_name} · seed {seed} · {view} view, " + ("one scale for all cells" if shared else
                                                                   f"each cell capped at its own P{percentile:g}"),
        scale="shared" if shared else "relative", array=np.stack([np.stack(r) for r in values]),
        array_axes="(levels, ns, H, W): the channel-reduced prefix means, model-input space, before capping",
        meta={"levels": list(grid.levels), "ns": list(grid.ns), "sigmas": list(grid.sigmas)},
    )
    _scale_cells(spec.map_cells(), shared)
    spec.meta["spans"] = [max(c.spans()) for c in spec.map_cells()]
    return spec


def strip_figure(entries, visible: np.ndarray, *, target: str, model_name: str, noise_level: float, sigma: float,
                 n: int, seed: int, view: str = "absolute", percentile: float = 99.0, clip_mode: str = "percentile",
                 cmap: str | None = None, shared: bool = False, x: np.ndarray | None = None,
                 multiply_by_input: bool = False) -> FigureSpec:
    """The method strip: ``entries`` are ``(label, result or None, error or None)``."""
    row: list[Cell | None] = [Cell("input", rgb=visible)]
    arrays = []
    for label, result, error in entries:
        if result is None:
            row.append(Cell(label, note=error or "not available"))
            arrays.append(None)
            continue
        v = _reduce(result.attribution, view, x, multiply_by_input)
        arrays.append(v)
        row.append(Cell(label, values=v, view=view, cmap=cmap, percentile=percentile, clip_mode=clip_mode))
    shape = next((a.shape for a in arrays if a is not None), visible.shape[:2])
    stacked = np.stack([a if a is not None else np.full(shape, np.nan, np.float32) for a in arrays])
    cells: list[list[Cell | None]] = [row]
    if len(row) > 5:  # pairs (a method, then its smoothed version) one above the other
        cells = [[row[0], *row[1::2]], [None, *row[2::2]]]
    spec = FigureSpec(
        kind="strip", title=f"Methods · {target}", cells=cells,
        caption=f"{model_name} · {noise_text(noise_level, sigma)} · n = {n} · seed {seed} · {view} view, "
                + ("one scale for all maps" if shared else f"each map capped at its own P{percentile:g}"),
        scale="shared" if shared else "each", array=stacked,
        array_axes="(methods, H, W): channel-reduced maps in model-input space, before capping (NaN: not available)",
        meta={"methods": [e[0] for e in entries], "errors": [e[2] for e in entries]},
    )
    _scale_cells(spec.map_cells(), shared)
    spec.meta["spans"] = [max(c.spans()) if c.is_map else None for c in row[1:] if c is not None]
    return spec


def difference_figure(diff, visible: np.ndarray, *, labels: tuple[str, str], method: str, aggregation: str,
                      model_name: str, noise_level: float, sigma: float, n: int, seed: int,
                      percentile: float = 99.0, cmap_absolute: str | None = None,
                      cmap_signed: str | None = None) -> FigureSpec:
    """Discriminativity (section 4): both classes' maps and ``D`` (see :func:`.experiments.difference_map`)."""
    l1, l2 = labels
    bars = "|M|" if diff.view == "absolute" else "M"
    norm = diff.normalise == "percentile"
    cmap_maps = cmap_absolute if diff.view == "absolute" else cmap_signed

    def scaled(label: str) -> str:
        return f"{bars}({label})" + (" / own P" + f"{percentile:g}" if norm else "")

    cells = [[
        Cell("input", rgb=visible),
        Cell(scaled(l1), values=diff.v1, view=diff.view, cmap=cmap_maps, percentile=percentile),
        Cell(scaled(l2), values=diff.v2, view=diff.view, cmap=cmap_maps, percentile=percentile),
        Cell(f"D = {scaled(l1)} − {scaled(l2)}", values=diff.d, view="signed", cmap=cmap_signed,
             percentile=percentile, bar_labels=(l2, l1)),
    ]]
    return FigureSpec(
        kind="difference", title=f"Class difference: {l1} against {l2} · {method_text(method, aggregation)}",
        cells=cells,
        caption=f"{model_name} · {noise_text(noise_level, sigma)} · n = {n} · seed {seed} · {diff.view} view · "
                + (f"each map divided by its own P{percentile:g} before subtracting" if norm else "raw difference")
                + f" · D > 0: {l1}, D < 0: {l2}",
        scale="each", array=diff.d,
        array_axes="(H, W): D in model-input space after channel reduction (positive: first class)",
        meta={"classes": list(labels), "view": diff.view, "normalise": diff.normalise, "scales": [diff.s1, diff.s2]},
    )


def noise_training_figure(results: dict, visible: np.ndarray, *, target: str, noise_level: float, sigma: float,
                          n: int, seed: int, view: str = "absolute", percentile: float = 99.0,
                          clip_mode: str = "percentile", cmap: str | None = None, shared: bool = False,
                          x: np.ndarray | None = None, multiply_by_input: bool = False) -> FigureSpec:
    """Section 5: {trained clean, trained with noise} × {gradient, SmoothGrad}; ``results`` is
    :func:`.experiments.noise_training_grid`'s dictionary."""
    models = (("clean", "trained clean"), ("noise-trained", "trained with noise"))
    kinds = (("gradient", "Gradient"), ("smoothgrad", "SmoothGrad"))
    cells, arrays = [], []
    for r, (key, _label) in enumerate(models):
        row: list[Cell | None] = [Cell(rgb=visible) if r == 0 else None]
        row_arrays = []
        for kind, _ in kinds:
            v = _reduce(results[(key, kind)].attribution, view, x, multiply_by_input)
            row_arrays.append(v)
            row.append(Cell(values=v, view=view, cmap=cmap, percentile=percentile, clip_mode=clip_mode))
        cells.append(row)
        arrays.append(np.stack(row_arrays))
    spec = FigureSpec(
        kind="noise-training", title=f"Training with noise · {target}", cells=cells,
        row_labels=[label for _, label in models], col_labels=["input"] + [label for _, label in kinds],
        caption=f"embedded MNIST CNNs · SmoothGrad: {noise_text(noise_level, sigma)}, n = {n}, seed {seed} · {view} "
                "view, " + ("one scale for all maps" if shared else f"each map capped at its own P{percentile:g}"),
        scale="shared" if shared else "relative", array=np.stack(arrays),
        array_axes="(model: clean, noise-trained; method: gradient, SmoothGrad; H, W): channel-reduced maps",
    )
    _scale_cells(spec.map_cells(), shared)
    spec.meta["spans"] = [max(c.spans()) for c in spec.map_cells()]
    return spec
