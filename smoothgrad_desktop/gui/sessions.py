"""Session files in the app: what File > Save session… writes and what File > Open session… reads, checks and
asks before the window applies it (one :meth:`AppState.apply` with the session's parameters, its colour scale
and tab). The file format and the checks are core's (:mod:`..core.session`, :mod:`..core.session_io`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from ..core import session_io
from ..core.devices import available_devices
from ..core.errors import UserFacingError
from ..core.paths import display_name, printable, resolve_path
from ..core.session import Session, SessionError

SUFFIX = session_io.SUFFIX


def save(path, params, model_info, entries, current_entry, map_result, *, locked_span, tab) -> tuple[Path, list[str]]:
    """Write a session; returns the path written and the names of images that have no file (not saved)."""
    paths = [e.path for e in entries if e.path is not None]
    skipped = [e.name for e in entries if e.path is None]
    current = paths.index(current_entry.path) if current_entry is not None and current_entry.path in paths else 0
    batch = map_result.outcome.explanation.result.batch_size if map_result is not None else None
    device = model_info.device if model_info is not None else params.device
    session = session_io.build_session(params, model_info, paths, current, batch_size=batch, device=device,
                                       locked_span=locked_span, tab=tab)
    return session.save(path, overwrite=True), skipped


@dataclass
class Opened:
    """A session read and checked, ready to apply."""

    params: object
    images: list[str]  # existing image files, resolved
    current: Path | None  # the image to select
    locked_span: float | None
    tab: str | None
    problems: list[str]


class Declined(Exception):
    """The user declined to load the session's model program; nothing was changed."""


def read(path, base_params, trusted: Callable[[str], bool], confirm: Callable[[Path], bool]) -> Opened:
    """Read ``path``; raises SessionError (one line) when it cannot be used, :class:`Declined` when the user says
    no to its model program. ``trusted(spec)``: the program was chosen in this run already."""
    session = Session.load(path)
    problems = list(session.check_files())
    code = session.code_model()  # resolved exactly as the loader resolves it (core.models.code_model_path)
    if code is not None and code.is_file():
        if session.code_model_changed():  # also when the session records no hash for it
            raise SessionError(f"{display_name(path)}: not opened: {problems[0] if problems else 'model file changed'}")
        if not trusted(session.model_spec) and not confirm(code):
            raise Declined(f"Session {display_name(path)} not opened")
    new = session_io.params_from_session(session, base_params)
    known = {"auto", "cpu", *available_devices()}
    if new.device not in known and new.device.split(":")[0] not in known:
        problems.append(f"{Path(path).name}: computed on {new.device}, which is not available here: using auto "
                        f"(maps may differ in the last bits)")
        new = replace(new, device="auto")
    images = [str(resolve_path(p)) for p in session.images if resolve_path(p).is_file()]
    current = resolve_path(session.images[session.current]) if 0 <= session.current < len(session.images) else None
    locked, tab = session_io.display_state(session)
    return Opened(new, images, current, locked, tab, problems)


class SessionActions(QObject):
    """File > Save session… / Open session…: dialogs, the question before a model program, one-line problems.
    Applying a session is :meth:`RunFlow.open_session`; ``opened(tab)`` asks the window to show the tab."""

    status = Signal(str, int)
    error = Signal(str)
    clear_error = Signal()
    opened = Signal(str)

    def __init__(self, parent, settings, state, controller, flow, images, *, entry: Callable, tab: Callable[[], str],
                 select_row: Callable[[int], None], confirm: Callable[[Path], bool]) -> None:
        super().__init__(parent)
        self.window, self.settings, self.state, self.controller = parent, settings, state, controller
        self.flow, self.images, self.entry, self.tab, self.select_row = flow, images, entry, tab, select_row
        self.confirm = confirm
        self.messages: list[str] = []

    def save_to(self, path) -> Path:
        out, skipped = save(path, self.state.params, self.state.model_info, self.images.entries(), self.entry(),
                            self.state.map_for_image(), locked_span=self.state.locked_span, tab=self.tab())
        for name in skipped:
            self.error.emit(f"{name}: not saved in the session (it has no file)")
        return out

    def open_from(self, path) -> bool:
        try:
            opened = read(path, self.state.params, self.controller.trusted, self.confirm)
        except SessionError as exc:
            self.error.emit(str(exc))
            return False
        except Declined as exc:
            self.status.emit(str(exc), 8000)
            return False
        self.messages = self.flow.open_session(opened, self.select_row)
        for line in self.messages:
            self.error.emit(line)
        self.opened.emit(opened.tab or "")
        if not self.messages:
            self.clear_error.emit()
        self.status.emit(f"Opened session {display_name(path)}: {len(opened.images)} image(s), "
                         f"{opened.params.short_text()}", 8000)
        return True

    def ask_code_model(self, path: Path) -> bool:
        """A session naming a TorchScript / torch.export file would run that file's code: ask first."""
        return QMessageBox.question(
            self.window, "Load model code?", f"This session loads the model file\n{printable(path)}\n\nTorchScript "
            f"and torch.export files are programs. Load it only if you trust where it came from.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No) == QMessageBox.StandardButton.Yes

    def save_dialog(self, *_args) -> None:
        entry = self.entry()
        stem = Path(entry.name).stem if entry is not None else "smoothgrad"
        path, _ = QFileDialog.getSaveFileName(self.window, "Save session", str(Path(self.settings.folder("session")) /
                                              f"{stem}{SUFFIX}"), f"SmoothGrad session (*{SUFFIX})")
        if not path:
            return
        try:
            out = self.save_to(path if path.endswith(SUFFIX) else path + SUFFIX)
        except (UserFacingError, OSError) as exc:
            self.error.emit(f"session not saved: {exc}")
            return
        self.settings.set_folder("session", out)
        self.status.emit(f"Session saved to {out}", 8000)

    def open_dialog(self, *_args) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open session", self.settings.folder("session"),
                                              f"SmoothGrad session (*{SUFFIX});;All files (*)")
        if path:
            self.settings.set_folder("session", path)
            self.open_from(path)
