"""The image list: a Qt list model over the files (and pasted images) the user opened, with thumbnails.

Thumbnails are decoded lazily, off the GUI thread, by a private one-thread ``QThreadPool`` through the same safe
loader as everything else (:func:`core.images.load_input`: pixel limit, EXIF orientation, mode conversion); a
file that cannot be read shows a warning icon and its one-line error as the tooltip.
"""

from __future__ import annotations

import logging
import os
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QRunnable, QSize, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QApplication, QStyle

from ...core.errors import UserFacingError
from ...core.images import InputImage, is_supported, load_input
from ...core.paths import printable

log = logging.getLogger(__name__)

THUMB_SIZE = 64
EntryRole = Qt.ItemDataRole.UserRole + 1
KeyRole = Qt.ItemDataRole.UserRole + 2

_pools: "weakref.WeakSet[ImageListModel]" = weakref.WeakSet()


def wait_for_thumbnails(timeout_ms: int = 5000) -> bool:
    """Wait for every image list's thumbnail threads (tests call this to fail on leaked threads)."""
    return all(m.shutdown(timeout_ms) for m in list(_pools))


@dataclass
class ImageEntry:
    key: str
    name: str
    path: Path | None = None
    image: InputImage | None = None  # pasted/dropped in-memory images (no file)
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    thumb: QIcon | None = None
    thumb_requested: bool = False


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """An (H, W, 3) or (H, W, 4) uint8 array as a QImage that owns a copy of the pixels."""
    a = np.ascontiguousarray(rgb)
    if a.ndim == 2:
        a = np.ascontiguousarray(np.repeat(a[:, :, None], 3, axis=2))
    h, w, c = a.shape
    fmt = QImage.Format.Format_RGB888 if c == 3 else QImage.Format.Format_RGBA8888
    return QImage(a.data, w, h, w * c, fmt).copy()


def thumbnail_rgb(image: InputImage, size: int = THUMB_SIZE) -> np.ndarray:
    """The image shrunk into ``size`` x ``size`` (aspect kept), centred on a transparent square: an
    extreme aspect (10000 x 10) would otherwise give a 64 x 1 picture that the list view scales to nothing."""
    from PIL import Image

    im = image.image.convert("RGB") if image.image is not None else Image.fromarray(image.display_rgb())
    im.thumbnail((size, size))
    rgb = np.asarray(im)
    h, w = rgb.shape[:2]
    if h == w:
        return rgb
    side = max(h, w)
    square = np.zeros((side, side, 4), np.uint8)
    top, left = (side - h) // 2, (side - w) // 2
    square[top:top + h, left:left + w, :3] = rgb
    square[top:top + h, left:left + w, 3] = 255
    return square


class _ThumbSignals(QObject):
    done = Signal(str, object, str)  # key, QImage | None, error


class _ThumbJob(QRunnable):
    def __init__(self, key: str, path: Path, signals: _ThumbSignals) -> None:
        super().__init__()
        self.key, self.path, self.signals = key, path, signals
        self.setAutoDelete(True)

    def run(self) -> None:  # pool thread: no widgets here, only a QImage built from numpy
        try:
            image = load_input(self.path)
            qimg = rgb_to_qimage(thumbnail_rgb(image))
            self.signals.done.emit(self.key, qimg, "")
        except UserFacingError as exc:
            self.signals.done.emit(self.key, None, str(exc))
        except Exception as exc:  # noqa: BLE001 - a thumbnail must never crash the app
            log.warning("thumbnail of %s failed: %r", self.path, exc)
            self.signals.done.emit(self.key, None, f"{self.path.name}: {type(exc).__name__}: {exc}")


def expand_paths(paths: list[str | os.PathLike[str]]) -> tuple[list[Path], list[str]]:
    """Files and folders (one level, supported files sorted by name) -> (image files, problems)."""
    files: list[Path] = []
    problems: list[str] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            found = sorted((q for q in p.iterdir() if q.is_file() and is_supported(q)), key=lambda q: q.name.lower())
            if not found:
                problems.append(f"{p.name}: no supported images in this folder")
            files.extend(found)
        elif p.is_file():
            if is_supported(p):
                files.append(p)
            else:
                problems.append(f"{p.name}: not a supported file type (PNG, JPEG, BMP, TIFF, WebP, GIF or .npy)")
        else:
            problems.append(f"{p.name or p}: file not found")
    return files, problems


