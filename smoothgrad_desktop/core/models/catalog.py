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

from .hub import HUB_EXTRA, INSTALL_HINT, cached_repos, hf_cache_dir, library_available

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


# ---------------------------------------------------------------------------------------------------------------
# The model chooser: the kinds of model, where each entry belongs, and what a choice will do (read from files,
# never by loading the model: a TorchScript or torch.export file is a program and is not run to be previewed).
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelKind:
    """One kind of model the chooser offers."""

    key: str  # "embedded" | "torchvision" | "file" | "timm" | "hf" | "folder" | "weights"
    title: str
    hint: str
    """How to choose one, one line."""
    available: bool = True
    reason: str = ""
    """Why this kind cannot load on this machine (one line), when ``available`` is False."""


KIND_KEYS = ("embedded", "torchvision", "timm", "hf", "folder", "weights", "file")

_KIND_TEXT = {
    "embedded": ("Embedded models", "ship with the app; nothing to choose"),
    "torchvision": ("torchvision, weights in the torch hub cache",
                    "an architecture name; weights from the torch hub cache, a weights file or 'random'"),
    "timm": ("timm:NAME", "timm's pretrained files in the Hugging Face cache, or timm:NAME with a weights file or "
                          "'random'"),
    "hf": ("hf:ORG/NAME (Hugging Face cache)", "a timm or transformers repository already in the local Hugging Face "
                                              "cache"),
    "folder": ("Model folder", "a transformers save_pretrained or timm folder (config.json + model.safetensors): "
                               "Folder…"),
    "weights": (".safetensors / state_dict weights",
                "a torchvision architecture or timm:NAME with a weights file (.safetensors preferred): Weights…"),
    "file": ("TorchScript / torch.export file", "a .pt / .ts / .pt2 program (it runs code: only files you trust): "
                                                "File…"),
}


def _extra_reason(libraries: str) -> str:
    return f"needs the '{HUB_EXTRA}' extra ({libraries} not installed): {INSTALL_HINT}"


def model_kinds() -> list[ModelKind]:
    """The kinds of model, in the chooser's order, each marked unavailable (with the one-line reason) when a
    library it needs is not installed (read through :func:`library_available`)."""
    has_timm, has_transformers = library_available("timm"), library_available("transformers")
    reasons = {
        "torchvision": "" if library_available("torchvision") else "torchvision is not installed",
        "timm": "" if has_timm else _extra_reason("timm is"),
        "hf": "" if has_timm or has_transformers else _extra_reason("timm and transformers are"),
        "folder": "" if has_timm or has_transformers else _extra_reason("timm and transformers are"),
        "weights": "" if library_available("safetensors") else "the safetensors package is not installed",
    }
    kinds = []
    for key in KIND_KEYS:
        title, hint = _KIND_TEXT[key]
        reason = reasons.get(key, "")
        kinds.append(ModelKind(key, title, hint, not reason, reason))
    return kinds


def kind_of(spec: str, weights: str | None = None) -> str:
    """The chooser's kind (:data:`KIND_KEYS`) of a ``spec``/``weights`` pair."""
    from .embedded import EMBEDDED
    from .libraries import HF_PREFIX, TIMM_PREFIX
    from .torchvision_models import is_architecture

    spec = (spec or "").strip()
    has_file = _is_path(weights)
    if spec in EMBEDDED or not spec:
        return "embedded"
    if spec.startswith(TIMM_PREFIX):
        return "weights" if has_file else "timm"
    if spec.startswith(HF_PREFIX):
        return "hf"
    if is_architecture(spec):
        return "weights" if has_file else "torchvision"
    from ..paths import resolve_path

    try:
        return "folder" if resolve_path(spec).is_dir() else "file"
    except (OSError, ValueError):
        return "file"


def entry_kind(entry: CatalogEntry) -> str:
    """Which kind an entry of :func:`catalog` is listed under (a vanished folder stays a folder)."""
    if entry.kind == "folder":
        return "folder"
    if entry.kind == "file":
        return "file"
    return kind_of(entry.spec, entry.weights)


