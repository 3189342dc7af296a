"""The tab registry: one :class:`TabSpec` per tab of the main window, the trust tabs included.

A spec says everything about its tab: title and tip, the panel and its extra controls, the options a job
needs, how a result is drawn and summarised, whether the tab follows the shared colour scale, what "Export"
calls it and how many model evaluations a computation costs. The window builds its tabs, menus and exports by
walking :data:`TABS`; it has no per-tab code. To add a tab, write its panel, a worker job, and one spec here.

A comparison tab computes when it is opened only when the estimate is about a second or less
(:data:`AUTO_SECONDS`, from the measured throughput of the current model); otherwise it shows the estimate
(``≈ 600 evaluations, ~40 s``) and waits for its Compute button.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, QSignalBlocker, Qt, Signal, Slot
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, \
    QWidget

from ..core import experiments as ex
from ..core import schema
from ..core.methods import evaluations_per_sample
from ..core.trust_data import COMPARE_CHOICES, method_label
from ..core import display
from .panels.curves import FluctuationPanel
from .panels.difference import DifferencePanel
from .panels.grid import GridPanel
from .panels.noise_training import NoiseTrainingPanel
from .panels.strip import StripPanel
from .panels.trust import FaithfulnessPanel, SanityPanel
from ..core.params import Params

AUTO_SECONDS = 1.0
"""A tab computes by itself (on opening, or when its inputs change while it is open) only below this estimate."""
CURVE_STEPS = 50
SANITY_LAYERS = 5
SHARED_SCALE_TIP = (
    "On: one colour scale for every cell, capped at the {p} percentile of all cells together. Equal colours mean "
    "equal values, so magnitudes can be compared, but cells with small values (the low-noise rows of the σ/n "
    "grid) look nearly black.\n"
    "Off: each cell is capped at its own {p} percentile, as in the paper's figures. Every cell shows its own "
    "structure at full contrast, but brightness can no longer be compared between cells.\n"
    "The same setting applies to the σ/n grid, the methods, the class difference (its two class maps; D always has "
    "its own scale) and noise training."
)


def parse_numbers(text: str, kind, lo, hi) -> list:
    out = []
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        part = part.strip().rstrip("%")
        if not part:
            continue
        value = kind(float(part))
        if not lo <= value <= hi:
            raise ValueError(f"{part} is outside {lo}..{hi}")
        out.append(value)
    if not out:
        raise ValueError("no values")
    return out


# ---------------------------------------------------------------------------------------------- controls


class Controls(QObject):
    """The extra controls of a tab (beside its Compute button); ``changed`` when the user edits them. The widgets
    go into the tab's control row; this object, owned by the tab, reads them."""

    changed = Signal()

    def widgets(self) -> list[QWidget]:
        return []

    def options(self) -> dict:
        """The job options; raises ValueError (one line) on bad input."""
        return {}


class GridControls(Controls):
    def __init__(self) -> None:
        super().__init__()
        self.levels_edit = QLineEdit(", ".join(f"{v * 100:g}" for v in ex.GRID_LEVELS))
        self.levels_edit.setToolTip("Noise levels of the rows, in % of the input range, separated by commas.")
        self.levels_edit.setMinimumWidth(150)
        self.levels_edit.setMaximumWidth(220)
        self.ns_edit = QLineEdit(", ".join(str(n) for n in ex.GRID_SAMPLES))
        self.ns_edit.setToolTip("Sample counts n of the columns, separated by commas. One run of max(n) samples per "
                                "row gives every column (prefix means).")
        self.ns_edit.setMinimumWidth(130)
        self.ns_edit.setMaximumWidth(200)
        self._labels = [QLabel("Noise %:"), QLabel("n:")]
        self._labels[0].setToolTip(self.levels_edit.toolTip())
        self._labels[1].setToolTip(self.ns_edit.toolTip())
        for edit in (self.levels_edit, self.ns_edit):
            edit.editingFinished.connect(self.changed)

    def widgets(self) -> list[QWidget]:
        return [self._labels[0], self.levels_edit, self._labels[1], self.ns_edit]

    def options(self) -> dict:
        levels = [v / 100.0 for v in parse_numbers(self.levels_edit.text(), float, 0.0, 1000.0)]
        ns = sorted(set(parse_numbers(self.ns_edit.text(), int, 1, 100_000)))
        return {"levels": tuple(levels), "ns": tuple(ns)}


