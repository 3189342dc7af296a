"""The image list in the app: :class:`ImageBrowser` (the list view, the selection, next / previous, adding files,
folders, pasted and dropped images) and the helpers for images that arrive through Qt rather than as files."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QItemSelectionModel, QModelIndex, QObject, Signal, Slot
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog

from ..core.errors import UserFacingError
from ..core.images import SUPPORTED_SUFFIXES, InputImage, image_from_pil
from . import docks
from .models.images import EntryRole

FILE_FILTER = "Images ({})".format(" ".join(f"*{s}" for s in SUPPORTED_SUFFIXES)) + ";;All files (*)"


def paths_from_mime(mime) -> list[str]:
    """Local files named by ``mime`` (URLs, or a path as plain text), else ``[]``."""
    if mime is None:
        return []
    if mime.hasUrls():
        paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        if paths:
            return paths
    if mime.hasText() and not mime.hasImage():
        text = mime.text().strip()
        if text and os.path.exists(text):
            return [text]
    return []


def input_from_qimage(image: QImage, name: str) -> InputImage:
    """A QImage (pasted or dropped) as an input image, through the same checks as a file (one-line errors)."""
    if image is None or image.isNull():
        raise UserFacingError(f"{name}: empty image")
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    buf.close()
    try:
        from PIL import Image

        pil = Image.open(io.BytesIO(bytes(data.data())))
        pil.load()
        return image_from_pil(pil, name)
    except UserFacingError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise UserFacingError(f"{name}: cannot read the image ({exc})") from exc


class ImageBrowser(QObject):
    """The image list view over ``images``; ``selected`` when the user (or :meth:`select_row` with ``run``) shows
    another image."""

    selected = Signal()
    error = Signal(str)

    def __init__(self, images, settings, parent=None) -> None:
        super().__init__(parent)
        self.images, self.settings = images, settings
        self.view = docks.image_list_view(images)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        self._quiet = False

    def current_entry(self):
        index = self.view.currentIndex()
        return self.images.data(index, EntryRole) if index.isValid() else None

    def select_row(self, row: int, run: bool = True) -> None:
        if 0 <= row < self.images.rowCount():
            self._quiet = not run
            try:
                index = self.images.index(row)
                self.view.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
                self.view.scrollTo(index)
            finally:
                self._quiet = False

    @Slot(QModelIndex, QModelIndex)
    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and self.images.data(current, EntryRole) is not None and not self._quiet:
            self.selected.emit()

    def step(self, delta: int) -> None:
        n, row = self.images.rowCount(), self.view.currentIndex().row()
        new = min(n - 1, max(0, row + delta)) if row >= 0 else 0
        if n and new != row:
            self.select_row(new)

    def add_files(self, paths: list[str]) -> int:
        """Add files/folders to the list and show the first; returns its row (-1 when nothing was added)."""
        first, problems = self.images.add_paths(paths)
        for p in problems:
            self.error.emit(p)
        if paths:
            self.settings.set_last_folder(paths[0])
        self.select_row(first)
        return first

    def open_files(self, parent) -> None:
        paths, _ = QFileDialog.getOpenFileNames(parent, "Open images", self.settings.folder("open_images"),
                                                FILE_FILTER)
        if paths:
            self.settings.set_folder("open_images", paths[0])
            self.add_files(paths)

    def open_folder(self, parent) -> None:
        folder = QFileDialog.getExistingDirectory(parent, "Open a folder of images", self.settings.folder("open_folder"))
        if folder:
            self.settings.set_folder("open_folder", Path(folder).parent)  # the folder next to it, next time
            self.add_files([folder])

    def add_qimage(self, image: QImage, name: str) -> int:
        try:
            loaded = input_from_qimage(image, name)
        except UserFacingError as exc:
            self.error.emit(str(exc))
            return -1
        row = self.images.add_image(loaded)
        self.select_row(row)
        return row

    def add_mime(self, mime, name: str, image_of) -> bool:
        """Files named by ``mime``, else its image (``image_of()``); False (and a message) when it has neither."""
        paths = paths_from_mime(mime)
        if paths:
            self.add_files(paths)
        elif mime is not None and mime.hasImage():
            self.add_qimage(image_of(), name)
        else:
            self.error.emit("the clipboard holds no image and no image file" if name == "pasted image" else
                            "nothing to open in what was dropped")
            return False
        return True

    def paste(self) -> None:
        clipboard = QGuiApplication.clipboard()
        self.add_mime(clipboard.mimeData(), "pasted image", clipboard.image)