@dataclass(frozen=True)
class ModelChoice:
    """What the chooser hands to the app: exactly :func:`~smoothgrad_desktop.core.models.load_model`'s arguments."""

    spec: str
    weights: str | None = None
    options: tuple[tuple[str, object], ...] = ()
    """Loader options, e.g. ``(("transform_input", False),)`` for Inception v3 / GoogLeNet."""

    def option(self, name: str, default=None):
        return dict(self.options).get(name, default)


@dataclass(frozen=True)
class Preview:
    """What loading ``spec``/``weights`` will do, read from files without loading the model."""

    spec: str
    weights: str | None
    kind: str
    input_size: tuple | None = None
    """``(C, H, W)`` of the model input; ``H``/``W`` may be text when they follow the image."""
    resize: str = ""
    crop: str = ""
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    interpolation: str = ""
    preprocessing: str = ""
    """Who does the preprocessing (the library's own transform, a model description, torchvision's weights...)."""
    classes: str = ""
    """Where the class names come from."""
    weights_text: str = ""
    """Where the weights come from."""
    notes: tuple[str, ...] = ()
    problem: str | None = None
    """Why this choice cannot load (one line: a missing library, missing weights naming where they were looked
    for, an unknown name...), or None."""


_INTERPOLATION_NAMES = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}


def _pipeline_fields(pipeline, size_text: tuple | None = None) -> dict:
    resize = pipeline.resize
    if resize is None:
        resize_text = "none (native size)"
    elif resize[0] == "short":
        resize_text = f"shorter side to {resize[1]} px, aspect kept"
    elif resize[0] == "height":
        resize_text = f"height to {resize[1]} px, aspect kept (at least square)"
    else:
        resize_text = f"to {resize[1][0]} × {resize[1][1]} px (height × width)"
    crop = pipeline.crop
    if crop is not None:
        input_size = (pipeline.channels, int(crop[0]), int(crop[1]))
    elif resize is not None and resize[0] == "exact":
        input_size = (pipeline.channels, int(resize[1][0]), int(resize[1][1]))
    else:
        input_size = size_text or (pipeline.channels, "image height", "image width")
    return {"input_size": input_size, "resize": resize_text,
            "crop": f"centre {crop[0]} × {crop[1]} px" if crop is not None else "none",
            "mean": tuple(pipeline.mean) if pipeline.mean is not None else None,
            "std": tuple(pipeline.std) if pipeline.std is not None else None,
            "interpolation": _INTERPOLATION_NAMES.get(int(pipeline.interpolation), str(pipeline.interpolation))}


def _missing_file(what: str, path: Path) -> str:
    from ..paths import printable

    return f"{what} not found: looked for {printable(path)}"


def _weights_file_problem(weights: str) -> tuple[str, str | None]:
    """(text, problem) for a weights file argument."""
    from ..paths import display_name, printable, resolve_path

    try:
        path = resolve_path(weights)
    except (OSError, ValueError) as exc:
        return "", f"weights: {printable(exc, limit=200)}"
    if path.is_dir():
        return "", f"{display_name(path)}: is a folder, not a weights file (use Folder… for a model folder)"
    if not path.is_file():
        return "", _missing_file("weights file", path)
    form = ".safetensors (tensors only)" if path.suffix.lower() == ".safetensors" else \
        "state_dict, read with torch.load(weights_only=True)"
    return f"{printable(path)} ({form})", None


