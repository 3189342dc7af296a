"""What this machine can load, offline: one list for the command line's ``models`` and the app's model chooser.

:func:`catalog` gathers

* the embedded models;
* torchvision architectures whose weights are in the torch hub cache (``$TORCH_HOME/hub/checkpoints``);
* timm and transformers repositories in the local Hugging Face cache (``HF_HUB_CACHE``), read from their
  ``config.json`` without importing either library; repositories of other kinds (language models, backbones
  without a classifier) are left out, and timm/transformers entries are marked unavailable, with the reason, when
  the library is not installed;
* recently used model files and folders (:func:`remember`, stored as JSON in :func:`data_dir`), marked unavailable
  when they are gone.

Each :class:`CatalogEntry` carries the exact ``spec``/``weights`` pair :func:`~smoothgrad_desktop.core.models.load_model`
takes, so what is listed is what loads. No Qt and no network here.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .hub import HUB_EXTRA, cached_repos, hf_cache_dir, library_available

RECENT_FILE = "recent_models.json"
RECENT_LIMIT = 12
DATA_DIR_ENV = "SMOOTHGRAD_DESKTOP_DATA"


@dataclass(frozen=True)
class CatalogEntry:
    spec: str
    """What ``--model`` (``load_model``'s ``spec``) takes."""
    weights: str | None
    """What ``--weights`` takes, or None."""
    kind: str  # "embedded" | "torchvision" | "timm" | "transformers" | "file" | "folder"
    title: str
    origin: str  # "embedded" | "torch hub cache" | "Hugging Face cache" | "recent"
    path: Path | None = None
    available: bool = True
    reason: str = ""
    """Why it cannot be loaded now (one line), when ``available`` is False."""


def data_dir() -> Path:
    """Where the app keeps its own small files: ``$SMOOTHGRAD_DESKTOP_DATA``, else the platform's user data folder."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "smoothgrad-desktop"


def _recent_path() -> Path:
    return data_dir() / RECENT_FILE


def recent_models() -> list[dict]:
    """Recently loaded model files and folders, newest first: ``[{"spec": ..., "weights": ...}, ...]``."""
    try:
        data = json.loads(_recent_path().read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return []
    if not isinstance(data, list):
        return []
    return [{"spec": str(d["spec"]), "weights": str(d["weights"]) if d.get("weights") else None}
            for d in data if isinstance(d, dict) and isinstance(d.get("spec"), str)][:RECENT_LIMIT]


def _is_path(text: str | None) -> bool:
    return bool(text) and text != "random" and (os.sep in text or "/" in text or Path(text).exists())


def remember(spec: str, weights: str | None) -> None:
    """Record a model that loaded, when it came from a file or folder (a model file or folder, or a weights file),
    with absolute paths. Best effort: a read-only home never stops a run."""
    spec_is_path = _is_path(spec) and not spec.startswith(("timm:", "hf:"))
    if not spec_is_path and not _is_path(weights):
        return
    from ..paths import resolve_path

    entry = {"spec": str(resolve_path(spec)) if spec_is_path else spec,
             "weights": str(resolve_path(weights)) if _is_path(weights) else weights}
    entries = [entry] + [e for e in recent_models() if e != entry]
    path = _recent_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temp.write_text(json.dumps(entries[:RECENT_LIMIT], indent=1), encoding="utf-8")
        os.replace(temp, path)
    except OSError:
        pass


def _torchvision_entries(all_architectures: bool) -> list[CatalogEntry]:
    from .torchvision_models import architectures, hub_checkpoint_dir

    import torchvision

    entries: list[CatalogEntry] = []
    folder = hub_checkpoint_dir()
    for arch in architectures():
        try:
            enum = torchvision.models.get_model_weights(arch)
        except (ValueError, KeyError):
            continue
        cached = [w for w in enum if (folder / Path(w.url).name).is_file()]
        for w in cached:
            entries.append(CatalogEntry(arch, str(w), "torchvision", f"{arch} ({w})", "torch hub cache",
                                        folder / Path(w.url).name))
        if not cached and all_architectures:
            entries.append(CatalogEntry(arch, None, "torchvision", arch, "torch hub cache", None, False,
                                        f"no weights in {folder}: pass --weights FILE, or --weights random"))
    return entries


def _hub_entries() -> list[CatalogEntry]:
    entries: list[CatalogEntry] = []
    for repo in cached_repos():
        if repo.kind is None:
            continue
        installed = library_available(repo.kind)
        if repo.kind == "timm" and repo.repo_id.startswith("timm/"):
            spec, title = f"timm:{repo.repo_id[len('timm/'):]}", f"{repo.repo_id[len('timm/'):]} (timm)"
        else:
            spec, title = f"hf:{repo.repo_id}", f"{repo.repo_id} ({repo.kind}: {repo.detail})"
        reason = ""
        if not installed:
            reason = f"needs the '{HUB_EXTRA}' extra ({repo.kind} is not installed)"
        elif repo.weights is None and not (repo.folder / "model.safetensors.index.json").is_file():
            reason = f"no weights file in {repo.folder}"
        entries.append(CatalogEntry(spec, None, repo.kind, title, "Hugging Face cache", repo.folder,
                                    not reason, reason))
    return entries


def _recent_entries() -> list[CatalogEntry]:
    entries = []
    for item in recent_models():
        spec, weights = item["spec"], item["weights"]
        spec_is_path = _is_path(spec) and not spec.startswith(("timm:", "hf:"))
        paths = ([spec] if spec_is_path else []) + ([weights] if _is_path(weights) else [])
        gone = [p for p in paths if not Path(p).exists()]
        shown = Path(spec).name if spec_is_path else spec
        if weights and weights != "random":
            shown += f" + {Path(weights).name}"
        if spec_is_path:
            kind = "folder" if Path(spec).is_dir() else "file"
        else:
            kind = "timm" if spec.startswith("timm:") else "torchvision"
        entries.append(CatalogEntry(spec, weights, kind, shown, "recent", Path(spec) if spec_is_path else None,
                                    not gone, f"{gone[0]} no longer exists" if gone else ""))
    return entries


def catalog(*, all_torchvision: bool = False, recent: bool = True) -> list[CatalogEntry]:
    """Every model this machine can load offline (and, with reasons, the ones it cannot); see the module doc."""
    from .embedded import EMBEDDED

    entries = [CatalogEntry(spec, None, "embedded", title, "embedded") for spec, (_, title) in EMBEDDED.items()]
    entries += _torchvision_entries(all_torchvision)
    entries += _hub_entries()
    if recent:
        entries += _recent_entries()
    return entries


def where_looked() -> dict[str, Path]:
    """The folders the catalog reads, for listings."""
    from .torchvision_models import hub_checkpoint_dir

    return {"torch hub cache": hub_checkpoint_dir(), "Hugging Face cache": hf_cache_dir(), "recent": _recent_path()}
