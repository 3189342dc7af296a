"""Export from the GUI: the current map as PNG (native image resolution), the raw map as ``.npy``, a provenance
JSON with exactly the CLI's fields and the annotated figure of ``smoothgrad-desktop figure --kind map`` (PNG and
PDF); the grid/strip/other figures as PNG (the screen's picture) with their JSON, plus the ``figure`` command's
annotated PDF for the σ/n grid, Methods, Class difference and Noise training; and "Export all" with an
``index.html``.

Every export is one group of files written by :func:`core.export.write_group`: all files or none (a failure
removes whatever the group had already put in place, and restores what it replaced). Nothing is overwritten
unless the ``confirm`` callback (a question to the user) agrees. The figures are what the screen shows, each with
the parameters of its own result (:class:`~.state.Result`); :class:`ExportActions` holds File > Export… and
Export all….
"""

from __future__ import annotations

import html
import json
import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Mapping

from dataclasses import asdict

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QMessageBox

from ..core import display
from ..core import figures as annotated
from ..core import visualize as vz
from ..core.errors import ExportError, UserFacingError
from ..core.export import json_bytes, npy_bytes, png_bytes, write_group
from ..core.outputs import check_not_inputs
from ..core.params import COMPUTE_FIELDS, Params
from ..core.views import place_on_original
from .tabs import BY_KIND, TABS

log = logging.getLogger(__name__)

Confirm = Callable[[list[Path]], bool]


class ExportCancelled(Exception):
    """The user declined to replace existing files; nothing was written."""


# ---------------------------------------------------------------------------------------------- encoders


def qimage_png_bytes(image: QImage) -> bytes:
    """PNG bytes of a QImage (panel grabs)."""
    if image is None or image.isNull():
        raise ExportError("the figure is empty: nothing to export")
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = image.save(buf, "PNG")
    buf.close()
    if not ok:
        raise ExportError("the figure could not be encoded as PNG")
    return bytes(data.data())


def png_text(config) -> dict[str, str]:
    """The PNG text chunk: the method of the result (its configuration), never the live parameters."""
    return {"smoothgrad-desktop": f"{config.method}/{config.aggregation}", "Software": "SmoothGrad Desktop"}


def view_record(params: Params, span: float) -> dict:
    """The ``view`` block of the provenance, as the CLI writes it; ``span`` is the span the picture was drawn
    with (the clip mode's, or the locked one)."""
    return {"view": params.view, "percentile": params.percentile, "span": span, "cmap": params.cmap,
            "multiply_by_input": params.multiply_by_input}


def map_pngs(outcome, params: Params, locked_span: float | None = None) -> tuple[bytes, bytes, float]:
    """(heatmap PNG at the image's native resolution, overlay PNG, span) for a map outcome, drawn exactly as the
    screen draws it: the display parameters ``params`` (view, percentile, clip mode, colours, opacity) and the
    locked span when there is one."""
    st = outcome.state
    values = display.reduce_map(outcome.explanation.result.attribution, params.view, st, params.multiply_by_input)
    span = display.map_span(values, params, locked_span)
    capped = vz.cap_with_span(values, params.view, span)
    if st.raw:
        rgba = vz.colorize(capped, params.view, params.cmap)
    else:
        h, w = st.display.shape[:2]
        rgba = vz.colorize(place_on_original(capped, st.box, (w, h)), params.view, params.cmap)
        mask = place_on_original(np.ones_like(capped), st.box, (w, h)) > 0.5
        rgba[..., 3] = np.where(mask, rgba[..., 3], 0)
    over = display.overlay(st, values, params.view, percentile=params.percentile, cmap=params.cmap,
                           alpha=params.opacity, span=span, max_side=None)
    text = png_text(outcome.explanation.result.config)
    return png_bytes(rgba, text), png_bytes(over, text), span


FIGURE_FORMATS = ("png", "pdf")
"""The annotated figure the map export adds (``STEM-figure.png`` for slides, ``STEM-figure.pdf`` for papers)."""


