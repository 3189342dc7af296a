"""The compute parameters, defined once: name, type, default, bounds, label, tooltip and command-line flag.

Every place that takes a compute parameter from outside reads this table and nothing else:

* :meth:`SmoothingConfig.validate` checks each field against its bounds (:func:`check`);
* the command line builds its options from it (:func:`add_arguments`), so ``--samples 1000000000`` is a usage
  error with the same limit the app's spin box has;
* the app's parameter editor takes its ranges, labels and tooltips from it, and settings and session files are
  coerced through it (:func:`coerce`), so a hand-edited file cannot smuggle in a value the editor refuses.

The bounds are there so that no input, however hostile, makes a run that cannot finish: every field is finite
and the total work of one run (:data:`MAX_EVALUATIONS` model evaluations) is capped as well.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Any, Callable

from .errors import AttributionError
from .methods import METHOD_LABELS, METHODS, QUADRATURES

AGGREGATIONS = ("smoothgrad", "smoothgrad-sq", "vargrad", "none")
AGGREGATION_LABELS = {
    "smoothgrad": "SmoothGrad (mean)",
    "smoothgrad-sq": "SmoothGrad² (mean of squares)",
    "vargrad": "VarGrad (variance)",
    "none": "None (single evaluation)",
}
PRECISIONS = ("fp32", "bf16")
PRECISION_LABELS = {"fp32": "float32", "bf16": "bfloat16 (checked against float32)"}
QUADRATURE_LABELS = {
    "gauss-legendre": "Gauss–Legendre",
    "riemann-right": "Riemann (right)",
    "riemann-middle": "Riemann (midpoint)",
    "trapezoid": "Trapezoid",
}

DEFAULT_NOISE_LEVEL = 0.15
DEFAULT_SAMPLES = 50
DEFAULT_STEPS = 50

MAX_NOISE_LEVEL = 10.0
"""σ at most 10 × the input's range (1000 %); the paper's useful range is 0–50 %."""
MAX_SAMPLES = 100_000
AUTO = "auto"
"""The value of ``n_samples`` that samples until the map has converged (see ``tolerance`` and ``max_samples``)."""
DEFAULT_TOLERANCE = 0.1
DEFAULT_MAX_SAMPLES = 1000
MIN_AUTO_SAMPLES = 10
"""Samples always drawn before the convergence test may stop a run: the standard error estimated from fewer is
too unreliable to stop on."""
MIN_TOLERANCE = 0.001
MAX_STEPS = 10_000
MAX_SEED = 2**31 - 1
MAX_BATCH = 4096
MAX_EVALUATIONS = 10_000_000
"""Model evaluations (forward + input-gradient rows) one run may cost: ``n × steps`` for integrated gradients,
``n`` otherwise. 10 million rows is hours even for the embedded MNIST model."""

MAX_INPUT_VALUES = 1 << 24
"""Values (channels × height × width) of one model input after preprocessing, and of the resized image before a
centre crop: 16,777,216, e.g. 3 × 2364 × 2364. One input row of that size already needs gigabytes for its
activations and gradient."""
MAX_INPUT_ASPECT = 20.0
"""Longer side / shorter side of the model input after preprocessing (and of the resized image before a crop). A
fully convolutional model (the embedded MNIST CNN scales every image to 28 px high) would otherwise turn a
1 × 5000 px strip into a 28 × 140,000 input; the embedded model's multi-digit canvases are 2:1 to 10:1."""
MAX_INPUT_SIDE = 16_384
"""Largest size in pixels a model description (sidecar JSON) may ask for (``input_size``, ``resize_short``, ...)."""


@dataclass(frozen=True)
class Field:
    """One compute parameter."""

    name: str
    """The attribute of :class:`~smoothgrad_desktop.core.smoothing.SmoothingConfig`."""
    kind: type
    default: Any
    label: str
    tip: str
    flag: str
    """The command-line option (``--samples``)."""
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    choice_labels: dict[str, str] | None = None
    lo: float | None = None
    hi: float | None = None
    optional: bool = False
    """``None`` is allowed (batch size: automatic)."""
    auto: bool = False
    """The string :data:`AUTO` is allowed besides numbers (samples: until converged)."""
    cli_help: str = ""

    def describe_range(self) -> str:
        if self.choices:
            return ", ".join(self.choices)
        if self.kind is float:
            return f"{self.lo:g} to {self.hi:g}"
        text = f"{int(self.lo):,} to {int(self.hi):,}".replace(",", " ")
        return f"{text} or {AUTO}" if self.auto else text


