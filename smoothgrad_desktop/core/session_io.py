"""Session files for the GUI: the window's state <-> core :class:`~..core.session.Session` (no Qt here).

What a GUI session holds (core ``Session``): the image files (absolute paths and SHA-256), the current image, the
model spec, weights argument and weights hash, the device the maps were computed on, the target, the smoothing
configuration with the batch size actually used (so reopening reproduces the maps bit for bit on the same
device), and under ``display`` the display parameters, the locked colour scale (if any) and the current tab.
Images that were pasted or dropped as data have no file and cannot be part of a session; they are reported.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .session import SUFFIX, Session, session_for
from .smoothing import SmoothingConfig
from .params import DISPLAY_FIELDS, Params

__all__ = ["SUFFIX", "build_session", "params_from_session", "display_state"]


class _ModelRef:
    """What core ``session_for`` reads from a loaded model, built from the GUI's ModelInfo."""

    def __init__(self, spec: str, weights_arg: str | None, weights_sha256: str | None,
                 transform_input: bool | None = None) -> None:
        self.spec, self.weights_arg, self.weights_sha256 = spec, weights_arg, weights_sha256
        self.layout = {} if transform_input is None else {"transform_input": transform_input}


def build_session(params: Params, model_info, image_paths: list[Path], current: int, *, batch_size: int | None,
                  device: str | None = None, locked_span: float | None = None, tab: str | None = None) -> Session:
    """A session for the window's state. ``batch_size``: the batch size of the last run (None: automatic)."""
    config = replace(params.config(), batch_size=batch_size or (params.batch_size or None))
    display = {"params": {f: getattr(params, f) for f in DISPLAY_FIELDS}, "locked_span": locked_span, "tab": tab}
    weights_arg = getattr(model_info, "weights_arg", None) if model_info is not None else None
    model = _ModelRef(model_info.spec if model_info is not None else params.model,
                      weights_arg if weights_arg is not None else (params.weights or None),
                      getattr(model_info, "weights_sha256", None) if model_info is not None else None,
                      dict(getattr(model_info, "layout", ()) or ()).get("transform_input", params.layout_option())
                      if model_info is not None else params.layout_option())
    target = "predicted" if params.target is None else int(params.target)
    return session_for(model, image_paths, config, device=device or params.device, target=target,
                       current=current, display=display)


def params_from_session(session: Session, base: Params) -> Params:
    """The GUI parameters of ``session`` (display parameters it lacks keep ``base``'s values)."""
    cfg: SmoothingConfig = session.config
    target = session.target
    if isinstance(target, str):
        target = None if target.strip().lower() in ("", "predicted") else target
    data = base.to_dict()
    data.update({
        "model": session.model_spec, "weights": session.weights or "", "device": session.device,
        "transform_input": base.transform_input if session.transform_input is None else session.transform_input,
        "method": cfg.method, "aggregation": cfg.aggregation, "noise_level": cfg.noise_level,
        "n_samples": cfg.n_samples, "steps": cfg.steps, "seed": cfg.seed, "target": target,
        "batch_size": cfg.batch_size or 0,
    })
    shown = (session.display or {}).get("params")
    if isinstance(shown, dict):
        data.update({k: v for k, v in shown.items() if k in DISPLAY_FIELDS})
    return Params.from_dict(data)


def display_state(session: Session) -> tuple[float | None, str | None]:
    """``(locked span or None, tab kind or None)`` stored in the session's display block."""
    display = session.display or {}
    span = display.get("locked_span")
    try:
        span = float(span) if span is not None else None
    except (TypeError, ValueError):
        span = None
    if span is not None and not (span > 0 and span < float("inf")):
        span = None
    tab = display.get("tab")
    return span, tab if isinstance(tab, str) else None
