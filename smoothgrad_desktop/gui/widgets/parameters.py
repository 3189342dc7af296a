"""The parameter editor: every knob of a run, each with a tooltip in plain words.

The editor only edits a :class:`~smoothgrad_desktop.core.params.Params`; it emits ``params_changed(Params)`` on
every user change and leaves the decision (reload, recompute after a debounce, or only re-render) to the window.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QMessageBox,
    QPushButton,
    QSizePolicy, QSlider, QSpinBox, QToolButton, QVBoxLayout, QWidget,
)

from ...core.devices import available_devices
from ...core import schema
from ...core.methods import METHOD_LABELS
from ...core.models import EMBEDDED_SPECS, LAYOUT_ARCHS
from ...core.visualize import COLOR_BLIND_SAFE, COLORMAPS, colormap_names
from ...core.params import Params

MODEL_TORCHVISION = "@torchvision"
MODEL_FILE = "@file"
# short texts: the parameter column is narrow (the full description is each item's tooltip)
MODEL_CHOICES = (
    ("default", "MNIST CNN (default)"),
    ("mnist-noise", "MNIST CNN, noise-trained"),
    (MODEL_TORCHVISION, "torchvision + weights"),
    (MODEL_FILE, "TorchScript / export file"),
)
MODEL_CHOICE_TIPS = {
    "default": "The embedded MNIST CNN (the default model, trained on clean digits).",
    "mnist-noise": "The embedded MNIST CNN trained with noisy inputs (paper, section 5).",
    MODEL_TORCHVISION: "A torchvision architecture with a weights file (or weights in the local torch cache).",
    MODEL_FILE: "A TorchScript (.pt/.ts) or torch.export (.pt2) model file.",
}
COLOR_BLIND_SAFE_NAMES = {"viridis", "CET-CBL2", COLOR_BLIND_SAFE}
PRESENT = {"noise_level": (100.0, " %", 1)}
"""How a schema field is shown when not as it is stored: (scale, suffix, decimals); the noise level in %."""
MNEMONIC = {"method": "Me&thod", "aggregation": "&Aggregation", "noise_level": "&Noise level",
            "n_samples": "Samples &n", "seed": "&Seed", "batch_size": "&Batch size"}
"""Labels with keyboard mnemonics (Alt+letter); the other fields use the schema's label."""

TIPS = {
    "model": "Which network to explain. The embedded MNIST CNN ships with the app; its twin was trained with noisy "
             "inputs (paper, section 5). A torchvision architecture needs a weights file (or weights already in "
             "the local torch cache); a TorchScript file holds its own weights. Nothing is ever downloaded.",
    "arch": "The torchvision network architecture whose weights you load.",
    "weights": "A state_dict file for the architecture, a weights name found in the local torch cache (e.g. "
               "IMAGENET1K_V1), 'random' for untrained weights, or empty for the architecture's default weights "
               "from the local cache.",
    "transform_input": "Inception v3 and GoogLeNet only: torchvision's transform_input, which rescales the "
                       "ImageNet-normalised input to the [-1, 1] range Google's weights were trained on. On (the "
                       "default) for torchvision's pretrained weights and networks fine-tuned from them; off for a "
                       "network trained from scratch with torchvision's defaults. The weights file cannot show "
                       "which; the auxiliary heads follow the file.",
    "file": "A TorchScript (.pt/.ts) or torch.export (.pt2) model file. Such files contain code: only open files "
            "you trust.",
    "target": "The class the map explains. 'Predicted' follows the model's top class; click a row of the class "
              "table to pick another.",
    "view": "Absolute: how much each pixel matters, whatever the sign (sum of |values| over colour channels). "
            "Signed: whether a pixel raises (positive) or lowers (negative) the class score.",
    "percentile": "Values above this percentile are shown at full colour, so a few extreme pixels do not wash "
                  "out the rest of the map. 99 is the usual choice; 100 shows the true maximum.",
    "clip_mode": "How the top of the colour scale (the span) is chosen. Percentile (PAIR-style, the default): the "
                 "value at the percentile above. Cumulative mass (Captum-style): the smallest value below which that "
                 "percentage of the total |attribution| lies. Two-tailed: in the signed view, positive and negative "
                 "values each get their own percentile and the larger one sets the scale (the same as percentile "
                 "for the absolute view).",
    "mbi": "Multiply the map by the input pixel values before display. Black pixels then can never show up, "
           "whatever the model does there.",
    "cmap_absolute": "Colours for the absolute view (a sequential scale from 'not important' to 'important'). "
                     "Inferno (the default) stays readable over black, white and grey images; grey is the "
                     "paper's choice but vanishes in the overlay of a grey or white image; viridis and CET-CBL2 "
                     "are colour-blind safe.",
    "cmap_signed": "Colours for the signed view (a diverging scale: zero is the centre colour, positive and "
                   "negative values go different ways). CET-CBD1 is colour-blind safe.",
    "opacity": "How strongly the map is painted over the image in the overlay panel.",
    "device": "Where the computation runs: auto picks a CUDA GPU, then Apple MPS, then the CPU.",
    "reset": "Put every parameter back to its default value.",
}


