"""The model chooser dialog, offscreen: it lists what a temporary machine has (a timm and a transformers model in
an HF_HOME cache, a torch hub checkpoint under TORCH_HOME, recently used files), shows the preprocessing each will
get as the libraries themselves define it, yields the exact spec to load, greys out kinds whose library is missing
with the reason, and says in one line where it looked for missing weights. conftest's autouse guard fails any
test that opens a socket."""

from __future__ import annotations

import pytest
import timm.data
import torchvision
import transformers
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from gui_support import make_window  # noqa: F401 - fixture
from hub_support import HF_REPO, TORCHVISION_FILE, env, machine  # noqa: F401 - fixtures
from smoothgrad_desktop.core.models import catalog as cat
from smoothgrad_desktop.core.models.catalog import ModelChoice
from smoothgrad_desktop.gui.model_chooser import ModelChooser

TIMM_SPEC = "timm:test_vit.r160_in1k"


@pytest.fixture
def chooser(qtbot, env):
    """A chooser on the built machine, where the model folder and the TorchScript file were used recently."""
    cat.remember(str(env.folder), None)
    cat.remember(str(env.script), None)

    def make(current: ModelChoice | None = None) -> ModelChooser:
        dialog = ModelChooser(current=current)
        qtbot.addWidget(dialog)
        dialog.show()
        return dialog

    return make


def listed(dialog: ModelChooser) -> dict[str, list[str]]:
    """kind key -> the specs listed under it, read through the view's model."""
    proxy = dialog.tree.model()
    out = {}
    for row in range(proxy.rowCount()):
        kind_index = proxy.index(row, 0)
        kind = kind_index.data(Qt.ItemDataRole.UserRole + 2)
        out[kind.key] = [proxy.index(r, 0, kind_index).data(Qt.ItemDataRole.UserRole + 1).spec
                         for r in range(proxy.rowCount(kind_index))]
    return out


def shown(dialog: ModelChooser, key: str) -> str:
    return dialog.preview_labels[key].text()


def numbers_shown(text: str, values) -> bool:
    return text == ", ".join(f"{float(v):.4g}" for v in values)


def test_lists_what_the_machine_has_by_kind(chooser, env):
    dialog = chooser()
    found = listed(dialog)
    assert list(found) == list(cat.KIND_KEYS)
    assert found["embedded"] == ["default", "mnist-noise"]
    assert found["torchvision"] == ["resnet18"]  # the checkpoint under TORCH_HOME
    assert found["timm"] == [TIMM_SPEC] and found["hf"] == [f"hf:{HF_REPO}"]  # the HF_HOME cache
    assert found["folder"] == [str(env.folder)] and found["file"] == [str(env.script)]  # recently used
    assert str(env.hf_home) in dialog.where_label.text() and str(env.torch_home) in dialog.where_label.text()


def test_choosing_the_timm_entry_shows_timms_preprocessing_and_yields_its_spec(chooser, env, qtbot):
    dialog = chooser()
    dialog.tree.setCurrentIndex(dialog.entry_index(TIMM_SPEC))
    ref = timm.data.resolve_data_config({}, model=env.timm_model)
    c, h, w = ref["input_size"]
    assert shown(dialog, "input").startswith(f"{c} × {h} × {w}")
    assert numbers_shown(shown(dialog, "mean"), ref["mean"]) and numbers_shown(shown(dialog, "std"), ref["std"])
    assert shown(dialog, "interpolation") == ref["interpolation"]
    assert "timm" in shown(dialog, "preprocessing") and "imagenet-1k" in shown(dialog, "classes")
    assert dialog.load_button.isEnabled()
    with qtbot.waitSignal(dialog.chosen, timeout=5000) as blocker:
        dialog.load_button.click()
    assert blocker.args[0] == ModelChoice(TIMM_SPEC, None)


