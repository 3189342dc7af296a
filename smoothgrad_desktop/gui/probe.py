"""The pixel probe: a click on the heatmap re-runs the map shown with the same seed, configuration and batch size
and a core ``PixelProbe`` for that pixel (job ``probe``); the histogram goes to the "Pixel probe" dock.

The probe belongs to the map it was taken from: when the map shown changes (another image, other parameters, a
run from the history), the panel is cleared. Only probed pixels are kept (the last PROBE_CACHE of them).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

from PySide6.QtCore import QObject, Signal, Slot

from .controller import JobHandle, RunController
from .panels.trust import ProbePanel
from .state import MAP, AppState
from .worker import ImageRef, Job

PROBE_CACHE = 32


class ProbeTool(QObject):
    """See the module docstring. ``panel`` goes into a dock of the window."""

    finished = Signal(object)  # ProbeOutcome, after it is shown
    wants_dock = Signal()  # show and raise the dock
    message = Signal(str)
    error = Signal(str)

    def __init__(self, state: AppState, controller: RunController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.controller = controller
        self.panel = ProbePanel()
        self._cache: OrderedDict[tuple, object] = OrderedDict()
        self._handle: JobHandle | None = None
        self._shown_map = None
        state.result_changed.connect(self._on_result)
        state.image_changed.connect(self._on_image)
        state.params_changed.connect(self._on_params)

    def cached(self) -> int:
        return len(self._cache)

    def probe(self, x: int, y: int, ref: ImageRef | None) -> JobHandle | None:
        """Probe model-input pixel (x = column, y = row) of the map shown; None when cached or impossible."""
        mapped = self.state.map_for_image()
        if mapped is None or ref is None or mapped.outcome.state.key != ref.key:
            self.error.emit("pixel probe: compute a map for this image first")
            return None
        expl = mapped.outcome.explanation
        r = expl.result
        config = replace(r.config, batch_size=r.batch_size)
        mbi = bool(self.state.params.multiply_by_input)
        key = (ref.key, int(x), int(y), config, expl.target, mbi)
        self._shown_map = mapped
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            self._show(hit)
            return None
        job = Job("probe", image=ref, config=config, target=expl.target,
                  options={"pixel": (int(x), int(y)), "multiply_by_input": mbi})
        self.panel.clear()
        self.wants_dock.emit()
        self.message.emit(f"Probing pixel x={x} y={y} ({r.n} samples)…")
        self._handle = self.controller.submit(job, mapped.params)
        self._handle.finished.connect(self._on_finished)
        self._handle.failed.connect(self.error)
        return self._handle

    @Slot(object)
    def _on_finished(self, outcome) -> None:
        key = (outcome.key, outcome.pixel[0], outcome.pixel[1], outcome.config, outcome.target,
               outcome.multiply_by_input)
        self._cache[key] = outcome
        while len(self._cache) > PROBE_CACHE:
            self._cache.popitem(last=False)
        if self.state.map_for_image() is self._shown_map:  # still the map it was taken from
            self._show(outcome)
        self.finished.emit(outcome)

    def _show(self, outcome) -> None:
        what = "gradient × input" if outcome.multiply_by_input else "per-sample map values"
        self.panel.set_probe(outcome.pixel, outcome.values, outcome.stats, map_value=outcome.map_value,
                             title=f"{outcome.name}, {what}")
        self.wants_dock.emit()

    def _forget_shown(self) -> None:
        if self.state.map_for_image() is not self._shown_map:
            self._shown_map = None
            self.panel.clear()

    @Slot(str)
    def _on_result(self, kind: str) -> None:
        if kind == MAP:
            self._forget_shown()

    @Slot(object)
    def _on_image(self, _image) -> None:
        self._forget_shown()

    @Slot(object, object, object)
    def _on_params(self, new, old, _groups) -> None:
        if new.multiply_by_input != old.multiply_by_input:  # the values probed were of the other quantity
            self._shown_map = None
            self.panel.clear()
