"""Safe loading of input images (and raw ``.npy`` model inputs) into one plain form.

Everything the user opens, drops or pastes goes through here. The result, :class:`InputImage`, holds either

* ``image``: a fully decoded, detached ``PIL.Image.Image`` in mode ``'L'`` (greyscale sources) or ``'RGB'``
  (everything else), with EXIF orientation applied; or
* ``raw``: a float32 ``(C, H, W)`` array that is fed to the model as it is (no preprocessing),

plus ``notes``: one-line remarks for the user about what was done to the file.

Every failure is an :class:`~smoothgrad_desktop.core.errors.ImageLoadError` whose message is one line that
names the file and the reason. No other exception escapes for bad *input data* (a fuzz test checks this).

Decisions, so that nobody has to guess:

* Only PNG, JPEG (including MPO, which some cameras write), BMP, TIFF, WebP and GIF are decoded, whatever
  the file is called: a file whose content is another format PIL knows (EPS, PSD, ...) is refused.
* Pixel limit: the effective limit is ``min(MAX_PIXELS, PIL.Image.MAX_IMAGE_PIXELS)`` (PIL's default is
  89,478,485). The size in the header is checked before any pixel is decoded, and PIL's
  ``DecompressionBombWarning`` is turned into a refusal for the duration of the load (local
  ``warnings.catch_warnings``; PIL's global limit is never modified).
* Transparency (RGBA, LA, P or L/RGB with a ``tRNS`` colour) is composited over **white**, as image viewers
  show it, and a note says so when any pixel was actually transparent.
* 16-bit greyscale is scaled ``round(v * 255 / 65535)`` (no clipping); 32-bit integer ('I') and float ('F')
  images are stretched from their own min..max to 0..255 (a constant image keeps its value, clipped).
* CMYK is converted by PIL's plain formula (no colour management); YCbCr, LAB, HSV and RGBX become RGB.
* Animated / multi-page files: the first frame is used and a note says how many there were.
* ``.npy`` raw input: must be a floating-point array (float16/32/64 are cast to float32), shape ``(C, H, W)``
  with every dimension >= 1 (a leading batch dimension of 1, ``(1, C, H, W)``, is accepted and dropped with
  a note), and all values finite. **Integer arrays are refused**: a raw input is meant to be the model's
  already-normalised tensor, and an integer array is almost always an un-normalised picture (save it as a
  PNG instead). Object arrays are refused without unpickling anything.

* Decoder ``UserWarning``s (corrupt EXIF, odd TIFF tags ...) are recorded during the load and become
  ``"decoder warning: ..."`` notes instead of reaching stderr.

This module imports numpy and Pillow only (no Qt, no torch). ``warnings.catch_warnings`` swaps the
process-wide warning filters for the duration of a load; concurrent loads stay safe because the pixel limit
is also checked explicitly before decoding (at worst a warning from another thread lands in a note).
Pillow's global ``ImageFile.LOAD_TRUNCATED_IMAGES`` is left alone: if other code sets it, truncated files
load partially instead of being refused.
"""

from __future__ import annotations

import os
import pathlib
import re
import stat
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageLoadError

__all__ = [
    "SUPPORTED_SUFFIXES",
    "MAX_PIXELS",
    "InputImage",
    "load_input",
    "load_image",
    "load_raw",
    "image_from_pil",
    "is_supported",
    "pixel_limit",
]

SUPPORTED_SUFFIXES: tuple[str, ...] = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".tif",
    ".tiff",
    ".webp",
    ".gif",
    ".npy",
)

#: Refuse images with more pixels than this (see :func:`pixel_limit` for the effective limit).
MAX_PIXELS: int = 100_000_000

# PIL format names we agree to decode (Image.open(..., formats=...)); anything else is "not supported".
_PIL_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP", "GIF")  # JPEG covers MPO (camera JPEGs)
_FORMATS_TEXT = "PNG, JPEG, BMP, TIFF, WebP, GIF or .npy"

