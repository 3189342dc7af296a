"""Starting the desktop app: QApplication, logging to a rotating file, exception hooks, the main window.

``run_gui(argv)`` is what ``smoothgrad-desktop`` (without a command) calls. ``argv`` may hold image files or
folders to open, and Qt's own options (``-style``, ``-platform``...).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import signal
import sys
import threading
import traceback
from pathlib import Path

import torch  # noqa: F401 - torch before PySide6 (Windows DLL search order)

from PySide6.QtCore import QObject, QSettings, QStandardPaths, Qt, QTimer, Signal, Slot  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from .. import __version__  # noqa: E402
from .settings import APPLICATION, ORGANIZATION  # noqa: E402

log = logging.getLogger("smoothgrad_desktop")

LOG_NAME = "smoothgrad-desktop.log"
_log_file: Path | None = None


def log_file_path() -> Path | None:
    """Where this process logs (None when no file could be opened)."""
    return _log_file


def setup_logging(folder: str | os.PathLike[str] | None = None, level: int = logging.INFO) -> Path | None:
    """Log to ``<AppDataLocation>/logs/smoothgrad-desktop.log`` (1 MB x 3 rotating files) and to stderr
    (warnings only). Returns the log file, or None when the folder is not writable (console logging only)."""
    global _log_file
    root = logging.getLogger("smoothgrad_desktop")
    root.setLevel(level)
    for h in list(root.handlers):
        if getattr(h, "_smoothgrad", False):
            root.removeHandler(h)
            h.close()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    if folder is None:
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    path: Path | None = None
    if folder:
        try:
            logs = Path(folder) / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            path = logs / LOG_NAME
            handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
            handler.setFormatter(fmt)
            handler._smoothgrad = True  # type: ignore[attr-defined]
            root.addHandler(handler)
        except OSError as exc:
            path = None
            print(f"smoothgrad-desktop: cannot write the log file in {folder}: {exc}", file=sys.stderr)
    if sys.stderr is not None:
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(logging.WARNING)
        console.setFormatter(fmt)
        console._smoothgrad = True  # type: ignore[attr-defined]
        root.addHandler(console)
    _log_file = path
    return path


class ErrorRelay(QObject):
    """Carries one-line error messages from any thread to the GUI thread (a queued signal)."""

    message = Signal(str)


_relay: ErrorRelay | None = None


def _one_line(exc_type, exc) -> str:
    text = " ".join(str(exc).split()) if exc is not None else ""
    name = getattr(exc_type, "__name__", "Error")
    return f"unexpected error: {name}: {text}"[:300] if text else f"unexpected error: {name}"


def _report(exc_type, exc, tb, where: str) -> None:
    log.critical("uncaught exception in %s:\n%s", where, "".join(traceback.format_exception(exc_type, exc, tb)))
    if _relay is not None:
        try:
            _relay.message.emit(_one_line(exc_type, exc) + (f" (see the log: {_log_file})" if _log_file else ""))
        except RuntimeError:  # the relay is gone (shutting down)
            pass


def _sys_hook(exc_type, exc, tb) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    _report(exc_type, exc, tb, "the GUI thread")


def _thread_hook(args) -> None:
    if args.exc_type is SystemExit:
        return
    _report(args.exc_type, args.exc_value, args.exc_traceback, f"thread {getattr(args.thread, 'name', '?')}")


def install_exception_hooks(relay: ErrorRelay | None = None) -> None:
    """Log every uncaught exception (GUI thread, Python threads) and show its one-line message."""
    global _relay
    _relay = relay
    sys.excepthook = _sys_hook
    threading.excepthook = _thread_hook


def create_application(argv: list[str]) -> QApplication:
    app = QApplication.instance()
    if app is None:
        QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication([sys.argv[0] if sys.argv else "smoothgrad-desktop", *argv])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    app.setApplicationVersion(__version__)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    return app  # type: ignore[return-value]


class _MessageSink(QObject):
    """GUI-thread receiver of the relay (a @Slot, so the call runs in the GUI thread).

    The message goes to the window's message line and to one non-blocking warning box (``open()``, not
    ``exec()``: no nested event loop inside a slot, and a burst of errors updates the one box instead of
    stacking dialogs)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self._window = window
        self.box: QMessageBox | None = None

    @Slot(str)
    def show(self, text: str) -> None:
        self._window.show_error(text)
        if self.box is None:
            self.box = QMessageBox(QMessageBox.Icon.Warning, "SmoothGrad Desktop", text,
                                   QMessageBox.StandardButton.Ok, self._window)
            self.box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        else:
            self.box.setText(text)
        if not self.box.isVisible():
            self.box.open()


