"""pyqtgraph panels of SmoothGrad Desktop: they display numpy arrays and never compute attributions.

Every panel has a "?" button opening its page of the built-in guide (``gui.help.open_guide``); the comparison
panels own their "Shared colour scale" choice (per panel instance, never shared between tabs or stored).

Importing this package configures pyqtgraph once (PySide6 binding, ``imageAxisOrder='row-major'``,
``antialias=True``; see ``_pg``). Each module's docstring documents its API:

* ``image_views``: ``MapView`` (one image/heatmap view, colour bar with round ticks, a title that is elided rather
  than widening the view, hover readout), ``ColorBarColumn`` (a colour bar beside views, so they stay equally
  large), ``ImagePanels`` (image | heatmap | overlay, linked, every box fitted to the image's aspect, stacked for
  wide images, opacity slider);
* ``grid``: ``GridPanel`` (the σ/n grid of Figs 3-4, per cell by default or one shared scale, progressive rows);
* ``strip``: ``StripPanel`` (the method strip, shared or per-cell scale, wraps onto rows to grow with the panel,
  per-method error text);
* ``difference``: ``DifferencePanel`` (D of core ``difference_map``: follows the View, each map normalised by its
  own percentile by default, raw as an option; class pickers and a colour legend naming the classes);
* ``noise_training``: ``NoiseTrainingPanel`` (clean / noise-trained × gradient / SmoothGrad, shared or per cell);
* ``trust``: ``FaithfulnessPanel`` (deletion/insertion curves, scrubber), ``SanityPanel`` (cascading randomisation),
  ``ProbePanel`` (one pixel's per-sample histogram);
* ``curves``: ``FluctuationPanel`` (Fig 2, legend outside the plot) and ``ConvergencePanel`` (relative change vs
  n, log y labelled at 1-2-5).
"""

from . import _pg  # noqa: F401  (binding + pyqtgraph config before any widget exists)
from .curves import ConvergencePanel, FluctuationPanel
from .difference import DifferencePanel
from .grid import GridPanel
from .image_views import ColorBarColumn, ImagePanels, MapView
from .noise_training import NoiseTrainingPanel
from .strip import StripPanel

__all__ = [
    "MapView",
    "ColorBarColumn",
    "ImagePanels",
    "GridPanel",
    "StripPanel",
    "DifferencePanel",
    "NoiseTrainingPanel",
    "FluctuationPanel",
    "ConvergencePanel",
]
