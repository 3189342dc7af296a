"""Which loader a timm / Hugging Face spec goes to: ``timm:NAME``, ``hf:ORG/NAME`` (local cache) or a model folder.

A folder (given directly or found in the local Hugging Face cache) is recognised by its ``config.json``: timm's hub
layout names an ``architecture``, transformers' ``save_pretrained`` layout a ``model_type``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import ModelLoadError
from ..paths import display_name, printable, resolve_path
from .base import LoadedModel
from .hub import cached_snapshot, config_kind, hf_cache_dir, read_config, repo_folder_name, valid_repo_id

TIMM_PREFIX = "timm:"
HF_PREFIX = "hf:"


def is_library_spec(spec: str) -> bool:
    return spec.startswith((TIMM_PREFIX, HF_PREFIX))


def resolve_hf(repo_id: str) -> Path:
    """The snapshot folder of ``repo_id`` in the local Hugging Face cache, or one line naming where it looked."""
    if not valid_repo_id(repo_id):
        raise ModelLoadError(f"hf:{printable(repo_id)}: not a repository name (expected hf:ORG/NAME)")
    folder = cached_snapshot(repo_id)
    if folder is None:
        raise ModelLoadError(
            f"hf:{repo_id} is not in the local Hugging Face cache: looked in "
            f"{printable(hf_cache_dir() / repo_folder_name(repo_id))}; copy the repository folder there (or set "
            f"HF_HUB_CACHE), "
            f"or pass the model folder itself; nothing is downloaded")
    return folder


def load_folder(folder: Path, device: torch.device, spec: str, display: str | None = None) -> LoadedModel:
    display = display or display_name(folder)
    config = read_config(folder, display)
    kind = config_kind(config)
    if kind == "timm":
        from .timm_models import load_timm_folder

        return load_timm_folder(folder, config, device, spec, display)
    if kind == "transformers":
        from .hf_models import load_transformers_folder

        return load_transformers_folder(folder, device, spec, display)
    raise ModelLoadError(f"{display}: config.json is neither a timm nor a transformers model "
                         f"configuration")


def load_library_model(spec: str, weights: str | None, device: torch.device) -> LoadedModel:
    """``timm:NAME`` (with ``weights``), ``hf:ORG/NAME`` or a folder path."""
    if spec.startswith(TIMM_PREFIX):
        from .timm_models import load_timm

        return load_timm(spec[len(TIMM_PREFIX):], weights, device)
    if weights:
        raise ModelLoadError("--weights does not apply to a model folder or hf: repository (it holds its weights)")
    if spec.startswith(HF_PREFIX):
        repo_id = spec[len(HF_PREFIX):].strip()
        return load_folder(resolve_hf(repo_id), device, spec, display=repo_id)
    return load_folder(resolve_path(spec), device, spec)
