"""Annotated figures (core/figures.py) and the headless ``figure`` command."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from smoothgrad_desktop.cli import main
from smoothgrad_desktop.core import figures as fg
from smoothgrad_desktop.core.experiments import difference_map
from smoothgrad_desktop.core.resources import resource_path


def sample_path(name: str) -> Path:
    path = resource_path("samples", name)
    assert path.is_file(), f"shipped sample {name} is missing"
    return path

PAIRS = {"pair_00_4_5.png": (4, 5), "pair_01_1_3.png": (1, 3), "pair_02_7_1.png": (7, 1), "pair_03_1_0.png": (1, 0)}


def _figure(tmp_path: Path, *args: str, name: str = "fig.png") -> tuple[int, Path]:
    out = tmp_path / name
    code = main(["figure", *args, "--out", str(out), "--quiet"])
    return code, out


# ------------------------------------------------------------------------------------------ discriminativity


def test_difference_map_normalises_each_map_by_its_own_percentile():
    # class 1's evidence is small and on the left; class 2's is 20x larger and on the right
    m1 = np.zeros((1, 4, 8), np.float32)
    m2 = np.zeros((1, 4, 8), np.float32)
    m1[0, :, :4] = -0.03
    m2[0, :, 4:] = 0.7
    raw = difference_map(m1, m2, "absolute", normalise="raw")
    np.testing.assert_allclose(raw.d[:, :4], 0.03, rtol=1e-6)
    np.testing.assert_allclose(raw.d[:, 4:], -0.7, rtol=1e-6)
    d = difference_map(m1, m2, "absolute", normalise="percentile", percentile=100).d
    np.testing.assert_allclose(d[:, :4], 1.0, rtol=1e-6)  # |M1| / max|M1|
    np.testing.assert_allclose(d[:, 4:], -1.0, rtol=1e-6)
    signed = difference_map(m1, m2, "signed", normalise="raw").d  # the signed view keeps the signs
    np.testing.assert_allclose(signed[:, :4], -0.03, rtol=1e-6)
    # absolute view reduces |a| over channels before subtracting: opposite-signed channels do not cancel
    m3 = np.stack([np.full((2, 2), 1.0), np.full((2, 2), -1.0)]).astype(np.float32)
    assert np.allclose(difference_map(m3, np.zeros_like(m3), "absolute", normalise="raw").d, 2.0)
    assert np.allclose(difference_map(m3, np.zeros_like(m3), "signed", normalise="raw").d, 0.0)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_figure_difference_separates_the_two_digits_of_every_shipped_pair(name, tmp_path):
    first, other = PAIRS[name]
    for c1, c2 in ((first, other), (other, first)):
        code, out = _figure(tmp_path, str(sample_path(name)), "--kind", "difference", "--classes", f"{c1},{c2}",
                            name=f"d{c1}{c2}.png")
        assert code == 0
        d = np.load(out.with_suffix(".npy"))
        assert d.shape == (28, 56)
        left, right = d[:, :28].mean(), d[:, 28:].mean()
        on_c1, on_c2 = (left, right) if c1 == first else (right, left)
        assert on_c1 > 0 > on_c2, (name, c1, c2, on_c1, on_c2)
        record = json.loads(out.with_suffix(".json").read_text())
        assert [c["index"] for c in record["classes"]] == [c1, c2]
        assert record["figure"]["normalise"] == "percentile" and record["figure"]["view"] == "absolute"


# ------------------------------------------------------------------------------------------------ formats


def _check_pdf(data: bytes) -> None:
    """A structural parse: header, trailer, and every xref entry pointing at its own ``N 0 obj``."""
    assert data.startswith(b"%PDF-1.") and data.rstrip().endswith(b"%%EOF")
    start = int(re.search(rb"startxref\s+(\d+)", data[-200:]).group(1))
    assert data[start:start + 4] == b"xref"
    lines = data[start:].split(b"\n")
    first, count = (int(v) for v in lines[1].split())
    entries = lines[2:2 + count]
    in_use = 0
    for number, entry in enumerate(entries, start=first):
        offset, _gen, kind = entry.split()[:3]
        if kind == b"n":
            in_use += 1
            assert data[int(offset):].startswith(b"%d 0 obj" % number), number
    assert in_use > 5
    assert data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") + data.count(b"/Type /Page>") >= 1


@pytest.mark.parametrize("fmt", fg.FORMATS)
def test_figure_writes_valid_png_svg_and_pdf_with_json_and_npy(fmt, tmp_path):
    code, out = _figure(tmp_path, str(sample_path("digit_00_label_7.png")), "--kind", "map", "--samples", "10",
                        name=f"map.{fmt}")
    assert code == 0
    data = out.read_bytes()
    if fmt == "png":
        with Image.open(out) as im:
            im.verify()
        with Image.open(out) as im:
            assert im.size[0] > 600 and im.size[1] > 200
    elif fmt == "svg":
        root = ET.fromstring(data)
        assert root.tag.endswith("svg")
        text = "".join(root.itertext()) if root.find(".//{http://www.w3.org/2000/svg}text") is not None else data.decode()
        assert "SmoothGrad" in data.decode() or "SmoothGrad" in text
        assert b"<image" in data  # the maps are embedded pictures, the rest is vector
    else:
        _check_pdf(data)
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["figure"]["kind"] == "map" and record["n"] == 10 and record["figure"]["format"] == fmt
    arr = np.load(out.with_suffix(".npy"))
    assert arr.shape == (28, 28) and arr.dtype == np.float32 and np.isfinite(arr).all() and arr.max() > 0


def test_grid_figure_scales_each_cell_by_default_and_rows_differ_visibly(tmp_path):
    code, out = _figure(tmp_path, str(sample_path("digit_00_label_7.png")), "--kind", "grid",
                        "--ns", "1,5,20", "--levels", "0,0.1,0.3,0.5")
    assert code == 0
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["figure"]["scale"] == "relative"
    maps = np.load(out.with_suffix(".npy"))
    assert maps.shape == (4, 3, 28, 28)
    spans = np.array(record["figure"]["spans"]).reshape(4, 3)
    assert spans[3, 0] > 5 * spans[0, 0]  # gradient magnitude grows with sigma: a shared scale would darken row 0
    # what is drawn: every cell coloured at its own span; neighbouring rows differ visibly in every column
    cells = [[fg.Cell(values=maps[r, c]).rgba()[..., :3].astype(float) for c in range(3)] for r in range(4)]
    for c in range(3):
        for r in range(3):
            assert np.abs(cells[r][c] - cells[r + 1][c]).mean() > 8, (r, c)
    for r in range(4):  # no row is dark: each cell reaches full colour somewhere
        for c in range(3):
            assert cells[r][c].max() > 200


def test_figure_refuses_bad_requests_in_one_line_and_writes_nothing(tmp_path, capsys):
    img = str(sample_path("digit_00_label_7.png"))
    code, out = _figure(tmp_path, img, "--kind", "map", name="map.jpg")
    assert code == 2 and not out.exists()
    code, out = _figure(tmp_path, img, "--kind", "noise-training", "--model", "resnet18", "--weights", "random")
    assert code == 2 and not out.exists()
    code, out = _figure(tmp_path, img, "--kind", "difference", "--classes", "3,3")
    assert code == 1 and not any(tmp_path.iterdir())
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("smoothgrad-desktop: ") for line in err)
    assert "Traceback" not in "".join(err)


def test_figure_does_not_replace_existing_files_without_overwrite(tmp_path):
    img = str(sample_path("digit_00_label_7.png"))
    (tmp_path / "fig.json").write_text("keep")
    code, out = _figure(tmp_path, img, "--kind", "map", "--samples", "5")
    assert code == 1 and not out.exists() and (tmp_path / "fig.json").read_text() == "keep"


# ------------------------------------------------------------------------------------------------ colour bars


def test_colour_bar_ticks_cover_a_small_span_readably():
    ticks = fg.nice_ticks(-3.3e-4, 3.3e-4, 5)
    labels = [fg.format_tick(t, ticks) for t in ticks]
    assert min(ticks) <= -2e-4 and max(ticks) >= 2e-4 and 0.0 in ticks
    assert labels == ["-3e-4", "-2e-4", "-1e-4", "0", "1e-4", "2e-4", "3e-4"]
    ticks = fg.nice_ticks(0, 0.0317)
    assert [fg.format_tick(t, ticks) for t in ticks] == ["0", "0.01", "0.02", "0.03"]


@settings(max_examples=300, deadline=None)
@given(st.floats(-30, 30), st.floats(0.01, 1.0), st.booleans())
def test_colour_bar_ticks_at_any_span(exponent, fraction, symmetric):
    hi = 10.0 ** exponent
    lo = -hi if symmetric else hi * fraction - hi
    ticks = fg.nice_ticks(lo, hi, 3)
    assert len(ticks) >= 3
    assert all(lo - 1e-9 * (hi - lo) <= t <= hi + 1e-9 * (hi - lo) for t in ticks)
    assert ticks[-1] - ticks[0] >= 0.4 * (hi - lo)  # the ticks span most of the bar
    labels = [fg.format_tick(t, ticks) for t in ticks]
    assert len(set(labels)) == len(labels) and all(len(s) <= 9 for s in labels)
    for t, s in zip(ticks, labels):  # each label reads back as its value
        assert abs(float(s) - t) <= 1e-6 * max(abs(t), hi - lo) + 1e-300


def test_figure_never_writes_over_its_input(tmp_path):
    src = tmp_path / "photo.png"
    src.write_bytes(sample_path("digit_00_label_7.png").read_bytes())
    before = src.read_bytes()
    for out in (src, tmp_path / "sub" / ".." / "photo.png"):
        code = main(["figure", str(src), "--kind", "map", "--samples", "5", "--out", str(out), "--overwrite", "-q"])
        assert code == 1
        assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]
