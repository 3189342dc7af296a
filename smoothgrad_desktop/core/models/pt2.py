"""Inspecting a ``torch.export`` archive (``.pt2``) before torch loads it, and loading it with nothing run.

``torch.export.load`` is not a safe loader. Reading torch's own code (``torch/export/__init__.py`` ``load``,
``torch/export/pt2_archive/_package.py`` ``load_pt2``, ``torch/_export/serde/serialize.py``) shows these paths to
code execution while a file is *loaded*:

1. **Old layouts.** A zip without ``archive_format`` but with a top-level ``version`` entry (torch 2.7 and older)
   goes through ``deserialize_torch_artifact``, which tries ``torch.load(weights_only=True)`` and, when that fails,
   **falls back to ``torch.load(weights_only=False)``** (unrestricted pickle) for the state dict, constants and
   example inputs. The same fallback applies to the current layout's ``data/sample_inputs/<model>.pt`` and to the
   legacy ``data/weights/<model>.pt`` / ``data/constants/<model>.pt`` payloads.
2. **Pickled payloads.** Entries of ``*_weights_config.json`` / ``*_constants_config.json`` marked
   ``use_pickle`` are read with ``torch.load(weights_only=False)``; ``custom_obj_*`` constants with torch's
   TorchScript unpickler and ``opaque_obj_*`` constants with plain ``pickle.loads``.
3. **Native code.** ``data/aotinductor/<model>/`` holds compiled shared libraries that ``load_pt2`` loads.
4. **Symbolic shapes.** Every ``expr_str`` of the program is parsed with ``sympy.sympify``, which ``eval``-s the
   string: ``__import__('os').system(...)`` runs.
5. **Guards.** ``ExportedProgram.module()`` compiles the program's ``guards_code`` strings with ``exec`` into a
   function its forward calls (unless ``check_guards=False``).

:func:`inspect_archive` reads the archive with torch's own zip reader (so both see the same entries) and refuses,
in one line saying why: anything that is not a zip or is truncated, old layouts, an archive version this torch
does not read, AOTInductor/ExecuTorch payloads, pickled or custom-object weights and constants, sample inputs that
``weights_only=True`` cannot read, symbolic expressions outside sympy's arithmetic vocabulary, and any entry it
does not know. :func:`load_export` then loads the program with torch's logging silenced and builds the module with
``check_guards=False`` (the guards would be compiled with ``exec`` and run on every call). Call targets need no
check of ours: torch's verifier refuses a program calling anything but torch operators while it loads (that
refusal, like every other failure, becomes one line). What remains is what the user asked for: a program of torch
operators, run on their input.
"""

from __future__ import annotations

import io
import json
import keyword
import logging
import re
import tokenize
import warnings
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch

from ..errors import ModelLoadError
from ..paths import display_name, printable

ARCHIVE_FORMAT = "pt2"
_LOGGERS = ("torch.export", "torch._export", "torch.export.pt2_archive", "torch.export.pt2_archive._package",
            "torch._export.serde.serialize", "torch.fx.experimental.symbolic_shapes", "torch._dynamo")

# Entries of the current layout (names relative to the archive's root folder)
_FIXED = {"archive_format", "archive_version", "byteorder", ".data/version", ".data/serialization_id"}
_MODEL = re.compile(r"models/([A-Za-z0-9_.\-]+)\.json")
_SAMPLE = re.compile(r"data/sample_inputs/([A-Za-z0-9_.\-]+)\.pt")
_WEIGHTS_CONFIG = re.compile(r"data/weights/([A-Za-z0-9_.\-]+)_weights_config\.json")
_CONSTANTS_CONFIG = re.compile(r"data/constants/([A-Za-z0-9_.\-]+)_constants_config\.json")
_WEIGHT_FILE = re.compile(r"data/weights/(weight_\d+)")
_CONSTANT_FILE = re.compile(r"data/constants/(tensor_\d+)")
_EXTRA = re.compile(r"extra/[^/]+")

# sympy's vocabulary for shape expressions as torch serialises them (``srepr``/``str``)
_SYMPY_NAMES = {
    "Symbol", "Integer", "Rational", "Float", "Add", "Mul", "Pow", "Max", "Min", "Mod", "Abs", "floor", "ceiling",
    "sqrt", "Eq", "Ne", "Lt", "Le", "Gt", "Ge", "And", "Or", "Not", "Piecewise", "ExprCondPair", "true", "false",
    "True", "False", "oo", "zoo", "nan", "S", "Half", "One", "Zero", "NegativeOne", "Infinity", "NegativeInfinity",
    "StrictLessThan", "StrictGreaterThan", "LessThan", "GreaterThan", "Equality", "Unequality", "BooleanTrue",
    "BooleanFalse", "Tuple",
}
_SYMBOL_NAME = re.compile(r"[a-z]{1,8}\d+")
_OPS = {"(", ")", ",", "+", "-", "*", "/", "%", "**", "//", "=", "==", "!=", "<", ">", "<=", ">=", "&", "|", "~"}


