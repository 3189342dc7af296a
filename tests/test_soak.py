"""Soak (issue 5): 1,000 consecutive map runs on the default model through the real window and worker thread, with
resident memory growth <= 50 MB after warm-up and no growth in Python threads, QThreads or OS threads.

Measured on the 2-core development machine: about 50 ms per run, so the full 1,000 runs take about a minute and
stay in the default test run (``-m "not slow"`` skips them). ``SMOOTHGRAD_SOAK_RUNS`` changes the count.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from dataclasses import replace

import numpy as np
import pytest


from PySide6.QtCore import QObject, QSettings, QThread, Slot  # noqa: E402

from smoothgrad_desktop.core.resources import sample_images  # noqa: E402
from smoothgrad_desktop.gui.main_window import MainWindow  # noqa: E402
from smoothgrad_desktop.gui.models.images import wait_for_thumbnails  # noqa: E402
from smoothgrad_desktop.core.params import Params  # noqa: E402
from smoothgrad_desktop.gui.settings import AppSettings  # noqa: E402
from smoothgrad_desktop.gui.worker import live_threads  # noqa: E402

RUNS = int(os.environ.get("SMOOTHGRAD_SOAK_RUNS", "1000"))
WARM_UP = 50
MAX_RSS_GROWTH_MB = 50.0

pytestmark = [pytest.mark.slow, pytest.mark.gui, pytest.mark.timeout(1800)]
assert sample_images(), "the shipped sample images are missing: the installation is broken"


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def qthread_objects() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if issubclass(type(o), QThread))


class Counter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.finished = 0
        self.last = None

    @Slot(object)
    def on_run(self, outcome) -> None:
        self.finished += 1
        self.last = outcome


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
def test_soak_1000_runs_on_the_default_model(qtbot, tmp_path):
    settings = AppSettings(QSettings(str(tmp_path / "soak.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings=settings, params=Params())  # the default parameters: n = 50, noise 15 %
    qtbot.addWidget(window)
    window.show()
    counter = Counter()
    window.run_finished.connect(counter.on_run)
    try:
        qtbot.waitUntil(lambda: counter.finished >= 1, timeout=60_000)

        def run(i: int) -> None:
            before = counter.finished
            window.set_params(replace(window.params, seed=i))  # a real new computation every time
            window.run_now()  # now, without the edit debounce
            qtbot.waitUntil(lambda: counter.finished > before, timeout=60_000)
            assert counter.last.explanation.result.config.seed == i

        for i in range(1, WARM_UP + 1):
            run(i)
        gc.collect()
        rss0, py0, os0, q0 = rss_mb(), threading.active_count(), os_threads(), qthread_objects()
        live0 = len(live_threads())
        peak = rss0
        t0 = time.perf_counter()
        compute = 0.0
        for i in range(WARM_UP + 1, WARM_UP + RUNS + 1):
            run(i)
            compute += counter.last.explanation.seconds
            if i % 100 == 0:
                peak = max(peak, rss_mb())
                assert threading.active_count() <= py0
        elapsed = time.perf_counter() - t0
        gc.collect()
        rss1 = rss_mb()
        growth = rss1 - rss0
        print(f"\nsoak: {RUNS} runs in {elapsed:.1f} s ({1000 * elapsed / RUNS:.0f} ms/run, "
              f"{1000 * compute / RUNS:.0f} ms of it computing); RSS {rss0:.0f} -> "
              f"{rss1:.0f} MB (growth {growth:+.1f} MB, peak {peak:.0f} MB); Python threads {py0} -> "
              f"{threading.active_count()}, OS threads {os0} -> {os_threads()}, QThread objects {q0} -> "
              f"{qthread_objects()}")
        assert counter.last.explanation.result.n == 50
        assert np.isfinite(window.panels.heatmap_view.image_item.image).all()
        assert window.runs.rowCount() <= 100  # the history is bounded
        assert growth <= MAX_RSS_GROWTH_MB
        assert threading.active_count() <= py0
        assert os_threads() <= os0
        assert qthread_objects() <= q0
        assert len(live_threads()) == live0 == 1
    finally:
        window.close()
    assert window.worker_stopped and not live_threads()
    assert wait_for_thumbnails(10_000)
