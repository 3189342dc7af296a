"""Property test of file names through ``compute`` and ``report``: random bytes, control characters, very long
names, leading dashes, names that collide with each other's outputs. Whatever the names: the exit code is as
documented (0 all written, 1 some refused, 2 usage), every printed line is one clean printable line (one per
input), no input is ever written over (even with ``--out`` the input folder and ``--overwrite``), and every file
that is written belongs to an input that was reported as done."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
from pathlib import Path

import pytest

from smoothgrad_desktop.cli import main
from smoothgrad_desktop.core.resources import sample_images

NAME_MAX = 255
SUFFIXES = [b".png", b".PNG", b".jpg", b".json", b".npy", b".evaluation.json", b"", b".tar.gz", b".\xff"]


def _names(rng: random.Random, count: int) -> list[bytes]:
    """File names (bytes) of every kind that can exist on a POSIX file system."""
    out: set[bytes] = set()
    stems = [b"shared", b"-shared", b"index"]
    while len(out) < count:
        kind = rng.choice(["bytes", "controls", "long", "dashes", "unicode", "collide", "spaces"])
        if kind == "bytes":
            stem = bytes(rng.choice([b for b in range(1, 256) if b != ord("/")]) for _ in range(rng.randint(1, 24)))
        elif kind == "controls":
            stem = b"".join(rng.choice([b"\x1b[2J", b"\x1b]0;t\x07", b"\r", b"\n", b"\t", b"\x7f", b"\xc2\x9b",
                                        b"\xe2\x80\xae", b"a", b"b"]) for _ in range(rng.randint(1, 8)))
        elif kind == "long":
            stem = b"L" * rng.randint(NAME_MAX - 30, NAME_MAX - 4)
        elif kind == "dashes":
            stem = b"-" * rng.randint(1, 3) + rng.choice([b"x", b"-help", b"out", b"-overwrite"])
        elif kind == "unicode":
            stem = rng.choice(["café", "猫", "ünï", "🙂", "Ω"]).encode() * rng.randint(1, 4)
        elif kind == "spaces":
            stem = rng.choice([b" ", b"  a  ", b" lead", b"trail "])
        else:
            stem = rng.choice(stems)
        name = stem + rng.choice(SUFFIXES)
        if name in (b".", b"..") or len(name) > NAME_MAX or not name:
            continue
        out.add(name)
    return sorted(out)


def _snapshot(folder: bytes) -> dict[bytes, str]:
    return {n: hashlib.sha256(open(os.path.join(folder, n), "rb").read()).hexdigest()
            for n in os.listdir(folder) if os.path.isfile(os.path.join(folder, n))}


def _clean(text: str) -> None:
    text.encode("utf-8")  # no lone surrogates
    for line in text.splitlines():
        assert line.isprintable(), repr(line)
    assert "\r" not in text and "\x1b" not in text


@pytest.mark.parametrize("command, seed", [("compute", 0), ("compute", 1), ("report", 2)])
def test_file_names_through_the_command_line(tmp_path, capsys, command, seed):
    rng = random.Random(seed)
    digit = next(p for p in sample_images() if p.name.startswith("digit")).read_bytes()
    folder = os.fsencode(tmp_path / "in")
    os.mkdir(folder)
    names = _names(rng, 24)
    for name in names:
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(digit)
    before = _snapshot(folder)
    inputs = [os.fsdecode(os.path.join(folder, n)) for n in names]
    out = os.fsdecode(folder)  # the harshest case: outputs go into the input folder, replacing what exists
    code = main([command, "--out", out, "--overwrite", "--samples", "1", "--", *inputs])
    captured = capsys.readouterr()
    _clean(captured.out)
    _clean(captured.err)
    failed = [line for line in captured.err.splitlines() if line.strip()]
    done = [line for line in captured.out.splitlines() if line.strip()]
    assert all(line.startswith("smoothgrad-desktop: ") for line in failed)
    assert "Traceback" not in captured.err
    assert len(failed) + len(done) == len(inputs), (failed, done)  # one line per input
    assert code == (1 if failed else 0)
    assert done and failed  # the names exercise both outcomes
    after = _snapshot(folder)
    for name, digest in before.items():  # nothing written over an input
        assert after.get(name) == digest, name
    new = set(after) - set(before)
    suffixes = (b".npy", b".png", b".json") if command == "compute" else (b".npy",)
    written_stems = {Path(os.fsdecode(n)).stem for n in names}
    for name in new:
        if command == "report" and name == b"index.html":
            continue
        text = os.fsdecode(name)
        assert any(name.endswith(s) for s in suffixes), name
        assert any(text == stem + os.fsdecode(s) for stem in written_stems for s in suffixes), name
    assert not [n for n in os.listdir(folder) if n.startswith(b".") and n.endswith((b".part", b".bak"))]


def test_a_leading_dash_name_without_the_separator_is_a_usage_error(tmp_path, capsys, monkeypatch):
    shutil.copy(next(p for p in sample_images() if p.name.startswith("digit")), tmp_path / "-\x1b[2Jx.png")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["compute", "-\x1b[2Jx.png", "--out", "o"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    _clean(err)
    assert not (tmp_path / "o").exists()