def _fail(path: Path, why: str) -> ModelLoadError:
    return ModelLoadError(f"{display_name(path)}: refused: {why}")


def _sympy_functions() -> set[str]:
    try:
        import torch.utils._sympy.functions as fns

        return set(getattr(fns, "__all__", ()))
    except Exception:  # noqa: BLE001 - the check stays strict without them
        return set()


def check_sym_expr(text: str) -> str | None:
    """``None`` when ``text`` is a plain sympy shape expression, else why not. Only numbers, arithmetic and
    comparison operators, parentheses, keyword arguments, sympy's and torch's shape functions and symbol names
    (quoted or not) pass: no attribute access, no other names, no strings but symbol names."""
    allowed = _SYMPY_NAMES | _sympy_functions()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        return f"unparsable ({exc.__class__.__name__})"
    for i, tok in enumerate(tokens):
        kind, value = tok.type, tok.string
        if kind in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT):
            continue
        if kind == tokenize.NUMBER:
            if not re.fullmatch(r"\d+(\.\d*)?([eE][-+]?\d+)?", value):
                return f"number {value!r}"
            continue
        if kind == tokenize.STRING:
            if not re.fullmatch(r"'[A-Za-z_][A-Za-z0-9_]*'|\"[A-Za-z_][A-Za-z0-9_]*\"", value):
                return f"string {value!r}"
            continue
        if kind == tokenize.NAME:
            follows = tokens[i + 1].string if i + 1 < len(tokens) else ""
            if keyword.iskeyword(value) and value not in ("True", "False"):
                return f"keyword {value!r}"
            if value in allowed or _SYMBOL_NAME.fullmatch(value):
                continue
            if follows == "=" and re.fullmatch(r"[a-z][a-z_]*", value):  # Symbol('s0', positive=True)
                continue
            return f"name {value!r}"
        if kind == tokenize.OP and value in _OPS:
            continue
        return f"token {value!r}"
    return None