def map_figure_spec(outcome, params: Params, locked_span: float | None = None) -> annotated.FigureSpec:
    """The annotated map figure of ``smoothgrad-desktop figure --kind map`` for the result on screen: image, map
    with its colour bar and overlay, titled with the method and class, captioned with model, σ, n and seed, drawn
    with the display parameters (view, percentile, clip mode, colours, multiply-by-input, opacity, locked span)."""
    expl, st = outcome.explanation, outcome.state
    name = expl.record.get("model", {}).get("name", "")
    name = name.get("text", "") if isinstance(name, dict) else str(name)
    return annotated.map_figure_of(
        st.visible, st.x, expl.result, expl.target, expl.target_label, expl.top, name, view=params.view,
        percentile=params.percentile, clip_mode=params.clip_mode, cmap=params.cmap,
        multiply_by_input=params.multiply_by_input, span=locked_span, alpha=params.opacity)


def render_figure(spec: annotated.FigureSpec, fmt: str) -> bytes:
    """``annotated.render`` with any failure of the drawing library as an :class:`ExportError` (one line, and the
    export writes nothing)."""
    try:
        return annotated.render(spec, fmt)
    except UserFacingError:
        raise
    except MemoryError:
        raise ExportError(f"not enough memory to draw the annotated figure as {fmt.upper()}") from None
    except Exception as exc:  # noqa: BLE001 - matplotlib raises many types; none may escape a menu action
        raise ExportError(f"the annotated figure could not be drawn as {fmt.upper()} ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else 'no details'})") from None


def map_figure_files(folder: Path, stem: str, outcome, params: Params,
                     locked_span: float | None = None) -> dict[Path, bytes]:
    spec = map_figure_spec(outcome, params, locked_span)
    return {folder / f"{stem}.{fmt}": render_figure(spec, fmt) for fmt in FIGURE_FORMATS}


ANNOTATED_KINDS = ("grid", "strip", "difference", "noise")
"""Tabs whose export adds the annotated figure of ``smoothgrad-desktop figure`` (as ``STEM-figure.pdf``, the
vector figure for papers; the PNG beside it stays the screen's picture)."""


def tab_figure_spec(kind: str, result, params: Params, panel, model_name: str,
                    locked_span: float | None = None) -> annotated.FigureSpec | None:
    """The annotated figure of the tab ``kind`` for its ``result`` (a :class:`~.state.Result`), drawn with the
    display parameters and the tab's own choices (shared scale, the class difference's normalisation): the
    ``figure`` command's own rendering of the same result: per cell or shared as the tab's box says, or, with
    ``locked_span`` (View ▸ Lock scale), every map cell on that span as the screen draws it (not the class
    difference: D has its own units; its two maps each on their own percentile). ``model_name``: the model that
    computed the result. None for tabs without one."""
    spec = _tab_figure_spec(kind, result, params, panel, model_name, locked_span is not None)
    if spec is not None and locked_span is not None and kind != "difference":
        for cell in spec.map_cells():
            cell.span = float(locked_span)
        spec.meta["spans"] = [max(c.spans()) for c in spec.map_cells()]
        spec.caption += f" (the scale locked at {locked_span:.3g})"
    return spec