class CompareControls(Controls):
    def __init__(self) -> None:
        super().__init__()
        self.combo = QComboBox()
        self.combo.setObjectName("compare_combo")
        for label, method, aggregation in COMPARE_CHOICES:
            self.combo.addItem(label, (method, aggregation))
        self.combo.setCurrentIndex(1)
        self.combo.setToolTip("A second method whose curves are drawn on the same plots, with the same noise seed "
                              "and parameters.")
        self.combo.currentIndexChanged.connect(self.changed)
        self._label = QLabel("Compare with:")
        self._label.setBuddy(self.combo)

    def widgets(self) -> list[QWidget]:
        return [self._label, self.combo]

    def options(self) -> dict:
        label, method, aggregation = COMPARE_CHOICES[max(0, self.combo.currentIndex())]
        return {"compare": (label, method, aggregation) if method else None}


class SanityControls(Controls):
    def __init__(self) -> None:
        super().__init__()
        self.spin = QSpinBox()
        self.spin.setObjectName("sanity_layers")
        self.spin.setRange(0, 10_000)
        self.spin.setSpecialValueText("all")
        self.spin.setToolTip("How many layers to randomise, from the output down (all: every layer with parameters; "
                             "each costs one SmoothGrad run).")
        self.spin.setKeyboardTracking(False)
        self.spin.valueChanged.connect(self.changed)
        self._label = QLabel("Layers:")
        self._label.setBuddy(self.spin)

    def widgets(self) -> list[QWidget]:
        return [self._label, self.spin]

    def options(self) -> dict:
        return {"layers": int(self.spin.value())}

    def model_loaded(self, info) -> None:
        """Outside the embedded models "all layers" is a long job: start with the top SANITY_LAYERS."""
        if info.kind != "embedded" and self.spin.value() == 0:
            blocker = QSignalBlocker(self.spin)
            self.spin.setValue(SANITY_LAYERS)
            del blocker


class DifferenceControls(Controls):
    """The class pickers live on the panel; the options are its classes once they belong to the image shown."""

    def __init__(self, panel: DifferencePanel) -> None:
        super().__init__()
        self.panel = panel
        self.image_key: str | None = None
        panel.classes_changed.connect(lambda _a, _b: self.changed.emit())

    def fill(self, state) -> None:
        """New image: the top two classes (the panel keeps a choice made for this image)."""
        if self.image_key == state.key or len(state.labels) < 2:
            return
        order = [p.index for p in state.top]
        c1 = order[0]
        c2 = order[1] if len(order) > 1 else (1 if c1 == 0 else 0)
        self.panel.set_classes(list(state.labels), c1, c2)
        self.panel.set_image(state.visible)
        self.image_key = state.key

    def options(self, state=None) -> dict:
        if self.image_key is None or self.panel.combo1.count() == 0 or (state is not None and state.key != self.image_key):
            return {"c1": None, "c2": None}
        c1, c2 = self.panel.classes()
        return {"c1": c1, "c2": c2}


# ---------------------------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class View:
    """What a render needs besides the result: the live display parameters and the locked span (or None)."""

    params: Params
    span: float | None

    def reduce(self, attr: np.ndarray, state, view: str | None = None) -> np.ndarray:
        return display.reduce_map(attr, view or self.params.view, state, self.params.multiply_by_input)


def _render_grid(panel: GridPanel, outcome, v: View) -> None:
    r, p = outcome.result, v.params
    panel.set_grid(r.levels, r.ns, [[v.reduce(m, outcome.state) for m in row] for row in r.maps], p.view,
                   sigmas=r.sigmas, percentile=p.percentile, cmap=p.cmap, span=v.span)


def _render_strip(panel: StripPanel, outcome, v: View) -> None:
    p = v.params
    panel.set_entries([(label, None if res is None else v.reduce(res.attribution, outcome.state), err)
                       for label, res, err in outcome.entries], p.view, percentile=p.percentile, cmap=p.cmap, span=v.span)


def _render_difference(panel: DifferencePanel, outcome, v: View) -> None:
    p, st = v.params, outcome.state
    # D follows the View (absolute: |M1| - |M2| after channel reduction), each map normalised by its own
    # percentile unless the panel's "raw" is chosen (core.experiments.difference_map)
    panel.set_attributions(outcome.r1.attribution, outcome.r2.attribution, p.view, input=st.x,
                           multiply_by_input=p.multiply_by_input, percentile=p.percentile, cmap=p.cmap_signed,
                           cmap_absolute=p.cmap_absolute, span=v.span)


