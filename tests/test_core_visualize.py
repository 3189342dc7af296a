"""Display pipeline: channel reduction, capping, colour maps, overlays (closed forms, hand-computed examples)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from smoothgrad_desktop.core import visualize as V

REPO = Path(__file__).resolve().parents[1]
CMAP_DIR = REPO / "resources" / "colormaps"


def load_csv(name: str) -> np.ndarray:
    """Independent reader of the shipped CSV (comments start with ';')."""
    return np.loadtxt(CMAP_DIR / f"{name}.csv", delimiter=",", comments=";")


def to_u8(x) -> np.ndarray:
    return np.floor(np.asarray(x, dtype=np.float64) * 255 + 0.5).astype(np.uint8)


# ---------------------------------------------------------------------------------------------- reduction


A = np.array(
    [
        [[1.0, -2.0], [3.0, -4.0]],
        [[-5.0, 6.0], [0.0, 1.0]],
    ]
)  # (C=2, H=2, W=2)


def test_reduce_absolute_is_sum_of_abs():
    v = V.reduce_channels(A, "absolute")
    assert v.dtype == np.float32 and v.shape == (2, 2)
    np.testing.assert_array_equal(v, [[6.0, 8.0], [3.0, 5.0]])


def test_reduce_signed_is_sum():
    v = V.reduce_channels(A, "signed")
    np.testing.assert_array_equal(v, [[-4.0, 4.0], [3.0, -3.0]])


def test_reduce_is_not_captum_abs_of_sum():
    # |1 - 5| = 4 but |1| + |-5| = 6: the PAIR convention, not Captum's
    assert V.reduce_channels(A, "absolute")[0, 0] == 6.0


def test_multiply_by_input():
    x = np.array(
        [
            [[2.0, 0.0], [1.0, -1.0]],
            [[1.0, 1.0], [0.5, 3.0]],
        ]
    )
    # a*x = [[2, -0], [3, 4]] and [[-5, 6], [0, 3]]
    np.testing.assert_array_equal(
        V.reduce_channels(A, "signed", input=x, multiply_by_input=True), [[-3.0, 6.0], [3.0, 7.0]]
    )
    np.testing.assert_array_equal(
        V.reduce_channels(A, "absolute", input=x, multiply_by_input=True), [[7.0, 6.0], [3.0, 7.0]]
    )
    # the input is ignored unless asked for
    np.testing.assert_array_equal(V.reduce_channels(A, "signed", input=x), [[-4.0, 4.0], [3.0, -3.0]])


def test_multiply_by_input_errors():
    with pytest.raises(ValueError):
        V.reduce_channels(A, "absolute", multiply_by_input=True)
    with pytest.raises(ValueError):
        V.reduce_channels(A, "absolute", input=np.ones((3, 2, 2)), multiply_by_input=True)


def test_reduce_accepts_single_channel_and_rejects_bad_input():
    np.testing.assert_array_equal(V.reduce_channels(A[0], "absolute"), np.abs(A[0]))
    with pytest.raises(ValueError):
        V.reduce_channels(np.zeros((1, 2, 2, 2)), "absolute")
    with pytest.raises(ValueError):
        V.reduce_channels(A, "magnitude")


# ---------------------------------------------------------------------------------------------- capping


def test_cap_absolute_percentile_closed_form():
    v = np.arange(1, 101, dtype=np.float64).reshape(10, 10)
    capped, span = V.cap(v, "absolute", 99.0)
    assert span == pytest.approx(99.01)
    assert span == pytest.approx(float(np.percentile(v, 99)))
    np.testing.assert_allclose(capped, np.clip(v / 99.01, 0, 1), rtol=1e-6)
    assert capped.dtype == np.float32
    assert capped.max() == 1.0 and capped.min() >= 0.0
    assert capped.reshape(-1)[-1] == 1.0  # 100 > 99.01: clipped
    assert capped.reshape(-1)[-2] < 1.0  # 99 < 99.01


def test_cap_absolute_other_percentile():
    v = np.arange(1, 101, dtype=np.float64)
    capped, span = V.cap(v, "absolute", 90.0)
    assert span == pytest.approx(90.1)
    assert np.sum(capped == 1.0) == 10  # 91..100
    assert capped[0] == pytest.approx(1 / 90.1)


def test_cap_signed_percentile_closed_form():
    v = np.arange(-60, 40, dtype=np.float64)
    capped, span = V.cap(v, "signed", 95.0)
    expected_span = float(np.percentile(np.abs(v), 95))
    assert span == pytest.approx(expected_span)
    np.testing.assert_allclose(capped, np.clip(v / expected_span, -1, 1), rtol=1e-6)
    assert capped.min() == -1.0 and capped.max() < 1.0  # |39| < span; large negatives clip
    assert np.all(np.sign(capped) == np.sign(v))
    assert capped[v == 0] == 0.0


@pytest.mark.parametrize("view", V.VIEWS)
@pytest.mark.parametrize("mode", V.CLIP_MODES)
def test_all_zero_map_gives_zeros_and_no_nan(view, mode):
    with np.errstate(all="raise"):  # never divide by zero
        capped, span = V.cap(np.zeros((4, 5)), view, 99.0, mode=mode)
    assert span == 0.0
    assert capped.shape == (4, 5) and np.all(capped == 0) and np.all(np.isfinite(capped))
    rgba, span2 = V.render_view(np.zeros((3, 4, 5)), view, mode=mode)
    assert span2 == 0.0
    expected = V.COLORMAPS[V.default_cmap(view)].color_at(0.0 if view == "absolute" else 0.5)
    assert np.all(rgba[..., :3] == expected)


def test_non_finite_values_are_ignored_by_span_and_never_nan():
    v = np.array([1.0, 2.0, 3.0, np.nan, np.inf, -np.inf])
    capped, span = V.cap(v, "signed", 100.0)
    assert span == 3.0
    np.testing.assert_allclose(capped, [1 / 3, 2 / 3, 1.0, 0.0, 1.0, -1.0], rtol=1e-6)
    capped, span = V.cap(np.full(4, np.nan), "absolute")
    assert span == 0.0 and np.all(capped == 0)


def test_cumulative_mode_hand_example():
    v = np.array([[1.0, 2.0], [3.0, 4.0]])  # total 10, cumsum 1, 3, 6, 10
    capped, span = V.cap(v, "absolute", 60.0, mode="cumulative")
    assert span == 3.0  # 1+2+3 = 6 >= 60% of 10
    np.testing.assert_allclose(capped, [[1 / 3, 2 / 3], [1.0, 1.0]], rtol=1e-6)
    _, span = V.cap(v, "absolute", 61.0, mode="cumulative")
    assert span == 4.0
    _, span = V.cap(v, "absolute", 5.0, mode="cumulative")
    assert span == 1.0
    # signed: threshold over |v|, sign kept
    s = np.array([-1.0, 2.0, -3.0, 4.0])
    capped, span = V.cap(s, "signed", 60.0, mode="cumulative")
    assert span == 3.0
    np.testing.assert_allclose(capped, [-1 / 3, 2 / 3, -1.0, 1.0], rtol=1e-6)


def test_cumulative_differs_from_percentile():
    v = np.array([1.0] * 99 + [1000.0])  # one large value holds ~91% of the mass
    _, p_span = V.cap(v, "absolute", 50.0)
    _, c_span = V.cap(v, "absolute", 50.0, mode="cumulative")
    assert p_span == 1.0 and c_span == 1000.0


def test_two_tailed_scales_each_side_separately():
    pos = np.arange(1, 101, dtype=np.float64)
    v = np.concatenate([pos, -2 * pos, [0.0]])
    capped, span = V.cap(v, "signed", 99.0, mode="two-tailed")
    assert span == pytest.approx(198.02)  # the larger side
    np.testing.assert_allclose(capped[:100], np.clip(pos / 99.01, 0, 1), rtol=1e-6)
    np.testing.assert_allclose(capped[100:200], np.clip(-2 * pos / 198.02, -1, 0), rtol=1e-6)
    assert capped[-1] == 0.0  # zero stays at the centre
    assert capped[:100].max() == 1.0 and capped[100:200].min() == -1.0


def test_two_tailed_symmetric_map_equals_percentile():
    rng = np.random.default_rng(0)
    x = rng.exponential(size=500)
    v = np.concatenate([x, -x])
    c1, s1 = V.cap(v, "signed", 99.0, mode="two-tailed")
    c2, s2 = V.cap(v, "signed", 99.0)
    # P99 of one side vs P99 of |v| (the same values twice): equal
    assert s1 == pytest.approx(s2)
    np.testing.assert_allclose(c1, c2, atol=1e-6)


def test_two_tailed_one_sided_map_and_absolute_view():
    v = np.arange(1, 101, dtype=np.float64)
    c, s = V.cap(v, "signed", 99.0, mode="two-tailed")  # no negatives at all
    assert s == pytest.approx(99.01)
    assert np.all(c > 0)
    ca, sa = V.cap(v, "absolute", 99.0, mode="two-tailed")
    cp, sp = V.cap(v, "absolute", 99.0)
    assert sa == sp
    np.testing.assert_array_equal(ca, cp)


def test_shared_span_is_percentile_over_concatenation():
    a = np.arange(1, 51, dtype=np.float64).reshape(5, 10)
    b = 10 * np.arange(1, 26, dtype=np.float64).reshape(5, 5)
    both = np.concatenate([a.ravel(), b.ravel()])
    span = V.shared_span([a, b], "absolute", 99.0)
    assert span == pytest.approx(float(np.percentile(both, 99)))
    assert span != pytest.approx(V.cap(a, "absolute")[1])  # a locked scale is not a's own
    np.testing.assert_allclose(V.cap_with_span(a, "absolute", span), np.clip(a / span, 0, 1), rtol=1e-6)
    signed = [a - 25, -(b - 100)]
    s_span = V.shared_span(signed, "signed", 90.0)
    all_abs = np.abs(np.concatenate([m.ravel() for m in signed]))
    assert s_span == pytest.approx(float(np.percentile(all_abs, 90)))
    assert V.shared_span([], "absolute") == 0.0
    assert V.shared_span([np.zeros(3), np.zeros(4)], "signed") == 0.0


def test_cap_with_span_bounds_and_invalid_span():
    v = np.array([-4.0, -1.0, 0.0, 1.0, 4.0])
    np.testing.assert_allclose(V.cap_with_span(v, "signed", 2.0), [-1, -0.5, 0, 0.5, 1])
    np.testing.assert_allclose(V.cap_with_span(v, "absolute", 2.0), [0, 0, 0, 0.5, 1])
    for bad in (0.0, -1.0, np.nan, np.inf):
        out = V.cap_with_span(v, "signed", bad)
        assert np.all(out == 0) and np.all(np.isfinite(out))


def test_cap_argument_validation():
    with pytest.raises(ValueError):
        V.cap(np.ones(3), "absolute", 0.0)
    with pytest.raises(ValueError):
        V.cap(np.ones(3), "absolute", 101.0)
    with pytest.raises(ValueError):
        V.cap(np.ones(3), "absolute", mode="median")
    with pytest.raises(ValueError):
        V.cap(np.ones(3), "both")


@settings(max_examples=60, deadline=None)
@given(
    v=hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=st.floats(-1e6, 1e6)),
    p=st.floats(1.0, 100.0),
    mode=st.sampled_from(V.CLIP_MODES),
)
def test_capped_is_bounded_finite_and_sign_preserving(v, p, mode):
    cs, span = V.cap(v, "signed", p, mode=mode)
    assert np.all(np.isfinite(cs)) and np.all(cs >= -1) and np.all(cs <= 1)
    assert np.all(cs * v >= 0)  # never flips a sign
    assert span >= 0 and np.isfinite(span)
    ca, _ = V.cap(np.abs(v), "absolute", p, mode=mode)
    assert np.all(np.isfinite(ca)) and np.all(ca >= 0) and np.all(ca <= 1)


# ---------------------------------------------------------------------------------------------- colour maps


EXPECTED_KINDS = {
    "grey": "sequential",
    "viridis": "sequential",
    "inferno": "sequential",
    "CET-L3": "sequential",
    "CET-CBL2": "sequential",
    "CET-D1A": "diverging",
    "CET-D1": "diverging",
    "CET-CBD1": "diverging",
}


def test_colormap_names_and_kinds():
    assert {n: V.COLORMAPS[n].kind for n in V.COLORMAPS} == EXPECTED_KINDS
    # inferno, not the paper's grey: a grey overlay on a white-on-black digit is unreadable (grey stays available)
    assert V.DEFAULT_SEQUENTIAL == "inferno" and V.COLORMAPS[V.DEFAULT_SEQUENTIAL].kind == "sequential"
    assert "grey" in V.colormap_names("sequential")
    assert V.COLORMAPS[V.DEFAULT_DIVERGING].kind == "diverging"
    assert V.COLORMAPS[V.COLOR_BLIND_SAFE].kind == "diverging"
    assert V.colormap_names("diverging") == ["CET-D1A", "CET-D1", "CET-CBD1"]
    assert V.default_cmap("absolute") == "inferno" and V.default_cmap("signed") == "CET-D1A"
    with pytest.raises(ValueError):
        V.get_colormap("jet")
    with pytest.raises(KeyError):
        V.COLORMAPS["jet"]


@pytest.mark.parametrize("name", list(EXPECTED_KINDS))
def test_lut_shape_and_matches_csv(name):
    cm = V.COLORMAPS[name]
    assert cm.lut.shape == (256, 3) and cm.lut.dtype == np.uint8
    assert cm.description
    if name == "grey":
        np.testing.assert_array_equal(cm.lut[:, 0], np.arange(256))
        np.testing.assert_array_equal(cm.lut[:, 0], cm.lut[:, 2])
    else:
        csv = load_csv(name)
        assert csv.shape == (256, 3)
        np.testing.assert_array_equal(cm.lut, to_u8(csv))


def test_lut_spot_values():
    # first data row of viridis.csv: 0.267004,0.004874,0.329415; last of CET-D1A.csv: 0.400,0.028,0.009
    np.testing.assert_array_equal(V.COLORMAPS["viridis"].lut[0], [68, 1, 84])
    np.testing.assert_array_equal(V.COLORMAPS["CET-D1A"].lut[-1], [102, 7, 2])
    np.testing.assert_array_equal(V.COLORMAPS["CET-CBD1"].lut[0], [58, 144, 254])


def test_licences_and_attribution_shipped():
    names = {p.name for p in CMAP_DIR.iterdir()}
    assert "README.md" in names
    assert any(n.startswith("CC-BY") for n in names) and any(n.startswith("CC0") for n in names)
    readme = (CMAP_DIR / "README.md").read_text()
    assert "Peter Kovesi" in readme and "CC BY 4.0" in readme
    for name, kind in EXPECTED_KINDS.items():
        if name != "grey":
            assert f"{name}.csv" in names


def test_parse_csv_resamples_to_256():
    table = V.parse_colormap_csv("; comment\n0,0,0\n1,0.5,0.25\n")
    assert table.shape == (256, 3)
    np.testing.assert_allclose(table[0], [0, 0, 0])
    np.testing.assert_allclose(table[-1], [1, 0.5, 0.25])
    np.testing.assert_allclose(table[255 // 3, 0], (255 // 3) / 255)


@pytest.mark.parametrize("name", ["CET-D1A", "CET-D1", "CET-CBD1", "grey", "viridis"])
def test_signed_endpoints_and_exact_centre(name):
    csv = np.repeat(np.linspace(0, 1, 256)[:, None], 3, 1) if name == "grey" else load_csv(name)
    rgba = V.colorize(np.array([[-1.0, 0.0, 1.0, -5.0, 5.0]]), "signed", name)
    assert rgba.shape == (1, 5, 4) and rgba.dtype == np.uint8
    assert np.all(rgba[..., 3] == 255)
    np.testing.assert_array_equal(rgba[0, 0, :3], to_u8(csv[0]))
    np.testing.assert_array_equal(rgba[0, 2, :3], to_u8(csv[255]))
    centre = to_u8((csv[127] + csv[128]) / 2)  # position 127.5 of 0..255
    np.testing.assert_array_equal(rgba[0, 1, :3], centre)
    np.testing.assert_array_equal(V.COLORMAPS[name].centre, centre)
    np.testing.assert_array_equal(rgba[0, 3], rgba[0, 0])  # clipped
    np.testing.assert_array_equal(rgba[0, 4], rgba[0, 2])


def test_absolute_endpoints_and_interpolation():
    csv = load_csv("inferno")
    rgba = V.colorize(np.array([0.0, 1.0, -3.0, 7.0, np.nan]), "absolute", "inferno")
    np.testing.assert_array_equal(rgba[0, :3], to_u8(csv[0]))
    np.testing.assert_array_equal(rgba[1, :3], to_u8(csv[255]))
    np.testing.assert_array_equal(rgba[2], rgba[0])
    np.testing.assert_array_equal(rgba[3], rgba[1])
    np.testing.assert_array_equal(rgba[4], rgba[0])  # NaN as 0
    x = np.random.default_rng(1).uniform(0, 1, 200)
    got = V.colorize(x, "absolute", "inferno")[:, :3].astype(int)
    pos = x * 255
    want = np.stack([np.interp(pos, np.arange(256), csv[:, c]) for c in range(3)], 1) * 255
    assert np.max(np.abs(got - want)) <= 1.0  # linear interpolation to within one level


def test_grey_is_identity_to_within_a_level():
    x = np.linspace(0, 1, 1001)
    got = V.colorize(x, "absolute", "grey")[:, 0].astype(int)
    assert np.max(np.abs(got - 255 * x)) <= 0.5 + 1 / 32 + 1e-9  # position to 1/32 of a step, then rounding
    assert got[0] == 0 and got[-1] == 255


def test_default_overlay_stays_readable_on_a_white_on_black_digit():
    """The default absolute colours must show up in colour over a grey image: grey on grey cannot be read."""
    img = np.zeros((28, 28, 3), np.uint8)
    img[6:22, 12:16] = 255  # a white stroke on black, as an MNIST digit
    capped = np.tile(np.linspace(0.0, 1.0, 28, dtype=np.float32), (28, 1))
    out = V.overlay(img, capped, "absolute", None, alpha=0.6).astype(int)
    chroma = out.max(axis=-1) - out.min(axis=-1)
    assert chroma.max() > 60  # coloured, not only shades of grey
    grey = V.overlay(img, capped, "absolute", "grey", alpha=0.6).astype(int)
    assert (grey.max(axis=-1) - grey.min(axis=-1)).max() <= 1  # (what the old default gave)


def test_colorize_accepts_colormap_object_and_default_signed():
    cm = V.COLORMAPS["CET-CBD1"]
    np.testing.assert_array_equal(V.colorize(np.zeros((2, 2)), "signed", cm)[0, 0, :3], cm.centre)
    default = V.COLORMAPS[V.DEFAULT_DIVERGING]
    np.testing.assert_array_equal(V.colorize(np.zeros((2, 2)), "signed")[1, 1, :3], default.centre)


# ---------------------------------------------------------------------------------------------- resize, overlay


def test_resize_map_shape_sign_and_constant():
    v = np.zeros((8, 10), np.float32)
    v[:, :5] = -1.0
    v[:, 5:] = 2.0
    r = V.resize_map(v, (40, 16))  # (width, height)
    assert r.shape == (16, 40) and r.dtype == np.float32
    assert np.all(r[:, :15] == -1.0) and np.all(r[:, -15:] == 2.0)
    assert r.min() >= -1.0 and r.max() <= 2.0
    small = V.resize_map(v, (5, 4))
    assert small.shape == (4, 5) and small[0, 0] < 0 < small[0, -1]
    c = V.resize_map(np.full((7, 9), 0.25), (33, 21))
    np.testing.assert_allclose(c, 0.25, rtol=1e-6)
    same = V.resize_map(v, (10, 8))
    np.testing.assert_array_equal(same, v)
    with pytest.raises(ValueError):
        V.resize_map(v, (0, 5))


def _image(h=30, w=40):
    rng = np.random.default_rng(2)
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def test_overlay_alpha_zero_and_zero_map_leave_image_unchanged():
    img = _image()
    capped = np.random.default_rng(3).uniform(-1, 1, (7, 9))
    out = V.overlay(img, capped, "signed", alpha=0.0)
    assert out.shape == img.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, img)
    for view in V.VIEWS:
        np.testing.assert_array_equal(V.overlay(img, np.zeros((7, 9)), view, alpha=0.8), img)


def test_overlay_closed_form():
    img = _image()
    ones = np.ones((5, 5))
    top = V.COLORMAPS["viridis"].lut[-1]
    np.testing.assert_array_equal(
        V.overlay(img, ones, "absolute", "viridis", alpha=1.0), np.broadcast_to(top, img.shape)
    )
    half = V.overlay(img, ones, "absolute", "viridis", alpha=0.5)
    want = np.floor(0.5 * img.astype(float) + 0.5 * top + 0.5)
    assert np.max(np.abs(half.astype(int) - want)) <= 1
    # without magnitude weighting a zero map still paints the colour of 0
    flat = V.overlay(img, np.zeros((5, 5)), "absolute", "grey", alpha=0.5, weight_by_magnitude=False)
    want = np.floor(0.5 * img.astype(float) + 0.5)  # grey(0) is black
    assert np.max(np.abs(flat.astype(int) - want)) <= 1
    # signed: -1 paints the first colour of the diverging map
    neg = V.overlay(img, -ones, "signed", "CET-D1A", alpha=1.0)
    np.testing.assert_array_equal(neg[0, 0], V.COLORMAPS["CET-D1A"].lut[0])


def test_overlay_grey_image_and_validation():
    grey = _image()[..., 0]
    out = V.overlay(grey, np.zeros((3, 3)), "absolute")
    assert out.shape == grey.shape + (3,)
    np.testing.assert_array_equal(out[..., 1], grey)
    with pytest.raises(ValueError):
        V.overlay(_image(), np.zeros((3, 3)), "absolute", alpha=1.5)
    with pytest.raises(ValueError):
        V.overlay(_image().astype(np.float32), np.zeros((3, 3)), "absolute")


def test_render_view_composes_reduce_cap_colorize():
    rng = np.random.default_rng(4)
    attr = rng.normal(size=(3, 6, 7))
    rgba, span = V.render_view(attr, "signed", percentile=95.0, cmap="CET-D1")
    v = V.reduce_channels(attr, "signed")
    capped, want_span = V.cap(v, "signed", 95.0)
    assert span == want_span
    np.testing.assert_array_equal(rgba, V.colorize(capped, "signed", "CET-D1"))
    locked, used = V.render_view(attr, "absolute", span=2.5)
    assert used == 2.5
    np.testing.assert_array_equal(
        locked, V.colorize(V.cap_with_span(V.reduce_channels(attr, "absolute"), "absolute", 2.5), "absolute")
    )
    x = rng.uniform(size=(3, 6, 7))
    mult, _ = V.render_view(attr, "absolute", multiply_by_input=True, input=x)
    want, _ = V.cap(V.reduce_channels(attr * x, "absolute"), "absolute")
    np.testing.assert_array_equal(mult, V.colorize(want, "absolute"))


def test_histogram_of_raw_values():
    v = np.array([[0.0, 1.0], [2.0, np.nan]])
    counts, edges = V.histogram(v, bins=4)
    assert counts.sum() == 3 and len(edges) == 5
    assert edges[0] == 0.0 and edges[-1] == 2.0
    counts, edges = V.histogram(np.full(3, np.nan), bins=8)
    assert counts.sum() == 0 and len(edges) == 9


def test_modules_import_neither_qt_nor_torch():
    code = (
        "import sys; import smoothgrad_desktop.core.visualize, smoothgrad_desktop.core.export; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'PySide6', 'PyQt5', 'PyQt6', 'PySide2', 'pyqtgraph')]; print(bad); sys.exit(bool(bad))"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
