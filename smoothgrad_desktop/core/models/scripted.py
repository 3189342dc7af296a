"""TorchScript (``.pt``/``.ts``) and ``torch.export`` (``.pt2``) model files.

Both are programs, not just weights: they are loaded only when the user names the file, and the UI says so.
The model must take a ``(N, C, H, W)`` float tensor and return ``(N, K)`` scores.

Preprocessing and labels come from an optional JSON object beside the model (``model.pt.json``, else
``model.json``), read and validated *before* the program is loaded::

    {"channels": 3, "resize_short": 256, "crop": 224,
     "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "labels": ["cat", "dog", ...]}

* ``channels``: 1 (greyscale) or 3 (RGB, the default);
* at most one resize: ``input_size`` ``[height, width]`` (exact; one integer means a square), ``resize_short``
  (the shorter side becomes this, aspect kept) or ``resize_height`` (the height becomes this, at least square);
  sizes are integers from 1 to ``schema.MAX_INPUT_SIDE``;
* ``crop``: a centre crop ``[height, width]`` or one integer (a square), after the resize;
* ``mean`` and ``std`` together: one number or one per channel (``std`` > 0), applied after scaling pixels to
  [0, 1];
* ``labels``: the class names, a list of strings.

Every key is optional; keys starting with ``_`` are comments; any other key is an error, as is a value of the
wrong form (one line naming the key and the form expected). Without the file, images are fed as RGB scaled to
[0, 1] at their native size.
"""

from __future__ import annotations

import json
import math
import warnings
import zipfile
from pathlib import Path

import torch

from ..errors import ModelLoadError
from ..paths import display_name, printable
from .base import ImagePipeline, LoadedModel, sha256_file
from .pt2 import load_export

SCRIPT_SUFFIXES = (".pt", ".pth", ".ts", ".torchscript", ".jit")
EXPORT_SUFFIXES = (".pt2",)


SIDECAR_KEYS = ("channels", "input_size", "resize_short", "resize_height", "crop", "mean", "std", "labels")
MAX_SIDECAR_BYTES = 16 << 20


def sidecar_path(path: Path) -> Path | None:
    """The model description beside ``path``: ``model.pt.json``, else ``model.json``; ``None`` when neither."""
    for candidate in (path.with_name(path.name + ".json"), path.with_suffix(".json")):
        if candidate.is_file():
            return candidate
    return None


