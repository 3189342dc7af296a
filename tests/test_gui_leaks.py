"""The leak checks of tests/conftest.py: a QThread left running, a QTimer left active, a single shot still pending, a
busy QThreadPool and a window left open each fail the test, and the message names the line that made them."""

from __future__ import annotations

import textwrap
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QRunnable, QThread, QThreadPool, QTimer
from PySide6.QtWidgets import QWidget

from tests.qt_leaks import QtLeakTracker

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[1]
HERE = "tests/test_gui_leaks.py"


def _line_of(text: str) -> int:
    """The line of this file holding ``text`` (so the expectations do not shift when the file is edited)."""
    lines = Path(__file__).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line and "_line_of" not in line)


class _Sleeper(QRunnable):
    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.release = release

    def run(self) -> None:
        self.release.wait(10)


def test_the_checker_names_each_leaked_object_and_where_it_was_made(qtbot, monkeypatch):
    tracker = QtLeakTracker().install(monkeypatch)
    thread = QThread()  # leak: thread made
    thread.setObjectName("left-running")
    thread.start()  # leak: thread started
    timer = QTimer()
    timer.start(60_000)  # leak: timer started
    QTimer.singleShot(60_000, lambda: None)  # leak: single shot
    release = threading.Event()
    pool = QThreadPool()
    pool.start(_Sleeper(release))  # leak: pool used
    window = QWidget()  # leak: window made
    window.setWindowTitle("left open")
    window.show()
    stopped = QTimer()
    stopped.start(60_000)
    stopped.stop()  # stopped in time: not a leak
    closed = QWidget()
    closed.show()
    closed.close()
    closed.deleteLater()  # closed and deleted: not a leak
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    leaks = tracker.check(pool_grace_ms=50)
    release.set()
    text = "\n".join(leaks)
    assert len(leaks) == 5, text
    thread_line = next(line for line in leaks if line.startswith("QThread 'left-running' still running"))
    assert f"created at {HERE}:{_line_of('# leak: thread made')} (" in thread_line
    assert f"started at {HERE}:{_line_of('# leak: thread started')} (" in thread_line
    assert any(line.startswith("QTimer still active (60000 ms)")
               and f"started at {HERE}:{_line_of('# leak: timer started')} (" in line for line in leaks), text
    assert any(line.startswith("single-shot QTimer still active")
               and f"{HERE}:{_line_of('# leak: single shot')} (" in line for line in leaks), text
    assert any(line.startswith("QThreadPool still running 1 task(s)")
               and f"{HERE}:{_line_of('# leak: pool used')} (" in line for line in leaks), text
    assert any(line.startswith("top-level QWidget 'left open' still alive (visible)")
               and f"created at {HERE}:{_line_of('# leak: window made')} (" in line for line in leaks), text
    # what was found is stopped and closed
    assert not thread.isRunning() and not timer.isActive() and not window.isVisible()
    assert pool.waitForDone(10_000)
    assert tracker.check() == []  # a second look finds nothing left
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


_LEAKY = '''
from PySide6.QtCore import QThread, QTimer
from PySide6.QtWidgets import QWidget

kept = []


def test_leaks_a_thread(qtbot):
    thread = QThread()
    thread.start()
    kept.append(thread)


def test_leaks_a_timer(qtbot):
    timer = QTimer()
    timer.start(60_000)
    kept.append(timer)


def test_leaks_a_window(qtbot):
    window = QWidget()
    window.show()
    kept.append(window)


def test_cleans_up(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    timer = QTimer()
    timer.start(60_000)
    timer.stop()
    thread = QThread()
    thread.start()
    thread.quit()
    assert thread.wait(10_000)
'''


def test_the_conftest_fails_gui_tests_that_leak_and_passes_one_that_cleans_up(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    pytester.makeconftest('pytest_plugins = ["tests.conftest"]\n')
    source = textwrap.dedent(_LEAKY)
    (pytester.path / "test_gui_leaky.py").write_text(source, encoding="utf-8")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", timeout=300)
    result.assert_outcomes(passed=4, errors=3)
    out = result.stdout.str()
    lines = source.splitlines()
    for test, code, what in (("test_leaks_a_thread", "thread.start()", "QThread '' still running: created at"),
                             ("test_leaks_a_timer", "timer.start(", "QTimer still active (60000 ms): created at"),
                             ("test_leaks_a_window", "window = QWidget()",
                              "top-level QWidget '' still alive (visible): created at")):
        line = next(i for i, text in enumerate(lines, 1) if code in text)  # the first: in the leaking test
        assert f"ERROR at teardown of {test}" in out, out
        assert what in out and f"test_gui_leaky.py:{line} ({test})" in out, out
    assert "ERROR at teardown of test_cleans_up" not in out
