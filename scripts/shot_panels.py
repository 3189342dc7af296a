"""Build every panel of ``smoothgrad_desktop.gui.panels`` with synthetic data and save PNG screenshots.

Usage (from the repository root)::

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python scripts/shot_panels.py OUT_DIR

The synthetic data are asymmetric on purpose (a positive blob top-left, a negative blob bottom-right, the word
"TOP" drawn at the top of a wide image), so a transposed or upside-down display is obvious.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from PySide6 import QtWidgets  # noqa: E402

from smoothgrad_desktop.core import visualize as vz  # noqa: E402
from smoothgrad_desktop.gui.panels import (  # noqa: E402
    ConvergencePanel,
    DifferencePanel,
    FluctuationPanel,
    GridPanel,
    ImagePanels,
    NoiseTrainingPanel,
    StripPanel,
)


def blobs(h: int, w: int, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """Signed map: + blob near the top-left, − blob near the bottom-right, optional noise."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    pos = np.exp(-(((xx - 0.25 * w) / (0.1 * w)) ** 2 + ((yy - 0.25 * h) / (0.1 * h)) ** 2))
    neg = np.exp(-(((xx - 0.75 * w) / (0.12 * w)) ** 2 + ((yy - 0.7 * h) / (0.12 * h)) ** 2))
    m = pos - 0.7 * neg
    if noise:
        m = m + noise * np.random.default_rng(seed).standard_normal((h, w)).astype(np.float32)
    return m.astype(np.float32)


def test_image(h: int = 200, w: int = 300) -> np.ndarray:
    img = Image.new("RGB", (w, h), (90, 120, 160))
    d = ImageDraw.Draw(img)
    d.rectangle([10, 10, 60, 60], fill=(220, 40, 40))  # red square top-left
    d.text((w // 2 - 12, 8), "TOP", fill=(255, 255, 0))
    d.text((w - 60, h - 20), "bottom-right", fill=(255, 255, 255))
    return np.asarray(img)


def save(widget: QtWidgets.QWidget, out: Path, name: str, size=(900, 420)) -> None:
    widget.resize(*size)
    widget.show()
    QtWidgets.QApplication.processEvents()
    QtWidgets.QApplication.processEvents()
    path = out / f"{name}.png"
    ok = widget.grab().save(str(path))
    grab = getattr(widget, "grab_image", None)
    if grab is not None:
        grab().save(str(out / f"{name}_grab_image.png"))
    print(f"{path}: {'ok' if ok else 'FAILED'}")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])

    rgb = test_image()
    hm = blobs(100, 150)  # model-input space, half the image resolution

    keep = []
    for view in ("signed", "absolute"):
        panels = ImagePanels()
        v = hm if view == "signed" else np.abs(hm)
        panels.set_image(rgb)
        panels.set_heatmap(v, view)
        capped, _ = vz.cap(v, view)
        panels.set_overlay(vz.overlay(rgb, capped, view, alpha=panels.opacity()))
        save(panels, out, f"image_panels_{view}", (1100, 380))
        keep.append(panels)

    grid = GridPanel()
    levels, ns = [0.0, 0.1, 0.2], [1, 5, 10, 50]
    maps = [[blobs(64, 64, noise=0.6 / np.sqrt(n) * (1 + 2 * lv), seed=n) for n in ns] for lv in levels]
    grid.set_grid(levels, ns, maps[:2], "signed", sigmas=[lv * 2.64 for lv in levels])
    save(grid, out, "grid_progressive", (900, 600))
    grid.set_row(2, maps[2])
    save(grid, out, "grid_signed", (900, 600))
    grid.set_grid(levels, ns, [[np.abs(m) for m in row] for row in maps], "absolute")
    save(grid, out, "grid_absolute", (900, 600))

    strip = StripPanel()
    names = ["Gradient", "SmoothGrad", "IG", "IG + SmoothGrad", "Guided BP", "Guided BP + SmoothGrad"]
    entries = []
    for i, name in enumerate(names):
        if name == "Guided BP":
            entries.append((name, None, "Guided backprop failed: the model has no ReLU to guide"))
        else:
            entries.append((name, blobs(64, 64, noise=0.5 if i % 2 == 0 else 0.1, seed=i), None))
    strip.set_entries(entries, "signed")
    save(strip, out, "strip", (1200, 300))

    diff = DifferencePanel()
    diff.set_classes(["digit 3", "digit 7", "digit 1"], 0, 1)
    m1 = np.clip(blobs(28, 56), 0, None)
    m2 = np.clip(-blobs(28, 56), 0, None)
    diff.set_image(np.asarray(Image.fromarray(rgb).resize((112, 56))))
    diff.set_maps(m1 - m2, m1, m2, maps_view="absolute")
    save(diff, out, "difference", (1000, 500))

    noise = NoiseTrainingPanel()
    noise.set_maps(
        {
            ("clean", "gradient"): blobs(64, 64, noise=0.8, seed=1),
            ("clean", "smoothgrad"): blobs(64, 64, noise=0.15, seed=2),
            ("noise-trained", "gradient"): blobs(64, 64, noise=0.3, seed=3),
            ("noise-trained", "smoothgrad"): blobs(64, 64, noise=0.05, seed=4),
        },
        "signed",
    )
    save(noise, out, "noise_training", (700, 600))

    fl = FluctuationPanel()
    t = np.linspace(0, 1, 200)
    rng = np.random.default_rng(0)
    fl.set_data(
        t,
        0.02 + 0.01 * np.abs(np.sin(40 * t)) + 0.004 * rng.standard_normal(200),
        5 - 2 * t + 0.05 * np.sin(30 * t),
        partial_at_pixel=0.01 * np.sign(np.sin(25 * t)),
        sigma=0.15,
    )
    save(fl, out, "fluctuation", (800, 500))

    conv = ConvergencePanel()
    pts = [(n, 1.0 / n) for n in range(2, 101, 2)]
    conv.set_points(pts)
    save(conv, out, "convergence", (700, 400))

    for w in keep + [grid, strip, diff, noise, fl, conv]:
        w.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
