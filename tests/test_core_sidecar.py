"""Model descriptions (sidecar JSON beside a TorchScript/torch.export file): validated with one line naming the
key and the expected form, before the program is loaded; the obvious scalar forms are accepted."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from smoothgrad_desktop.cli import main
from smoothgrad_desktop.core.errors import ModelLoadError
from smoothgrad_desktop.core.models import load_model
from smoothgrad_desktop.core.models.scripted import parse_sidecar


class Tiny(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))[:, :1].repeat(1, 2) * torch.tensor([1.0, -1.0])


@pytest.fixture()
def scripted(tmp_path):
    path = tmp_path / "tiny.pt"
    torch.jit.script(Tiny()).save(str(path))
    return path


def test_scalar_sizes_mean_a_square_and_scalars_broadcast():
    pipeline, labels = parse_sidecar({"input_size": 128, "crop": 96, "mean": 0.5, "std": 0.25, "labels": ["a"],
                                      "_comment": "free text"})
    assert pipeline.resize == ("exact", (128, 128)) and pipeline.crop == (96, 96)
    assert pipeline.mean == (0.5, 0.5, 0.5) and pipeline.std == (0.25, 0.25, 0.25) and labels == ["a"]
    pipeline, _ = parse_sidecar({"channels": 1, "input_size": [28, 56], "mean": [0.1], "std": [0.3]})
    assert pipeline.resize == ("exact", (28, 56)) and pipeline.mean == (0.1,) and pipeline.channels == 1
    assert pipeline.output_shape((500, 300)) == (1, 28, 56)


@pytest.mark.parametrize("meta, key", [
    ({"input_size": "224"}, '"input_size" must be [height, width] or one integer'),
    ({"input_size": [224]}, '"input_size" must be [height, width]'),
    ({"input_size": [224, 0]}, "each from 1 to"),
    ({"input_size": [224, 10 ** 9]}, "each from 1 to"),
    ({"crop": [224, 224.5]}, '"crop" must be'),
    ({"crop": True}, '"crop" must be'),
    ({"resize_short": "256"}, '"resize_short" must be an integer'),
    ({"resize_height": -3}, '"resize_height" must be an integer'),
    ({"channels": 4}, '"channels" must be 1'),
    ({"channels": "3"}, '"channels" must be 1'),
    ({"mean": [0.5, 0.5], "std": [1, 1, 1]}, '"mean" must be one number or a list of 3'),
    ({"mean": [0, 0, 0], "std": [1, 0, 1]}, '"std" must be one number or a list of 3 finite positive'),
    ({"mean": 0.5}, 'both "mean" and "std"'),
    ({"labels": "cat"}, '"labels" must be a list'),
    ({"labels": [1, 2]}, '"labels" must be a list'),
    ({"input_size": 224, "resize_short": 256}, "give one of"),
    ({"inputsize": [224, 224]}, 'unknown key "inputsize"'),
])
def test_malformed_descriptions_name_the_key_and_the_form(meta, key):
    with pytest.raises(ModelLoadError) as info:
        parse_sidecar(meta, "m.pt.json")
    message = str(info.value)
    assert message.startswith("m.pt.json: ") and key in message and "\n" not in message


@pytest.mark.parametrize("text, fragment", [
    ('{"input_size": 128}', None),
    ('{"crop": 224, "input_size": 256}', None),
    ('{"input_size": "big"}', '"input_size" must be'),
    ('[1, 2]', "must be a JSON object"),
    ('{"input_size": [128, 128]', "not valid JSON"),
    ('{"channels": 3, "colour": "rgb"}', 'unknown key "colour"'),
])
def test_the_cli_gives_one_line_and_exit_2_for_a_bad_description(scripted, tmp_path, capsys, text, fragment):
    (tmp_path / "tiny.pt.json").write_text(text)
    image = tmp_path / "x.npy"
    import numpy as np

    np.save(image, np.random.default_rng(0).random((3, 16, 16), dtype=np.float32))
    code = main(["compute", str(image), "--out", str(tmp_path / "o"), "--model", str(scripted), "--samples", "2",
                 "-q"])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "unexpected error" not in err
    if fragment is None:
        assert code == 0, err
    else:
        assert code == 2 and len(err.strip().splitlines()) == 1 and fragment in err, err
        assert err.startswith("smoothgrad-desktop: tiny.pt.json: ")


def test_a_bad_description_is_refused_before_the_program_is_loaded(scripted, tmp_path, monkeypatch):
    (tmp_path / "tiny.pt.json").write_text(json.dumps({"crop": "center"}))
    loaded = []
    monkeypatch.setattr(torch.jit, "load", lambda *a, **k: loaded.append(a) or Tiny())
    with pytest.raises(ModelLoadError, match='"crop" must be'):
        load_model(str(scripted), device="cpu")
    assert loaded == []
