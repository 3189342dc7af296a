"""Trust tools against cases whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from smoothgrad_desktop.core.errors import AttributionError
from smoothgrad_desktop.core.explain import explain, prepare_input
from smoothgrad_desktop.core.images import load_input
from smoothgrad_desktop.core.models import load_model
from smoothgrad_desktop.core.resources import sample_images
from smoothgrad_desktop.core.session import Session, SessionError, session_for
from smoothgrad_desktop.core.smoothing import SmoothingConfig, smooth_attribution
from smoothgrad_desktop.core.trust import (
    PixelProbe,
    auc,
    cascading_randomization,
    gaussian_blur,
    perturbation_curves,
    pixel_order,
    random_target_test,
    rank_correlation,
)
from smoothgrad_desktop.core.visualize import reduce_channels


def test_rank_correlation_closed_forms():
    a = np.arange(10.0)
    assert rank_correlation(a, a ** 3) == pytest.approx(1.0)
    assert rank_correlation(a, -a) == pytest.approx(-1.0)
    # hand-computed with ties: ranks (0.5, 0.5, 2, 3) vs (0, 1, 2, 3) -> rho = 0.9486832980505138
    assert rank_correlation(np.array([1, 1, 2, 3.0]), np.array([1, 2, 3, 4.0])) == pytest.approx(0.9486832980505138)
    assert rank_correlation(np.ones(5), a[:5]) == 0.0


def test_auc_and_pixel_order():
    f = np.linspace(0, 1, 11)
    assert auc(f, f) == pytest.approx(0.5)
    assert auc(f, np.ones(11)) == pytest.approx(1.0)
    rank = pixel_order(np.array([[0.1, 0.9], [0.5, 0.5]]))
    assert rank.tolist() == [[3, 0], [1, 2]]


class LinearScore(nn.Module):
    """S_0 = sum(w * x), S_1 = 0: the probability of class 0 is sigmoid(S_0); relevance is exactly w * x."""

    def __init__(self, w):
        super().__init__()
        self.w = w

    def forward(self, x):
        s = (x * self.w).flatten(1).sum(1)
        return torch.stack([s, torch.zeros_like(s)], 1)


def test_deletion_of_gradient_x_input_beats_random_on_a_linear_model():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 16, 16, generator=g)
    w = torch.randn(1, 16, 16, generator=g) * 0.02
    w[:, 4:9, 4:9] += 0.15  # a relevant patch; scores stay in sigmoid's unsaturated range
    model = LinearScore(w)
    attr = smooth_attribution(model, x, 0, SmoothingConfig(method="gradient-x-input", aggregation="none")).attribution
    np.testing.assert_allclose(attr, (w * x).numpy(), rtol=1e-5)  # the true relevance
    result = perturbation_curves(model, x, 0, reduce_channels(attr, "signed"), steps=64)
    deletion, deletion_random = result.curves[("deletion", "attribution")], result.curves[("deletion", "random")]
    assert deletion.auc < deletion_random.auc - 0.1
    insertion, insertion_random = result.curves[("insertion", "attribution")], result.curves[("insertion", "random")]
    assert insertion.auc > insertion_random.auc
    # end points: nothing changed at fraction 0, everything at fraction 1
    with torch.no_grad():
        p0 = torch.sigmoid((x * w).sum()).item()
        p_base = torch.sigmoid(torch.zeros(())).item()
    assert deletion.probabilities[0] == pytest.approx(p0, abs=1e-6)
    assert deletion.probabilities[-1] == pytest.approx(p_base, abs=1e-6)
    assert insertion.probabilities[-1] == pytest.approx(p0, abs=1e-6)
    # the scrubber's image at 25 % deletion has exactly the top quarter of pixels replaced
    img = result.image_at(x, "deletion", 0.25)
    changed = (img != x).any(0)
    top = torch.as_tensor(result.rank) < 64
    assert torch.equal(changed, top & (x[0] != 0))


def test_gaussian_blur_preserves_constants_and_smooths():
    x = torch.full((2, 9, 11), 3.0)
    assert torch.allclose(gaussian_blur(x, 2.0), x)
    spike = torch.zeros(1, 15, 15)
    spike[0, 7, 7] = 1
    blurred = gaussian_blur(spike, 1.5)
    assert blurred.sum().item() == pytest.approx(1.0, abs=1e-5) and blurred.max() < 0.2


@pytest.fixture(scope="module")
def mnist():
    model = load_model("default", device="cpu")
    image = load_input(next(p for p in sample_images() if p.name.startswith("digit")))
    return model, prepare_input(model, image)


def test_cascading_randomization_destroys_the_map(mnist):
    model, prepared = mnist
    result = cascading_randomization(model.module, prepared.x, 7, SmoothingConfig(n_samples=16), seed=1)
    assert len(result.layers) == 4 and result.layers[0].startswith("head")  # top layer first
    assert abs(result.spearman_abs[-1]) < 0.3  # every layer random: the rank correlation falls near zero
    assert abs(result.spearman_signed[-1]) < 0.3
    # the original model is untouched: the same map as before
    a = smooth_attribution(model.module, prepared.x, 7, SmoothingConfig(n_samples=4)).attribution
    b = smooth_attribution(load_model("default", device="cpu").module, prepared.x, 7, SmoothingConfig(n_samples=4))
    assert np.array_equal(a, b.attribution)


def test_identity_randomization_would_be_detected(mnist):
    """Control: with zero layers randomised the correlation is 1, so the test above can fail."""
    model, prepared = mnist
    a = smooth_attribution(model.module, prepared.x, 7, SmoothingConfig(n_samples=16)).attribution
    assert rank_correlation(reduce_channels(a, "absolute"), reduce_channels(a, "absolute")) == pytest.approx(1.0)


def test_random_target_test(mnist):
    model, prepared = mnist
    result = random_target_test(model.module, prepared.x, 7, SmoothingConfig(n_samples=8), seed=3)
    assert result["random_target"] != 7 and 0 <= result["random_target"] < 10
    assert -1 <= result["spearman_abs"] <= 1


def test_sanity_checks_refuse_torchscript(tmp_path):
    net = torch.jit.script(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)))
    with pytest.raises(AttributionError, match="TorchScript"):
        cascading_randomization(net, torch.rand(1, 2, 2), 0)


def test_pixel_probe_mean_is_the_map_value(mnist):
    model, prepared = mnist
    pixels = [(14, 14), (3, 20)]
    probe = PixelProbe(pixels)
    result = smooth_attribution(model.module, prepared.x, 7, SmoothingConfig(n_samples=30, batch_size=7),
                                on_batch=probe)
    for y, x in pixels:
        stats = probe.stats((y, x))
        assert stats["n"] == 30
        assert stats["mean"] == pytest.approx(float(result.mean[:, y, x].sum()), rel=1e-5, abs=1e-9)
        expected_se = float(np.sqrt(result.variance[:, y, x].sum() * 30 / 29 / 30))
        assert stats["standard_error"] == pytest.approx(expected_se, rel=1e-4)  # 1 channel: same variance
    assert sorted(probe.indices) == list(range(30))


def test_session_round_trip_reproduces_maps_bit_for_bit(tmp_path):
    model = load_model("default", device="cpu")
    paths = [p for p in sample_images()][:2]
    config = SmoothingConfig(n_samples=12, seed=5, batch_size=5, method="integrated-gradients", steps=4)
    first = [explain(model, load_input(p), config).result.attribution for p in paths]
    session = session_for(model, paths, config, device="cpu", display={"view": "signed"})
    path = session.save(tmp_path / "s.sgsession")
    again = Session.load(path)
    assert again.check_files() == [] and again.display == {"view": "signed"} and again.config == config
    model2 = load_model(again.model_spec, again.weights, again.device)
    assert model2.weights_sha256 == again.weights_sha256
    second = [explain(model2, load_input(p), again.config, target=again.target).result.attribution
              for p in again.images]
    for a, b in zip(first, second):
        assert np.array_equal(a, b)
    # a changed image is reported, not silently used
    changed = tmp_path / "img.png"
    changed.write_bytes(paths[0].read_bytes())
    s2 = session_for(model, [changed], config, device="cpu")
    changed.write_bytes(paths[1].read_bytes())
    assert any("changed" in line for line in s2.check_files())
    (tmp_path / "bad.sgsession").write_text('{"format": "other"}')
    with pytest.raises(SessionError, match="not a SmoothGrad Desktop session"):
        Session.load(tmp_path / "bad.sgsession")