def _combo(items, tip: str) -> QComboBox:
    box = QComboBox()
    for data, text in items:
        box.addItem(text, data)
    box.setToolTip(tip)
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(12)
    box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return box


def _select(box: QComboBox, data) -> bool:
    i = box.findData(data)
    if i >= 0:
        box.setCurrentIndex(i)
        return True
    return False


class ParameterEditor(QWidget):
    params_changed = Signal(object)  # Params
    model_file_chosen = Signal(str)  # a model file picked in the dialog or entered with Return (even the same one)
    reset_requested = Signal()

    def __init__(self, params: Params | None = None, parent: QWidget | None = None,
                 architectures: list[str] | None = None) -> None:
        super().__init__(parent)
        self._updating = False
        self._labels: tuple[str, ...] = tuple(str(i) for i in range(10))
        self._input_range: float | None = None
        self._architectures = architectures
        self._folders = None  # the app's settings (AppSettings): where each file dialog opens (set_folders)
        self._build()
        self.set_params(params or Params())

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setContentsMargins(4, 4, 4, 4)
        self._form = form

        self.model_combo = _combo(MODEL_CHOICES, TIPS["model"])
        for i in range(self.model_combo.count()):
            self.model_combo.setItemData(i, MODEL_CHOICE_TIPS[self.model_combo.itemData(i)],
                                         Qt.ItemDataRole.ToolTipRole)
        form.addRow(self._label("&Model", self.model_combo, TIPS["model"]), self.model_combo)

        self.arch_combo = QComboBox()
        self.arch_combo.setEditable(True)
        self.arch_combo.setToolTip(TIPS["arch"])
        self.arch_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._arch_row_label = self._label("Architecture", self.arch_combo, TIPS["arch"])
        form.addRow(self._arch_row_label, self.arch_combo)

        self.weights_edit = QLineEdit()
        self.weights_edit.setPlaceholderText("default weights from the local cache")
        self.weights_edit.setToolTip(TIPS["weights"])
        self.weights_button = QToolButton()
        self.weights_button.setText("…")
        self.weights_button.setToolTip("Choose a weights (state_dict) file")
        self._weights_row = self._with_button(self.weights_edit, self.weights_button)
        self._weights_row_label = self._label("Weights", self.weights_edit, TIPS["weights"])
        form.addRow(self._weights_row_label, self._weights_row)

        self.transform_check = QCheckBox("Input transform (Inception/GoogLeNet)")
        self.transform_check.setToolTip(TIPS["transform_input"])
        form.addRow("", self.transform_check)

        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText("path to a .pt / .ts / .pt2 model")
        self.file_edit.setToolTip(TIPS["file"])
        self.file_button = QToolButton()
        self.file_button.setText("…")
        self.file_button.setToolTip("Choose a TorchScript or torch.export model file")
        self._file_row = self._with_button(self.file_edit, self.file_button)
        self._file_row_label = self._label("Model file", self.file_edit, TIPS["file"])
        form.addRow(self._file_row_label, self._file_row)

        self._compute_rows(form)

        self.target_combo = QComboBox()
        self.target_combo.setToolTip(TIPS["target"])
        self.target_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.target_combo.setMinimumContentsLength(12)
        self.target_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        form.addRow(self._label("Tar&get class", self.target_combo, TIPS["target"]), self.target_combo)

        self.view_combo = _combo([("absolute", "Absolute (magnitude)"), ("signed", "Signed (+/−)")], TIPS["view"])
        form.addRow(self._label("&View", self.view_combo, TIPS["view"]), self.view_combo)

        self.percentile_spin = QDoubleSpinBox()
        self.percentile_spin.setRange(50.0, 100.0)
        self.percentile_spin.setDecimals(1)
        self.percentile_spin.setSingleStep(0.5)
        self.percentile_spin.setToolTip(TIPS["percentile"])
        self.percentile_spin.setKeyboardTracking(False)
        form.addRow(self._label("&Cap at percentile", self.percentile_spin, TIPS["percentile"]), self.percentile_spin)

        self.clip_combo = _combo([("percentile", "Percentile (PAIR)"), ("cumulative", "Cumulative mass (Captum)"),
                                  ("two-tailed", "Two-tailed")], TIPS["clip_mode"])
        self.clip_combo.setObjectName("clip_mode")
        form.addRow(self._label("Clip &mode", self.clip_combo, TIPS["clip_mode"]), self.clip_combo)

        self.mbi_check = QCheckBox("Multiply by input")
        self.mbi_check.setToolTip(TIPS["mbi"])
        form.addRow("", self.mbi_check)

        self.cmap_abs_combo = _combo([(n, self._cmap_text(n)) for n in colormap_names("sequential")],
                                     TIPS["cmap_absolute"])
        self._cmap_tooltips(self.cmap_abs_combo)
        form.addRow(self._label("Colours (absolute)", self.cmap_abs_combo, TIPS["cmap_absolute"]), self.cmap_abs_combo)
        self.cmap_signed_combo = _combo([(n, self._cmap_text(n)) for n in colormap_names("diverging")],
                                        TIPS["cmap_signed"])
        self._cmap_tooltips(self.cmap_signed_combo)
        form.addRow(self._label("Colours (signed)", self.cmap_signed_combo, TIPS["cmap_signed"]),
                    self.cmap_signed_combo)

        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setToolTip(TIPS["opacity"])
        self.opacity_label = QLabel()
        self.opacity_label.setMinimumWidth(36)
        op_row = QWidget()
        ol = QHBoxLayout(op_row)
        ol.setContentsMargins(0, 0, 0, 0)
        ol.addWidget(self.opacity_slider, 1)
        ol.addWidget(self.opacity_label)
        form.addRow(self._label("Overlay &opacity", self.opacity_slider, TIPS["opacity"]), op_row)

        self.device_combo = _combo([("auto", "auto")] + [(d, d) for d in available_devices()], TIPS["device"])
        form.addRow(self._label("&Device", self.device_combo, TIPS["device"]), self.device_combo)

        self.reset_button = QPushButton("Reset to defaults")
        self.reset_button.setToolTip(TIPS["reset"])

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(form)
        outer.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignLeft)
        outer.addStretch(1)

        # connections (all GUI thread)
        self.model_combo.currentIndexChanged.connect(self._on_model_kind)
        self.arch_combo.activated.connect(self._emit)
        self.arch_combo.currentTextChanged.connect(self._show_model_rows)
        self.arch_combo.lineEdit().editingFinished.connect(self._emit)
        self.weights_edit.editingFinished.connect(self._emit)
        self.transform_check.toggled.connect(self._emit)
        self.file_edit.editingFinished.connect(self._emit)
        self.file_edit.returnPressed.connect(self._choose_file)
        self.weights_button.clicked.connect(self._browse_weights)
        self.file_button.clicked.connect(self._browse_model_file)
        for box in (self.target_combo, self.view_combo, self.clip_combo, self.cmap_abs_combo, self.cmap_signed_combo,
                    self.device_combo):
            box.currentIndexChanged.connect(self._emit)
        self.percentile_spin.valueChanged.connect(self._emit)
        for w in self.fields.values():
            (w.currentIndexChanged if isinstance(w, QComboBox) else w.valueChanged).connect(self._emit)
        self.mbi_check.toggled.connect(self._emit)
        self.opacity_slider.valueChanged.connect(self._emit)
        self.reset_button.clicked.connect(self._on_reset)

    def _compute_rows(self, form: QFormLayout) -> None:
        """One row per field of the parameter schema (:mod:`...core.schema`), with its label, tooltip and bounds: a
        field added to the schema (and to ``Params``) appears here without further code."""
        self.fields: dict[str, QWidget] = {}
        for f in schema.FIELDS:
            scale, suffix, decimals = PRESENT.get(f.name, (1.0, "", 3))
            if f.choices is not None:
                w = _combo([(c, (f.choice_labels or {}).get(c, c)) for c in f.choices], f.tip)
            elif f.kind is int:
                w = QSpinBox()
                special = f.optional or f.auto  # the lowest value means "automatic" / "until converged"
                w.setRange(int(f.lo) - 1 if special else int(f.lo), int(f.hi))
                if special:
                    w.setSpecialValueText("Auto" if f.optional else "auto (until converged)")
            else:
                w = QDoubleSpinBox()
                w.setRange(f.lo * scale, f.hi * scale)
                w.setDecimals(decimals)
                w.setSingleStep(1.0 if scale != 1.0 else 0.1)
                w.setSuffix(suffix)
            if not isinstance(w, QComboBox):
                w.setKeyboardTracking(False)
            w.setObjectName(f.name)
            w.setToolTip(f.tip)
            self.fields[f.name] = w
            field: QWidget = w
            if f.name == "noise_level":  # the absolute σ beside the level
                self.sigma_label = QLabel()
                self.sigma_label.setToolTip("The absolute standard deviation of the noise: level × (max(x) − min(x)) "
                                            "of the model input.")
                self.sigma_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                field = QWidget()
                row = QHBoxLayout(field)
                row.setContentsMargins(0, 0, 0, 0)
                row.addWidget(w, 1)
                row.addWidget(self.sigma_label, 1)
            form.addRow(self._label(MNEMONIC.get(f.name, f.label), w, f.tip), field)
        get = self.fields.get
        self.method_combo, self.aggregation_combo = get("method"), get("aggregation")
        self.noise_spin, self.n_spin, self.steps_spin = get("noise_level"), get("n_samples"), get("steps")
        self.seed_spin, self.batch_spin = get("seed"), get("batch_size")

    def _set_field(self, name: str, value) -> None:
        w = self.fields[name]
        if isinstance(w, QComboBox):
            _select(w, value)
        elif value is None or value == schema.AUTO or (name == "batch_size" and value == 0):
            w.setValue(w.minimum())
        else:
            w.setValue(value * PRESENT.get(name, (1.0,))[0])

    def _get_field(self, name: str):
        w, f = self.fields[name], schema.BY_NAME[name]
        if isinstance(w, QComboBox):
            return w.currentData()
        if isinstance(w, QSpinBox) and w.value() == w.minimum() and (f.optional or f.auto):
            return 0 if f.optional else schema.AUTO
        scale = PRESENT.get(name, (1.0,))[0]
        return w.value() if scale == 1.0 else round(w.value() / scale, 6)

    def _label(self, text: str, buddy: QWidget, tip: str) -> QLabel:
        label = QLabel(text)
        label.setBuddy(buddy)
        label.setToolTip(tip)
        return label

    @staticmethod
    def _with_button(edit: QLineEdit, button: QToolButton) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(edit, 1)
        layout.addWidget(button)
        return row

    @staticmethod
    def _cmap_text(name: str) -> str:
        return f"{name} (colour-blind safe)" if name in COLOR_BLIND_SAFE_NAMES else name

    @staticmethod
    def _cmap_tooltips(box: QComboBox) -> None:
        for i in range(box.count()):
            name = box.itemData(i)
            try:
                box.setItemData(i, COLORMAPS[name].description, Qt.ItemDataRole.ToolTipRole)
            except (KeyError, FileNotFoundError, ValueError):
                pass

    def _arch_list(self) -> list[str]:
        if self._architectures is None:
            try:
                from ...core.models import architectures

                self._architectures = architectures()
            except Exception:  # noqa: BLE001 - torchvision broken: the other model kinds still work
                self._architectures = []
        return self._architectures

    # ------------------------------------------------------------------ state <-> widgets
    def params(self) -> Params:
        return self._params

    def set_params(self, params: Params) -> None:
        """Show ``params`` without emitting ``params_changed``."""
        self._updating = True
        try:
            self._params = params
            spec = params.model
            if spec in EMBEDDED_SPECS:
                _select(self.model_combo, spec)
            elif spec in set(self._arch_list()):
                _select(self.model_combo, MODEL_TORCHVISION)
                self._fill_arch()
                self.arch_combo.setCurrentText(spec)
                self.weights_edit.setText(params.weights)
            else:
                _select(self.model_combo, MODEL_FILE)
                self.file_edit.setText(spec)
            self.transform_check.setChecked(params.transform_input)
            self._show_model_rows()
            for name in self.fields:
                self._set_field(name, getattr(params, name))
            self._fill_targets(params.target)
            _select(self.view_combo, params.view)
            self.percentile_spin.setValue(params.percentile)
            _select(self.clip_combo, params.clip_mode)
            self.mbi_check.setChecked(params.multiply_by_input)
            _select(self.cmap_abs_combo, params.cmap_absolute)
            _select(self.cmap_signed_combo, params.cmap_signed)
            self.opacity_slider.setValue(round(params.opacity * 100))
            if not _select(self.device_combo, params.device):
                self.device_combo.addItem(params.device, params.device)
                _select(self.device_combo, params.device)
            self._refresh_derived()
        finally:
            self._updating = False

    def _read(self) -> Params:
        kind = self.model_combo.currentData()
        p = self._params
        if kind == MODEL_TORCHVISION:
            model, weights = self.arch_combo.currentText().strip() or "resnet50", self.weights_edit.text().strip()
        elif kind == MODEL_FILE:  # also timm:NAME, hf:ORG/NAME and model folders: keep their weights
            model = self.file_edit.text().strip() or p.model
            weights = p.weights if model == p.model else ""
        else:
            model, weights = kind, ""
        target = self.target_combo.currentData()
        return replace(
            p, model=model, weights=weights, device=self.device_combo.currentData() or "auto",
            transform_input=self.transform_check.isChecked(),
            **{name: self._get_field(name) for name in self.fields},
            target=None if target is None or target < 0 else int(target), view=self.view_combo.currentData(),
            percentile=self.percentile_spin.value(), clip_mode=self.clip_combo.currentData() or "percentile",
            multiply_by_input=self.mbi_check.isChecked(),
            cmap_absolute=self.cmap_abs_combo.currentData(), cmap_signed=self.cmap_signed_combo.currentData(),
            opacity=self.opacity_slider.value() / 100.0,
        )

    @Slot()
    def _emit(self, *_args) -> None:
        if self._updating:
            return
        new = self._read()
        self._refresh_derived()
        if new != self._params:
            self._params = new
            self._refresh_derived()
            self.params_changed.emit(new)

    def _refresh_derived(self) -> None:
        p = self._params
        ig = self.method_combo.currentData() == "integrated-gradients"
        self.steps_spin.setEnabled(ig)
        if "quadrature" in self.fields:
            self.fields["quadrature"].setEnabled(ig)
        aggregated = self.aggregation_combo.currentData() != "none"
        self.noise_spin.setEnabled(aggregated)
        self.n_spin.setEnabled(aggregated)
        auto = self.n_spin.value() == self.n_spin.minimum()  # samples "auto": the tolerance and the cap apply
        for name in ("tolerance", "max_samples"):
            if name in self.fields:
                self.fields[name].setEnabled(aggregated and auto)
        level = self.noise_spin.value() / 100.0
        if not aggregated:
            self.sigma_label.setText("σ = 0 (no noise)")
        elif self._input_range is not None:
            self.sigma_label.setText(f"σ = {level * self._input_range:.4g}")
            self.sigma_label.setToolTip(f"σ = {level:g} × (max(x) − min(x)) = {level:g} × {self._input_range:.4g} "
                                        f"= {level * self._input_range:.4g} in model-input units")
        else:
            self.sigma_label.setText(f"σ = {level:g} × range")
        self.opacity_label.setText(f"{self.opacity_slider.value()} %")
        del p

    # ------------------------------------------------------------------ model rows
    @Slot(int)
    def _on_model_kind(self, _index: int) -> None:
        if self.model_combo.currentData() == MODEL_TORCHVISION:
            self._fill_arch()
        self._show_model_rows()
        kind = self.model_combo.currentData()
        if kind == MODEL_FILE and not self.file_edit.text().strip():
            return  # wait for a file
        self._emit()

    def _fill_arch(self) -> None:
        if self.arch_combo.count() == 0:
            names = self._arch_list()
            self.arch_combo.addItems(names)
            if "resnet50" in names:
                self.arch_combo.setCurrentText("resnet50")

    def _show_model_rows(self) -> None:
        kind = self.model_combo.currentData()
        tv, fl = kind == MODEL_TORCHVISION, kind == MODEL_FILE
        for w in (self.arch_combo, self._arch_row_label, self._weights_row, self._weights_row_label):
            w.setVisible(tv)
        self.transform_check.setVisible(tv and self.arch_combo.currentText().strip() in LAYOUT_ARCHS)
        for w in (self._file_row, self._file_row_label):
            w.setVisible(fl)

    def set_folders(self, folders) -> None:
        """Remember each file dialog's folder in ``folders`` (the app's settings: ``folder(dialog)``,
        ``set_folder(dialog, path)``); without it every dialog opens in the home folder."""
        self._folders = folders

    def _folder(self, dialog: str) -> str:
        """Where the file dialog ``dialog`` opens: the folder it used last (see ``set_folders``)."""
        return self._folders.folder(dialog) if self._folders is not None else str(Path.home())

    def _remember(self, dialog: str, path: str) -> None:
        if self._folders is not None:
            self._folders.set_folder(dialog, path)

    @Slot()
    def _browse_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a weights file", self._folder("weights"),
                                              "PyTorch weights (*.pt *.pth *.bin *.ckpt);;All files (*)")
        if path:
            self._remember("weights", path)
            self.weights_edit.setText(path)
            self._emit()

    @Slot()
    def _browse_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a TorchScript / torch.export model",
                                              self._folder("model_file"),
                                              "Model files (*.pt *.ts *.pt2 *.pth);;All files (*)")
        if path:
            self._remember("model_file", path)
            self.file_edit.setText(path)
            self._choose_file()

    @Slot()
    def _choose_file(self) -> None:
        """A model file was chosen (dialog or Return): emit the new parameters, and ``model_file_chosen`` so that
        choosing the same file again reloads it."""
        if self._updating or self.model_combo.currentData() != MODEL_FILE:
            return
        text = self.file_edit.text().strip()
        if not text:
            return
        self.model_file_chosen.emit(text)
        self._emit()

    # ------------------------------------------------------------------ from the window
    def set_method_refusals(self, refusals: dict[str, str]) -> None:
        """Disable the methods the loaded model cannot run, with the one-line reason as the item's tooltip."""
        items = self.method_combo.model()
        for i in range(self.method_combo.count()):
            method = self.method_combo.itemData(i)
            item = items.item(i) if hasattr(items, "item") else None
            if item is not None:
                item.setEnabled(method not in refusals)
            self.method_combo.setItemData(i, refusals.get(method, METHOD_LABELS.get(method, method)),
                                          Qt.ItemDataRole.ToolTipRole)

    def set_labels(self, labels: tuple[str, ...] | list[str]) -> None:
        """The loaded model's class names (for the target list)."""
        self._labels = tuple(labels)
        self._updating = True
        try:
            self._fill_targets(self._params.target)
        finally:
            self._updating = False

    def _fill_targets(self, target: int | None) -> None:
        self.target_combo.blockSignals(True)
        try:
            self.target_combo.clear()
            self.target_combo.addItem("Predicted class", -1)
            for i, label in enumerate(self._labels):
                self.target_combo.addItem(f"{i}: {label}" if label != str(i) else label, i)
            if target is not None and not _select(self.target_combo, target):
                self.target_combo.addItem(f"{target}: (not in this model)", target)
                _select(self.target_combo, target)
            if target is None:
                self.target_combo.setCurrentIndex(0)
        finally:
            self.target_combo.blockSignals(False)

    def set_target(self, target: int | None) -> None:
        """Pick the target class (e.g. from the class table); emits ``params_changed`` when it changes."""
        if target == self._params.target:
            return
        if target is None:
            self.target_combo.setCurrentIndex(0)
        elif not _select(self.target_combo, target):
            self._fill_targets(target)
            self._emit()

    def set_input_range(self, value: float | None) -> None:
        self._input_range = value
        self._refresh_derived()

    def set_opacity(self, value: float) -> None:
        self.opacity_slider.setValue(round(max(0.0, min(1.0, value)) * 100))

    @Slot()
    def _on_reset(self) -> None:
        if QMessageBox.question(self, "Reset to defaults", "Put every parameter back to its default?",
                                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                QMessageBox.StandardButton.No) == QMessageBox.StandardButton.Yes:
            self.reset_requested.emit()
