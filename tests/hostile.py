"""Hostile inputs shared by the command-line, core and GUI tests: PNG bytes with a forged header, a pickle that
would run code when loaded, and models whose output or gradient is unusable."""

from __future__ import annotations

import io
import os
import struct
import zlib

import torch
from PIL import Image


def png_bytes(img: Image.Image, **kw) -> bytes:
    """``img`` encoded as PNG (``kw``: Pillow's save options)."""
    buf = io.BytesIO()
    img.save(buf, "PNG", **kw)
    return buf.getvalue()


def patch_ihdr(png: bytes, width: int, height: int) -> bytes:
    """Rewrite the IHDR width/height of a PNG and fix the chunk CRC, so the header is valid."""
    assert png[12:16] == b"IHDR"
    data = bytearray(png)
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


class Evil:
    """Unpickling this runs ``touch marker``: a loader that lets it through leaves the marker file behind."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class WrongShape(torch.nn.Module):
    def forward(self, x):
        return x.mean(dim=1)  # (N, H, W), not (N, K)


class NaNScores(torch.nn.Module):
    def forward(self, x):
        return x.flatten(1)[:, :10] * float("nan")


class InfGradient(torch.nn.Module):
    def forward(self, x):
        return torch.sqrt(x.flatten(1)[:, :10] - x.flatten(1)[:, :10].detach())  # value 0, gradient inf
