"""Crafted torch.export archives: every way torch's loader would run code is refused before torch sees the file.

Each crafted archive is first shown to be dangerous: plain ``torch.export.load`` (and ``.module()``) on it creates
a marker file. Then the app's loader refuses it in one line, and the marker never appears."""

from __future__ import annotations

import io
import json
import logging
import pickle
import zipfile
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from smoothgrad_desktop.cli import main
from smoothgrad_desktop.core.errors import ModelLoadError
from smoothgrad_desktop.core.models import load_model
from smoothgrad_desktop.core.models.pt2 import check_sym_expr, quiet_torch_logs


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.c = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4 * 6 * 6, 3)
        self.register_buffer("offset", torch.zeros(3))

    def forward(self, x):
        return self.fc(F.relu(self.c(x)).flatten(1)) + self.offset


class _Opens:
    """Unpickling this calls ``open(marker, "w")``: the marker file appears only if the pickle ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _torch_pickle(marker: Path) -> bytes:
    buf = io.BytesIO()
    torch.save(_Opens(marker), buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pt2") / "good.pt2"
    program = torch.export.export(Small().eval(), (torch.rand(2, 3, 8, 8),),
                                  dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=1024)},))
    torch.export.save(program, str(path))
    return path


def _entries(path: Path) -> tuple[str, dict[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        root = names[0].split("/", 1)[0]
        return root, {n[len(root) + 1:]: zf.read(n) for n in names}


def _write(path: Path, entries: dict[str, bytes], root: str | None = "archive") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in entries.items():
            zf.writestr(f"{root}/{name}" if root else name, data)
    return path


def _crafted(good: Path, out: Path, **changes) -> Path:
    root, entries = _entries(good)
    for name, data in changes.items():
        name = name.replace("__", "/")
        if data is None:
            entries.pop(name, None)
        else:
            entries[name] = data
    return _write(out, entries, root)


def _torch_runs_it(path: Path, module: bool = True, call: bool = False) -> None:
    """Plain torch on the crafted file (the payload only creates a marker file)."""
    with quiet_torch_logs():
        try:
            program = torch.export.load(str(path))
            if module:
                m = program.module()
                if call:
                    m(torch.rand(1, 3, 8, 8))
        except Exception:  # noqa: BLE001 - the payload may break the load after it ran
            pass


def _refused(path: Path, marker: Path, match: str) -> None:
    with pytest.raises(ModelLoadError, match=match) as info:
        load_model(str(path), device="cpu")
    assert "\n" not in str(info.value)
    assert not marker.exists()


def _program(good: Path) -> dict:
    return json.loads(_entries(good)[1]["models/model.json"])


# ----------------------------------------------------------------------------------------------- the good file


def test_a_current_archive_still_loads(good):
    model = load_model(str(good), device="cpu")
    assert model.kind == "export"
    assert model.module(torch.rand(4, 3, 8, 8)).shape == (4, 3)


# ----------------------------------------------------------------------------------------------- pickles


def test_old_layout_that_torch_unpickles_without_restriction_is_refused(good, tmp_path):
    marker = tmp_path / "ran-old-layout"
    from torch._export.serde.schema import SCHEMA_VERSION

    _, entries = _entries(good)
    evil = _torch_pickle(marker)
    legacy = {"version": ".".join(map(str, SCHEMA_VERSION)).encode(),
              "serialized_exported_program.json": entries["models/model.json"],
              "serialized_state_dict.pt": evil, "serialized_constants.pt": evil,
              "serialized_example_inputs.pt": evil}
    path = _write(tmp_path / "old.pt2", legacy, root=None)
    _torch_runs_it(path)
    assert marker.exists(), "precondition: torch's own loader runs this pickle"
    marker.unlink()
    _refused(path, marker, "old torch.export layout")


def test_sample_inputs_that_need_unrestricted_unpickling_are_refused(good, tmp_path):
    marker = tmp_path / "ran-sample-inputs"
    path = _crafted(good, tmp_path / "s.pt2", data__sample_inputs__model_pt=None,
                    **{"data/sample_inputs/model.pt": _torch_pickle(marker)})
    _torch_runs_it(path)
    assert marker.exists(), "precondition: torch falls back to weights_only=False for sample inputs"
    marker.unlink()
    _refused(path, marker, "sample_inputs.*unrestricted unpickling")


def test_pickled_weights_are_refused(good, tmp_path):
    marker = tmp_path / "ran-weights"
    _, entries = _entries(good)
    config = json.loads(entries["data/weights/model_weights_config.json"])
    first = next(iter(config["config"]))
    config["config"][first]["use_pickle"] = True
    file = config["config"][first]["path_name"]
    path = _crafted(good, tmp_path / "w.pt2", **{"data/weights/model_weights_config.json": json.dumps(config).encode(),
                                                 f"data/weights/{file}": _torch_pickle(marker)})
    _torch_runs_it(path, module=False)
    assert marker.exists(), "precondition: torch reads use_pickle weights with weights_only=False"
    marker.unlink()
    _refused(path, marker, "stored as a pickle")


def test_opaque_object_constants_are_refused(good, tmp_path):
    marker = tmp_path / "ran-constant"
    config = {"config": {"evil": {"path_name": "opaque_obj_0", "is_param": False, "use_pickle": True,
                                  "tensor_meta": None}}}
    path = _crafted(good, tmp_path / "c.pt2",
                    **{"data/constants/model_constants_config.json": json.dumps(config).encode(),
                       "data/constants/opaque_obj_0": pickle.dumps(_Opens(marker))})
    _torch_runs_it(path, module=False)
    assert marker.exists(), "precondition: torch unpickles opaque constants with pickle.loads"
    marker.unlink()
    _refused(path, marker, "pickle|Python object")
    config["config"]["evil"]["use_pickle"] = False  # the prefix alone is refused too
    path = _crafted(good, tmp_path / "c2.pt2",
                    **{"data/constants/model_constants_config.json": json.dumps(config).encode(),
                       "data/constants/opaque_obj_0": pickle.dumps(_Opens(marker))})
    _refused(path, marker, "Python object")


def test_compiled_native_code_is_refused(good, tmp_path):
    marker = tmp_path / "never"
    path = _crafted(good, tmp_path / "a.pt2", **{"data/aotinductor/model/model.so": b"\x7fELF"})
    _refused(path, marker, "native code")


# ----------------------------------------------------------------------------------------------- eval / exec


def test_shape_expressions_that_sympy_would_eval_are_refused(good, tmp_path):
    marker = tmp_path / "ran-sympify"
    program = _program(good)
    text = json.dumps(program)
    assert "Symbol('s" in text or '"expr_str"' in text
    evil = f"__import__('builtins').open('{marker}', 'w') and Symbol('s0', integer=True)"
    values = program["graph_module"]["graph"]["tensor_values"]
    for value in values.values():
        for size in value["sizes"]:
            if "as_expr" in size:
                size["as_expr"]["expr_str"] = evil
    path = _crafted(good, tmp_path / "e.pt2", **{"models/model.json": json.dumps(program).encode()})
    _torch_runs_it(path, module=False)
    assert marker.exists(), "precondition: torch evaluates expr_str with sympy.sympify (eval)"
    marker.unlink()
    _refused(path, marker, "shape expression")


@pytest.mark.parametrize("text, ok", [
    ("Symbol('s77', positive=True, integer=True)", True),
    ("s0*s1 + FloorDiv(s0, 2) - 3", True),
    ("Max(2, 2*s0 + 1) <= 1024", True),
    ("1.5e3*s2", True),
    ("__import__('os')", False),
    ("open('x', 'w')", False),
    ("exec(chr(112))", False),
    ("Symbol('s0').__class__", False),
    ("(lambda: 0)()", False),
    ("Symbol('a b')", False),
    ("s0; s1", False),
])
def test_shape_expression_vocabulary(text, ok):
    assert (check_sym_expr(text) is None) == ok, check_sym_expr(text)


def test_guard_code_is_never_executed(good, tmp_path):
    marker = tmp_path / "ran-guards"
    program = _program(good)
    program["guards_code"] = [f"__import__('builtins').open('{marker}', 'w') is not None"]
    path = _crafted(good, tmp_path / "g.pt2", **{"models/model.json": json.dumps(program).encode()})
    _torch_runs_it(path, call=True)
    assert marker.exists(), "precondition: ExportedProgram.module() compiles guards_code, its forward runs it"
    marker.unlink()
    model = load_model(str(path), device="cpu")  # the program itself is fine; its guards are just never run
    model.module(torch.rand(2, 3, 8, 8))
    assert not marker.exists()


def test_calls_to_anything_but_torch_operators_are_one_line(good, tmp_path):
    program = _program(good)
    node = next(n for n in program["graph_module"]["graph"]["nodes"] if "relu" in n["target"])
    node["target"] = "torch.os.system"  # torch resolves it to os.system; its verifier refuses the program
    path = _crafted(good, tmp_path / "t.pt2", **{"models/model.json": json.dumps(program).encode()})
    with pytest.raises(ModelLoadError, match="SpecViolationError") as info:
        load_model(str(path), device="cpu")
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


# ----------------------------------------------------------------------------------------------- one line, exit 2


@pytest.mark.parametrize("case", ["truncated", "bogus-version", "old-layout", "not-a-zip", "no-format", "unknown-entry"])
def test_broken_archives_are_one_line_and_exit_2(good, tmp_path, capsys, case):
    root, entries = _entries(good)
    path = tmp_path / f"{case}.pt2"
    if case == "truncated":
        data = good.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif case == "bogus-version":
        _crafted(good, path, archive_version=b"99")
    elif case == "old-layout":
        _write(path, {"version": b"1.0", "serialized_exported_program.json": b"{}"}, root=None)
    elif case == "not-a-zip":
        path.write_text("hello")
    elif case == "no-format":
        _crafted(good, path, archive_format=None)
    else:
        _crafted(good, path, **{"data/something.bin": b"x"})
    image = tmp_path / "x.npy"
    import numpy as np

    np.save(image, np.zeros((3, 8, 8), np.float32))
    root_logger = logging.getLogger()
    assert main(["compute", str(image), "--out", str(tmp_path / "o"), "--model", str(path), "--samples", "2"]) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err and lines[0].startswith(f"smoothgrad-desktop: {case}.pt2: refused")
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())
    assert root_logger.level == logging.getLogger().level
