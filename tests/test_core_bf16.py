"""bf16 behind the fidelity gate, judged on the trained embedded MNIST model (not only random weights)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from smoothgrad_desktop.core.explain import predict, prepare_input
from smoothgrad_desktop.core.images import load_input
from smoothgrad_desktop.core.models import load_model
from smoothgrad_desktop.core.resources import default_sample
from smoothgrad_desktop.core.smoothing import Fp32Ends, SmoothingConfig, fidelity, smooth_attribution


@pytest.mark.parametrize("spec", ["default", "mnist-noise"])
def test_bf16_on_trained_weights_passes_the_gate_and_matches_fp32(spec):
    model = load_model(spec, device="cpu")
    prepared = prepare_input(model, load_input(default_sample()))
    target = int(np.argmax(predict(model, prepared.x)))
    full = smooth_attribution(model.module, prepared.x, target, SmoothingConfig(n_samples=50, seed=1))
    half = smooth_attribution(model.module, prepared.x, target,
                              SmoothingConfig(n_samples=50, seed=1, precision="bf16", batch_size=16))
    assert half.fidelity["passed"] and half.precision == "bf16"
    whole = fidelity(torch.from_numpy(full.mean), torch.from_numpy(half.mean))
    assert whole["spearman"] >= 0.99 and whole["iou_top5"] >= 0.9, whole
    assert not np.array_equal(full.mean, half.mean)  # bf16 really ran for most samples


def test_first_and_last_layers_stay_float32_under_autocast():
    net = load_model("default", device="cpu").module
    seen = {}
    layers = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    hooks = [m.register_forward_hook(lambda mod, a, out, i=i: seen.__setitem__(i, out.dtype))
             for i, m in enumerate(layers)]
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16), Fp32Ends(net, "cpu"):
            net(torch.rand(2, 1, 28, 28))
    finally:
        for h in hooks:
            h.remove()
    assert seen[0] == torch.float32 and seen[len(layers) - 1] == torch.float32
    assert seen[1] == torch.bfloat16  # the bulk in bfloat16
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in layers)  # hooks gone after the block