FIELDS: tuple[Field, ...] = (
    Field("method", str, "gradient", "Method",
          "The map that is averaged: the plain gradient of the class score, gradient × input, Integrated "
          "Gradients (path integral from a black image) or Guided Backprop.",
          "--method", choices=tuple(METHODS), choice_labels=METHOD_LABELS, cli_help="base attribution method"),
    Field("aggregation", str, "smoothgrad", "Smoothing",
          "How the maps of the noisy copies are combined: SmoothGrad averages them (the paper's method), "
          "SmoothGrad² averages their squares, VarGrad takes their variance, None uses one noise-free map.",
          "--smooth", choices=AGGREGATIONS, choice_labels=AGGREGATION_LABELS,
          cli_help="aggregation over noisy samples"),
    Field("noise_level", float, DEFAULT_NOISE_LEVEL, "Noise level",
          "How much Gaussian noise is added to each copy, as a fraction of the input's value range (max − min): "
          "σ = level × (max − min). The paper recommends 10–20 %.",
          "--noise-level", metavar="F", lo=0.0, hi=MAX_NOISE_LEVEL,
          cli_help="sigma as a fraction of the input's range: sigma = F * (max(x) - min(x)) (default 0.15)"),
    Field("n_samples", int, DEFAULT_SAMPLES, "Samples n",
          "How many noisy copies are averaged. More copies give a smoother, steadier map; little changes past 50. "
          "'auto' (until converged) keeps adding copies until the map's relative standard error is below the "
          "tolerance, or the sample cap is reached.",
          "--samples", metavar="N|auto", lo=1, hi=MAX_SAMPLES, auto=True,
          cli_help="noisy samples n (default 50), or 'auto': sample until the relative standard error of the mean "
                   "map is at most --tolerance (at most --max-samples)"),
    Field("tolerance", float, DEFAULT_TOLERANCE, "Tolerance",
          "Samples 'auto' only: sampling stops once the relative standard error of the mean map, "
          "‖SE‖₂ / ‖mean‖₂ with SE = sample standard deviation / √n per element, is at most this value "
          "(0.1: the noise left in the map is 10 % of its size). Halving it needs about four times the samples.",
          "--tolerance", metavar="T", lo=MIN_TOLERANCE, hi=1.0,
          cli_help="with --samples auto: stop when ||SE||_2/||mean||_2 <= T (default 0.1)"),
    Field("max_samples", int, DEFAULT_MAX_SAMPLES, "Sample cap",
          "Samples 'auto' only: the most noisy copies drawn when the tolerance is not reached; the result then "
          "records that it did not converge.",
          "--max-samples", metavar="N", lo=MIN_AUTO_SAMPLES, hi=MAX_SAMPLES,
          cli_help="with --samples auto: the cap on samples (default 1000)"),
    Field("steps", int, DEFAULT_STEPS, "IG steps",
          "Integrated Gradients only: how many points along the path from the black image to the input are "
          "evaluated. More steps are more accurate and slower.",
          "--steps", metavar="N", lo=1, hi=MAX_STEPS, cli_help="integrated-gradients steps m (default 50)"),
    Field("quadrature", str, "gauss-legendre", "IG quadrature",
          "Integrated Gradients only: the rule that places the path points and weighs them. Gauss–Legendre is "
          "the most accurate for the same number of steps on smooth models; Riemann (right) is the IG paper's "
          "formula.",
          "--quadrature", choices=QUADRATURES, choice_labels=QUADRATURE_LABELS,
          cli_help="integrated-gradients quadrature rule (default gauss-legendre)"),
    Field("seed", int, 0, "Seed", "Fixes the random noise, so the same seed gives the same map again.",
          "--seed", metavar="N", lo=0, hi=MAX_SEED, cli_help="noise seed (default 0)"),
    Field("batch_size", int, None, "Batch",
          "How many noisy copies go through the network at once. Auto chooses from the memory and the speed; the "
          "result does not depend on it, only the speed does.",
          "--batch-size", metavar="B", lo=1, hi=MAX_BATCH, optional=True,
          cli_help="model inputs per forward/backward pass (default: automatic)"),
    Field("precision", str, "fp32", "Precision",
          "float32, or bfloat16 where the hardware runs it faster: the first 8 noisy copies are computed both ways "
          "and bfloat16 is kept only if their map matches float32 (rank correlation ≥ 0.99, top-5 % overlap ≥ 0.9); "
          "the first and last layers always run in float32.",
          "--precision", choices=PRECISIONS, choice_labels=PRECISION_LABELS,
          cli_help="fp32, or bf16 kept only when it passes the fidelity check against fp32 (default fp32)"),
)
BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}


def defaults() -> dict[str, Any]:
    return {f.name: f.default for f in FIELDS}