SHUTDOWN_WAIT_MS = 1000
"""On close, how long run_gui lets the worker finish its current batch before the process exits without it."""


def _exit_now(code: int) -> None:
    """End the process at once: flush the log and the streams, then ``os._exit`` (no interpreter finalisation)."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(int(code))


def run_gui(argv: list[str], *, exit_process: bool | None = None) -> int:
    """Open the main window; returns the process exit code.

    Closing the window cancels the running job and waits at most SHUTDOWN_WAIT_MS for the worker thread. When
    ``exit_process`` is true (the default when run_gui creates the QApplication, i.e. it owns the process) the
    process then ends with ``os._exit`` once settings and log are flushed: torch's and Qt's interpreter
    finalisation alone takes 0.5-1.5 s and does nothing the user needs, and a worker still inside a long batch
    can neither be killed nor destroyed while running ("QThread: Destroyed while thread is still running" aborts
    the process). When run_gui does not own the process (an embedding QApplication, the tests) it returns the
    code, unless the worker could not be stopped: then it must exit hard as well.
    """
    owns_app = QApplication.instance() is None
    if exit_process is None:
        exit_process = owns_app
    app = create_application(list(argv))
    setup_logging()
    log.info("SmoothGrad Desktop %s starting (torch %s, Qt platform %s)", __version__, torch.__version__,
             app.platformName())
    relay = ErrorRelay()
    install_exception_hooks(relay)

    from .main_window import MainWindow  # after QApplication: pyqtgraph reads the palette

    files = [a for a in app.arguments()[1:] if not a.startswith("-")]
    window = MainWindow(files=files or None, log_file=log_file_path())
    sink = _MessageSink(window)
    relay.message.connect(sink.show)

    # let Ctrl+C in a terminal close the window: Python handles signals only when the interpreter runs
    previous_sigint = signal.signal(signal.SIGINT, lambda *_: window.close())
    tick = QTimer()
    tick.start(250)
    tick.timeout.connect(lambda: None)

    window.close_wait_ms = SHUTDOWN_WAIT_MS  # closeEvent waits this long; then the process exits without it
    window.show()
    code = app.exec()
    tick.stop()
    stopped = window.shutdown(SHUTDOWN_WAIT_MS)
    try:
        window.settings.sync()  # also when the loop ended without a close event (closeEvent syncs too)
    except Exception:  # noqa: BLE001 - never block exiting on settings
        log.exception("could not save the settings")
    log.info("SmoothGrad Desktop exiting (code %s)%s", code,
             "" if stopped else "; the worker is still inside a batch, exiting without waiting for it")
    if not stopped or exit_process:
        # Not stopped: Python threads cannot be killed; exit without destroying the running QThread (that would
        # abort with "QThread: Destroyed while thread is still running"). Owning the process: skip finalisation.
        _exit_now(int(code))
    # the process goes on (an embedding application, the tests): release the window, which the Ctrl+C handler
    # and the lambdas connected to its own actions would otherwise keep alive
    if previous_sigint is not None:  # None: the handler was not set from Python
        signal.signal(signal.SIGINT, previous_sigint)
    window.deleteLater()
    return int(code)
