"""The model chooser's Qt-free side: kinds and their availability, what a choice will do (preprocessing, class
names, weights) read from files without loading the model, and which methods a loaded model refuses.

Expected preprocessing comes from the libraries themselves (timm's ``resolve_data_config`` on the model, the
transformers image processor, torchvision's weights transforms), never from the code under test."""

from __future__ import annotations

import pytest
import timm.data
import torchvision
import transformers

from hub_support import HF_REPO, TIMM_REPO, TORCHVISION_FILE, env, machine  # noqa: F401 - fixtures
from smoothgrad_desktop.core.methods import method_refusals
from smoothgrad_desktop.core.models import catalog as cat
from smoothgrad_desktop.core.models import load_model


def test_timm_preview_is_timms_own_data_config(env):
    ref = timm.data.resolve_data_config({}, model=env.timm_model)
    p = cat.preview("timm:test_vit.r160_in1k")
    assert p.problem is None and p.kind == "timm"
    assert p.input_size == tuple(ref["input_size"])
    assert p.mean == pytest.approx(ref["mean"]) and p.std == pytest.approx(ref["std"])
    assert p.interpolation == ref["interpolation"]
    assert "imagenet-1k" in p.classes and str(env.hf_home) in p.weights_text


def test_transformers_preview_is_the_image_processors(env):
    processor = transformers.AutoImageProcessor.from_pretrained(str(env.hf_snapshot), local_files_only=True)
    p = cat.preview(f"hf:{HF_REPO}")
    assert p.problem is None and p.kind == "hf"
    assert p.input_size == (3, processor.size["height"], processor.size["width"]) == (3, 48, 40)
    assert p.mean == pytest.approx(processor.image_mean) and p.std == pytest.approx(processor.image_std)
    assert "id2label (3 classes)" in p.classes


