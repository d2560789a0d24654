"""The layer stack driven as a user drives it: menus, buttons, spin boxes, the Delete key,
drag and drop, and dialogs answered by monkeypatched QFileDialog."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog

from core.network import ActivationLayer, Network, PoolLayer, load_network
from tests.ui.network_screenshots import two_layer_network
from ui.network.layer_stack import LayerStackEditor
from ui.network.layer_table import ROW_MIME


@pytest.fixture
def editor(qtbot):
    network = two_layer_network(padding="valid")
    editor = LayerStackEditor(network, rng=np.random.default_rng(0))
    qtbot.addWidget(editor)
    editor.resize(600, 600)
    editor.show()
    editor.set_input((28, 28), 1)
    return editor


class Recorder:
    def __init__(self, editor):
        self.networks = []
        self.messages = []
        editor.networkChanged.connect(self.networks.append)
        editor.message.connect(self.messages.append)


def _cell(editor, row, column):
    return editor.model.index(row, column).data()


def test_table_lists_shapes_parameters_and_fields(editor):
    assert editor.model.rowCount() == 5
    rows = [[_cell(editor, r, c) for c in range(6)] for r in range(5)]
    # The Kind column is one short line; the full configuration is the row's tooltip.
    assert rows[0] == ["1", "conv1", "conv 8·3x3", "26x26x8", "80", "3x3"]
    assert rows[3][2:] == ["conv 16·3x3x8", "11x11x16", "1,168", "8x8"]
    assert [row[2] for row in rows] == ["conv 8·3x3", "relu", "max 2x2", "conv 16·3x3x8", "max 2x2"]
    tip = editor.model.index(3, 2).data(Qt.ItemDataRole.ToolTipRole)
    assert tip == "conv2: conv, 16 filters 3x3x8, stride 1, valid"
    assert [row[5] for row in rows] == ["3x3", "3x3", "4x4", "8x8", "10x10"]
    editor.set_input((64, 48), 1)  # the input changed: shapes follow, no edit
    assert _cell(editor, 0, 3) == "62x46x8"


def test_add_conv_after_the_selection_takes_the_channels_there(editor):
    record = Recorder(editor)
    editor.select(2)
    editor.add_conv_action.trigger()
    network = editor.network()
    assert [layer.name for layer in network] == [
        "conv1", "relu1", "pool1", "conv3", "conv2", "pool2",
    ]  # fmt: skip
    assert network.layers[3].weights.shape == (8, 8, 3, 3)  # takes pool1's 8 channels
    # He init: std sqrt(2 / (8 * 3 * 3)) = 0.167; 576 draws land near it.
    assert network.layers[3].weights.std() == pytest.approx(np.sqrt(2 / 72), rel=0.15)
    assert network.layers[4].in_channels == 8  # conv2 unchanged: 8 in, 8 out before it
    assert record.networks == [network]  # one signal for one action
    assert editor.selected_index() == 3


def test_add_each_kind_from_the_menu(editor):
    record = Recorder(editor)
    editor.select(None)
    editor.add_activation_action.trigger()
    editor.add_pool_action.trigger()
    editor.add_bank_actions["lines-4"].trigger()
    names = [layer.name for layer in editor.network()]
    assert names[-3:] == ["relu2", "pool3", "conv3"]
    bank = editor.network().layers[-1]
    assert bank.weights.shape == (4, 16, 3, 3)
    assert np.array_equal(bank.weights[0, 5], [[1, 1, 1], [0, 0, 0], [-1, -1, -1]])
    assert len(record.networks) == 3


def test_remove_then_undo_and_redo(editor, qtbot):
    record = Recorder(editor)
    before = editor.network()
    editor.select(0)
    qtbot.mouseClick(editor.remove_button, Qt.MouseButton.LeftButton)
    after = editor.network()
    assert [layer.name for layer in after] == ["relu1", "pool1", "conv2", "pool2"]
    assert after.layers[2].in_channels == 1  # conv2 now gets the image's one channel
    assert "conv2 now takes 1 input channel(s)" in record.messages[-1]
    assert np.array_equal(after.layers[2].weights[:, 0], before.layers[3].weights[:, 0])
    qtbot.mouseClick(editor.undo_button, Qt.MouseButton.LeftButton)
    assert editor.network() is before
    assert editor.status.text() == "Undone: Remove conv1."
    qtbot.mouseClick(editor.redo_button, Qt.MouseButton.LeftButton)
    assert editor.network() is after
    assert record.networks == [after, before, after]


def test_move_buttons_and_their_limits(editor, qtbot):
    editor.select(1)
    qtbot.mouseClick(editor.up_button, Qt.MouseButton.LeftButton)
    assert [layer.name for layer in editor.network()][:2] == ["relu1", "conv1"]
    assert editor.selected_index() == 0
    assert not editor.up_button.isEnabled()
    editor.select(4)
    assert not editor.down_button.isEnabled()
    editor.select(2)
    qtbot.mouseClick(editor.down_button, Qt.MouseButton.LeftButton)
    assert [layer.name for layer in editor.network()] == [
        "relu1", "conv1", "conv2", "pool1", "pool2",
    ]  # fmt: skip


def test_drag_and_drop_moves_a_layer(editor):
    record = Recorder(editor)
    model = editor.model
    data = model.mimeData([model.index(4, 1)])
    assert data.hasFormat(ROW_MIME)
    # Dropped in the gap above row 1 (the view's row argument), as a drag there does.
    model.dropMimeData(data, Qt.DropAction.MoveAction, 1, 0, model.index(-1, -1))
    assert [layer.name for layer in editor.network()] == [
        "conv1", "pool2", "relu1", "pool1", "conv2",
    ]  # fmt: skip
    # Dropped onto row 4 (the last one): it takes that place.
    data = model.mimeData([model.index(1, 0)])
    model.dropMimeData(data, Qt.DropAction.MoveAction, -1, -1, model.index(4, 0))
    assert [layer.name for layer in editor.network()][-1] == "pool2"
    assert len(record.networks) == 2


def test_configure_a_conv_layer(editor):
    record = Recorder(editor)
    editor.select(0)
    old = editor.network().layers[0]
    editor.config.filters.setValue(12)
    conv1, conv2 = editor.network().layers[0], editor.network().layers[3]
    assert conv1.weights.shape == (12, 1, 3, 3)
    assert np.array_equal(conv1.weights[:8], old.weights)  # kept filters stay
    assert conv2.in_channels == 12  # the next conv follows, and the user is told
    assert (
        "conv2 now takes 12 input channel(s); its 4 new slice(s) start He-random"
        in (record.messages[-1])
    )
    editor.config.kernel_size.setValue(5)
    grown = editor.network().layers[0].weights
    assert grown.shape == (12, 1, 5, 5)
    assert np.array_equal(grown[:8, :, 1:4, 1:4], old.weights)  # centred, ring of zeros
    assert not grown[:, :, 0, :].any()
    editor.config.padding.setCurrentText("pixels")
    editor.config.padding_pixels.setValue(2)
    editor.config.stride.setValue(2)
    editor.config.border.setCurrentText("reflect")
    conv = editor.network().layers[0]
    assert (conv.padding, conv.stride, conv.border) == (2, 2, "reflect")
    assert _cell(editor, 0, 3) == "14x14x12"  # (28 + 4 - 5) // 2 + 1
    assert len(record.networks) == 6  # filters, kernel, padding, pixels, stride, border


def test_a_burst_of_changes_to_one_setting_is_one_undo_step(editor):
    editor.select(0)
    before = editor.network()
    for count in (9, 10, 11):
        editor.config.filters.setValue(count)
    assert editor.undo_stack.count() == 1
    editor.undo_action.trigger()
    assert editor.network() is before
    assert editor.config.filters.value() == 8  # the controls show the network again


def test_configure_activation_and_pool(editor):
    editor.select(1)
    editor.config.function.setCurrentText("tanh")
    assert editor.network().layers[1].function == "tanh"
    editor.select(2)
    editor.config.pool_size.setValue(3)
    pool = editor.network().layers[2]
    assert (pool.size, pool.stride) == (3, 3)  # the stride followed the size
    editor.config.pool_mode.setCurrentText("avg")
    assert editor.network().layers[2].mode == "avg"
    editor.config.pool_name.setText("smooth")
    editor.config.pool_name.editingFinished.emit()
    assert editor.network().layers[2].name == "smooth"


def test_invalid_edits_are_refused_with_a_message_and_change_nothing(editor):
    record = Recorder(editor)
    before = editor.network()
    editor.select(0)
    editor.config.kernel_size.setValue(27)  # pool2 no longer fits in the 28x28 digit
    assert editor.network() is before and record.networks == []
    assert "refused" in record.messages[-1] and "28x28" in record.messages[-1]
    assert editor.config.kernel_size.value() == 3  # the control shows the network again
    editor.config.conv_name.setText("pool1")
    editor.config.conv_name.editingFinished.emit()
    assert "own, non-empty name" in record.messages[-1]
    assert editor.network() is before
    assert "refused" in editor.status.text()


def test_the_last_layer_cannot_be_removed(qtbot):
    editor = LayerStackEditor(Network((PoolLayer(name="p"),)))
    qtbot.addWidget(editor)
    record = Recorder(editor)
    editor.select(0)
    assert not editor.remove_button.isEnabled()
    editor.remove_action.trigger()
    assert "at least one layer" in record.messages[-1]
    assert record.networks == []


def test_save_and_open_through_the_dialogs(editor, qtbot, monkeypatch, tmp_path):
    record = Recorder(editor)
    target = tmp_path / "mine"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), ""))
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    saved = load_network(tmp_path / "mine.json")
    assert [layer.name for layer in saved] == [layer.name for layer in editor.network()]
    assert np.array_equal(saved.layers[3].weights, editor.network().layers[3].weights)

    other = Network((ActivationLayer("abs", name="a"), PoolLayer("avg", 3, name="b")))
    other.save(tmp_path / "other.json")
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName",
        lambda *args, **kwargs: (str(tmp_path / "other.json"), ""),
    )  # fmt: skip
    qtbot.mouseClick(editor.open_button, Qt.MouseButton.LeftButton)
    assert [layer.name for layer in editor.network()] == ["a", "b"]
    assert editor.network().layers[1].size == 3
    assert len(record.networks) == 1


def test_unusable_files_and_failed_saves_change_nothing(editor, qtbot, monkeypatch, tmp_path):
    record = Recorder(editor)
    before = editor.network()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "convscope-network", "version": 1, "layers": [
        {"type": "conv", "name": "c", "weights": [[[[1, 2], [3]]]]}]}))  # fmt: skip
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    qtbot.mouseClick(editor.open_button, Qt.MouseButton.LeftButton)
    assert editor.network() is before and record.networks == []
    assert "Could not load bad.json" in record.messages[-1] and "'c'" in record.messages[-1]

    missing_dir = tmp_path / "no" / "such" / "dir" / "net.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(missing_dir), ""))
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    assert "Could not save net.json" in record.messages[-1]
    assert not missing_dir.exists()
    # Cancelled dialogs do nothing.
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: ("", ""))
    qtbot.mouseClick(editor.open_button, Qt.MouseButton.LeftButton)
    assert editor.network() is before


def test_start_from_an_example_is_undoable(editor):
    record = Recorder(editor)
    before = editor.network()
    editor.preset_actions["keras-conv32-maxpool"].trigger()
    assert [_cell(editor, r, 3) for r in range(3)] == ["26x26x32", "26x26x32", "13x13x32"]
    assert "26x26x32" in record.messages[-1]  # the lesson is shown
    editor.preset_actions["two-layer-field"].trigger()
    assert [_cell(editor, r, 5) for r in range(6)] == [
        "3x3", "3x3", "4x4", "8x8", "8x8", "10x10",
    ]  # fmt: skip
    editor.undo_action.trigger()
    editor.undo_action.trigger()
    assert editor.network() is before
    assert len(record.networks) == 4


def test_a_loaded_network_that_does_not_fit_is_kept_and_flagged(editor, tmp_path):
    record = Recorder(editor)
    deep = Network(tuple(PoolLayer("max", 2, name=f"p{i}") for i in range(6)))
    deep.save(tmp_path / "deep.json")
    assert editor.load_file(tmp_path / "deep.json")
    # 28 -> 14 -> 7 -> 3 -> 1: p4 has no 2x2 window left, and p5 runs after it.
    assert "does not run on the current 28x28 input: p4" in record.messages[-1]
    assert _cell(editor, 3, 3) == "1x1x1"
    assert _cell(editor, 4, 3) == "— (see tooltip)"
    assert "too small" in editor.model.index(4, 3).data(Qt.ItemDataRole.ToolTipRole)
    assert "cannot run: p4 does not" in editor.model.index(5, 3).data(Qt.ItemDataRole.ToolTipRole)
    # Edits are still possible on a network that already did not fit.
    editor.select(0)
    editor.config.pool_mode.setCurrentText("min")
    assert editor.network().layers[0].mode == "min"


def test_delete_key_removes_and_an_unchanged_name_is_no_edit(editor, qtbot):
    record = Recorder(editor)
    editor.select(1)
    editor.table.setFocus()
    QTest.keyClick(editor.table, Qt.Key.Key_Delete)
    assert [layer.name for layer in editor.network()] == ["conv1", "pool1", "conv2", "pool2"]
    editor.select(0)
    editor.config.conv_name.editingFinished.emit()  # focus left the box, name unchanged
    assert len(record.networks) == 1
    assert editor.undo_stack.count() == 1


def test_fit_to_input_refits_the_first_conv_to_a_colour_input(editor):
    record = Recorder(editor)
    editor.set_input((28, 28), 3)  # the window switched to colour: conv1 takes 1 channel
    assert "takes 1 input channel(s), gets 3" in editor.model.index(0, 3).data(
        Qt.ItemDataRole.ToolTipRole
    )
    before = editor.network().layers[0].weights
    assert editor.fit_to_input()
    conv1 = editor.network().layers[0]
    assert conv1.weights.shape == (8, 3, 3, 3)
    assert np.array_equal(conv1.weights[:, :1], before)
    assert _cell(editor, 0, 3) == "26x26x8"
    assert "conv1 now takes 3 input channel(s)" in record.messages[-1]
    assert not editor.fit_to_input()  # nothing left to fit: no edit
    assert len(record.networks) == 1


def test_set_filter_edits_one_slice_and_merges_a_drag(editor):
    record = Recorder(editor)
    before = editor.network()
    kernel = np.arange(9, dtype=np.float32).reshape(3, 3)
    assert editor.set_filter(3, 2, 5, kernel, bias=0.5)
    assert editor.set_filter(3, 2, 5, kernel * 2)  # the drag goes on: same undo step
    conv2 = editor.network().layers[3]
    assert np.array_equal(conv2.weights[2, 5], kernel * 2)
    assert conv2.bias[2] == 0.5
    others = np.ones(conv2.weights.shape, bool)
    others[2, 5] = False
    assert np.array_equal(conv2.weights[others], before.layers[3].weights[others])
    assert editor.undo_stack.count() == 1 and len(record.networks) == 2
    editor.undo_action.trigger()
    assert editor.network() is before
    assert not editor.set_filter(3, 2, 5, np.zeros((5, 5)))
    assert "filters are 3x3" in record.messages[-1]
    assert not editor.set_filter(1, 0, 0, kernel)
    assert "not a conv layer" in record.messages[-1]
    assert not editor.set_filter(3, 16, 0, kernel)
    assert "no filter 16" in record.messages[-1]


def test_the_document_works_without_a_view(qapp):
    from ui.network.network_document import NetworkDocument

    document = NetworkDocument(two_layer_network(padding="valid"), rng=np.random.default_rng(1))
    changed, selected = [], []
    document.networkChanged.connect(changed.append)
    document.selectRequested.connect(selected.append)
    assert document.add("pool", 5)
    assert [layer.name for layer in document.network()][-1] == "pool3"
    assert selected == [5]
    assert document.add("pool", 6)  # 5x5 -> 2x2 -> 1x1 still fits
    assert not document.add("pool", 7)  # a third 2x2 window does not fit in 1x1: refused
    assert document.network().layers[-1].name == "pool4"
    document.undo_stack.undo()
    document.undo_stack.undo()
    assert len(document.network()) == 5 and len(changed) == 4
    with pytest.raises(ValueError):
        document.add("dense", 0)


def test_a_shared_document_outlives_its_editor(qtbot):
    from ui.network.network_document import NetworkDocument

    document = NetworkDocument(two_layer_network(padding="valid"))
    editor = LayerStackEditor(document=document)  # never shown: no window to leak
    editor.select(0)
    editor.add_pool_action.trigger()
    assert len(document.network()) == 6
    editor.deleteLater()
    qtbot.wait(10)  # the editor is gone; the document keeps working without errors
    document.undo_stack.undo()
    assert document.add("activation", 0)
    assert document.network().layers[0].name == "relu2"
