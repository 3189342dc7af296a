"""Inception v3 / GoogLeNet layout: aux_logits follows the state_dict, transform_input is explicit (an option with
a stated default; torchvision's published weights recognised by hash), both recorded in the provenance."""

from __future__ import annotations

import json

import pytest
import torch
import torchvision

from smoothgrad_desktop.cli import main
from smoothgrad_desktop.core.errors import ModelLoadError
from smoothgrad_desktop.core.models import load_model
from smoothgrad_desktop.core.models.torchvision_models import DEFAULT_TRANSFORM_INPUT, published_checkpoint


def _saved(tmp_path, arch, **kwargs):
    torch.manual_seed(0)
    net = torchvision.models.get_model(arch, weights=None, init_weights=False, num_classes=7, **kwargs)
    for m in net.modules():  # weights and statistics that make the scores depend on the input
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 2.0)
    net.eval()
    path = tmp_path / f"{arch}-{'-'.join(f'{k}{v}' for k, v in kwargs.items())}.pth"
    torch.save(net.state_dict(), path)
    return net, path


def _transformed(x):
    """torchvision's transform_input: ImageNet normalisation -> the [-1, 1] scaling of Google's weights."""
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    return torch.stack([x[:, c] * (std[c] / 0.5) + (mean[c] - 0.5) / 0.5 for c in range(3)], dim=1)


def _logits(module, x):
    with torch.no_grad():
        out = module(x)
    return out.logits if hasattr(out, "logits") else out


@pytest.mark.parametrize("arch", ["googlenet", "inception_v3"])
def test_a_state_dict_saved_without_aux_heads_loads(tmp_path, arch):
    net, path = _saved(tmp_path, arch, aux_logits=False, transform_input=False)
    model = load_model(arch, str(path), device="cpu", transform_input=False)
    assert model.layout["aux_logits"] is False and model.layout["transform_input"] is False
    x = torch.rand(2, 3, 96, 96)
    torch.testing.assert_close(_logits(model.module, x.contiguous(memory_format=torch.channels_last)),
                               _logits(net, x), rtol=1e-4, atol=1e-4)


def test_a_network_trained_from_scratch_is_explained_as_itself_with_transform_input_off(tmp_path):
    net, path = _saved(tmp_path, "googlenet")  # torchvision's constructor defaults: aux on, transform off
    x = torch.rand(2, 3, 96, 96)
    off = load_model("googlenet", str(path), device="cpu", transform_input=False)
    assert off.layout == {"transform_input": False, "aux_logits": True, "transform_input_source": "option"}
    torch.testing.assert_close(_logits(off.module, x), _logits(net, x), rtol=1e-4, atol=1e-4)
    default = load_model("googlenet", str(path), device="cpu")
    assert default.layout["transform_input"] is DEFAULT_TRANSFORM_INPUT is True
    assert default.layout["transform_input_source"] == "default"
    assert any("transform_input on assumed" in n for n in default.notes)
    ours = _logits(default.module, x)
    torch.testing.assert_close(ours, _logits(net, _transformed(x)), rtol=1e-4, atol=1e-4)
    assert not torch.allclose(ours, _logits(net, x), rtol=1e-3, atol=1e-3)  # a different function, silently before


def test_random_weights_follow_the_same_rule(tmp_path):
    on = load_model("googlenet", "random", device="cpu")
    off = load_model("googlenet", "random", device="cpu", transform_input=False)
    assert on.layout["transform_input"] is True and off.layout["transform_input"] is False
    assert not on.notes == [] and on.layout["transform_input_source"] == "default"


def test_published_checkpoints_are_recognised_by_their_hash():
    assert str(published_checkpoint("inception_v3", "0cc3c7bd" + "0" * 56)) == "Inception_V3_Weights.IMAGENET1K_V1"
    assert str(published_checkpoint("googlenet", "1378be20" + "f" * 56)) == "GoogLeNet_Weights.IMAGENET1K_V1"
    assert published_checkpoint("googlenet", "0" * 64) is None


def test_transform_input_is_refused_for_other_models():
    with pytest.raises(ModelLoadError, match="applies to inception_v3 and googlenet only"):
        load_model("resnet18", "random", device="cpu", transform_input=True)
    with pytest.raises(ModelLoadError, match="applies to"):
        load_model("default", device="cpu", transform_input=False)


def test_the_cli_flag_reaches_the_model_and_the_provenance(tmp_path, capsys):
    net, path = _saved(tmp_path, "googlenet", aux_logits=False)
    image = tmp_path / "x.npy"
    import numpy as np

    np.save(image, np.random.default_rng(0).random((3, 64, 64), dtype=np.float32))
    assert main(["compute", str(image), "--out", str(tmp_path / "o"), "--model", "googlenet", "--weights", str(path),
                 "--transform-input", "off", "--samples", "1", "--smooth", "none", "-q"]) == 0
    record = json.loads((tmp_path / "o" / "x.json").read_text())
    assert record["model"]["layout"] == {"transform_input": False, "aux_logits": False,
                                         "transform_input_source": "option"}
    assert main(["compute", str(image), "--out", str(tmp_path / "o2"), "--transform-input", "on", "-q"]) == 2
    assert "applies to" in capsys.readouterr().err
