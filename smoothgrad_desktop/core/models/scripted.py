"""TorchScript (``.pt``/``.ts``) and ``torch.export`` (``.pt2``) model files.

Both are programs, not just weights: they are loaded only when the user names the file, and the UI says so.
The model must take a ``(N, C, H, W)`` float tensor and return ``(N, K)`` scores.

Preprocessing and labels come from an optional JSON file beside the model (``model.pt.json`` or ``model.json``)::

    {"channels": 3, "resize_short": 256, "crop": [224, 224], "input_size": [H, W],
     "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "labels": ["cat", "dog", ...]}

Every key is optional; without the file, images are fed as RGB scaled to [0, 1] at their native size.
"""

from __future__ import annotations

import json
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


def _sidecar(path: Path) -> dict:
    for candidate in (path.with_name(path.name + ".json"), path.with_suffix(".json")):
        if candidate.is_file():
            try:
                data = json.loads(candidate.read_text())
            except (OSError, ValueError) as exc:
                raise ModelLoadError(f"{candidate.name}: cannot read model description ({exc})") from exc
            if not isinstance(data, dict):
                raise ModelLoadError(f"{candidate.name}: model description must be a JSON object")
            return data
    return {}


def pipeline_from_sidecar(meta: dict) -> ImagePipeline:
    resize = None
    if "input_size" in meta:
        h, w = meta["input_size"]
        resize = ("exact", (int(h), int(w)))
    elif "resize_short" in meta:
        resize = ("short", int(meta["resize_short"]))
    elif "resize_height" in meta:
        resize = ("height", int(meta["resize_height"]))
    crop = tuple(int(v) for v in meta["crop"]) if "crop" in meta else None
    mean = tuple(float(v) for v in meta["mean"]) if "mean" in meta else None
    std = tuple(float(v) for v in meta["std"]) if "std" in meta else None
    return ImagePipeline(channels=int(meta.get("channels", 3)), resize=resize, crop=crop, mean=mean, std=std)


def is_model_file(spec: str) -> bool:
    return Path(spec).suffix.lower() in SCRIPT_SUFFIXES + EXPORT_SUFFIXES


def load_model_file(path: Path, device: torch.device) -> LoadedModel:
    if path.is_dir():
        raise ModelLoadError(f"{path.name}: is a folder, not a model file")
    if not path.is_file():
        raise ModelLoadError(f"{path}: model file not found")
    exported = path.suffix.lower() in EXPORT_SUFFIXES or _is_export_archive(path)
    if exported:
        module = load_export(path)  # inspected first: nothing is unpickled beyond weights_only, no eval, no exec
        kind = "export"
    else:
        module, kind = _load_script(path), "torchscript"
    return _finish(path, module, kind, device)


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


def _finish(path: Path, module, kind: str, device: torch.device) -> LoadedModel:
    exported = kind == "export"
    try:
        module.eval()
    except (NotImplementedError, RuntimeError):  # exported GraphModules may refuse mode switches
        pass
    if hasattr(module, "parameters"):
        for p in module.parameters():
            p.requires_grad_(False)
    module = module.to(device)
    meta = _sidecar(path)
    labels = [str(v) for v in meta.get("labels", [])]
    notes = [f"{'torch.export program' if exported else 'TorchScript model'}: code loaded from a file you chose"]
    return LoadedModel(
        spec=str(path), kind=kind, name=path.name, module=module, device=device, labels=labels,
        pipeline=pipeline_from_sidecar(meta), weights_path=path, weights_sha256=sha256_file(path),
        guided_ok=exported, notes=notes,
    )
