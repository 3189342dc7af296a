"""Hostile names and paths through the command line: no input is ever overwritten, every line is printable,
non-UTF-8 names are computed and stored losslessly, an empty INPUT is a usage error, report failures are one line
each and the page lists only what was written."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from smoothgrad_desktop.cli import main
from smoothgrad_desktop.core import export as core_export
from smoothgrad_desktop.core.paths import name_from_record
from smoothgrad_desktop.core.resources import sample_images

FAST = ["--samples", "2", "--seed", "0"]


@pytest.fixture(scope="module")
def digit() -> Path:
    return next(p for p in sample_images() if p.name.startswith("digit"))


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _tree(folder: Path) -> dict[str, bytes]:
    return {os.fsdecode(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------------------------- empty INPUT


@pytest.mark.parametrize("command", ["compute", "evaluate", "report"])
def test_an_empty_input_string_is_a_usage_error_not_the_current_folder(tmp_path, digit, monkeypatch, capsys, command):
    shutil.copy(digit, tmp_path / "here.png")
    monkeypatch.chdir(tmp_path)
    before = _tree(tmp_path)
    code = main([command, "", "--out", "o", *FAST])
    err = capsys.readouterr().err
    assert code == 2
    assert len(_lines(err)) == 1 and "empty string" in err
    assert _tree(tmp_path) == before and not (tmp_path / "o").exists()
    assert main(["compute", "here.png", "--out", "", *FAST]) == 2
    assert _tree(tmp_path) == before


# --------------------------------------------------------------------------------------------- inputs are never overwritten


def test_compute_into_the_input_folder_with_overwrite_never_replaces_the_photo(tmp_path, digit, monkeypatch, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    photo = photos / "a.png"
    shutil.copy(digit, photo)
    original = photo.read_bytes()
    (tmp_path / "alias").symlink_to(photos)
    monkeypatch.chdir(tmp_path)
    for out in ("photos", str(photos), "alias", "photos/../photos"):
        code = main(["compute", "photos/a.png", "--out", out, "--overwrite", *FAST])
        err = capsys.readouterr().err
        assert code == 1, out
        assert "one of the inputs" in err and len(_lines(err)) == 1
        assert photo.read_bytes() == original
        assert sorted(p.name for p in photos.iterdir()) == ["a.png"]  # all three files or none
    # a folder INPUT protects every file in it too
    code = main(["compute", "photos", "--out", "photos", "--overwrite", *FAST])
    assert code == 1 and photo.read_bytes() == original


def test_evaluate_never_writes_over_another_input(tmp_path, digit, capsys):
    shutil.copy(digit, tmp_path / "a.png")
    shutil.copy(digit, tmp_path / "a.deletion.png")  # what evaluate would write for a.png
    victim = (tmp_path / "a.deletion.png").read_bytes()
    code = main(["evaluate", str(tmp_path / "a.png"), str(tmp_path / "a.deletion.png"), "--out", str(tmp_path),
                 "--overwrite", "--no-sanity", "--curve-steps", "4", *FAST])
    err = capsys.readouterr().err
    assert code == 1
    assert (tmp_path / "a.deletion.png").read_bytes() == victim
    assert [line for line in _lines(err) if "one of the inputs" in line]
    assert not (tmp_path / "a.evaluation.json").exists()


def test_report_never_writes_over_a_raw_npy_input(tmp_path, capsys):
    raw = tmp_path / "x.npy"
    np.save(raw, np.random.default_rng(0).random((1, 28, 28), dtype=np.float32))
    before = raw.read_bytes()
    code = main(["report", str(raw), "--out", str(tmp_path), "--overwrite", *FAST])
    err = capsys.readouterr().err
    assert code == 1 and "one of the inputs" in err
    assert raw.read_bytes() == before
    assert not (tmp_path / "index.html").exists()


def test_two_inputs_with_one_stem_do_not_replace_each_other(tmp_path, digit, capsys):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        shutil.copy(digit, tmp_path / sub / "x.png")
    code = main(["compute", str(tmp_path / "a" / "x.png"), str(tmp_path / "b" / "x.png"), "--out",
                 str(tmp_path / "o"), "--overwrite", "-q", *FAST])
    err = capsys.readouterr().err
    assert code == 1 and "already written" in err and len(_lines(err)) == 1
    record = json.loads((tmp_path / "o" / "x.json").read_text())
    assert name_from_record(record["input"]["path"]) == os.path.realpath(tmp_path / "a" / "x.png")


# --------------------------------------------------------------------------------------------- names


def test_control_characters_in_names_never_reach_the_terminal(tmp_path, digit, capsys):
    evil = tmp_path / "\x1b[2J\x1b]0;pwned\x07a\rb.png"
    shutil.copy(digit, evil)
    missing = tmp_path / "gone\x1b[31m.png"
    code = main(["compute", str(evil), str(missing), "--out", str(tmp_path / "o"), *FAST])
    captured = capsys.readouterr()
    assert code == 1
    for stream in (captured.out, captured.err):
        assert "\x1b" not in stream and "\r" not in stream and "\x07" not in stream
    assert "\\x1b[2J" in captured.out and "a\\rb.png" in captured.out
    assert len(_lines(captured.err)) == 1 and "gone\\x1b[31m.png" in captured.err
    record = json.loads((tmp_path / "o" / f"{evil.stem}.json").read_text())
    assert record["input"]["name"] == evil.name  # JSON escapes control characters: stored exactly


def test_argparse_errors_do_not_echo_control_characters(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["compute", "x.png", "--out", "o", "--bogus\x1b[2J"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b[2J" in err


@pytest.mark.parametrize("command", ["compute", "report"])
def test_non_utf8_names_are_computed_and_stored_losslessly(tmp_path, digit, capsys, command):
    folder = os.fsencode(tmp_path)
    raw_name = b"caf\xe9 \xff.png"
    path = os.path.join(folder, raw_name)
    with open(path, "wb") as fh:
        fh.write(digit.read_bytes())
    out = tmp_path / "out"
    code = main([command, os.fsdecode(path), "--out", str(out), *FAST])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Traceback" not in captured.err
    captured.out.encode("utf-8")  # printable: no lone surrogates on the terminal
    assert "caf\\xe9 \\xff.png" in captured.out
    names = set(os.listdir(os.fsencode(out)))
    if command == "compute":
        assert names == {b"caf\xe9 \xff.npy", b"caf\xe9 \xff.png", b"caf\xe9 \xff.json"}
        record = json.loads(open(os.path.join(os.fsencode(out), b"caf\xe9 \xff.json"), "rb").read().decode("utf-8"))
    else:
        assert names == {b"caf\xe9 \xff.npy", b"index.html"}
        page = (out / "index.html").read_bytes().decode("utf-8")
        assert "caf\\xe9 \\xff.png" in page
        start = page.index("<pre>") + 5
        import html

        record = json.loads(html.unescape(page[start:page.index("</pre>", start)]))
    assert os.fsencode(name_from_record(record["input"]["name"])) == raw_name
    assert os.fsencode(name_from_record(record["input"]["path"])) == os.path.join(os.path.realpath(folder), raw_name)
    assert record["input"]["name"]["text"] == "caf\\xe9 \\xff.png"


# --------------------------------------------------------------------------------------------- report failures


def test_report_into_an_unwritable_folder_is_one_line_per_input_and_no_page(tmp_path, digit, monkeypatch, capsys):
    inputs = []
    for name in ("one.png", "two.png"):
        shutil.copy(digit, tmp_path / name)
        inputs.append(str(tmp_path / name))
    out = tmp_path / "ro"
    out.mkdir()

    def refuse(*args, **kwargs):  # a read-only folder (the tests may run as root, where chmod does not bite)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(core_export.tempfile, "mkstemp", refuse)
    code = main(["report", *inputs, "--out", str(out), *FAST, "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    lines = _lines(err)
    assert len(lines) == 2 and all("Permission denied" in line for line in lines)
    assert list(out.iterdir()) == []


def test_report_page_lists_only_inputs_whose_files_were_written(tmp_path, digit, capsys):
    shutil.copy(digit, tmp_path / "good.png")
    shutil.copy(digit, tmp_path / "taken.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "taken.npy").write_bytes(b"someone else's")  # no --overwrite: this input's file cannot be written
    code = main(["report", str(tmp_path / "good.png"), str(tmp_path / "taken.png"), "--out", str(out), *FAST, "-q"])
    err = capsys.readouterr().err
    assert code == 1 and len(_lines(err)) == 1 and "taken.npy already exists" in err
    page = (out / "index.html").read_text()
    assert "<h2>good.png</h2>" in page and "taken.png" not in page
    assert (out / "taken.npy").read_bytes() == b"someone else's"


def test_unwritable_index_is_one_line(tmp_path, digit, monkeypatch, capsys):
    shutil.copy(digit, tmp_path / "a.png")
    out = tmp_path / "out"
    real = core_export.write_group

    def fail_index(files, **kwargs):
        if any(Path(p).name == "index.html" for p in files):
            raise core_export.ExportError(f"cannot write {out / 'index.html'}: No space left on device")
        return real(files, **kwargs)

    monkeypatch.setattr("smoothgrad_desktop.core.outputs.write_group", fail_index)
    code = main(["report", str(tmp_path / "a.png"), "--out", str(out), *FAST, "-q"])
    err = capsys.readouterr().err
    assert code == 1 and _lines(err) == [f"smoothgrad-desktop: cannot write {out / 'index.html'}: No space left on device"]
