"""timm image classifiers, strictly offline.

* ``timm:NAME`` (``timm:convnext_tiny``, ``timm:vit_small_patch16_224``, ``timm:resnet50.a1_in1k``): the
  architecture from timm. Weights: ``--weights FILE`` (``.safetensors`` or a state_dict, read without running
  code), ``--weights random`` (a randomly initialised network), or by default timm's pretrained files for that
  name already in the local Hugging Face cache (``<HF cache>/models--timm--NAME``), or for the few older entries
  with a plain URL, in the torch hub cache. Nothing is downloaded: missing weights are one line naming where
  they were looked for.
* A folder in timm's hub layout (``config.json`` with ``architecture`` and ``pretrained_cfg``, and
  ``model.safetensors``), given as ``--model FOLDER`` or as ``hf:ORG/NAME`` when it is in the local cache.

Weights always go through timm's own pretrained-loading path (as a state dict handed over in memory), so timm's
checkpoint filters and classifier checks apply exactly as for its own downloads. Preprocessing is timm's own
``create_transform`` of ``resolve_model_data_config(model)`` (input size, interpolation, crop percentage and mode,
mean and std from the model's pretrained config); class names come from that config (``label_names`` /
``label_descriptions``) or timm's ImageNet tables when the config is an ImageNet one.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import torch

from ..errors import ModelLoadError
from ..paths import display_name, printable, resolve_path
from .base import ImagePipeline, LoadedModel, TransformPipeline, sha256_file
from .hub import cached_snapshot, config_sha256, hf_cache_dir, import_timm, repo_folder_name, weights_file
from .vit_fast import class_token_vit
from .weights import load_state_dict_file

_PIL_INTERPOLATION = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3, "box": 4, "hamming": 5}


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return printable(lines[0] if lines else type(exc).__name__, limit=200)


def _cfg_dict(cfg) -> dict:
    if cfg is None:
        return {}
    if hasattr(cfg, "to_dict"):
        return dict(cfg.to_dict())
    return dict(cfg)


def _hash_cfg(cfg: dict) -> str:
    clean = {k: v for k, v in cfg.items() if k != "state_dict"}
    return hashlib.sha256(json.dumps(clean, sort_keys=True, default=str).encode()).hexdigest()


def geometry_from_data_config(data_cfg: dict) -> tuple[ImagePipeline, bool, str]:
    """The resize and crop timm's eval transform applies for a resolved data config, as an :class:`ImagePipeline`;
    whether it is exact (False when timm keeps the aspect ratio in a way the pipeline only approximates); and a
    one-line description of the transform's settings."""
    channels, height, width = (int(v) for v in data_cfg["input_size"])
    crop_pct = float(data_cfg.get("crop_pct") or 0.875)
    mode = data_cfg.get("crop_mode") or "center"
    scaled = (math.floor(height / crop_pct), math.floor(width / crop_pct))
    if mode == "squash":
        resize = ("exact", scaled)
    elif mode == "center" and scaled[0] == scaled[1]:
        resize = ("short", scaled[0])
    else:  # 'border' or a non-square centre crop: timm keeps the ratio (ResizeKeepRatio); the box is approximate
        resize = ("exact", scaled)
    exact = mode == "squash" or (mode == "center" and scaled[0] == scaled[1])
    geometry = ImagePipeline(
        channels=channels, resize=resize, crop=(height, width),
        mean=tuple(float(v) for v in data_cfg["mean"]), std=tuple(float(v) for v in data_cfg["std"]),
        interpolation=_PIL_INTERPOLATION.get(str(data_cfg.get("interpolation")), 3),
    )
    return geometry, exact, f"{data_cfg.get('interpolation')}, crop_pct {crop_pct}, crop_mode {mode}"


def pipeline_for(timm, model: torch.nn.Module) -> tuple[TransformPipeline, dict]:
    """timm's own eval transform for ``model``, with its geometry as an :class:`ImagePipeline` for display."""
    data_cfg = timm.data.resolve_model_data_config(model)
    transform = timm.data.create_transform(**data_cfg, is_training=False)
    geometry, exact, settings = geometry_from_data_config(data_cfg)
    source = f"timm {timm.__version__} create_transform ({settings})"
    return TransformPipeline(transform=transform, geometry=geometry, source=source, exact=exact), data_cfg


