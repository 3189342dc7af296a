"""Export from the GUI: the current map as PNG (native image resolution), the raw map as ``.npy``, a provenance
JSON with exactly the CLI's fields, the grid/strip/other figures as PNG, and "Export all" with an ``index.html``.

Every export is one group of files written by :func:`core.export.write_group`: all files or none (a failure
removes whatever the group had already put in place, and restores what it replaced). Nothing is overwritten
unless the ``confirm`` callback (a question to the user) agrees. This module builds bytes and writes them; the
dialogs live in the main window.
"""

from __future__ import annotations

import html
import json
import logging
import os
import time
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage

from ..core.errors import ExportError
from ..core.export import json_bytes, npy_bytes, png_bytes, write_group
from ..core.outputs import check_not_inputs
from ..core.views import heatmap_rgba, overlay_rgb
from .params import Params

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


def png_text(params: Params) -> dict[str, str]:
    return {"smoothgrad-desktop": f"{params.method}/{params.aggregation}", "Software": "SmoothGrad Desktop"}


def view_record(params: Params, span: float) -> dict:
    """The ``view`` block of the provenance, as the CLI writes it."""
    return {"view": params.view, "percentile": params.percentile, "span": span, "cmap": params.cmap,
            "multiply_by_input": params.multiply_by_input}


def map_pngs(outcome, params: Params) -> tuple[bytes, bytes, float]:
    """(heatmap PNG at the image's native resolution, overlay PNG, span) for an explain outcome."""
    expl = outcome.explanation
    rgba, span = heatmap_rgba(expl, params.view, percentile=params.percentile, cmap=params.cmap,
                              multiply_by_input=params.multiply_by_input)
    over = overlay_rgb(expl, params.view, percentile=params.percentile, cmap=params.cmap, alpha=params.opacity,
                       multiply_by_input=params.multiply_by_input)
    text = png_text(params)
    return png_bytes(rgba, text), png_bytes(over, text), span


def provenance_record(outcome, params: Params, span: float) -> dict:
    """The same fields as ``smoothgrad-desktop compute`` writes (``Explanation.provenance`` + ``view``)."""
    return outcome.explanation.provenance(view=view_record(params, span))


def safe_stem(name: str) -> str:
    stem = Path(name).stem or "image"
    keep = "".join(ch if ch.isalnum() or ch in "-_.() " else "_" for ch in stem).strip(" .")
    return keep or "image"


# ---------------------------------------------------------------------------------------------- file groups


def map_files(path: str | os.PathLike[str], outcome, params: Params) -> dict[Path, bytes]:
    """The map export for ``path`` = ``FOLDER/STEM.png``: ``STEM.png`` (the view at the image's native
    resolution), ``STEM-overlay.png``, ``STEM.npy`` (raw map, float32 (C, H, W), model-input space) and
    ``STEM.json`` (provenance, the CLI's fields)."""
    path = Path(path)
    folder, stem = path.parent, path.stem if path.suffix.lower() == ".png" else path.name
    heat, over, span = map_pngs(outcome, params)
    record = provenance_record(outcome, params, span)
    return {
        folder / f"{stem}.png": heat,
        folder / f"{stem}-overlay.png": over,
        folder / f"{stem}.npy": npy_bytes(outcome.explanation.result.attribution.astype(np.float32)),
        folder / f"{stem}.json": json_bytes(record),
    }


def grid_record(grid_outcome, params: Params) -> dict:
    r = grid_outcome.result
    return {
        "figure": "sigma-n grid (SmoothGrad paper, Figs 3-4): rows noise levels, columns n, prefix means",
        "input": grid_outcome.state.image.name,
        "target": {"index": grid_outcome.target, "label": grid_outcome.state.labels[grid_outcome.target]
                   if grid_outcome.target < len(grid_outcome.state.labels) else str(grid_outcome.target)},
        "method": grid_outcome.config.method,
        "noise_levels": list(r.levels),
        "sigmas": list(r.sigmas),
        "n": list(r.ns),
        "seed": grid_outcome.config.seed,
        "evaluations": r.evaluations,
        "array": "grid.npy: float32 (rows, cols, C, H, W), raw maps in model-input space",
        "view": {"view": params.view, "percentile": params.percentile, "cmap": params.cmap,
                 "multiply_by_input": params.multiply_by_input,
                 "scale": "one shared span for all cells" if params.shared_scale else
                          f"each cell capped at its own {params.percentile:g}th percentile"},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def grid_array(grid_outcome) -> np.ndarray:
    return np.stack([np.stack(row) for row in grid_outcome.result.maps]).astype(np.float32)


def grid_files(path: str | os.PathLike[str], grid_outcome, params: Params, figure: QImage) -> dict[Path, bytes]:
    path = Path(path)
    stem = path.stem if path.suffix.lower() == ".png" else path.name
    return {
        path.parent / f"{stem}.png": qimage_png_bytes(figure),
        path.parent / f"{stem}.npy": npy_bytes(grid_array(grid_outcome)),
        path.parent / f"{stem}.json": json_bytes(grid_record(grid_outcome, params)),
    }


def figure_files(path: str | os.PathLike[str], figure: QImage) -> dict[Path, bytes]:
    path = Path(path)
    if path.suffix.lower() != ".png":
        path = path.with_name(path.name + ".png")
    return {path: qimage_png_bytes(figure)}


FIGURE_TITLES = {
    "grid": ("grid.png", "σ/n grid (rows: noise level, columns: n)"),
    "strip": ("methods.png", "Methods: gradient, SmoothGrad, IG, IG + SmoothGrad, Guided BP, Guided BP + SmoothGrad"),
    "difference": ("class-difference.png", "Class difference M_c1 − M_c2 (signed)"),
    "noise": ("noise-training.png", "Training with noise: clean vs noise-trained model × gradient vs SmoothGrad"),
    "fluctuation": ("fluctuation.png", "Gradient fluctuation along x + tε (paper, Fig 2)"),
    "convergence": ("convergence.png", "Convergence: relative change of the running mean vs n"),
}


def all_files(folder: str | os.PathLike[str], outcome, params: Params, *,
              figures: Mapping[str, QImage] | None = None, grid_outcome=None) -> dict[Path, bytes]:
    """Everything about the current run for one folder, with an ``index.html`` that shows it."""
    folder = Path(folder)
    expl = outcome.explanation
    heat, over, span = map_pngs(outcome, params)
    record = provenance_record(outcome, params, span)
    files: dict[Path, bytes] = {
        folder / "input.png": png_bytes(np.ascontiguousarray(outcome.state.display)),
        folder / "map.png": heat,
        folder / "overlay.png": over,
        folder / "attribution.npy": npy_bytes(expl.result.attribution.astype(np.float32)),
        folder / "provenance.json": json_bytes(record),
    }
    shown: list[tuple[str, str]] = []
    for kind, image in (figures or {}).items():
        if image is None or image.isNull() or kind not in FIGURE_TITLES:
            continue
        name, title = FIGURE_TITLES[kind]
        files[folder / name] = qimage_png_bytes(image)
        shown.append((name, title))
    if grid_outcome is not None:
        files[folder / "grid.npy"] = npy_bytes(grid_array(grid_outcome))
        files[folder / "grid.json"] = json_bytes(grid_record(grid_outcome, params))
    files[folder / "index.html"] = index_html(record, shown, [p.name for p in files]).encode("utf-8")
    return files


def index_html(record: dict, figures: list[tuple[str, str]], file_names: list[str]) -> str:
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
        f'<figure><img src="{e(name)}" alt="{e(title)}"><figcaption>{e(title)}</figcaption></figure>'
        for name, title in figures
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

