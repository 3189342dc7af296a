"""Mutation fuzzing of the image loader: no input may crash it, hang it, or raise anything but ImageLoadError.

    python scripts/fuzz_images.py --cases 200000 [--seed N] [--max-seconds 2.0] [--out DIR]

Seeds are small valid files in every supported format (PNG grey/RGB/palette+transparency/16-bit, JPEG plain,
progressive and CMYK, BMP, TIFF, WebP lossless/lossy, animated GIF, EXIF-rotated JPEG, a .npy array). Each case
applies 1-4 random mutations (bit flips, byte overwrites with interesting values, truncation, insertion,
deletion, chunk duplication, header size patches) and loads the result with ``load_input``. A case fails if
it raises anything other than ``ImageLoadError``, returns an image that is not fully loaded in mode L/RGB, or
takes longer than ``--max-seconds``. Failing inputs are written to ``--out`` for reproduction.

The test suite runs :func:`fuzz` with 5,000 cases (tests/test_fuzz_images.py); this command is the long run.
"""

from __future__ import annotations

import argparse
import io
import random
import struct
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smoothgrad_desktop.core import images  # noqa: E402
from smoothgrad_desktop.core.errors import ImageLoadError  # noqa: E402

INTERESTING = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE]
INTERESTING32 = [0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0x10000, 60000, 65535]


def seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (12, 9, 3), dtype=np.uint8), "RGB")
    grey = rgb.convert("L")
    out: dict[str, bytes] = {}

    def save(name, img, fmt, **kw):
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        out[name] = buf.getvalue()

    save("rgb.png", rgb, "PNG")
    save("grey.png", grey, "PNG")
    pal = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    save("pal.png", pal, "PNG", transparency=0)
    save("g16.png", Image.fromarray((rng.integers(0, 65536, (7, 5))).astype(np.uint16)), "PNG")
    save("plain.jpg", rgb, "JPEG", quality=80)
    save("prog.jpg", rgb, "JPEG", progressive=True)
    save("cmyk.jpg", rgb.convert("CMYK"), "JPEG")
    exif = Image.Exif()
    exif[0x0112] = 6
    save("exif.jpg", rgb, "JPEG", exif=exif.tobytes())
    save("img.bmp", rgb, "BMP")
    save("img.tif", rgb, "TIFF")
    save("lossless.webp", rgb, "WEBP", lossless=True)
    save("lossy.webp", rgb, "WEBP", quality=50)
    frames = [rgb, grey.convert("RGB"), rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    out["anim.gif"] = buf.getvalue()
    buf = io.BytesIO()
    np.save(buf, rng.random((1, 6, 5)).astype(np.float32))
    out["raw.npy"] = buf.getvalue()
    return out


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not buf:
            buf = bytearray(b"\x00")
        op = rng.randrange(8)
        pos = rng.randrange(len(buf))
        if op == 0:  # bit flip
            buf[pos] ^= 1 << rng.randrange(8)
        elif op == 1:  # interesting byte
            buf[pos] = rng.choice(INTERESTING)
        elif op == 2:  # truncate
            del buf[rng.randrange(len(buf)):]
        elif op == 3:  # insert random bytes
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 4:  # delete a range
            del buf[pos:pos + rng.randint(1, 32)]
        elif op == 5:  # duplicate a chunk
            end = min(len(buf), pos + rng.randint(1, 64))
            buf[end:end] = buf[pos:end]
        elif op == 6 and len(buf) >= pos + 4:  # interesting 32-bit value (sizes, lengths)
            buf[pos:pos + 4] = struct.pack(">I" if rng.random() < 0.5 else "<I",
                                           rng.choice(INTERESTING32))
        else:  # random byte
            buf[pos] = rng.randrange(256)
    return bytes(buf)


def patch_png_size(data: bytes, width: int, height: int) -> bytes:
    """A PNG whose IHDR claims another size, with a valid CRC (decompression-bomb style header)."""
    if not data.startswith(b"\x89PNG") or len(data) < 33:
        return data
    ihdr = bytearray(data[12:29])
    ihdr[4:12] = struct.pack(">II", width, height)
    crc = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return data[:12] + bytes(ihdr) + crc + data[33:]


def fuzz(cases: int, seed: int = 0, max_seconds: float = 2.0, out: Path | None = None) -> dict:
    rng = random.Random(seed)
    corpus = seeds()
    names = sorted(corpus)
    failures: list[str] = []
    slowest = 0.0
    outcomes = {"loaded": 0, "refused": 0}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for case in range(cases):
            name = rng.choice(names)
            data = corpus[name]
            if name.endswith(".png") and rng.random() < 0.05:
                data = patch_png_size(data, rng.choice([1, 9, 60000, 1 << 20]), rng.choice([1, 12, 60000, 1 << 20]))
            data = mutate(data, rng)
            path = folder / f"case{case % 16}{Path(name).suffix}"
            path.write_bytes(data)
            t0 = time.perf_counter()
            problem = None
            try:
                result = images.load_input(path)
                if result.image is not None:
                    if result.image.mode not in ("L", "RGB"):
                        problem = f"mode {result.image.mode}"
                    np.asarray(result.image)  # fully decoded
                elif result.raw is None or result.raw.dtype != np.float32 or result.raw.ndim != 3:
                    problem = "raw input not a float32 (C,H,W) array"
                outcomes["loaded"] += 1
            except ImageLoadError as exc:
                if "\n" in str(exc):
                    problem = "multi-line message"
                outcomes["refused"] += 1
            except BaseException as exc:  # noqa: BLE001 - that is the point of fuzzing
                problem = f"{type(exc).__name__}: {exc}"
            elapsed = time.perf_counter() - t0
            slowest = max(slowest, elapsed)
            if elapsed > max_seconds:
                problem = f"took {elapsed:.2f} s"
            if problem:
                failures.append(f"case {case} ({name}): {problem}")
                if out is not None:
                    out.mkdir(parents=True, exist_ok=True)
                    (out / f"fail_{case}{Path(name).suffix}").write_bytes(data)
    return {"cases": cases, "failures": failures, "slowest_s": slowest, **outcomes}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-seconds", type=float, default=2.0)
    ap.add_argument("--out", type=Path, default=Path("fuzz-failures"))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    report = fuzz(args.cases, args.seed, args.max_seconds, args.out)
    print(f"{report['cases']} cases in {time.perf_counter() - t0:.1f} s: {report['loaded']} loaded, "
          f"{report['refused']} refused, {len(report['failures'])} failures, slowest {report['slowest_s'] * 1e3:.1f} ms")
    for line in report["failures"][:20]:
        print("  " + line)
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
