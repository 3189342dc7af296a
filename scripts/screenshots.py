"""Screenshots of the real SmoothGrad Desktop app (the main window, every tab), for the README and for review.

Usage (from the repository root)::

    # under Xvfb (a real X server, as the README's screenshots are taken):
    Xvfb :99 -screen 0 1600x1000x24 &
    DISPLAY=:99 PYTHONPATH=. .venv/bin/python scripts/screenshots.py            # -> docs/screenshot-*.png

    # or without any X server (Qt's offscreen platform; same pixels, slightly different fonts):
    QT_QPA_PLATFORM=offscreen PYTHONPATH=. .venv/bin/python scripts/screenshots.py

Options::

    --docs DIR    where the screenshots go (default: docs/): screenshot-<tab>.png for every tab after its
                  computation -- map, grid (σ/n), methods, difference (the two-digit sample, 4 vs 5), noise
                  (noise training), fluctuation, convergence, faithfulness (scrubber at 20 %), sanity
    --size WxH    window size (default 1280x800)
    --only LIST   only these screenshots (comma-separated names from the list above)

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
TABS = (("map", "map"), ("grid", "grid"), ("strip", "methods"), ("difference", "difference"), ("noise", "noise"),
        ("fluctuation", "fluctuation"), ("convergence", "convergence"), ("evaluate", "faithfulness"),
        ("sanity", "sanity"))
"""(tab kind, screenshot name): docs/screenshot-<name>.png."""
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
    """Show a tab and wait for its figure (a computing tab that is out of date computes now)."""
    from smoothgrad_desktop.gui.tabs import COMPUTED

    window.show_tab(kind)
    if kind not in COMPUTED:
        return
    if not window.controller.busy(kind) and (window.is_stale(kind) or window.state.outcome(kind) is None):
        window.flow.compute(kind)
    if window.controller.busy(kind):
        wait_done(window, kind)


def wait_done(window, kind: str, timeout_s: float = 900.0) -> None:
    """Wait until the tab ``kind`` finished or failed (a failure is printed: its screenshot shows the message)."""
    loop = QEventLoop()
    result: list[str] = []

    def finished(k, _outcome):
        if k == kind and not result:
            result.append("")
            loop.quit()

    def failed(k, message):
        if k == kind and not result:
            result.append(message)
            loop.quit()

    window.experiment_finished.connect(finished)
    window.job_failed.connect(failed)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    if window.controller.busy(kind):
        loop.exec()
    window.experiment_finished.disconnect(finished)
    window.job_failed.disconnect(failed)
    if result and result[0]:
        print(f"{kind} failed: {result[0]}", file=sys.stderr)
    elif not result and window.controller.busy(kind):
        raise TimeoutError(f"{kind}: not finished within {timeout_s} s")


def open_sample(window, path: Path) -> None:
    window.show_tab("map")
    if window.add_files([str(path)]) < 0:
        raise RuntimeError(f"cannot open {path}")
    wait_for(window.run_finished, timeout_s=120)


def difference_4_vs_5(window) -> None:
    """Open the two-digit sample, pick classes 4 and 5 in the Class difference tab and wait for the figure."""
    open_sample(window, PAIR)
    panel = window.exp_tabs["difference"].panel
    labels = list(window.state.image.labels)
    c1, c2 = labels.index("4"), labels.index("5")
    window.show_tab("difference")
    if window.controller.busy("difference"):
        wait_done(window, "difference")
    if panel.classes() != (c1, c2):
        panel.set_classes(labels, c1, c2)
    show_tab(window, "difference")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", default=str(ROOT / "docs"))
    ap.add_argument("--size", default="1280x800")
    ap.add_argument("--only", default="", help="comma-separated tab names (default: all)")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    only = {t for t in args.only.split(",") if t}

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
    docs = Path(args.docs)
    try:
        wait_for(window.run_finished, timeout_s=120)
        for kind, name in TABS:
            if (only and name not in only) or kind == "difference":
                continue
            started = time.monotonic()
            show_tab(window, kind)
            print(f"{name}: computed in {time.monotonic() - started:.1f} s")
            if kind == "evaluate":
                window.exp_tabs["evaluate"].panel.set_step(10)  # the scrubber at 20 %
            save(window, docs / f"screenshot-{name}.png")
        if not only or "difference" in only:
            difference_4_vs_5(window)
            save(window, docs / "screenshot-difference.png")
    finally:
        window.close()
        app.processEvents()
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
