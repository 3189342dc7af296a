"""Atomic export of results: PNG, NPY, JSON, and all-or-nothing groups of files (no Qt, no torch).

Every file is written to a hidden temporary file in the *target folder* (``.NAME.XXXX.part``), flushed and
``fsync``-ed, then moved over the target with ``os.replace`` (atomic on one file system). On any failure the
temporary file is removed and an :class:`~smoothgrad_desktop.core.errors.ExportError` with a one-line message
(``cannot write <path>: <reason>``) is raised, so a half-written file never appears under the target's name.
An existing target is refused (``<path> already exists``) unless ``overwrite=True``; the check is made before
anything is written (a file created by someone else between the check and the final move is replaced).

The temporary file is created with mode 0600 by :func:`tempfile.mkstemp`; before the move it gets the usual
``0666 & ~umask`` so exported files are as readable as any other file the user creates.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .errors import ExportError
from .paths import is_lossless_text, name_record, printable

__all__ = [
    "ExportError",
    "atomic_write_bytes",
    "write_group",
    "save_png",
    "save_npy",
    "save_json",
    "png_bytes",
    "npy_bytes",
    "json_bytes",
    "unique_path",
    "unique_stem",
]


# --------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return _one_line(exc.strerror)
    text = _one_line(str(exc))
    return text or type(exc).__name__


def _error(path: Path, exc: BaseException) -> ExportError:
    return ExportError(_one_line(f"cannot write {path}: {_reason(exc)}"))


def _remove(path: str | os.PathLike[str] | None) -> None:
    if path is None:
        return
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError:
        pass  # best effort: nothing more can be done about a file we cannot remove


_UMASK: int | None = None


def _umask() -> int:
    """The process umask, read without changing it where possible (Linux), else cached from one os.umask swap."""
    global _UMASK
    if _UMASK is None:
        mask = None
        try:
            with open("/proc/self/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith("Umask:"):
                        mask = int(line.split()[1], 8)
                        break
        except (OSError, ValueError, IndexError):
            mask = None
        if mask is None:
            mask = os.umask(0o022)
            os.umask(mask)
        _UMASK = mask
    return _UMASK


def _temp_prefix(path: Path) -> str:
    return "." + path.name[:100] + "."


def _write_temp(path: Path, data: bytes) -> str:
    """Write ``data`` to a new temp file beside ``path``; returns its name. Raises ExportError, leaving nothing."""
    folder = path.parent
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=_temp_prefix(path), suffix=".part")
    except OSError as exc:
        raise _error(path, exc) from exc
    try:
        try:
            f = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            raise
        with f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.chmod(tmp, 0o666 & ~_umask())
        except OSError:
            pass  # e.g. a file system without permissions; the file is still complete
    except BaseException as exc:
        _remove(tmp)
        if isinstance(exc, Exception):
            raise _error(path, exc) from exc
        raise
    return tmp


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); silently skipped where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------------------


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, ``os.replace``)."""
    path = Path(path)
    if not overwrite and os.path.lexists(path):
        raise ExportError(_one_line(f"{path} already exists"))
    tmp = _write_temp(path, bytes(data))
    try:
        os.replace(tmp, path)
    except BaseException as exc:
        _remove(tmp)
        if isinstance(exc, Exception):
            raise _error(path, exc) from exc
        raise
    _fsync_dir(path.parent)
    return path


def write_group(files: Mapping[str | os.PathLike[str], bytes], *, overwrite: bool = False) -> list[Path]:
    """Write several files all-or-nothing (e.g. ``STEM.npy``, ``STEM.png``, ``STEM.json``).

    First checks that no target exists (unless ``overwrite``), then writes every file to a temp file, and only
    when all are written moves them into place. If anything fails, every temp file is removed, every target
    this call already created is removed again and (with ``overwrite``) every target it replaced is restored
    from a backup made just before; then :class:`ExportError` is raised. Returns the paths in the given order.
    """
    items = [(Path(p), bytes(d)) for p, d in files.items()]
    seen: set[str] = set()
    for p, _ in items:
        key = os.path.normcase(os.path.abspath(p))
        if key in seen:
            raise ValueError(f"{p} is listed twice")
        seen.add(key)
    if not overwrite:
        for p, _ in items:
            if os.path.lexists(p):
                raise ExportError(_one_line(f"{p} already exists"))

    temps: list[tuple[Path, str]] = []
    try:
        for p, d in items:
            temps.append((p, _write_temp(p, d)))
    except BaseException:
        for _, tmp in temps:
            _remove(tmp)
        raise

    done: list[Path] = []
    backups: dict[Path, str] = {}
    current = items[0][0] if items else Path(".")
    try:
        for p, tmp in temps:
            current = p
            if os.path.lexists(p):  # only with overwrite: keep the old file until the whole group is in place
                bfd, backup = tempfile.mkstemp(dir=p.parent, prefix=_temp_prefix(p), suffix=".bak")
                os.close(bfd)
                try:
                    os.replace(p, backup)
                except BaseException:
                    _remove(backup)
                    raise
                backups[p] = backup
            os.replace(tmp, p)
            done.append(p)
    except BaseException as exc:
        for p in reversed(done):
            _remove(p)
        for p, backup in backups.items():
            try:
                os.replace(backup, p)
            except OSError:
                pass  # the old content stays in the hidden .bak file next to it
        for _, tmp in temps:
            _remove(tmp)
        if isinstance(exc, Exception):
            raise _error(current, exc) from exc
        raise
    for backup in backups.values():
        _remove(backup)
    for folder in {p.parent for p, _ in items}:
        _fsync_dir(folder)
    return [p for p, _ in items]


