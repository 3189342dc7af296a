"""Finds Qt objects a test leaves behind: a started QThread still running, a QTimer still active, a QThreadPool still
busy, or a new top-level widget still alive once the test's widgets are closed. Each finding says where the object
was created (and, for threads and timers, started), so a failure points at the line to fix.

``QtLeakTracker.install(monkeypatch)`` wraps the constructors and start methods of the Qt classes for one test;
``check()`` returns one message per leak and stops/closes what it found, so that one leak cannot take the rest of the
session down. tests/conftest.py runs it around every GUI test.
"""

from __future__ import annotations

import gc
import sys
import weakref
from contextlib import suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_PROJECT = (str(ROOT / "smoothgrad_desktop"), str(ROOT / "tests"))
_HERE = str(Path(__file__).resolve())
FRAMES = 6  # project frames shown per site


def call_site(skip: int = 2) -> str:
    """The innermost frames of the current call stack that lie in the package or its tests (this module excluded),
    innermost first, as ``path:line (function)``; the innermost frame of any file when none does (Qt internals)."""
    frame = sys._getframe(skip)
    found: list[str] = []
    first = None
    while frame is not None and len(found) < FRAMES:
        name = frame.f_code.co_filename
        if name != _HERE:
            where = f"{name}:{frame.f_lineno} ({frame.f_code.co_name})"
            first = first or where
            if name.startswith(_PROJECT):
                rel = Path(name).resolve()
                with suppress(ValueError):
                    rel = rel.relative_to(ROOT)
                found.append(f"{rel}:{frame.f_lineno} ({frame.f_code.co_name})")
        frame = frame.f_back
    if not found:
        return first or "unknown"
    return " <- ".join(found)


def _valid(obj) -> bool:
    import shiboken6

    try:
        return shiboken6.isValid(obj)
    except Exception:  # noqa: BLE001 - not a Qt object any more
        return False


def _pointer(obj) -> int:
    import shiboken6

    return int(shiboken6.getCppPointer(obj)[0])


def _popup_types() -> tuple:
    from PySide6.QtCore import Qt

    return (Qt.WindowType.Popup, Qt.WindowType.ToolTip)


def _widget_classes() -> list[type]:
    from PySide6 import QtWidgets

    found = []
    for name in dir(QtWidgets):  # PySide6 fills the module lazily: never iterate its __dict__
        cls = getattr(QtWidgets, name, None)
        if isinstance(cls, type) and issubclass(cls, QtWidgets.QWidget):
            found.append(cls)
    return found