def _sidecar(path: Path) -> dict:
    candidate = sidecar_path(path)
    if candidate is None:
        return {}
    name = display_name(candidate)
    try:
        if candidate.stat().st_size > MAX_SIDECAR_BYTES:
            raise ModelLoadError(f"{name}: model description larger than {MAX_SIDECAR_BYTES >> 20} MB")
        data = json.loads(candidate.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise ModelLoadError(f"{name}: model description is not UTF-8 text") from None
    except ValueError as exc:
        raise ModelLoadError(f"{name}: model description is not valid JSON ({printable(exc, limit=100)})") from None
    except OSError as exc:
        raise ModelLoadError(f"{name}: cannot read model description ({printable(exc.strerror or exc)})") from None
    if not isinstance(data, dict):
        raise ModelLoadError(f"{name}: model description must be a JSON object, got {type(data).__name__}")
    return data


def _size_pair(value, key: str, source: str) -> tuple[int, int]:
    """``224`` -> ``(224, 224)``; ``[h, w]`` -> ``(h, w)``; each an integer from 1 to MAX_INPUT_SIDE."""
    from ..schema import MAX_INPUT_SIDE

    items = [value, value] if _is_int(value) else value
    if not (isinstance(items, list) and len(items) == 2 and all(_is_int(v) for v in items)
            and all(1 <= v <= MAX_INPUT_SIDE for v in items)):
        raise ModelLoadError(f"{source}: \"{key}\" must be [height, width] or one integer (a square), each from 1 "
                             f"to {MAX_INPUT_SIDE}; got {_shown(value)}")
    return int(items[0]), int(items[1])


def _size(value, key: str, source: str) -> int:
    from ..schema import MAX_INPUT_SIDE

    if not (_is_int(value) and 1 <= value <= MAX_INPUT_SIDE):
        raise ModelLoadError(f"{source}: \"{key}\" must be an integer from 1 to {MAX_INPUT_SIDE}; got {_shown(value)}")
    return int(value)


def _numbers(value, key: str, source: str, channels: int, positive: bool) -> tuple[float, ...]:
    items = [value] * channels if _is_number(value) else value
    ok = (isinstance(items, list) and len(items) == channels and all(_is_number(v) for v in items)
          and all(math.isfinite(v) and (v > 0 or not positive) for v in items))
    if not ok:
        what = "positive numbers" if positive else "numbers"
        raise ModelLoadError(f"{source}: \"{key}\" must be one number or a list of {channels} finite {what} (one "
                             f"per channel); got {_shown(value)}")
    return tuple(float(v) for v in items)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _shown(value) -> str:
    return printable(json.dumps(value), limit=60)


def parse_sidecar(meta: dict, source: str = "model description") -> tuple[ImagePipeline, list[str]]:
    """The preprocessing and class names a model description asks for, validated (see the module docstring).
    Every problem is one :class:`ModelLoadError` line naming the key and the expected form."""
    unknown = [k for k in meta if k not in SIDECAR_KEYS and not str(k).startswith("_")]
    if unknown:
        raise ModelLoadError(f"{source}: unknown key {_shown(unknown[0])}; the keys are {', '.join(SIDECAR_KEYS)} "
                             f"(keys starting with _ are comments)")
    channels = meta.get("channels", 3)
    if not (_is_int(channels) and channels in (1, 3)):
        raise ModelLoadError(f"{source}: \"channels\" must be 1 (greyscale) or 3 (RGB); got {_shown(channels)}")
    resizes = [k for k in ("input_size", "resize_short", "resize_height") if k in meta]
    if len(resizes) > 1:
        raise ModelLoadError(f"{source}: give one of \"input_size\", \"resize_short\" and \"resize_height\", "
                             f"not {' and '.join(resizes)}")
    resize = None
    if "input_size" in meta:
        resize = ("exact", _size_pair(meta["input_size"], "input_size", source))
    elif "resize_short" in meta:
        resize = ("short", _size(meta["resize_short"], "resize_short", source))
    elif "resize_height" in meta:
        resize = ("height", _size(meta["resize_height"], "resize_height", source))
    crop = _size_pair(meta["crop"], "crop", source) if "crop" in meta else None
    mean = _numbers(meta["mean"], "mean", source, channels, False) if "mean" in meta else None
    std = _numbers(meta["std"], "std", source, channels, True) if "std" in meta else None
    if (mean is None) != (std is None):
        raise ModelLoadError(f"{source}: give both \"mean\" and \"std\", or neither")
    labels = meta.get("labels", [])
    if not (isinstance(labels, list) and all(isinstance(v, str) for v in labels)):
        raise ModelLoadError(f"{source}: \"labels\" must be a list of class names (strings); got {_shown(labels)}")
    pipeline = ImagePipeline(channels=channels, resize=resize, crop=crop, mean=mean, std=std)
    return pipeline, [printable(v, limit=200) for v in labels]


def is_model_file(spec: str) -> bool:
    return Path(spec).suffix.lower() in SCRIPT_SUFFIXES + EXPORT_SUFFIXES


def load_model_file(path: Path, device: torch.device) -> LoadedModel:
    if path.is_dir():
        raise ModelLoadError(f"{display_name(path)}: is a folder, not a model file")
    if not path.is_file():
        raise ModelLoadError(f"{printable(path)}: model file not found")
    # the description first: a malformed one is refused before the program is loaded
    meta = _sidecar(path)
    described = sidecar_path(path)
    pipeline, labels = parse_sidecar(meta, display_name(described) if described else "model description")
    exported = path.suffix.lower() in EXPORT_SUFFIXES or _is_export_archive(path)
    if exported:
        module = load_export(path)  # inspected first: nothing is unpickled beyond weights_only, no eval, no exec
        kind = "export"
    else:
        module, kind = _load_script(path), "torchscript"
    return _finish(path, module, kind, device, pipeline, labels)


def _is_export_archive(path: Path) -> bool:
    """True for a zip that looks like a torch.export archive whatever its name (``archive_format`` inside, or the
    old layout's ``serialized_exported_program.json``): it then goes through the export inspection, never
    through ``torch.jit.load``."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False
    return any(n == "archive_format" or n.endswith("/archive_format") or n == "serialized_exported_program.json"
               for n in names)


def _load_script(path: Path):
    try:
        with warnings.catch_warnings():
            # torch marks TorchScript deprecated; the user chose this file, the notice is not theirs to act on
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError, OSError, zipfile.BadZipFile, KeyError, AttributeError, TypeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ModelLoadError(f"{display_name(path)}: not a TorchScript model ({printable(first)}); a plain "
                             f"state_dict needs an architecture name with --weights") from exc


def _finish(path: Path, module, kind: str, device: torch.device, pipeline: ImagePipeline,
            labels: list[str]) -> LoadedModel:
    exported = kind == "export"
    try:
        module.eval()
    except (NotImplementedError, RuntimeError):  # exported GraphModules may refuse mode switches
        pass
    if hasattr(module, "parameters"):
        for p in module.parameters():
            p.requires_grad_(False)
    module = module.to(device)
    notes = [f"{'torch.export program' if exported else 'TorchScript model'}: code loaded from a file you chose"]
    return LoadedModel(
        spec=str(path), kind=kind, name=path.name, module=module, device=device, labels=labels,
        pipeline=pipeline, weights_path=path, weights_sha256=sha256_file(path),
        guided_ok=exported, notes=notes,
    )
