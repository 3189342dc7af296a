"""Robustness of the desktop app (issue 5): hostile images and models through the window, cancellation stress,
shutdown mid-run in a real process, export faults, errors that never vanish.

Every file is generated in tmp_path. Dialogs never block: QMessageBox / QFileDialog are replaced by recorders.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import logging.handlers
import os
import pickle
import random
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest


import torch  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QObject, Qt, QTimer, Slot  # noqa: E402
from PySide6.QtGui import QAction  # noqa: E402
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox  # noqa: E402

from smoothgrad_desktop.core import visualize as vz  # noqa: E402
from smoothgrad_desktop.core import images as core_images  # noqa: E402
from smoothgrad_desktop.core.errors import Cancelled  # noqa: E402
from smoothgrad_desktop.core.explain import explain  # noqa: E402
from smoothgrad_desktop.core.images import load_input  # noqa: E402
from smoothgrad_desktop.core.models import load_model  # noqa: E402
from smoothgrad_desktop.core.smoothing import SmoothingConfig, smooth_attribution  # noqa: E402
from smoothgrad_desktop.gui import application  # noqa: E402
from smoothgrad_desktop.gui import main_window as mw  # noqa: E402
from smoothgrad_desktop.gui.main_window import MainWindow  # noqa: E402
from smoothgrad_desktop.core.params import Params  # noqa: E402
from smoothgrad_desktop.gui.worker import live_threads  # noqa: E402
from tests.gui_support import FAST, SAMPLES, assert_one_line, heatmap, shown_image  # noqa: E402
from tests.hostile import Evil, InfGradient, NaNScores, WrongShape, patch_ihdr, png_bytes  # noqa: E402

pytestmark = [pytest.mark.gui, pytest.mark.timeout(180), pytest.mark.usefixtures("tabs_compute_when_opened")]


ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------------ generators


def _asym_rgb(width: int = 24, height: int = 16) -> np.ndarray:
    """Four flat quadrants of distinct colours (no symmetry: every flip/rotation is visible)."""
    arr = np.zeros((height, width, 3), dtype=np.uint8)
    hh, hw = height // 2, width // 2
    arr[:hh, :hw] = (230, 20, 20)
    arr[:hh, hw:] = (20, 200, 20)
    arr[hh:, :hw] = (20, 20, 230)
    arr[hh:, hw:] = (240, 240, 40)
    return arr


def _expected_orientation(arr: np.ndarray, orientation: int) -> np.ndarray:
    return {
        1: lambda a: a, 2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1, :],
        5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
        8: lambda a: np.rot90(a, 1),
    }[orientation](arr)


def bad_corpus(folder: Path) -> list[tuple[Path, str]]:
    """(file, a fragment of the expected one-line reason)."""
    folder.mkdir()
    noise = np.random.default_rng(0).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    out = []
    p = folder / "zero.png"
    p.write_bytes(b"")
    out.append((p, "empty file"))
    p = folder / "letter.png"
    p.write_text("Dear analyst, this is not a picture.\n" * 20)
    out.append((p, "not an image file"))
    png = png_bytes(Image.fromarray(noise))
    p = folder / "cut.png"
    p.write_bytes(png[: len(png) // 2])
    out.append((p, "truncated or corrupt"))
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "JPEG", quality=90)
    p = folder / "cut.jpg"
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    out.append((p, "truncated or corrupt"))
    p = folder / "huge.png"
    p.write_bytes(patch_ihdr(png_bytes(Image.new("L", (1, 1))), 60000, 60000))
    out.append((p, "too many pixels"))
    p = folder / "locked.png"
    Image.new("L", (8, 8), 7).save(p)
    out.append((p, "permission denied"))
    p = folder / "folder.png"
    p.mkdir()
    out.append((p, "no supported images"))
    strip = np.zeros((10, 10000), dtype=np.uint8)  # the embedded model would see a 28 x 28,000 input
    p = folder / "strip.png"
    Image.fromarray(strip).save(p)
    out.append((p, "aspect 1 000:1"))
    return out


def good_corpus(folder: Path) -> list[tuple[Path, np.ndarray, str | None]]:
    """(file, the RGB picture the window must show, a note that must be shown or None)."""
    folder.mkdir()
    out = []
    p = folder / "deep16.png"
    Image.fromarray(np.array([[0, 257, 32768, 65535, 1000]] * 3, dtype=np.uint16)).save(p)
    out.append((p, np.repeat(np.array([[0, 1, 128, 255, 4]] * 3, np.uint8)[:, :, None], 3, 2),
                "16-bit greyscale scaled to 8 bits"))
    ref = _asym_rgb(32, 24)
    p = folder / "print.jpg"
    Image.fromarray(ref).convert("CMYK").save(p, "JPEG", quality=95)
    out.append((p, ref, "CMYK"))  # compared with a tolerance
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        p = folder / f"oriented_{orientation}.png"
        Image.fromarray(_asym_rgb(24, 16)).save(p, exif=exif.tobytes())
        out.append((p, np.ascontiguousarray(_expected_orientation(_asym_rgb(24, 16), orientation)),
                    None if orientation == 1 else f"EXIF orientation {orientation} applied"))
    la = np.array([[[100, 0], [100, 128], [100, 255]]] * 2, dtype=np.uint8)
    p = folder / "la.png"
    Image.frombytes("LA", (3, 2), la.tobytes()).save(p)
    over = [int(np.rint(100 * a / 255 + 255 * (1 - a / 255))) for a in (0, 128, 255)]
    out.append((p, np.repeat(np.array([over] * 2, np.uint8)[:, :, None], 3, 2), "transparency"))
    img = Image.frombytes("P", (3, 1), bytes([0, 1, 2]))
    img.putpalette([255, 0, 0, 0, 0, 255, 0, 128, 0] + [0] * (3 * 253))
    p = folder / "palette.png"
    img.save(p, transparency=0)
    out.append((p, np.array([[(255, 255, 255), (0, 0, 255), (0, 128, 0)]], np.uint8),
                "transparency composited over white"))
    frames = [Image.new("RGB", (4, 3), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].putpixel((1, 1), (0, 0, 0))
    p = folder / "anim.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=50, loop=0)
    first = np.zeros((3, 4, 3), np.uint8)
    first[:, :] = (255, 0, 0)
    first[1, 1] = (0, 0, 0)
    out.append((p, first, "animated image: first of 3 frames used"))
    p = folder / "dot.png"
    Image.new("RGB", (1, 1), (1, 2, 3)).save(p)
    out.append((p, np.array([[(1, 2, 3)]], np.uint8), None))
    wide = np.zeros((10, 180), dtype=np.uint8)  # 28 x 504 for the embedded model: within the 20:1 bound
    wide[:, ::2] = 255
    p = folder / "wide.png"
    Image.fromarray(wide).save(p)
    out.append((p, np.repeat(wide[:, :, None], 3, 2), None))
    return out


def open_through_dialog(window: MainWindow, monkeypatch, path: Path) -> None:
    """File > Open files… with the file dialog answering ``path``."""
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(lambda *a, **k: ([str(path)], "")))
    window.open_files()


# ------------------------------------------------------------------------------------------------ image corpus


def test_bad_image_corpus_gives_one_line_each_and_the_app_stays_usable(make_window, qtbot, tmp_path, monkeypatch,
                                                                      dialogs):
    window = make_window()
    corpus = bad_corpus(tmp_path / "bad")
    locked = str(next(p for p, _ in corpus if p.name == "locked.png"))
    real_access = core_images.os.access
    monkeypatch.setattr(core_images.os, "access",
                        lambda p, mode, *a, **k: False if str(p) == locked else real_access(p, mode, *a, **k))
    failures = []
    window.job_failed.connect(lambda kind, message: failures.append((kind, message)))
    for path, reason in corpus:
        failures.clear()
        before = window.message_label.toolTip()
        t0 = time.perf_counter()
        open_through_dialog(window, monkeypatch, path)
        if path.is_dir():  # refused when opened: nothing is queued
            message = window.message_label.toolTip()
            assert message != before
        else:
            qtbot.waitUntil(lambda: bool(failures), timeout=30_000)
            kind, message = failures[0]
            assert kind == "explain"
            assert window.message_label.toolTip() == message
        assert time.perf_counter() - t0 < 10
        assert_one_line(message)
        assert path.name in message and reason in message, message
        assert "unexpected error" not in message
        assert window.statusBar().currentMessage() == message
        if not path.is_dir():
            assert heatmap(window) is None and window.current is None  # no map from another image stays up
            assert shown_image(window) is None
            entry = window.current_entry()
            assert entry.name == path.name and entry.error == message  # the list marks the file
    assert dialogs.shown == []  # status line only: no dialog to dismiss per file
    # still usable: a good image computes its map
    good = tmp_path / "good.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (28, 28), dtype=np.uint8)).save(good)
    with qtbot.waitSignal(window.run_finished, timeout=30_000) as blocker:
        open_through_dialog(window, monkeypatch, good)
    assert blocker.args[0].explanation.image.name == "good.png"
    assert heatmap(window) is not None and np.abs(heatmap(window)).max() > 0
    assert window.panels.heatmap_view.title() == "Heatmap"


def test_odd_but_good_images_load_and_show_correctly(make_window, qtbot, tmp_path, monkeypatch, qtlog):
    window = make_window()
    for path, expected, note in good_corpus(tmp_path / "good"):
        with qtbot.waitSignal(window.run_finished, timeout=60_000) as blocker:
            open_through_dialog(window, monkeypatch, path)
        outcome = blocker.args[0]
        assert outcome.explanation.image.name == path.name
        shown = shown_image(window)
        assert shown is not None and shown.shape == expected.shape, (path.name, None if shown is None else shown.shape)
        if path.suffix == ".jpg":
            assert np.abs(shown.astype(int) - expected.astype(int)).mean() < 8, path.name
        else:
            np.testing.assert_array_equal(shown, expected, err_msg=path.name)
        assert heatmap(window) is not None and np.isfinite(heatmap(window)).all()
        entry = window.current_entry()
        tooltip = window.images.data(window.images.index(window.images.row_of(entry.key)),
                                     Qt.ItemDataRole.ToolTipRole)
        if note is not None:
            assert any(note in n for n in outcome.explanation.image.notes), (path.name, outcome.explanation.image.notes)
            assert note in window.statusBar().currentMessage()  # said where the user looks, not only in a tooltip
            assert note in tooltip
        else:
            assert "(input:" not in window.statusBar().currentMessage()
    # the 64 x 1 thumbnail of the 10000 x 10 image is padded to a square: no null pixmap painted
    assert not [r for r in qtlog.records if "QPainter" in r.message]


# ------------------------------------------------------------------------------------------------ model files


def _wait_failure(qtbot, window, action) -> tuple[str, str]:
    with qtbot.waitSignal(window.job_failed, timeout=60_000) as blocker:
        action()
    return blocker.args[0], blocker.args[1]


def _still_usable(qtbot, window, seed: int) -> None:
    with qtbot.waitSignal(window.run_finished, timeout=60_000) as again:
        window.set_params(replace(window.params, model="default", weights="", seed=seed))
    assert again.args[0].explanation.result.config.seed == seed
    assert window.model_info.spec == "default"
    assert heatmap(window) is not None


@pytest.mark.parametrize("container", ["torch-zip", "raw-pickle"])
def test_a_pickle_that_would_run_code_is_refused_and_never_runs(make_window, qtbot, tmp_path, container):
    window = make_window()
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    payload = {"conv1.weight": torch.zeros(1), "x": Evil(marker)}
    if container == "torch-zip":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    kind, message = _wait_failure(qtbot, window, lambda: window.set_params(
        replace(window.params, model="resnet18", weights=str(path))))
    assert kind == "load"
    assert_one_line(message)
    assert "evil.pt" in message and ("refused" in message or "cannot read" in message), message
    assert not marker.exists()
    assert "still using" in window.message_label.toolTip()
    assert window.model_info.spec == "default"
    _still_usable(qtbot, window, seed=21)
    assert not marker.exists()


def test_state_dict_for_the_wrong_architecture_names_the_keys(make_window, qtbot, tmp_path):
    window = make_window()
    path = tmp_path / "other.pth"
    torch.save(torch.nn.Sequential(torch.nn.Linear(3, 2)).state_dict(), path)
    kind, message = _wait_failure(qtbot, window, lambda: window.set_params(
        replace(window.params, model="resnet18", weights=str(path))))
    assert kind == "load"
    assert_one_line(message)
    assert "missing keys: conv1.weight" in message and "unexpected keys: 0.weight" in message, message
    _still_usable(qtbot, window, seed=22)


@pytest.mark.parametrize("module, fragment", [
    (WrongShape(), "expected (N, K)"),
    (NaNScores(), "NaN/Inf"),
    (InfGradient(), "not finite"),
])
def test_hostile_torchscript_gives_a_message_and_no_map(make_window, qtbot, tmp_path, module, fragment):
    window = make_window()
    assert heatmap(window) is not None
    path = tmp_path / "hostile.pt"
    torch.jit.script(module).save(str(path))
    (tmp_path / "hostile.pt.json").write_text('{"channels": 1}')
    finished = []
    window.run_finished.connect(finished.append)
    kind, message = _wait_failure(qtbot, window, lambda: window.set_params(replace(window.params, model=str(path))))
    assert_one_line(message)
    assert fragment in message, message
    assert "unexpected error" not in message
    assert finished == []
    assert heatmap(window) is None and window.current is None  # no map: not even the old model's
    assert window.panels.overlay_view.image_item.image is None
    assert "no map" in window.panels.heatmap_view.title()
    _still_usable(qtbot, window, seed=23)


# ------------------------------------------------------------------------------------------------ cancellation


class Recorder(QObject):
    """GUI-thread receiver of the worker's signals (slots of a GUI object, never lambdas: pitfall 5)."""

    def __init__(self, worker) -> None:
        super().__init__()
        self.progress: dict[int, int] = {}
        self.ended: dict[int, str] = {}
        worker.progress.connect(self.on_progress)
        worker.finished.connect(self.on_finished)
        worker.cancelled.connect(self.on_cancelled)
        worker.failed.connect(self.on_failed)

    @Slot(int, int, int, float)
    def on_progress(self, job_id, done, total, eta):
        self.progress[job_id] = self.progress.get(job_id, 0) + 1

    @Slot(int, str, object)
    def on_finished(self, job_id, kind, outcome):
        self.ended[job_id] = "finished"

    @Slot(int, str)
    def on_cancelled(self, job_id, kind):
        self.ended[job_id] = "cancelled"

    @Slot(int, str, str)
    def on_failed(self, job_id, kind, message):
        self.ended[job_id] = "failed: " + message


