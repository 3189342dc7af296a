"""Base methods and smoothing against closed forms and independent references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from smoothgrad_desktop.core.errors import AttributionError
from smoothgrad_desktop.core.methods import METHODS, MethodContext, guided_backprop, quadrature
from smoothgrad_desktop.core.smoothing import (
    SmoothingConfig,
    StreamingMoments,
    noise_sigma,
    smooth_attribution,
)


class Linear(nn.Module):
    def __init__(self, shape=(3, 5, 4), classes=4, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.shape = shape
        self.weight = nn.Parameter(torch.randn(classes, int(np.prod(shape)), generator=g), requires_grad=False)
        self.bias = nn.Parameter(torch.randn(classes, generator=g), requires_grad=False)

    def forward(self, x):
        return x.flatten(1) @ self.weight.T + self.bias


class SinSum(nn.Module):
    """S_0 = sum_i sin(a x_i); S_1 = -S_0. E[dS_0/dx_i (x + eps)] = a cos(a x_i) exp(-a^2 sigma^2 / 2)."""

    def __init__(self, a):
        super().__init__()
        self.a = a

    def forward(self, x):
        s = torch.sin(self.a * x).flatten(1).sum(1, keepdim=True)
        return torch.cat([s, -s], dim=1)


@pytest.mark.parametrize("aggregation", ["none", "smoothgrad"])
def test_linear_gradient_is_the_weight(aggregation):
    model = Linear()
    x = torch.rand(3, 5, 4)
    r = smooth_attribution(model, x, 2, SmoothingConfig(aggregation=aggregation, n_samples=13, batch_size=4))
    np.testing.assert_allclose(r.attribution, model.weight[2].view(3, 5, 4).numpy(), rtol=1e-6, atol=1e-6)
    # the gradient of a linear model does not vary: VarGrad is exactly 0 and SG^2 = w^2
    np.testing.assert_allclose(r.variance, 0.0, atol=1e-10)
    np.testing.assert_allclose(r.mean_sq, model.weight[2].view(3, 5, 4).numpy() ** 2, rtol=1e-5)


def test_gradient_x_input_on_linear_model():
    model = Linear()
    x = torch.rand(3, 5, 4)
    r = smooth_attribution(model, x, 1, SmoothingConfig(method="gradient-x-input", aggregation="none"))
    np.testing.assert_allclose(r.attribution, (x * model.weight[1].view(3, 5, 4)).numpy(), rtol=1e-5, atol=1e-7)


def test_smoothgrad_matches_closed_form_noisy_expectation():
    a = 3.0
    x = torch.rand(1, 12, 12) * 2 - 1
    cfg = SmoothingConfig(noise_level=0.2, n_samples=3000, seed=11, batch_size=512)
    r = smooth_attribution(SinSum(a), x, 0, cfg)
    sigma = noise_sigma(x, 0.2)
    assert r.sigma == pytest.approx(sigma)
    assert sigma == pytest.approx(0.2 * float(x.max() - x.min()))
    expected = (a * torch.cos(a * x.double()) * math.exp(-a * a * sigma * sigma / 2)).numpy()
    z = np.abs(r.mean - expected) / r.standard_error
    assert np.mean(z < 3) > 0.98  # ~99.7 % expected within 3 standard errors
    assert z.max() < 5.5
    # and it is clearly different from the raw gradient (the smoothing is doing something)
    raw = (a * torch.cos(a * x)).numpy()
    assert np.abs(r.mean - raw).mean() > 5 * r.standard_error.mean()
    # the variance matches Var[a cos(a(x+e))] = a^2 (1 + e^{-2a^2 s^2} cos(2ax))/2 - E^2
    var = a * a * (1 + np.exp(-2 * a * a * sigma * sigma) * np.cos(2 * a * x.double().numpy())) / 2 - expected ** 2
    np.testing.assert_allclose(r.variance, var, atol=0.15 * a * a * 0.5)


def test_vargrad_is_population_variance_and_nonnegative():
    model = SinSum(5.0)
    x = torch.rand(1, 6, 6)
    seen = []
    cfg = SmoothingConfig(noise_level=0.3, n_samples=37, batch_size=5, seed=2)
    r = smooth_attribution(model, x, 0, cfg, on_batch=lambda idx, a: seen.append(a.double().clone()))
    allsamples = torch.cat(seen).numpy()
    assert allsamples.shape[0] == 37
    np.testing.assert_allclose(r.mean, allsamples.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r.variance, allsamples.var(0, ddof=0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(r.mean_sq, (allsamples ** 2).mean(0), rtol=1e-5, atol=1e-6)
    assert (r.variance >= 0).all()


def test_streaming_moments_no_cancellation_for_large_offsets():
    # E[a^2] - E[a]^2 in float32 would be destroyed by an offset of 1e4; Welford/Chan keeps it
    rng = np.random.default_rng(0)
    data = 1e4 + rng.standard_normal((200, 10)).astype(np.float32)
    m = StreamingMoments((10,), torch.device("cpu"), torch.float32)
    for chunk in np.array_split(data, 7):
        m.update(torch.from_numpy(chunk))
    np.testing.assert_allclose(m.variance.numpy(), data.astype(np.float64).var(0), rtol=2e-2)
    naive = (data ** 2).mean(0) - data.mean(0) ** 2  # float32
    assert np.abs(naive - data.astype(np.float64).var(0)).max() > 0.1  # the trap is real


@pytest.mark.parametrize("method", list(METHODS))
def test_batch_size_invariance_and_seed_reproducibility(method):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3)).eval()
    x = torch.rand(2, 6, 6)
    base = dict(method=method, n_samples=9, steps=4, seed=5)
    r1 = smooth_attribution(net, x, 1, SmoothingConfig(batch_size=1, **base))
    r2 = smooth_attribution(net, x, 1, SmoothingConfig(batch_size=7, **base))
    r3 = smooth_attribution(net, x, 1, SmoothingConfig(batch_size=7, **base))
    np.testing.assert_allclose(r1.mean, r2.mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r1.variance, r2.variance, rtol=1e-4, atol=1e-6)
    assert np.array_equal(r2.mean, r3.mean)
    other = smooth_attribution(net, x, 1, SmoothingConfig(batch_size=7, **{**base, "seed": 6}))
    assert not np.allclose(other.mean, r2.mean)


@pytest.mark.parametrize("rule", ["gauss-legendre", "riemann-right", "riemann-middle", "trapezoid"])
def test_quadrature_rules_integrate_polynomials(rule):
    alphas, weights = quadrature(rule, 64)
    assert weights.sum() == pytest.approx(1.0)
    assert np.all((alphas >= 0) & (alphas <= 1))
    tol = 1e-12 if rule == "gauss-legendre" else 2e-2
    assert np.dot(weights, alphas ** 3) == pytest.approx(0.25, abs=tol)


def test_integrated_gradients_completeness_on_a_cnn():
    torch.manual_seed(1)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.Softplus(), nn.Conv2d(8, 8, 3, padding=1), nn.Tanh(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, 5),
    ).eval()
    x = torch.rand(3, 8, 8)
    baseline = torch.full_like(x, -0.5)
    r = smooth_attribution(net, x, 3, SmoothingConfig(method="integrated-gradients", aggregation="none", steps=50,
                                                       batch_size=16), baseline=baseline)
    with torch.no_grad():
        delta = (net(x[None]) - net(baseline[None]))[0, 3].item()
    assert abs(r.attribution.sum() - delta) <= 0.01 * abs(delta)


def test_integrated_gradients_completeness_on_relu_net_riemann():
    torch.manual_seed(2)
    net = nn.Sequential(nn.Flatten(), nn.Linear(48, 32), nn.ReLU(), nn.Linear(32, 4)).eval()
    x = torch.rand(3, 4, 4)
    r = smooth_attribution(net, x, 0, SmoothingConfig(method="integrated-gradients", aggregation="none", steps=300,
                                                       quadrature="riemann-middle"))
    with torch.no_grad():
        delta = (net(x[None]) - net(torch.zeros_like(x)[None]))[0, 0].item()
    assert abs(r.attribution.sum() - delta) <= 0.01 * abs(delta)


def test_integrated_gradients_matches_captum():
    import captum.attr as captum
    torch.manual_seed(3)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Softplus(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)).eval()
    x = torch.rand(1, 6, 6)
    ours = smooth_attribution(net, x, 2, SmoothingConfig(method="integrated-gradients", aggregation="none", steps=20))
    theirs = captum.IntegratedGradients(net).attribute(x[None], target=2, n_steps=20, method="gausslegendre")
    np.testing.assert_allclose(ours.attribution, theirs[0].detach().numpy(), rtol=1e-4, atol=1e-6)


class FunctionalReLUNet(nn.Module):
    """Uses F.relu, torch.relu and Tensor.relu — the calls Captum's GuidedBackprop cannot see."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(4)
        self.c1 = nn.Conv2d(1, 6, 3, padding=1)
        self.c2 = nn.Conv2d(6, 6, 3, padding=1)
        self.fc = nn.Linear(6 * 5 * 5, 3)

    def forward(self, x):
        h = F.relu(self.c1(x), inplace=True)
        h = torch.relu(self.c2(h))
        return self.fc(h.flatten(1)).relu() - 0.1 * self.fc(h.flatten(1))


