"""Small line charts drawn with Pillow, for headless reports (no plotting library needed at run time)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

PALETTE = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (127, 127, 127)]


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, count)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step + 1e-9) + 1)]


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.2e}"


def line_chart(series: Sequence[tuple[str, Sequence[float], Sequence[float]]], *, title: str = "",
               xlabel: str = "", ylabel: str = "", size: tuple[int, int] = (640, 400),
               ylim: tuple[float, float] | None = None, dashed: Sequence[bool] | None = None,
               xticklabels: Sequence[str] | None = None) -> np.ndarray:
    """``series`` = ``[(label, xs, ys), ...]`` -> an RGB ``(H, W, 3)`` uint8 chart with axes, ticks and a legend.
    ``xticklabels`` replaces numeric x ticks by labels at x = 0, 1, 2, ... (categorical axes)."""
    width, height = size
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font, small = _font(14), _font(12)
    left, right, top, bottom = 70, 20, 36 if title else 14, 56 if xticklabels is None else 110
    pw, ph = width - left - right, height - top - bottom
    xs_all = np.concatenate([np.asarray(s[1], float) for s in series]) if series else np.array([0.0, 1.0])
    ys_all = np.concatenate([np.asarray(s[2], float) for s in series]) if series else np.array([0.0, 1.0])
    ys_all = ys_all[np.isfinite(ys_all)] if np.isfinite(ys_all).any() else np.array([0.0, 1.0])
    x0, x1 = float(xs_all.min()), float(xs_all.max())
    y0, y1 = ylim if ylim is not None else (float(ys_all.min()), float(ys_all.max()))
    if x1 <= x0:
        x1 = x0 + 1
    if y1 <= y0:
        y0, y1 = y0 - 0.5, y1 + 0.5

    def px(x, y):
        return left + (x - x0) / (x1 - x0) * pw, top + (1 - (y - y0) / (y1 - y0)) * ph

    draw.rectangle([left, top, left + pw, top + ph], outline=(60, 60, 60))
    for t in _ticks(y0, y1):
        _, yy = px(x0, t)
        draw.line([left, yy, left + pw, yy], fill=(230, 230, 230))
        draw.text((left - 6, yy), _fmt(t), fill="black", font=small, anchor="rm")
    if xticklabels is None:
        for t in _ticks(x0, x1):
            xx, _ = px(t, y0)
            draw.line([xx, top + ph, xx, top + ph + 4], fill=(60, 60, 60))
            draw.text((xx, top + ph + 6), _fmt(t), fill="black", font=small, anchor="ma")
    else:
        for i, label in enumerate(xticklabels):
            xx, _ = px(i, y0)
            draw.line([xx, top + ph, xx, top + ph + 4], fill=(60, 60, 60))
            text = Image.new("RGBA", (int(draw.textlength(label, font=small)) + 4, 16), (255, 255, 255, 0))
            ImageDraw.Draw(text).text((0, 0), label, fill="black", font=small)
            rotated = text.rotate(60, expand=True)
            img.paste(rotated, (int(xx - rotated.width + 6), int(top + ph + 8)), rotated)
    if title:
        draw.text((left + pw / 2, 8), title, fill="black", font=font, anchor="ma")
    if xlabel:
        draw.text((left + pw / 2, height - 6), xlabel, fill="black", font=small, anchor="md")
    if ylabel:
        text = Image.new("RGBA", (int(draw.textlength(ylabel, font=small)) + 4, 16), (255, 255, 255, 0))
        ImageDraw.Draw(text).text((0, 0), ylabel, fill="black", font=small)
        rotated = text.rotate(90, expand=True)
        img.paste(rotated, (4, int(top + ph / 2 - rotated.height / 2)), rotated)
    for i, (label, xs, ys) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        points = [px(float(x), float(y)) for x, y in zip(xs, ys) if math.isfinite(float(y))]
        if dashed is not None and dashed[i]:
            for a, b in zip(points[::2], points[1::2]):
                draw.line([a, b], fill=colour, width=2)
        elif len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for p in points if len(points) <= 30 else []:
            draw.ellipse([p[0] - 2.5, p[1] - 2.5, p[0] + 2.5, p[1] + 2.5], fill=colour)
        ly = top + 8 + 18 * i
        draw.line([left + pw - 170, ly + 7, left + pw - 150, ly + 7], fill=colour, width=3)
        draw.text((left + pw - 145, ly), label, fill="black", font=small)
    return np.asarray(img)