def _walk(obj, key: str = "") -> Iterator[tuple[str, object]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k, v
            yield from _walk(v, k)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk(v, key)


def _check_program(path: Path, name: str, data: bytes) -> None:
    try:
        program = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _fail(path, f"{name} is not valid JSON ({printable(str(exc), limit=80)})") from None
    if not isinstance(program, dict) or "graph_module" not in program:
        raise _fail(path, f"{name} is not an exported program")
    for key, value in _walk(program):
        if key == "expr_str":
            why = check_sym_expr(str(value))
            if why is not None:
                raise _fail(path, f"a shape expression in {name} is not plain arithmetic ({why}); "
                                  "torch would evaluate it as Python")
    guards = program.get("guards_code") or []
    if not isinstance(guards, list) or not all(isinstance(g, str) for g in guards):
        raise _fail(path, f"{name}: malformed guards")


def _check_payload_config(path: Path, reader, name: str, base: str, prefix: str, records: set[str]) -> set[str]:
    try:
        config = json.loads(bytes(reader.get_record(name)).decode("utf-8"))
        entries = config["config"]
        if not isinstance(entries, dict):
            raise TypeError("config is not an object")
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise _fail(path, f"{name} is malformed ({printable(str(exc), limit=80)})") from None
    used = set()
    for fqn, meta in entries.items():
        if not isinstance(meta, dict):
            raise _fail(path, f"{name}: entry {printable(fqn, limit=60)!r} is malformed")
        file = meta.get("path_name")
        if meta.get("use_pickle"):
            raise _fail(path, f"{printable(fqn, limit=60)!r} is stored as a pickle, which torch reads with "
                              "unrestricted unpickling (weights_only=False)")
        if not isinstance(file, str) or not re.fullmatch(re.escape(prefix) + r"\d+", file):
            what = printable(str(file), limit=60)
            if isinstance(file, str) and file.startswith(("custom_obj_", "opaque_obj_")):
                raise _fail(path, f"{printable(fqn, limit=60)!r} is a Python object ({what}), which torch "
                                  "unpickles without restriction")
            raise _fail(path, f"{name}: unexpected payload {what!r}")
        if meta.get("tensor_meta") is None:
            raise _fail(path, f"{name}: {printable(fqn, limit=60)!r} has no tensor description")
        if base + file not in records:
            raise _fail(path, f"{name}: payload {file} is missing")
        used.add(base + file)
    return used


def _weights_only_loads(data: bytes) -> bool:
    try:
        torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - any failure means torch would fall back to unrestricted unpickling
        return False
    return True


def inspect_archive(path: Path) -> None:
    """Raise :class:`ModelLoadError` (one line) unless ``path`` is a current-layout torch.export archive that
    ``torch.export.load`` reads without unrestricted unpickling, native code or ``eval`` (see module docstring)."""
    from torch.export.pt2_archive.constants import ARCHIVE_VERSION_VALUE

    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile:
        raise _fail(path, "not a torch.export archive (not a zip file, or truncated)") from None
    except (OSError, ValueError, EOFError) as exc:
        raise _fail(path, f"cannot read the archive ({printable(str(exc), limit=80)})") from None
    names = [i.filename for i in infos]
    if not names:
        raise _fail(path, "the archive is empty")
    if len(set(names)) != len(names):
        raise _fail(path, "the archive lists an entry twice")
    top = {n.split("/", 1)[0] for n in names}
    if "version" in names or any(n.startswith("serialized_") for n in names):
        raise _fail(path, "an old torch.export layout (torch 2.7 or older), which torch loads with unrestricted "
                          "unpickling; export the model again with this torch version")
    if len(top) != 1 or any("/" not in n for n in names):
        raise _fail(path, "not a torch.export archive (entries outside one root folder)")
    root = names[0].split("/", 1)[0] + "/"
    relative = {n[len(root):] for n in names if not n.endswith("/")}
    try:
        reader = torch._C.PyTorchFileReader(str(path))
        records = set(reader.get_all_records())
    except Exception as exc:  # noqa: BLE001 - torch's zip reader raises RuntimeError and friends
        raise _fail(path, f"not a torch.export archive ({printable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, limit=80)})") from None
    if records != relative:
        raise _fail(path, "the archive's entries read differently by torch and by zipfile")

    def read(name: str) -> bytes:
        try:
            return bytes(reader.get_record(name))
        except Exception as exc:  # noqa: BLE001
            raise _fail(path, f"cannot read {name} ({printable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, limit=80)})") from None

    if "archive_format" not in records:
        raise _fail(path, "not a torch.export archive (no archive_format entry)")
    if read("archive_format").decode("utf-8", "replace") != ARCHIVE_FORMAT:
        raise _fail(path, "not a torch.export archive (unknown archive_format)")
    version = read("archive_version").decode("utf-8", "replace") if "archive_version" in records else None
    if version != ARCHIVE_VERSION_VALUE:
        raise _fail(path, f"archive version {printable(str(version), limit=20)!r}; this torch reads version "
                          f"{ARCHIVE_VERSION_VALUE}")
    models = [m.group(1) for n in records if (m := _MODEL.fullmatch(n))]
    if not models:
        raise _fail(path, "the archive holds no exported program")
    if "model" not in models:
        raise _fail(path, "the archive holds no program named 'model'")
    known = set(_FIXED & records)
    for n in records:
        if n.startswith(("data/aotinductor/", "data/executorch/", "data/mtia", "xl_model_weights/")):
            raise _fail(path, f"it holds compiled native code ({printable(n, limit=60)}), which this app never "
                              "loads")
    for model in models:
        legacy = [f"data/weights/{model}.pt", f"data/constants/{model}.pt"]
        if any(n in records for n in legacy):
            raise _fail(path, "an old torch.export layout (pickled weights), which torch loads with unrestricted "
                              "unpickling; export the model again with this torch version")
        program_name = f"models/{model}.json"
        _check_program(path, program_name, read(program_name))
        known.add(program_name)
        sample = f"data/sample_inputs/{model}.pt"
        if sample not in records:
            raise _fail(path, f"{sample} is missing")
        if not _weights_only_loads(read(sample)):
            raise _fail(path, f"{sample} is not plain tensors; torch would read it with unrestricted unpickling")
        known.add(sample)
        for fmt, base, prefix in (("data/weights/{}_weights_config.json", "data/weights/", "weight_"),
                                  ("data/constants/{}_constants_config.json", "data/constants/", "tensor_")):
            config = fmt.format(model)
            if config not in records:
                raise _fail(path, f"{config} is missing")
            known.add(config)
            known |= _check_payload_config(path, reader, config, base, prefix, records)
    for n in records - known:
        if _EXTRA.fullmatch(n) or _WEIGHT_FILE.fullmatch(n) or _CONSTANT_FILE.fullmatch(n):
            continue  # extra files are read as text; unreferenced payloads are never read
        raise _fail(path, f"unexpected entry {printable(n, limit=60)!r}")


@contextmanager
def quiet_torch_logs() -> Iterator[None]:
    """Silence torch's export loggers (they print tracebacks of errors we report in one line ourselves)."""
    saved = []
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.disabled))
        logger.disabled = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, disabled in saved:
            logger.disabled = disabled


def load_export(path: Path):
    """Inspect ``path`` (:func:`inspect_archive`), then load it: the module of the exported program, built
    without executing its guard code. Raises :class:`ModelLoadError` with one line for anything that fails."""
    inspect_archive(path)
    try:
        with quiet_torch_logs():
            program = torch.export.load(str(path))
            return program.module(check_guards=False)
    except ModelLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - torch raises RuntimeError, AssertionError, SpecViolationError, ...
        lines = str(exc).strip().splitlines()
        first = printable(lines[0] if lines else type(exc).__name__, limit=160)
        raise ModelLoadError(f"{display_name(path)}: not a loadable torch.export program "
                             f"({type(exc).__name__}: {first})") from None
