"""The output planner: where every writing command puts its files, decided before anything is written.

``compute``, ``evaluate``, ``report`` and the app's export all write through :class:`OutputPlanner`:

* **never over an input**: every file the command reads (images, ``.npy`` inputs, the model and weights files) is
  *protected*; a planned target that is the same file as a protected one (resolved path, symlinks followed,
  hard links and case-insensitive file systems caught by :func:`os.path.samefile`) is refused, with or without
  ``--overwrite``;
* **one input, one set of names**: a stem (``photo`` for ``photo.png``) is claimed by the first input that plans
  it; another input of the same call with the same stem (``a/photo.png`` and ``b/photo.jpg``) is refused instead
  of replacing the first one's files;
* **existing files**: refused unless ``overwrite`` (checked again right before writing);
* **names the file system refuses**: names longer than 255 bytes are refused before any work is done;
* **all files of an input are planned together** (:meth:`OutputPlanner.plan`), before the work for that input
  starts, and written all-or-nothing (:meth:`OutputPlanner.write`, :func:`~.export.write_group`).

Refusals are :class:`~.errors.ExportError` with one line naming the file (printable, see :mod:`.paths`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from .errors import ExportError
from .export import write_group
from .paths import display_name, printable, resolve_path

__all__ = ["NAME_MAX", "OutputPlan", "OutputPlanner", "check_not_inputs"]

NAME_MAX = 255
"""Bytes in one file name on Linux, macOS and Windows file systems alike."""


def _key(path: Path) -> str:
    return os.path.normcase(os.fspath(path))


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino) if st.st_ino else None


def _refuse_input(target: str | os.PathLike[str]) -> ExportError:
    return ExportError(f"{printable(os.fspath(target))} is one of the inputs: refusing to write over it")


def check_not_inputs(targets: Iterable[str | os.PathLike[str]], inputs: Iterable[str | os.PathLike[str]]) -> None:
    """Raise :class:`ExportError` when any of ``targets`` is the same file as any of ``inputs``."""
    planner = OutputPlanner(".", protected=inputs)
    for target in targets:
        if planner.is_protected(target):
            raise _refuse_input(target)


@dataclass
class OutputPlan:
    """The files of one input: ``targets[name]`` is the path of each output file name."""

    source: Path | None
    stem: str
    targets: dict[str, Path] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Path:
        return self.targets[name]

    def paths(self) -> list[Path]:
        return list(self.targets.values())


class OutputPlanner:
    """Plans and writes the output files of one command run into ``folder`` (see the module docstring).

    ``protected``: every file the run reads. :meth:`protect` adds more (e.g. the inputs found in a folder)."""

    def __init__(self, folder: str | os.PathLike[str], *, protected: Iterable[str | os.PathLike[str]] = (),
                 overwrite: bool = False) -> None:
        self.folder = Path(folder)
        self.overwrite = overwrite
        self._protected_keys: set[str] = set()
        self._protected_ids: set[tuple[int, int]] = set()
        self._claimed: dict[str, Path | None] = {}  # resolved target -> the input that claimed it
        self.protect(protected)

    # ------------------------------------------------------------------ inputs
    def protect(self, paths: Iterable[str | os.PathLike[str] | None]) -> None:
        for p in paths:
            if p is None or os.fspath(p) == "":
                continue
            resolved = resolve_path(p)
            self._protected_keys.add(_key(resolved))
            file_id = _file_id(resolved)
            if file_id is not None:
                self._protected_ids.add(file_id)

    def is_protected(self, target: str | os.PathLike[str]) -> bool:
        """True when ``target`` is the same file as a protected one: the same resolved path, or the same
        ``(device, inode)`` (hard links, case-insensitive file systems)."""
        resolved = resolve_path(target)
        if _key(resolved) in self._protected_keys:
            return True
        file_id = _file_id(resolved)
        return file_id is not None and file_id in self._protected_ids

    # ------------------------------------------------------------------ planning
    def plan(self, names: Sequence[str], *, source: str | os.PathLike[str] | None = None,
             stem: str | None = None) -> OutputPlan:
        """Plan the files ``names`` (e.g. ``["photo.npy", "photo.png", "photo.json"]``) in the output folder for
        one input ``source``. Raises :class:`ExportError` (nothing claimed) when any of them cannot be written:
        a name that is too long, the same file as an input, a name another input of this run already planned,
        or an existing file without ``overwrite``."""
        src = Path(source) if source is not None else None
        who = display_name(src) if src is not None else None
        targets: dict[str, Path] = {}
        keys: list[str] = []
        for name in names:
            if len(os.fsencode(name)) > NAME_MAX:
                raise ExportError(f"{printable(name, limit=80)}: output file name too long "
                                  f"({len(os.fsencode(name))} bytes, the limit is {NAME_MAX})")
            target = self.folder / name
            resolved = resolve_path(target)
            key = _key(resolved)
            if self.is_protected(target):
                raise _refuse_input(target)
            if key in self._claimed:
                other = self._claimed[key]
                by = f" by {display_name(other)}" if other is not None and src is not None and other != src else ""
                raise ExportError(f"{printable(name)} was already written{by} in this run "
                                  f"(two inputs with the same name); nothing written for {who or name}")
            if key in keys:
                raise ExportError(f"{printable(name)} is planned twice")
            if os.path.isdir(target):
                raise ExportError(f"{printable(os.fspath(target))} is a folder")
            if not self.overwrite and os.path.lexists(target):
                raise ExportError(f"{printable(os.fspath(target))} already exists (use --overwrite to replace it)")
            targets[name] = target
            keys.append(key)
        for key in keys:
            self._claimed[key] = src
        return OutputPlan(src, stem if stem is not None else (src.stem if src is not None else ""), targets)

    def plan_stem(self, source: str | os.PathLike[str], suffixes: Sequence[str]) -> OutputPlan:
        """:meth:`plan` for ``STEM + suffix`` of each suffix, ``STEM`` being the input's name without extension."""
        stem = Path(source).stem
        return self.plan([stem + s for s in suffixes], source=source, stem=stem)

    def release(self, plan: OutputPlan) -> None:
        """Forget a plan whose input failed before writing, so its names are free again."""
        for target in plan.paths():
            self._claimed.pop(_key(resolve_path(target)), None)

    # ------------------------------------------------------------------ writing
    def write(self, plan: OutputPlan, files: Mapping[str, bytes]) -> list[Path]:
        """Write ``files`` (name -> bytes; exactly the planned names) all-or-nothing."""
        if set(files) != set(plan.targets):
            missing = sorted(set(plan.targets) - set(files))
            extra = sorted(set(files) - set(plan.targets))
            raise ValueError(f"files do not match the plan (missing {missing}, unplanned {extra})")
        for name, target in plan.targets.items():  # the folder may have changed while the input was computed
            if self.is_protected(target):
                raise _refuse_input(target)
        return write_group({plan.targets[name]: data for name, data in files.items()}, overwrite=self.overwrite)
