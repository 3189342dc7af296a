"""Loading weights files safely: ``.safetensors`` (tensors only, by design) or ``torch.load(weights_only=True)``, never
a pickle that can run code."""

from __future__ import annotations

import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import torch

from ..errors import ModelLoadError

SAFETENSORS_SUFFIX = ".safetensors"
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "weights")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def load_state_dict_file(path: str | Path) -> "OrderedDict[str, torch.Tensor]":
    """Read a plain state_dict (tensors keyed by name). Anything else is refused without running it."""
    path = Path(path)
    if path.is_dir():
        raise ModelLoadError(f"{path.name}: is a folder, not a weights file")
    if not path.is_file():
        raise ModelLoadError(f"{path}: weights file not found")
    try:
        obj = (load_safetensors_file(path) if path.suffix.lower() == SAFETENSORS_SUFFIX
               else torch.load(path, map_location="cpu", weights_only=True))
    except pickle.UnpicklingError as exc:
        raise ModelLoadError(
            f"{path.name}: refused: not a plain state_dict (it holds Python objects that would run code when "
            f"unpickled; only tensors are loaded)"
        ) from exc
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, AttributeError, KeyError) as exc:
        raise ModelLoadError(f"{path.name}: cannot read weights ({_first_line(exc)})") from exc
    if isinstance(obj, dict):
        for key in _WRAPPER_KEYS:
            inner = obj.get(key)
            if isinstance(inner, dict) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                obj = inner
                break
    if not isinstance(obj, dict) or not obj:
        raise ModelLoadError(f"{path.name}: not a state_dict (found {type(obj).__name__}, expected a dict of tensors)")
    bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise ModelLoadError(f"{path.name}: not a plain state_dict (entry {bad[0]!r} is not a tensor)")
    prefix = "module."
    if all(k.startswith(prefix) for k in obj):  # saved from DataParallel / DDP
        obj = OrderedDict((k[len(prefix):], v) for k, v in obj.items())
    return OrderedDict(obj)


def load_safetensors_file(path: Path) -> "OrderedDict[str, torch.Tensor]":
    """A ``.safetensors`` file: a JSON header and raw tensors, nothing that could run code."""
    try:
        from safetensors import SafetensorError
        from safetensors.torch import load_file
    except ImportError as exc:  # a declared dependency; only a broken installation lacks it
        raise ModelLoadError(f"{path.name}: the safetensors package is not installed ({exc})") from exc
    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"{path.name}: cannot read weights ({_first_line(exc)})") from exc
    if not state:
        raise ModelLoadError(f"{path.name}: the safetensors file holds no tensors")
    return OrderedDict(state)


def apply_state_dict(module: torch.nn.Module, state: dict, source: str) -> None:
    """``load_state_dict(strict=True)`` with a one-line message naming missing/unexpected keys or bad shapes."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        def show(keys):
            return ", ".join(keys[:4]) + (f" (+{len(keys) - 4} more)" if len(keys) > 4 else "")
        parts = []
        if missing:
            parts.append(f"missing keys: {show(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {show(unexpected)}")
        raise ModelLoadError(f"{source}: weights do not fit this architecture; " + "; ".join(parts))
    shapes = [k for k in own if tuple(own[k].shape) != tuple(state[k].shape)]
    if shapes:
        k = shapes[0]
        raise ModelLoadError(
            f"{source}: weights do not fit this architecture; {k} has shape {tuple(state[k].shape)}, "
            f"expected {tuple(own[k].shape)}" + (f" (+{len(shapes) - 1} more)" if len(shapes) > 1 else "")
        )
    module.load_state_dict(state, strict=True)
