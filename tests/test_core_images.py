"""Tests for smoothgrad_desktop.core.images: safe loading and exact conversions.

Every file is generated in tmp_path; nothing is downloaded or read from the repository.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from smoothgrad_desktop.core import images
from smoothgrad_desktop.core.errors import ImageLoadError, UserFacingError
from smoothgrad_desktop.core.images import (
    MAX_PIXELS,
    SUPPORTED_SUFFIXES,
    InputImage,
    image_from_pil,
    is_supported,
    load_image,
    load_input,
    load_raw,
)
from tests.hostile import patch_ihdr, png_bytes

# ------------------------------------------------------------------------------------------------ helpers


def _asym_rgb(width: int = 24, height: int = 16) -> np.ndarray:
    """An (H, W, 3) uint8 picture with no symmetry: four flat quadrants of distinct colours."""
    arr = np.zeros((height, width, 3), dtype=np.uint8)
    hh, hw = height // 2, width // 2
    arr[:hh, :hw] = (230, 20, 20)  # top left: red
    arr[:hh, hw:] = (20, 200, 20)  # top right: green
    arr[hh:, :hw] = (20, 20, 230)  # bottom left: blue
    arr[hh:, hw:] = (240, 240, 40)  # bottom right: yellow
    return arr


def _noise_rgb(width: int, height: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def _assert_loaded(result: InputImage, mode: str, size: tuple[int, int]) -> np.ndarray:
    assert isinstance(result, InputImage)
    assert result.raw is None
    assert type(result.image) is Image.Image  # detached from the file: a plain, loaded image
    assert result.image.mode == mode
    assert result.size == size
    arr = np.asarray(result.image)
    assert arr.shape[:2] == (size[1], size[0])
    return arr


def _assert_refused(path, *fragments: str, loader=load_input) -> str:
    with pytest.raises(ImageLoadError) as info:
        loader(path)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    assert os.path.basename(str(path)).replace("\n", "?") in message
    for fragment in fragments:
        assert fragment in message, message
    assert isinstance(info.value, UserFacingError)
    return message


# --------------------------------------------------------------------------------------------- public API


def test_constants_and_is_supported():
    assert SUPPORTED_SUFFIXES == (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".npy")
    assert MAX_PIXELS == 100_000_000
    for name in ("a.png", "B.JPG", "c.jpeg", "d.Bmp", "e.tif", "f.TIFF", "g.webp", "h.gif", "i.npy"):
        assert is_supported(name)
    for name in ("a.txt", "b", "c.png.bak", "d.ppm", "e.npz"):
        assert not is_supported(name)


def test_module_imports_neither_qt_nor_torch():
    code = (
        "import sys, smoothgrad_desktop.core.images\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'PySide2', 'torch')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_input_image_needs_exactly_one_payload():
    with pytest.raises(ValueError):
        InputImage(name="x", path=None, image=None, raw=None)
    with pytest.raises(ValueError):
        InputImage(name="x", path=None, image=Image.new("L", (1, 1)), raw=np.zeros((1, 1, 1), np.float32))


# ------------------------------------------------------------------------------------------------ formats


@pytest.mark.parametrize(
    "suffix, fmt, kw",
    [
        (".png", "PNG", {}),
        (".bmp", "BMP", {}),
        (".tif", "TIFF", {}),
        (".tiff", "TIFF", {"compression": "tiff_lzw"}),
        (".webp", "WEBP", {"lossless": True, "quality": 100}),
    ],
)
def test_lossless_rgb_formats_exact_pixels(tmp_path, suffix, fmt, kw):
    ref = _noise_rgb(13, 7)
    path = tmp_path / f"pic{suffix}"
    Image.fromarray(ref).save(path, fmt, **kw)
    result = load_input(path)
    arr = _assert_loaded(result, "RGB", (13, 7))
    np.testing.assert_array_equal(arr, ref)
    assert result.name == path.name and result.path == path
    assert result.source_mode == "RGB"
    assert result.notes == []
    np.testing.assert_array_equal(result.display_rgb(), ref)


@pytest.mark.parametrize("suffix", [".jpg", ".jpeg"])
def test_jpeg_loads_with_close_pixels(tmp_path, suffix):
    ref = _asym_rgb(32, 24)
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(ref).save(path, "JPEG", quality=95)
    arr = _assert_loaded(load_input(path), "RGB", (32, 24))
    assert np.abs(arr.astype(int) - ref.astype(int)).mean() < 10


def test_lossy_webp_loads(tmp_path):
    ref = _asym_rgb(32, 24)
    path = tmp_path / "lossy.webp"
    Image.fromarray(ref).save(path, "WEBP", quality=90)
    arr = _assert_loaded(load_input(path), "RGB", (32, 24))
    assert np.abs(arr.astype(int) - ref.astype(int)).mean() < 8


def test_gif_palette_exact_pixels(tmp_path):
    indices = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.uint8)
    img = Image.frombytes("P", (3, 2), indices.tobytes())
    img.putpalette([10, 20, 30, 200, 100, 50, 0, 255, 0] + [0] * (3 * 253))
    path = tmp_path / "pal.gif"
    img.save(path, "GIF")
    result = load_input(path)
    arr = _assert_loaded(result, "RGB", (3, 2))
    expected = np.array([[(10, 20, 30), (200, 100, 50), (0, 255, 0)], [(0, 255, 0), (200, 100, 50), (10, 20, 30)]])
    np.testing.assert_array_equal(arr, expected)
    assert result.source_mode == "P"
    assert not any("transparen" in n for n in result.notes)


def test_palette_png_without_transparency_is_rgb(tmp_path):
    img = Image.frombytes("P", (2, 1), bytes([0, 1]))
    img.putpalette([50, 50, 50, 90, 10, 200] + [0] * (3 * 254))
    path = tmp_path / "pal.png"
    img.save(path)
    arr = _assert_loaded(load_input(path), "RGB", (2, 1))
    np.testing.assert_array_equal(arr, [[(50, 50, 50), (90, 10, 200)]])


def test_greyscale_stays_l_exact(tmp_path):
    ref = np.arange(60, dtype=np.uint8).reshape(6, 10) * 4
    path = tmp_path / "grey.png"
    Image.fromarray(ref).save(path)
    result = load_input(path)
    arr = _assert_loaded(result, "L", (10, 6))
    np.testing.assert_array_equal(arr, ref)
    disp = result.display_rgb()
    assert disp.shape == (6, 10, 3) and disp.dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(disp[:, :, c], ref)


def test_bilevel_becomes_l_0_255(tmp_path):
    img = Image.new("1", (4, 1), 0)
    img.putpixel((1, 0), 1)
    img.putpixel((3, 0), 1)
    path = tmp_path / "bits.png"
    img.save(path)
    result = load_input(path)
    np.testing.assert_array_equal(_assert_loaded(result, "L", (4, 1)), [[0, 255, 0, 255]])
    assert result.source_mode == "1"


def test_one_by_one_and_extreme_aspect(tmp_path):
    path = tmp_path / "dot.png"
    Image.new("RGB", (1, 1), (1, 2, 3)).save(path)
    np.testing.assert_array_equal(_assert_loaded(load_input(path), "RGB", (1, 1)), [[(1, 2, 3)]])

    wide = np.zeros((10, 10000), dtype=np.uint8)
    wide[:, ::2] = 255
    path = tmp_path / "wide.png"
    Image.fromarray(wide).save(path)
    np.testing.assert_array_equal(_assert_loaded(load_input(path), "L", (10000, 10)), wide)
    path = tmp_path / "tall.png"
    Image.fromarray(np.ascontiguousarray(wide.T)).save(path)
    np.testing.assert_array_equal(_assert_loaded(load_input(path), "L", (10, 10000)), wide.T)


# ------------------------------------------------------------------------------------------------- EXIF


def _expected_orientation(arr: np.ndarray, orientation: int) -> np.ndarray:
    """The displayed picture for a stored array and EXIF orientation (written independently of PIL)."""
    return {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],  # mirror horizontal
        3: lambda a: a[::-1, ::-1],  # rotate 180
        4: lambda a: a[::-1, :],  # mirror vertical
        5: lambda a: a.swapaxes(0, 1),  # transpose (main diagonal)
        6: lambda a: np.rot90(a, -1),  # rotate 90 clockwise
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),  # transverse (anti-diagonal)
        8: lambda a: np.rot90(a, 1),  # rotate 90 counter-clockwise
    }[orientation](arr)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation(tmp_path, fmt, orientation):
    stored = _asym_rgb(24, 16)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"oriented_{orientation}.{fmt.lower()}"
    kw = {"quality": 95} if fmt == "JPEG" else {}
    Image.fromarray(stored).save(path, fmt, exif=exif.tobytes(), **kw)
    expected = _expected_orientation(stored, orientation)
    result = load_input(path)
    arr = _assert_loaded(result, "RGB", (expected.shape[1], expected.shape[0]))
    if fmt == "PNG":
        np.testing.assert_array_equal(arr, expected)
    else:
        assert np.abs(arr.astype(int) - expected.astype(int)).mean() < 10
        # every quadrant's colour must be where the reference puts it
        h, w = expected.shape[:2]
        for y in (h // 4, 3 * h // 4):
            for x in (w // 4, 3 * w // 4):
                assert np.abs(arr[y, x].astype(int) - expected[y, x].astype(int)).max() < 40
    applied = [n for n in result.notes if "orientation" in n]
    if orientation == 1:
        assert applied == []
    else:
        assert applied == [f"EXIF orientation {orientation} applied"]


def test_invalid_exif_orientation_is_ignored(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 9
    path = tmp_path / "odd.png"
    ref = _asym_rgb(6, 4)
    Image.fromarray(ref).save(path, exif=exif.tobytes())
    result = load_input(path)
    np.testing.assert_array_equal(_assert_loaded(result, "RGB", (6, 4)), ref)
    assert not any("orientation" in n for n in result.notes)


# ---------------------------------------------------------------------------------------- mode conversions


@pytest.mark.parametrize("fmt, suffix", [("PNG", ".png"), ("TIFF", ".tif")])
def test_16bit_grey_scaled_not_clipped(tmp_path, fmt, suffix):
    values = np.array([[0, 257, 32768, 65535, 1000]], dtype=np.uint16)
    path = tmp_path / f"deep{suffix}"
    Image.fromarray(values).save(path, fmt)
    result = load_input(path)
    arr = _assert_loaded(result, "L", (5, 1))
    np.testing.assert_array_equal(arr, [[0, 1, 128, 255, 4]])  # 1000*255/65535 = 3.89 -> 4
    assert result.source_mode.startswith("I;16")
    assert "16-bit greyscale scaled to 8 bits" in result.notes


def test_16bit_big_endian_in_memory():
    img = Image.frombytes("I;16B", (3, 1), struct.pack(">HHH", 0, 32768, 65535))
    result = image_from_pil(img)
    np.testing.assert_array_equal(_assert_loaded(result, "L", (3, 1)), [[0, 128, 255]])
    assert result.source_mode == "I;16B"


def test_32bit_integer_stretched_min_max(tmp_path):
    path = tmp_path / "int32.tif"
    Image.fromarray(np.array([[-100, 0, 155]], dtype=np.int32)).save(path)
    result = load_input(path)
    np.testing.assert_array_equal(_assert_loaded(result, "L", (3, 1)), [[0, 100, 255]])
    assert result.source_mode == "I"
    assert any("32-bit integer image scaled from [-100, 155]" in n for n in result.notes)


def test_float_image_stretched_and_nonfinite_black(tmp_path):
    path = tmp_path / "float.tif"
    Image.fromarray(np.array([[0.0, 0.5, 1.0, np.nan]], dtype=np.float32)).save(path)
    result = load_input(path)
    np.testing.assert_array_equal(_assert_loaded(result, "L", (4, 1)), [[0, 128, 255, 0]])
    assert result.source_mode == "F"
    assert "non-finite pixel values shown as black" in result.notes


def test_constant_float_image_keeps_value():
    result = image_from_pil(Image.fromarray(np.full((2, 2), 42.0, dtype=np.float32)), "c")
    np.testing.assert_array_equal(_assert_loaded(result, "L", (2, 2)), np.full((2, 2), 42))


def test_cmyk_jpeg(tmp_path):
    ref = _asym_rgb(32, 24)
    path = tmp_path / "print.jpg"
    Image.fromarray(ref).convert("CMYK").save(path, "JPEG", quality=95)
    with Image.open(path) as probe:
        assert probe.mode == "CMYK"
    result = load_input(path)
    arr = _assert_loaded(result, "RGB", (32, 24))
    assert np.abs(arr.astype(int) - ref.astype(int)).mean() < 8
    assert result.source_mode == "CMYK"
    assert any("CMYK" in n for n in result.notes)


@pytest.mark.parametrize("suffix", [".png", ".gif"])
def test_palette_with_transparency_over_white(tmp_path, suffix):
    img = Image.frombytes("P", (3, 1), bytes([0, 1, 2]))
    img.putpalette([255, 0, 0, 0, 0, 255, 0, 128, 0] + [0] * (3 * 253))
    path = tmp_path / f"transparent{suffix}"
    img.save(path, transparency=0)
    result = load_input(path)
    arr = _assert_loaded(result, "RGB", (3, 1))
    np.testing.assert_array_equal(arr, [[(255, 255, 255), (0, 0, 255), (0, 128, 0)]])
    assert result.source_mode == "P"
    assert "transparency composited over white" in result.notes


def test_palette_with_per_entry_alpha(tmp_path):
    img = Image.frombytes("P", (2, 1), bytes([0, 1]))
    img.putpalette([100, 0, 0, 0, 0, 100] + [0] * (3 * 254))
    path = tmp_path / "alpha_palette.png"
    img.save(path, transparency=bytes([128, 255]))
    arr = _assert_loaded(load_input(path), "RGB", (2, 1))
    a = 128 / 255
    expected_red = [round(100 * a + 255 * (1 - a)), round(255 * (1 - a)), round(255 * (1 - a))]
    np.testing.assert_array_equal(arr, [[expected_red, (0, 0, 100)]])


def _over_white(c: int, a: int) -> int:
    return int(np.rint(c * a / 255 + 255 * (1 - a / 255)))


def test_la_composited_over_white_to_l(tmp_path):
    la = np.array([[[100, 0], [100, 128], [100, 255]]], dtype=np.uint8)
    path = tmp_path / "la.png"
    Image.frombytes("LA", (3, 1), la.tobytes()).save(path)
    result = load_input(path)
    arr = _assert_loaded(result, "L", (3, 1))
    np.testing.assert_array_equal(arr, [[255, _over_white(100, 128), 100]])
    assert _over_white(100, 128) == 177
    assert result.source_mode == "LA"
    assert "transparency composited over white" in result.notes


def test_rgba_composited_over_white(tmp_path):
    rgba = np.array([[[200, 0, 0, 0], [200, 0, 0, 255], [0, 0, 200, 128]]], dtype=np.uint8)
    path = tmp_path / "rgba.png"
    Image.frombytes("RGBA", (3, 1), rgba.tobytes()).save(path)
    result = load_input(path)
    arr = _assert_loaded(result, "RGB", (3, 1))
    np.testing.assert_array_equal(
        arr, [[(255, 255, 255), (200, 0, 0), (_over_white(0, 128), _over_white(0, 128), _over_white(200, 128))]]
    )
    assert result.source_mode == "RGBA"
    assert "transparency composited over white" in result.notes


def test_opaque_rgba_has_no_transparency_note(tmp_path):
    ref = _noise_rgb(5, 4)
    rgba = np.concatenate([ref, np.full((4, 5, 1), 255, np.uint8)], axis=2)
    path = tmp_path / "opaque.png"
    Image.frombytes("RGBA", (5, 4), rgba.tobytes()).save(path)
    result = load_input(path)
    np.testing.assert_array_equal(_assert_loaded(result, "RGB", (5, 4)), ref)
    assert result.notes == []


def test_rgb_and_grey_trns_colour_key(tmp_path):
    rgb = np.array([[(1, 2, 3), (4, 5, 6)]], dtype=np.uint8)
    path = tmp_path / "key.png"
    Image.fromarray(rgb).save(path, transparency=(1, 2, 3))
    np.testing.assert_array_equal(_assert_loaded(load_input(path), "RGB", (2, 1)), [[(255, 255, 255), (4, 5, 6)]])
    grey = np.array([[7, 8]], dtype=np.uint8)
    path = tmp_path / "greykey.png"
    Image.fromarray(grey).save(path, transparency=7)
    np.testing.assert_array_equal(_assert_loaded(load_input(path), "L", (2, 1)), [[255, 8]])


@pytest.mark.parametrize("mode", ["YCbCr", "LAB", "HSV", "RGBX", "RGBa", "La", "PA"])
def test_other_modes_become_rgb_or_l(mode):
    img = Image.new(mode, (3, 2))
    result = image_from_pil(img, name=f"{mode}.raw")
    expected = "L" if mode == "La" else "RGB"
    _assert_loaded(result, expected, (3, 2))
    assert result.source_mode == mode


def test_ycbcr_and_rgbx_values():
    rgb = Image.fromarray(_noise_rgb(4, 3, seed=5))
    ycc = rgb.convert("YCbCr")
    np.testing.assert_array_equal(np.asarray(image_from_pil(ycc).image), np.asarray(ycc.convert("RGB")))
    rgbx = rgb.convert("RGBX")
    np.testing.assert_array_equal(np.asarray(image_from_pil(rgbx).image), np.asarray(rgb))


# ------------------------------------------------------------------------------------------ animated files


def test_animated_gif_first_frame_and_note(tmp_path):
    frames = [Image.new("RGB", (4, 3), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].putpixel((1, 1), (0, 0, 0))
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    result = load_input(path)
    arr = _assert_loaded(result, "RGB", (4, 3))
    expected = np.zeros((3, 4, 3), np.uint8)
    expected[:, :] = (255, 0, 0)
    expected[1, 1] = (0, 0, 0)
    np.testing.assert_array_equal(arr, expected)
    assert "animated image: first of 3 frames used" in result.notes


def test_animated_webp_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), colour) for colour in ((250, 0, 0), (0, 250, 0))]
    path = tmp_path / "anim.webp"
    frames[0].save(path, save_all=True, append_images=frames[1:], lossless=True, duration=50)
    result = load_input(path)
    arr = _assert_loaded(result, "RGB", (8, 8))
    assert (arr == (250, 0, 0)).all()
    assert "animated image: first of 2 frames used" in result.notes


def test_multipage_tiff_first_page(tmp_path):
    pages = [Image.new("L", (5, 5), v) for v in (10, 20, 30, 40)]
    path = tmp_path / "pages.tiff"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    result = load_input(path)
    assert (_assert_loaded(result, "L", (5, 5)) == 10).all()
    assert "multi-page image: first of 4 pages used" in result.notes


# ------------------------------------------------------------------------------------------ refused files


def test_missing_file(tmp_path):
    _assert_refused(tmp_path / "nothere.png", "file not found")
    _assert_refused(tmp_path / "nothere.npy", "file not found")


def test_empty_file(tmp_path):
    for name in ("zero.png", "zero.jpg", "zero.npy"):
        path = tmp_path / name
        path.write_bytes(b"")
        _assert_refused(path, "empty file")


def test_text_renamed_png(tmp_path):
    path = tmp_path / "cat.png"
    path.write_text("this is not a picture\n" * 20)
    _assert_refused(path, "not an image file")


def test_other_pil_formats_are_not_decoded(tmp_path):
    path = tmp_path / "sneaky.png"
    Image.new("RGB", (4, 4), (9, 9, 9)).save(path, "PPM")
    _assert_refused(path, "not an image file")
    path = tmp_path / "script.png"
    path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    _assert_refused(path, "not an image file")


def test_directory_named_like_an_image(tmp_path):
    for name in ("dir.png", "dir.npy"):
        path = tmp_path / name
        path.mkdir()
        _assert_refused(path, "is a directory")


def test_truncated_png(tmp_path):
    data = png_bytes(Image.fromarray(_noise_rgb(64, 64)))
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    _assert_refused(path, "truncated or corrupt image data")


def test_truncated_jpeg(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(_noise_rgb(64, 64)).save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    _assert_refused(path, "truncated or corrupt image data")


def test_header_only_png(tmp_path):
    data = png_bytes(Image.new("RGB", (8, 8)))
    path = tmp_path / "head.png"
    path.write_bytes(data[:33])  # signature + IHDR, no image data
    _assert_refused(path, "truncated or corrupt image data", "PNG")


@pytest.mark.parametrize("fmt, head", [("JPEG", 4), ("GIF", 8), ("BMP", 10), ("TIFF", 6), ("WEBP", 14)])
def test_recognised_signature_but_cut_short(tmp_path, fmt, head):
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buf, fmt)
    path = tmp_path / f"short.{fmt.lower()}"
    path.write_bytes(buf.getvalue()[:head])
    _assert_refused(path, "truncated or corrupt image data")


def test_png_header_claiming_huge_size_is_refused_fast(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(patch_ihdr(png_bytes(Image.new("L", (1, 1))), 60000, 60000))
    start = time.perf_counter()
    message = _assert_refused(path, "too many pixels", "3,600,000,000")
    assert time.perf_counter() - start < 2.0
    assert message.startswith("big.png: too many pixels")


def test_png_header_between_pil_warning_and_error_limits(tmp_path):
    # 12000 x 9000 = 108 M pixels: above PIL's warning threshold (89.5 M), below its error threshold (179 M)
    path = tmp_path / "warned.png"
    path.write_bytes(patch_ihdr(png_bytes(Image.new("RGB", (1, 1))), 12000, 9000))
    start = time.perf_counter()
    _assert_refused(path, "too many pixels", "108,000,000")
    assert time.perf_counter() - start < 2.0


def test_own_pixel_limit_checked_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "small.png"
    Image.new("RGB", (20, 20)).save(path)
    monkeypatch.setattr(images, "MAX_PIXELS", 399)
    _assert_refused(path, "too many pixels (400 > limit 399)")
    monkeypatch.setattr(images, "MAX_PIXELS", 400)
    _assert_loaded(load_input(path), "RGB", (20, 20))


def test_decompression_bomb_warning_is_an_error(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    Image.new("L", (40, 40)).save(path)  # 1600 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # warning above 1000, error above 2000
    _assert_refused(path, "too many pixels", "1,600 > limit 1,000")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 700)
    _assert_refused(path, "too many pixels", "1,600 > limit 700")


def test_pil_settings_and_warning_filters_untouched(tmp_path):
    path = tmp_path / "fine.png"
    Image.new("L", (3, 3)).save(path)
    limit = Image.MAX_IMAGE_PIXELS
    filters = list(warnings.filters)
    load_input(path)
    with pytest.raises(ImageLoadError):
        load_input(tmp_path / "missing.png")
    assert Image.MAX_IMAGE_PIXELS == limit
    assert list(warnings.filters) == filters


def test_permission_denied_via_access_check(tmp_path, monkeypatch):
    path = tmp_path / "secret.png"
    Image.new("L", (2, 2)).save(path)
    monkeypatch.setattr(images.os, "access", lambda p, mode, *a, **k: False)
    _assert_refused(path, "permission denied")
    npy = tmp_path / "secret.npy"
    np.save(npy, np.zeros((1, 2, 2), np.float32))
    _assert_refused(npy, "permission denied")


def test_permission_denied_when_open_fails(tmp_path, monkeypatch):
    # As root, chmod 000 does not stop reading; simulate the failing open() instead.
    path = tmp_path / "locked.png"
    Image.new("L", (2, 2)).save(path)
    npy = tmp_path / "locked.npy"
    np.save(npy, np.zeros((1, 2, 2), np.float32))

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(images, "open", refuse, raising=False)
    _assert_refused(path, "permission denied")
    _assert_refused(npy, "permission denied")


def test_file_name_with_newline_gives_one_line_message(tmp_path):
    path = tmp_path / "two\nlines.png"
    path.write_bytes(b"nope")
    message = _assert_refused(path, "two?lines.png", "not an image file")
    assert message.count(":") >= 1


# -------------------------------------------------------------------------------------------------- .npy


def test_npy_float32_roundtrip(tmp_path):
    ref = np.random.default_rng(1).standard_normal((3, 5, 7)).astype(np.float32)
    path = tmp_path / "input.npy"
    np.save(path, ref)
    result = load_input(path)
    assert result.image is None and result.source_mode == "npy" and result.notes == []
    assert result.raw.dtype == np.float32 and result.raw.flags.c_contiguous
    np.testing.assert_array_equal(result.raw, ref)
    assert result.size == (7, 5)
    assert result.name == "input.npy" and result.path == path
    disp = result.display_rgb()
    assert disp.shape == (5, 7, 3) and disp.dtype == np.uint8
    assert disp.min() == 0 and disp.max() == 255


@pytest.mark.parametrize("dtype", [np.float64, np.float16])
def test_npy_other_floats_cast(tmp_path, dtype):
    ref = np.linspace(-2, 2, 24).reshape(2, 3, 4).astype(dtype)
    path = tmp_path / "cast.npy"
    np.save(path, ref)
    result = load_raw(path)
    assert result.raw.dtype == np.float32
    np.testing.assert_allclose(result.raw, ref.astype(np.float32))
    assert f"{np.dtype(dtype).name} cast to float32" in result.notes


def test_npy_fortran_order_and_batch_of_one(tmp_path):
    ref = np.asfortranarray(np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4))
    path = tmp_path / "batch.npy"
    np.save(path, ref)
    result = load_raw(path)
    assert result.raw.shape == (2, 3, 4) and result.raw.flags.c_contiguous
    np.testing.assert_array_equal(result.raw, ref[0])
    assert "batch dimension of size 1 removed" in result.notes


@pytest.mark.parametrize(
    "array, fragment",
    [
        (np.zeros((4, 4), np.float32), "expected a 3-D (C,H,W) array, got shape (4, 4)"),
        (np.zeros((2, 1, 3, 4), np.float32), "expected a 3-D (C,H,W) array, got shape (2, 1, 3, 4)"),
        (np.zeros((1, 1, 1, 1, 1), np.float32), "expected a 3-D"),
        (np.zeros((3, 0, 4), np.float32), "empty array"),
        (np.zeros((0, 2, 2), np.float32), "empty array"),
        (np.array([[[1.0, np.nan]]], np.float32), "NaN or infinite"),
        (np.array([[[1.0, np.inf]]], np.float64), "NaN or infinite"),
        (np.array([[[1e300]]], np.float64), "NaN or infinite"),
        (np.zeros((3, 2, 2), np.int64), "int64 array refused"),
        (np.zeros((3, 2, 2), np.uint8), "uint8 array refused"),
        (np.zeros((3, 2, 2), bool), "bool array refused"),
        (np.zeros((3, 2, 2), np.complex64), "unsupported array type"),
    ],
)
def test_npy_refused(tmp_path, array, fragment):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    _assert_refused(path, fragment)


def test_npy_object_array_never_unpickled(tmp_path, monkeypatch):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([[[1.0, "x"]]], dtype=object), allow_pickle=True)
    import pickle

    def boom(*a, **k):  # pragma: no cover - must not be called
        raise AssertionError("unpickling attempted")

    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "loads", boom)
    _assert_refused(path, "Python objects")


def test_npy_wrong_contents(tmp_path):
    path = tmp_path / "archive.npy"
    with open(path, "wb") as fh:
        np.savez(fh, a=np.zeros((1, 2, 2), np.float32))
    _assert_refused(path, ".npz archive")
    path = tmp_path / "text.npy"
    path.write_text("1 2 3\n")
    _assert_refused(path, "not a .npy file")
    path = tmp_path / "pic.npy"
    Image.new("RGB", (2, 2)).save(path, "PNG")
    _assert_refused(path, "not a .npy file")
    path = tmp_path / "header.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': garbage")
    _assert_refused(path, "corrupt .npy header")


def test_npy_truncated_data(tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.ones((3, 8, 8), np.float32))
    path = tmp_path / "cut.npy"
    path.write_bytes(buf.getvalue()[:-20])
    _assert_refused(path, "truncated or corrupt .npy data")


def test_npy_pixel_limit(tmp_path, monkeypatch):
    path = tmp_path / "wide.npy"
    np.save(path, np.zeros((1, 10, 10), np.float32))
    monkeypatch.setattr(images, "MAX_PIXELS", 99)
    _assert_refused(path, "too many pixels (100 > limit 99)")


def test_npy_channel_last_hint(tmp_path):
    path = tmp_path / "hwc.npy"
    np.save(path, np.zeros((6, 5, 3), np.float32))
    result = load_raw(path)
    assert result.raw.shape == (6, 5, 3)
    assert any("channel-last" in n for n in result.notes)


def test_raw_display_rgb_rules():
    def raw_image(arr):
        return InputImage(name="r", path=None, image=None, raw=np.asarray(arr, np.float32), source_mode="npy")

    one = raw_image([[[-1.0, 0.0, 1.0]]])
    np.testing.assert_array_equal(one.display_rgb(), [[[0, 0, 0], [128, 128, 128], [255, 255, 255]]])
    # three channels: one min..max over the whole tensor, not per channel
    three = raw_image([[[0.0, 1.0]], [[2.0, 3.0]], [[4.0, 5.0]]])
    np.testing.assert_array_equal(three.display_rgb(), [[[0, 102, 204], [51, 153, 255]]])
    # two channels: grey mean over channels, then min..max
    two = raw_image([[[0.0, 2.0, 4.0]], [[0.0, 0.0, 0.0]]])
    np.testing.assert_array_equal(two.display_rgb()[0, :, 0], [0, 128, 255])
    assert (two.display_rgb()[..., 0] == two.display_rgb()[..., 2]).all()
    four = raw_image(np.ones((4, 2, 3)))
    disp = four.display_rgb()
    assert disp.shape == (2, 3, 3) and (disp == 0).all()  # constant tensor: black


# ----------------------------------------------------------------------------------------- image_from_pil


def test_image_from_pil_rgba_and_input_untouched():
    rgba = Image.frombytes("RGBA", (2, 1), bytes([10, 20, 30, 0, 10, 20, 30, 255]))
    before = rgba.tobytes()
    result = image_from_pil(rgba)
    assert result.name == "pasted image" and result.path is None and result.raw is None
    np.testing.assert_array_equal(_assert_loaded(result, "RGB", (2, 1)), [[(255, 255, 255), (10, 20, 30)]])
    assert rgba.tobytes() == before and rgba.mode == "RGBA"
    assert result.image is not rgba


def test_image_from_pil_applies_exif_and_limits(monkeypatch):
    stored = _asym_rgb(6, 4)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.fromarray(stored).save(buf, "PNG", exif=exif.tobytes())
    buf.seek(0)
    result = image_from_pil(Image.open(buf), name="clip")
    np.testing.assert_array_equal(_assert_loaded(result, "RGB", (4, 6)), np.rot90(stored, -1))
    monkeypatch.setattr(images, "MAX_PIXELS", 10)
    with pytest.raises(ImageLoadError, match=r"^clip: too many pixels \(24 > limit 10\)$"):
        image_from_pil(Image.new("RGB", (6, 4)), name="clip")


def test_image_from_pil_rejects_non_images():
    with pytest.raises(ImageLoadError, match="not an image"):
        image_from_pil(np.zeros((2, 2)))  # type: ignore[arg-type]


def test_image_from_pil_truncated_lazy_image():
    data = png_bytes(Image.fromarray(_noise_rgb(64, 64)))
    lazy = Image.open(io.BytesIO(data[: len(data) // 2]))
    with pytest.raises(ImageLoadError, match="^dropped: truncated or corrupt image data"):
        image_from_pil(lazy, name="dropped")


# ------------------------------------------------------------------------------------------------- fuzzing


def _seed_files() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    rgb = Image.fromarray(_noise_rgb(12, 9, seed=3))
    for suffix, fmt, kw in (
        (".png", "PNG", {}),
        (".jpg", "JPEG", {"quality": 80}),
        (".bmp", "BMP", {}),
        (".tif", "TIFF", {}),
        (".webp", "WEBP", {"lossless": True}),
    ):
        buf = io.BytesIO()
        rgb.save(buf, fmt, **kw)
        files[suffix] = buf.getvalue()
    frames = [Image.new("P", (8, 6), i) for i in range(3)]
    for f in frames:
        f.putpalette([v for i in range(256) for v in (i, 255 - i, (7 * i) % 256)])
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], transparency=1, duration=20)
    files[".gif"] = buf.getvalue()
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    rgb.save(buf, "JPEG", quality=80, exif=exif.tobytes())
    files[".jpeg"] = buf.getvalue()
    return files


_SEEDS = _seed_files()
_POSITION = st.one_of(st.integers(0, 80), st.integers(0, 1 << 20))
_MUTATION = st.one_of(
    st.tuples(st.just("flip"), _POSITION, st.integers(0, 7)),
    st.tuples(st.just("set"), _POSITION, st.integers(0, 255)),
    st.tuples(st.just("truncate"), _POSITION, st.just(0)),
    st.tuples(st.just("insert"), _POSITION, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), _POSITION, st.integers(1, 32)),
)


def _mutate(data: bytes, mutations) -> bytes:
    buf = bytearray(data)
    for kind, pos, arg in mutations:
        if not buf:
            break
        pos %= len(buf)
        if kind == "flip":
            buf[pos] ^= 1 << arg
        elif kind == "set":
            buf[pos] = arg
        elif kind == "truncate":
            del buf[pos:]
        elif kind == "insert":
            buf[pos:pos] = arg
        else:
            del buf[pos : pos + arg]
    return bytes(buf)


@settings(
    max_examples=300,
    deadline=2000,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(suffix=st.sampled_from(sorted(_SEEDS)), mutations=st.lists(_MUTATION, min_size=1, max_size=4))
def test_fuzz_mutated_files_load_or_refuse_cleanly(tmp_path, monkeypatch, suffix, mutations):
    # A low pixel cap keeps decoding of mutated headers (which may claim big sizes) cheap.
    monkeypatch.setattr(images, "MAX_PIXELS", 1_000_000)
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(_mutate(_SEEDS[suffix], mutations))
    try:
        result = load_input(path)
    except ImageLoadError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith(f"fuzz{suffix}: ")
        return
    assert type(result.image) is Image.Image
    assert result.image.mode in {"L", "RGB"}
    arr = np.asarray(result.image)
    assert arr.dtype == np.uint8 and arr.shape[:2] == (result.size[1], result.size[0])
    assert result.display_rgb().shape == (result.size[1], result.size[0], 3)


def test_mpo_camera_jpeg_loads(tmp_path):
    ref = _asym_rgb(32, 16)
    frames = [Image.fromarray(ref), Image.new("RGB", (32, 16), (0, 0, 0))]
    path = tmp_path / "camera.jpg"
    frames[0].save(path, "MPO", save_all=True, append_images=frames[1:], quality=95)
    with Image.open(path) as probe:
        assert probe.format == "MPO"
    result = load_input(path)
    arr = _assert_loaded(result, "RGB", (32, 16))
    for y, x in ((4, 8), (4, 24), (12, 8), (12, 24)):
        assert np.abs(arr[y, x].astype(int) - ref[y, x].astype(int)).max() < 30
    assert "animated image: first of 2 frames used" in result.notes


def test_decoder_warnings_become_notes(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(_asym_rgb(8, 8)).save(buf, "JPEG", exif=b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x05\x00")
    path = tmp_path / "badexif.jpg"
    path.write_bytes(buf.getvalue())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may leak out of the loader as a warning
        result = load_input(path)
    _assert_loaded(result, "RGB", (8, 8))
    assert any(n.startswith("decoder warning: Corrupt EXIF data") for n in result.notes), result.notes
    assert all("\n" not in n for n in result.notes)


def test_npy_big_endian_float32(tmp_path):
    ref = np.arange(12, dtype=">f4").reshape(1, 3, 4)
    path = tmp_path / "be.npy"
    np.save(path, ref)
    result = load_raw(path)
    assert result.raw.dtype == np.dtype("=f4") and result.notes == []
    np.testing.assert_array_equal(result.raw, ref)
