"""Sampling until converged (``n_samples="auto"``) against a model whose gradient variance is known in closed form,
and several inputs batched together against one input at a time."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from smoothgrad_desktop.core import schema
from smoothgrad_desktop.core.errors import AttributionError
from smoothgrad_desktop.core.smoothing import SmoothingConfig, smooth_attribution, smooth_many


class Quadratic(torch.nn.Module):
    """``S_0(x) = sum_j a_j x_j^2 / 2 + b_j x_j`` (class 1 is ``-S_0``). Its gradient at ``x + sigma * eps`` is
    ``a x + b + sigma a eps``: mean ``g0 = a x + b``, per-element variance ``sigma^2 a^2``, so the relative standard
    error of the mean of ``k`` gradients is ``sigma ||a||_2 / (sqrt(k) ||g0||_2)`` and the tolerance ``T`` is met
    from ``k* = (sigma ||a|| / (T ||g0||))^2`` samples on."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor) -> None:
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = (0.5 * self.a * x * x + self.b * x).flatten(1).sum(1)
        return torch.stack([s, -s], dim=1)


def _problem(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    shape = (3, 16, 16)
    a = 0.5 + 1.5 * torch.rand(shape, generator=g, dtype=torch.float64)
    b = torch.ones(shape, dtype=torch.float64)
    x = torch.rand(shape, generator=g, dtype=torch.float64)
    x.view(-1)[0], x.view(-1)[1] = 0.0, 1.0  # range exactly 1, so sigma == noise_level
    return Quadratic(a.float(), b.float()), x.float(), a, b, x


def predicted_n(a, b, x, sigma: float, tol: float) -> float:
    g0 = a * x + b
    return (sigma * float(a.norm()) / (tol * float(g0.norm()))) ** 2


@pytest.mark.parametrize("tol", [0.05, 0.1])
def test_auto_stops_at_the_n_the_known_variance_predicts(tol):
    model, x, a, b, x64 = _problem()
    level = 1.1
    expected = predicted_n(a, b, x64, level, tol)
    assert 40 < expected < 400  # the test's own premise: well inside (MIN_AUTO_SAMPLES, cap)
    cfg = SmoothingConfig(n_samples="auto", tolerance=tol, max_samples=2000, noise_level=level, batch_size=1, seed=7)
    r = smooth_attribution(model, x, 0, cfg)
    assert r.sigma == pytest.approx(level)
    assert r.converged is True
    assert abs(r.n - expected) <= max(3, 0.05 * expected), (r.n, expected)
    assert r.relative_error <= tol
    # the error achieved is the closed form at the n reached
    closed = level * float(a.norm()) / (math.sqrt(r.n) * float((a * x64 + b).norm()))
    assert r.relative_error == pytest.approx(closed, rel=0.03)
    record = r.convergence_record()
    assert record["samples"] == "auto" and record["n"] == r.n and record["tolerance"] == tol
    assert record["converged"] is True and record["relative_standard_error"] == pytest.approx(r.relative_error)


def test_auto_stops_at_the_cap_and_says_it_did_not_converge():
    model, x, a, b, x64 = _problem()
    cfg = SmoothingConfig(n_samples="auto", tolerance=0.01, max_samples=40, noise_level=1.1, batch_size=8)
    assert predicted_n(a, b, x64, 1.1, 0.01) > 1000
    r = smooth_attribution(model, x, 0, cfg)
    assert r.n == 40 and r.converged is False and r.relative_error > 0.01


def test_a_fixed_n_is_unchanged_and_reports_its_error():
    model, x, a, b, x64 = _problem()
    r = smooth_attribution(model, x, 0, SmoothingConfig(n_samples=64, noise_level=1.1, batch_size=16))
    assert r.n == 64 and r.converged is None
    closed = 1.1 * float(a.norm()) / (8.0 * float((a * x64 + b).norm()))
    assert r.relative_error == pytest.approx(closed, rel=0.1)
    assert r.convergence_record() == {"samples": 64, "n": 64, "relative_standard_error": r.relative_error}


def test_schema_accepts_auto_and_bounds_the_tolerance():
    schema.check("n_samples", "auto")
    assert schema.coerce("n_samples", "auto", auto=True) == "auto"
    assert schema.coerce("n_samples", "auto") is None  # editors without the choice keep their default
    with pytest.raises(AttributionError):
        schema.check("n_samples", "often")
    for bad in (0.0, 2.0, float("nan")):
        with pytest.raises(AttributionError):
            schema.check("tolerance", bad)
    with pytest.raises(AttributionError):
        schema.check("max_samples", 5)
    with pytest.raises(AttributionError, match="over the limit"):  # the cap counts as the run's work
        SmoothingConfig(n_samples="auto", method="integrated-gradients", steps=10_000, max_samples=5000).validate()
    f = schema.BY_NAME["tolerance"]
    assert f.label and f.tip and f.lo > 0 and f.hi <= 1


def _mnist():
    from smoothgrad_desktop.core.models import load_model

    return load_model("default", device="cpu").module


@pytest.mark.parametrize("cfg", [
    SmoothingConfig(n_samples=50, seed=3),
    SmoothingConfig(n_samples=30, seed=1, batch_size=8, method="gradient-x-input", aggregation="vargrad"),
    SmoothingConfig(n_samples="auto", tolerance=0.08, seed=2, batch_size=8),
])
def test_several_inputs_batched_together_equal_one_at_a_time(cfg):
    net = _mnist()
    g = torch.Generator().manual_seed(0)
    xs = [torch.rand(1, 28, 28, generator=g) * (i + 1) / 6 for i in range(6)]
    targets = [i % 10 for i in range(6)]
    done = []
    many = smooth_many(net, xs, targets, cfg, group_rows=120, on_done=lambda i, r: done.append(i))
    assert sorted(done) == list(range(6))
    for x, t, r in zip(xs, targets, many):
        alone = smooth_attribution(net, x, t, cfg)
        assert r.n == alone.n and r.sigma == alone.sigma and r.evaluations == alone.evaluations
        np.testing.assert_array_equal(r.mean, alone.mean)
        np.testing.assert_array_equal(r.variance, alone.variance)
        np.testing.assert_array_equal(r.mean_sq, alone.mean_sq)
        assert r.relative_error == alone.relative_error and r.converged == alone.converged
    if cfg.n_samples == "auto":
        assert len({r.n for r in many}) > 1  # inputs stop independently


def test_batched_rows_keep_their_own_targets():
    """Each row's gradient is of its own input's class: two inputs with different targets batched together give
    the gradients torch.autograd gives each alone."""
    net = _mnist()
    x = torch.rand(1, 28, 28, generator=torch.Generator().manual_seed(5))
    cfg = SmoothingConfig(aggregation="none")
    r3, r7 = smooth_many(net, [x, x], [3, 7], cfg, group_rows=8)
    for r, t in ((r3, 3), (r7, 7)):
        xg = x.unsqueeze(0).clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(net(xg)[0, t], xg)
        np.testing.assert_allclose(r.mean, grad[0].numpy(), rtol=1e-4, atol=1e-6)
    assert not np.allclose(r3.mean, r7.mean)


def test_smooth_many_refuses_mixed_shapes():
    net = _mnist()
    with pytest.raises(AttributionError, match="one shape"):
        smooth_many(net, [torch.rand(1, 28, 28), torch.rand(1, 28, 56)], [0, 0])
