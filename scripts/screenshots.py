"""Screenshots of the real SmoothGrad Desktop app (the main window, every tab), for the README and for review.

Usage (from the repository root)::

    # under Xvfb (a real X server, as the README's screenshots are taken):
    Xvfb :99 -screen 0 1600x1000x24 &
    DISPLAY=:99 PYTHONPATH=. .venv/bin/python scripts/screenshots.py            # -> docs/screenshot-*.png

    # or without any X server (Qt's offscreen platform; same pixels, slightly different fonts):
    QT_QPA_PLATFORM=offscreen PYTHONPATH=. .venv/bin/python scripts/screenshots.py

Options::

    --docs DIR    where the README screenshots go (default: docs/): screenshot-main.png (Map tab with a
                  computed map), screenshot-grid.png (σ/n grid), screenshot-faithfulness.png (deletion/insertion
                  curves with the scrubber at 20 %), screenshot-sanity.png (cascading randomisation),
                  screenshot-difference.png (class difference on resources/samples/pair_00_4_5.png, 4 vs 5)
    --all DIR     also save every tab (map, grid, strip, difference, noise, fluctuation, convergence,
                  faithfulness, sanity checks; plus the pixel probe dock after a click) on the
                  first MNIST sample as DIR/<tab>.png, the grid with "Shared colour scale" off
                  (DIR/grid-per-cell.png), and the Map and Class difference tabs on the two-digit sample
    --size WxH    window size (default 1600x1000)
    --no-docs     do not write the README screenshots (with --all: review shots only)

The app runs with its default parameters (the settings live in a temporary folder, never the user's), the
embedded MNIST model and the shipped samples. Each screenshot waits for the tab's computation to finish. A PNG
larger than MAX_BYTES is re-saved with a 256-colour palette.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402,F401  (torch before PySide6)
from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

MAX_BYTES = 290_000
TABS = ("map", "grid", "strip", "difference", "noise", "fluctuation", "convergence", "evaluate", "sanity")
PAIR = ROOT / "resources" / "samples" / "pair_00_4_5.png"


def wait_for(signal, predicate=lambda *a: True, timeout_s: float = 120.0) -> tuple:
    """Run the event loop until ``signal`` fires with arguments accepted by ``predicate``."""
    loop = QEventLoop()
    got: list[tuple] = []

    def on(*args):
        if predicate(*args) and not got:
            got.append(args)
            loop.quit()

    signal.connect(on)
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    timer.start(int(timeout_s * 1000))
    loop.exec()
    signal.disconnect(on)
    if not got:
        raise TimeoutError(f"no {signal} within {timeout_s} s")
    return got[0]


def settle(ms: int = 400) -> None:
    """Let layouts, repaints and queued signals run for a moment."""
    end = time.monotonic() + ms / 1000.0
    while time.monotonic() < end:
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.02)


def save(window, path: Path) -> Path:
    settle()
    path.parent.mkdir(parents=True, exist_ok=True)
    image = window.grab().toImage()
    if not image.save(str(path)):
        raise OSError(f"cannot write {path}")
    if path.stat().st_size > MAX_BYTES:
        from PIL import Image

        with Image.open(path) as im:
            im.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print(f"{path}: {path.stat().st_size // 1024} KB")
    return path


def show_tab(window, kind: str) -> None:
    """Show a tab and wait for its figure (experiment tabs compute when shown)."""
    from smoothgrad_desktop.gui.tabs import COMPUTED

    if kind in COMPUTED and (window.is_stale(kind) or kind not in window.outcomes):
        window.show_tab(kind)
        if not window.controller.busy(kind) and window.is_stale(kind):  # above the cost gate: press Compute
            window.flow.compute(kind)
        wait_for(window.experiment_finished, lambda k, _o: k == kind, 300)
    else:
        window.show_tab(kind)


def difference_4_vs_5(window) -> None:
    """Open the two-digit sample, pick classes 4 and 5 in the Class difference tab and wait for the figure."""
    window.show_tab("map")
    row = window.add_files([str(PAIR)])
    if row < 0:
        raise RuntimeError(f"cannot open {PAIR}")
    wait_for(window.run_finished, timeout_s=120)
    show_tab(window, "difference")
    labels = list(window.state.image.labels)
    c1, c2 = labels.index("4"), labels.index("5")
    if window.panel("difference").classes() != (c1, c2):
        window.panel("difference").set_classes(labels, c1, c2)
        window.flow.compute("difference")
        wait_for(window.experiment_finished, lambda k, _o: k == "difference", 300)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", default=str(ROOT / "docs"))
    ap.add_argument("--all", dest="all_dir", default=None)
    ap.add_argument("--size", default="1600x1000")
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--suffix", default="", help="added to the docs file names (screenshot-main-1280x800.png)")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))

    tmp = tempfile.TemporaryDirectory(prefix="sg-shots-")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, tmp.name)

    from smoothgrad_desktop.gui.application import create_application

    app = create_application([])
    from smoothgrad_desktop.gui.main_window import MainWindow

    window = MainWindow()
    window.resize(w, h)
    window.show()
    try:
        wait_for(window.run_finished, timeout_s=120)
        docs = None if args.no_docs else Path(args.docs)
        if docs is not None:
            save(window, docs / f"screenshot-main{args.suffix}.png")
            show_tab(window, "grid")
            save(window, docs / f"screenshot-grid{args.suffix}.png")
            show_tab(window, "evaluate")
            window.panel("evaluate").set_step(10)
            save(window, docs / f"screenshot-faithfulness{args.suffix}.png")
            show_tab(window, "sanity")
            save(window, docs / f"screenshot-sanity{args.suffix}.png")
        if args.all_dir:
            out = Path(args.all_dir)
            for kind in TABS:
                show_tab(window, kind)
                save(window, out / f"{kind}.png")
            # the σ/n grid with "Shared colour scale" off (each cell on its own percentile, as in the paper)
            show_tab(window, "grid")
            window.exp_tabs["grid"].scale_check.setChecked(False)
            save(window, out / "grid-per-cell.png")
            window.exp_tabs["grid"].scale_check.setChecked(True)
            # the pixel probe of the map's strongest pixel (the dock shows the histogram of its samples)
            show_tab(window, "map")
            values = window.panels.heatmap_view.image_item.image
            import numpy as np

            y, x = np.unravel_index(int(np.argmax(values)), values.shape)
            if window.probe_pixel(int(x), int(y)) is not None:
                wait_for(window.experiment_finished, lambda k, _o: k == "probe", 120)
            save(window, out / "probe.png")
            window.right_dock.raise_()
        if docs is not None or args.all_dir:
            difference_4_vs_5(window)
            if docs is not None:
                save(window, docs / f"screenshot-difference{args.suffix}.png")
            if args.all_dir:
                save(window, Path(args.all_dir) / "difference-pair_00_4_5.png")
                show_tab(window, "map")
                save(window, Path(args.all_dir) / "map-pair_00_4_5.png")
    finally:
        window.close()
        app.processEvents()
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