def labels_for(timm, model: torch.nn.Module, base_cfg: dict) -> list[str]:
    """Class names from the pretrained config (``label_names``/``label_descriptions``), else timm's ImageNet tables
    when the config is an ImageNet one with as many classes as the model; else ``class i``."""
    n = int(getattr(model, "num_classes", 0) or 0)
    names = base_cfg.get("label_names")
    descriptions = base_cfg.get("label_descriptions")
    labels: list[str] = []
    if isinstance(descriptions, dict) and names:
        labels = [str(descriptions.get(k, k)) for k in names]
    elif isinstance(descriptions, (list, tuple)):
        labels = [str(v) for v in descriptions]
    elif names:
        labels = [str(v) for v in names]
    elif base_cfg.get("num_classes") == n:
        subset = timm.data.infer_imagenet_subset(base_cfg)
        if subset:
            try:
                labels = list(timm.data.ImageNetInfo(subset).label_descriptions())
            except (AssertionError, OSError, ValueError, KeyError):
                labels = []
    return labels if len(labels) == n else [f"class {i}" for i in range(n)]


def _classifier_classes(state: dict, cfg: dict) -> int | None:
    classifier = cfg.get("classifier") or "head"
    if isinstance(classifier, (list, tuple)):
        classifier = classifier[0]
    weight = state.get(f"{classifier}.weight")
    return int(weight.shape[0]) if weight is not None and weight.dim() >= 1 else None


def _create(timm, name: str, what: str, **kwargs) -> torch.nn.Module:
    try:
        model = timm.create_model(name, **kwargs)
    except (RuntimeError, ValueError, KeyError, TypeError, AssertionError, AttributeError, OSError) as exc:
        raise ModelLoadError(f"{what}: {_first_line(exc)}") from exc
    cfg = getattr(model, "pretrained_cfg", None)
    if isinstance(cfg, dict):
        cfg.pop("state_dict", None)  # timm keeps the dict it was handed: drop it, the weights live in the model
    return model