def _render_noise(panel: NoiseTrainingPanel, outcome, v: View) -> None:
    p = v.params
    panel.set_maps({key: v.reduce(res.attribution, outcome.state) for key, res in outcome.results.items()}, p.view,
                   percentile=p.percentile, cmap=p.cmap, span=v.span)


def _render_fluctuation(panel: FluctuationPanel, outcome, _v: View) -> None:
    r = outcome.result
    panel.set_data(r.t, r.max_partial, r.score, partial_at_pixel=r.partial_at_pixel, sigma=r.sigma)


def _render_sanity(panel: SanityPanel, o, _v: View) -> None:
    panel.set_result(o.layers, o.spearman_abs, o.spearman_signed, random_target=o.random_target,
                     thumbnails=o.thumbnails, original=o.original, labels=list(o.state.labels))


def _prefill_grid(panel: GridPanel, options: dict, v: View) -> None:
    p = v.params
    panel.set_grid(options["levels"], options["ns"], None, p.view, percentile=p.percentile, cmap=p.cmap, span=v.span)


def _prefill_strip(panel: StripPanel, _options: dict, v: View) -> None:
    p = v.params
    panel.set_entries([(label, None, None) for label, _m, _a in ex.STRIP], p.view, percentile=p.percentile,
                      cmap=p.cmap, span=v.span)


def _stream_grid(panel: GridPanel, payload, state, v: View) -> None:
    row, maps = payload
    panel.set_row(row, [v.reduce(m, state) for m in maps])


def _stream_strip(panel: StripPanel, payload, state, v: View) -> None:
    i, label, result, error = payload
    panel.set_entry(i, label, None if result is None else v.reduce(result.attribution, state), error or None)


# ---------------------------------------------------------------------------------------------- summaries


def _label(outcome) -> str:
    st = outcome.state
    return st.labels[outcome.target] if 0 <= outcome.target < len(st.labels) else str(outcome.target)


def _summary_grid(o) -> str:
    r = o.result
    return (f"{o.state.image.name}, class {_label(o)}: {len(r.levels)} noise levels × n up to {max(r.ns)}, "
            f"{r.evaluations} evaluations, {o.config.method}, seed {o.config.seed}.")


def _summary_strip(o) -> str:
    failed = [lab for lab, res, _err in o.entries if res is None]
    text = f"{o.state.image.name}, class {_label(o)}: noise {o.config.noise_level:.0%}, n={o.config.n_samples}."
    return text + (f" Not available: {', '.join(failed)}." if failed else "")


def _summary_difference(o) -> str:
    st = o.state
    c1, c2 = (st.labels[i] if 0 <= i < len(st.labels) else str(i) for i in (o.c1, o.c2))
    return (f"{st.image.name}: class {c1} against class {c2} (D > 0 where {c1}'s map is larger, in the current View "
            f"and normalisation), {o.config.method}/{o.config.aggregation}, n={o.config.n_samples}.")


def _summary_noise(o) -> str:
    return f"{o.state.image.name}, class {_label(o)}: rows clean / noise-trained model; columns gradient / SmoothGrad."


def _summary_fluctuation(o) -> str:
    r = o.result
    return (f"{o.state.image.name}, class {_label(o)}: ε ~ N(0, σ²), σ = {r.sigma:.3g}; {len(r.t)} points; the dashed "
            f"curve is the partial derivative at input element {r.pixel}.")


def _summary_evaluate(o) -> str:
    s = o.summary()
    text = (f"{o.state.image.name}, class {_label(o)}, {o.label}: deletion AUC {s['deletion_attribution_auc']:.3f} "
            f"(random {s['deletion_random_auc']:.3f}), insertion AUC {s['insertion_attribution_auc']:.3f} "
            f"(random {s['insertion_random_auc']:.3f}).")
    return text + (f" {o.compare_label}: {o.compare_error}" if o.compare_error else "")


def _summary_sanity(o) -> str:
    rt = o.random_target
    full = o.spearman_abs[-1] if o.spearman_abs else float("nan")
    return (f"{o.state.image.name}, class {_label(o)}, {method_label(o.config.method, o.config.aggregation)}: "
            f"{len(o.layers)} layer(s) randomised; ρ(|map|) when all are random {full:.2f}; random target "
            f"{rt['random_target']}: ρ {rt['spearman_abs']:.2f}.")


