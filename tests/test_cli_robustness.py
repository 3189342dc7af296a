"""The whole bad-image corpus of issue 5 through the command line: one stderr line per refused file, exit code 1,
no output for a refused input; the odd but good files are computed, with their conversion notes."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from smoothgrad_desktop.cli import main
from smoothgrad_desktop.core import images as core_images
from smoothgrad_desktop.core.resources import sample_images
from tests.hostile import patch_ihdr, png_bytes

assert sample_images(), "the shipped sample images are missing: the installation is broken"


def test_bad_image_corpus_on_the_command_line(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    noise = np.random.default_rng(0).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    (folder / "zero.png").write_bytes(b"")
    (folder / "letter.png").write_text("not a picture\n" * 20)
    png = png_bytes(Image.fromarray(noise))
    (folder / "cut.png").write_bytes(png[: len(png) // 2])
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "JPEG", quality=90)
    (folder / "cut.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (folder / "huge.png").write_bytes(patch_ihdr(png_bytes(Image.new("L", (1, 1))), 60000, 60000))
    Image.new("L", (8, 8), 7).save(folder / "locked.png")
    (folder / "folder.png").mkdir()
    bad = {"zero.png": "empty file", "letter.png": "not an image file", "cut.png": "truncated or corrupt",
           "cut.jpg": "truncated or corrupt", "huge.png": "too many pixels", "locked.png": "permission denied",
           "folder.png": "director"}
    locked = str(folder / "locked.png")
    real_access = core_images.os.access
    monkeypatch.setattr(core_images.os, "access",
                        lambda p, mode, *a, **k: False if str(p) == locked else real_access(p, mode, *a, **k))
    # odd but good files go through the same command
    anim = [Image.new("RGB", (28, 28), c) for c in ((255, 0, 0), (0, 255, 0))]
    anim[0].save(folder / "anim.gif", save_all=True, append_images=anim[1:], duration=50, loop=0)
    Image.fromarray(np.array([[0, 65535] * 14] * 28, dtype=np.uint16)).save(folder / "deep16.png")
    out = tmp_path / "out"
    code = main(["compute", *[str(folder / n) for n in bad], str(folder / "anim.gif"), str(folder / "deep16.png"),
                 "--out", str(out), "--samples", "2", "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    for name, reason in bad.items():
        mine = [line for line in lines if name in line]
        assert len(mine) == 1, (name, lines)
        assert reason in mine[0], mine[0]
        assert not list(out.glob(f"{name.rsplit('.', 1)[0]}.*"))  # no partial output for a refused file
    for stem, note in (("anim", "animated image: first of 2 frames used"),
                       ("deep16", "16-bit greyscale scaled to 8 bits")):
        assert {p.suffix for p in out.glob(f"{stem}.*")} == {".npy", ".png", ".json"}
        assert note in json.loads((out / f"{stem}.json").read_text())["input"]["notes"]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left
