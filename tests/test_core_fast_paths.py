"""The fast paths give the same maps as the plain path: channels-last, OOM halving, bf16 behind a fidelity gate,
and the sigma/n grid's exact evaluation count."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torchvision

from smoothgrad_desktop.core.experiments import sigma_n_grid
from smoothgrad_desktop.core.smoothing import SmoothingConfig, fidelity, smooth_attribution, uses_channels_last


class Counting(nn.Module):
    """Counts model input rows (gradient evaluations) and can fail like an out-of-memory allocator."""

    def __init__(self, inner, oom_above=None, error=None):
        super().__init__()
        self.inner, self.rows, self.calls, self.oom_above, self.error = inner, 0, 0, oom_above, error

    def forward(self, x):
        if self.oom_above is not None and x.shape[0] > self.oom_above:
            raise self.error
        self.rows += x.shape[0]
        self.calls += 1
        return self.inner(x)


def small_cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4)).eval()


@pytest.mark.parametrize("method,per_sample", [("gradient", 1), ("integrated-gradients", 3)])
def test_grid_costs_exactly_rows_times_max_n(method, per_sample):
    model = Counting(small_cnn())
    x = torch.rand(3, 8, 8)
    levels, ns = (0.0, 0.1, 0.3), (1, 2, 5, 7)
    grid = sigma_n_grid(model, x, 1, levels=levels, ns=ns,
                        config=SmoothingConfig(method=method, steps=3, batch_size=4, seed=2))
    assert model.rows == len(levels) * max(ns) * per_sample == grid.evaluations
    # every cell is the prefix mean: equal to a direct run with that n and the same seed
    for r, level in enumerate(levels):
        for c, n in enumerate(ns):
            direct = smooth_attribution(small_cnn(), x, 1, SmoothingConfig(method=method, steps=3, noise_level=level,
                                                                           n_samples=n, seed=2, batch_size=3))
            np.testing.assert_allclose(grid.maps[r][c], direct.mean, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("error", [
    torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: you tried"),
    RuntimeError("MPS backend out of memory (MPS allocated: 1.00 GB)"),
    MemoryError(),
])
def test_out_of_memory_halves_the_batch_and_gives_the_fixed_batch_result(error):
    x = torch.rand(3, 8, 8)
    flaky = Counting(small_cnn(), oom_above=4, error=error)
    auto = smooth_attribution(flaky, x, 2, SmoothingConfig(n_samples=20, batch_size=32, seed=7))
    assert auto.batch_size == 4  # 32 -> 16 -> 8 -> 4
    fixed = smooth_attribution(small_cnn(), x, 2, SmoothingConfig(n_samples=20, batch_size=4, seed=7))
    assert np.array_equal(auto.mean, fixed.mean) and np.array_equal(auto.variance, fixed.variance)
    assert flaky.rows == 20


def test_other_errors_are_not_mistaken_for_oom():
    flaky = Counting(small_cnn(), oom_above=1, error=RuntimeError("shape mismatch"))
    with pytest.raises(RuntimeError, match="shape mismatch"):
        smooth_attribution(flaky, torch.rand(3, 8, 8), 0, SmoothingConfig(n_samples=4, batch_size=4))


def test_channels_last_gives_the_same_map_as_nchw():
    torch.manual_seed(0)
    nchw = torchvision.models.resnet18(weights=None).eval().requires_grad_(False)
    nhwc = torchvision.models.resnet18(weights=None).eval().requires_grad_(False)
    nhwc.load_state_dict(nchw.state_dict())
    nhwc.to(memory_format=torch.channels_last)
    assert uses_channels_last(nhwc) and not uses_channels_last(nchw)
    x = torch.randn(3, 48, 48)
    cfg = SmoothingConfig(n_samples=4, batch_size=2, seed=1)
    a = smooth_attribution(nchw, x, 5, cfg)
    b = smooth_attribution(nhwc, x, 5, cfg)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-3, atol=1e-5 * np.abs(a.mean).max())


def test_fidelity_metric():
    a = torch.randn(5000)
    assert fidelity(a, a)["passed"] and fidelity(a, a)["spearman"] == pytest.approx(1.0)
    assert fidelity(a, -a)["spearman"] == pytest.approx(1.0)  # |map| is compared
    shuffled = a[torch.randperm(a.numel())]
    result = fidelity(a, shuffled)
    assert abs(result["spearman"]) < 0.1 and result["iou_top5"] < 0.2 and not result["passed"]


def test_bf16_is_kept_only_when_the_fidelity_gate_passes():
    x = torch.rand(3, 16, 16)
    smooth = small_cnn()
    r = smooth_attribution(smooth, x, 1, SmoothingConfig(n_samples=8, batch_size=4, precision="bf16"))
    assert r.fidelity is not None and set(r.fidelity) == {"spearman", "iou_top5", "passed"}
    assert r.precision == ("bf16" if r.fidelity["passed"] else "fp32")
    ref = smooth_attribution(smooth, x, 1, SmoothingConfig(n_samples=8, batch_size=4))
    check = fidelity(torch.from_numpy(ref.mean), torch.from_numpy(r.mean))
    assert check["spearman"] > 0.95

    class Fragile(nn.Module):
        """Scores that bf16 destroys: x rides on an offset of 1e4 through a matmul (autocast runs it in bf16,
        whose 8-bit mantissa rounds x away), and the offset is subtracted again afterwards."""

        def __init__(self):
            super().__init__()
            self.a = torch.randn(3 * 16 * 16, 16, generator=torch.Generator().manual_seed(0))

        def forward(self, inp):
            z = inp.flatten(1) + 1e4
            y = z @ self.a - torch.full_like(z, 1e4) @ self.a
            s = y.square().sum(1)
            return torch.stack([s, -s], 1)

    r = smooth_attribution(Fragile(), x, 1, SmoothingConfig(n_samples=8, batch_size=4, precision="bf16"))
    assert r.fidelity is not None and not r.fidelity["passed"] and r.precision == "fp32"
    exact = smooth_attribution(Fragile(), x, 1, SmoothingConfig(n_samples=8, batch_size=4))
    np.testing.assert_allclose(r.mean, exact.mean, rtol=1e-6)


def test_noise_of_a_sample_does_not_depend_on_how_indices_are_grouped():
    from smoothgrad_desktop.core.smoothing import NoiseSource, noise_block_size

    shape = (3, 40, 40)
    assert noise_block_size(shape) == 16 and noise_block_size((3, 1024, 1024)) == 1
    whole = NoiseSource(shape, 4, torch.device("cpu")).take(range(40))
    pieces = NoiseSource(shape, 4, torch.device("cpu"))
    parts = torch.cat([pieces.take(range(a, b)) for a, b in ((0, 3), (3, 20), (20, 33), (33, 40))])
    assert torch.equal(whole, parts)
    scattered = NoiseSource(shape, 4, torch.device("cpu")).take([37, 2, 17, 2])
    assert torch.equal(scattered, whole[[37, 2, 17, 2]])
    other = NoiseSource(shape, 5, torch.device("cpu")).take(range(40))
    assert not torch.equal(other, whole)
    # distinct samples get independent-looking noise: standard normal moments, near-zero correlation
    flat = whole.flatten(1).double()
    assert abs(flat.mean()) < 0.01 and abs(flat.std() - 1) < 0.01
    corr = torch.corrcoef(flat[:16])
    assert (corr - torch.eye(16, dtype=corr.dtype)).abs().max() < 0.05


@pytest.mark.parametrize("spec,weights", [("resnet18", "random"), ("default", None), ("mnist-noise", None)])
def test_cnns_load_channels_last_on_cpu(spec, weights):
    """oneDNN runs NHWC convolutions faster on CPUs; the embedded MNIST CNNs were left NCHW (their n = 50 run took
    ~1.4x as long)."""
    from smoothgrad_desktop.core.models import load_model

    model = load_model(spec, weights, device="cpu")
    assert uses_channels_last(model.module)


def test_torchvision_models_load_with_batch_norm_folded_and_the_same_gradients():
    from smoothgrad_desktop.core.models import load_model
    from smoothgrad_desktop.core.models.torchvision_models import fold_batch_norm

    torch.manual_seed(0)
    plain = torchvision.models.resnet18(weights=None).eval().requires_grad_(False)
    with torch.no_grad():  # non-trivial running statistics, so folding has something to fold
        for m in plain.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
    folded = fold_batch_norm(plain)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())  # the original is untouched
    x = torch.randn(3, 64, 64)
    cfg = SmoothingConfig(n_samples=4, batch_size=4, seed=2)
    a = smooth_attribution(plain, x, 1, cfg).mean
    b = smooth_attribution(folded, x, 1, cfg).mean
    assert np.abs(a - b).mean() < 1e-4 * np.abs(a).mean() + 1e-12
    model = load_model("resnet18", "random", device="cpu")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.module.modules())
