"""timm and Hugging Face transformers models, offline, end to end through the command line.

Tiny random models are built here, in a temporary folder and in a temporary Hugging Face cache layout
(``models--ORG--NAME/{refs/main, snapshots/<commit>/}``); nothing is ever downloaded, and the autouse ``_no_network``
fixture of conftest.py fails a test that so much as creates an internet socket or resolves a host name.

Each model is checked against the library itself: the same model loaded directly with timm / transformers, the
same image preprocessed by timm's ``create_transform`` / transformers' ``AutoImageProcessor``, and the gradient taken
with plain ``torch.autograd``.
"""

from __future__ import annotations

import hashlib
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
from smoothgrad_desktop.core import explain as explain_mod
from smoothgrad_desktop.core.errors import AttributionError, ModelLoadError
from smoothgrad_desktop.core.models import load_model

import timm  # noqa: E402 - the 'hub' extra is part of the test installation (README's test command)
import timm.data  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


# ---------------------------------------------------------------------------------------------------------------
# Building tiny models
# ---------------------------------------------------------------------------------------------------------------


def cache_snapshot(cache: Path, repo_id: str) -> Path:
    """An empty snapshot folder in the Hugging Face cache layout, with refs/main pointing at it."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    return snapshot


def to_blobs(snapshot: Path) -> None:
    """Move the snapshot's files into blobs/ and link them back, as the hub client stores them."""
    blobs = snapshot.parents[1] / "blobs"
    blobs.mkdir(exist_ok=True)
    for f in list(snapshot.iterdir()):
        digest = hashlib.sha256(f.read_bytes()).hexdigest()
        target = blobs / digest
        f.rename(target)
        try:
            f.symlink_to(os.path.relpath(target, snapshot))
        except OSError:  # no symlinks (Windows without developer mode): the hub client copies instead
            target.replace(f)


def tiny_timm(name: str, seed: int, **kwargs) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = timm.create_model(name, pretrained=False, **kwargs).eval()
    with torch.no_grad():  # visible biases and scales, so that a wrongly loaded parameter shows
        for p in model.parameters():
            p.add_(0.02 * torch.randn_like(p))
    return model


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """Every tiny model, built once: two HF caches, model folders and weights files."""
    base = tmp_path_factory.mktemp("zoo")
    cache = base / "hf-cache"
    z = {"base": base, "cache": cache}

    # timm pretrained files in the cache, as timm publishes them (timm/NAME.TAG)
    vit = tiny_timm("test_vit.r160_in1k", 0)
    snap = cache_snapshot(cache, "timm/test_vit.r160_in1k")
    timm.models.save_for_hf(vit, str(snap), safe_serialization=True)
    to_blobs(snap)
    z["timm_vit"] = (vit, snap / "model.safetensors")

    # a timm folder (save_for_hf layout) with its own class names
    convnext = tiny_timm("test_convnext", 1, num_classes=4)
    folder = base / "timm-convnext"
    timm.models.save_for_hf(convnext, str(folder), safe_serialization=True)
    config = json.loads((folder / "config.json").read_text())
    config["label_names"] = ["apple", "banana", "cherry", "date"]
    (folder / "config.json").write_text(json.dumps(config))
    z["timm_folder"] = (convnext, folder)

    # a timm state dict as a .safetensors file for timm:NAME --weights FILE (ReLU network, 3 classes)
    resnet = tiny_timm("test_resnet", 2, num_classes=3)
    save_file(resnet.state_dict(), str(base / "resnet.safetensors"))
    z["timm_resnet"] = (resnet, base / "resnet.safetensors")

    # transformers ViT in a folder (save_pretrained + preprocessor_config.json)
    torch.manual_seed(3)
    cfg = transformers.ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                                 image_size=32, patch_size=8, num_labels=3, id2label={0: "cat", 1: "dog", 2: "fox"},
                                 label2id={"cat": 0, "dog": 1, "fox": 2})
    hf_vit = transformers.ViTForImageClassification(cfg).eval()
    hf_vit.save_pretrained(base / "hf-vit")
    transformers.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(base / "hf-vit")
    z["hf_vit"] = base / "hf-vit"

    # transformers ConvNeXT in the cache layout (shortest edge + crop_pct: resize, then centre crop)
    torch.manual_seed(4)
    cfg = transformers.ConvNextConfig(hidden_sizes=[8, 16, 24, 32], depths=[1, 1, 1, 1], num_labels=5,
                                      id2label={i: f"kind {i}" for i in range(5)},
                                      label2id={f"kind {i}": i for i in range(5)})
    snap = cache_snapshot(cache, "acme/tiny-convnext")
    transformers.ConvNextForImageClassification(cfg).eval().save_pretrained(snap)
    transformers.ConvNextImageProcessor(size={"shortest_edge": 64}, crop_pct=0.875).save_pretrained(snap)
    to_blobs(snap)
    z["hf_convnext"] = snap

    # transformers ResNet (ReLU) in a folder
    torch.manual_seed(5)
    cfg = transformers.ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], layer_type="basic",
                                    hidden_act="relu", num_labels=3, id2label={0: "a", 1: "b", 2: "c"},
                                    label2id={"a": 0, "b": 1, "c": 2})
    transformers.ResNetForImageClassification(cfg).eval().save_pretrained(base / "hf-resnet")
    transformers.ConvNextImageProcessor(size={"shortest_edge": 48}, crop_pct=0.875).save_pretrained(base / "hf-resnet")
    z["hf_resnet"] = base / "hf-resnet"

    # something else in the cache: a language model, which the app does not offer
    snap = cache_snapshot(cache, "acme/chatty")
    (snap / "config.json").write_text(json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}))

    rng = np.random.default_rng(7)
    image = base / "photo.png"
    Image.fromarray(rng.integers(0, 256, (90, 130, 3), dtype=np.uint8)).save(image)
    z["image"] = image
    return z


