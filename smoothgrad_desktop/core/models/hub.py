"""timm, transformers and the local Hugging Face cache, strictly offline.

Nothing here ever downloads. Offline mode is enforced in code, before and after the libraries import:

* :func:`enforce_offline` sets ``HF_HUB_OFFLINE=1`` and ``TRANSFORMERS_OFFLINE=1`` (and turns off telemetry and
  implicit tokens) in the environment, and, when ``huggingface_hub`` was already imported by someone else, its
  cached ``constants.HF_HUB_OFFLINE`` too: every HTTP call of ``huggingface_hub`` (which timm and transformers use for
  all downloads) then raises ``OfflineModeIsEnabled`` instead of opening a socket. It runs when the model registry
  is imported and again before each library import below.
* The loaders only ever hand the libraries local paths or state dicts (``local_files_only=True`` everywhere,
  ``trust_remote_code=False``: a repository's own Python code is never run), and the Hugging Face cache is read
  here, from its documented folder layout, without the hub client.

timm and transformers are optional (the ``hub`` extra); :func:`import_timm` and :func:`import_transformers` turn a
missing library into one line naming the extra.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelLoadError

HUB_EXTRA = "hub"
INSTALL_HINT = f"pip install 'smoothgrad-desktop[{HUB_EXTRA}]'"

OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "HF_HUB_DISABLE_UPDATE_CHECK": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}

# Files that hold weights, in the order they are preferred (safetensors cannot run code; .bin is read with
# torch.load(weights_only=True) only).
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "open_clip_model.safetensors")


def enforce_offline() -> None:
    """Put the Hugging Face libraries in offline mode, whether or not they are imported yet."""
    os.environ.update(OFFLINE_ENVIRONMENT)
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:  # imported before us: its module-level flags were read from the old environment
        constants.HF_HUB_OFFLINE = True
        constants.HF_HUB_DISABLE_TELEMETRY = True
        constants.HF_HUB_DISABLE_IMPLICIT_TOKEN = True


def _missing(library: str, exc: ImportError) -> ModelLoadError:
    return ModelLoadError(f"{library} models need the optional '{HUB_EXTRA}' extra ({INSTALL_HINT}); "
                          f"{library} is not installed ({exc})")


def _import_offline(*modules: str):
    """Import ``modules`` (the first names the library) in offline mode, set before and again after the import."""
    import importlib

    enforce_offline()
    try:
        for module in modules:
            importlib.import_module(module)
    except ImportError as exc:
        raise _missing(modules[0], exc) from exc
    enforce_offline()
    return sys.modules[modules[0]]


def import_timm():
    return _import_offline("timm", "timm.data")


def import_transformers():
    transformers = _import_offline("transformers")
    try:  # no progress bars or advisory warnings on the user's terminal
        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
    except AttributeError:
        pass
    return transformers


def library_available(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


# ---------------------------------------------------------------------------------------------------------------
# The local Hugging Face cache: HF_HUB_CACHE/models--ORG--NAME/{refs/main, snapshots/<commit>/...}
# ---------------------------------------------------------------------------------------------------------------


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache folder, read from the environment at call time (as ``huggingface_hub`` does at
    import): ``HF_HUB_CACHE``, else ``HUGGINGFACE_HUB_CACHE``, else ``HF_HOME/hub``, else
    ``XDG_CACHE_HOME/huggingface/hub``, else ``~/.cache/huggingface/hub``."""
    for key in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(key):
            return Path(os.path.expandvars(os.path.expanduser(os.environ[key])))
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface")
    return Path(os.path.expandvars(os.path.expanduser(home))) / "hub"


def repo_folder_name(repo_id: str) -> str:
    return "models--" + repo_id.replace("/", "--")


def valid_repo_id(repo_id: str) -> bool:
    parts = repo_id.split("/")
    return (1 <= len(parts) <= 2 and all(parts) and all(p not in (".", "..") for p in parts)
            and all(c.isalnum() or c in "-_." for p in parts for c in p))


def cached_snapshot(repo_id: str, cache: Path | None = None) -> Path | None:
    """The snapshot folder of ``repo_id`` in the local cache (the one ``refs/main`` names, else the newest), or
    None."""
    if not valid_repo_id(repo_id):
        return None
    root = (cache or hf_cache_dir()) / repo_folder_name(repo_id)
    snapshots = root / "snapshots"
    if not snapshots.is_dir():
        return None
    ref = root / "refs" / "main"
    if ref.is_file():
        try:
            commit = ref.read_text(encoding="utf-8").strip()
        except OSError:
            commit = ""
        if commit and (snapshots / commit).is_dir():
            return snapshots / commit
    candidates = [p for p in snapshots.iterdir() if p.is_dir()]
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None


def weights_file(folder: Path) -> Path | None:
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def read_config(folder: Path, display: str | None = None) -> dict:
    from ..paths import display_name, printable

    display = display or display_name(folder)
    path = folder / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(f"{display}: no config.json in this folder (expected a transformers "
                             f"save_pretrained or timm layout)") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"config.json in {display}: cannot read it ({printable(exc, limit=200)})") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"config.json in {display}: must be a JSON object")
    return data


def config_kind(config: dict) -> str | None:
    """``"timm"`` for a timm hub layout (``architecture`` + ``pretrained_cfg``), ``"transformers"`` for a
    transformers one (``model_type``), else None."""
    if isinstance(config.get("architecture"), str) and ("pretrained_cfg" in config or "num_classes" in config):
        return "timm"
    if isinstance(config.get("model_type"), str):
        return "transformers"
    return None


def config_sha256(folder: Path) -> str | None:
    path = folder / "config.json"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


@dataclass(frozen=True)
class CachedRepo:
    """A model repository found in the local Hugging Face cache."""

    repo_id: str
    folder: Path  # its snapshot folder
    kind: str | None  # "timm" | "transformers" | None (not a model this app loads)
    weights: Path | None
    detail: str  # architecture or model type, for listings


def cached_repos(cache: Path | None = None) -> list[CachedRepo]:
    """Every model repository in the local cache, with what kind of model it holds (read from its config.json)."""
    root = cache or hf_cache_dir()
    found: list[CachedRepo] = []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return found
    for entry in entries:
        if not entry.name.startswith("models--") or not entry.is_dir():
            continue
        repo_id = entry.name[len("models--"):].replace("--", "/", 1)
        folder = cached_snapshot(repo_id, root)
        if folder is None:
            continue
        try:
            config = read_config(folder)
        except ModelLoadError:
            continue
        kind = config_kind(config)
        detail = str(config.get("architecture") or ",".join(config.get("architectures") or [])
                     or config.get("model_type") or "")
        if kind == "transformers" and not any(str(a).endswith("ForImageClassification")
                                              for a in config.get("architectures") or []):
            kind = None  # a language model, a backbone without a classifier head...
        found.append(CachedRepo(repo_id, folder, kind, weights_file(folder), detail))
    return found