def _direct_map(model, image, config: SmoothingConfig) -> np.ndarray:
    return vz.reduce_channels(explain(model, image, config).result.attribution, "absolute")


def test_100_start_cancel_cycles_leave_no_thread_and_no_stale_map(make_window, qtbot):
    window = make_window()
    threads_before = threading.active_count()
    rec = Recorder(window.controller.worker)
    model = load_model("default", device="cpu")
    image = load_input(SAMPLES[0])
    shown: list[tuple[object, np.ndarray, str, Params]] = []

    class Shown(QObject):
        @Slot(object)
        def on_run(self, outcome):  # what the window shows as final, and the parameters asked for at that time
            shown.append((outcome, np.array(heatmap(window), copy=True), window.panels.heatmap_view.title(),
                          window.params))

    sink = Shown()
    window.run_finished.connect(sink.on_run)
    rng = random.Random(5)
    submitted: list[int] = []
    user_cancels = supersedes = over_partial = 0
    t0 = time.perf_counter()
    for cycle in range(101):
        point = rng.randint(-1, 4)  # -1: immediately; 0-3: after that many progress reports; 4: once the running
        # mean is on screen (the worker sends it every 0.25 s, so these runs are longer)
        params = replace(window.params, seed=rng.randrange(10_000),
                         n_samples=rng.choice([1024, 2048] if point == 4 else [96, 160, 256]),
                         batch_size=rng.choice([4, 8, 16]), noise_level=rng.choice([0.1, 0.15, 0.2]))
        window.set_params(params)
        window.run_now()  # no debounce: submitted now; supersedes (cancels) the previous run
        job_id = window.controller.latest("explain").id
        assert job_id not in submitted
        submitted.append(job_id)
        if cycle == 100:
            break  # the last run is not cancelled
        if point == 4:
            qtbot.waitUntil(lambda: "running mean" in window.panels.heatmap_view.title() or job_id in rec.ended,
                            timeout=20_000)
        elif point >= 0:
            qtbot.waitUntil(lambda: rec.progress.get(job_id, 0) >= point or job_id in rec.ended, timeout=20_000)
        if rng.random() < 0.5:
            user_cancels += 1
            over_partial += "running mean" in window.panels.heatmap_view.title()
            window.cancel()
            qtbot.waitUntil(lambda: job_id in rec.ended, timeout=20_000)
            # after a user cancel no running mean stays on screen: the last final map of this image, or nothing
            title = window.panels.heatmap_view.title()
            assert "running mean" not in title
            if window.current is not None:
                expected = vz.reduce_channels(window.current.explanation.result.attribution, "absolute")
                np.testing.assert_allclose(heatmap(window), expected, rtol=1e-6)
            else:
                assert heatmap(window) is None
        else:
            supersedes += 1
    with qtbot.waitSignal(window.run_finished, timeout=60_000,
                          check_params_cb=lambda o: o.explanation.result.config.seed == params.seed):
        pass
    qtbot.waitUntil(lambda: not window.controller.pending(), timeout=20_000)
    elapsed = time.perf_counter() - t0

    # every job ended exactly one way (the recorder's queued slots may run after the window's: wait for them)
    qtbot.waitUntil(lambda: set(rec.ended) >= set(submitted), timeout=20_000)
    assert not [j for j in submitted if rec.ended[j].startswith("failed")]
    cancelled = [j for j in submitted if rec.ended[j] == "cancelled"]
    assert rec.ended[submitted[-1]] == "finished"
    assert len(cancelled) >= 60, (len(cancelled), user_cancels, supersedes)  # most cycles really were cut short
    assert over_partial >= 3, over_partial  # some Cancels came while a running mean was shown
    # whatever was shown as final was a complete run of the parameters asked for at that moment
    for outcome, values, title, asked in shown:
        r = outcome.explanation.result
        assert title == "Heatmap"
        assert r.n == asked.n_samples and r.config.seed == asked.seed and r.config.noise_level == asked.noise_level
        np.testing.assert_allclose(values, vz.reduce_channels(r.attribution, "absolute"), rtol=1e-6)
    # the final map equals a direct core computation with the same parameters
    final = window.current.explanation.result
    assert final.config.seed == params.seed and final.n == params.n_samples
    direct = _direct_map(model, image, params.config())
    np.testing.assert_allclose(heatmap(window), direct, rtol=1e-4, atol=1e-6)
    assert window.panels.heatmap_view.title() == "Heatmap"
    # a few of the runs that finished earlier are checked against the core too
    for outcome, values, _, _ in shown[:-1][:3]:
        np.testing.assert_allclose(values, _direct_map(model, image, outcome.explanation.result.config),
                                   rtol=1e-4, atol=1e-6)
    # no leaked thread: one worker QThread, no extra Python thread
    assert live_threads() == [window.controller.worker_thread]
    assert threading.active_count() == threads_before
    print(f"\n100 start/cancel cycles in {elapsed:.1f} s: {len(cancelled)} cancelled "
          f"({user_cancels} by Cancel, {over_partial} of them over a running mean, {supersedes} superseded), "
          f"{len(shown)} shown as final")
    assert elapsed < 90


