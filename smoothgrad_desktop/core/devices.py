"""Choosing the torch device: ``auto`` picks CUDA, then Apple MPS, then the CPU; under torchrun (``LOCAL_RANK``
set) ``auto`` picks the process's own GPU, ``cuda:LOCAL_RANK``."""

from __future__ import annotations

import os

import torch

from .errors import UserFacingError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[str]:
    """Concrete devices usable on this machine, best first (``cuda:0``, ``cuda:1``, ``mps``, ``cpu``)."""
    found = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    if mps_available():
        found.append("mps")
    found.append("cpu")
    return found


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """Turn ``auto``/``cpu``/``cuda``/``cuda:1``/``mps`` into a usable :class:`torch.device`."""
    if isinstance(spec, torch.device):
        return spec
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        found = available_devices()
        local_rank = os.environ.get("LOCAL_RANK", "")
        if found[0].startswith("cuda") and local_rank.isdigit():  # torchrun: one process per GPU
            return torch.device(f"cuda:{int(local_rank) % torch.cuda.device_count()}")
        return torch.device(found[0])
    try:
        device = torch.device(spec)
    except RuntimeError as exc:
        raise UserFacingError(f"unknown device {spec!r}: use auto, cpu, cuda, cuda:N or mps") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserFacingError("device 'cuda' requested but no CUDA GPU is available (try --device auto or cpu)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserFacingError(f"device {spec!r} requested but only {torch.cuda.device_count()} CUDA GPU(s) exist")
    elif device.type == "mps" and not mps_available():
        raise UserFacingError("device 'mps' requested but Apple MPS is not available on this machine")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise UserFacingError(f"unsupported device {spec!r}: use auto, cpu, cuda or mps")
    return device


def describe_device(device: torch.device) -> str:
    """A short human-readable name, e.g. ``cuda:0 (NVIDIA H100)`` or ``cpu (2 threads)``."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)