def _tab_figure_spec(kind: str, result, params: Params, panel, model_name: str, locked: bool):
    if kind not in ANNOTATED_KINDS or result is None:
        return None
    o = result.outcome
    st, cfg = o.state, o.config
    labels = list(st.labels)
    prob = {p.index: p.probability for p in st.top}
    common = dict(view=params.view, percentile=params.percentile, clip_mode=params.clip_mode, cmap=params.cmap,
                  x=st.x, multiply_by_input=params.multiply_by_input)
    shared = locked or bool(getattr(panel, "shared_scale", False))
    label = (lambda i: labels[i] if 0 <= i < len(labels) else str(i))
    if kind == "difference":
        from ..core import experiments as ex

        diff = ex.difference_map(o.r1.attribution, o.r2.attribution, params.view, normalise=panel.normalisation(),
                                 percentile=params.percentile, input=st.x, multiply_by_input=params.multiply_by_input)
        return annotated.difference_figure(
            diff, st.visible, labels=(annotated.class_text(label(o.c1), o.c1), annotated.class_text(label(o.c2), o.c2)),
            method=cfg.method, aggregation=cfg.aggregation, model_name=model_name, noise_level=o.r1.noise_level,
            sigma=o.r1.sigma, n=o.r1.n, seed=cfg.seed, percentile=params.percentile,
            cmap_absolute=params.cmap_absolute, cmap_signed=params.cmap_signed)
    target = annotated.class_text(label(o.target), o.target, prob.get(o.target))
    if kind == "grid":
        return annotated.grid_figure(o.result, st.visible, method=cfg.method, target=target, model_name=model_name,
                                     seed=cfg.seed, shared=shared, **common)
    if kind == "strip":
        r0 = next((r for _, r, _e in o.entries if r is not None and r.n > 1), None)
        return annotated.strip_figure(o.entries, st.visible, target=target, model_name=model_name,
                                      noise_level=r0.noise_level if r0 else cfg.noise_level,
                                      sigma=r0.sigma if r0 else 0.0, n=r0.n if r0 else cfg.n_samples,
                                      seed=cfg.seed, shared=shared,
                                      **common)
    r = o.results[("clean", "smoothgrad")]
    return annotated.noise_training_figure(o.results, st.visible, target=target, noise_level=r.noise_level,
                                           sigma=r.sigma, n=r.n, seed=cfg.seed, shared=shared, **common)


def provenance_record(outcome, params: Params, span: float) -> dict:
    """The same fields as ``smoothgrad-desktop compute`` writes (the worker's provenance + ``view``)."""
    return outcome.explanation.provenance(view=view_record(params, span))


def safe_stem(name: str) -> str:
    stem = Path(name).stem or "image"
    keep = "".join(ch if ch.isalnum() or ch in "-_.() " else "_" for ch in stem).strip(" .")
    return keep or "image"


# ---------------------------------------------------------------------------------------------- file groups


def map_files(path: str | os.PathLike[str], outcome, params: Params,
              locked_span: float | None = None) -> dict[Path, bytes]:
    """The map export for ``path`` = ``FOLDER/STEM.png``: ``STEM.png`` (the bare view at the image's native
    resolution), ``STEM-overlay.png``, ``STEM.npy`` (raw map, float32 (C, H, W), model-input space),
    ``STEM.json`` (provenance, the CLI's fields) and the annotated figure ``STEM-figure.png`` / ``.pdf`` (what
    ``smoothgrad-desktop figure --kind map`` writes)."""
    path = Path(path)
    folder, stem = path.parent, path.stem if path.suffix.lower() == ".png" else path.name
    heat, over, span = map_pngs(outcome, params, locked_span)
    record = provenance_record(outcome, params, span)
    return {
        folder / f"{stem}.png": heat,
        folder / f"{stem}-overlay.png": over,
        folder / f"{stem}.npy": npy_bytes(outcome.explanation.result.attribution.astype(np.float32)),
        folder / f"{stem}.json": json_bytes(record),
        **map_figure_files(folder, f"{stem}-figure", outcome, params, locked_span),
    }