def test_integrated_gradients_checks_cancel_inside_a_long_batch():
    """One IG sample of 64 steps in chunks of 2 rows: cancel is honoured after the first chunk, not after 32."""
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3)).eval()
    calls = {"n": 0}
    real = net.forward

    def forward(x):
        calls["n"] += 1
        return real(x)

    state = {"checks": 0}

    def cancel():
        state["checks"] += 1
        return state["checks"] > 1  # the first check (before the batch) passes, the next (inside IG) cancels

    with pytest.raises(Cancelled):
        smooth_attribution(forward, torch.rand(3, 2, 2), 1,
                           SmoothingConfig(method="integrated-gradients", steps=64, n_samples=4, batch_size=2),
                           cancel=cancel)
    assert calls["n"] == 1  # one chunk ran, then the cancel stopped the batch
    # without cancel the same call completes and equals the unchunked result
    a = smooth_attribution(forward, torch.rand(3, 2, 2), 1,
                           SmoothingConfig(method="integrated-gradients", steps=8, n_samples=2, batch_size=2))
    assert np.isfinite(a.attribution).all()


# ------------------------------------------------------------------------------------------------ shutdown

_SHUTDOWN_SCRIPT = textwrap.dedent("""
    import sys, time
    from dataclasses import replace
    from PySide6.QtCore import QTimer
    from smoothgrad_desktop.gui import application, main_window

    N, MODEL, WEIGHTS, METHOD = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    METHOD_ARG = METHOD
    STUCK = {"on": False}
    if METHOD == "stuck":  # a batch that takes 30 s and cannot be interrupted (the worst case)
        from smoothgrad_desktop.core.methods import METHODS

        gradient = METHODS["gradient"]

        def stuck(*args, **kwargs):
            if STUCK["on"]:
                STUCK["inside"] = True  # the worker is inside the batch now (set from the worker thread)
                time.sleep(30)
            return gradient(*args, **kwargs)

        METHODS["gradient"] = stuck
        METHOD = "gradient"
    original = main_window.MainWindow.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        phase = {"step": 0}

        def tick():
            if phase["step"] == 0 and self.current is not None:  # the first map is shown: start the long run
                phase["step"] = 1
                STUCK["on"] = True
                self.set_params(replace(self.params, n_samples=N, model=MODEL, weights=WEIGHTS, method=METHOD))
                self.run_now()
            elif phase["step"] == 1 and STUCK["on"] and METHOD_ARG == "stuck":
                if STUCK.get("inside") and "seen" not in phase:  # the worker is inside its first batch
                    phase["seen"] = time.time()
                if "seen" in phase and time.time() - phase["seen"] > 0.1:
                    phase["step"] = 2
                    print(f"CLOSING {time.time():.4f} 0/{N}", file=sys.stderr, flush=True)
                    self.close()
            elif phase["step"] == 1 and self.progress.maximum() == N and 0 < self.progress.value() < N:
                phase["step"] = 2  # mid-run: close the main window
                print(f"CLOSING {time.time():.4f} {self.progress.value()}/{N}", file=sys.stderr, flush=True)
                self.close()

        timer = QTimer(self)
        timer.timeout.connect(tick)
        timer.start(10)

    main_window.MainWindow.__init__ = init
    sys.exit(application.run_gui([]))
""")


