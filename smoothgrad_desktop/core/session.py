"""Session files: everything needed to reproduce a set of maps — images, model, weights hash, parameters, seed.

A session is JSON (``.sgsession``)::

    {"format": "smoothgrad-desktop-session", "version": 1,
     "model": {"spec": "default", "weights": null, "weights_sha256": "...", "transform_input": null},
     "device": "cpu", "target": "predicted",
     "config": {"method": "gradient", "aggregation": "smoothgrad", "noise_level": 0.15, "n_samples": 50, ...},
     "display": {...free-form view settings of the app...},
     "images": [{"path": "/data/cat.png", "sha256": "..."}], "current": 0}

Reopening a session on the same device with the same software reproduces the maps bit for bit: the noise is a
pure function of the seed and the sample index, and the batch size is stored. Files whose content changed since
the session was saved (weights or images) are reported, never silently used.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .errors import UserFacingError
from .export import atomic_write_bytes, json_bytes
from .models.base import sha256_file
from .paths import display_name, name_from_record, name_record, printable, resolve_path
from .smoothing import SmoothingConfig

FORMAT = "smoothgrad-desktop-session"
VERSION = 1
SUFFIX = ".sgsession"


class SessionError(UserFacingError):
    """A session file could not be read or no longer matches the files it names."""


def _name(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("bytes_hex"), str):
        return name_from_record(value)
    raise ValueError(f"not a file name: {type(value).__name__}")


@dataclass
class Session:
    model_spec: str = "default"
    weights: str | None = None
    weights_sha256: str | None = None
    transform_input: bool | None = None
    """Inception v3 / GoogLeNet: the input transform the maps were computed with (None for other models)."""
    device: str = "auto"
    target: str | int = "predicted"
    config: SmoothingConfig = field(default_factory=SmoothingConfig)
    images: list[str] = field(default_factory=list)
    image_sha256: list[str | None] = field(default_factory=list)
    current: int = 0
    display: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "format": FORMAT, "version": VERSION,
            "model": {"spec": name_record(self.model_spec), "weights": name_record(self.weights),
                      "weights_sha256": self.weights_sha256,
                      "transform_input": self.transform_input},
            "device": self.device, "target": self.target, "config": asdict(self.config),
            "display": self.display, "current": self.current,
            "images": [{"path": name_record(p), "sha256": h} for p, h in zip(self.images, self.image_sha256)],
        }

    @classmethod
    def from_dict(cls, data: dict, source: str = "session") -> "Session":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SessionError(f"{source}: not a SmoothGrad Desktop session file")
        if int(data.get("version", 0)) > VERSION:
            raise SessionError(f"{source}: written by a newer version (format {data.get('version')})")
        try:
            known = {f.name for f in fields(SmoothingConfig)}
            config = SmoothingConfig(**{k: v for k, v in dict(data.get("config", {})).items() if k in known})
            config.validate()
            model = dict(data.get("model", {}))
            images = [dict(entry) for entry in data.get("images", [])]
            for entry in images:  # names are stored as name_record: a string, or {"text", "bytes_hex"}
                entry["path"] = _name(entry.get("path"))
                if not entry["path"]:
                    raise ValueError("an image entry has no path")
            model["spec"] = _name(model.get("spec", "default"))
            if not model["spec"].strip():
                raise ValueError("the model spec is not a non-empty string")
            if model.get("weights") is not None:
                model["weights"] = _name(model["weights"])
            if model.get("transform_input") is not None and not isinstance(model.get("transform_input"), bool):
                raise ValueError("transform_input is not true, false or null")
            return cls(
                model_spec=str(model.get("spec", "default")), weights=model.get("weights") or None,
                weights_sha256=model.get("weights_sha256"), transform_input=model.get("transform_input"),
                device=str(data.get("device", "auto")),
                target=data.get("target", "predicted"), config=config,
                images=[str(entry["path"]) for entry in images],
                image_sha256=[entry.get("sha256") for entry in images],
                current=int(data.get("current", 0)), display=dict(data.get("display", {})),
            )
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise SessionError(f"{source}: malformed session ({exc})") from exc
        except UserFacingError as exc:
            raise SessionError(f"{source}: {exc}") from exc

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        return atomic_write_bytes(Path(path), json_bytes(self.to_dict()), overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path) -> "Session":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise SessionError(f"{path.name}: file not found") from exc
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise SessionError(f"{path.name}: cannot read session ({exc})") from exc
        return cls.from_dict(data, path.name)

    def code_model(self) -> Path | None:
        """The TorchScript / torch.export file the session loads, if any, resolved exactly as the loader resolves
        it (:func:`~.models.code_model_path`): such a file is code, so the app asks before loading it from a
        session, and refuses it when its hash changed or is missing."""
        from .models import code_model_path

        return code_model_path(self.model_spec)

    def code_model_changed(self) -> bool:
        """True when the session's code model file exists but does not have the hash the session recorded; a
        missing or null hash counts as changed (nothing vouches for the file)."""
        path = self.code_model()
        if path is None or not path.is_file():
            return False
        return not self.weights_sha256 or sha256_file(path) != self.weights_sha256

    def check_files(self) -> list[str]:
        """One line per file that is missing or changed since the session was saved (empty when all match)."""
        problems = []
        code = self.code_model()
        if code is not None and not code.is_file():
            problems.append(f"{display_name(code)}: model file missing ({printable(code)})")
        elif self.code_model_changed():
            why = "changed since the session was saved" if self.weights_sha256 else "has no hash in the session"
            problems.append(f"{display_name(code)}: model file {why}: not loaded")
        for p, digest in zip(self.images, self.image_sha256):
            path = resolve_path(p)
            if not path.is_file():
                problems.append(f"{display_name(path)}: image missing ({printable(path)})")
            elif digest and sha256_file(path) != digest:
                problems.append(f"{display_name(path)}: image changed since the session was saved")
        if self.weights and self.weights_sha256 and code is None:
            weights = resolve_path(self.weights)
            if weights.is_file() and sha256_file(weights) != self.weights_sha256:
                problems.append(f"{display_name(weights)}: weights changed since the session was saved")
        return problems


def session_for(model, images: list[str | Path], config: SmoothingConfig, *, device: str, target="predicted",
                current: int = 0, display: dict | None = None) -> Session:
    """A session describing a loaded model (:class:`~.models.LoadedModel`) and image paths."""
    paths = [str(Path(p).resolve()) for p in images]
    layout = getattr(model, "layout", None) or {}
    return Session(
        model_spec=model.spec, weights=model.weights_arg, weights_sha256=model.weights_sha256,
        transform_input=layout.get("transform_input"), device=device, target=target, config=config,
        images=paths, image_sha256=[sha256_file(Path(p)) if Path(p).is_file() else None for p in paths],
        current=current, display=dict(display or {}),
    )
