"""Hugging Face transformers image classifiers, strictly offline.

A folder in the ``save_pretrained`` layout (``config.json`` + ``model.safetensors``, optionally
``preprocessor_config.json``), given as ``--model FOLDER`` or as ``hf:ORG/NAME`` when the repository is in the local
Hugging Face cache. The network is ``AutoModelForImageClassification`` (``local_files_only=True``,
``trust_remote_code=False``: a repository's own Python code is never run); the class scores are
``outputs.logits``; class names are ``config.id2label``. Preprocessing is the model's own image processor
(``AutoImageProcessor`` from ``preprocessor_config.json``); without that file, the default image processor
transformers registers for the model type, at the ``image_size`` of ``config.json``, and a note says so.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch import nn

from ..errors import ModelLoadError
from ..paths import display_name, printable
from .base import ImagePipeline, LoadedModel, TransformPipeline, sha256_file
from .hub import config_sha256, import_transformers, weights_file


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return printable(lines[0] if lines else type(exc).__name__, limit=200)


class LogitsModule(nn.Module):
    """``pixel_values -> outputs.logits``: a transformers classifier as a plain ``(N, C, H, W) -> (N, K)`` module."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=pixel_values).logits


def _field(obj, key: str):
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def geometry_of(processor, channels: int = 3, processor_type: str | None = None) -> tuple[ImagePipeline, bool]:
    """The resize and crop an image processor applies, as an :class:`ImagePipeline` (for the box on the original
    image and for display), and whether it is exact (False for size rules it cannot express). ``processor`` may
    also be the dict of a ``preprocessor_config.json``, with ``processor_type`` its ``image_processor_type``."""
    processor_type = processor_type or type(processor).__name__
    size = _field(processor, "size")
    resize, crop, exact = None, None, True
    if _field(processor, "do_resize") is not False and size is not None:
        height, width = _field(size, "height"), _field(size, "width")
        short = _field(size, "shortest_edge")
        crop_pct = _field(processor, "crop_pct")
        if height and width:
            resize = ("exact", (int(height), int(width)))
        elif short and crop_pct and processor_type.startswith("ConvNext"):
            if short < 384:  # ConvNeXT: shortest edge to short / crop_pct, then a centre crop to short
                resize, crop = ("short", int(short / crop_pct)), (int(short), int(short))
            else:
                resize = ("exact", (int(short), int(short)))
        elif short:
            resize = ("short", int(short))
        else:
            exact = False
    if _field(processor, "do_center_crop"):
        crop_size = _field(processor, "crop_size")
        ch, cw = _field(crop_size, "height"), _field(crop_size, "width")
        if ch and cw:
            crop = (int(ch), int(cw))
    mean = _field(processor, "image_mean") if _field(processor, "do_normalize") is not False else None
    std = _field(processor, "image_std") if _field(processor, "do_normalize") is not False else None
    if isinstance(mean, (int, float)):
        mean = [mean] * channels
    if isinstance(std, (int, float)):
        std = [std] * channels
    resample = _field(processor, "resample")
    try:
        interpolation = int(getattr(resample, "value", resample)) if resample is not None else 2
    except (TypeError, ValueError):
        interpolation = 2
    geometry = ImagePipeline(
        channels=channels, resize=resize, crop=crop,
        mean=tuple(float(v) for v in mean) if mean is not None else None,
        std=tuple(float(v) for v in std) if std is not None else None, interpolation=interpolation)
    return geometry, exact


def _default_processor(transformers, config):
    """The image processor transformers registers for ``config``'s model type, sized by ``config.image_size``."""
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING

    try:
        entry = IMAGE_PROCESSOR_MAPPING[type(config)]
    except KeyError:
        return None
    if isinstance(entry, dict):  # transformers 5: {"torchvision": cls, "pil": cls}
        cls = entry.get("torchvision") or entry.get("pil")
    else:  # transformers 4: (slow, fast)
        cls = next((c for c in reversed(tuple(entry)) if c is not None), None)
    if cls is None:
        return None
    processor = cls()
    image_size = getattr(config, "image_size", None)
    if isinstance(image_size, (list, tuple)):
        image_size = image_size[0]
    if isinstance(image_size, int) and image_size > 0:
        size = _field(processor, "size")
        if _field(size, "height") and _field(size, "width"):
            processor = cls(size={"height": image_size, "width": image_size})
        elif _field(size, "shortest_edge"):
            processor = cls(size={"shortest_edge": image_size})
    return processor


