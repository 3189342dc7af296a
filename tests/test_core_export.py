"""Atomic export: round trips, refusing to overwrite, and no partial or temporary files after any failure."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from smoothgrad_desktop.core import export as E
from smoothgrad_desktop.core.errors import ExportError, UserFacingError

ENOSPC = OSError(errno.ENOSPC, "No space left on device")


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def fail_on_call(n: int, exc: BaseException, real):
    """A stand-in for ``real`` that raises ``exc`` on its n-th call (1-based) and passes the others through."""
    calls = {"n": 0}

    def fake(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise exc
        return real(*args, **kwargs)

    return fake


# ---------------------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("shape,mode", [((6, 5), "L"), ((6, 5, 3), "RGB"), ((6, 5, 4), "RGBA")])
def test_png_round_trip_with_text(tmp_path, shape, mode):
    arr = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    path = E.save_png(tmp_path / "map.png", arr, text={"method": "smoothgrad", "sigma": "0.15", "note": "σ=15%"})
    assert path == tmp_path / "map.png"
    with Image.open(path) as im:
        assert im.format == "PNG" and im.mode == mode
        np.testing.assert_array_equal(np.asarray(im), arr)
        assert im.text["method"] == "smoothgrad" and im.text["sigma"] == "0.15"
        assert im.text["note"] == "σ=15%"  # non-Latin-1 goes to iTXt
    assert listing(tmp_path) == ["map.png"]


def test_png_rejects_non_uint8_and_bad_shape(tmp_path):
    with pytest.raises(ValueError):
        E.png_bytes(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError):
        E.png_bytes(np.zeros((4, 4, 2), np.uint8))


def test_npy_round_trip(tmp_path):
    arr = np.random.default_rng(1).normal(size=(3, 8, 9)).astype(np.float32)
    E.save_npy(tmp_path / "a.npy", arr)
    back = np.load(tmp_path / "a.npy", allow_pickle=False)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, arr)


def test_json_round_trip_numpy_types_and_nan(tmp_path):
    obj = {
        "b": np.float32(0.5),
        "a": [np.int64(3), np.bool_(True), (1, 2)],
        "nan": float("nan"),
        "inf": np.float64(np.inf),
        "arr": np.array([[1.0, np.nan], [2.0, 3.0]]),
        "path": tmp_path / "x.png",
        "nested": {"k": {np.int64(7): "seven"}},
    }
    E.save_json(tmp_path / "p.json", obj)
    text = (tmp_path / "p.json").read_text(encoding="utf-8")
    back = json.loads(text)
    assert back == {
        "a": [3, True, [1, 2]],
        "arr": [[1.0, None], [2.0, 3.0]],
        "b": 0.5,
        "inf": None,
        "nan": None,
        "nested": {"k": {"7": "seven"}},
        "path": str(tmp_path / "x.png"),
    }
    assert "NaN" not in text and "Infinity" not in text
    assert text.index('"a"') < text.index('"b"')  # sorted keys
    assert text.endswith("\n") and '\n  "a"' in text  # indent=2
    with pytest.raises(TypeError):
        E.json_bytes({"x": object()})


def test_saved_file_permissions_follow_umask(tmp_path):
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    path = E.atomic_write_bytes(tmp_path / "f.bin", b"x")
    old = os.umask(0o022)
    os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~old  # not mkstemp's 0600


# ---------------------------------------------------------------------------------------------- existing files


def test_existing_file_refused_and_untouched(tmp_path):
    target = tmp_path / "x.png"
    target.write_bytes(b"original")
    with pytest.raises(ExportError) as info:
        E.save_png(target, np.zeros((2, 2, 3), np.uint8))
    assert str(info.value) == f"{target} already exists"
    assert isinstance(info.value, UserFacingError)
    assert target.read_bytes() == b"original"
    assert listing(tmp_path) == ["x.png"]
    E.save_png(target, np.zeros((2, 2, 3), np.uint8), overwrite=True)
    assert target.read_bytes().startswith(b"\x89PNG")


def test_existing_file_checked_before_anything_is_written(tmp_path, monkeypatch):
    target = tmp_path / "x.npy"
    target.write_bytes(b"original")

    def no_temp(*a, **k):
        raise AssertionError("a temp file was created although the target exists")

    monkeypatch.setattr(E.tempfile, "mkstemp", no_temp)
    with pytest.raises(ExportError):
        E.save_npy(target, np.zeros(3))


# ---------------------------------------------------------------------------------------------- failures


@pytest.mark.parametrize("func", ["fsync", "replace", "write"])
def test_disk_full_leaves_no_file_and_no_temp(tmp_path, monkeypatch, func):
    target = tmp_path / "out.npy"
    if func == "write":
        real_fdopen = os.fdopen

        class Full:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

            def write(self, data):
                raise ENOSPC

            def __getattr__(self, name):
                return getattr(self.f, name)

        monkeypatch.setattr(os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    else:
        monkeypatch.setattr(os, func, fail_on_call(1, ENOSPC, getattr(os, func)))
    with pytest.raises(ExportError) as info:
        E.save_npy(target, np.arange(10))
    msg = str(info.value)
    assert "No space left" in msg and str(target) in msg and msg.startswith("cannot write ")
    assert "\n" not in msg
    assert listing(tmp_path) == []


def test_failed_overwrite_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("old")
    monkeypatch.setattr(os, "fsync", fail_on_call(1, ENOSPC, os.fsync))
    with pytest.raises(ExportError):
        E.save_json(target, {"a": 1}, overwrite=True)
    assert target.read_text() == "old"
    assert listing(tmp_path) == ["out.json"]


def test_permission_denied_from_mkstemp(tmp_path, monkeypatch):
    # tests may run as root, which ignores chmod: simulate a read-only folder
    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(E.tempfile, "mkstemp", denied)
    target = tmp_path / "x.png"
    with pytest.raises(ExportError) as info:
        E.save_png(target, np.zeros((2, 2), np.uint8))
    assert str(info.value) == f"cannot write {target}: Permission denied"
    assert listing(tmp_path) == []


def test_missing_folder_is_reported(tmp_path):
    target = tmp_path / "nope" / "x.json"
    with pytest.raises(ExportError) as info:
        E.save_json(target, {})
    assert "No such file or directory" in str(info.value) and str(target) in str(info.value)


def test_interrupt_cleans_up_and_propagates(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "fsync", fail_on_call(1, KeyboardInterrupt(), os.fsync))
    with pytest.raises(KeyboardInterrupt):
        E.atomic_write_bytes(tmp_path / "x.bin", b"data")
    assert listing(tmp_path) == []


# ---------------------------------------------------------------------------------------------- groups


def group(tmp_path: Path, stem="run") -> dict[Path, bytes]:
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    return {
        tmp_path / f"{stem}.npy": E.npy_bytes(arr),
        tmp_path / f"{stem}.png": E.png_bytes(np.zeros((3, 4, 4), np.uint8)),
        tmp_path / f"{stem}.json": E.json_bytes({"span": np.float32(1.5)}),
    }


def test_write_group_success(tmp_path):
    files = group(tmp_path)
    paths = E.write_group(files)
    assert paths == list(files)
    assert listing(tmp_path) == ["run.json", "run.npy", "run.png"]
    for p, data in files.items():
        assert p.read_bytes() == data


@pytest.mark.parametrize("func", ["fsync", "replace"])
def test_write_group_failure_on_third_file_leaves_none(tmp_path, monkeypatch, func):
    monkeypatch.setattr(os, func, fail_on_call(3, ENOSPC, getattr(os, func)))
    with pytest.raises(ExportError) as info:
        E.write_group(group(tmp_path))
    assert "No space left" in str(info.value) and "run.json" in str(info.value)
    assert listing(tmp_path) == []


def test_write_group_refuses_existing_and_writes_nothing(tmp_path):
    (tmp_path / "run.png").write_bytes(b"keep")
    with pytest.raises(ExportError) as info:
        E.write_group(group(tmp_path))
    assert str(info.value) == f"{tmp_path / 'run.png'} already exists"
    assert listing(tmp_path) == ["run.png"]
    assert (tmp_path / "run.png").read_bytes() == b"keep"


def test_write_group_overwrite_failure_restores_old_files(tmp_path, monkeypatch):
    for name in ("run.npy", "run.png", "run.json"):
        (tmp_path / name).write_bytes(b"old " + name.encode())
    # with backups every file costs two replaces: fail on the third file's move into place (call 6)
    monkeypatch.setattr(os, "replace", fail_on_call(6, ENOSPC, os.replace))
    with pytest.raises(ExportError):
        E.write_group(group(tmp_path), overwrite=True)
    assert listing(tmp_path) == ["run.json", "run.npy", "run.png"]
    for name in ("run.npy", "run.png", "run.json"):
        assert (tmp_path / name).read_bytes() == b"old " + name.encode()


def test_write_group_overwrite_success_leaves_no_backups(tmp_path):
    (tmp_path / "run.npy").write_bytes(b"old")
    files = group(tmp_path)
    E.write_group(files, overwrite=True)
    assert listing(tmp_path) == ["run.json", "run.npy", "run.png"]
    assert (tmp_path / "run.npy").read_bytes() == files[tmp_path / "run.npy"]


def test_write_group_rejects_duplicates(tmp_path):
    with pytest.raises(ValueError):
        E.write_group({tmp_path / "a.npy": b"1", str(tmp_path / "a.npy"): b"2"})


# ---------------------------------------------------------------------------------------------- free names


def test_unique_path(tmp_path):
    p = tmp_path / "x.png"
    assert E.unique_path(p) == p
    p.write_bytes(b"")
    assert E.unique_path(p) == tmp_path / "x (1).png"
    (tmp_path / "x (1).png").write_bytes(b"")
    assert E.unique_path(p) == tmp_path / "x (2).png"
    (tmp_path / "y (3).png").write_bytes(b"")
    assert E.unique_path(tmp_path / "y (3).png") == tmp_path / "y (4).png"


def test_unique_stem(tmp_path):
    assert E.unique_stem(tmp_path, "run", [".npy", ".png"]) == "run"
    (tmp_path / "run.png").write_bytes(b"")
    assert E.unique_stem(tmp_path, "run", [".npy", ".png"]) == "run (1)"
    (tmp_path / "run (1).npy").write_bytes(b"")
    assert E.unique_stem(tmp_path, "run", [".npy", ".png"]) == "run (2)"
