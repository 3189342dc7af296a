"""Finding the files shipped under ``resources/`` (weights, samples, colour maps).

The top-level ``resources/`` folder is installed as the package ``smoothgrad_desktop.resources`` (see
``pyproject.toml``), so :mod:`importlib.resources` finds it in editable installs, wheels and frozen bundles;
running straight from a source checkout falls back to the folder beside the package.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path


def resources_root() -> Path:
    try:
        root = importlib.resources.files("smoothgrad_desktop.resources")
        path = Path(str(root))
        if path.is_dir():
            return path
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parents[2] / "resources"


def resource_path(*parts: str) -> Path:
    return resources_root().joinpath(*parts)


def sample_images() -> list[Path]:
    """The shipped sample images, sorted by name."""
    folder = resource_path("samples")
    return sorted(p for p in folder.glob("*.png")) if folder.is_dir() else []


def default_sample() -> Path | None:
    samples = sample_images()
    return samples[0] if samples else None