def test_torchvision_preview_is_the_weights_transforms(env):
    t = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.transforms()
    p = cat.preview("resnet18", "ResNet18_Weights.IMAGENET1K_V1")
    assert p.problem is None and p.kind == "torchvision"
    assert p.input_size == (3, *t.crop_size * (2 // len(t.crop_size)))
    assert f"{t.resize_size[0]} px" in p.resize
    assert p.mean == pytest.approx(t.mean) and p.std == pytest.approx(t.std)
    assert TORCHVISION_FILE in p.weights_text and "1000 classes" in p.classes


def test_model_file_preview_reads_its_description_without_loading_the_program(env):
    p = cat.preview(str(env.script))  # the file holds no program at all: loading it would fail
    assert p.problem is None and p.kind == "file"
    assert p.input_size == (1, 32, 24) and p.mean == (0.5,) and p.std == (0.25,)
    assert "digits.pt.json" in p.preprocessing and "2 classes" in p.classes
    assert any("runs code" in n for n in p.notes)


def test_folder_preview_and_the_embedded_model(env):
    p = cat.preview(str(env.folder))
    processor = transformers.AutoImageProcessor.from_pretrained(str(env.folder), local_files_only=True)
    assert p.problem is None and p.kind == "folder"
    assert p.input_size == (3, processor.size["shortest_edge"], processor.size["shortest_edge"])
    assert p.mean == pytest.approx(processor.image_mean)
    p = cat.preview("default")
    assert p.problem is None and p.input_size[0] == 1 and "28" in p.resize and "0–9" in p.classes


@pytest.mark.parametrize("spec, weights, where", [
    ("timm:test_resnet", None, "hf-home/hub/models--timm--test_resnet"),
    ("resnet50", None, "torch-home/hub/checkpoints/resnet50-"),
    ("resnet18", "missing.safetensors", "missing.safetensors"),
    ("timm:test_resnet", "missing.safetensors", "missing.safetensors"),
    ("hf:acme/absent", None, "hf-home/hub/models--acme--absent"),
    ("absent.pt2", None, "absent.pt2"),
])
def test_missing_weights_are_one_line_naming_where_it_looked(env, tmp_path, monkeypatch, spec, weights, where):
    monkeypatch.chdir(tmp_path)
    p = cat.preview(spec, weights)
    assert p.problem and "\n" not in p.problem and "looked" in p.problem
    assert where in p.problem.replace(str(env.hf_home.parent) + "/", "").replace(str(tmp_path) + "/", "")


def test_kinds_without_their_library_are_unavailable_with_the_reason(env, monkeypatch):
    assert all(k.available for k in cat.model_kinds())
    monkeypatch.setattr(cat, "library_available", lambda name: name not in ("timm", "transformers"))
    kinds = {k.key: k for k in cat.model_kinds()}
    assert [k for k in kinds if not kinds[k].available] == ["timm", "hf", "folder"]
    for key in ("timm", "hf", "folder"):
        assert "'hub' extra" in kinds[key].reason and "\n" not in kinds[key].reason
    assert kinds["embedded"].available and kinds["file"].available and kinds["torchvision"].available
    for spec in ("timm:test_vit.r160_in1k", f"hf:{HF_REPO}", str(env.folder)):
        assert "'hub' extra" in cat.preview(spec).problem


def test_each_catalog_entry_has_its_kind(env):
    kinds = {e.spec: cat.entry_kind(e) for e in cat.catalog()}
    assert kinds["default"] == "embedded" and kinds["resnet18"] == "torchvision"
    assert kinds[f"timm:{TIMM_REPO[len('timm/'):]}"] == "timm" and kinds[f"hf:{HF_REPO}"] == "hf"
    assert cat.kind_of("timm:x", "a/w.safetensors") == "weights" and cat.kind_of("resnet18", "random") == "torchvision"
    assert cat.kind_of(str(env.folder)) == "folder" and cat.kind_of(str(env.script)) == "file"


def test_method_refusals_name_guided_backprop_for_non_relu_models(env):
    vit = load_model("timm:test_vit.r160_in1k", device="cpu")
    refused = method_refusals(vit)
    assert list(refused) == ["guided-backprop"] and "GELU" in refused["guided-backprop"]
    assert method_refusals(load_model("default", device="cpu")) == {}
    assert method_refusals(load_model(str(env.folder), device="cpu")) == {}  # a ReLU ResNet from transformers


@pytest.mark.parametrize("spec, weights", [
    ("", None), ("   ", "random"), ("\x00bad", None), ("resnet18", "\x00bad"), ("hf:../../etc", None),
    ("hf:", None), ("timm:", None), ("timm:a/b", None), ("timm:test_vit.r160_in1k", "~"), ("x" * 5000, None),
    ("evil\x1b[31m\nname.pt", None), ("~/nothing-here.pt2", None), ("/", None), ("default", "w.safetensors"),
])
def test_preview_of_hostile_input_is_one_printable_line(env, tmp_path, monkeypatch, spec, weights):
    monkeypatch.chdir(tmp_path)
    p = cat.preview(spec, weights)
    text = (p.problem or "") + p.weights_text + p.classes + p.preprocessing
    assert all(ch.isprintable() for ch in text)
    if spec.strip() not in ("", "default") or weights not in (None, "random"):
        assert p.problem and len(p.problem) <= 400


@pytest.mark.parametrize("which", ["timm:test_vit.r160_in1k", f"hf:{HF_REPO}", "folder", "timm:test_resnet random",
                                   "resnet18 random", "default"])
def test_preview_matches_what_the_loader_applies(env, which):
    spec, _, weights = (str(env.folder) if which == "folder" else which).partition(" ")
    p = cat.preview(spec, weights or None)
    model = load_model(spec, weights or None, device="cpu")
    assert p.problem is None
    image_size = (130, 90)  # width, height: not square, so resize rules show
    assert tuple(model.pipeline.output_shape(image_size))[0] == p.input_size[0]
    if model.pipeline.crop is not None:
        assert p.input_size == (model.pipeline.channels, *model.pipeline.crop)
    assert p.mean == (tuple(model.pipeline.mean) if model.pipeline.mean is not None else None)
    assert p.std == (tuple(model.pipeline.std) if model.pipeline.std is not None else None)
    assert f"{len(model.labels)} classes" in p.classes