@pytest.fixture
def hf_cache(zoo, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(zoo["cache"]))
    return zoo["cache"]


# ---------------------------------------------------------------------------------------------------------------
# References: the library on its own
# ---------------------------------------------------------------------------------------------------------------


def timm_reference(model: torch.nn.Module, image: Path) -> torch.Tensor:
    cfg = timm.data.resolve_data_config({}, model=model)
    return timm.data.create_transform(**cfg)(Image.open(image).convert("RGB"))


def hf_reference(folder: Path, image: Path):
    model = transformers.AutoModelForImageClassification.from_pretrained(str(folder), local_files_only=True).eval()
    processor = transformers.AutoImageProcessor.from_pretrained(str(folder), local_files_only=True)
    x = processor(images=Image.open(image).convert("RGB"), return_tensors="pt")["pixel_values"][0]
    return (lambda batch: model(pixel_values=batch).logits), x, model.config.id2label


def autograd_gradient(forward, x: torch.Tensor) -> tuple[np.ndarray, int, torch.Tensor]:
    xg = x.detach().clone()[None].requires_grad_(True)
    scores = forward(xg)
    target = int(scores[0].argmax())
    (grad,) = torch.autograd.grad(scores[0, target], xg)
    return grad[0].numpy(), target, scores[0].detach()


def run_compute(tmp_path, image, *model_args, extra=(), capture=None, monkeypatch=None):
    """Run ``compute`` in-process; returns (exit code, map, provenance, the model input the CLI prepared)."""
    seen = []
    if monkeypatch is not None:
        real = explain_mod.prepare_input

        def spy(model, img):
            prepared = real(model, img)
            seen.append(prepared.x.detach().cpu().clone())
            return prepared

        monkeypatch.setattr(explain_mod, "prepare_input", spy)
    out = tmp_path / "out"
    rc = main(["compute", str(image), "--out", str(out), *model_args, "--method", "gradient", "--smooth", "none",
               "--device", "cpu", "--quiet", *extra])
    if rc != 0:
        return rc, None, None, None
    stem = Path(image).stem
    return (rc, np.load(out / f"{stem}.npy"), json.loads((out / f"{stem}.json").read_text()),
            seen[0] if seen else None)


def assert_close_rel(ours: np.ndarray, ref: np.ndarray, rel: float = 1e-5) -> None:
    assert ours.shape == ref.shape
    scale = float(np.abs(ref).max())
    assert scale > 0
    err = float(np.abs(ours - ref).max())
    assert err <= rel * scale, f"max error {err:.3g} > {rel} x {scale:.3g}"


# ---------------------------------------------------------------------------------------------------------------
# Through the CLI: gradient, model input, labels, provenance
# ---------------------------------------------------------------------------------------------------------------


