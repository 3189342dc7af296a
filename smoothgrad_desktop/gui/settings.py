"""Persistent settings (QSettings, INI format on every platform): window geometry/state, last folder, parameters.

Tests redirect the storage with ``QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, tmp_path)``; the
app never writes anywhere else. Stored parameters are validated on load (:meth:`Params.from_dict`), so a stale
or hand-edited file cannot break the start.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from ..core.params import Params

log = logging.getLogger(__name__)

ORGANIZATION = "SmoothGrad"
APPLICATION = "SmoothGrad Desktop"
SCHEMA = 1


class AppSettings:
    """Typed access to the app's QSettings."""

    def __init__(self, settings: QSettings | None = None) -> None:
        self.qs = settings or QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION,
                                        APPLICATION)

    @property
    def path(self) -> str:
        return self.qs.fileName()

    # ---------------------------------------------------------------- parameters
    def params(self) -> Params:
        text = self.qs.value("params/json", "")
        if not text:
            return Params()
        try:
            data = json.loads(str(text))
        except (TypeError, ValueError):
            log.warning("stored parameters are not valid JSON; using the defaults")
            return Params()
        return Params.from_dict(data if isinstance(data, dict) else None)

    def set_params(self, params: Params) -> None:
        self.qs.setValue("params/json", json.dumps(params.to_dict(), sort_keys=True))
        self.qs.setValue("schema", SCHEMA)

    # ---------------------------------------------------------------- folders
    def last_folder(self) -> str:
        value = self.qs.value("paths/last_folder", "")
        folder = str(value) if value else ""
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    def set_last_folder(self, folder: str | Path) -> None:
        path = Path(folder)
        if path.is_file():
            path = path.parent
        self.qs.setValue("paths/last_folder", str(path))

    def last_export_folder(self) -> str:
        value = self.qs.value("paths/last_export_folder", "")
        folder = str(value) if value else ""
        return folder if folder and Path(folder).is_dir() else self.last_folder()

    def set_last_export_folder(self, folder: str | Path) -> None:
        self.qs.setValue("paths/last_export_folder", str(folder))

    def folder(self, dialog: str) -> str:
        """The folder the file dialog ``dialog`` (``"open_images"``, ``"open_folder"``, ``"export"``,
        ``"export_all"``, ``"session"``, ``"model_file"``, ``"weights"``) last used; else the last folder any
        of them used; else the home folder."""
        value = self.qs.value(f"dialogs/{dialog}", "")
        folder = str(value) if value else ""
        return folder if folder and Path(folder).is_dir() else self.last_folder()

    def set_folder(self, dialog: str, path: str | Path) -> None:
        """Remember ``path`` (a file: its folder) for the dialog ``dialog`` (and as the last folder of any)."""
        folder = Path(path)
        if not folder.is_dir():
            folder = folder.parent
        self.qs.setValue(f"dialogs/{dialog}", str(folder))
        self.set_last_folder(folder)

    # ---------------------------------------------------------------- window
    def geometry(self) -> QByteArray | None:
        value = self.qs.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def window_state(self) -> QByteArray | None:
        value = self.qs.value("window/state")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self.qs.setValue("window/geometry", geometry)
        self.qs.setValue("window/state", state)

    def current_tab(self) -> int:
        try:
            return int(self.qs.value("window/tab", 0))
        except (TypeError, ValueError):
            return 0

    def set_current_tab(self, index: int) -> None:
        self.qs.setValue("window/tab", int(index))

    # ---------------------------------------------------------------- all
    def reset(self) -> None:
        """Forget everything (parameters, folders, window layout)."""
        self.qs.clear()
        self.qs.sync()

    def sync(self) -> None:
        self.qs.sync()