def _weights_digest(folder: Path) -> tuple[Path | None, str | None]:
    path = weights_file(folder)
    if path is not None:
        return path, sha256_file(path)
    index = folder / "model.safetensors.index.json"
    if index.is_file():  # sharded: the digest of the shards' digests, in file-name order
        digest = hashlib.sha256()
        for shard in sorted(folder.glob("model-*.safetensors")):
            digest.update(bytes.fromhex(sha256_file(shard)))
        return index, digest.hexdigest()
    return None, None


def load_transformers_folder(folder: Path, device: torch.device, spec: str, display: str | None = None) -> LoadedModel:
    transformers = import_transformers()
    display = display or display_name(folder)
    weights_path, weights_sha = _weights_digest(folder)
    if weights_path is None:
        raise ModelLoadError(f"{display}: no weights in {printable(folder)} (looked for model.safetensors, "
                             f"model.safetensors.index.json and pytorch_model.bin)")
    try:
        config = transformers.AutoConfig.from_pretrained(str(folder), local_files_only=True, trust_remote_code=False)
        model = transformers.AutoModelForImageClassification.from_pretrained(
            str(folder), config=config, local_files_only=True, trust_remote_code=False)
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, AttributeError, ImportError) as exc:
        raise ModelLoadError(f"{display}: cannot load it as a transformers image classifier "
                             f"({_first_line(exc)})") from exc
    notes: list[str] = []
    if (folder / "preprocessor_config.json").is_file():
        try:
            processor = transformers.AutoImageProcessor.from_pretrained(
                str(folder), local_files_only=True, trust_remote_code=False)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, ImportError) as exc:
            raise ModelLoadError(f"preprocessor_config.json in {display}: cannot read it "
                                 f"({_first_line(exc)})") from exc
    else:
        processor = _default_processor(transformers, config)
        if processor is None:
            raise ModelLoadError(f"{display}: no preprocessor_config.json, and transformers has no default image "
                                 f"processor for model type {printable(config.model_type)!r}; copy that file too")
        notes.append(f"no preprocessor_config.json: transformers' default {type(processor).__name__} for "
                     f"{config.model_type}, sized from config.json")
    channels = int(getattr(config, "num_channels", 3) or 3)
    geometry, exact = geometry_of(processor, channels)

    def transform(image, _processor=processor):
        return _processor(images=image, return_tensors="pt")["pixel_values"][0]

    source_text = f"transformers {transformers.__version__} {type(processor).__name__}"
    if not exact:
        source_text += " (its size rule is not shown; the input box on the image is approximate)"
    rescale = _field(processor, "rescale_factor") if _field(processor, "do_rescale") is not False else 1.0
    pipeline = TransformPipeline(transform=transform, geometry=geometry, source=source_text,
                                 scale=float(rescale or 1.0 / 255.0), exact=exact)
    module = LogitsModule(model).eval().requires_grad_(False).to(device)
    num_labels = int(getattr(config, "num_labels", 0) or 0)
    id2label = getattr(config, "id2label", None) or {}
    labels = [str(id2label.get(i, id2label.get(str(i), f"class {i}"))) for i in range(num_labels)]
    architecture = (getattr(config, "architectures", None) or [type(model).__name__])[0]
    preprocessor_sha = None
    if (folder / "preprocessor_config.json").is_file():
        preprocessor_sha = sha256_file(folder / "preprocessor_config.json")
    source = {"library": "transformers", "version": transformers.__version__, "model": display,
              "architecture": architecture, "model_type": config.model_type, "folder": str(folder),
              "config_sha256": config_sha256(folder), "preprocessor_config_sha256": preprocessor_sha,
              "image_processor": json.loads(processor.to_json_string()) if hasattr(processor, "to_json_string")
              else type(processor).__name__}
    return LoadedModel(
        spec=spec, kind="transformers", name=f"{architecture} ({display})", module=module, device=device,
        labels=labels, pipeline=pipeline, weights_path=weights_path, weights_sha256=weights_sha, notes=notes,
        source=source,
    )