# --------------------------------------------------------------------------------------------------------------
# Encoders
# --------------------------------------------------------------------------------------------------------------


def png_bytes(arr: np.ndarray, text: Mapping[str, str] | None = None) -> bytes:
    """Encode a uint8 ``(H, W)`` grey, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA array as PNG, with tEXt chunks.

    Text values that are not Latin-1 are stored as iTXt (UTF-8) by Pillow.
    """
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    a = np.asarray(arr)
    if a.dtype != np.uint8:
        raise ValueError(f"PNG export needs a uint8 array, got {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise ValueError(f"PNG export needs (H, W), (H, W, 3) or (H, W, 4), got shape {a.shape}")
    mode = "L" if a.ndim == 2 else ("RGB" if a.shape[2] == 3 else "RGBA")
    im = Image.fromarray(np.ascontiguousarray(a))  # uint8 2-D/3/4 channels -> L/RGB/RGBA
    if im.mode != mode:  # pragma: no cover - defensive
        raise ValueError(f"unexpected image mode {im.mode} for shape {a.shape}")
    info = None
    if text:
        info = PngInfo()
        for k, v in text.items():
            info.add_text(str(k), str(v))
    buf = io.BytesIO()
    im.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def npy_bytes(arr: np.ndarray, *, allow_nonfinite: bool = False) -> bytes:
    """``np.save`` into memory (no pickles). A floating-point array with NaN or infinite values is refused
    (:class:`ExportError`): no map file is ever written with values that are not numbers."""
    a = np.asarray(arr)
    if not allow_nonfinite and a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise ExportError(f"the array has {bad} NaN/infinite value(s): not written")
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def _jsonable(o: Any) -> Any:
    """Plain JSON types from numpy scalars/arrays, paths, tuples, sets, enums, dataclasses; NaN/inf -> None."""
    if o is None or isinstance(o, bool):
        return o
    if isinstance(o, str):  # a lone surrogate (a byte of a non-UTF-8 file name) cannot be UTF-8: show it escaped
        return o if is_lossless_text(o) else printable(o)
    if isinstance(o, int):
        return int(o)
    if isinstance(o, float):
        return float(o) if math.isfinite(o) else None
    if isinstance(o, np.ndarray):
        return _jsonable(o.tolist())
    if isinstance(o, np.generic):
        return _jsonable(o.item())
    if isinstance(o, enum.Enum):
        return _jsonable(o.value)
    if isinstance(o, Mapping):
        out = {}
        for k, v in o.items():
            kk = _jsonable(k)
            out[kk if isinstance(kk, str) else json.dumps(kk)] = _jsonable(v)
        return out
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, (set, frozenset)):
        vals = [_jsonable(v) for v in o]
        try:
            return sorted(vals)
        except TypeError:
            return vals
    if isinstance(o, os.PathLike):
        return name_record(o)
    if isinstance(o, (_dt.datetime, _dt.date, _dt.time)):
        return o.isoformat()
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return _jsonable({f.name: getattr(o, f.name) for f in dataclasses.fields(o)})
    if isinstance(o, bytes):
        return o.decode("utf-8", errors="replace")
    raise TypeError(f"cannot store a {type(o).__name__} in JSON")


def json_bytes(obj: Any) -> bytes:
    """UTF-8 JSON, ``indent=2``, sorted keys, trailing newline; numpy types converted, NaN/inf written as null."""
    text = json.dumps(_jsonable(obj), indent=2, sort_keys=True, allow_nan=False, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def save_png(
    path: str | os.PathLike[str],
    rgba_or_rgb: np.ndarray,
    *,
    overwrite: bool = False,
    text: Mapping[str, str] | None = None,
) -> Path:
    return atomic_write_bytes(path, png_bytes(rgba_or_rgb, text), overwrite=overwrite)


def save_npy(path: str | os.PathLike[str], array: np.ndarray, *, overwrite: bool = False) -> Path:
    return atomic_write_bytes(path, npy_bytes(array), overwrite=overwrite)


def save_json(path: str | os.PathLike[str], obj: Any, *, overwrite: bool = False) -> Path:
    return atomic_write_bytes(path, json_bytes(obj), overwrite=overwrite)


# --------------------------------------------------------------------------------------------------------------
# Free names ("keep both")
# --------------------------------------------------------------------------------------------------------------

_NUMBERED = re.compile(r"(.*) \((\d+)\)")


def _split_numbered(stem: str) -> tuple[str, int]:
    m = _NUMBERED.fullmatch(stem)
    return (m.group(1), int(m.group(2))) if m else (stem, 0)


def unique_path(path: str | os.PathLike[str]) -> Path:
    """``path`` if free, else the first free ``'x (1).png'``, ``'x (2).png'``... (``'x (3).png'`` -> ``'x (4).png'``)."""
    path = Path(path)
    if not os.path.lexists(path):
        return path
    base, n = _split_numbered(path.stem)
    while True:
        n += 1
        cand = path.with_name(f"{base} ({n}){path.suffix}")
        if not os.path.lexists(cand):
            return cand


def unique_stem(folder: str | os.PathLike[str], stem: str, suffixes: Iterable[str]) -> str:
    """The first of ``stem``, ``'stem (1)'``, ... for which no ``folder/stem+suffix`` exists (for file groups)."""
    folder = Path(folder)
    suffixes = list(suffixes)

    def free(s: str) -> bool:
        return not any(os.path.lexists(folder / (s + suf)) for suf in suffixes)

    if free(stem):
        return stem
    base, n = _split_numbered(stem)
    while True:
        n += 1
        cand = f"{base} ({n})"
        if free(cand):
            return cand
