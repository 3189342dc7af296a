"""No file for a non-finite map: every aggregation, every array written."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from smoothgrad_desktop.cli import main
from smoothgrad_desktop.core.errors import AttributionError, ExportError
from smoothgrad_desktop.core.export import npy_bytes
from smoothgrad_desktop.core.smoothing import SmoothingConfig, smooth_attribution


class Huge(nn.Module):
    """Scores 0.5e20 * sum(x^2) per class: the gradient is 1e20 * x, finite in float32, its square is not."""

    def forward(self, x):
        s = 0.5e20 * x.flatten(1).square().sum(1, keepdim=True)
        return torch.cat([s, -s], dim=1)


@pytest.mark.parametrize("aggregation", ["smoothgrad", "smoothgrad-sq", "vargrad", "none"])
def test_gradients_near_1e20_give_no_map_for_any_aggregation(aggregation):
    x = torch.rand(1, 6, 6) + 0.5
    config = SmoothingConfig(aggregation=aggregation, n_samples=8, seed=0)
    with pytest.raises(AttributionError, match="not finite") as info:
        smooth_attribution(Huge(), x, 0, config)
    assert "\n" not in str(info.value)


def test_a_scaled_down_model_is_still_fine():  # the check is about float32, not about large models
    class Big(Huge):
        def forward(self, x):
            return super().forward(x) * 1e-5

    result = smooth_attribution(Big(), torch.rand(1, 6, 6) + 0.5, 0, SmoothingConfig(aggregation="vargrad",
                                                                                      n_samples=8))
    assert np.all(np.isfinite(result.mean_sq)) and np.all(np.isfinite(result.variance))


@pytest.mark.parametrize("smooth", ["smoothgrad-sq", "vargrad"])
def test_the_cli_writes_no_file_for_an_overflowing_map(tmp_path, capsys, smooth):
    path = tmp_path / "huge.pt"
    torch.jit.script(Huge()).save(str(path))
    image = tmp_path / "x.npy"
    np.save(image, (np.random.default_rng(0).random((1, 6, 6)) + 0.5).astype(np.float32))
    code = main(["compute", str(image), "--out", str(tmp_path / "o"), "--model", str(path), "--smooth", smooth,
                 "--samples", "4"])
    err = capsys.readouterr().err
    assert code == 1 and "not finite" in err and len(err.strip().splitlines()) == 1
    assert list((tmp_path / "o").iterdir()) == []


def test_no_nonfinite_array_is_ever_encoded():
    for bad in (np.array([1.0, np.inf], np.float32), np.array([[np.nan]]), np.full(3, -np.inf)):
        with pytest.raises(ExportError, match="NaN/infinite"):
            npy_bytes(bad)
    assert npy_bytes(np.arange(3))  # integers and finite floats are fine
    assert npy_bytes(np.array([np.nan]), allow_nonfinite=True)
