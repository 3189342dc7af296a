"""The model registry: every model the app can explain, loaded strictly offline.

``load_model(spec, weights=None, device="auto")`` accepts

* ``default`` — the embedded MNIST CNN (ships with the app); ``mnist-noise`` — the same network trained with
  Gaussian input noise (the SmoothGrad paper's section 5);
* a torchvision architecture name (``resnet50``, ``inception_v3``, ``vgg16``, ...) with ``weights`` a state_dict
  path, a weights enum name found in the local torch hub cache, ``random``, or ``None`` for the DEFAULT enum;
* a path to a TorchScript (``.pt``/``.ts``) or ``torch.export`` (``.pt2``) file;
* ``timm:NAME`` with ``weights`` a ``.safetensors``/state_dict file, ``random``, or ``None`` for timm's pretrained
  files in the local Hugging Face cache; ``hf:ORG/NAME`` for a timm or transformers repository in that cache; or a
  folder holding either layout (see :mod:`.libraries`). Hugging Face libraries are kept offline (:mod:`.hub`).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..devices import resolve_device
from ..errors import ModelLoadError
from ..paths import resolve_path
from .base import Box, ImagePipeline, LoadedModel, TransformPipeline, sha256_file
from .embedded import EMBEDDED, load_embedded
from .hub import enforce_offline
from .libraries import is_library_spec, load_library_model
from .scripted import is_model_file, load_model_file
from .torchvision_models import LAYOUT_ARCHS, architectures, is_architecture, load_torchvision

EMBEDDED_SPECS = tuple(EMBEDDED)

enforce_offline()  # before anything can import huggingface_hub, timm or transformers


def load_model(spec: str = "default", weights: str | None = None, device: str | torch.device = "auto", *,
               transform_input: bool | None = None) -> LoadedModel:
    """``transform_input``: the Inception v3 / GoogLeNet input transform (``None``: what the weights show, else
    the documented default, :data:`.torchvision_models.DEFAULT_TRANSFORM_INPUT`); refused for other models."""
    model = _load(spec, weights, device, transform_input)
    model.weights_arg = weights
    return model


def code_model_path(spec: str | None) -> Path | None:
    """The file a model spec names when it is a program (TorchScript or torch.export), resolved by the one path
    resolver (:func:`core.paths.resolve_path`: ``~``, relative, ``..``, symlinks); ``None`` for the embedded
    models, torchvision architectures, ``timm:``/``hf:`` specs and model folders (configuration and tensors; no
    repository code is ever run). The loader, the session's ask-before-loading gate and its hash check,
    and the app's start-up all use this, so the file that is checked is the file that is loaded."""
    spec = (spec or "").strip()
    if not spec or spec in EMBEDDED or is_architecture(spec) or is_library_spec(spec):
        return None
    path = resolve_path(spec)
    if path.is_dir():  # a timm / transformers model folder: configuration and tensors (no repository code is run)
        return None
    return path if (is_model_file(spec) or path.exists()) else None


def _load(spec: str, weights: str | None, device: str | torch.device, transform_input: bool | None) -> LoadedModel:
    spec = (spec or "default").strip()
    if transform_input is not None and spec not in LAYOUT_ARCHS:
        raise ModelLoadError(f"--transform-input applies to {' and '.join(LAYOUT_ARCHS)} only")
    dev = resolve_device(device)
    if spec in EMBEDDED:
        if weights:
            raise ModelLoadError(f"--weights does not apply to the embedded model {spec!r}")
        return load_embedded(spec, dev)
    if is_architecture(spec):
        return load_torchvision(spec, weights, dev, transform_input)
    if is_library_spec(spec) or resolve_path(spec).is_dir():
        return load_library_model(spec, weights, dev)
    path = code_model_path(spec)
    if path is not None:
        if weights:
            raise ModelLoadError("--weights does not apply to a TorchScript/torch.export file (it holds its weights)")
        return load_model_file(path, dev)
    raise ModelLoadError(
        f"unknown model {spec!r}: use default, mnist-noise, a torchvision architecture (e.g. resnet50, "
        f"inception_v3), timm:NAME, hf:ORG/NAME, a model folder or a path to a TorchScript/torch.export file"
    )


__all__ = [
    "Box", "EMBEDDED_SPECS", "ImagePipeline", "LAYOUT_ARCHS", "LoadedModel", "TransformPipeline", "architectures",
    "code_model_path", "load_model",
    "sha256_file",
]
