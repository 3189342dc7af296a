"""Paths and file names from outside, handled one way everywhere (no Qt, no torch).

Everything a user, a session file or a settings file names is hostile until it went through here:

* :func:`resolve_path` turns a path as given (``~/model.pt``, ``models/../m.pt``, a relative path, a symlink) into
  the one absolute, symlink-free path that is actually opened. The model loader, the session's
  "load this code?" gate and its hash check, the command line's input list and the output planner all call it, so
  the file that is checked is the file that is loaded.
* :func:`printable` turns any text that names a file into **one printable line**: control characters (ESC, CR,
  LF, DEL, C1 controls), Unicode line/paragraph separators and bidirectional overrides are shown as ``\\x1b``,
  ``\\r``, ``\\u202e``...; bytes of a non-UTF-8 file name (which Python keeps as lone surrogates) are shown as
  ``\\xe9``. A crafted file name can therefore never move the cursor, rewrite a terminal line or fake a second
  message. :func:`display_name` is the same for the name of a path. Every line of the command line and every
  status line of the app that names a file goes through it.
* :func:`name_record` is the form of a name stored in JSON provenance: the name itself when it is valid UTF-8
  (JSON escapes control characters, so it is lossless), otherwise the readable form plus the exact bytes in hex,
  so that nothing is lost and the JSON stays valid UTF-8.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from .errors import UserFacingError

__all__ = [
    "EmptyPathError",
    "display_name",
    "is_lossless_text",
    "name_record",
    "name_from_record",
    "printable",
    "resolve_path",
    "same_file",
]


class EmptyPathError(UserFacingError):
    """An empty string was given where a path is expected (e.g. an unset shell variable)."""


def resolve_path(path: str | os.PathLike[str], *, base: str | os.PathLike[str] | None = None) -> Path:
    """The absolute, symlink-free form of ``path`` as it will be opened.

    ``~`` and ``~user`` are expanded, a relative path is taken relative to ``base`` (default: the current folder),
    ``..`` and symlinks are resolved (a missing tail is kept as written, so a file that does not exist yet
    resolves too). An empty string is refused: ``Path("")`` would silently mean the current folder."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if text == "":
        raise EmptyPathError("an empty string is not a path")
    expanded = os.path.expanduser(text)
    if not os.path.isabs(expanded):
        expanded = os.path.join(os.fspath(base) if base is not None else os.getcwd(), expanded)
    return Path(os.path.realpath(expanded))


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when ``a`` and ``b`` name the same file: the same resolved path, or (both existing) the same inode
    (hard links, case-insensitive file systems)."""
    ra, rb = resolve_path(a), resolve_path(b)
    if os.path.normcase(ra) == os.path.normcase(rb):
        return True
    try:
        return os.path.samefile(ra, rb)
    except (OSError, ValueError):
        return False


_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a non-UTF-8 name, kept by os.fsdecode as a lone surrogate
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _unsafe(ch: str) -> bool:
    # Cc: C0/C1 controls and DEL; Cf: format characters (bidi overrides, zero-width joiners...);
    # Cs: lone surrogates; Zl/Zp: line and paragraph separators; Co/Cn: private use and unassigned
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn")


def printable(text: object, *, limit: int | None = None) -> str:
    """``text`` as one printable line (see the module docstring); ``limit`` shortens it to that many characters,
    keeping the start and the end (``abc…xyz``)."""
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    text = str(text)
    out = "".join(_escape(ch) if _unsafe(ch) else ch for ch in text)
    if limit is not None and len(out) > limit:
        head = max(1, (limit - 1) * 2 // 3)
        tail = max(0, limit - 1 - head)
        out = out[:head] + "…" + (out[-tail:] if tail else "")
    return out


def display_name(path: str | os.PathLike[str] | bytes) -> str:
    """The printable name of a file (its last component; the whole path when it has no name, e.g. ``/``)."""
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    text = os.fspath(path)
    name = os.path.basename(text.rstrip("/\\")) if text not in ("", "/") else text
    return printable(name or text)


def is_lossless_text(text: str) -> bool:
    """True when ``text`` can be written as UTF-8 as it is (it holds no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def name_record(path: str | os.PathLike[str] | bytes | None) -> str | dict | None:
    """A file name or path for JSON: the text itself when it is valid UTF-8, else
    ``{"text": <printable form>, "bytes_hex": <the exact bytes>}`` (readable and lossless)."""
    if path is None:
        return None
    raw = os.fsencode(path) if not isinstance(path, bytes) else path
    text = os.fsdecode(raw)
    if is_lossless_text(text):
        return text
    return {"text": printable(text), "bytes_hex": raw.hex()}


def name_from_record(record: str | dict) -> str:
    """The inverse of :func:`name_record`: the path as Python's ``os`` functions take it."""
    if isinstance(record, dict):
        return os.fsdecode(bytes.fromhex(str(record["bytes_hex"])))
    return str(record)