class ModuleReLUNet(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(4)
        self.body = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(6, 6, 3, padding=1),
                                  nn.ReLU(), nn.Flatten(), nn.Linear(6 * 5 * 5, 3))

    def forward(self, x):
        return self.body(x)


def _guided_reference(net_layers, x, target):
    """An independent guided backprop: an explicit forward pass recording ReLU masks, and a hand-written backward."""
    conv1, _, conv2, _, _, fc = net_layers
    x = x.clone().requires_grad_(False)
    z1 = conv1(x)
    a1 = z1.clamp(min=0)
    z2 = conv2(a1)
    a2 = z2.clamp(min=0)
    g = fc.weight[target].view(1, *a2.shape[1:])  # dS/da2
    g = g.clamp(min=0) * (z2 > 0)  # guided ReLU 2
    g = torch.nn.grad.conv2d_input(a1.shape, conv2.weight, g, padding=1)
    g = g.clamp(min=0) * (z1 > 0)  # guided ReLU 1
    return torch.nn.grad.conv2d_input(x.shape, conv1.weight, g, padding=1)


def test_guided_backprop_matches_independent_reference():
    net = ModuleReLUNet().eval()
    x = torch.randn(1, 1, 5, 5)
    ours = guided_backprop(net, x, 1, context=MethodContext())
    with torch.no_grad():
        ref = _guided_reference(list(net.body), x, 1)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)
    import captum.attr as captum
    theirs = captum.GuidedBackprop(net).attribute(x, target=1)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_guided_backprop_guides_functional_relus():
    net = FunctionalReLUNet().eval()
    x = torch.randn(4, 1, 5, 5)
    plain = METHODS["gradient"](net, x, 0, context=MethodContext())
    guided = guided_backprop(net, x, 0, context=MethodContext())
    assert not torch.allclose(plain, guided)
    # where guided backprop differs from Captum's (which ignores functional ReLUs), ours is the guided one:
    import captum.attr as captum
    theirs = captum.GuidedBackprop(net).attribute(x, target=0)
    assert torch.allclose(theirs, plain, atol=1e-6)  # Captum's known trap: plain gradient
    # and the functional net written with modules gives the same guided map as our functional one
    assert torch.isfinite(guided).all()