def test_choosing_the_transformers_entry_shows_its_image_processor(chooser, env, qtbot):
    dialog = chooser()
    dialog.tree.setCurrentIndex(dialog.entry_index(f"hf:{HF_REPO}"))
    processor = transformers.AutoImageProcessor.from_pretrained(str(env.hf_snapshot), local_files_only=True)
    assert shown(dialog, "input").startswith(f"3 × {processor.size['height']} × {processor.size['width']}")
    assert numbers_shown(shown(dialog, "mean"), processor.image_mean)
    assert numbers_shown(shown(dialog, "std"), processor.image_std)
    assert "ViTImageProcessor" in shown(dialog, "preprocessing") and "id2label (3 classes)" in shown(dialog, "classes")
    with qtbot.waitSignal(dialog.chosen, timeout=5000) as blocker:
        dialog.accept()
    assert blocker.args[0].spec == f"hf:{HF_REPO}" and blocker.args[0].weights is None


def test_torch_hub_checkpoint_entry(chooser, env):
    dialog = chooser(ModelChoice("resnet18", "ResNet18_Weights.IMAGENET1K_V1"))
    assert dialog.tree.currentIndex() == dialog.entry_index("resnet18", "ResNet18_Weights.IMAGENET1K_V1")
    t = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.transforms()
    assert shown(dialog, "input").startswith(f"3 × {t.crop_size[0]} × {t.crop_size[0]}")
    assert numbers_shown(shown(dialog, "mean"), t.mean) and TORCHVISION_FILE in shown(dialog, "weights")
    assert dialog.choice() == ModelChoice("resnet18", "ResNet18_Weights.IMAGENET1K_V1")


def test_a_kind_whose_library_is_missing_is_disabled_with_the_reason(chooser, env, monkeypatch):
    monkeypatch.setattr(cat, "library_available", lambda name: name not in ("timm", "transformers"))
    dialog = chooser()
    for key in ("timm", "hf", "folder"):
        index = dialog.kind_index(key)
        assert not index.flags() & Qt.ItemFlag.ItemIsEnabled
        assert "'hub' extra" in index.siblingAtColumn(1).data() and "'hub' extra" in index.data(
            Qt.ItemDataRole.ToolTipRole)
        for row in range(dialog.tree.model().rowCount(index)):  # and so is every entry under it
            assert not dialog.tree.model().index(row, 0, index).flags() & Qt.ItemFlag.ItemIsEnabled
    assert dialog.kind_index("file").flags() & Qt.ItemFlag.ItemIsEnabled
    dialog.spec_edit.setText(TIMM_SPEC)  # typed anyway: refused in one line, Load stays off
    dialog.refresh_preview()
    assert "'hub' extra" in dialog.status_label.text() and not dialog.load_button.isEnabled()


def test_missing_weights_file_is_one_line_naming_where_it_looked(chooser, env, qtbot, tmp_path, monkeypatch):
    dialog = chooser(ModelChoice("resnet18", "ResNet18_Weights.IMAGENET1K_V1"))
    missing = tmp_path / "gone" / "fine-tuned.safetensors"
    seen = []

    def pick(parent, caption, folder, filters):
        seen.append(filters)
        return str(missing), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", pick)
    dialog.weights_button.click()
    assert "*.safetensors" in seen[0] and "*.pt" in seen[0] and "*.pth" in seen[0]
    line = dialog.status_label.text()
    assert line == f"weights file not found: looked for {missing}"
    assert not dialog.load_button.isEnabled()
    with qtbot.assertNotEmitted(dialog.chosen):
        dialog.accept()
    assert dialog.isVisible()

    dialog.spec_edit.setText("timm:test_resnet")  # no weights: where timm's pretrained files would be
    dialog.weights_edit.clear()
    dialog.refresh_preview()
    line = dialog.status_label.text()
    assert "\n" not in line and str(env.hf_home / "hub" / "models--timm--test_resnet") in line
    dialog.random_button.click()
    assert dialog.load_button.isEnabled() and dialog.choice() == ModelChoice("timm:test_resnet", "random")