def test_timm_name_with_pretrained_files_in_the_hf_cache(zoo, hf_cache, tmp_path, monkeypatch):
    ref_model, weights = zoo["timm_vit"]
    rc, attr, record, x = run_compute(tmp_path, zoo["image"], "--model", "timm:test_vit.r160_in1k",
                                      monkeypatch=monkeypatch)
    assert rc == 0
    x_ref = timm_reference(ref_model, zoo["image"])
    assert tuple(x_ref.shape) == (3, 160, 160)
    torch.testing.assert_close(x, x_ref, rtol=0, atol=1e-6)  # timm's own create_transform, same image
    grad, target, _ = autograd_gradient(ref_model, x_ref)
    assert_close_rel(attr, grad)
    imagenet = timm.data.ImageNetInfo("imagenet-1k").label_descriptions()
    assert record["target"] == {"index": target, "label": imagenet[target], "logit": pytest.approx(
        float(ref_model(x_ref[None])[0, target].detach()), rel=1e-5)}
    source = record["model"]["source"]
    assert source["library"] == "timm" and source["version"] == timm.__version__
    assert source["model"] == "test_vit.r160_in1k" and len(source["config_sha256"]) == 64
    assert source["data_config"]["input_size"] == [3, 160, 160] and source["data_config"]["crop_pct"] == 0.95
    assert record["model"]["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert "bicubic" in record["model"]["preprocessing"] and "crop 160x160" in record["model"]["preprocessing"]


def test_timm_folder_layout_with_labels_from_its_config(zoo, tmp_path, monkeypatch):
    ref_model, folder = zoo["timm_folder"]
    rc, attr, record, x = run_compute(tmp_path, zoo["image"], "--model", str(folder), monkeypatch=monkeypatch)
    assert rc == 0
    x_ref = timm_reference(ref_model, zoo["image"])
    torch.testing.assert_close(x, x_ref, rtol=0, atol=1e-6)
    grad, target, _ = autograd_gradient(ref_model, x_ref)
    assert_close_rel(attr, grad)
    assert record["target"]["label"] == ["apple", "banana", "cherry", "date"][target]
    assert record["model"]["kind"] == "timm"
    assert record["model"]["source"]["config_sha256"] == hashlib.sha256((folder / "config.json").read_bytes()).hexdigest()


def test_timm_name_with_a_safetensors_weights_file(zoo, tmp_path, monkeypatch):
    ref_model, weights = zoo["timm_resnet"]
    rc, attr, record, x = run_compute(tmp_path, zoo["image"], "--model", "timm:test_resnet", "--weights",
                                      str(weights), monkeypatch=monkeypatch)
    assert rc == 0
    x_ref = timm_reference(ref_model, zoo["image"])
    torch.testing.assert_close(x, x_ref, rtol=0, atol=1e-6)
    grad, target, _ = autograd_gradient(ref_model, x_ref)
    assert_close_rel(attr, grad)
    assert record["target"]["label"] == f"class {target}"  # 3 classes: not the ImageNet label set of its config
    assert record["model"]["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()


def test_transformers_folder(zoo, tmp_path, monkeypatch):
    forward, x_ref, id2label = hf_reference(zoo["hf_vit"], zoo["image"])
    rc, attr, record, x = run_compute(tmp_path, zoo["image"], "--model", str(zoo["hf_vit"]), monkeypatch=monkeypatch)
    assert rc == 0
    torch.testing.assert_close(x, x_ref, rtol=0, atol=1e-6)  # the model's own image processor
    grad, target, scores = autograd_gradient(forward, x_ref)
    assert_close_rel(attr, grad)
    assert record["target"]["label"] == id2label[target] == ["cat", "dog", "fox"][target]
    assert record["target"]["logit"] == pytest.approx(float(scores[target]), rel=1e-5)
    source = record["model"]["source"]
    assert source["library"] == "transformers" and source["version"] == transformers.__version__
    assert source["architecture"] == "ViTForImageClassification"
    assert source["config_sha256"] == hashlib.sha256((zoo["hf_vit"] / "config.json").read_bytes()).hexdigest()
    weights = zoo["hf_vit"] / "model.safetensors"
    assert record["model"]["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()


def test_transformers_repository_in_the_hf_cache(zoo, hf_cache, tmp_path, monkeypatch):
    forward, x_ref, id2label = hf_reference(zoo["hf_convnext"], zoo["image"])
    assert tuple(x_ref.shape) == (3, 64, 64)
    rc, attr, record, x = run_compute(tmp_path, zoo["image"], "--model", "hf:acme/tiny-convnext",
                                      monkeypatch=monkeypatch)
    assert rc == 0
    torch.testing.assert_close(x, x_ref, rtol=0, atol=1e-6)
    grad, target, _ = autograd_gradient(forward, x_ref)
    assert_close_rel(attr, grad)
    assert record["target"]["label"] == id2label[target] == f"kind {target}"
    assert record["model"]["spec"] == "hf:acme/tiny-convnext"


def test_timm_repository_through_hf_spec_equals_the_timm_name(zoo, hf_cache, tmp_path):
    rc1, a1, r1, _ = run_compute(tmp_path / "a", zoo["image"], "--model", "hf:timm/test_vit.r160_in1k")
    rc2, a2, r2, _ = run_compute(tmp_path / "b", zoo["image"], "--model", "timm:test_vit.r160_in1k")
    assert rc1 == rc2 == 0
    np.testing.assert_array_equal(a1, a2)
    assert r1["target"] == r2["target"] and r1["model"]["weights_sha256"] == r2["model"]["weights_sha256"]


# ---------------------------------------------------------------------------------------------------------------
# Every method and aggregation
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("aggregation", ["smoothgrad", "smoothgrad-sq", "vargrad"])
def test_aggregations_on_a_transformers_model_match_per_sample_autograd(zoo, aggregation):
    from smoothgrad_desktop.core.explain import explain
    from smoothgrad_desktop.core.images import load_input
    from smoothgrad_desktop.core.smoothing import SmoothingConfig, noise_sigma, sample_noise

    model = load_model(str(zoo["hf_vit"]), device="cpu")
    forward, x_ref, _ = hf_reference(zoo["hf_vit"], zoo["image"])
    cfg = SmoothingConfig(aggregation=aggregation, n_samples=6, seed=2, batch_size=4)
    expl = explain(model, load_input(zoo["image"]), cfg, target=1)
    sigma = noise_sigma(x_ref, 0.15)
    noise = sample_noise(x_ref.shape, list(range(6)), 2, torch.device("cpu"))
    grads = []
    for i in range(6):  # one sample at a time, plain autograd on the model loaded by transformers itself
        xi = (x_ref + sigma * noise[i])[None].requires_grad_(True)
        (g,) = torch.autograd.grad(forward(xi)[0, 1], xi)
        grads.append(g[0].double())
    g = torch.stack(grads)
    ref = {"smoothgrad": g.mean(0), "smoothgrad-sq": (g ** 2).mean(0), "vargrad": g.var(0, unbiased=False)}[aggregation]
    assert_close_rel(expl.result.attribution, ref.float().numpy(), rel=1e-4)


def test_integrated_gradients_is_complete_on_a_timm_vit(zoo, hf_cache):
    from smoothgrad_desktop.core.explain import explain
    from smoothgrad_desktop.core.images import load_input
    from smoothgrad_desktop.core.smoothing import SmoothingConfig

    model = load_model("timm:test_vit.r160_in1k", device="cpu")
    expl = explain(model, load_input(zoo["image"]), SmoothingConfig(method="integrated-gradients",
                                                                     aggregation="none", steps=64))
    with torch.no_grad():
        gap = model(expl.prepared.x[None])[0, expl.target] - model(expl.prepared.baseline[None])[0, expl.target]
    assert float(expl.result.attribution.sum()) == pytest.approx(float(gap), rel=0.02, abs=1e-3)


def test_gradient_x_input_on_a_timm_model_is_input_times_gradient(zoo, tmp_path):
    ref_model, weights = zoo["timm_resnet"]
    x_ref = timm_reference(ref_model, zoo["image"])
    grad, target, _ = autograd_gradient(ref_model, x_ref)
    rc, attr, _, _ = run_compute(tmp_path, zoo["image"], "--model", "timm:test_resnet", "--weights", str(weights),
                                 extra=("--method", "gradient-x-input", "--target", str(target)))
    assert rc == 0
    assert_close_rel(attr, x_ref.numpy() * grad)


@pytest.mark.parametrize("spec", ["timm:test_vit.r160_in1k", "hf-vit", "hf:acme/tiny-convnext"])
def test_guided_backprop_is_refused_in_one_line_on_non_relu_models(zoo, hf_cache, tmp_path, capsys, spec):
    spec = str(zoo["hf_vit"]) if spec == "hf-vit" else spec
    rc = main(["compute", str(zoo["image"]), "--out", str(tmp_path / "o"), "--model", spec, "--method",
               "guided-backprop", "--device", "cpu"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err
    assert "defined for ReLU networks" in err and "GELU" in err
    assert not (tmp_path / "o" / "photo.npy").exists()


def test_guided_backprop_runs_on_relu_models_from_both_libraries(zoo):
    from smoothgrad_desktop.core.explain import explain
    from smoothgrad_desktop.core.images import load_input
    from smoothgrad_desktop.core.smoothing import SmoothingConfig

    for spec, weights in (("timm:test_resnet", str(zoo["timm_resnet"][1])), (str(zoo["hf_resnet"]), None)):
        model = load_model(spec, weights, device="cpu")
        assert model.guided_refusal() is None
        image = load_input(zoo["image"])
        guided = explain(model, image, SmoothingConfig(method="guided-backprop", aggregation="none"), target=0)
        plain = explain(model, image, SmoothingConfig(method="gradient", aggregation="none"), target=0)
        g, p = guided.result.attribution, plain.result.attribution
        assert np.isfinite(g).all() and np.abs(g).max() > 0
        assert np.abs(g - p).max() > 0.01 * np.abs(p).max()  # guided, not the plain gradient under a new name


def test_guided_backprop_refuses_functional_activations_the_module_scan_cannot_see():
    from smoothgrad_desktop.core.methods import MethodContext, guided_backprop

    class Functional(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Linear(4, 4), torch.nn.Linear(4, 2)

        def forward(self, x):
            return self.b(torch.nn.functional.silu(torch.relu(self.a(x.flatten(1)))))

    with pytest.raises(AttributionError, match="SiLU"):
        guided_backprop(Functional().eval(), torch.rand(1, 1, 2, 2), 0, context=MethodContext())


# ---------------------------------------------------------------------------------------------------------------
# Preprocessing geometry
# ---------------------------------------------------------------------------------------------------------------


def test_visible_image_and_box_match_the_library_geometry(zoo, hf_cache):
    model = load_model("timm:test_vit.r160_in1k", device="cpu")
    image = Image.open(zoo["image"]).convert("RGB")  # 130 x 90
    transform = timm.data.create_transform(**timm.data.resolve_data_config({}, model=zoo["timm_vit"][0]))
    pil_stage = [t for t in transform.transforms if type(t).__name__ in ("Resize", "CenterCrop")]
    expected = image
    for t in pil_stage:
        expected = t(expected)
    np.testing.assert_array_equal(np.asarray(model.pipeline.visible(image)), np.asarray(expected))
    # resize the short side 90 -> floor(160 / 0.95) = 168 (long side 242), centre crop 160: left 41, top 4
    fx, fy = 130 / 242, 90 / 168
    box = model.pipeline.box(image.size)
    assert box == pytest.approx((41 * fx, 4 * fy, 201 * fx, 164 * fy))
    # transformers ConvNeXT: short side to int(64 / 0.875) = 73, centre crop 64
    hf = load_model("hf:acme/tiny-convnext", device="cpu")
    assert hf.pipeline.resize == ("short", 73) and hf.pipeline.crop == (64, 64)
    assert "ConvNextImageProcessor" in hf.pipeline.describe()
    visible = np.asarray(hf.pipeline.visible(image), dtype=np.float32) / 255.0
    x = hf.pipeline(image).numpy().transpose(1, 2, 0) * np.asarray(hf.pipeline.std) + np.asarray(hf.pipeline.mean)
    assert np.abs(visible - x).max() <= 0.5 / 255 + 1e-6  # what the model sees, rounded to pixels


def test_transformers_folder_without_preprocessor_config_uses_the_model_types_default(zoo, tmp_path):
    import shutil

    folder = tmp_path / "no-preprocessor"
    shutil.copytree(zoo["hf_vit"], folder)
    (folder / "preprocessor_config.json").unlink()
    model = load_model(str(folder), device="cpu")
    assert any("no preprocessor_config.json" in n for n in model.notes)
    x = model.pipeline(Image.open(zoo["image"]))
    default = transformers.ViTImageProcessor(size={"height": 32, "width": 32})
    ref = default(images=Image.open(zoo["image"]).convert("RGB"), return_tensors="pt")["pixel_values"][0]
    torch.testing.assert_close(x, ref, rtol=0, atol=1e-6)


# ---------------------------------------------------------------------------------------------------------------
# Missing things: one line each
# ---------------------------------------------------------------------------------------------------------------


def test_missing_timm_weights_name_where_they_were_looked_for(zoo, hf_cache, tmp_path, capsys):
    rc = main(["compute", str(zoo["image"]), "--out", str(tmp_path / "o"), "--model", "timm:test_resnet.r160_in1k"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err
    assert str(hf_cache / "models--timm--test_resnet.r160_in1k") in err and "--weights random" in err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_random_timm_model_needs_no_files(zoo, hf_cache):
    model = load_model("timm:test_resnet.r160_in1k", "random", device="cpu")
    assert model.weights_sha256 is None and "random" in model.name and len(model.labels) == 1000


@pytest.mark.parametrize("spec, fragment", [
    ("hf:acme/missing", "models--acme--missing"),
    ("hf:../etc", "not a repository name"),
    ("timm:no_such_model_anywhere", "unknown timm model"),
    ("timm:hf-hub:timm/resnet18.a1_in1k", "not a timm model name"),
    ("timm:local-dir:/tmp", "not a timm model name"),
])
def test_bad_library_specs_are_one_line(hf_cache, spec, fragment):
    with pytest.raises(ModelLoadError) as info:
        load_model(spec, device="cpu")
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_weights_that_do_not_fit_the_timm_architecture_are_one_line(zoo):
    with pytest.raises(ModelLoadError) as info:
        load_model("timm:test_vit", str(zoo["timm_resnet"][1]), device="cpu")
    message = str(info.value)
    assert "resnet.safetensors" in message and "test_vit" in message and "\n" not in message


def test_a_missing_library_names_the_extra(zoo, monkeypatch):
    from smoothgrad_desktop.core.models import hub

    for name in [m for m in sys.modules if m == "timm" or m.startswith("timm.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "timm", None)  # "import timm" now raises ImportError
    with pytest.raises(ModelLoadError, match=r"'hub' extra .*smoothgrad-desktop\[hub\]"):
        load_model("timm:test_vit", "random", device="cpu")
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ModelLoadError, match="'hub' extra"):
        hub.import_transformers()


# ---------------------------------------------------------------------------------------------------------------
# Offline, enforced in code
# ---------------------------------------------------------------------------------------------------------------


def test_offline_mode_is_set_even_when_huggingface_hub_was_imported_first(tmp_path):
    code = ("import os; os.environ['HF_HUB_OFFLINE'] = '0'\n"
            "import huggingface_hub.constants as c; assert c.HF_HUB_OFFLINE is False\n"
            "import smoothgrad_desktop.core.models\n"
            "print(c.HF_HUB_OFFLINE, os.environ['HF_HUB_OFFLINE'], os.environ['TRANSFORMERS_OFFLINE'])\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["True", "1", "1"]


def test_the_hub_client_refuses_downloads_without_opening_a_socket(hf_cache, _no_network):
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled

    import smoothgrad_desktop.core.models  # noqa: F401 - offline mode on

    with pytest.raises((LocalEntryNotFoundError, OfflineModeIsEnabled)):
        huggingface_hub.hf_hub_download("timm/resnet50.a1_in1k", "config.json", cache_dir=str(hf_cache))
    assert _no_network == []


def test_the_socket_guard_catches_the_hub_client_when_it_is_online(hf_cache, _no_network, monkeypatch):
    """The guard is what the offline tests rely on: with offline mode switched off by force, the hub client's
    attempt to reach the network is recorded even though the client catches the error."""
    import huggingface_hub
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with pytest.raises(Exception):  # noqa: B017 - whatever the client makes of the refused connection
        huggingface_hub.hf_hub_download("acme/not-cached", "config.json", cache_dir=str(hf_cache),
                                        etag_timeout=1)
    assert _no_network, "the guard saw no network attempt"
    _no_network.clear()  # it was provoked on purpose


def test_importing_the_model_registry_does_not_import_the_hub_libraries():
    code = ("import sys, smoothgrad_desktop.core.models, smoothgrad_desktop.core.models.catalog as c\n"
            "c.catalog()\n"
            "print(sorted(m for m in ('timm', 'transformers', 'huggingface_hub') if m in sys.modules))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------------------------------
# The catalog of what this machine has
# ---------------------------------------------------------------------------------------------------------------


def test_catalog_lists_cached_timm_and_transformers_models_and_recent_files(zoo, hf_cache, tmp_path, capsys):
    from smoothgrad_desktop.core.models.catalog import catalog

    entries = {e.spec: e for e in catalog()}
    assert {"default", "mnist-noise", "timm:test_vit.r160_in1k", "hf:acme/tiny-convnext"} <= set(entries)
    assert not any("chatty" in s for s in entries)  # a language model: not offered
    assert entries["timm:test_vit.r160_in1k"].kind == "timm" and entries["hf:acme/tiny-convnext"].available
    for spec in ("timm:test_vit.r160_in1k", "hf:acme/tiny-convnext"):  # what is listed is what loads
        assert load_model(spec, entries[spec].weights, device="cpu").kind == entries[spec].kind

    assert main(["compute", str(zoo["image"]), "--out", str(tmp_path / "o"), "--model", str(zoo["hf_vit"]),
                 "--samples", "2", "--quiet"]) == 0
    recent = [e for e in catalog() if e.origin == "recent"]
    assert [e.spec for e in recent] == [str(zoo["hf_vit"].resolve())] and recent[0].available
    capsys.readouterr()
    assert main(["models"]) == 0
    listing = capsys.readouterr().out
    assert "--model timm:test_vit.r160_in1k" in listing and "--model hf:acme/tiny-convnext" in listing
    assert str(zoo["hf_vit"].resolve()) in listing and "chatty" not in listing


def test_catalog_marks_vanished_recent_files_and_missing_libraries(zoo, hf_cache, tmp_path, monkeypatch):
    import shutil

    from smoothgrad_desktop.core.models import catalog as cat

    folder = tmp_path / "gone"
    shutil.copytree(zoo["hf_vit"], folder)
    load_model(str(folder), device="cpu")
    cat.remember(str(folder), None)
    shutil.rmtree(folder)
    (entry,) = [e for e in cat.catalog() if e.origin == "recent"]
    assert not entry.available and "no longer exists" in entry.reason
    monkeypatch.setattr(cat, "library_available", lambda name: name != "transformers")
    convnext = next(e for e in cat.catalog() if e.spec == "hf:acme/tiny-convnext")
    assert not convnext.available and "'hub' extra" in convnext.reason


# ---------------------------------------------------------------------------------------------------------------
# House rules in the source
# ---------------------------------------------------------------------------------------------------------------


def test_every_from_pretrained_call_is_local_only_and_runs_no_repository_code():
    import ast

    package = ROOT / "smoothgrad_desktop"
    calls = []
    for f in package.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "from_pretrained":
                kw = {k.arg: getattr(k.value, "value", None) for k in node.keywords}
                calls.append((f.name, node.lineno, kw.get("local_files_only"), kw.get("trust_remote_code")))
    assert len(calls) >= 3
    assert [c for c in calls if c[2] is not True or c[3] is not False] == []


# ---------------------------------------------------------------------------------------------------------------
# .safetensors wherever a state_dict is accepted
# ---------------------------------------------------------------------------------------------------------------


def test_torchvision_architecture_takes_safetensors_weights(tmp_path):
    import torchvision

    torch.manual_seed(0)
    reference = torchvision.models.shufflenet_v2_x0_5(weights=None, num_classes=7).eval()
    path = tmp_path / "shuffle.safetensors"
    save_file(reference.state_dict(), str(path))
    model = load_model("shufflenet_v2_x0_5", str(path), device="cpu")
    assert model.weights_sha256 == hashlib.sha256(path.read_bytes()).hexdigest() and len(model.labels) == 7
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x.contiguous(memory_format=torch.channels_last)), reference(x),
                                   rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("content", [b"", b"\x08\x00\x00\x00\x00\x00\x00\x00{not json", b"PK\x03\x04 a zip"])
def test_broken_safetensors_files_are_one_line(tmp_path, content):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(content)
    for spec in ("squeezenet1_1", "timm:test_resnet"):
        with pytest.raises(ModelLoadError) as info:
            load_model(spec, str(path), device="cpu")
        message = str(info.value)
        assert message.startswith("broken.safetensors: ") and "\n" not in message


# ---------------------------------------------------------------------------------------------------------------
# Paths from outside: one resolver, printable names
# ---------------------------------------------------------------------------------------------------------------


def test_model_folders_and_weights_files_go_through_the_path_resolver(zoo, tmp_path, monkeypatch):
    import shutil

    real = tmp_path / "models" / "vit"
    shutil.copytree(zoo["hf_vit"], real)
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / "current").symlink_to(real, target_is_directory=True)
    monkeypatch.chdir(tmp_path / "models")
    model = load_model("../links/current", device="cpu")  # relative, through '..' and a symlink
    assert model.weights_path == real.resolve() / "model.safetensors"
    weights = tmp_path / "w" / "resnet.safetensors"
    weights.parent.mkdir()
    shutil.copy(zoo["timm_resnet"][1], weights)
    model = load_model("timm:test_resnet", "../w/./resnet.safetensors", device="cpu")
    assert model.weights_path == weights.resolve()


def test_hostile_folder_names_are_printed_on_one_line(tmp_path, capsys, zoo):
    folder = tmp_path / "evil\x1b[2J\nname"
    folder.mkdir()
    (folder / "config.json").write_text("{not json")
    rc = main(["compute", str(zoo["image"]), "--out", str(tmp_path / "o"), "--model", str(folder)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "\x1b" not in err
    assert "evil\\x1b[2J\\nname" in err and "config.json" in err


# ---------------------------------------------------------------------------------------------------------------
# The class-token fast path for Vision Transformers
# ---------------------------------------------------------------------------------------------------------------


def test_class_token_vit_gives_the_same_scores_and_input_gradients():
    from smoothgrad_desktop.core.models.vit_fast import ClassTokenViT, class_token_vit

    vit = tiny_timm("test_vit", 11, num_classes=6).requires_grad_(False)
    fast, note = class_token_vit(vit, (3, 160, 160))
    assert isinstance(fast, ClassTokenViT) and note
    x = torch.randn(3, 3, 160, 160)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), vit(x), rtol=1e-5, atol=1e-6)
    for target in (0, 5):
        xa = x.clone().requires_grad_(True)
        xb = x.clone().requires_grad_(True)
        (ga,) = torch.autograd.grad(fast(xa)[:, target].sum(), xa)
        (gb,) = torch.autograd.grad(vit(xb)[:, target].sum(), xb)
        assert_close_rel(ga.numpy(), gb.numpy())


def test_class_token_vit_leaves_other_models_alone(monkeypatch):
    from smoothgrad_desktop.core.models import vit_fast

    pooled = tiny_timm("test_vit", 12, global_pool="avg").requires_grad_(False)  # reads every token
    assert vit_fast.class_token_vit(pooled, (3, 160, 160)) == (pooled, None)
    convnext = tiny_timm("test_convnext", 13).requires_grad_(False)
    assert vit_fast.class_token_vit(convnext, (3, 160, 160)) == (convnext, None)
    # a wrapper that does not reproduce the model's scores, or only its scores, is not used (the load-time check)
    vit = tiny_timm("test_vit", 14).requires_grad_(False)
    with monkeypatch.context() as m:
        m.setattr(vit_fast, "_block", lambda block, x, class_token_only=False: block(x)[:, 1:2]
                  if class_token_only else block(x))
        assert vit_fast.class_token_vit(vit, (3, 160, 160)) == (vit, None)
    backward = vit_fast._SplitQKV.backward

    def doubled(ctx, *grads):
        dh, *rest = backward(ctx, *grads)
        return (2 * dh, *rest)

    monkeypatch.setattr(vit_fast._SplitQKV, "backward", staticmethod(doubled))
    assert vit_fast.class_token_vit(vit, (3, 160, 160)) == (vit, None)


def test_split_qkv_projection_has_the_gradients_of_the_fused_one():
    from smoothgrad_desktop.core.models.vit_fast import _SplitQKV

    torch.manual_seed(0)
    h = torch.randn(2, 5, 8, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(12, 8, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(12, dtype=torch.float64, requires_grad=True)
    q, k, v = _SplitQKV.apply(h, weight, bias, 4)
    ref = torch.nn.functional.linear(h, weight, bias)
    torch.testing.assert_close(torch.cat([q, k, v], -1), ref)
    w = torch.randn(3, 2, 5, 4, dtype=torch.float64)
    ours = torch.autograd.grad((q * w[0]).sum() + (k * w[1]).sum() + (v * w[2] * v).sum(), (h, weight, bias))
    qr, kr, vr = ref[..., :4], ref[..., 4:8], ref[..., 8:]
    theirs = torch.autograd.grad((qr * w[0]).sum() + (kr * w[1]).sum() + (vr * w[2] * vr).sum(), (h, weight, bias))
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b)
    # an output that is not used gets no gradient: the others still flow
    (gh,) = torch.autograd.grad(_SplitQKV.apply(h, weight, bias, 4)[1].sum(), h)
    torch.testing.assert_close(gh, weight[4:8].sum(0).expand_as(h))


def test_prepared_vit_runs_under_bf16_autocast():
    """The engine's bf16 precision autocasts the forward pass; the prepared ViT's own backward must follow."""
    from smoothgrad_desktop.core.models.vit_fast import class_token_vit
    from smoothgrad_desktop.core.smoothing import SmoothingConfig, smooth_attribution

    vit = tiny_timm("test_vit", 15).requires_grad_(False)
    fast, note = class_token_vit(vit, (3, 160, 160))
    assert note
    x = torch.randn(3, 160, 160)
    bf16 = smooth_attribution(fast, x, 1, SmoothingConfig(n_samples=4, batch_size=4, precision="bf16"))
    fp32 = smooth_attribution(fast, x, 1, SmoothingConfig(n_samples=4, batch_size=4))
    assert bf16.fidelity is not None and np.isfinite(bf16.mean).all()
    if bf16.precision == "bf16":  # kept by the gate: close to fp32
        assert np.corrcoef(bf16.mean.ravel(), fp32.mean.ravel())[0, 1] > 0.9
