"""The application's state in one place (:class:`AppState`): what the widgets show and the exports write.

Widgets read it and subscribe to its signals; none keeps a copy of a parameter or a result. Every change goes
through one of its methods, so every subscriber sees every change:

* :meth:`AppState.apply` is the one path for new parameters — the editor, a click in the run history, opening
  a session and "Reset" all call it; it says which groups (model / compute / display) changed;
* each result (:class:`Result`) carries the exact parameters that made it: exports, summaries and the history
  read them from the result, never from the live parameters;
* the image shown (its prepared :class:`~.worker.ImageState`), the loaded model and the locked colour scale.

QSettings persistence subscribes to :attr:`AppState.params_changed` (see :class:`~.settings.AppSettings`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..core.params import Params

MAP = "map"


@dataclass(frozen=True)
class Result:
    """One finished computation: the ``outcome`` the worker returned (host data only) and the parameters of the
    job that made it (model and compute fields as submitted, display fields as they were then). ``key`` says
    for which image, model, parameters and tab options it was computed (staleness)."""

    kind: str
    outcome: Any
    params: Params
    key: tuple | None = None
    model_name: str = ""
    """The name of the model that computed it (exports caption with it, whatever model is loaded later)."""


class AppState(QObject):
    """See the module docstring."""

    params_changed = Signal(object, object, object)  # new Params, old Params, set of changed groups
    image_changed = Signal(object)  # ImageState | None
    result_changed = Signal(str)  # kind ("map" or a tab kind); the result may have been removed
    model_changed = Signal(object)  # ModelInfo | None
    lock_changed = Signal(object)  # float | None

    def __init__(self, params: Params | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._params = params if params is not None else Params()
        self._image = None
        self._results: dict[str, Result] = {}
        self._model_info = None
        self._locked_span: float | None = None

    # ------------------------------------------------------------------ parameters
    @property
    def params(self) -> Params:
        return self._params

    def apply(self, params: Params, *, keep_target: bool = False) -> set[str]:
        """Make ``params`` the current parameters and tell the subscribers; returns the changed groups.

        A target class belongs to its model: when the model changes and the target was not chosen along with it
        (``keep_target``: a session or a past run names both), the target goes back to the predicted class."""
        old = self._params
        if (not keep_target and params.model_key() != old.model_key() and params.target is not None
                and params.target == old.target):
            params = replace(params, target=None)
        groups = params.changed_groups(old)
        self._params = params
        if groups or params != old:
            self.params_changed.emit(params, old, groups)
        return groups

    # ------------------------------------------------------------------ image, model, scale
    @property
    def image(self):
        """The prepared state (:class:`~.worker.ImageState`) of the image shown, or None."""
        return self._image

    def set_image(self, image) -> None:
        if image is not self._image:
            self._image = image
            self.image_changed.emit(image)

    @property
    def model_info(self):
        return self._model_info

    def set_model(self, info) -> None:
        self._model_info = info
        self.model_changed.emit(info)

    @property
    def locked_span(self) -> float | None:
        return self._locked_span

    def set_locked_span(self, span: float | None) -> None:
        span = None if span is None else float(span)
        if span != self._locked_span:
            self._locked_span = span
            self.lock_changed.emit(span)

    # ------------------------------------------------------------------ results
    def result(self, kind: str) -> Result | None:
        return self._results.get(kind)

    def outcome(self, kind: str):
        r = self._results.get(kind)
        return None if r is None else r.outcome

    def results(self) -> dict[str, Result]:
        return dict(self._results)

    def set_result(self, result: Result) -> None:
        self._results[result.kind] = result
        self.result_changed.emit(result.kind)

    def drop_result(self, kind: str) -> None:
        if self._results.pop(kind, None) is not None:
            self.result_changed.emit(kind)

    def clear_results(self) -> None:
        for kind in list(self._results):
            self.drop_result(kind)

    def map_for_image(self):
        """The map result of the image shown (None when the last map belongs to another image)."""
        r = self._results.get(MAP)
        if r is None or self._image is None or r.outcome.state.key != self._image.key \
                or r.outcome.state.x.shape != self._image.x.shape:
            return None
        return r