_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
_GREY_RESULT = "L"
_COLOUR_RESULT = "RGB"
_ORIENTATION_TAG = 0x0112
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


# --------------------------------------------------------------------------------------------- result type


@dataclass
class InputImage:
    """One loaded input: a decoded picture (``image``) or a raw model input (``raw``), never both."""

    name: str
    path: pathlib.Path | None
    image: Image.Image | None
    raw: np.ndarray | None
    notes: list[str] = field(default_factory=list)
    source_mode: str = ""

    def __post_init__(self) -> None:
        if (self.image is None) == (self.raw is None):
            raise ValueError("InputImage needs exactly one of image and raw")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the picture, or (W, H) of the raw (C, H, W) array."""
        if self.image is not None:
            return self.image.size
        assert self.raw is not None
        return int(self.raw.shape[2]), int(self.raw.shape[1])

    def display_rgb(self) -> np.ndarray:
        """An (H, W, 3) uint8 array for display.

        For a raw input the whole tensor is min-max scaled to 0..255 (one range for all channels); one
        channel is shown as grey, three as RGB, and any other count as the grey mean over the channels
        (min-max scaled after averaging). A constant tensor is shown black.
        """
        if self.image is not None:
            arr = np.asarray(self.image)
            if arr.ndim == 2:
                return np.repeat(arr[:, :, None], 3, axis=2)
            return np.array(arr[:, :, :3], dtype=np.uint8, copy=True)
        assert self.raw is not None
        raw = self.raw.astype(np.float64, copy=False)
        channels = raw.shape[0]
        if channels == 3:
            hwc = np.transpose(raw, (1, 2, 0))
        elif channels == 1:
            hwc = raw[0][:, :, None]
        else:
            hwc = raw.mean(axis=0)[:, :, None]
        lo, hi = float(hwc.min()), float(hwc.max())
        if hi > lo:
            scaled = np.rint((hwc - lo) * (255.0 / (hi - lo)))
        else:
            scaled = np.zeros_like(hwc)
        out = np.clip(scaled, 0, 255).astype(np.uint8)
        if out.shape[2] == 1:
            out = np.repeat(out, 3, axis=2)
        return np.ascontiguousarray(out)


# ------------------------------------------------------------------------------------------ public helpers


def is_supported(path: str | os.PathLike[str]) -> bool:
    """True when the file name ends with one of :data:`SUPPORTED_SUFFIXES` (case-insensitive)."""
    return pathlib.Path(path).suffix.lower() in SUPPORTED_SUFFIXES


def pixel_limit() -> int:
    """The effective pixel limit: ``MAX_PIXELS``, or PIL's ``MAX_IMAGE_PIXELS`` when that is lower."""
    pil_limit = Image.MAX_IMAGE_PIXELS
    if pil_limit is None:
        return int(MAX_PIXELS)
    return int(min(MAX_PIXELS, pil_limit))


def _open_error(name: str, exc: OSError) -> ImageLoadError:
    """The one-line reason a file could not be opened."""
    if isinstance(exc, FileNotFoundError):
        return _error(name, "file not found")
    if isinstance(exc, IsADirectoryError):
        return _error(name, "is a directory")
    if isinstance(exc, PermissionError):
        return _error(name, "permission denied")
    return _error(name, f"cannot open file ({_short(exc)})")


def load_input(path: str | os.PathLike[str]) -> InputImage:
    """Load ``path``: ``.npy`` files as raw model input, everything else as a picture."""
    if pathlib.Path(path).suffix.lower() == ".npy":
        return load_raw(path)
    return load_image(path)


