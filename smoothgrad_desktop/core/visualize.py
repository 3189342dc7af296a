"""From a raw attribution to pixels: channel reduction, capping, colour maps, overlays (numpy and Pillow only).

The conventions (see ``docs``/the semantics guide, section "Display"):

* **Channel reduction** of an attribution ``a`` of shape ``(C, H, W)``:
  absolute view ``v = sum_c |a_c|`` (the PAIR convention), signed view ``v = sum_c a_c``.
  Captum's visualiser reduces to ``|sum_c a_c|`` instead, which is a different picture; we do not.
  With *multiply by input* the attribution is replaced by ``a * x`` first (so black pixels can never show).
* **Capping** at a percentile ``p`` (default 99): absolute ``v' = clip(v / P_p(v), 0, 1)``; signed
  ``span = P_p(|v|)``, ``v' = clip(v / span, -1, 1)``, so zero stays at the centre of a diverging colour map.
  Other span rules (``mode``): ``"cumulative"`` (Captum's cumulative-sum threshold) and ``"two-tailed"``
  (signed view: each sign scaled by its own percentile, zero still at the centre).
  A span that is zero or not finite (an all-zero map) gives an all-zero capped map and span ``0.0``.
  NaN values become 0 in the capped map; +-inf saturate at the bounds; the span ignores non-finite values.
* **Colour**: absolute maps use a sequential colour map over ``[0, 1]``, signed maps a diverging one over
  ``[-1, 1]`` with 0 at exactly the centre colour. Colouring interpolates linearly between LUT entries on a
  4081-entry table (``16 * 255 + 1``) whose every 16th entry is an original LUT entry (so a value is placed to
  within 1/32 of a LUT step before rounding to uint8), and ``-1``/``0``/``+1``
  give exactly the first entry, the midpoint of entries 127 and 128 (:attr:`Colormap.centre`) and the last
  entry. Using a sequential map with the signed view (or a diverging map with the absolute view) is allowed:
  the map's whole range is then spread over the view's range (``[-1, 1]`` resp. ``[0, 1]``).
* **Overlay**: the capped map, resized back to the image size, coloured and alpha-blended over the image,
  by default weighted by ``|v'|`` so that zero attribution leaves the image untouched.

Nothing here imports Qt or torch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

__all__ = [
    "VIEWS",
    "CLIP_MODES",
    "Colormap",
    "COLORMAPS",
    "DEFAULT_SEQUENTIAL",
    "DEFAULT_DIVERGING",
    "COLOR_BLIND_SAFE",
    "default_cmap",
    "get_colormap",
    "colormap_names",
    "reduce_channels",
    "compute_span",
    "cap",
    "cap_with_span",
    "shared_span",
    "colorize",
    "resize_map",
    "overlay",
    "render_view",
    "histogram",
]

VIEWS = ("absolute", "signed")
CLIP_MODES = ("percentile", "cumulative", "two-tailed")

LUT_SIZE = 256
# Colouring table: 16 * 255 + 1 entries, entry 16*i == LUT entry i, entry 2040 == midpoint of entries 127 and 128.
_FINE_STEPS = 16
_FINE_SIZE = _FINE_STEPS * (LUT_SIZE - 1) + 1

# Inferno, not the paper's grey: a grey map blended over a grey/white image (MNIST) is unreadable in the overlay;
# grey stays available (``--cmap grey``, the GUI's colour list).
DEFAULT_SEQUENTIAL = "inferno"
DEFAULT_DIVERGING = "CET-D1A"
COLOR_BLIND_SAFE = "CET-CBD1"


# --------------------------------------------------------------------------------------------------------------
# Colour maps
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Colormap:
    """A colour map: ``table`` (256, 3) floats in [0, 1] and its ``lut`` (256, 3) uint8 (``round(255 * table)``)."""

    name: str
    kind: str  # 'sequential' | 'diverging'
    description: str
    table: np.ndarray = field(repr=False)
    lut: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in ("sequential", "diverging"):
            raise ValueError(f"unknown colour map kind {self.kind!r}")
        table = np.array(self.table, dtype=np.float64)
        if table.shape != (LUT_SIZE, 3):
            raise ValueError(f"colour map table must be ({LUT_SIZE}, 3), got {table.shape}")
        table = np.clip(table, 0.0, 1.0)
        table.setflags(write=False)
        lut = _to_uint8(table)
        lut.setflags(write=False)
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "lut", lut)

    @cached_property
    def fine(self) -> np.ndarray:
        """The (4081, 3) uint8 colouring table: linear interpolation of ``table`` at positions ``0, 1/16, ... 255``."""
        pos = np.linspace(0.0, LUT_SIZE - 1, _FINE_SIZE)  # exact multiples of 1/16
        idx = np.arange(LUT_SIZE, dtype=np.float64)
        fine = np.stack([np.interp(pos, idx, self.table[:, c]) for c in range(3)], axis=1)
        out = _to_uint8(fine)
        out.setflags(write=False)
        return out

    @property
    def centre(self) -> np.ndarray:
        """The colour of the centre of the map (position 127.5: the midpoint of entries 127 and 128), uint8 RGB."""
        return self.fine[(_FINE_SIZE - 1) // 2].copy()

    def color_at(self, x: float | np.ndarray) -> np.ndarray:
        """Colour(s) at relative position(s) ``x`` in [0, 1] (clipped; NaN -> 0), uint8 RGB, shape ``x.shape + (3,)``."""
        x = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0)
        idx = np.rint(np.clip(x, 0.0, 1.0) * (_FINE_SIZE - 1)).astype(np.intp)
        return self.fine[idx]


def _to_uint8(x: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] -> uint8, rounding half up (not to even)."""
    return np.floor(np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


# name -> (kind, description, CSV file or None for generated)
_SPECS: dict[str, tuple[str, str, str | None]] = {
    "grey": ("sequential", "Grey: black to white, as in the SmoothGrad paper", None),
    "viridis": ("sequential", "Viridis: perceptually uniform, colour-blind safe (matplotlib, CC0)", "viridis.csv"),
    "inferno": ("sequential", "Inferno: black-red-yellow, perceptually uniform (matplotlib, CC0)", "inferno.csv"),
    "CET-L3": ("sequential", "CET-L3 fire: black-red-yellow-white (Peter Kovesi, CC BY 4.0)", "CET-L3.csv"),
    "CET-CBL2": (
        "sequential",
        "CET-CBL2: black-blue-white, colour-blind safe (Peter Kovesi, CC BY 4.0)",
        "CET-CBL2.csv",
    ),
    "CET-D1A": (
        "diverging",
        "CET-D1A: dark blue-white-dark red, zero at the centre (Peter Kovesi, CC BY 4.0)",
        "CET-D1A.csv",
    ),
    "CET-D1": ("diverging", "CET-D1: blue-white-red, zero at the centre (Peter Kovesi, CC BY 4.0)", "CET-D1.csv"),
    "CET-CBD1": (
        "diverging",
        "CET-CBD1: blue-grey-yellow, colour-blind safe, zero at the centre (Peter Kovesi, CC BY 4.0)",
        "CET-CBD1.csv",
    ),
}


def _source_tree_resources() -> Path:
    return Path(__file__).resolve().parents[2] / "resources"


def read_colormap_text(filename: str) -> str:
    """The text of ``colormaps/<filename>`` from the installed package, or from the source tree's resources/."""
    try:
        from importlib.resources import files

        return files("smoothgrad_desktop.resources").joinpath("colormaps", filename).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        pass
    path = _source_tree_resources() / "colormaps" / filename
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FileNotFoundError(
            f"colour map data {filename!r} is missing from this installation ({path}: {exc.strerror or exc})"
        ) from None


def parse_colormap_csv(text: str) -> np.ndarray:
    """Parse ``r,g,b[,a]`` rows of floats in [0, 1] (``;``/``#`` comments) and resample to (256, 3) float64."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in ";#":
            continue
        parts = [p for p in line.replace(";", ",").split(",") if p.strip()]
        if len(parts) < 3:
            raise ValueError(f"bad colour map row {line!r}")
        rows.append([float(p) for p in parts[:3]])
    if len(rows) < 2:
        raise ValueError("a colour map needs at least 2 rows")
    data = np.asarray(rows, dtype=np.float64)
    if data.max() > 1.0 + 1e-9:  # 0..255 integers
        data = data / 255.0
    n = data.shape[0]
    if n != LUT_SIZE:
        pos = np.linspace(0.0, n - 1, LUT_SIZE)
        data = np.stack([np.interp(pos, np.arange(n), data[:, c]) for c in range(3)], axis=1)
    return np.clip(data, 0.0, 1.0)


def _load(name: str) -> Colormap:
    kind, description, filename = _SPECS[name]
    if filename is None:  # grey
        table = np.repeat(np.linspace(0.0, 1.0, LUT_SIZE)[:, None], 3, axis=1)
    else:
        table = parse_colormap_csv(read_colormap_text(filename))
    return Colormap(name=name, kind=kind, description=description, table=table)


class _LazyColormaps(Mapping):
    """``name -> Colormap``; each map's file is read on first use (so a missing file cannot break the import)."""

    def __init__(self) -> None:
        self._cache: dict[str, Colormap] = {}

    def __getitem__(self, name: str) -> Colormap:
        cm = self._cache.get(name)
        if cm is None:
            if name not in _SPECS:
                raise KeyError(name)
            cm = self._cache[name] = _load(name)
        return cm

    def __iter__(self) -> Iterator[str]:
        return iter(_SPECS)

    def __len__(self) -> int:
        return len(_SPECS)

    def __contains__(self, name: object) -> bool:
        return name in _SPECS

    def __repr__(self) -> str:
        return f"COLORMAPS({list(_SPECS)})"


COLORMAPS: Mapping[str, Colormap] = _LazyColormaps()


def colormap_names(kind: str | None = None) -> list[str]:
    """Names of the colour maps, optionally only of one kind ('sequential' or 'diverging'), in menu order."""
    return [n for n, (k, _, _) in _SPECS.items() if kind is None or k == kind]


def default_cmap(view: str) -> str:
    _check_view(view)
    return DEFAULT_SEQUENTIAL if view == "absolute" else DEFAULT_DIVERGING


def get_colormap(cmap: str | Colormap | None, view: str = "absolute") -> Colormap:
    """A :class:`Colormap` from a name, a Colormap, or None (the default for ``view``)."""
    if isinstance(cmap, Colormap):
        return cmap
    name = default_cmap(view) if cmap is None else cmap
    if name not in _SPECS:
        raise ValueError(f"unknown colour map {name!r}; choose one of {', '.join(_SPECS)}")
    return COLORMAPS[name]


# --------------------------------------------------------------------------------------------------------------
# Reduction and capping
# --------------------------------------------------------------------------------------------------------------


def _check_view(view: str) -> None:
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; expected one of {VIEWS}")


def _check_mode(mode: str) -> None:
    if mode not in CLIP_MODES:
        raise ValueError(f"unknown clip mode {mode!r}; expected one of {CLIP_MODES}")


def _check_percentile(percentile: float) -> float:
    p = float(percentile)
    if not (0.0 < p <= 100.0):
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    return p


def reduce_channels(
    attr: np.ndarray,
    view: str,
    *,
    input: np.ndarray | None = None,
    multiply_by_input: bool = False,
) -> np.ndarray:
    """Reduce an attribution ``(C, H, W)`` (or ``(H, W)``, one channel) to an ``(H, W)`` float32 map.

    absolute: ``sum_c |a_c|``; signed: ``sum_c a_c``. With ``multiply_by_input``, ``a * input`` (same shape) first.
    """
    _check_view(view)
    a = np.asarray(attr, dtype=np.float64)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ValueError(f"attribution must be (C, H, W) or (H, W), got shape {np.shape(attr)}")
    if multiply_by_input:
        if input is None:
            raise ValueError("multiply_by_input needs the input")
        x = np.asarray(input, dtype=np.float64)
        if x.ndim == 2:
            x = x[None]
        if x.shape != a.shape:
            raise ValueError(f"input shape {np.shape(input)} does not match attribution shape {np.shape(attr)}")
        a = a * x
    v = np.abs(a).sum(axis=0) if view == "absolute" else a.sum(axis=0)
    return v.astype(np.float32)


def _finite(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64).ravel()
    return v[np.isfinite(v)]


def _pct(values: np.ndarray, p: float) -> float:
    return float(np.percentile(values, p)) if values.size else 0.0


def _cumulative_threshold(magnitudes: np.ndarray, p: float) -> float:
    """Smallest ``s`` among the values such that the values ``<= s`` hold ``p%`` of the total (Captum's rule)."""
    if magnitudes.size == 0:
        return 0.0
    s = np.sort(magnitudes)
    cs = np.cumsum(s)
    total = cs[-1]
    if not np.isfinite(total) or total <= 0:
        return 0.0
    i = int(np.searchsorted(cs, total * (p / 100.0), side="left"))
    return float(s[min(i, s.size - 1)])


def _valid(span: float) -> bool:
    return bool(np.isfinite(span)) and span > 0


def _side_spans(vals: np.ndarray, view: str, p: float, mode: str) -> tuple[float, float]:
    """(negative-side span, positive-side span) from finite values; they differ only for signed two-tailed."""
    if view == "signed" and mode == "two-tailed":
        return _pct(-vals[vals < 0], p), _pct(vals[vals > 0], p)
    if mode == "cumulative":
        s = _cumulative_threshold(np.abs(vals), p)
    elif view == "absolute":
        s = _pct(vals, p)
    else:
        s = _pct(np.abs(vals), p)
    return s, s


def compute_span(v: np.ndarray, view: str, percentile: float = 99.0, *, mode: str = "percentile") -> float:
    """The span :func:`cap` would use for ``v`` (0.0 when invalid). Signed two-tailed: the larger side's span."""
    _check_view(view)
    _check_mode(mode)
    p = _check_percentile(percentile)
    neg, pos = _side_spans(_finite(v), view, p, mode)
    spans = [s for s in (neg, pos) if _valid(s)]
    return float(max(spans)) if spans else 0.0


def _apply(v: np.ndarray, view: str, neg_span: float, pos_span: float) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if view == "absolute":
            if not _valid(pos_span):
                return np.zeros(v.shape, np.float32)
            out = np.clip(v / pos_span, 0.0, 1.0)
        else:
            pos = np.clip(v / pos_span, 0.0, 1.0) if _valid(pos_span) else np.zeros(v.shape)
            neg = np.clip(v / neg_span, -1.0, 0.0) if _valid(neg_span) else np.zeros(v.shape)
            out = np.where(v >= 0, pos, neg)
    return np.nan_to_num(out, nan=0.0).astype(np.float32, copy=False)


def side_spans(v: np.ndarray, view: str, percentile: float = 99.0, *, mode: str = "percentile") -> tuple[float, float]:
    """``(negative side, positive side)`` spans :func:`cap` divides by (equal except for the signed two-tailed
    mode; the absolute view has no negative side and repeats the positive span). An invalid span is ``0.0``."""
    _check_view(view)
    _check_mode(mode)
    neg, pos = _side_spans(_finite(v), view, _check_percentile(percentile), mode)
    if view == "absolute":
        neg = pos
    return (float(neg) if _valid(neg) else 0.0), (float(pos) if _valid(pos) else 0.0)


def cap_with_spans(v: np.ndarray, view: str, neg_span: float, pos_span: float) -> np.ndarray:
    """Like :func:`cap_with_span` with a span per side (see :func:`side_spans`)."""
    _check_view(view)
    return _apply(v, view, float(neg_span), float(pos_span))


def cap(
    v: np.ndarray, view: str, percentile: float = 99.0, *, mode: str = "percentile"
) -> tuple[np.ndarray, float]:
    """Scale a reduced map into [0, 1] (absolute) or [-1, 1] (signed); returns ``(capped float32, span)``.

    * ``percentile``: absolute ``span = P_p(v)``; signed ``span = P_p(|v|)``.
    * ``cumulative``: ``span`` = the smallest ``|v|`` value ``s`` such that the values with ``|v| <= s`` hold
      ``p%`` of ``sum |v|`` (Captum's cumulative-sum threshold).
    * ``two-tailed``: signed view only; negatives are divided by ``P_p(-v[v < 0])`` and positives by
      ``P_p(v[v > 0])`` separately, so zero stays at the centre while each side fills its half of the colour map;
      the returned span is the larger of the two. For the absolute view it is the same as ``percentile``.

    A zero or non-finite span gives zeros and span ``0.0`` (never NaN).
    """
    _check_view(view)
    _check_mode(mode)
    p = _check_percentile(percentile)
    neg, pos = _side_spans(_finite(v), view, p, mode)
    if view == "absolute":
        neg = pos
    spans = [s for s in (neg, pos) if _valid(s)]
    if not spans:
        return np.zeros(np.shape(v), np.float32), 0.0
    return _apply(v, view, neg, pos), float(max(spans))


def cap_with_span(v: np.ndarray, view: str, span: float) -> np.ndarray:
    """Scale with a fixed (e.g. locked, shared) ``span``: ``clip(v / span, 0, 1)`` or ``clip(v / span, -1, 1)``."""
    _check_view(view)
    span = float(span)
    return _apply(v, view, span, span)


def shared_span(
    maps: Sequence[np.ndarray], view: str, percentile: float = 99.0, mode: str = "percentile"
) -> float:
    """One span over the values of all ``maps`` together (for a locked colour scale; 0.0 for none/all zero).

    For the signed two-tailed mode this is the larger of the two sides' spans: a locked scale is symmetric.
    """
    if not maps:
        return 0.0
    vals = np.concatenate([_finite(m) for m in maps])
    return compute_span(vals, view, percentile, mode=mode)


# --------------------------------------------------------------------------------------------------------------
# Colour, resizing, overlay
# --------------------------------------------------------------------------------------------------------------


def colorize(capped: np.ndarray, view: str, cmap: str | Colormap | None = None) -> np.ndarray:
    """``(H, W)`` capped map -> ``(H, W, 4)`` uint8 RGBA (opaque).

    absolute: ``[0, 1]`` spans the colour map; signed: ``[-1, 1]`` spans it with 0 at exactly the centre colour.
    Values outside the range are clipped; NaN is treated as 0.
    """
    _check_view(view)
    cm = get_colormap(cmap, view)
    c = np.nan_to_num(np.asarray(capped, dtype=np.float64), nan=0.0)
    n = _FINE_SIZE - 1
    if view == "absolute":
        idx = np.rint(np.clip(c, 0.0, 1.0) * n)
    else:
        idx = np.rint((np.clip(c, -1.0, 1.0) + 1.0) * (n // 2))
    rgb = cm.fine[idx.astype(np.intp)]
    out = np.empty(c.shape + (4,), np.uint8)
    out[..., :3] = rgb
    out[..., 3] = 255
    return out


def resize_map(v: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an ``(H, W)`` float map to ``size = (width, height)``, bilinear (Pillow mode 'F'), float32, sign kept.

    NaN is replaced by 0 first.
    """
    w, h = (int(size[0]), int(size[1]))
    if w <= 0 or h <= 0:
        raise ValueError(f"size must be positive (width, height), got {size}")
    a = np.asarray(v)
    if a.ndim != 2:
        raise ValueError(f"map must be 2-D (H, W), got shape {a.shape}")
    a = np.ascontiguousarray(np.nan_to_num(a.astype(np.float32), nan=0.0))
    if a.shape == (h, w):
        return a.copy()
    im = Image.fromarray(a)  # float32 -> mode 'F'
    return np.asarray(im.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32).copy()


def overlay(
    image_rgb: np.ndarray,
    capped: np.ndarray,
    view: str,
    cmap: str | Colormap | None = None,
    alpha: float = 0.5,
    *,
    weight_by_magnitude: bool = True,
) -> np.ndarray:
    """Blend the coloured capped map over the original image: ``(1 - a w) img + a w colour``, uint8 (H0, W0, 3).

    ``capped`` (at model-input size) is resized to the image size first; ``w = |capped|`` with
    ``weight_by_magnitude`` (zero attribution leaves the image untouched), else 1. A grey ``(H0, W0)`` image is
    treated as RGB; an alpha channel is ignored.
    """
    _check_view(view)
    alpha = float(alpha)
    if not (0.0 <= alpha <= 1.0):
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    img = np.asarray(image_rgb)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"image must be (H, W, 3) RGB, got shape {np.shape(image_rgb)}")
    img = img[..., :3]
    if img.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {img.dtype}")
    h0, w0 = img.shape[:2]
    m = resize_map(capped, (w0, h0))
    m = np.clip(m, 0.0, 1.0) if view == "absolute" else np.clip(m, -1.0, 1.0)
    color = colorize(m, view, cmap)[..., :3].astype(np.float32)
    weight = np.abs(m) if weight_by_magnitude else np.ones_like(m)
    a = (np.float32(alpha) * weight)[..., None]
    out = img.astype(np.float32) * (1.0 - a) + color * a
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


def render_view(
    attr: np.ndarray,
    view: str,
    *,
    percentile: float = 99.0,
    cmap: str | Colormap | None = None,
    multiply_by_input: bool = False,
    input: np.ndarray | None = None,
    span: float | None = None,
    mode: str = "percentile",
) -> tuple[np.ndarray, float]:
    """reduce -> cap (or a fixed ``span``) -> colorize; returns ``((H, W, 4) uint8 RGBA, span used)``."""
    v = reduce_channels(attr, view, input=input, multiply_by_input=multiply_by_input)
    if span is None:
        capped, used = cap(v, view, percentile, mode=mode)
    else:
        used = float(span) if _valid(float(span)) else 0.0
        capped = cap_with_span(v, view, used)
    return colorize(capped, view, cmap), used


def histogram(v: np.ndarray, bins: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Histogram ``(counts, edges)`` of the finite values of a reduced (raw, uncapped) map."""
    vals = _finite(v)
    if vals.size == 0:
        return np.zeros(int(bins), np.int64), np.linspace(0.0, 1.0, int(bins) + 1)
    return np.histogram(vals, bins=int(bins))
