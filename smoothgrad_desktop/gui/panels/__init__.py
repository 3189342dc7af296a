"""pyqtgraph panels of SmoothGrad Desktop: they display numpy arrays and never compute attributions.

Importing this package configures pyqtgraph once (PySide6 binding, ``imageAxisOrder='row-major'``,
``antialias=True``; see ``_pg``). Each module's docstring documents its API:

* ``image_views``: ``MapView`` (one image/heatmap view, colour bar, hover readout), ``ImagePanels`` (image |
  heatmap | overlay, linked, opacity slider);
* ``grid``: ``GridPanel`` (the σ/n grid of Figs 3-4, one shared scale, progressive rows);
* ``strip``: ``StripPanel`` (the method strip, one shared scale, per-method error text);
* ``difference``: ``DifferencePanel`` (M_c1 − M_c2, signed, with class pickers);
* ``noise_training``: ``NoiseTrainingPanel`` (clean / noise-trained × gradient / SmoothGrad);
* ``curves``: ``FluctuationPanel`` (Fig 2) and ``ConvergencePanel`` (relative change vs n, log y).
"""

from . import _pg  # noqa: F401  (binding + pyqtgraph config before any widget exists)
from .curves import ConvergencePanel, FluctuationPanel
from .difference import DifferencePanel
from .grid import GridPanel
from .image_views import ImagePanels, MapView
from .noise_training import NoiseTrainingPanel
from .strip import StripPanel

__all__ = [
    "MapView",
    "ImagePanels",
    "GridPanel",
    "StripPanel",
    "DifferencePanel",
    "NoiseTrainingPanel",
    "FluctuationPanel",
    "ConvergencePanel",
]
