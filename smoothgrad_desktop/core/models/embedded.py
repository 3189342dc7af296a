"""The embedded default models: the project's own MNIST CNN, trained clean and trained with input noise."""

from __future__ import annotations

import json

import torch

from ..errors import ModelLoadError
from ..resources import resource_path
from .base import ImagePipeline, LoadedModel, sha256_file
from .mnist import MNIST_LABELS, MnistNet
from .torchvision_models import choose_memory_format
from .weights import apply_state_dict, load_state_dict_file

EMBEDDED = {
    "default": ("mnist_cnn", "MNIST CNN (embedded)"),
    "mnist-noise": ("mnist_cnn_noise", "MNIST CNN trained with noise (embedded)"),
}

MNIST_PIPELINE = ImagePipeline(channels=1, resize=("height", 28))


def embedded_metrics(spec: str) -> dict:
    stem, _ = EMBEDDED[spec]
    path = resource_path("weights", f"{stem}.json")
    return json.loads(path.read_text()) if path.is_file() else {}


def load_embedded(spec: str, device: torch.device) -> LoadedModel:
    stem, name = EMBEDDED[spec]
    path = resource_path("weights", f"{stem}.pt")
    if not path.is_file():
        raise ModelLoadError(f"the embedded model file {path} is missing: the installation is incomplete")
    net = MnistNet()
    apply_state_dict(net, load_state_dict_file(path), path.name)
    net.eval().requires_grad_(False).to(device)
    # channels-last on CPUs (oneDNN's 16- and 32-channel convolutions: 6.8 ms instead of 11.7 ms for the forward
    # and input gradient of 50 samples on 2 cores); on CUDA the faster layout is timed once
    choose_memory_format(net, (1, 28, 28), device)
    notes = []
    metrics = embedded_metrics(spec)
    if "noise_level" in metrics and metrics["noise_level"]:
        notes.append(f"trained with Gaussian input noise, level {metrics['noise_level']}")
    return LoadedModel(
        spec=spec, kind="embedded", name=name, module=net, device=device, labels=list(MNIST_LABELS),
        pipeline=MNIST_PIPELINE, weights_path=path, weights_sha256=sha256_file(path), notes=notes,
    )
