"""The model registry: offline torchvision loading, safe state_dicts, TorchScript and torch.export files."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from smoothgrad_desktop.core.errors import AttributionError, ModelLoadError
from smoothgrad_desktop.core.explain import prepare_input, predict
from smoothgrad_desktop.core.images import image_from_pil
from smoothgrad_desktop.core.methods import METHODS, MethodContext
from smoothgrad_desktop.core.models import load_model
from smoothgrad_desktop.core.smoothing import SmoothingConfig, smooth_attribution
from tests.hostile import Evil


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setattr(torch.hub, "_hub_dir", None, raising=False)
    return home


def test_missing_hub_weights_name_the_file_and_never_download(torch_home):
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    expected = torch_home / "hub" / "checkpoints" / Path(weights.url).name
    with pytest.raises(ModelLoadError) as info:
        load_model("resnet18", "ResNet18_Weights.IMAGENET1K_V1", device="cpu")
    message = str(info.value)
    assert str(expected) in message and "\n" not in message
    assert not expected.exists()


def test_hub_cache_weights_are_used_with_metadata(torch_home):
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    torch.manual_seed(0)
    reference = torchvision.models.resnet18(weights=None).eval()
    target = torch_home / "hub" / "checkpoints" / Path(weights.url).name
    target.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), target)
    model = load_model("resnet18", "IMAGENET1K_V1", device="cpu")
    assert model.kind == "torchvision"
    assert model.labels == weights.meta["categories"] and len(model.labels) == 1000
    assert model.pipeline.crop == (224, 224)
    assert model.weights_sha256 and len(model.weights_sha256) == 64
    from PIL import Image

    img = image_from_pil(Image.new("RGB", (300, 250), (120, 30, 200)))
    prepared = prepare_input(model, img)
    assert tuple(prepared.x.shape) == (3, 224, 224)
    # the same preprocessing as torchvision's own transform
    np.testing.assert_allclose(prepared.x.numpy(), weights.transforms()(img.image).numpy(), atol=1e-5)
    # the baseline is the black image through the same normalisation
    mean = torch.tensor(weights.transforms().mean).view(3, 1, 1)
    std = torch.tensor(weights.transforms().std).view(3, 1, 1)
    np.testing.assert_allclose(prepared.baseline.numpy(), (-mean / std).expand(3, 224, 224).numpy(), atol=1e-6)
    with torch.no_grad():
        np.testing.assert_allclose(predict(model, prepared.x), reference(prepared.x[None])[0].numpy(), rtol=1e-4, atol=1e-4)


def test_state_dict_for_wrong_architecture_names_keys(tmp_path):
    path = tmp_path / "vgg.pt"
    torch.save(nn.Sequential(nn.Linear(3, 2)).state_dict(), path)
    with pytest.raises(ModelLoadError, match="missing keys: .*unexpected keys: 0.weight"):
        load_model("resnet18", str(path), device="cpu")


def test_state_dict_with_other_class_count_gets_generic_labels(tmp_path):
    net = torchvision.models.resnet18(weights=None, num_classes=7)
    path = tmp_path / "r7.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}}, path)
    model = load_model("resnet18", str(path), device="cpu")
    assert model.labels == [f"class {i}" for i in range(7)]


@pytest.mark.parametrize("container", ["torch-zip", "raw-pickle"])
def test_pickle_that_would_run_code_is_refused(tmp_path, container):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    payload = {"weight": torch.zeros(1), "x": Evil(marker)}
    if container == "torch-zip":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    with pytest.raises(ModelLoadError, match="refused|cannot read") as info:
        load_model("resnet18", str(path), device="cpu")
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_not_a_weights_file(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("hello")
    with pytest.raises(ModelLoadError):
        load_model("resnet18", str(path), device="cpu")
    with pytest.raises(ModelLoadError, match="unknown model"):
        load_model("no_such_net", device="cpu")


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.c = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4 * 6 * 6, 3)

    def forward(self, x):
        return self.fc(F.relu(self.c(x)).flatten(1))


def test_torchscript_file(tmp_path):
    path = tmp_path / "small.pt"
    torch.jit.script(Small().eval()).save(str(path))
    (tmp_path / "small.pt.json").write_text('{"labels": ["a", "b", "c"], "input_size": [8, 8]}')
    model = load_model(str(path), device="cpu")
    assert model.kind == "torchscript" and model.labels == ["a", "b", "c"] and not model.guided_ok
    x = torch.rand(3, 8, 8)
    r = smooth_attribution(model.module, x, 1, SmoothingConfig(aggregation="none"))
    ref = METHODS["gradient"](Small().eval(), x[None], 1, context=MethodContext())[0]
    np.testing.assert_allclose(r.attribution, ref.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(AttributionError, match="TorchScript"):
        smooth_attribution(model.module, x, 1, SmoothingConfig(method="guided-backprop"), guided_ok=model.guided_ok)


def test_torch_export_program_supports_guided_backprop(tmp_path):
    net = Small().eval()
    x = torch.rand(2, 3, 8, 8)
    program = torch.export.export(net, (x,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    path = tmp_path / "small.pt2"
    torch.export.save(program, str(path))
    model = load_model(str(path), device="cpu")
    assert model.kind == "export" and model.guided_ok
    ours = METHODS["guided-backprop"](model.module, x, 2, context=MethodContext())
    ref = METHODS["guided-backprop"](net, x, 2, context=MethodContext())
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(ours, METHODS["gradient"](net, x, 2, context=MethodContext()))


def test_state_dict_passed_as_model_file_is_explained(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(Small().state_dict(), path)
    with pytest.raises(ModelLoadError, match="architecture name with --weights"):
        load_model(str(path), device="cpu")


def test_wrong_input_shape_is_a_clear_error(tmp_path):
    path = tmp_path / "small.pt"
    torch.jit.script(Small().eval()).save(str(path))
    model = load_model(str(path), device="cpu")
    with pytest.raises(AttributionError, match="does not fit the model"):
        predict(model, torch.rand(1, 8, 8), name="grey.png")


def test_inception_v3_guided_backprop_reaches_functional_relus():
    model = load_model("inception_v3", "random", device="cpu")
    assert model.labels[0] == "tench"
    x = torch.randn(3, 80, 80)
    plain = METHODS["gradient"](model.module, x[None], 3, context=MethodContext())
    guided = METHODS["guided-backprop"](model.module, x[None], 3, context=MethodContext())
    assert (plain - guided).abs().max() > 0.1 * plain.abs().max() > 0
    # guided backprop passes only positive gradient into the first ReLU, so it is a different map, not a sign flip
    assert torch.isfinite(guided).all()