def preview(spec: str, weights: str | None = None) -> Preview:
    """What loading ``spec``/``weights`` will do: the preprocessing, the class names, where the weights come from,
    or the one line saying why it cannot load. Reads configuration files only; never raises for bad input."""
    from ..errors import UserFacingError
    from ..paths import printable

    spec = (spec or "").strip()
    weights = (weights or "").strip() or None
    kind = kind_of(spec, weights) if spec else "embedded"
    try:
        fields = _preview_fields(spec or "default", weights, kind)
    except UserFacingError as exc:
        fields = {"problem": str(exc)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        fields = {"problem": f"{printable(spec, limit=80)}: cannot read its description ({printable(first, limit=160)})"}
    if fields.get("problem"):
        fields["problem"] = printable(fields["problem"], limit=400)
    return Preview(spec=spec or "default", weights=weights, kind=kind, **fields)


def _kind_problem(kind: str) -> str | None:
    for k in model_kinds():
        if k.key == kind and not k.available:
            return k.reason
    return None


def _preview_fields(spec: str, weights: str | None, kind: str) -> dict:
    if kind == "embedded":
        return _preview_embedded(spec, weights)
    if kind in ("torchvision", "weights") and not spec.startswith("timm:"):
        return _preview_torchvision(spec, weights)
    problem = _kind_problem(kind)
    if kind in ("timm", "weights"):
        if problem or not library_available("timm"):
            return {"problem": f"{spec}: {problem or _extra_reason('timm is')}"}
        return _preview_timm(spec[len("timm:"):].strip(), weights)
    if problem:
        return {"problem": f"{spec}: {problem}"}
    if kind == "hf":
        from .libraries import resolve_hf

        if weights:
            return {"problem": "weights do not apply to an hf: repository (it holds its weights)"}
        return _preview_folder(resolve_hf(spec[len("hf:"):].strip()), f"{spec}")
    if kind == "folder":
        from ..paths import display_name, resolve_path

        if weights:
            return {"problem": "weights do not apply to a model folder (it holds its weights)"}
        folder = resolve_path(spec)
        return _preview_folder(folder, display_name(folder))
    return _preview_file(spec, weights)


def _preview_embedded(spec: str, weights: str | None) -> dict:
    from .embedded import EMBEDDED, MNIST_PIPELINE
    from .mnist import MNIST_LABELS

    if spec not in EMBEDDED:
        return {"problem": f"unknown embedded model {spec!r}"}
    if weights:
        return {"problem": f"weights do not apply to the embedded model {spec!r}"}
    return {**_pipeline_fields(MNIST_PIPELINE, (1, 28, "≥ 28 (aspect kept)")),
            "preprocessing": "the app's MNIST pipeline (greyscale, pixels/255)",
            "classes": f"the digits {MNIST_LABELS[0]}–{MNIST_LABELS[-1]} ({len(MNIST_LABELS)} classes, embedded)",
            "weights_text": f"{EMBEDDED[spec][1]}, shipped with the app"}


def _preview_torchvision(arch: str, weights: str | None) -> dict:
    from ..paths import printable
    from .torchvision_models import (LAYOUT_ARCHS, _weights_enum, cached_weights_path, is_architecture,
                                     pipeline_from_weights, resolve_weights_enum)

    if not is_architecture(arch):
        return {"problem": f"unknown torchvision architecture {arch!r}"}
    enum = resolve_weights_enum(arch, None if weights in (None, "random") else weights)
    problem = None
    notes: list[str] = []
    if weights == "random":
        enum = _weights_enum(arch).DEFAULT
        text = "random weights (not trained)"
    elif enum is not None:
        path = cached_weights_path(enum)
        text = f"{enum} from the torch hub cache: {printable(path)}"
        if not path.is_file():
            problem = (f"weights for {arch} not found: looked for {printable(path)} (the torch hub cache); copy "
                       f"{printable(path.name)} there, or choose a weights file or 'random'")
    else:
        text, problem = _weights_file_problem(weights)
        enum = _weights_enum(arch).DEFAULT
        notes.append(f"preprocessing and class names of {enum} (the file holds tensors only)")
    if arch in LAYOUT_ARCHS:
        notes.append("Inception layout: the input transform follows the option below")
    categories = list(enum.meta.get("categories") or [])
    return {**_pipeline_fields(pipeline_from_weights(enum)),
            "preprocessing": f"torchvision {enum}.transforms()",
            "classes": (f"torchvision's metadata of {enum} ({len(categories)} classes, when the classifier has "
                        f"{len(categories)} outputs)") if categories else "none: classes shown as 'class i'",
            "weights_text": text, "notes": tuple(notes), "problem": problem}


def _timm_classes(timm, cfg: dict, num_classes: int | None) -> str:
    names, descriptions = cfg.get("label_names"), cfg.get("label_descriptions")
    if names or descriptions:
        count = len(names or descriptions)
        return f"the config's {'label_descriptions' if descriptions else 'label_names'} ({count} classes)"
    n = num_classes if num_classes is not None else cfg.get("num_classes")
    if n and cfg.get("num_classes") == n:
        subset = timm.data.infer_imagenet_subset(cfg)
        if subset:
            return f"timm's ImageNet tables ({subset}, {n} classes)"
    return "none in the config: classes shown as 'class i'" + (f" ({n} classes)" if n else "")


def _timm_data_fields(timm, pretrained_cfg: dict) -> dict:
    from .timm_models import geometry_from_data_config

    data_cfg = timm.data.resolve_data_config({}, pretrained_cfg=pretrained_cfg)
    geometry, exact, settings = geometry_from_data_config(data_cfg)
    fields = _pipeline_fields(geometry)
    fields["interpolation"] = str(data_cfg.get("interpolation") or fields["interpolation"])
    fields["preprocessing"] = f"timm {timm.__version__} create_transform ({settings})"
    if not exact:
        fields["notes"] = ("timm keeps the aspect ratio here: the input box on the image is approximate",)
    return fields


def _preview_timm(name: str, weights: str | None) -> dict:
    from ..paths import printable
    from .hub import import_timm
    from .timm_models import _cfg_dict, _pretrained_location

    timm = import_timm()
    if not name or ":" in name or "/" in name or not timm.is_model(name):
        return {"problem": f"unknown timm model {printable(name)!r}: see timm.list_models() for the architecture "
                           f"names"}
    try:
        cfg = _cfg_dict(timm.models.get_pretrained_cfg(name))
    except RuntimeError as exc:
        return {"problem": f"timm:{name}: {printable(str(exc).splitlines()[0] if str(exc) else exc, limit=200)}"}
    fields = _timm_data_fields(timm, cfg)
    problem = None
    if weights == "random":
        text = "random weights (not trained)"
    elif weights:
        text, problem = _weights_file_problem(weights)
        if cfg.get("num_classes"):
            fields["notes"] = (*fields.get("notes", ()), f"these class names apply when the file's classifier has "
                               f"{cfg['num_classes']} outputs; otherwise classes are shown as 'class i'")
    else:
        path, looked = _pretrained_location(timm, name, cfg)
        if path is None:
            where = " and ".join(printable(p) for p in looked) or "nowhere (timm lists no pretrained file for it)"
            text = ""
            problem = (f"weights for timm:{name} not found: looked in {where}; copy the model's files there, or "
                       f"choose a weights file or 'random'")
        else:
            text = f"timm's pretrained file, local cache: {printable(path)}"
    return {**fields, "classes": _timm_classes(timm, cfg, None), "weights_text": text, "problem": problem}


def _preview_folder(folder: Path, display: str) -> dict:
    from ..paths import printable
    from .hub import config_kind, read_config, weights_file

    config = read_config(folder, display)
    kind = config_kind(config)
    if kind is None:
        return {"problem": f"{display}: config.json is neither a timm nor a transformers model configuration"}
    if not library_available(kind):
        return {"problem": f"{display}: {_extra_reason(f'{kind} is')}"}
    path = weights_file(folder)
    if path is None and kind == "transformers" and (folder / "model.safetensors.index.json").is_file():
        path = folder / "model.safetensors.index.json"
    problem = None
    if path is None:
        looked = "model.safetensors and pytorch_model.bin" + (
            ", model.safetensors.index.json" if kind == "transformers" else "")
        problem = f"{display}: no weights in this folder (looked for {looked} in {printable(folder)})"
    text = printable(path) if path is not None else ""
    if kind == "timm":
        from .hub import import_timm

        timm = import_timm()
        cfg = config.get("pretrained_cfg") if isinstance(config.get("pretrained_cfg"), dict) else {}
        fields = _timm_data_fields(timm, dict(cfg))
        merged = {**cfg, **{k: config[k] for k in ("label_names", "label_descriptions", "num_classes")
                            if k in config}}
        return {**fields, "classes": _timm_classes(timm, merged, config.get("num_classes")), "weights_text": text,
                "problem": problem}
    return {**_transformers_fields(folder, config, display), "weights_text": text, "problem": problem}


def _transformers_fields(folder: Path, config: dict, display: str) -> dict:
    from ..paths import printable
    from .hf_models import geometry_of

    channels = int(config.get("num_channels") or 3)
    id2label = config.get("id2label") if isinstance(config.get("id2label"), dict) else {}
    count = int(config.get("num_labels") or len(id2label) or 0)
    classes = (f"config.json id2label ({count} classes)" if id2label else
               f"none in config.json: classes shown as 'class i' ({count} classes)")
    notes: list[str] = []
    path = folder / "preprocessor_config.json"
    if path.is_file():
        try:
            processor = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            return {"problem": f"preprocessor_config.json in {display}: cannot read it ({printable(exc, limit=160)})",
                    "classes": classes}
        if not isinstance(processor, dict):
            return {"problem": f"preprocessor_config.json in {display}: must be a JSON object", "classes": classes}
        processor_type = str(processor.get("image_processor_type") or "image processor")
        source = f"transformers {processor_type} (preprocessor_config.json)"
    else:  # the loader then uses transformers' default processor for the model type, sized by config.json
        from .hub import import_transformers

        transformers = import_transformers()
        from .hf_models import _default_processor

        model_config = transformers.AutoConfig.for_model(**config) if config.get("model_type") else None
        processor = _default_processor(transformers, model_config) if model_config is not None else None
        if processor is None:
            return {"problem": f"{display}: no preprocessor_config.json, and transformers has no default image "
                               f"processor for model type {printable(config.get('model_type'))!r}; copy that file "
                               f"too", "classes": classes}
        processor_type = type(processor).__name__
        source = f"transformers' default {processor_type} for {config.get('model_type')}"
        notes.append("no preprocessor_config.json: the model type's default processor, sized from config.json")
    geometry, exact = geometry_of(processor, channels, processor_type)
    if not exact:
        notes.append("the processor's size rule is not shown exactly: the input box on the image is approximate")
    fields = _pipeline_fields(geometry)
    if not exact:
        fields["input_size"] = (channels, "set by the processor", "set by the processor")
    return {**fields, "preprocessing": source, "classes": classes, "notes": tuple(notes)}


def _preview_file(spec: str, weights: str | None) -> dict:
    from ..paths import display_name, resolve_path
    from .scripted import _sidecar, parse_sidecar, sidecar_path

    path = resolve_path(spec)
    if weights:
        return {"problem": "weights do not apply to a TorchScript/torch.export file (it holds its weights)"}
    if not path.is_file():
        return {"problem": _missing_file("model file", path)}
    described = sidecar_path(path)
    pipeline, labels = parse_sidecar(_sidecar(path), display_name(described) if described else "model description")
    program = "torch.export program" if path.suffix.lower() == ".pt2" else "TorchScript program"
    return {**_pipeline_fields(pipeline),
            "preprocessing": f"model description {display_name(described)}" if described else
            "none described: RGB pixels/255 at the image's own size (add a model description JSON beside the file)",
            "classes": f"{display_name(described)} labels ({len(labels)} classes)" if labels else
            "none described: classes shown as 'class i'",
            "weights_text": f"inside the file ({program})",
            "notes": (f"a {program} runs code: it is loaded only because you choose it",)}
