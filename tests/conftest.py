"""Shared test set-up: headless Qt, a modest thread count, deterministic torch."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

# pytester: tests/test_gui_leaks.py runs a leaking test file through this conftest;
# tests.gui_support: the GUI tests' shared fixtures (make_window, dialogs, hooks) and helpers
pytest_plugins = ["pytester", "tests.gui_support"]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """The app must never touch the network. Creating an internet socket, connecting any socket or resolving a host
    name raises, and is recorded: a library that catches the error and carries on (the Hugging Face hub client
    falls back to its cache that way) still fails the test when it ends."""
    import socket

    attempts: list[str] = []

    def refuse(what):
        def call(*args, **kwargs):
            attempts.append(f"{what}{args[:2]!r}")
            raise AssertionError(f"network access attempted during a test: {what}")
        return call

    internet = {socket.AF_INET, socket.AF_INET6, -1}

    class GuardedSocket(socket.socket):  # noqa: the class statement runs before the patch below
        def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
            if fileno is None and family in internet:
                attempts.append(f"socket({family!r}, {type!r})")
                raise AssertionError("network access attempted during a test: an internet socket was created")
            super().__init__(family, type, proto, fileno)

    original = socket.socket  # also held by modules that did "from socket import socket"
    monkeypatch.setattr(original, "connect", refuse("connect"))
    monkeypatch.setattr(original, "connect_ex", refuse("connect_ex"))
    monkeypatch.setattr(socket, "socket", GuardedSocket)
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "gethostbyname", refuse("gethostbyname"))
    yield attempts
    assert not attempts, f"network access attempted during the test: {attempts}"


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory, monkeypatch):
    """The app's own small files (recently used models) go to a fresh folder, never the user's."""
    monkeypatch.setenv("SMOOTHGRAD_DESKTOP_DATA", str(tmp_path_factory.mktemp("appdata")))


# ---------------------------------------------------------------------------------------------------------------
# GUI tests (test_gui_*.py): settings in a temporary folder; no leaked threads, timers or windows.
# ---------------------------------------------------------------------------------------------------------------


def _is_gui_test(request) -> bool:
    module = getattr(request.node, "module", None)
    return module is not None and module.__name__.rsplit(".", 1)[-1].startswith("test_gui")


def _uses_qt(request) -> bool:
    return _is_gui_test(request) or bool({"qtbot", "qapp"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def _gui_isolation(request, tmp_path_factory):
    """For GUI tests: QSettings (INI) point at a fresh temporary folder and QStandardPaths is in test mode."""
    if not _is_gui_test(request):
        yield None
        return
    from PySide6.QtCore import QSettings, QStandardPaths

    folder = tmp_path_factory.mktemp("qsettings")
    QStandardPaths.setTestModeEnabled(True)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(folder))
    yield folder


@pytest.fixture(autouse=True)
def _qt_leaks(request, monkeypatch):
    """For GUI tests and every test using qtbot/qapp: fail the test when it leaves a started QThread running, a
    QTimer active (single shots included), a QThreadPool busy or a new top-level widget alive, naming where each was
    created and started (tests/qt_leaks.py). Runs after pytest-qt has closed the widgets registered with qtbot; what
    it finds is stopped and closed, so that one leak does not take the rest of the session down."""
    if not _uses_qt(request):
        yield None
        return
    from tests.qt_leaks import QtLeakTracker

    tracker = QtLeakTracker().install(monkeypatch)
    yield tracker
    leaks = tracker.check()
    if leaks:
        pytest.fail(f"{len(leaks)} Qt object(s) leaked by the test:\n  " + "\n  ".join(leaks), pytrace=False)