class ImageListModel(QAbstractListModel):
    """Rows: opened images. ``DisplayRole`` name, ``DecorationRole`` thumbnail, ``ToolTipRole`` path/notes/error."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[ImageEntry] = []
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _ThumbSignals(self)
        self._signals.done.connect(self._on_thumbnail)
        self._pasted = 0
        self._closed = False
        _pools.add(self)

    # -------------------------------------------------------------- Qt model API
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        e = self._entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return printable(e.name)
        if role == Qt.ItemDataRole.DecorationRole:
            if e.error:
                return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
            if e.thumb is None:
                self._request_thumbnail(e)
            return e.thumb
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [printable(str(e.path) if e.path else e.name)]
            if e.error:
                lines.append(e.error)
            lines.extend(e.notes)
            return "\n".join(lines)
        if role == EntryRole:
            return e
        if role == KeyRole:
            return e.key
        return None

    def flags(self, index: QModelIndex):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    # -------------------------------------------------------------- content
    def entry(self, row: int) -> ImageEntry | None:
        return self._entries[row] if 0 <= row < len(self._entries) else None

    def entries(self) -> list[ImageEntry]:
        return list(self._entries)

    def row_of(self, key: str) -> int:
        for i, e in enumerate(self._entries):
            if e.key == key:
                return i
        return -1

    def add_paths(self, paths: list[str | os.PathLike[str]]) -> tuple[int, list[str]]:
        """Add files/folders; returns (row of the first given image, -1 if none; problems). Duplicates are not
        added twice (their existing row is returned)."""
        files, problems = expand_paths(paths)
        first = -1
        new: list[ImageEntry] = []
        known = {e.key for e in self._entries}
        for f in files:
            key = "file:" + os.path.normcase(str(f.resolve()))
            if key in known:
                row = self.row_of(key)
                if row < 0:
                    row = len(self._entries) + next(i for i, e in enumerate(new) if e.key == key)
            else:
                known.add(key)
                new.append(ImageEntry(key=key, name=f.name, path=f))
                row = len(self._entries) + len(new) - 1
            if first < 0:
                first = row
        if new:
            start = len(self._entries)
            self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
            self._entries.extend(new)
            self.endInsertRows()
        return first, problems

    def add_image(self, image: InputImage, name: str | None = None) -> int:
        """Add an in-memory image (clipboard, dropped image data); returns its row."""
        self._pasted += 1
        name = name or (image.name if image.name and image.name != "pasted image" else f"pasted image {self._pasted}")
        entry = ImageEntry(key=f"mem:{self._pasted}:{id(image)}", name=name, image=image, notes=list(image.notes))
        try:
            entry.thumb = QIcon(QPixmap.fromImage(rgb_to_qimage(thumbnail_rgb(image))))
        except Exception as exc:  # noqa: BLE001
            log.warning("thumbnail of pasted image failed: %r", exc)
        row = len(self._entries)
        self.beginInsertRows(QModelIndex(), row, row)
        self._entries.append(entry)
        self.endInsertRows()
        return row

    def remove_row(self, row: int) -> None:
        if 0 <= row < len(self._entries):
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._entries[row]
            self.endRemoveRows()

    def clear(self) -> None:
        self.beginResetModel()
        self._entries.clear()
        self.endResetModel()

    def set_error(self, key: str, message: str) -> None:
        row = self.row_of(key)
        if row >= 0:
            self._entries[row].error = message
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ToolTipRole])

    def set_notes(self, key: str, notes: list[str]) -> None:
        row = self.row_of(key)
        if row >= 0 and self._entries[row].notes != list(notes):
            self._entries[row].notes = list(notes)
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.ToolTipRole])

    # -------------------------------------------------------------- thumbnails
    def _request_thumbnail(self, e: ImageEntry) -> None:
        if e.thumb_requested or e.path is None or self._closed:
            return
        e.thumb_requested = True
        self._pool.start(_ThumbJob(e.key, e.path, self._signals))

    @Slot(str, object, str)
    def _on_thumbnail(self, key: str, qimage: object, error: str) -> None:
        row = self.row_of(key)
        if row < 0:
            return
        e = self._entries[row]
        if error:
            e.error = error
        elif isinstance(qimage, QImage):
            e.thumb = QIcon(QPixmap.fromImage(qimage))
        idx = self.index(row)
        self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ToolTipRole])

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        self._closed = True
        try:
            self._pool.clear()
            return bool(self._pool.waitForDone(timeout_ms))
        except RuntimeError:  # the C++ pool is already deleted (its destructor waited for its threads)
            return True

    @staticmethod
    def thumb_size() -> QSize:
        return QSize(THUMB_SIZE, THUMB_SIZE)
