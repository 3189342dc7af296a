"""A machine's worth of local models for the model chooser's tests: a Hugging Face cache (``HF_HOME/hub``) with a
tiny random timm model and a tiny transformers model, a model folder, a torch hub checkpoint folder
(``TORCH_HOME/hub/checkpoints``) and a TorchScript file with its model description. Nothing is downloaded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import timm
import torch
import transformers

from test_core_hub_models import cache_snapshot, tiny_timm

TIMM_REPO = "timm/test_vit.r160_in1k"
HF_REPO = "acme/tiny-vit"
# the file name torchvision's ResNet18_Weights.IMAGENET1K_V1 is stored under in the torch hub cache
TORCHVISION_FILE = "resnet18-f37072fd.pth"


@dataclass
class Machine:
    hf_home: Path
    torch_home: Path
    timm_model: torch.nn.Module
    hf_snapshot: Path
    folder: Path
    script: Path


def build_machine(base: Path) -> Machine:
    hf_home, torch_home = base / "hf-home", base / "torch-home"
    cache = hf_home / "hub"

    vit = tiny_timm("test_vit.r160_in1k", 0)
    snap = cache_snapshot(cache, TIMM_REPO)
    timm.models.save_for_hf(vit, str(snap), safe_serialization=True)

    torch.manual_seed(3)
    cfg = transformers.ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                                 image_size=48, patch_size=16, num_labels=3, id2label={0: "cat", 1: "dog", 2: "fox"},
                                 label2id={"cat": 0, "dog": 1, "fox": 2})
    hf_snap = cache_snapshot(cache, HF_REPO)
    transformers.ViTForImageClassification(cfg).eval().save_pretrained(hf_snap)
    transformers.ViTImageProcessor(size={"height": 48, "width": 40}, image_mean=[0.25, 0.5, 0.75],
                                   image_std=[0.5, 0.25, 0.125]).save_pretrained(hf_snap)

    torch.manual_seed(5)
    cfg = transformers.ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], layer_type="basic",
                                    hidden_act="relu", num_labels=2, id2label={0: "left", 1: "right"},
                                    label2id={"left": 0, "right": 1})
    folder = base / "my-resnet"
    transformers.ResNetForImageClassification(cfg).eval().save_pretrained(folder)
    transformers.ConvNextImageProcessor(size={"shortest_edge": 64}, crop_pct=0.875).save_pretrained(folder)

    checkpoints = torch_home / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / TORCHVISION_FILE).write_bytes(b"listed, never loaded in these tests")

    script = base / "digits.pt"
    (base / "digits.pt.json").write_text(json.dumps({"channels": 1, "input_size": [32, 24], "mean": 0.5, "std": 0.25,
                                                      "labels": ["zero", "one"]}))
    script.write_bytes(b"a program the chooser must not run to preview it")
    return Machine(hf_home, torch_home, vit, hf_snap, folder, script)


@pytest.fixture(scope="module")
def machine(tmp_path_factory) -> Machine:
    return build_machine(tmp_path_factory.mktemp("machine"))


@pytest.fixture
def env(machine, monkeypatch) -> Machine:
    """The built machine, with HF_HOME and TORCH_HOME pointing at it."""
    point_env_at(machine, monkeypatch)
    return machine


def point_env_at(machine: Machine, monkeypatch) -> None:
    """HF_HOME and TORCH_HOME at the built machine (and nothing that outranks them)."""
    for key in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HF_HOME", str(machine.hf_home))
    monkeypatch.setenv("TORCH_HOME", str(machine.torch_home))