class QtLeakTracker:
    """Records where Qt threads, timers, thread pools and widgets are made during one test; ``check`` lists leaks."""

    def __init__(self) -> None:
        self.created: dict[int, str] = {}  # C++ address -> site (Qt may hand back a new Python wrapper later)
        self.threads: "weakref.WeakKeyDictionary[object, str]" = weakref.WeakKeyDictionary()
        self.timers: "weakref.WeakKeyDictionary[object, str]" = weakref.WeakKeyDictionary()
        self.single_shots: list[tuple[object, str]] = []
        self.pools: "weakref.WeakKeyDictionary[object, str]" = weakref.WeakKeyDictionary()
        self.widgets_before: set[int] = set()

    # ------------------------------------------------------------------------------------------- set-up
    def install(self, monkeypatch) -> "QtLeakTracker":
        from PySide6.QtCore import QThread, QThreadPool, QTimer
        from PySide6.QtWidgets import QApplication

        tracker = self

        def recording_init(original):
            def __init__(self, *args, **kwargs):  # noqa: N807 - stands in for the class's constructor
                original(self, *args, **kwargs)
                tracker.created[_pointer(self)] = call_site()

            return __init__

        for cls in (QThread, QTimer, *_widget_classes()):
            if "__init__" in vars(cls):
                monkeypatch.setattr(cls, "__init__", recording_init(vars(cls)["__init__"]))

        thread_start = QThread.start

        def start_thread(self, *args, **kwargs):
            tracker.threads[self] = call_site()
            return thread_start(self, *args, **kwargs)

        timer_start = QTimer.start

        def start_timer(self, *args, **kwargs):
            tracker.timers[self] = call_site()
            return timer_start(self, *args, **kwargs)

        single_shot = QTimer.singleShot

        def single_shot_tracked(*args):
            """QTimer.singleShot(msec, functor) and (msec, context, functor) through a QTimer of our own, so that
            one still pending when the test ends is found; other forms go to Qt's own."""
            if args and isinstance(args[0], QTimer):
                args = args[1:]  # called on an instance
            msec, rest = (args[0], args[1:]) if args else (None, ())
            context = None
            if len(rest) == 2 and not isinstance(rest[1], str) and callable(rest[1]) and _valid(rest[0]) \
                    and rest[0].thread() is QThread.currentThread():
                context, rest = rest[0], rest[1:]
            if not isinstance(msec, int) or len(rest) != 1 or isinstance(rest[0], str) or not callable(rest[0]):
                return single_shot(*args)
            timer = QTimer(context)  # parented to the context: cancelled when the context is deleted, as in Qt
            timer.setSingleShot(True)
            timer.timeout.connect(rest[0])
            timer.timeout.connect(timer.deleteLater)
            tracker.single_shots.append((timer, call_site()))
            timer_start(timer, msec)
            return None

        pool_start = QThreadPool.start

        def start_pool(self, *args, **kwargs):
            tracker.pools.setdefault(self, call_site())
            return pool_start(self, *args, **kwargs)

        monkeypatch.setattr(QThread, "start", start_thread)
        monkeypatch.setattr(QTimer, "start", start_timer)
        monkeypatch.setattr(QTimer, "singleShot", staticmethod(single_shot_tracked))
        monkeypatch.setattr(QThreadPool, "start", start_pool)
        app = QApplication.instance()
        if app is not None:
            self.widgets_before = {_pointer(w) for w in app.topLevelWidgets()}
        return self

    def _where(self, obj, started: str | None = None) -> str:
        made = self.created.get(_pointer(obj), "by Qt (no Python stack)")
        return f"created at {made}" + (f"; started at {started}" if started else "")

    # ------------------------------------------------------------------------------------------- check
    def check(self, pool_grace_ms: int = 1000) -> list[str]:
        """One line per leak: running QThreads, active QTimers (single shots included), busy QThreadPools, new
        top-level widgets. What is found is stopped, closed and scheduled for deletion."""
        from PySide6.QtCore import QCoreApplication, QEvent
        from PySide6.QtWidgets import QApplication

        leaks: list[str] = []
        for thread, started in list(self.threads.items()):
            if _valid(thread) and thread.isRunning():
                leaks.append(f"QThread {thread.objectName()!r} still running: {self._where(thread, started)}")
                with suppress(RuntimeError):
                    thread.quit()
                    thread.wait(10_000)
        for timer, started in [*self.timers.items(), *self.single_shots]:
            if _valid(timer) and timer.isActive():
                kind = "single-shot QTimer" if any(t is timer for t, _ in self.single_shots) else "QTimer"
                leaks.append(f"{kind} still active ({timer.interval()} ms): {self._where(timer, started)}")
                timer.stop()
        for pool, started in list(self.pools.items()):
            if _valid(pool) and not pool.waitForDone(pool_grace_ms):
                leaks.append(f"QThreadPool still running {pool.activeThreadCount()} task(s): first used at {started}")
                pool.clear()
                pool.waitForDone(10_000)
        self.single_shots.clear()

        app = QApplication.instance()
        if app is not None:
            _POPUPS = _popup_types()
            for _ in range(2):  # closed widgets scheduled for deletion (pytest-qt's deleteLater), then the garbage
                QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
                gc.collect()
            for widget in app.topLevelWidgets():
                if widget.parent() is not None or _pointer(widget) in self.widgets_before:
                    continue
                made_here = _pointer(widget) in self.created
                if not widget.isVisible() and (widget.windowType() in _POPUPS or not made_here):
                    # hidden helpers that live as long as something else: pyqtgraph's parentless context menus,
                    # the style widget Qt makes for each QGraphicsWidget with a size policy (no Python stack)
                    continue
                state = "visible" if widget.isVisible() else "hidden"
                leaks.append(f"top-level {type(widget).__name__} {widget.windowTitle()!r} still alive ({state}): "
                             f"{self._where(widget)}")
                self.widgets_before.add(_pointer(widget))  # reported once
                widget.close()  # never deleted here: it may belong to C++ code that deletes it later
        return leaks
