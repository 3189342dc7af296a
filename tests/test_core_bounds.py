"""Bounded work: the model input after preprocessing (values and aspect ratio, checked before any resize), and
quadrature nodes computed in O(m) memory."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from smoothgrad_desktop.cli import main
from smoothgrad_desktop.core import schema
from smoothgrad_desktop.core.errors import AttributionError
from smoothgrad_desktop.core.explain import prepare_input
from smoothgrad_desktop.core.images import load_input
from smoothgrad_desktop.core.models import load_model
from smoothgrad_desktop.core.models.base import ImagePipeline


@pytest.fixture(scope="module")
def mnist():
    return load_model("default", device="cpu")


@pytest.mark.parametrize("size, fragment", [
    ((5000, 1), "28 × 140 000 px, aspect 5 000:1"),  # the embedded model scales every image to 28 px high
    ((2_000_000, 1), "aspect"),  # a 1-pixel-high PNG far below the pixel cap
    ((1, 5000), "stretch"),  # a 1-pixel-wide column stretched to a square
])
def test_thin_strips_are_refused_before_any_resize(mnist, tmp_path, size, fragment):
    path = tmp_path / "strip.png"
    Image.new("L", size, 128).save(path)
    image = load_input(path)
    t0 = time.perf_counter()
    with pytest.raises(AttributionError, match=fragment) as info:
        prepare_input(mnist, image)
    assert time.perf_counter() - t0 < 5  # refused, not resized
    assert str(info.value).startswith("strip.png: ") and "\n" not in str(info.value)


def test_the_cli_refuses_a_strip_in_one_line_and_computes_the_rest(tmp_path, capsys):
    Image.new("L", (5000, 1), 128).save(tmp_path / "strip.png")
    Image.new("L", (56, 28), 0).save(tmp_path / "pair.png")
    code = main(["compute", str(tmp_path / "strip.png"), str(tmp_path / "pair.png"), "--out", str(tmp_path / "o"),
                 "--samples", "2", "-q"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1 and "strip.png" in err and "aspect" in err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["pair.json", "pair.npy", "pair.png"]


def test_resizes_that_stretch_a_strip_are_refused_for_other_models_too():
    imagenet = ImagePipeline(channels=3, resize=("short", 256), crop=(224, 224))
    imagenet.check_size((640, 480), "photo.jpg")  # ordinary photos pass
    with pytest.raises(AttributionError, match="aspect"):
        imagenet.check_size((5000, 1), "strip.png")  # 256 x 1 280 000 before the crop
    exact = ImagePipeline(channels=3, resize=("exact", (224, 224)))
    exact.check_size((640, 480), "photo.jpg")
    with pytest.raises(AttributionError, match="stretch"):
        exact.check_size((5000, 1), "strip.png")


def test_too_many_values_are_refused_for_images_and_raw_inputs(mnist, tmp_path, monkeypatch):
    monkeypatch.setattr(schema, "MAX_INPUT_VALUES", 28 * 100)
    native = ImagePipeline(channels=3)
    with pytest.raises(AttributionError, match="3 × 40 × 40 = 4 800 values"):
        native.check_size((40, 40), "big.png")
    raw = tmp_path / "raw.npy"
    np.save(raw, np.zeros((3, 40, 40), np.float32))
    with pytest.raises(AttributionError, match="values"):
        prepare_input(mnist, load_input(raw))
    np.save(raw, np.zeros((1, 28, 28 * 30), np.float32))
    monkeypatch.setattr(schema, "MAX_INPUT_VALUES", 1 << 24)
    with pytest.raises(AttributionError, match="aspect 30:1"):
        prepare_input(mnist, load_input(raw))


def test_the_model_input_bounds_live_in_the_schema():
    assert schema.MAX_INPUT_VALUES == 1 << 24 and schema.MAX_INPUT_ASPECT == 20
    schema.check_model_input("ok", 3, 2364, 2364)
    with pytest.raises(AttributionError):
        schema.check_model_input("big", 3, 2365, 2365)


# ----------------------------------------------------------------------------------------------- quadrature


@pytest.mark.parametrize("m", [*range(1, 40), 64, 101, 250, 512])
def test_gauss_legendre_matches_numpy_for_moderate_m(m):
    from smoothgrad_desktop.core.methods.integrated_gradients import gauss_legendre

    x, w = gauss_legendre(m)
    ref_x, ref_w = np.polynomial.legendre.leggauss(m)
    np.testing.assert_allclose(x, ref_x, rtol=0, atol=1e-14)
    np.testing.assert_allclose(w, ref_w, rtol=1e-10, atol=1e-15)  # numpy's end weights are off by ~1e-11


def test_gauss_legendre_against_40_digit_arithmetic():
    import mpmath  # ships with torch (sympy)

    from smoothgrad_desktop.core.methods.integrated_gradients import gauss_legendre

    mpmath.mp.dps = 40
    m = 101
    x, w = gauss_legendre(m)
    for i in (0, 1, 25, 50, 99, 100):
        root = mpmath.findroot(lambda t: mpmath.legendre(m, t), mpmath.mpf(float(x[i])), tol=1e-30)
        slope = mpmath.diff(lambda t: mpmath.legendre(m, t), root)
        weight = 2 / ((1 - root ** 2) * slope ** 2)
        assert abs(float(x[i] - root)) < 1e-15
        assert abs(float((w[i] - weight) / weight)) < 1e-12


@pytest.mark.parametrize("m", [2000, 10_000])
def test_gauss_legendre_is_exact_for_polynomials_at_large_m_in_linear_memory(m):
    from smoothgrad_desktop.core.methods.integrated_gradients import gauss_legendre, quadrature

    tracemalloc.start()
    try:
        x, w = gauss_legendre(m)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * m  # a few arrays of m float64 (numpy's companion matrix would be 8 m^2 bytes)
    assert np.all(np.diff(x) > 0) and -1 < x[0] and x[-1] < 1 and np.all(w > 0)
    alphas, weights = (x + 1) / 2, w / 2
    for k in (0, 1, 2, 7, 100, m, 2 * m - 1):  # exact up to degree 2m - 1: the integral of a^k over [0, 1]
        assert alphas ** k @ weights == pytest.approx(1.0 / (k + 1), rel=1e-11, abs=1e-16), k
    # P_j P_k integrates to 2 / (2k + 1) delta_jk for j + k <= 2m - 1 (Legendre at a mid and a high degree)
    leg = np.polynomial.legendre.legval
    for j, k in ((5, 5), (5, 6), (m - 1, m - 1), (m - 1, m)):
        pj = leg(x, np.eye(j + 1)[j]) if j < 3000 else None
        if pj is not None:
            value = (pj * leg(x, np.eye(k + 1)[k])) @ w
            assert value == pytest.approx(2.0 / (2 * k + 1) if j == k else 0.0, abs=1e-11)
    a, b = quadrature("gauss-legendre", m)
    np.testing.assert_array_equal(a, alphas)
    np.testing.assert_array_equal(b, weights)
    a[:] = 0  # callers get copies: the cached rule stays intact
    assert quadrature("gauss-legendre", m)[0][0] > 0


def test_the_readme_states_the_bounds_of_the_schema():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for value in (schema.MAX_SAMPLES, schema.MAX_STEPS, schema.MAX_EVALUATIONS, schema.MAX_BATCH,
                  schema.MAX_INPUT_VALUES, schema.MAX_INPUT_SIDE):
        assert f"{value:,}" in text, value
    assert f"{schema.MAX_INPUT_ASPECT:g} : 1" in text