def load_image(path: str | os.PathLike[str]) -> InputImage:
    """Decode a picture file into an :class:`InputImage` (mode 'L' or 'RGB'), or raise ImageLoadError."""
    p = pathlib.Path(path)
    name = p.name or str(p)
    _check_readable_file(p, name)
    try:
        fp = open(p, "rb")  # noqa: SIM115 - closed in the finally below
    except OSError as exc:
        raise _open_error(name, exc) from None
    try:
        notes: list[str] = []
        with warnings.catch_warnings(record=True) as caught:
            _warning_filters()
            try:
                im = Image.open(fp, formats=_PIL_FORMATS)
            except UnidentifiedImageError:
                raise _unidentified(fp, name) from None
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                raise _too_many_pixels(name, exc) from None
            except MemoryError:
                raise _error(name, "not enough memory to decode the image") from None
            except Exception as exc:  # PIL plugins raise a zoo of types on malformed headers
                raise _error(name, f"truncated or corrupt image data ({_short(exc)})") from None
            with im:
                source_mode, source_format = im.mode, im.format
                decoded = _decode(im, name, notes)
        _warnings_to_notes(caught, notes)
        image = _convert(decoded, source_mode, source_format, name, notes)
    finally:
        fp.close()
    return InputImage(name=name, path=p, image=image, raw=None, notes=notes, source_mode=source_mode)


def image_from_pil(img: Image.Image, name: str = "pasted image") -> InputImage:
    """Apply the same checks and conversions to an in-memory PIL image (clipboard, drag and drop).

    The given image is not modified.
    """
    if not isinstance(img, Image.Image):
        raise _error(name, f"not an image (got {type(img).__name__})")
    notes: list[str] = []
    source_mode, source_format = img.mode, img.format
    with warnings.catch_warnings(record=True) as caught:
        _warning_filters()
        decoded = _decode(img, name, notes)
    _warnings_to_notes(caught, notes)
    image = _convert(decoded, source_mode, source_format, name, notes)
    return InputImage(name=name, path=None, image=image, raw=None, notes=notes, source_mode=source_mode)


def load_raw(path: str | os.PathLike[str]) -> InputImage:
    """Load a ``.npy`` file holding a float ``(C, H, W)`` model input (see the module notes for the rules)."""
    p = pathlib.Path(path)
    name = p.name or str(p)
    _check_readable_file(p, name)
    notes: list[str] = []

    # Read and check the header first: nothing is allocated for absurd shapes, nothing is unpickled.
    try:
        with open(p, "rb") as fp:
            magic = fp.read(len(_NPY_MAGIC))
            if magic[:4] == _ZIP_MAGIC:
                raise _error(name, "is an .npz archive, not a single .npy array")
            if magic != _NPY_MAGIC:
                raise _error(name, "not a .npy file (missing NumPy header)")
            fp.seek(0)
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fp)
            else:
                raise _error(name, f"unsupported .npy format version {version[0]}.{version[1]}")
    except ImageLoadError:
        raise
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise _open_error(name, exc) from None
    except MemoryError:
        raise _error(name, "not enough memory to read the array") from None
    except Exception as exc:  # malformed header: ValueError, SyntaxError, EOFError ...
        raise _error(name, f"corrupt .npy header ({_short(exc)})") from None

    dtype = np.dtype(dtype)
    if dtype.hasobject:
        raise _error(name, "array holds Python objects (pickled data is never loaded)")
    if dtype.kind != "f":
        if dtype.kind in "iub":
            raise _error(
                name,
                f"{dtype.name} array refused: raw input must be a float (C,H,W) array already normalised "
                "for the model (save pictures as PNG instead)",
            )
        raise _error(name, f"unsupported array type {dtype} (expected float16, float32 or float64)")

    shape = tuple(int(s) for s in shape)
    if len(shape) == 4 and shape[0] == 1:
        shape = shape[1:]
        notes.append("batch dimension of size 1 removed")
    if len(shape) != 3:
        raise _error(name, f"expected a 3-D (C,H,W) array, got shape {_shape_text(shape)}")
    if min(shape) < 1:
        raise _error(name, f"empty array (shape {_shape_text(shape)})")
    channels, height, width = shape
    limit = pixel_limit()
    if height * width > limit:
        raise _error(name, f"too many pixels ({height * width:,} > limit {limit:,})")
    if channels * height * width > 4 * limit:
        raise _error(name, f"too many values ({channels * height * width:,} > limit {4 * limit:,})")
    if channels > 4 and width in (1, 3, 4):
        notes.append(f"shape {_shape_text(shape)} looks channel-last; raw input is read as (C,H,W)")

    try:
        arr = np.load(p, allow_pickle=False)
    except MemoryError:
        raise _error(name, "not enough memory to read the array") from None
    except PermissionError:
        raise _error(name, "permission denied") from None
    except Exception as exc:  # truncated data: ValueError (cannot reshape) / EOFError / OSError
        raise _error(name, f"truncated or corrupt .npy data ({_short(exc)})") from None
    if not isinstance(arr, np.ndarray):  # pragma: no cover - header was checked above
        raise _error(name, "not a single .npy array")
    arr = arr.reshape(shape)

    if arr.dtype != np.float32:  # other precision, or float32 in the other byte order
        if arr.dtype.name != "float32":
            notes.append(f"{arr.dtype.name} cast to float32")
        with np.errstate(over="ignore", invalid="ignore"):
            arr = arr.astype(np.float32)
    if not np.isfinite(arr).all():
        raise _error(name, "array contains NaN or infinite values (or values beyond the float32 range)")
    arr = np.ascontiguousarray(arr)
    return InputImage(name=name, path=p, image=None, raw=arr, notes=notes, source_mode="npy")


