"""The Map tab: image | heatmap | overlay (:class:`~.panels.image_views.ImagePanels`), the colour-scale control
(:class:`~.widgets.levels.LevelsWidget`, a histogram of the values shown with draggable levels), "Show: map |
standard error | SNR" and "Lock colour scale" (Ctrl+L).

It reads everything from :class:`~.state.AppState` and redraws when the state says so: the map result of the
image shown, the display parameters, the locked span. The running mean of a job in flight comes through
:meth:`MapTab.show_partial`. A click on the heatmap emits :attr:`MapTab.pixel_clicked` (the pixel probe).
"""

from __future__ import annotations

import html
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QToolButton, QVBoxLayout, QWidget

from ..core import display
from ..core import visualize as vz
from ..core.params import SHOW_CHOICES
from ..core.trust_data import uncertainty_maps
from .panels import _pg
from .panels.image_views import ImagePanels
from .state import MAP, AppState
from .widgets.levels import LevelsWidget

SHOW_TEXT = {"map": "Map", "standard-error": "Standard error", "snr": "SNR (|mean| / SE)"}
SHOW_TIP = ("What the heatmap shows. Map: the attribution. Standard error: how uncertain the SmoothGrad mean is at "
            "each pixel (standard deviation of the noisy samples / √n, from the same pass; channels summed). "
            "SNR: |mean| / standard error — below about 2 the pixel's value is mostly noise.")
LOCK_TIP = ("Freeze the current colour scale and use it for the heatmap, the overlay and every comparison figure "
            "(σ/n grid, methods, class difference, noise training), so equal colours mean equal values everywhere. "
            "Dragging the levels under the heatmap also locks the scale. Changing the view unlocks it.")
PROBE_TIP = "Click a pixel to see the values of its noisy samples (Pixel probe). Drag to pan, wheel to zoom."


def explains_text(explanation) -> str:
    """``"explains 7 · 99.9 %"``: the class a map explains and the model's probability for it (softmax of the run's
    class scores), both from the run that made the map."""
    scores = np.asarray(explanation.scores, dtype=np.float64).ravel()
    target = int(explanation.target)
    if not 0 <= target < scores.size:
        return f"explains {explanation.target_label}"
    z = np.exp(scores - scores.max())
    p = 100.0 * z[target] / z.sum()
    return f"explains {explanation.target_label} · {p:.1f} %" if p >= 0.05 else \
        f"explains {explanation.target_label} · {p:.2g} %"


def input_note(st) -> str:
    """A note when the model saw the image differently from how it looks: a colour image given to a greyscale
    model became a grey input (e.g. an RGB photo -> a grey 28 × 28 input for the MNIST model)."""
    image = getattr(st.image, "image", None)
    if image is None or st.x.ndim != 3:
        return ""
    c, h, w = st.x.shape
    if c == 1 and image.mode not in ("L", "1", "I", "F", "I;16"):
        return (f"Input: the {image.size[0]} × {image.size[1]} colour image became a grey {w} × {h} input "
                f"for this model (what it sees is in the Image panel)")
    return ""


def clip_text(percentile: float, mode: str) -> str:
    if mode == "cumulative":
        return f"{percentile:g} % of the total mass (cumulative)"
    if mode == "two-tailed":
        return f"P{percentile:g} of each sign (two-tailed)"
    return f"P{percentile:g} (percentile)"


