"""The GUI's parameter set: one plain dataclass, validated from untrusted sources (QSettings, old versions).

Parameters fall into three groups, and a change in each group costs something different:

* **model** (``model``, ``weights``, ``device``, ``transform_input``): reload the model, then recompute;
* **compute** (the fields of :mod:`.schema` — method, aggregation, noise level, n, IG steps and quadrature, seed,
  batch size, precision — and the target): recompute;
* **display** (view, percentile, clip mode, multiply-by-input, colour maps, opacity, shared colour scale, what
  the Map tab shows): re-render only, never recompute.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from . import schema
from .smoothing import DEFAULT_NOISE_LEVEL, DEFAULT_SAMPLES, DEFAULT_STEPS, SmoothingConfig
from .visualize import CLIP_MODES, DEFAULT_DIVERGING, DEFAULT_SEQUENTIAL, VIEWS, colormap_names

MODEL_FIELDS = ("model", "weights", "device", "transform_input")
COMPUTE_FIELDS = (*(f.name for f in schema.FIELDS), "target")
"""Every field of the parameter schema (:mod:`.schema`: method, aggregation, noise level, n, IG steps and
quadrature, seed, batch size, precision) and the target class."""
DISPLAY_FIELDS = ("view", "percentile", "multiply_by_input", "cmap_absolute", "cmap_signed", "opacity", "clip_mode",
                  "show")
SHOW_CHOICES = ("map", "standard-error", "snr")
"""What the Map tab's heatmap shows: the map, the standard error of the SmoothGrad mean, or |mean| / SE."""

from .schema import MAX_BATCH, MAX_SAMPLES, MAX_SEED, MAX_STEPS  # noqa: E402,F401 - the one bounds table


@dataclass(frozen=True)
class Params:
    model: str = "default"
    """``default``, ``mnist-noise``, a torchvision architecture name, or a path to a TorchScript/export file."""
    weights: str = ""
    """For torchvision architectures: a state_dict path, a cached weights enum name, ``random`` or empty (DEFAULT)."""
    device: str = "auto"
    transform_input: bool = True
    """Inception v3 / GoogLeNet only: torchvision's input transform (core ``DEFAULT_TRANSFORM_INPUT``)."""
    method: str = "gradient"
    aggregation: str = "smoothgrad"
    noise_level: float = DEFAULT_NOISE_LEVEL
    n_samples: int | str = DEFAULT_SAMPLES
    """A count, or ``"auto"``: sample until converged (schema ``n_samples``)."""
    steps: int = DEFAULT_STEPS
    seed: int = 0
    target: int | None = None
    """``None``: the predicted class."""
    batch_size: int = 0
    """0: automatic."""
    tolerance: float = schema.BY_NAME["tolerance"].default
    """Samples ``auto`` only: stop when the map's relative standard error is at most this (schema ``tolerance``)."""
    max_samples: int = schema.BY_NAME["max_samples"].default
    """Samples ``auto`` only: the cap on samples (schema ``max_samples``)."""
    quadrature: str = "gauss-legendre"
    """Integrated Gradients only: the rule that places and weighs the path points (schema ``quadrature``)."""
    precision: str = "fp32"
    """``fp32``, or ``bf16`` kept only when it passes the fidelity check (schema ``precision``)."""
    view: str = "absolute"
    percentile: float = 99.0
    multiply_by_input: bool = False
    cmap_absolute: str = DEFAULT_SEQUENTIAL
    cmap_signed: str = DEFAULT_DIVERGING
    opacity: float = 0.6
    clip_mode: str = "percentile"
    """How the colour scale's span is found (core ``CLIP_MODES``): ``percentile`` (PAIR-style, the default),
    ``cumulative`` (Captum-style: the value below which ``percentile`` % of the total |mass| lies) or
    ``two-tailed`` (signed: each sign's own percentile; the larger one is the span)."""
    show: str = "map"
    """The Map tab's heatmap: ``map``, ``standard-error`` (of the SmoothGrad mean, same pass) or ``snr``."""

    # ------------------------------------------------------------------ derived
    @property
    def cmap(self) -> str:
        return self.cmap_absolute if self.view == "absolute" else self.cmap_signed

    def config(self) -> SmoothingConfig:
        values = {f.name: getattr(self, f.name) for f in schema.FIELDS}
        return SmoothingConfig(**{**values, "batch_size": self.batch_size or None})

    def model_key(self) -> tuple:
        return tuple(getattr(self, f) for f in MODEL_FIELDS)

    def layout_option(self) -> bool | None:
        """``transform_input`` for the model loader: the setting for Inception v3 / GoogLeNet, else ``None``."""
        from .models import LAYOUT_ARCHS

        return self.transform_input if self.model in LAYOUT_ARCHS else None

    def compute_key(self) -> tuple:
        return tuple(getattr(self, f) for f in COMPUTE_FIELDS)

    def changed_groups(self, other: "Params") -> set[str]:
        """Which groups (``model``, ``compute``, ``display``) differ between ``self`` and ``other``."""
        out = set()
        for group, names in (("model", MODEL_FIELDS), ("compute", COMPUTE_FIELDS), ("display", DISPLAY_FIELDS)):
            if any(getattr(self, n) != getattr(other, n) for n in names):
                out.add(group)
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "Params":
        """Build from a (possibly stale or hand-edited) mapping: every bad or missing value takes its default."""
        base = cls()
        if not data:
            return base
        out = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = _coerce(f.name, data[f.name], getattr(base, f.name))
            if value is not None or f.name == "target":
                out[f.name] = value
        try:
            return replace(base, **out)
        except (TypeError, ValueError):  # pragma: no cover - defensive
            return base

    def short_text(self) -> str:
        level = f"{self.noise_level * 100:g}%"
        text = f"{self.method}/{self.aggregation}, noise {level}, n={self.n_samples}, seed {self.seed}"
        if self.method == "integrated-gradients":
            text += f", steps {self.steps}"
        return text


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off", ""):
            return False
    return None


def _as_int(value: Any, lo: int, hi: int) -> int | None:
    try:
        number = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    return number if lo <= number <= hi else None


def _as_float(value: Any, lo: float, hi: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and lo <= number <= hi else None


def _coerce(name: str, value: Any, default: Any) -> Any:
    """One field from an untrusted value; ``None`` means "use the default" (except ``target``)."""
    if name in ("model", "weights", "device"):
        if not isinstance(value, str):
            return None
        value = value.strip()
        if name == "model" and not value:
            return None
        if name == "device" and not value:
            return None
        return value
    if name in schema.BY_NAME and name != "batch_size":  # every schema field: its own bounds and choices
        return schema.coerce(name, value)
    if name == "view":
        return value if value in VIEWS else None
    if name == "clip_mode":
        return value if value in CLIP_MODES else None
    if name == "show":
        return value if value in SHOW_CHOICES else None
    if name == "cmap_absolute" or name == "cmap_signed":
        return value if isinstance(value, str) and value in colormap_names() else None
    if name == "percentile":
        number = _as_float(value, 0.0, 100.0)
        return number if number is not None and number > 0 else None
    if name == "opacity":
        return _as_float(value, 0.0, 1.0)
    if name == "batch_size":
        return _as_int(value, 0, MAX_BATCH)
    if name in ("multiply_by_input", "transform_input"):
        return _as_bool(value)
    if name == "target":
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "predicted", "@invalid()")):
            return None
        return _as_int(value, 0, 10_000_000)
    return None