def figure_record(title: str, result, params: Params, locked_span: float | None,
                  shared_scale: bool | None = None) -> dict:
    """The provenance of one figure: what it shows, for which input, model and target, with the parameters of
    the job that computed it (not the live ones) and the display parameters it was drawn with."""
    o, p = result.outcome, result.params
    st = o.state
    config = getattr(o, "config", None)
    record: dict = {
        "figure": title,
        "input": st.image.name,
        "model": {"spec": p.model, "weights": p.weights or None, "device": p.device},
        "parameters": {f: getattr(p, f) for f in COMPUTE_FIELDS},
        "config": None if config is None else {k: v for k, v in asdict(config).items()},
    }
    if hasattr(o, "c1"):
        record["classes"] = [{"index": c, "label": st.labels[c] if c < len(st.labels) else str(c)}
                             for c in (o.c1, o.c2)]
    elif hasattr(o, "target"):
        record["target"] = {"index": o.target, "label": st.labels[o.target] if o.target < len(st.labels)
                            else str(o.target)}
    record["view"] = {"view": params.view, "percentile": params.percentile, "clip_mode": params.clip_mode,
                      "cmap": params.cmap, "multiply_by_input": params.multiply_by_input,
                      "locked_span": locked_span}
    if shared_scale is not None:  # the tab's own choice (a comparison panel's "Shared colour scale" box)
        record["view"]["scale"] = ("one shared span for all cells" if shared_scale else
                                   f"each cell capped at its own {params.percentile:g}th percentile")
    if result.kind == "grid":
        r = o.result
        record.update({"noise_levels": list(r.levels), "sigmas": list(r.sigmas), "n": list(r.ns),
                       "evaluations": r.evaluations,
                       "array": "grid.npy: float32 (rows, cols, C, H, W), raw maps in model-input space"})
    record["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return record


def grid_array(grid_outcome) -> np.ndarray:
    return np.stack([np.stack(row) for row in grid_outcome.result.maps]).astype(np.float32)


def figure_files(path: str | os.PathLike[str], figure: QImage, record: dict | None = None,
                 array: np.ndarray | None = None) -> dict[Path, bytes]:
    """One figure: ``STEM.png`` and, when given, ``STEM.json`` (its provenance) and ``STEM.npy``."""
    path = Path(path)
    stem = path.stem if path.suffix.lower() == ".png" else path.name
    files = {path.parent / f"{stem}.png": qimage_png_bytes(figure)}
    if array is not None:
        files[path.parent / f"{stem}.npy"] = npy_bytes(array)
    if record is not None:
        files[path.parent / f"{stem}.json"] = json_bytes(record)
    return files


def figures(state, panel_of, convergence) -> dict[str, tuple[str, str, QImage, object | None, bool | None]]:
    """Every tab figure there is to export: ``kind -> (file stem, title, picture, result, shared scale)``, each
    with the result (and so the parameters) that made it and its own tab's colour-scale choice (None where the
    tab has none); the convergence curve has no result of its own."""
    out = {}
    for spec in TABS:
        if spec.kind == "map":
            continue
        result = state.result(spec.kind)
        if result is not None or (spec.kind == "convergence" and convergence.points()):
            panel = panel_of(spec.kind)
            out[spec.kind] = (spec.export_suffix.lstrip("-"), spec.title, panel.grab_image(), result,
                              getattr(panel, "shared_scale", None))
    return out


def tab_files(path: str | os.PathLike[str], kind: str, state, panel_of, convergence) -> dict[Path, bytes]:
    """What "Export" writes for the tab ``kind``: the map's four files, or the figure with its JSON."""
    span = state.locked_span
    if kind == "map":
        if state.outcome("map") is None:
            raise ExportError("no map has been computed yet")
        return map_files(path, state.outcome("map"), state.params, span)
    figure = figures(state, panel_of, convergence).get(kind)
    if figure is None:
        raise ExportError(f"the {BY_KIND[kind].title} figure has not been computed yet")
    _stem, title, image, result, shared = figure
    record = None if result is None else figure_record(title, result, state.params, span, shared)
    files = figure_files(path, image, record, grid_array(result.outcome) if kind == "grid" else None)
    return {**files, **annotated_files(Path(path), kind, state, result, panel_of)}


def annotated_files(path: Path, kind: str, state, result, panel_of) -> dict[Path, bytes]:
    """``STEM-figure.pdf`` for a comparison tab's export at ``path`` (``FOLDER/STEM.png``); nothing for others."""
    spec = tab_figure_spec(kind, result, state.params, panel_of(kind), getattr(result, "model_name", ""),
                           state.locked_span)
    if spec is None:
        return {}
    stem = path.stem if path.suffix.lower() == ".png" else path.name
    return {path.parent / f"{stem}-figure.pdf": render_figure(spec, "pdf")}


def all_files(folder: str | os.PathLike[str], state,
              figs: Mapping[str, tuple[str, str, QImage, object | None, bool | None]],
              panel_of: Callable[[str], object] | None = None) -> dict[Path, bytes]:
    """Everything for one folder, with an ``index.html`` that shows it: the map (the run header) and each figure
    ``kind -> (file stem, title, image, result)`` with its own JSON, written with the parameters of its own
    result."""
    outcome, params, locked_span = state.outcome("map"), state.params, state.locked_span
    if outcome is None:
        raise ExportError("no map has been computed yet")
    folder = Path(folder)
    heat, over, span = map_pngs(outcome, params, locked_span)
    record = provenance_record(outcome, params, span)
    files: dict[Path, bytes] = {
        folder / "input.png": png_bytes(np.ascontiguousarray(outcome.state.display)),
        folder / "map.png": heat,
        folder / "overlay.png": over,
        folder / "attribution.npy": npy_bytes(outcome.explanation.result.attribution.astype(np.float32)),
        folder / "provenance.json": json_bytes(record),
        **map_figure_files(folder, "map-figure", outcome, params, locked_span),
    }
    shown: list[tuple[str, str, dict | None]] = [("map-figure.png", "The map, annotated (map-figure.pdf for print)",
                                                 None)]
    for kind, (stem, title, image, result, shared) in figs.items():
        if image is None or image.isNull():
            continue
        fig = figure_record(title, result, params, locked_span, shared) if result is not None else None
        array = grid_array(result.outcome) if result is not None and kind == "grid" else None
        files.update(figure_files(folder / f"{stem}.png", image, fig, array))
        if panel_of is not None:
            files.update(annotated_files(folder / f"{stem}.png", kind, state, result, panel_of))
        shown.append((f"{stem}.png", title, fig))
    files[folder / "index.html"] = index_html(record, shown, [p.name for p in files]).encode("utf-8")
    return files


def _figure_caption(title: str, fig: dict | None) -> str:
    if fig is None:
        return title
    p = fig["parameters"]
    target = fig.get("target", {}).get("label")
    text = (f"{title} — {fig['input']}, {p['method']}/{p['aggregation']}, noise {p['noise_level'] * 100:g} %, "
            f"n={p['n_samples']}, seed {p['seed']}")
    return text + (f", class {target}" if target is not None else "")


def index_html(record: dict, figures: list[tuple[str, str, dict | None]], file_names: list[str]) -> str:
    e = html.escape
    target = record.get("target", {})
    model = record.get("model", {})
    rows = [
        ("Input", record.get("input", {}).get("name")),
        ("Model", f"{model.get('name')} ({model.get('kind')})"),
        ("Target class", f"{target.get('label')} (index {target.get('index')}, logit {target.get('logit', 0):.4g})"),
        ("Method / aggregation", f"{record.get('method')} / {record.get('aggregation')}"),
        ("Noise", f"{(record.get('noise_level') or 0) * 100:g} % of the input range, σ = {record.get('sigma', 0):.4g}"),
        ("Samples n", record.get("n")),
        ("Seed", record.get("seed")),
        ("Device / batch", f"{record.get('device')} / {record.get('batch_size')}"),
        ("View", json.dumps(record.get("view"), ensure_ascii=False)),
        ("Time", f"{record.get('seconds')} s"),
        ("Created", record.get("created")),
    ]
    if record.get("steps"):
        rows.insert(5, ("IG steps / quadrature", f"{record.get('steps')} / {record.get('quadrature')}"))
    table = "\n".join(f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>" for k, v in rows)
    figs = "\n".join(
        f'<figure><img src="{e(name)}" alt="{e(title)}"><figcaption>{e(_figure_caption(title, fig))}</figcaption>'
        f'</figure>' for name, title, fig in figures
    )
    links = " · ".join(f'<a href="{e(n)}">{e(n)}</a>' for n in file_names + ["index.html"] if n != "index.html") \
        + ' · <a href="index.html">index.html</a>'
    title = f"SmoothGrad Desktop — {record.get('input', {}).get('name', '')}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{e(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; color: #222; }}
.maps {{ display: flex; gap: 1em; flex-wrap: wrap; }}
figure {{ margin: 0 0 1em 0; }}
.maps img {{ width: 280px; image-rendering: pixelated; border: 1px solid #ccc; }}
.figs img {{ max-width: 100%; border: 1px solid #ccc; }}
table {{ border-collapse: collapse; }}
th, td {{ text-align: left; padding: 2px 10px; border-bottom: 1px solid #eee; vertical-align: top; }}
pre {{ background: #f6f6f6; padding: 1em; overflow: auto; font-size: 85%; }}
</style>
</head>
<body>
<h1>{e(title)}</h1>
<div class="maps">
<figure><img src="input.png" alt="input image"><figcaption>Input</figcaption></figure>
<figure><img src="map.png" alt="map"><figcaption>Map ({e(str(record.get('view', {}).get('view')))} view)</figcaption></figure>
<figure><img src="overlay.png" alt="overlay"><figcaption>Overlay</figcaption></figure>
</div>
<h2>Run</h2>
<table>
{table}
</table>
<div class="figs">
{figs}
</div>
<h2>Files</h2>
<p>{links}</p>
<h2>Provenance</h2>
<pre>{e(json.dumps(record, indent=2, ensure_ascii=False, default=str))}</pre>
</body>
</html>
"""


# ---------------------------------------------------------------------------------------------- writing


def existing(files: Mapping[Path, bytes]) -> list[Path]:
    return [p for p in files if os.path.lexists(p)]


def write_files(files: Mapping[Path, bytes], confirm: Confirm | None = None,
                protected: Iterable[str | os.PathLike[str] | None] = ()) -> list[Path]:
    """Write the group all-or-nothing. Existing targets are replaced only when ``confirm(existing)`` says so,
    else :class:`ExportCancelled`. A target that is one of ``protected`` (the app's inputs: images, model and
    weights files) is refused before anything is asked or written (:func:`core.outputs.check_not_inputs`).
    Failures raise :class:`ExportError` (one line) and leave nothing behind."""
    if not files:
        raise ExportError("nothing to export")
    check_not_inputs(files, [p for p in protected if p is not None])
    present = existing(files)
    for p in present:
        if os.path.isdir(p):
            raise ExportError(f"{p} is a folder; choose another name")
    if present and (confirm is None or not confirm(present)):
        raise ExportCancelled()
    folders = {p.parent for p in files}
    for folder in folders:
        if not folder.is_dir():
            raise ExportError(f"cannot write into {folder}: the folder does not exist")
    paths = write_group(dict(files), overwrite=bool(present))
    log.info("exported %d files: %s", len(paths), ", ".join(str(p) for p in paths))
    return paths


def write_all(folder: str | os.PathLike[str], build: Callable[[Path], dict[Path, bytes]],
              confirm: Confirm | None = None, protected: Iterable[str | os.PathLike[str] | None] = ()) -> list[Path]:
    """Create ``folder`` if needed and write ``build(folder)`` into it; a folder this call created is removed
    again when the export fails or is declined, so nothing partial is left."""
    folder = Path(folder)
    created = False
    if not folder.exists():
        try:
            folder.mkdir(parents=False)
        except OSError as exc:
            raise ExportError(f"cannot create folder {folder}: {exc.strerror or exc}") from exc
        created = True
    elif not folder.is_dir():
        raise ExportError(f"{folder} exists and is not a folder")
    try:
        return write_files(build(folder), confirm, protected)
    except BaseException:
        if created:
            try:
                folder.rmdir()
            except OSError:
                pass
        raise


def default_stem(outcome) -> str:
    expl = outcome.explanation
    return f"{safe_stem(expl.image.name)}-{expl.result.config.method}-{expl.result.config.aggregation}"



def inputs(images, state) -> list:
    """Every file the app reads (open images, model and weights files): exports never write over them."""
    info = state.model_info
    return [e.path for e in images.entries() if e.path is not None] + \
        [getattr(info, "weights_path", None) if info is not None else None]


@contextmanager
def _busy():
    """A wait cursor while files are drawn (restored on errors too)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


class ExportActions(QObject):
    """File > Export… (the current tab) and Export all… (a folder): dialogs, writing, one-line failures."""

    status = Signal(str, int)
    error = Signal(str)

    def __init__(self, parent, settings, state, panel_of, convergence, *, tab: Callable[[], str],
                 inputs: Callable[[], list], confirm: Confirm) -> None:
        super().__init__(parent)
        self.window, self.settings, self.state = parent, settings, state
        self.panel_of, self.convergence, self.tab, self.inputs, self.confirm = panel_of, convergence, tab, inputs, confirm

    def export_to(self, path: str | os.PathLike[str], kind: str | None = None) -> list[Path]:
        """Export a tab (the current one) to ``path``. Raises ExportError / ExportCancelled."""
        with _busy():  # drawing the annotated figures takes a second or two; the question below is not busy
            files = tab_files(path, kind or self.tab(), self.state, self.panel_of, self.convergence)
        return write_files(files, self.confirm, self.inputs())

    def export_all_to(self, folder: str | os.PathLike[str]) -> list[Path]:
        figs = figures(self.state, self.panel_of, self.convergence)

        def build(d: Path) -> dict[Path, bytes]:
            with _busy():
                return all_files(d, self.state, figs, self.panel_of)

        return write_all(folder, build, self.confirm, self.inputs())

    def _stem(self) -> str:
        outcome = self.state.outcome("map")
        return default_stem(outcome) if outcome is not None else "smoothgrad"

    def export_dialog(self) -> None:
        kind = self.tab()
        spec = BY_KIND[kind]
        what = ("map (PNG, overlay PNG, .npy, .json and the annotated figure)" if kind == "map" else
                "figure (PNG, .json" + (" and the annotated PDF)" if kind in ANNOTATED_KINDS else ")"))
        path, _ = QFileDialog.getSaveFileName(
            self.window, f"Export the {spec.title} {what}",
            str(Path(self.settings.folder("export")) / f"{self._stem()}{spec.export_suffix}.png"),
            "PNG image (*.png)", options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.run(lambda: self.export_to(path, kind), Path(path).parent, "export")

    def export_all_dialog(self) -> None:
        if self.state.outcome("map") is None:
            self.error.emit("nothing to export yet: no map has been computed")
            return
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export all to a folder (created if new)",
            str(Path(self.settings.folder("export_all")) / f"{self._stem()}-export"), "Folder (*)",
            options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.run(lambda: self.export_all_to(path), Path(path).parent, "export_all")

    def run(self, action, folder: Path, dialog: str = "export") -> None:
        try:
            paths = action()
        except ExportCancelled:
            self.status.emit("Export cancelled: nothing was written", 5000)
            return
        except (ExportError, UserFacingError, OSError) as exc:
            self.error.emit(f"export failed, nothing was written: {exc}")
            QMessageBox.warning(self.window, "Export failed", f"Nothing was written.\n\n{exc}")
            return
        self.settings.set_last_export_folder(folder)
        self.settings.set_folder(dialog, folder)
        self.status.emit(f"Exported {len(paths)} file(s) to {paths[0].parent if paths else folder}", 8000)
