"""The CLI contract end to end on the embedded model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from smoothgrad_desktop.cli import main
from tests.hostile import InfGradient, NaNScores, WrongShape
from smoothgrad_desktop.core.resources import sample_images

ROOT = Path(__file__).resolve().parents[1]
PROVENANCE_KEYS = {"model", "target", "top5", "method", "aggregation", "noise_level", "sigma", "n", "steps", "seed",
                   "device", "batch_size", "versions", "seconds"}


def run_cli(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "smoothgrad_desktop", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def samples():
    found = sample_images()
    assert len([p for p in found if p.name.startswith("digit")]) >= 10
    assert len([p for p in found if p.name.startswith("pair")]) >= 3
    return found


def test_compute_writes_three_files_with_provenance(tmp_path, samples, capsys):
    digit = next(p for p in samples if p.name.startswith("digit"))
    rc = main(["compute", str(digit), "--out", str(tmp_path), "--samples", "12", "--seed", "3", "--batch-size", "5"])
    assert rc == 0
    stem = digit.stem
    attr = np.load(tmp_path / f"{stem}.npy")
    assert attr.dtype == np.float32 and attr.shape == (1, 28, 28)
    png = Image.open(tmp_path / f"{stem}.png")
    assert png.size == Image.open(digit).size
    record = json.loads((tmp_path / f"{stem}.json").read_text())
    assert PROVENANCE_KEYS <= set(record)
    assert record["n"] == 12 and record["seed"] == 3 and record["batch_size"] == 5
    assert record["noise_level"] == 0.15
    assert record["sigma"] == pytest.approx(0.15 * (1.0 - 0.0), rel=0.02)  # MNIST pixels span ~[0, 1]
    assert len(record["model"]["weights_sha256"]) == 64
    assert len(record["top5"]) == 5 and record["target"]["index"] == record["top5"][0]["index"]
    assert set(record["versions"]) >= {"app", "torch", "torchvision"}
    # the .npy is the raw SmoothGrad mean: recompute it independently, sample by sample, with plain autograd
    from smoothgrad_desktop.core.models import load_model
    from smoothgrad_desktop.core.smoothing import sample_noise

    model = load_model("default", device="cpu")
    x = torch.from_numpy(np.asarray(Image.open(digit).convert("L"), dtype=np.float32) / 255.0)[None]
    sigma = 0.15 * float(x.max() - x.min())
    grads = []
    for i in range(12):
        xi = (x + sigma * sample_noise(x.shape, [i], 3, torch.device("cpu"))[0]).requires_grad_(True)
        model.module(xi[None])[0, record["target"]["index"]].backward()
        grads.append(xi.grad.clone())
    np.testing.assert_allclose(attr, torch.stack(grads).mean(0).numpy(), rtol=1e-4, atol=1e-6)
    assert "->" in capsys.readouterr().out


def test_two_digit_canvas_scores_both_digits_and_target_by_name(tmp_path, samples):
    pair = next(p for p in samples if p.name.startswith("pair"))
    a, b = pair.stem.split("_")[-2:]
    for target in (a, b):
        rc = main(["compute", str(pair), "--out", str(tmp_path / target), "--target", target, "--samples", "4",
                   "--view", "signed", "--quiet"])
        assert rc == 0
        record = json.loads((tmp_path / target / f"{pair.stem}.json").read_text())
        assert record["target"]["label"] == target
        assert {p["label"] for p in record["top5"][:2]} == {a, b}


def test_bad_inputs_get_one_line_each_and_leave_no_files(tmp_path, samples):
    good = next(p for p in samples if p.name.startswith("digit"))
    bad = tmp_path / "in"
    bad.mkdir()
    (bad / "empty.png").write_bytes(b"")
    (bad / "text.png").write_text("not an image at all")
    data = good.read_bytes()
    (bad / "truncated.png").write_bytes(data[: len(data) // 2])
    (bad / "folder.png").mkdir()
    np.save(bad / "rgb.npy", np.random.rand(3, 28, 28).astype(np.float32))  # wrong channels for MNIST
    np.save(bad / "raw_ok.npy", np.random.rand(1, 28, 28).astype(np.float32))
    inputs = [bad / n for n in ("empty.png", "text.png", "truncated.png", "folder.png", "rgb.npy")]
    out = tmp_path / "out"
    proc = run_cli("compute", good, *inputs, bad / "raw_ok.npy", "--out", out, "--samples", "3")
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr
    assert len(lines) == len(inputs), proc.stderr
    for path, line in zip(inputs, lines):
        assert path.name in line
        assert not list(out.glob(f"{path.stem}.*"))
    for stem in (good.stem, "raw_ok"):
        assert {p.suffix for p in out.glob(f"{stem}.*")} == {".npy", ".png", ".json"}
    record = json.loads((out / "raw_ok.json").read_text())
    assert record["model"]["preprocessing"].startswith("none")


def test_existing_outputs_are_not_overwritten_without_flag(tmp_path, samples):
    good = next(p for p in samples if p.name.startswith("digit"))
    assert main(["compute", str(good), "--out", str(tmp_path), "--samples", "2", "-q"]) == 0
    before = (tmp_path / f"{good.stem}.npy").read_bytes()
    assert main(["compute", str(good), "--out", str(tmp_path), "--samples", "2", "--seed", "9", "-q"]) == 1
    assert (tmp_path / f"{good.stem}.npy").read_bytes() == before
    assert main(["compute", str(good), "--out", str(tmp_path), "--samples", "2", "--seed", "9", "-q", "--overwrite"]) == 0
    assert (tmp_path / f"{good.stem}.npy").read_bytes() != before


@pytest.mark.parametrize("method", ["gradient-x-input", "integrated-gradients", "guided-backprop"])
@pytest.mark.parametrize("smooth", ["none", "vargrad"])
def test_every_method_and_aggregation_runs(tmp_path, samples, method, smooth):
    good = next(p for p in samples if p.name.startswith("digit"))
    rc = main(["compute", str(good), "--out", str(tmp_path), "--method", method, "--smooth", smooth, "--samples", "3",
               "--steps", "4", "-q"])
    assert rc == 0
    attr = np.load(tmp_path / f"{good.stem}.npy")
    assert np.isfinite(attr).all() and np.abs(attr).max() > 0
    if smooth == "vargrad":
        assert (attr >= 0).all()


def test_usage_and_model_errors_exit_2_with_one_line(tmp_path, samples):
    good = next(p for p in samples if p.name.startswith("digit"))
    proc = run_cli("compute", good, "--out", tmp_path, "--model", "no_such_model")
    assert proc.returncode == 2 and "unknown model" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = run_cli("compute", good, "--out", tmp_path, "--target", "42")
    assert proc.returncode == 1 and "out of range" in proc.stderr
    evil = tmp_path / "evil.pt"
    marker = tmp_path / "marker"
    evil.write_bytes(b"\x80\x04cposix\nsystem\n\x8c" + bytes([len(f"touch {marker}")]) + f"touch {marker}".encode()
                     + b"\x85R.")
    proc = run_cli("compute", good, "--out", tmp_path, "--model", "resnet18", "--weights", evil)
    assert proc.returncode == 2 and "evil.pt" in proc.stderr and "Traceback" not in proc.stderr
    assert not marker.exists()


def test_models_and_self_test_commands(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "default" in out and "mnist-noise" in out
    assert main(["self-test"]) == 0
    assert "self-test ok" in capsys.readouterr().out


@pytest.mark.parametrize("module,message", [
    (WrongShape(), "expected (N, K)"),
    (NaNScores(), "NaN/Inf"),
    (InfGradient(), "not finite"),
])
def test_hostile_torchscript_models_get_a_clear_message_and_no_map(tmp_path, samples, module, message):
    path = tmp_path / "model.pt"
    torch.jit.script(module).save(str(path))
    (tmp_path / "model.pt.json").write_text('{"channels": 1}')
    good = next(p for p in samples if p.name.startswith("digit"))
    out = tmp_path / "out"
    proc = run_cli("compute", good, "--out", out, "--model", path, "--samples", "3", "--smooth", "smoothgrad")
    assert proc.returncode == 1, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not list(out.glob("*"))


def test_evaluate_writes_aucs_sanity_curve_and_plots(tmp_path, samples):
    digit = next(p for p in samples if p.name.startswith("digit"))
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    rc = main(["evaluate", str(digit), str(bad), "--out", str(tmp_path / "ev"), "--samples", "6", "--curve-steps", "10",
               "-q"])
    assert rc == 1  # the bad input fails, the good one is still evaluated
    record = json.loads((tmp_path / "ev" / f"{digit.stem}.evaluation.json").read_text())
    p = record["perturbation"]
    assert 0 <= p["deletion_attribution_auc"] <= 1 and 0 <= p["insertion_random_auc"] <= 1
    assert p["deletion_attribution_auc"] < p["deletion_random_auc"]  # the trained model's map beats random order
    curves = {(c["kind"], c["order"]): c for c in p["curves"]}
    assert len(curves[("deletion", "attribution")]["fractions"]) == 11
    sanity = record["sanity"]["cascading_randomization"]
    assert len(sanity["layers"]) == len(sanity["spearman_abs"]) == 4
    assert record["sanity"]["random_target"]["random_target"] != record["target"]["index"]
    for kind in ("deletion", "insertion", "sanity"):
        assert Image.open(tmp_path / "ev" / f"{digit.stem}.{kind}.png").size[0] > 300
    assert not list((tmp_path / "ev").glob("bad.*"))


def test_report_is_one_self_contained_page(tmp_path, samples):
    chosen = [p for p in samples if p.name.startswith("pair")][:2]
    assert main(["report", *map(str, chosen), "--out", str(tmp_path), "--samples", "4", "-q"]) == 0
    page = (tmp_path / "index.html").read_text()
    assert page.count("<section>") == 2 and page.count("data:image/png;base64,") == 6
    assert "src=\"http" not in page and "<script" not in page  # nothing fetched from anywhere
    for p in chosen:
        assert p.name in page and (tmp_path / f"{p.stem}.npy").is_file()
    assert "Provenance" in page and "weights_sha256" in page
    assert main(["report", str(chosen[0]), "--out", str(tmp_path), "-q"]) == 2  # no silent overwrite
