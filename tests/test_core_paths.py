"""core.paths (one resolver, one sanitiser, one lossless JSON form of names) and core.outputs (the output planner)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from smoothgrad_desktop.core.errors import ExportError
from smoothgrad_desktop.core.export import json_bytes
from smoothgrad_desktop.core.outputs import OutputPlanner, check_not_inputs
from smoothgrad_desktop.core.paths import (
    EmptyPathError, display_name, name_from_record, name_record, printable, resolve_path, same_file,
)

NON_UTF8 = os.fsdecode(b"caf\xe9.png")


# ------------------------------------------------------------------------------------------------ resolve_path


def test_every_path_form_resolves_to_the_same_file(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    target = home / "models" / "m.pt"
    target.write_bytes(b"x")
    link = tmp_path / "link.pt"
    link.symlink_to(target)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(home / "models")
    want = Path(os.path.realpath(target))
    for form in ("~/models/m.pt", "m.pt", "./m.pt", "../models/m.pt", str(link), str(home / "models" / ".." / "models" / "m.pt")):
        assert resolve_path(form) == want, form
    assert resolve_path(b"m.pt") == want
    assert resolve_path("missing/new.pt") == Path(os.path.realpath(home / "models")) / "missing" / "new.pt"


def test_an_empty_path_is_refused_not_the_current_folder():
    with pytest.raises(EmptyPathError):
        resolve_path("")


def test_same_file_sees_symlinks_and_hard_links(tmp_path):
    a = tmp_path / "a.png"
    a.write_bytes(b"1")
    (tmp_path / "hard.png").hardlink_to(a)
    (tmp_path / "soft.png").symlink_to(a)
    (tmp_path / "other.png").write_bytes(b"1")
    assert same_file(a, tmp_path / "hard.png")
    assert same_file(a, tmp_path / "soft.png")
    assert same_file(a, tmp_path / "sub" / ".." / "a.png")
    assert not same_file(a, tmp_path / "other.png")


# ------------------------------------------------------------------------------------------------ printable


@pytest.mark.parametrize("raw, shown", [
    ("plain name.png", "plain name.png"),
    ("\x1b[2J\x1b[Hevil.png", "\\x1b[2J\\x1b[Hevil.png"),
    ("a\rb.png", "a\\rb.png"),
    ("two\nlines.png", "two\\nlines.png"),
    ("tab\there.png", "tab\\there.png"),
    ("del\x7f.png", "del\\x7f.png"),
    ("c1\x9b31m.png", "c1\\x9b31m.png"),
    ("bidi\u202egnp.exe", "bidi\\u202egnp.exe"),
    ("sep\u2028x.png", "sep\\u2028x.png"),
    (NON_UTF8, "caf\\xe9.png"),
    ("café ünïcode 猫.png", "café ünïcode 猫.png"),
])
def test_printable_makes_one_printable_line(raw, shown):
    out = printable(raw)
    assert out == shown
    assert out.isprintable()
    assert out.encode("utf-8")  # never a lone surrogate


def test_printable_shortens_long_names_keeping_both_ends():
    out = printable("a" * 500 + "END", limit=40)
    assert len(out) == 40 and out.startswith("aaa") and out.endswith("END") and "…" in out


def test_display_name_is_the_printable_last_component():
    assert display_name(Path("/x/y") / "a\x1bb.png") == "a\\x1bb.png"
    assert display_name(b"/tmp/caf\xe9.png") == "caf\\xe9.png"
    assert display_name("/") == "/"


# ------------------------------------------------------------------------------------------------ JSON names


@pytest.mark.parametrize("name", ["plain.png", "ctrl\x1b\r.png", NON_UTF8, os.fsdecode(b"\xff\xfe\x80.png")])
def test_name_record_is_lossless_and_valid_utf8_json(name):
    record = name_record(name)
    data = json_bytes({"name": record})
    data.decode("utf-8")  # valid UTF-8
    back = json.loads(data)["name"]
    assert name_from_record(back) == name
    assert os.fsencode(name_from_record(back)) == os.fsencode(name)
    if isinstance(back, dict):
        assert back["text"].isprintable()


def test_json_never_fails_on_a_surrogate_string():
    data = json_bytes({"note": f"loaded {NON_UTF8}", NON_UTF8: 1, "p": Path(NON_UTF8)})
    text = data.decode("utf-8")
    assert "caf\\\\xe9.png" in text  # the readable escape, JSON-escaped backslash
    assert json.loads(text)["p"]["bytes_hex"] == b"caf\xe9.png".hex()


# ------------------------------------------------------------------------------------------------ output planner


def test_planner_refuses_to_write_over_an_input_in_every_path_form(tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    photos.mkdir()
    photo = photos / "a.png"
    photo.write_bytes(b"photo")
    (tmp_path / "alias").symlink_to(photos)
    monkeypatch.chdir(tmp_path)
    for out in (photos, "photos", "./photos/../photos", tmp_path / "alias"):
        planner = OutputPlanner(out, protected=["photos/a.png"], overwrite=True)
        with pytest.raises(ExportError, match="one of the inputs"):
            planner.plan_stem(photo, [".npy", ".png", ".json"])
    hard = tmp_path / "h.png"
    hard.hardlink_to(photo)
    planner = OutputPlanner(tmp_path, protected=[photo], overwrite=True)
    with pytest.raises(ExportError, match="one of the inputs"):
        planner.plan(["h.png"])
    with pytest.raises(ExportError, match="one of the inputs"):
        check_not_inputs([hard], [photo])
    assert photo.read_bytes() == b"photo"


def test_planner_claims_names_once_per_run_and_frees_them_on_release(tmp_path):
    planner = OutputPlanner(tmp_path / "out")
    (tmp_path / "out").mkdir()
    first = planner.plan_stem(tmp_path / "a" / "x.png", [".npy", ".json"])
    with pytest.raises(ExportError, match="already written by x.png in this run"):
        planner.plan_stem(tmp_path / "b" / "x.jpg", [".npy", ".json"])
    planner.release(first)
    again = planner.plan_stem(tmp_path / "b" / "x.jpg", [".npy", ".json"])
    assert again.paths() == [tmp_path / "out" / "x.npy", tmp_path / "out" / "x.json"]


def test_planner_refuses_existing_files_unless_overwrite_and_too_long_names(tmp_path):
    (tmp_path / "x.npy").write_bytes(b"old")
    with pytest.raises(ExportError, match="already exists"):
        OutputPlanner(tmp_path).plan_stem("x.png", [".npy"])
    plan = OutputPlanner(tmp_path, overwrite=True).plan_stem("x.png", [".npy"])
    assert plan["x.npy"] == tmp_path / "x.npy"
    with pytest.raises(ExportError, match="too long"):
        OutputPlanner(tmp_path).plan(["n" * 250 + ".evaluation.json"])
    with pytest.raises(ExportError, match="too long"):  # bytes count, not characters
        OutputPlanner(tmp_path).plan(["é" * 126 + ".npy"])


def test_planner_writes_exactly_the_planned_files_all_or_nothing(tmp_path):
    planner = OutputPlanner(tmp_path)
    plan = planner.plan_stem("in/x.png", [".npy", ".json"])
    with pytest.raises(ValueError):
        planner.write(plan, {"x.npy": b"1"})
    assert not list(tmp_path.iterdir())
    planner.write(plan, {"x.npy": b"1", "x.json": b"2"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json", "x.npy"]