def _finish(timm, model: torch.nn.Module, device: torch.device, *, spec: str, name: str, base_cfg: dict,
            weights_path: Path | None, notes: list[str], source: dict) -> LoadedModel:
    model.eval().requires_grad_(False)
    model = model.to(device)
    pipeline, data_cfg = pipeline_for(timm, model)
    labels = labels_for(timm, model, base_cfg)
    module, prepared = class_token_vit(model, tuple(int(v) for v in data_cfg["input_size"]))
    if prepared:
        notes = [*notes, prepared]
    source = {"library": "timm", "version": timm.__version__, **source,
              "num_classes": int(getattr(model, "num_classes", 0) or 0),
              "data_config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in data_cfg.items()}}
    return LoadedModel(
        spec=spec, kind="timm", name=name, module=module, device=device, labels=labels, pipeline=pipeline,
        weights_path=weights_path, weights_sha256=sha256_file(weights_path) if weights_path else None,
        notes=notes, source=source,
    )


def _pretrained_location(timm, name: str, cfg: dict) -> tuple[Path | None, list[Path]]:
    """Where timm's pretrained weights for ``name`` would be on this machine: (the file if present, every place
    looked at)."""
    looked: list[Path] = []
    hub_id = cfg.get("hf_hub_id")
    if hub_id:
        cache = hf_cache_dir()
        looked.append(cache / repo_folder_name(hub_id.split("@")[0]))
        folder = cached_snapshot(hub_id.split("@")[0], cache)
        if folder is not None:
            wanted = cfg.get("hf_hub_filename")
            found = folder / wanted if wanted and (folder / wanted).is_file() else weights_file(folder)
            if found is not None:
                return found, looked
    url = cfg.get("url")
    if url:
        path = Path(torch.hub.get_dir()) / "checkpoints" / Path(url.split("?")[0]).name
        looked.append(path)
        if path.is_file():
            return path, looked
    return None, looked


def load_timm(name: str, weights: str | None, device: torch.device) -> LoadedModel:
    """``timm:NAME`` with ``weights`` a file, ``random``, or None for timm's pretrained files in the local cache."""
    timm = import_timm()
    name = name.strip()
    spec = f"timm:{name}"
    if ":" in name or "/" in name:  # timm's own hf-hub:/local-dir: sources would reach for the hub or a path
        raise ModelLoadError(f"timm:{printable(name)}: not a timm model name; use hf:ORG/NAME for a repository in "
                             f"the local Hugging Face cache, or the model folder itself")
    if not name or not timm.is_model(name):
        raise ModelLoadError(f"unknown timm model {printable(name)!r}: see timm.list_models() for the architecture "
                             f"names")
    try:
        base_cfg = _cfg_dict(timm.models.get_pretrained_cfg(name))
    except RuntimeError as exc:  # an unknown pretrained tag
        raise ModelLoadError(f"{spec}: {_first_line(exc)}") from exc
    notes: list[str] = []
    source = {"model": name, "pretrained_tag": base_cfg.get("tag"), "config_sha256": _hash_cfg(base_cfg)}
    if weights == "random":
        model = _create(timm, name, spec, pretrained=False)
        notes.append("random weights (not trained)")
        return _finish(timm, model, device, spec=spec, name=f"{name} (random weights)", base_cfg=base_cfg,
                       weights_path=None, notes=notes, source=source)
    if weights:
        path = resolve_path(weights)
        label = f"{name} ({display_name(path)})"
    else:
        path, looked = _pretrained_location(timm, name, base_cfg)
        if path is None:
            where = " and ".join(printable(p) for p in looked) or "nowhere (timm lists no pretrained file for it)"
            raise ModelLoadError(
                f"weights for {spec} not found: looked in {where}; copy the model's files there, or pass "
                f"--weights FILE (.safetensors or state_dict) or --weights random; nothing is downloaded")
        label = f"{name} (pretrained, local cache)"
    state = load_state_dict_file(path)
    classes = _classifier_classes(state, base_cfg) or base_cfg.get("num_classes") or 1000
    model = _create(timm, name, f"{display_name(path)}: weights do not fit timm model {name}", pretrained=True,
                    num_classes=classes,
                    # the state dict outranks every other source, and source="" keeps an 'hf-hub' config from
                    # sending timm to the hub client
                    pretrained_cfg_overlay={"state_dict": state, "num_classes": classes, "source": ""})
    del state
    return _finish(timm, model, device, spec=spec, name=label, base_cfg=base_cfg, weights_path=path, notes=notes,
                   source=source)


def load_timm_folder(folder: Path, config: dict, device: torch.device, spec: str,
                     display: str | None = None) -> LoadedModel:
    """A folder in timm's hub layout (``config.json`` + ``model.safetensors``)."""
    timm = import_timm()
    display = display or display_name(folder)
    path = weights_file(folder)
    if path is None:
        raise ModelLoadError(f"{display}: no weights in this folder (looked for model.safetensors and "
                             f"pytorch_model.bin in {printable(folder)})")
    architecture = str(config.get("architecture"))
    if not timm.is_model(architecture):
        raise ModelLoadError(f"{display}: unknown timm architecture {printable(architecture)!r} in config.json "
                             f"(timm {timm.__version__})")
    state = load_state_dict_file(path)
    # timm's own reader of this layout (pretrained_cfg, model_args, labels), weights handed over in memory
    model = _create(timm, f"local-dir:{folder}", f"{display_name(path)}: weights do not fit {printable(architecture)}",
                    pretrained=True,
                    pretrained_cfg_overlay={"state_dict": state, "source": "", "file": None})
    del state
    base_cfg = _cfg_dict(getattr(model, "pretrained_cfg", None))
    source = {"model": display, "architecture": architecture, "folder": str(folder), "pretrained_tag": base_cfg.get("tag"),
              "config_sha256": config_sha256(folder)}
    return _finish(timm, model, device, spec=spec, name=f"{architecture} ({display})", base_cfg=base_cfg,
                   weights_path=path, notes=[], source=source)