def _run_and_close(tmp_path: Path, n: int, model: str, weights: str = "", method: str = "gradient"):
    home = tmp_path / "home"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), HOME=str(home),
               XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
               XDG_CACHE_HOME=str(home / "cache"), XDG_RUNTIME_DIR=str(home / "runtime"))
    (home / "runtime").mkdir(parents=True, exist_ok=True, mode=0o700)
    env.pop("PYTEST_CURRENT_TEST", None)
    proc = subprocess.Popen([sys.executable, "-c", _SHUTDOWN_SCRIPT, str(n), model, weights, method], env=env,
                            cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=150)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the app did not exit: {err[-2000:]}")
    ended = time.time()
    closing = [line for line in err.splitlines() if line.startswith("CLOSING ")]
    assert closing, err[-3000:]
    _, stamp, done = closing[0].split()
    log = next((home / "data").rglob("smoothgrad-desktop.log")).read_text(encoding="utf-8")
    return proc.returncode, ended - float(stamp), done, err, log


@pytest.mark.parametrize("model, weights, method", [
    ("default", "", "gradient"),
    ("default", "", "integrated-gradients"),
    ("resnet18", "random", "gradient"),
    ("default", "", "stuck"),  # the worker is inside a batch it cannot leave: the process exits without it
])
def test_closing_the_window_mid_run_exits_within_2_s(tmp_path, model, weights, method):
    code, seconds, done, err, log = _run_and_close(tmp_path, 5000, model, weights, method)
    print(f"\n{model}/{method}: closed at {done} samples, process gone {seconds:.2f} s after close")
    assert code == 0, err[-3000:]
    assert "Destroyed while thread" not in err and "Traceback" not in err, err[-3000:]
    assert int(done.split("/")[0]) < 5000  # really mid-run
    assert seconds < 2.0
    assert "SmoothGrad Desktop exiting (code 0)" in log  # the log was flushed before the fast exit
    if method == "stuck":
        assert "still inside a batch" in log


