"""The convergence curve: every point, the last one included, is the relative change over the same step k."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from smoothgrad_desktop.core.smoothing import NoiseSource, SmoothingConfig, noise_sigma, smooth_attribution


class Quadratic(torch.nn.Module):
    """S_0(x) = 0.5 * sum(w * x**2), S_1 = 0: the input gradient of class 0 is w * x, so the SmoothGrad running
    mean has a closed form, mean_n = w * (x + sigma * mean of the first n noise draws)."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("w", w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = 0.5 * (self.w * x * x).flatten(1).sum(1)
        return torch.stack([s0, torch.zeros_like(s0)], dim=1)


@pytest.mark.parametrize("n,batch", [(50, 16), (20, 16), (48, 16), (37, 5)])
def test_every_convergence_point_uses_the_same_step(n, batch):
    torch.manual_seed(0)
    x = torch.rand(1, 6, 6, dtype=torch.float32)
    w = torch.rand(1, 6, 6) + 0.5
    model = Quadratic(w).eval()
    cfg = SmoothingConfig(method="gradient", aggregation="smoothgrad", noise_level=0.5, n_samples=n, seed=7,
                          batch_size=batch)
    result = smooth_attribution(model, x, 0, cfg)
    points = result.convergence
    assert points, "no convergence points"
    assert points[-1][0] == n  # the curve reaches n
    # closed-form running means from the same noise draws (one per sample index)
    sigma = noise_sigma(x, 0.5)
    eps = NoiseSource(x.shape, 7, torch.device("cpu")).take(list(range(n))).double()
    wd, xd = w.double(), x.double()

    def mean(m: int) -> torch.Tensor:
        return wd * (xd + sigma * eps[:m].mean(0))

    k = batch  # one sample per model row for the plain gradient
    for m, value in points:
        assert m - k >= 1
        expected = float(torch.linalg.vector_norm(mean(m) - mean(m - k)) / torch.linalg.vector_norm(mean(m)))
        assert value == pytest.approx(expected, rel=1e-4), (m, value, expected)
    np.testing.assert_allclose(result.mean, mean(n).float().numpy(), rtol=1e-5, atol=1e-6)