def test_folder_and_file_pickers_yield_their_spec(chooser, env, qtbot, monkeypatch):
    dialog = chooser()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(env.folder))
    dialog.folder_button.click()
    assert dialog.choice() == ModelChoice(str(env.folder)) and "id2label (2 classes)" in shown(dialog, "classes")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(env.script), ""))
    dialog.file_button.click()
    assert shown(dialog, "input").startswith("1 × 32 × 24") and "runs code" in shown(dialog, "notes")
    with qtbot.waitSignal(dialog.chosen, timeout=5000) as blocker:
        dialog.accept()
    assert blocker.args[0] == ModelChoice(str(env.script))


def test_filter_keeps_matching_entries(chooser, env):
    dialog = chooser()
    dialog.filter_edit.setText("tiny-vit")
    found = {k: v for k, v in listed(dialog).items()}
    assert found == {"hf": [f"hf:{HF_REPO}"]}


def test_model_menu_loads_the_choice_and_greys_out_guided_backprop(make_window, env, qtbot):
    window = make_window()
    action = next(a for a in window.findChildren(type(window.run_action)) if a.text() == "&Choose…")
    action.trigger()
    dialog = window.findChild(ModelChooser)
    assert dialog is not None and dialog.isVisible() and dialog.choice().spec == "default"
    dialog.tree.setCurrentIndex(dialog.entry_index(TIMM_SPEC))
    with qtbot.waitSignal(window.model_ready, timeout=60_000) as blocker:
        dialog.load_button.click()
    assert blocker.args[0].spec == TIMM_SPEC and window.params.model == TIMM_SPEC
    combo = window.editor.method_combo
    i = combo.findData("guided-backprop")
    assert not combo.model().item(i).isEnabled() and "GELU" in combo.itemData(i, Qt.ItemDataRole.ToolTipRole)
    assert combo.model().item(combo.findData("gradient")).isEnabled()
    with qtbot.waitSignal(window.model_ready, timeout=60_000):  # a ReLU network: Guided Backprop is back
        window.apply_model_choice(ModelChoice(str(env.folder)))
    assert combo.model().item(i).isEnabled()
    assert cat.recent_models()[0] == {"spec": str(env.folder.resolve()), "weights": None}  # listed next time
    window.close()


def test_editing_a_parameter_keeps_the_chosen_weights(make_window, env, qtbot):
    window = make_window()
    with qtbot.waitSignal(window.model_ready, timeout=60_000) as blocker:
        window.apply_model_choice(ModelChoice("timm:test_resnet", "random"))
    assert blocker.args[0].spec == "timm:test_resnet"
    window.editor.n_spin.setValue(window.editor.n_spin.value() + 1)  # any edit re-reads the editor
    assert window.params.model == "timm:test_resnet" and window.params.weights == "random"
    window.close()


def test_hostile_file_names_are_shown_on_one_printable_line(chooser, env, tmp_path):
    evil = tmp_path / "evil\x1b[2J\nname\u202e.pt"
    evil.write_bytes(b"never loaded")
    cat.remember(str(evil), None)
    dialog = chooser()
    index = dialog.entry_index(str(evil))
    assert index.isValid()
    for text in (index.data(), index.siblingAtColumn(1).data(), index.data(Qt.ItemDataRole.ToolTipRole)):
        assert all(ch.isprintable() or ch == "\n" for ch in text) and "\x1b" not in text and "\u202e" not in text
    assert "\\x1b" in index.data()
    dialog.tree.setCurrentIndex(index)
    assert all(ch.isprintable() for key in dialog.preview_labels for ch in shown(dialog, key))
    assert all(ch.isprintable() for ch in dialog.status_label.text())


def test_the_catalog_tree_model_passes_qts_model_tester(qtmodeltester, env, monkeypatch):
    from smoothgrad_desktop.gui.model_chooser import CatalogTreeModel

    model = CatalogTreeModel()
    model.set_catalog(cat.model_kinds(), cat.catalog())
    qtmodeltester.check(model, force_py=True)
    monkeypatch.setattr(cat, "library_available", lambda name: name != "timm")
    model.set_catalog(cat.model_kinds(), cat.catalog())  # a reset with disabled rows
    qtmodeltester.check(model, force_py=True)