# ------------------------------------------------------------------------------------------------ internals


def _one_line(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def _error(name: str, reason: str) -> ImageLoadError:
    return ImageLoadError(_one_line(f"{name}: {reason}"))


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _too_many_pixels(name: str, exc: BaseException | None = None, pixels: int | None = None) -> ImageLoadError:
    limit = pixel_limit()
    if pixels is None and exc is not None:
        match = re.search(r"\((\d+) pixels\)", str(exc))
        if match:
            pixels = int(match.group(1))
    if pixels is None:
        return _error(name, f"too many pixels (more than the limit of {limit:,})")
    return _error(name, f"too many pixels ({pixels:,} > limit {limit:,})")


def _warning_filters() -> None:
    """Inside ``catch_warnings(record=True)``: bombs are errors, every decoder UserWarning is recorded."""
    warnings.simplefilter("always", UserWarning)
    warnings.simplefilter("error", Image.DecompressionBombWarning)


def _warnings_to_notes(caught: list[warnings.WarningMessage], notes: list[str], limit: int = 3) -> None:
    """Decoder UserWarnings (corrupt EXIF, odd TIFF tags ...) become notes; other warnings are re-issued."""
    seen: list[str] = []
    for w in caught:
        if issubclass(w.category, UserWarning):
            text = _short(Warning(str(w.message)), 120)
            if text not in seen:
                seen.append(text)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    notes.extend(_one_line(f"decoder warning: {text}") for text in seen[:limit])
    if len(seen) > limit:
        notes.append(f"decoder warning: {len(seen) - limit} more")


def _sniff(head: bytes) -> str | None:
    """The format whose signature starts ``head``, among those we decode (or None)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head.startswith(b"BM") and head[6:10] == b"\x00\x00\x00\x00":  # reserved fields are zero
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return None


def _unidentified(fp, name: str) -> ImageLoadError:
    """Error for a file PIL could not open: a damaged known format, or not a supported image at all."""
    try:
        fp.seek(0)
        fmt = _sniff(fp.read(16))
    except (OSError, ValueError):
        fmt = None
    if fmt is not None:
        return _error(name, f"truncated or corrupt image data ({fmt} signature, unreadable header)")
    return _error(name, f"not an image file (cannot identify image format; expected {_FORMATS_TEXT})")


def _check_readable_file(p: pathlib.Path, name: str) -> None:
    """Refuse, before opening, what is not a readable, non-empty regular file."""
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise _error(name, "file not found") from None
    except PermissionError:
        raise _error(name, "permission denied") from None
    except OSError as exc:
        raise _error(name, f"cannot access file ({_short(exc)})") from None
    if stat.S_ISDIR(st.st_mode):
        raise _error(name, "is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise _error(name, "not a regular file")
    if not os.access(p, os.R_OK):
        raise _error(name, "permission denied")
    if st.st_size == 0:
        raise _error(name, "empty file")


def _decode(im: Image.Image, name: str, notes: list[str]) -> Image.Image:
    """Check the size, decode the first frame fully and apply EXIF orientation.

    Returns a new, detached image in the source's mode. Must run with DecompressionBombWarning as an error.
    """
    width, height = im.size
    if width < 1 or height < 1:
        raise _error(name, f"image has no pixels ({width}x{height})")
    if width * height > pixel_limit():
        raise _too_many_pixels(name, pixels=width * height)

    frames = 1
    try:
        frames = int(getattr(im, "n_frames", 1))
        if frames > 1 and im.tell() != 0:
            im.seek(0)
    except MemoryError:
        raise _error(name, "not enough memory to decode the image") from None
    except Exception:
        frames = -1  # the frame count itself is unreadable: still try the first frame
    try:
        im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(name, exc) from None
    except MemoryError:
        raise _error(name, "not enough memory to decode the image") from None
    except Exception as exc:  # OSError (truncated), SyntaxError, ValueError, struct.error, EOFError ...
        raise _error(name, f"truncated or corrupt image data ({_short(exc)})") from None
    if im.size[0] * im.size[1] > pixel_limit():  # a plugin may change the size while loading
        raise _too_many_pixels(name, pixels=im.size[0] * im.size[1])
    if frames > 1:
        kind, unit = ("multi-page image", "pages") if im.format == "TIFF" else ("animated image", "frames")
        notes.append(f"{kind}: first of {frames} {unit} used")
    elif frames == -1:
        notes.append("frame count unreadable: first frame used")

    orientation = 1
    try:
        value = im.getexif().get(_ORIENTATION_TAG, 1)
        orientation = int(value) if isinstance(value, (int, np.integer)) else 1
    except Exception:
        notes.append("EXIF data unreadable; orientation ignored")
    try:
        if 2 <= orientation <= 8:
            out = ImageOps.exif_transpose(im)
            notes.append(f"EXIF orientation {orientation} applied")
        else:
            out = im.copy()
    except MemoryError:
        raise _error(name, "not enough memory to decode the image") from None
    except Exception as exc:
        raise _error(name, f"truncated or corrupt image data ({_short(exc)})") from None
    return out


def _composite_over_white(colour: np.ndarray, alpha: np.ndarray, notes: list[str]) -> np.ndarray:
    """colour (H,W,k) uint8, alpha (H,W) uint8 -> (H,W,k) uint8 composited over white."""
    if alpha.size and int(alpha.min()) < 255:
        notes.append("transparency composited over white")
        # integer arithmetic, rounded to nearest: (c * a + 255 * (255 - a) + 127) // 255 never exceeds 65152,
        # so uint16 holds every intermediate (several times faster than float32 on large images)
        a = alpha.astype(np.uint16)[:, :, None]
        out = colour.astype(np.uint16) * a
        out += (255 - a) * np.uint16(255)
        out += np.uint16(127)
        out //= np.uint16(255)
        return out.astype(np.uint8)
    return colour


def _from_array(arr: np.ndarray) -> Image.Image:
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    return Image.fromarray(arr)


def _scale_to_8bit(values: np.ndarray, what: str, notes: list[str]) -> np.ndarray:
    """Stretch finite values from their min..max to 0..255 (a constant image keeps its value, clipped)."""
    finite = np.isfinite(values)
    all_finite = bool(finite.all())
    if not all_finite:
        notes.append("non-finite pixel values shown as black")
    if not finite.any():
        return np.zeros(values.shape, dtype=np.uint8)
    good = values[finite] if not all_finite else values
    lo, hi = float(good.min()), float(good.max())
    if hi > lo:
        out = np.rint((values - lo) * (255.0 / (hi - lo)))
        notes.append(f"{what} scaled from [{lo:g}, {hi:g}] to 8 bits")
    else:
        out = np.full(values.shape, min(max(lo, 0.0), 255.0))
        notes.append(f"constant {what} (value {lo:g})")
    if not all_finite:
        out = np.where(finite, out, 0.0)
    return np.clip(out, 0, 255).astype(np.uint8)


def _convert(
    im: Image.Image, source_mode: str, source_format: str | None, name: str, notes: list[str]
) -> Image.Image:
    """Convert a decoded image to mode 'L' (greyscale sources) or 'RGB' (everything else)."""
    try:
        return _convert_mode(im, source_format, notes)
    except ImageLoadError:
        raise
    except MemoryError:
        raise _error(name, "not enough memory to convert the image") from None
    except (ValueError, OSError) as exc:
        raise _error(name, f"cannot convert image mode {source_mode} ({_short(exc)})") from None


def _convert_mode(im: Image.Image, source_format: str | None, notes: list[str]) -> Image.Image:
    mode = im.mode
    transparency = im.info.get("transparency")

    if mode == _GREY_RESULT:
        if isinstance(transparency, int) and not isinstance(transparency, bool):
            grey = np.asarray(im)
            alpha = np.where(grey == transparency, 0, 255).astype(np.uint8)
            return _from_array(_composite_over_white(grey[:, :, None], alpha, notes)[:, :, 0])
        return im
    if mode == _COLOUR_RESULT:
        if isinstance(transparency, tuple) and len(transparency) == 3:
            rgb = np.asarray(im)
            alpha = np.where((rgb == np.asarray(transparency, dtype=rgb.dtype)).all(axis=2), 0, 255)
            return _from_array(_composite_over_white(rgb, alpha.astype(np.uint8), notes))
        return im
    if mode == "1":
        return im.convert("L")
    if mode in ("LA", "La"):
        la = np.asarray(im.convert("LA") if mode == "La" else im)
        return _from_array(_composite_over_white(la[:, :, :1], la[:, :, 1], notes)[:, :, 0])
    if mode in _SIXTEEN_BIT_MODES or (mode == "I" and source_format == "PNG"):
        # PNG 16-bit greyscale is opened as 'I' by older Pillow releases and as 'I;16' by newer ones.
        values = np.asarray(im).astype(np.float64)
        notes.append("16-bit greyscale scaled to 8 bits")
        return _from_array(np.clip(np.rint(values * (255.0 / 65535.0)), 0, 255))
    if mode == "I":
        return _from_array(_scale_to_8bit(np.asarray(im).astype(np.float64), "32-bit integer image", notes))
    if mode == "F":
        return _from_array(_scale_to_8bit(np.asarray(im).astype(np.float64), "floating-point image", notes))
    if mode in ("P", "PA"):
        has_alpha = (
            mode == "PA"
            or transparency is not None
            or (im.palette is not None and im.palette.mode == "RGBA")
        )
        if has_alpha:
            rgba = np.asarray(im.convert("RGBA"))
            return _from_array(_composite_over_white(rgba[:, :, :3], rgba[:, :, 3], notes))
        return im.convert("RGB")
    if mode in ("RGBA", "RGBa"):
        rgba = np.asarray(im.convert("RGBA") if mode == "RGBa" else im)
        return _from_array(_composite_over_white(rgba[:, :, :3], rgba[:, :, 3], notes))
    if mode == "CMYK":
        notes.append("CMYK converted to RGB (no colour management)")
        return im.convert("RGB")
    if mode in ("LAB", "HSV"):
        notes.append(f"{mode} converted to RGB")
        return im.convert("RGB")
    if mode in ("YCbCr", "RGBX"):
        return im.convert("RGB")
    # Anything else PIL can convert (future modes); say so.
    out = im.convert("RGB")
    notes.append(f"image mode {mode} converted to RGB")
    return out