class MapTab(QWidget):
    """See the module docstring."""

    pixel_clicked = Signal(int, int)
    message = Signal(str)  # a status line
    error = Signal(str)  # a one-line problem

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.panels = ImagePanels(opacity=state.params.opacity)
        self._map_span: float | None = None  # span of the map at the last render (what a lock freezes)
        self._shown: tuple | None = None  # (values, view, cmap, rect) on the heatmap now
        self._image_of = None  # the ImageState whose picture the image panel shows
        self.levels = LevelsWidget()
        self.levels.setToolTip("Histogram of the values in the heatmap (log counts). The shaded band is the colour "
                               "scale: drag its edge to change it.")
        self.show_combo = QComboBox()
        self.show_combo.setObjectName("show_combo")
        for key in SHOW_CHOICES:
            self.show_combo.addItem(SHOW_TEXT[key], key)
        self.show_combo.setToolTip(SHOW_TIP)
        self.lock_action = QAction("&Lock colour scale", self)
        self.lock_action.setCheckable(True)
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lock_action.setToolTip(LOCK_TIP)
        self.lock_action.setStatusTip(LOCK_TIP)
        lock_button = QToolButton()
        lock_button.setObjectName("lock_scale_button")
        lock_button.setDefaultAction(self.lock_action)
        lock_button.setText("Lock scale")
        lock_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        show_label = QLabel("Show:")
        show_label.setBuddy(self.show_combo)
        show_label.setToolTip(SHOW_TIP)
        for w in (show_label, self.show_combo, lock_button):
            self.levels.add_control(w)
        self.caption = QLabel("")
        self.caption.setObjectName("map_caption")
        self.caption.setToolTip("The class the map shown explains and the model's probability for it (from the run "
                                "that made the map; pick another class in Top classes or Target class)")
        self.input_note = QLabel("")
        self.input_note.setObjectName("map_input_note")
        self.input_note.setWordWrap(True)
        self.input_note.setStyleSheet("color: #b9770e;")
        self.input_note.setVisible(False)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self.caption)
        box.addWidget(self.input_note)
        box.addWidget(self.panels, 1)
        box.addWidget(self.levels)
        self._sync_controls()

        self.show_combo.currentIndexChanged.connect(self._on_show_changed)
        self.lock_action.toggled.connect(self._on_lock_toggled)
        self.levels.span_dragged.connect(self._on_levels_dragged)
        self.levels.span_edited.connect(self._on_levels_edited)
        self.panels.opacity_changed.connect(self._on_panel_opacity)
        self.panels.heatmap_view.graphics_widget.scene().sigMouseClicked.connect(self._on_heatmap_clicked)
        self.panels.heatmap_view.graphics_widget.setToolTip(PROBE_TIP)
        state.params_changed.connect(self._on_params)
        state.result_changed.connect(self._on_result)
        state.lock_changed.connect(self._on_lock_changed)
        state.image_changed.connect(self._on_image)

    # ------------------------------------------------------------------ reading the state
    @property
    def map_span(self) -> float | None:
        return self._map_span

    def _sync_controls(self) -> None:
        p = self.state.params
        if self.show_combo.currentData() != p.show:
            blocker = QSignalBlocker(self.show_combo)
            self.show_combo.setCurrentIndex(max(0, self.show_combo.findData(p.show)))
            del blocker
        locked = self.state.locked_span is not None
        if self.lock_action.isChecked() != locked:
            blocker = QSignalBlocker(self.lock_action)
            self.lock_action.setChecked(locked)
            del blocker
        if abs(self.panels.opacity() - p.opacity) > 1e-6:
            self.panels.set_opacity(p.opacity)

    @Slot(object, object, object)
    def _on_params(self, new, old, groups) -> None:
        if "display" not in groups:
            return
        if self.state.locked_span is not None and (old.view != new.view
                                                   or old.multiply_by_input != new.multiply_by_input):
            self.state.set_locked_span(None)  # a locked scale does not fit another view
            self.message.emit("Colour scale unlocked: the view changed")
        self._sync_controls()
        self.render()

    @Slot(str)
    def _on_result(self, kind: str) -> None:
        if kind == MAP:
            self.render()

    @Slot(object)
    def _on_lock_changed(self, _span) -> None:
        self._sync_controls()
        self.render()

    @Slot(object)
    def _on_image(self, image) -> None:
        if image is None:
            self.panels.clear()
            self._shown = self._image_of = None
            self.caption.setText("")
            self._set_note("")
        elif self.state.map_for_image() is None:
            self._show_image(image)
            self.caption.setText("")
            self._set_note(input_note(image))

    def _show_image(self, image) -> None:
        if image is not self._image_of:
            self._image_of = image
            self.panels.set_image(image.display)

    # ------------------------------------------------------------------ drawing
    def render(self) -> None:
        """Draw the final map of the image shown (nothing when there is none)."""
        r = self.state.map_for_image()
        if r is None:
            return
        self._show_image(r.outcome.state)
        self._draw(r.outcome.explanation.result.attribution, r.outcome.state, final=True)
        self.caption.setText(f"<b>{html.escape(explains_text(r.outcome.explanation))}</b>")
        self._set_note(input_note(r.outcome.state))

    def _set_note(self, text: str) -> None:
        self.input_note.setText(text)
        self.input_note.setVisible(bool(text))

    def show_partial(self, mean: np.ndarray) -> None:
        if self.state.image is not None:
            self._draw(np.asarray(mean), self.state.image, final=False)

    def clear_map(self, title: str) -> None:
        """No map (a run failed or was cancelled before any map of this image existed)."""
        image = self.state.image
        if image is None:
            self.panels.clear()
            self._image_of = None
        else:
            self._show_image(image)
            self.panels.heatmap_view.clear()
            self.panels.overlay_view.clear()
        self._shown = None
        self.caption.setText("")
        self.panels.heatmap_view.set_title(title)

    def _draw(self, attr: np.ndarray, st, *, final: bool) -> None:
        p = self.state.params
        values = display.reduce_map(attr, p.view, st, p.multiply_by_input)
        locked = self.state.locked_span
        self._map_span = display.map_span(values, p)
        show = p.show if final else "map"
        mapped = self.state.map_for_image()
        if mapped is None:
            show = "map"
        if show == "map":
            shown, view, cmap = values, p.view, p.cmap
            span = locked if locked is not None else self._map_span
            title = "Heatmap" if final else "Heatmap (running mean…)"
            how = "locked" if locked is not None else clip_text(p.percentile, p.clip_mode)
        else:
            result = mapped.outcome.explanation.result
            se_map, snr = uncertainty_maps(result.mean, result.standard_error, p.view, x=st.x,
                                           multiply_by_input=p.multiply_by_input)
            shown = se_map if show == "standard-error" else snr
            view, cmap = "absolute", p.cmap_absolute
            span = vz.compute_span(shown, "absolute", p.percentile, mode=p.clip_mode)
            title = (f"Standard error of the mean (n = {result.n})" if show == "standard-error"
                     else "SNR = |mean| / standard error")
            if result.n < 2:
                title += " — needs n ≥ 2"
            how = clip_text(p.percentile, p.clip_mode) + " (the lock applies to the map)"
        rect = display.map_rect(st)
        self.panels.set_heatmap(shown, view, span=span, cmap=cmap, rect=rect)
        self.panels.set_overlay(display.overlay(st, shown, view, percentile=p.percentile, cmap=cmap,
                                                alpha=p.opacity, span=span), rect=display.image_rect(st))
        self.panels.heatmap_view.set_title(title)
        self._shown = (shown, view, cmap, rect)
        self.levels.set_values(shown, view, span, text=f"span {_pg.format_value(_pg.effective_span(span))} · {how}")

    # ------------------------------------------------------------------ user input
    @Slot(int)
    def _on_show_changed(self, _index: int) -> None:
        show = self.show_combo.currentData()
        if show and show != self.state.params.show:
            self.state.apply(replace(self.state.params, show=show))

    @Slot(float)
    def _on_panel_opacity(self, value: float) -> None:
        if abs(value - self.state.params.opacity) > 1e-6:
            self.state.apply(replace(self.state.params, opacity=round(float(value), 2)))

    @Slot(bool)
    def _on_lock_toggled(self, checked: bool) -> None:
        if not checked:
            self.state.set_locked_span(None)
            self.message.emit("Colour scale unlocked")
            return
        span = self._map_span
        if span is None or not span > 0:
            self._sync_controls()
            self.error.emit("nothing to lock yet: compute a map first")
            return
        self.state.set_locked_span(span)
        self.message.emit(f"Colour scale locked at {_pg.format_value(span)} for every panel")

    @Slot(float)
    def _on_levels_dragged(self, span: float) -> None:
        if self._shown is None or self.panels.heatmap_view.image_item.image is None:
            return
        shown, view, cmap, rect = self._shown
        self.panels.set_heatmap(shown, view, span=span, cmap=cmap, rect=rect)  # live: the heatmap only

    @Slot(float)
    def _on_levels_edited(self, span: float) -> None:
        if self.state.params.show == "map":
            self.state.set_locked_span(span)
            self.message.emit(f"Colour scale locked at {_pg.format_value(span)} for every panel")
        elif self._shown is not None:  # the standard error / SNR view: this view only, until the next render
            shown, view, cmap, _rect = self._shown
            p, st = self.state.params, self.state.image
            self.panels.set_overlay(display.overlay(st, shown, view, percentile=p.percentile, cmap=cmap,
                                                    alpha=p.opacity, span=span), rect=display.image_rect(st))

    @Slot(object)
    def _on_heatmap_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        px = _pg.item_pixel(self.panels.heatmap_view.image_item, event.scenePos())
        if px is not None:
            self.pixel_clicked.emit(*px)

    def grab_image(self):
        return self.panels.grab_image()
