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
from .base import Box, ImagePipeline, LoadedModel, TransformPipeline, sha256_file
from .embedded import EMBEDDED, load_embedded
from .hub import enforce_offline
from .libraries import is_library_spec, load_library_model
from .scripted import is_model_file, load_model_file
from .torchvision_models import architectures, is_architecture, load_torchvision

EMBEDDED_SPECS = tuple(EMBEDDED)

enforce_offline()  # before anything can import huggingface_hub, timm or transformers


def load_model(spec: str = "default", weights: str | None = None, device: str | torch.device = "auto") -> LoadedModel:
    model = _load(spec, weights, device)
    model.weights_arg = weights
    return model


def _load(spec: str, weights: str | None, device: str | torch.device) -> LoadedModel:
    spec = (spec or "default").strip()
    dev = resolve_device(device)
    if spec in EMBEDDED:
        if weights:
            raise ModelLoadError(f"--weights does not apply to the embedded model {spec!r}")
        return load_embedded(spec, dev)
    if is_architecture(spec):
        return load_torchvision(spec, weights, dev)
    path = Path(spec).expanduser()
    if is_library_spec(spec) or path.is_dir():
        return load_library_model(spec if is_library_spec(spec) else str(path), weights, dev)
    if path.exists() or is_model_file(spec):
        if weights:
            raise ModelLoadError("--weights does not apply to a TorchScript/torch.export file (it holds its weights)")
        return load_model_file(path, dev)
    raise ModelLoadError(
        f"unknown model {spec!r}: use default, mnist-noise, a torchvision architecture (e.g. resnet50, "
        f"inception_v3), timm:NAME, hf:ORG/NAME, a model folder or a path to a TorchScript/torch.export file"
    )


__all__ = [
    "Box", "EMBEDDED_SPECS", "ImagePipeline", "LoadedModel", "TransformPipeline", "architectures", "load_model",
    "sha256_file",
]