# ---------------------------------------------------------------------------------------------- costs


def _n(p: Params) -> int:
    """Samples a run of ``p`` draws at most (``auto``: up to its cap)."""
    return p.max_samples if p.n_samples == schema.AUTO else int(p.n_samples)


def _samples(p: Params) -> int:
    return 1 if p.aggregation == "none" else _n(p)


def _per(p: Params, method: str | None = None) -> int:
    return evaluations_per_sample(method or p.method, p.steps)


def _cost_grid(p: Params, o: dict) -> int:
    return len(o["levels"]) * max(o["ns"]) * _per(p)


def _cost_strip(p: Params, _o: dict) -> int:
    return sum((_n(p) if agg == "smoothgrad" else 1) * _per(p, m) for _l, m, agg in ex.STRIP)


def _cost_difference(p: Params, _o: dict) -> int:
    return 2 * _samples(p) * _per(p)


def _cost_noise(p: Params, _o: dict) -> int:
    return 2 * (1 + _n(p))


def _cost_fluctuation(_p: Params, o: dict) -> int:
    return int(o.get("points", 200))


def _cost_evaluate(p: Params, o: dict) -> int:
    curves = 4 * (CURVE_STEPS + 1) // 3  # forward passes only: about a third of a gradient evaluation each
    compare = o.get("compare")
    extra = 0 if not compare else (_samples(Params(aggregation=compare[2])) * _per(p, compare[1]) + curves // 2)
    return _samples(p) * _per(p) + curves + extra


def _cost_sanity(p: Params, o: dict) -> int:
    layers = int(o.get("layers") or 0) or 8
    return (layers + 2) * _samples(p) * _per(p)


def estimate_text(evaluations: int, seconds: float | None) -> str:
    n = f"{evaluations:,}".replace(",", " ")
    if seconds is None or not math.isfinite(seconds):
        return f"≈ {n} evaluations"
    t = f"~{seconds:.0f} s" if seconds < 90 else f"~{seconds / 60:.0f} min"
    return f"≈ {n} evaluations, {t}"


# ---------------------------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class TabSpec:
    kind: str
    title: str
    tip: str
    export_suffix: str
    """``-grid``: the file name suffix of "Export" on this tab; also the figure's name in "Export all"."""
    note: str = ""
    panel: Callable[[], QWidget] | None = None
    controls: Callable[[QWidget], Controls] | None = None
    render: Callable[[QWidget, Any, View], None] | None = None
    summary: Callable[[Any], str] | None = None
    cost: Callable[[Params, dict], int] | None = None
    shared_scale: bool = False
    prefill: Callable[[QWidget, dict, View], None] | None = None
    stream: Callable[[QWidget, Any, Any, View], None] | None = None
    status_below: bool = False

    @property
    def computes(self) -> bool:
        """A tab with its own job (not the map, not the convergence curve of the map's run)."""
        return self.render is not None


TABS: tuple[TabSpec, ...] = (
    TabSpec("map", "Map", "The image, the SmoothGrad map with its colour bar, and the map over the image.", ""),
    TabSpec("grid", "σ/n grid", "The paper's Figs 3-4: rows are noise levels, columns the number of samples n. Column "
            "n is the mean of the first n samples of one run per row.", "-grid",
            "Rows: noise level; columns: n (prefix means of one run per row).", GridPanel,
            lambda _panel: GridControls(), _render_grid, _summary_grid, _cost_grid, True, _prefill_grid, _stream_grid,
            status_below=True),
    TabSpec("strip", "Methods", "Gradient, SmoothGrad, Integrated Gradients, IG + SmoothGrad, Guided Backprop and "
            "Guided BP + SmoothGrad side by side.", "-methods", "Six methods, same noise seed.", StripPanel, None,
            _render_strip, _summary_strip, _cost_strip, True, _prefill_strip, _stream_strip),
    TabSpec("difference", "Class difference", "The maps of two classes, each reduced in the View and normalised by its "
            "own percentile, and their difference D: which pixels speak for which class (paper, section 4).",
            "-difference", "The maps of two classes and their difference D (pick the classes above the map).", DifferencePanel,
            DifferenceControls, _render_difference, _summary_difference, _cost_difference, True),
    TabSpec("noise", "Noise training", "The same network trained on clean images and trained with noisy images, each "
            "explained by the plain gradient and by SmoothGrad (paper, section 5).", "-noise-training",
            "Needs the embedded MNIST model (it has a twin trained with noise).", NoiseTrainingPanel, None,
            _render_noise, _summary_noise, _cost_noise, True),
    TabSpec("fluctuation", "Fluctuation", "How sharply the raw gradient jumps along a line x + tε (paper, Fig 2).",
            "-fluctuation", "One random direction ε at the current noise level; 200 points.", FluctuationPanel, None,
            _render_fluctuation, _summary_fluctuation, _cost_fluctuation),
    TabSpec("convergence", "Convergence", "How much the running mean still changes as samples are added (live during "
            "a run).", "-convergence"),
    TabSpec("evaluate", "Faithfulness", "Deletion and insertion curves (Petsiuk et al. 2018): the class probability as "
            "pixels are removed or revealed in the order of the map, against a random order and optionally a second "
            "method.", "-faithfulness", "Pixels are removed (deletion) or revealed on a blurred copy (insertion) in "
            "the order of |map|.", FaithfulnessPanel, lambda _panel: CompareControls(),
            lambda panel, o, _v: panel.set_result(o), _summary_evaluate, _cost_evaluate),
    TabSpec("sanity", "Sanity checks", "Sanity checks (Adebayo et al. 2018): how much the map changes when the "
            "network's layers are randomised from the top down, and when another class is explained.", "-sanity",
            "Layers are re-initialised from the output down; the map is recomputed after each.", SanityPanel,
            lambda _panel: SanityControls(), _render_sanity, _summary_sanity, _cost_sanity),
)
BY_KIND: dict[str, TabSpec] = {s.kind: s for s in TABS}
COMPUTED = tuple(s.kind for s in TABS if s.computes)


class ExperimentTab(QWidget):
    """A computed tab: its panel under a row with the Compute button, the spec's controls, the shared-scale box
    (for the tabs that follow it) and a status line."""

    compute_requested = Signal(str)
    options_changed = Signal(str)

    def __init__(self, spec: TabSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.kind = spec.kind
        self.panel = spec.panel()
        self.controls = spec.controls(self.panel) if spec.controls else Controls()
        self.controls.setParent(self)  # a QObject reading the widgets laid out in the bar below, owned by the tab
        self.button = QPushButton("Compute")
        self.button.setToolTip("Compute this figure for the current image and parameters (it is computed when you "
                               "open this tab and it is out of date, if that takes about a second or less).")
        self.status = QLabel(spec.note)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # the panel owns its "Shared colour scale" box (in its own control row): the choice is this tab's alone,
        # never a parameter, a setting or another tab's
        self.scale_check: QCheckBox | None = getattr(self.panel, "scale_check", None) if spec.shared_scale else None
        if self.scale_check is not None:
            self.scale_check.setObjectName(f"{spec.kind}_shared_scale")
        extra = list(self.controls.widgets())
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 4, 4, 0)
        bar.addWidget(self.button)
        for w in extra:
            bar.addWidget(w)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(bar)
        if spec.status_below:  # a crowded control row: the status gets a line of its own
            bar.addStretch(1)
            line = QHBoxLayout()
            line.setContentsMargins(4, 0, 4, 0)
            line.addWidget(self.status, 1)
            box.addLayout(line)
        else:
            bar.addWidget(self.status, 1)
        box.addWidget(self.panel, 1)
        self.button.clicked.connect(self._on_clicked)
        self.controls.changed.connect(self._on_controls)

    @Slot()
    def _on_clicked(self) -> None:
        self.compute_requested.emit(self.kind)

    @Slot()
    def _on_controls(self) -> None:
        self.options_changed.emit(self.kind)

    def set_clip_mode(self, mode: str) -> None:
        if hasattr(self.panel, "set_clip_mode"):
            self.panel.set_clip_mode(mode)

    def options(self, state=None) -> dict:
        if isinstance(self.controls, DifferenceControls):
            return self.controls.options(state)
        options = self.controls.options()
        return {"points": 200, **options} if self.kind == "fluctuation" else options

    def cost(self, params: Params, options: dict) -> int:
        return int(self.spec.cost(params, options)) if self.spec.cost else 0