def check(name: str, value: Any) -> None:
    """Raise :class:`AttributionError` (one line, naming the field and its range) unless ``value`` is valid."""
    f = BY_NAME[name]
    if value is None and f.optional:
        return
    if f.auto and value == AUTO:
        return
    if f.choices is not None:
        if value not in f.choices:
            raise AttributionError(f"unknown {f.label.lower()} {value!r}; choose one of {', '.join(f.choices)}")
        return
    if f.kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and f.lo <= value <= f.hi
    else:
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
              and f.lo <= value <= f.hi)
    if not ok:
        raise AttributionError(f"{f.label.lower()} must be {'an integer' if f.kind is int else 'a number'} "
                               f"from {f.describe_range()}, got {value!r}")


def check_total(method: str, n_samples: int | str, steps: int, aggregation: str = "smoothgrad",
                max_samples: int = DEFAULT_MAX_SAMPLES) -> None:
    """The total work of one run: ``n × steps`` model evaluations at most :data:`MAX_EVALUATIONS` (``n`` is the
    sample cap for ``auto``)."""
    n = 1 if aggregation == "none" else (max_samples if n_samples == AUTO else n_samples)
    total = n * (steps if method == "integrated-gradients" else 1)
    if total > MAX_EVALUATIONS:
        raise AttributionError(f"{n} samples × {steps} steps = {total:,} model evaluations is over the limit of "
                               f"{MAX_EVALUATIONS:,} per run; use fewer samples or steps".replace(",", " "))


def check_model_input(name: str, channels: int, height: int, width: int, *, stage: str = "model input") -> None:
    """Raise :class:`AttributionError` (one line) when an input of ``channels × height × width`` after
    preprocessing (or the resized image before a crop, ``stage``) is over :data:`MAX_INPUT_VALUES` values or
    more elongated than :data:`MAX_INPUT_ASPECT`. Checked before any pixel is resized."""
    height, width, channels = int(height), int(width), max(1, int(channels))
    if height < 1 or width < 1:
        raise AttributionError(f"{name}: the {stage} would be empty ({height} × {width} px)")
    aspect = max(height, width) / min(height, width)
    values = channels * height * width
    def n(x: float) -> str:
        return f"{x:,.0f}".replace(",", " ")

    if aspect > MAX_INPUT_ASPECT:
        raise AttributionError(
            f"{name}: the {stage} would be {n(height)} × {n(width)} px, aspect {n(aspect)}:1 (the limit is "
            f"{MAX_INPUT_ASPECT:g}:1); crop the image to the part you want explained")
    if values > MAX_INPUT_VALUES:
        raise AttributionError(
            f"{name}: the {stage} would be {channels} × {n(height)} × {n(width)} = {n(values)} values (the limit "
            f"is {n(MAX_INPUT_VALUES)}); use a smaller image or a model that resizes its input")


def coerce(name: str, value: Any, *, auto: bool = False) -> Any:
    """``value`` from an untrusted source (settings, session, JSON) as the field's type, or ``None`` when it is
    missing, of the wrong type or out of bounds (the caller then keeps its default). ``"auto"`` is
    accepted (for ``n_samples``) only when the caller asks for it with ``auto=True``: an editor that has no "until
    converged" choice then keeps its default instead of receiving a string."""
    f = BY_NAME[name]
    if f.choices is not None:
        return value if isinstance(value, str) and value in f.choices else None
    if f.auto and value == AUTO:
        return AUTO if auto else None
    if isinstance(value, bool):
        return None
    try:
        number = float(value) if f.kind is float else int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(number) or not f.lo <= number <= f.hi:
        return None
    return number


def _parse(f: Field) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        if f.auto and text.strip().lower() == AUTO:
            return AUTO
        try:
            value = f.kind(text) if f.kind is int else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {'an integer' if f.kind is int else 'a number'}: {text!r}") from None
        try:
            check(f.name, value)
        except AttributionError:
            raise argparse.ArgumentTypeError(f"must be from {f.describe_range()}, got {text}") from None
        return value

    parse.__name__ = f.label  # argparse names the type in its messages
    return parse


def add_arguments(parser: argparse.ArgumentParser, names: tuple[str, ...] | None = None) -> None:
    """Add the command-line options of the schema's fields (all, or ``names``) to ``parser``; each option's
    destination is the field's name."""
    for f in FIELDS:
        if names is not None and f.name not in names:
            continue
        kwargs: dict[str, Any] = {"dest": f.name, "default": f.default, "help": f.cli_help or f.tip}
        if f.choices is not None:
            kwargs["choices"] = list(f.choices)
        else:
            kwargs["type"] = _parse(f)
            kwargs["metavar"] = f.metavar
        parser.add_argument(f.flag, **kwargs)
