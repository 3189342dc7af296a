"""compute over many inputs: batched across inputs yet equal to one input at a time, sharded, resumable, with
progress on stderr."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from smoothgrad_desktop.cli import main
from smoothgrad_desktop.progress import ProgressReporter

VOLATILE = {"seconds", "created"}


@pytest.fixture
def folder(tmp_path):
    """Twelve 28 x 28 digit-like images (random strokes), and two of another size (a second shape group)."""
    rng = np.random.default_rng(0)
    d = tmp_path / "in"
    d.mkdir()
    for i in range(12):
        a = np.zeros((28, 28), np.uint8)
        a[rng.integers(4, 24, 40), rng.integers(4, 24, 40)] = 255
        Image.fromarray(a).save(d / f"img{i:02d}.png")
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (28, 56), dtype=np.uint8)).save(d / f"wide{i}.png")
    return d


def _files(out):
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def _same_outputs(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        if name.endswith(".json"):
            ra, rb = json.loads(a[name]), json.loads(b[name])
            for key in VOLATILE:
                ra.pop(key, None), rb.pop(key, None)
            assert ra == rb, name
        else:
            assert a[name] == b[name], name


ARGS = ["--samples", "12", "--seed", "4", "-q"]


def test_batched_folder_equals_one_input_at_a_time(folder, tmp_path):
    assert main(["compute", str(folder), "--out", str(tmp_path / "together"), *ARGS]) == 0
    assert main(["compute", str(folder), "--out", str(tmp_path / "alone"), "--group", "1", *ARGS]) == 0
    together, alone = _files(tmp_path / "together"), _files(tmp_path / "alone")
    assert len(together) == 3 * 14
    _same_outputs(together, alone)


def test_two_shards_make_exactly_the_files_of_one_full_run(folder, tmp_path):
    assert main(["compute", str(folder), "--out", str(tmp_path / "full"), *ARGS]) == 0
    shards = tmp_path / "shards"
    assert main(["compute", str(folder), "--out", str(shards), "--shard", "1/2", *ARGS]) == 0
    first = set(_files(shards))
    assert 0 < len(first) < 3 * 14  # each share has some, not all, of the inputs
    assert main(["compute", str(folder), "--out", str(shards), "--shard", "2/2", *ARGS]) == 0
    _same_outputs(_files(shards), _files(tmp_path / "full"))


def test_a_rerun_skips_finished_inputs_and_redoes_changed_ones(folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["compute", str(folder), "--out", str(out), *ARGS]) == 0
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    (out / "img03.png").unlink()  # an interrupted input: one of its three files missing
    capsys.readouterr()
    assert main(["compute", str(folder), "--out", str(out), "--samples", "12", "--seed", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sum("skipped" in line for line in lines) == 13
    assert [line for line in lines if "skipped" not in line][0].startswith("img03.png:")
    after = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert {n for n in before if before[n] != after.get(n)} == {"img03.npy", "img03.png", "img03.json"}
    # other parameters: the existing files are not the same run, so they are refused, not silently kept
    code = main(["compute", str(folder), "--out", str(out), "--samples", "12", "--seed", "5", "-q"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("already exists") == 14


def test_auto_samples_through_the_command_line(folder, tmp_path):
    out = tmp_path / "auto"
    code = main(["compute", str(folder / "img00.png"), str(folder / "img01.png"), "--out", str(out), "--samples",
                 "auto", "--tolerance", "0.1", "--max-samples", "400", "-q"])
    assert code == 0
    for stem in ("img00", "img01"):
        record = json.loads((out / f"{stem}.json").read_text())
        s = record["sampling"]
        assert s["samples"] == "auto" and s["tolerance"] == 0.1 and s["max_samples"] == 400
        assert record["n"] == s["n"] and 10 <= s["n"] <= 400
        assert (s["relative_standard_error"] <= 0.1) == s["converged"]


@pytest.mark.parametrize("bad", ["0/2", "3/2", "x", "1/0", "2"])
def test_bad_shard_is_a_usage_error(folder, tmp_path, capsys, bad):
    with pytest.raises(SystemExit) as exc:
        main(["compute", str(folder), "--out", str(tmp_path / "o"), "--shard", bad])
    assert exc.value.code == 2 and "K/N" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_progress_plain_lines_with_eta_and_a_bar_on_a_terminal():
    clock, stream = FakeClock(), io.StringIO()
    p = ProgressReporter(100, stream=stream, tty=False, interval=10, clock=clock)
    for _ in range(20):
        clock.t += 1
        p.advance()  # 20 inputs in 20 s: one line at 10 s
    p.finish()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "compute: 10/100 inputs (10 %), 1 inputs/s, ETA 1 min 30 s"
    assert lines[1] == "compute: 20/100 inputs (20 %), 1 inputs/s, ETA 1 min 20 s"
    assert lines[-1] == "compute: 20/100 inputs in 20 s"
    tty, clock = io.StringIO(), FakeClock()
    bar = ProgressReporter(4, stream=tty, tty=True, clock=clock, width=4)
    for _ in range(4):
        clock.t += 0.5
        bar.advance()
    bar.finish()
    assert "\r" in tty.getvalue() and "compute [##..] 2/4 inputs (50 %)" in tty.getvalue()
    assert tty.getvalue().endswith("ETA 0 s\x1b[K\n")
    quiet = io.StringIO()
    q = ProgressReporter(3, stream=quiet, tty=True, enabled=False)
    q.advance(3), q.finish()
    assert quiet.getvalue() == ""


def test_resume_never_removes_an_input(tmp_path):
    """Outputs into the input folder: x.png is both an input and a would-be output; a re-run whose x.json records
    the same run key must not remove the input while redoing it."""
    d = tmp_path / "d"
    d.mkdir()
    Image.fromarray(np.eye(28, dtype=np.uint8) * 255).save(d / "x.png")
    before = (d / "x.png").read_bytes()
    assert main(["compute", str(d / "x.png"), "--out", str(d), *ARGS]) == 1  # x.png is the input: refused
    assert main(["compute", str(d / "x.png"), "--out", str(tmp_path / "o"), *ARGS]) == 0
    (d / "x.json").write_bytes((tmp_path / "o" / "x.json").read_bytes())  # a record of this very run
    assert main(["compute", str(d / "x.png"), "--out", str(d), *ARGS]) == 1
    assert (d / "x.png").read_bytes() == before


def test_shard_auto_reads_torchrun_environment(folder, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert main(["compute", str(folder), "--out", str(tmp_path / "none"), "--shard", "auto", *ARGS]) == 2
    assert "RANK and WORLD_SIZE" in capsys.readouterr().err and not (tmp_path / "none").exists()
    assert main(["compute", str(folder), "--out", str(tmp_path / "explicit"), "--shard", "2/3", *ARGS]) == 0
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert main(["compute", str(folder), "--out", str(tmp_path / "auto"), "--shard", "auto", *ARGS]) == 0
    _same_outputs(_files(tmp_path / "auto"), _files(tmp_path / "explicit"))