def test_guided_backprop_equals_modules_version_of_the_same_network():
    mod = ModuleReLUNet().eval()

    class Functional(nn.Module):
        def forward(self, x):
            b = mod.body
            h = F.relu(b[0](x))
            h = b[2](h).relu()
            return b[5](h.flatten(1))

    x = torch.randn(3, 1, 5, 5)
    a = guided_backprop(mod, x, 2, context=MethodContext())
    b = guided_backprop(Functional().eval(), x, 2, context=MethodContext())
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_guided_backprop_on_torchvision_inception_blocks_is_not_the_gradient():
    from torchvision.models.inception import BasicConv2d

    torch.manual_seed(0)
    net = nn.Sequential(BasicConv2d(3, 8, kernel_size=3), BasicConv2d(8, 8, kernel_size=3), nn.Flatten(),
                        nn.Linear(8 * 4 * 4, 3)).eval()
    x = torch.randn(2, 3, 8, 8)
    plain = METHODS["gradient"](net, x, 1, context=MethodContext())
    guided = guided_backprop(net, x, 1, context=MethodContext())
    assert not torch.allclose(plain, guided)


def test_guided_backprop_refuses_models_without_relu():
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2)).eval()
    with pytest.raises(AttributionError, match="no ReLU"):
        guided_backprop(net, torch.rand(1, 1, 2, 2), 0, context=MethodContext())


def test_gradient_equals_captum_saliency_on_resnet18():
    import captum.attr as captum
    import torchvision

    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None).eval()
    x = torch.randn(3, 64, 64)
    ours = smooth_attribution(net, x, 7, SmoothingConfig(aggregation="none"))
    theirs = captum.Saliency(net).attribute(x[None].clone(), target=7, abs=False)
    np.testing.assert_allclose(ours.attribution, theirs[0].numpy(), rtol=1e-4, atol=1e-7)
    # and SmoothGrad equals Captum's NoiseTunnel with the same absolute sigma and the same noise
    # is not checkable sample by sample (different RNG streams), so compare the plain gradient only.


def test_bad_target_and_bad_config():
    model = Linear()
    with pytest.raises(AttributionError, match="out of range"):
        smooth_attribution(model, torch.rand(3, 5, 4), 9, SmoothingConfig(aggregation="none"))
    with pytest.raises(AttributionError):
        smooth_attribution(model, torch.rand(3, 5, 4), 0, SmoothingConfig(noise_level=float("nan")))
    with pytest.raises(AttributionError):
        smooth_attribution(model, torch.rand(3, 5, 4), 0, SmoothingConfig(n_samples=0))


def test_nan_scores_give_a_clear_error():
    class Bad(nn.Module):
        def forward(self, x):
            return x.flatten(1)[:, :3] * float("nan")

    with pytest.raises(AttributionError, match="not finite"):
        smooth_attribution(Bad(), torch.rand(1, 3, 3), 0, SmoothingConfig(n_samples=2))