# ------------------------------------------------------------------------------------------------ export faults


def _export_dialog(window: MainWindow, monkeypatch, target: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    window.export_action.trigger()  # File > Export…, as the user does it


def _listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


@pytest.mark.parametrize("fault", ["read-only-folder", "read-only-replace", "disk-full"])
def test_export_faults_give_one_line_and_leave_nothing(make_window, qtbot, tmp_path, monkeypatch, dialogs, fault):
    import smoothgrad_desktop.core.export as core_export

    window = make_window()
    out = tmp_path / "out"
    out.mkdir()
    if fault == "read-only-folder":  # tests run as root: a read-only folder is simulated where it bites
        def mkstemp(*args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied")
        monkeypatch.setattr(core_export.tempfile, "mkstemp", mkstemp)
        reason = "Permission denied"
    elif fault == "read-only-replace":
        real_replace = os.replace
        calls = {"n": 0}

        def replace_(src, dst):
            calls["n"] += 1
            if calls["n"] == 2:  # the first file is already in place: it must be taken back
                raise OSError(errno.EACCES, "Permission denied")
            return real_replace(src, dst)
        monkeypatch.setattr(core_export.os, "replace", replace_)
        reason = "Permission denied"
    else:
        real_fdopen = os.fdopen
        calls = {"n": 0}

        class Full:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

            def write(self, data):
                self.f.write(data[: len(data) // 2])  # half the bytes reach the disk, then it is full
                self.f.flush()
                raise OSError(errno.ENOSPC, "No space left on device")

            def __getattr__(self, name):
                return getattr(self.f, name)

        def fdopen(fd, *args, **kwargs):
            calls["n"] += 1
            f = real_fdopen(fd, *args, **kwargs)
            return Full(f) if calls["n"] == 2 else f  # the second file of the group fails mid-write
        monkeypatch.setattr(core_export.os, "fdopen", fdopen)
        reason = "No space left on device"

    _export_dialog(window, monkeypatch, out / "run.png")
    message = window.message_label.toolTip()
    assert_one_line(message)
    assert message.startswith("export failed, nothing was written") and reason in message, message
    assert dialogs.texts("warning") and reason in dialogs.texts("warning")[-1]
    assert _listing(out) == []  # no partial file, no temporary file
    # and the same export works once the fault is gone
    monkeypatch.undo()
    _export_dialog(window, monkeypatch, out / "run.png")
    assert _listing(out) == ["run-figure.pdf", "run-figure.png", "run-overlay.png", "run.json", "run.npy", "run.png"]


def test_export_name_collision_asks_and_never_overwrites_without_consent(make_window, qtbot, tmp_path, monkeypatch,
                                                                       dialogs):
    window = make_window()
    out = tmp_path / "out"
    out.mkdir()
    _export_dialog(window, monkeypatch, out / "run.png")
    names = _listing(out)
    assert names == ["run-figure.pdf", "run-figure.png", "run-overlay.png", "run.json", "run.npy", "run.png"]
    first = {n: (out / n).read_bytes() for n in names}
    with qtbot.waitSignal(window.run_finished, timeout=30_000):
        window.set_params(replace(window.params, seed=99))
    # No: nothing written, the old files intact, nothing left behind
    dialogs.answer = QMessageBox.StandardButton.No
    _export_dialog(window, monkeypatch, out / "run.png")
    asked = dialogs.texts("question")
    assert len(asked) == 1 and "6 file(s) already exist" in asked[0]
    assert {n: (out / n).read_bytes() for n in _listing(out)} == first
    assert "nothing was written" in window.statusBar().currentMessage()
    # Yes: replaced as a group, no temporary or backup file left
    dialogs.answer = QMessageBox.StandardButton.Yes
    _export_dialog(window, monkeypatch, out / "run.png")
    assert _listing(out) == names
    assert json.loads((out / "run.json").read_text())["seed"] == 99
    assert json.loads(first["run.json"])["seed"] == FAST.seed
    assert (out / "run.npy").read_bytes() != first["run.npy"]
    assert window.statusBar().currentMessage().startswith("Exported 6 file(s)")


# ------------------------------------------------------------------------------------------------ errors never vanish


def test_an_exception_inside_a_worker_job_reaches_the_ui(make_window, qtbot, monkeypatch):
    from smoothgrad_desktop.gui import worker as worker_module

    window = make_window()

    def broken(*args, **kwargs):
        raise RuntimeError("kaboom in the core\nsecond line of detail")

    monkeypatch.setattr(worker_module, "explain", broken)
    kind, message = _wait_failure(qtbot, window, lambda: window.set_params(replace(window.params, seed=31)))
    assert kind == "explain"
    assert message == "unexpected error: RuntimeError: kaboom in the core"
    assert window.message_label.toolTip() == message
    assert window.current is None and heatmap(window) is None
    # an experiment tab's job too
    monkeypatch.setattr(worker_module.ex, "sigma_n_grid", broken)
    kind, message = _wait_failure(qtbot, window, lambda: window.show_tab("grid"))
    assert kind == "grid" and message == "unexpected error: RuntimeError: kaboom in the core"
    assert window.exp_tabs["grid"].status.text() == f"Failed: {message}"
    monkeypatch.undo()
    window.show_tab("map")
    _still_usable(qtbot, window, seed=32)


def test_run_gui_installs_hooks_logs_and_shows_thread_and_slot_errors(qtbot, monkeypatch, hooks, tmp_path, dialogs):
    data = tmp_path / "appdata"
    real_setup = application.setup_logging
    monkeypatch.setattr(application, "setup_logging", lambda folder=None, **k: real_setup(data, **k))
    shown: list[str] = []
    real_show_error = MainWindow.show_error
    monkeypatch.setattr(MainWindow, "show_error", lambda self, text: (shown.append(text), real_show_error(self, text)))
    seen: dict = {}
    original = MainWindow.__init__

    class Slots(QObject):
        @Slot()
        def boom(self):
            raise ValueError("slot went bad")

    slots = Slots()

    def crash():
        raise RuntimeError("thread went bad")

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        seen["window"] = self

        def step():
            seen["hooks"] = (sys.excepthook, threading.excepthook)
            about = next(a for a in self.findChildren(QAction) if a.text().replace("&", "").startswith("About"))
            about.trigger()  # the About box, recorded by the dialogs fixture
            t = threading.Thread(target=crash, name="crasher")
            t.start()
            t.join()
            QTimer.singleShot(0, slots.boom)  # raised inside a Qt slot called by the event loop
            seen["step"] = True

        def check():
            if "step" not in seen:
                if self.current is not None:
                    step()
            elif any("slot went bad" in s for s in shown) and any("thread went bad" in s for s in shown):
                self.close()
                return
            QTimer.singleShot(20, check)

        QTimer.singleShot(0, check)

    monkeypatch.setattr(MainWindow, "__init__", init)
    code = application.run_gui([])
    assert code == 0
    assert seen["hooks"] == (application._sys_hook, application._thread_hook)
    thread_line = next(s for s in shown if "thread went bad" in s)
    slot_line = next(s for s in shown if "slot went bad" in s)
    for line in (thread_line, slot_line):
        assert_one_line(line)
    assert thread_line.startswith("unexpected error: RuntimeError: thread went bad")
    assert slot_line.startswith("unexpected error: ValueError: slot went bad")
    log_file = data / "logs" / application.LOG_NAME
    assert application.log_file_path() == log_file
    assert str(log_file) in thread_line  # the message says where the details are
    for h in logging.getLogger("smoothgrad_desktop").handlers:
        h.flush()
    text = log_file.read_text(encoding="utf-8")
    assert "uncaught exception in thread crasher" in text and "uncaught exception in the GUI thread" in text
    assert text.count("Traceback") >= 2 and "thread went bad" in text and "slot went bad" in text
    # the About box says where the log is
    about = dialogs.texts("about")
    assert about and str(log_file) in about[0]
    assert isinstance(logging.getLogger("smoothgrad_desktop").handlers[0], logging.handlers.RotatingFileHandler)
    assert seen["window"].worker_stopped


def test_the_log_lives_in_the_app_data_location(qtbot, hooks, monkeypatch, tmp_path):
    from PySide6.QtCore import QStandardPaths

    monkeypatch.setenv("HOME", str(tmp_path))  # test mode: <home>/.qttest/share/<organisation>/<application>
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    app = QApplication.instance()
    names = (app.organizationName(), app.applicationName())
    try:
        application.create_application([])  # the names run_gui gives the application
        path = application.setup_logging()
        expected = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    finally:
        app.setOrganizationName(names[0])
        app.setApplicationName(names[1])
    assert path == expected / "logs" / "smoothgrad-desktop.log"
    assert str(path).startswith(str(tmp_path))
    assert path.parent.parent.parts[-2:] == ("SmoothGrad", "SmoothGrad Desktop")
    handler = next(h for h in logging.getLogger("smoothgrad_desktop").handlers
                   if isinstance(h, logging.handlers.RotatingFileHandler))
    assert handler.maxBytes == 1_000_000 and handler.backupCount == 3
