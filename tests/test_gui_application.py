"""The application shell: logging to a file, exception hooks that log and show one line, run_gui end to end."""

from __future__ import annotations

import logging
import sys
import threading

import pytest


from smoothgrad_desktop.gui import application  # noqa: E402

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120)]


def test_logging_goes_to_a_rotating_file(tmp_path, hooks):
    path = application.setup_logging(tmp_path)
    assert path == tmp_path / "logs" / application.LOG_NAME
    logging.getLogger("smoothgrad_desktop.test").info("hello from the test")
    for h in logging.getLogger("smoothgrad_desktop").handlers:
        h.flush()
    assert "hello from the test" in path.read_text(encoding="utf-8")
    assert application.log_file_path() == path


def test_uncaught_exceptions_are_logged_and_shown_as_one_line(qtbot, tmp_path, hooks):
    path = application.setup_logging(tmp_path)
    relay = application.ErrorRelay()
    application.install_exception_hooks(relay)
    got = []
    relay.message.connect(got.append)
    try:
        raise ValueError("boom\nwith a second line")
    except ValueError:
        sys.excepthook(*sys.exc_info())
    assert got and "ValueError: boom with a second line" in got[0] and "\n" not in got[0]

    def crash():
        raise RuntimeError("thread went bad")

    with qtbot.waitSignal(relay.message, timeout=5000) as blocker:
        t = threading.Thread(target=crash, name="crasher")
        t.start()
        t.join()
    assert "RuntimeError: thread went bad" in blocker.args[0]
    for h in logging.getLogger("smoothgrad_desktop").handlers:
        h.flush()
    text = path.read_text(encoding="utf-8")
    assert "Traceback" in text and "thread went bad" in text and "boom" in text


def test_run_gui_opens_the_window_computes_and_quits_cleanly(qtbot, monkeypatch, hooks):
    from smoothgrad_desktop.gui import main_window

    seen = {}
    real_init = main_window.MainWindow.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        seen["window"] = self
        self.run_finished.connect(self.close)  # close as soon as the first map is shown

    monkeypatch.setattr(main_window.MainWindow, "__init__", init)
    monkeypatch.setattr(application, "setup_logging", lambda *a, **k: None)
    code = application.run_gui([])
    window = seen["window"]
    assert code == 0
    assert window.windowTitle() == "SmoothGrad Desktop"
    assert window.current is not None and window.current.explanation.result.n == window.params.n_samples
    assert window.worker_stopped
    seen.clear()  # the patched constructor (undone after the leak check) would keep the closed window alive
