"""Qt item models over the core's data: opened images, the top-k classes, the run history."""

from .classes import ClassTableModel
from .images import ImageEntry, ImageListModel
from .runs import RunHistoryModel, RunRecord

__all__ = ["ClassTableModel", "ImageEntry", "ImageListModel", "RunHistoryModel", "RunRecord"]
