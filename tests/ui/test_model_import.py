"""The Import model dialog, used as a user uses it: click a layer, look, click Import."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

from core.models import MODEL_EXTENSIONS, list_conv_layers, read_conv_layer, read_network
from core.network import ConvLayer
from ui.model_import import ImportModelDialog, ask_import_model

FIXTURES = Path(__file__).parents[1] / "core" / "models" / "fixtures"
WAIT_MS = 10_000
ONE_PER_FORMAT = [
    "keras_model.keras",
    "keras3_legacy.h5",
    "tf_keras2_legacy.h5",
    "keras.weights.h5",
    "torch_state_dict.pt",
    "torch_checkpoint.pth",
    "model.onnx",
    "torch.safetensors",
    "weights.npz",
    "conv1_weight.npy",
]
WITH_CHAIN = ["keras_model.keras", "keras3_legacy.h5", "tf_keras2_legacy.h5", "model.onnx"]
WEIGHTS_ONLY = ["torch_state_dict.pt", "torch.safetensors", "weights.npz", "keras.weights.h5"]


@pytest.fixture
def open_dialog(qtbot):
    """``open_dialog(path)``: the dialog shown, its first layer and its chain read."""

    def open_(path) -> ImportModelDialog:
        dialog = ImportModelDialog(path)
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=WAIT_MS)
        return dialog

    return open_


def click_row(qtbot, dialog: ImportModelDialog, row: int) -> None:
    table = dialog.table
    rect = table.visualRect(table.model().index(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=WAIT_MS)


def assert_same_conv(actual, expected: ConvLayer) -> None:
    assert isinstance(actual, ConvLayer)
    assert actual.name == expected.name
    np.testing.assert_array_equal(actual.weights, expected.weights)
    np.testing.assert_array_equal(actual.bias, expected.bias)
    assert (actual.stride, actual.padding, actual.dilation) == (
        expected.stride,
        expected.padding,
        expected.dilation,
    )


def assert_grid_fits_the_bank(dialog: ImportModelDialog, shape) -> None:
    thumbs = dialog.filter_view.thumbnails
    assert thumbs is not None
    out_c, in_c, _, _ = shape
    layout = thumbs.layout
    assert thumbs.shape == tuple(shape)
    assert layout.filters == out_c  # every filter of these small banks is drawn
    assert layout.cells_per_block == in_c + (1 if in_c == 3 else 0)
    assert layout.block_rows * layout.block_columns >= out_c
    assert (layout.block_rows - 1) * layout.block_columns < out_c  # no empty row of blocks
    assert thumbs.rgba.shape == (*layout.shape, 4)
    assert dialog.filter_view.canvas.image.size().toTuple() == (layout.shape[1], layout.shape[0])


@pytest.mark.parametrize("filename", ONE_PER_FORMAT)
def test_pick_a_layer_in_each_format(qtbot, open_dialog, filename):
    path = FIXTURES / filename
    infos = list_conv_layers(path)
    dialog = open_dialog(path)
    assert dialog.table.rowCount() == len(infos)
    assert [dialog.table.item(r, 0).text() for r in range(len(infos))] == [i.name for i in infos]
    assert dialog.table.item(0, 1).text().split(" \N{MULTIPLICATION SIGN} ") == [
        str(n) for n in infos[0].shape
    ]
    assert_grid_fits_the_bank(dialog, infos[0].shape)
    first_picture = dialog.filter_view.thumbnails.rgba.copy()

    last = len(infos) - 1
    click_row(qtbot, dialog, last)
    assert dialog.selected_info() == infos[last]
    assert_grid_fits_the_bank(dialog, infos[last].shape)
    if last:
        assert not np.array_equal(dialog.filter_view.thumbnails.rgba, first_picture)
    assert infos[last].name in dialog.layer_button.text()

    qtbot.mouseClick(dialog.layer_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted
    network = dialog.chosen_network()
    assert len(network.layers) == 1
    assert_same_conv(network.layers[0], read_conv_layer(path, infos[last].name))


@pytest.mark.parametrize("filename", WITH_CHAIN)
def test_import_the_chain_of_first_layers(qtbot, open_dialog, filename):
    path = FIXTURES / filename
    dialog = open_dialog(path)
    expected = read_network(path)
    assert dialog.chain_button.isEnabled()
    assert str(len(expected.layers)) in dialog.chain_button.text()
    assert "conv1" in dialog.chain_label.text() and "pool" in dialog.chain_label.text()
    qtbot.mouseClick(dialog.chain_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted
    network = dialog.chosen_network()
    assert [type(layer) for layer in network.layers] == [type(layer) for layer in expected.layers]
    for got, want in zip(network.layers, expected.layers, strict=True):
        if isinstance(want, ConvLayer):
            assert_same_conv(got, want)
        else:
            assert got == want


@pytest.mark.parametrize("filename", WEIGHTS_ONLY)
def test_weight_only_files_offer_no_chain_and_say_why(open_dialog, filename):
    dialog = open_dialog(FIXTURES / filename)
    assert not dialog.chain_button.isEnabled()
    assert "weights only" in dialog.chain_button.toolTip()
    assert dialog.chain() is None
    # Stride and padding there are ConvScope's guesses, and the table says so.
    assert "defaults" in dialog.table.item(0, 2).toolTip()


def test_rgb_first_layer_shows_colour_cells_and_per_channel_cells(qtbot, open_dialog):
    dialog = open_dialog(FIXTURES / "torch_state_dict.pt")
    thumbs = dialog.filter_view.thumbnails
    assert thumbs.layout.colour and thumbs.layout.channels == 3
    weights = dialog.selected_layer().weights
    m = float(np.abs(weights).max())
    assert thumbs.levels == pytest.approx((-m, m))
    assert "red, green and blue" in dialog.caption.text()
    # The colour cell of filter 1 shows its three slices as R, G, B on that scale.
    x, y, _, _ = thumbs.layout.cell_rect(1, 0)
    zoom = thumbs.layout.zoom
    pixel = thumbs.rgba[y + 2 * zoom, x + 1 * zoom, :3].astype(int)
    expected = np.floor(255 * (weights[1, :, 2, 1].astype(np.float64) + m) / (2 * m))
    np.testing.assert_array_equal(pixel, expected.astype(int))
    # Pointing at a weight reads it out.
    canvas = dialog.filter_view.canvas
    x, y, _, _ = thumbs.layout.cell_rect(2, 2)  # filter 2, input channel 1 (G)
    origin = canvas.origin()
    at = origin + type(origin)(
        int((x + 0.5 * zoom) * canvas.scale), int((y + 1.5 * zoom) * canvas.scale)
    )
    qtbot.mouseMove(canvas, at)
    qtbot.waitUntil(lambda: "filter 2" in dialog.readout.text(), timeout=WAIT_MS)
    assert "input channel 1 (G)" in dialog.readout.text()
    assert f"{weights[2, 1, 1, 0]:.4g}" in dialog.readout.text()


def test_arrow_keys_walk_the_layers_and_enter_imports_the_selected_one(qtbot, open_dialog):
    path = FIXTURES / "keras_model.keras"
    dialog = open_dialog(path)
    assert dialog.chain_button.isEnabled()  # Enter must still not take the chain
    qtbot.keyClick(dialog.table, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=WAIT_MS)
    assert dialog.selected_info().name == "conv2"
    qtbot.keyClick(dialog.table, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert_same_conv(dialog.chosen_network().layers[0], read_conv_layer(path, "conv2"))


def test_only_recent_layers_are_kept_and_a_dropped_one_is_read_again(
    qtbot, open_dialog, monkeypatch
):
    monkeypatch.setattr("ui.model_import.dialog._KEEP_BYTES", 1)  # keep only the newest
    path = FIXTURES / "torch.safetensors"
    dialog = open_dialog(path)
    click_row(qtbot, dialog, 1)
    assert dialog.selected_layer().name == "conv2"
    click_row(qtbot, dialog, 0)  # conv1 was dropped: read again, shown again
    assert_grid_fits_the_bank(dialog, (4, 3, 3, 3))
    qtbot.mouseClick(dialog.layer_button, Qt.MouseButton.LeftButton)
    assert_same_conv(dialog.chosen_network().layers[0], read_conv_layer(path, "conv1"))


def test_cancel_returns_nothing(qtbot, open_dialog):
    dialog = open_dialog(FIXTURES / "model.onnx")
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert dialog.chosen_network() is None


def test_a_bigger_window_draws_bigger_filters(qtbot, open_dialog):
    dialog = open_dialog(FIXTURES / "keras_model.keras")
    dialog.resize(700, 500)
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=WAIT_MS)
    qtbot.wait(50)  # the resize is debounced
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=WAIT_MS)
    small = dialog.filter_view.thumbnails.layout.cell_size
    dialog.resize(1300, 900)
    qtbot.waitUntil(lambda: dialog.filter_view.thumbnails.layout.cell_size > small, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=WAIT_MS)
    height, width = dialog.filter_view.thumbnails.layout.shape
    room = dialog.filter_view.room()
    assert width <= room[0] and height <= room[1]


def test_a_layer_that_cannot_be_read_is_explained_and_not_importable(qtbot, open_dialog, tmp_path):
    good = np.ones((2, 1, 3, 3), np.float32)
    bad = good.copy()
    bad[0, 0, 1, 1] = np.nan
    path = tmp_path / "nan.npz"
    np.savez(path, **{"good.weight": good, "bad.weight": bad})
    dialog = open_dialog(path)
    names = [info.name for info in dialog.infos]
    click_row(qtbot, dialog, names.index("bad"))
    assert "Cannot read this layer" in dialog.filter_view.message
    assert "NaN" in dialog.filter_view.message
    assert not dialog.layer_button.isEnabled()
    assert dialog.filter_view.thumbnails is None
    click_row(qtbot, dialog, names.index("good"))  # the dialog still works
    assert dialog.layer_button.isEnabled()
    assert dialog.filter_view.message == ""
    assert dialog.filter_view.thumbnails.shape == (2, 1, 3, 3)


# ---------------------------------------------------------------- ask_import_model


@pytest.fixture
def warnings(monkeypatch):
    """Every QMessageBox.warning shown: (title, text); answered at once."""
    shown = []

    def warning(parent, title, text, *args, **kwargs):
        shown.append((title, text))
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "warning", warning)
    return shown


@pytest.fixture
def user_clicks(monkeypatch, qtbot):
    """Replace the modal exec() by a user who waits for the pictures, then clicks a button
    (``"layer"``, ``"chain"`` or ``"cancel"``, set in the returned dict)."""
    plan = {"button": "layer", "dialogs": []}

    def exec_(self):
        plan["dialogs"].append(self)
        self.show()
        qtbot.waitExposed(self)
        qtbot.waitUntil(lambda: not self.is_busy(), timeout=WAIT_MS)
        button = {
            "layer": self.layer_button,
            "chain": self.chain_button,
            "cancel": self.cancel_button,
        }[plan["button"]]
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        return self.result()

    monkeypatch.setattr(ImportModelDialog, "exec", exec_)
    return plan


def test_ask_import_model_asks_for_a_model_file(monkeypatch, user_clicks, warnings):
    asked = []

    def get_open_file_name(parent, caption, folder, filters, *args, **kwargs):
        asked.append(filters)
        return str(FIXTURES / "model.onnx"), filters.split(";;")[0]

    monkeypatch.setattr(QFileDialog, "getOpenFileName", get_open_file_name)
    user_clicks["button"] = "chain"
    network = ask_import_model(None)
    expected = read_network(FIXTURES / "model.onnx")
    assert [layer.name for layer in network.layers] == [layer.name for layer in expected.layers]
    np.testing.assert_array_equal(network.layers[0].weights, expected.layers[0].weights)
    first_filter = asked[0].split(";;")[0]
    assert all(f"*{ext}" in first_filter for ext in MODEL_EXTENSIONS)
    assert warnings == []


def test_ask_import_model_with_a_path_and_the_layer_button(user_clicks, warnings):
    path = FIXTURES / "torch_checkpoint.pth"
    network = ask_import_model(None, path)
    name = list_conv_layers(path)[0].name
    assert network.name == f"{path.stem}:{name}"
    assert_same_conv(network.layers[0], read_conv_layer(path, name))


def test_ask_import_model_cancelled(monkeypatch, user_clicks, warnings):
    user_clicks["button"] = "cancel"
    assert ask_import_model(None, FIXTURES / "keras_model.keras") is None
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: ("", ""))
    assert ask_import_model(None) is None
    assert len(user_clicks["dialogs"]) == 1  # no dialog after a cancelled file dialog
    assert warnings == []


def _onnx_without_conv(path: Path) -> Path:
    node = helper.make_node("Relu", ["x"], ["y"], name="relu")
    graph = helper.make_graph(
        [node],
        "no_conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])],
    )
    onnx.save(helper.make_model(graph), path)
    return path


def _truncated(path: Path) -> Path:
    data = (FIXTURES / "keras_model.keras").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: _truncated(d / "cut.keras"), "cut.keras"),
        (lambda d: _onnx_without_conv(d / "relu.onnx"), "no 2-D convolution"),
        (lambda d: (d / "notes.txt").write_text("hello") and d / "notes.txt", "unknown model"),
        (lambda d: FIXTURES / "torch_whole_module.pt", "state_dict"),
        (lambda d: d / "missing.pt", "no such file"),
    ],
    ids=["truncated", "no-conv", "unknown-extension", "whole-module", "missing"],
)
def test_bad_files_get_a_message_and_nothing(tmp_path, user_clicks, warnings, make, message):
    path = make(tmp_path)
    assert ask_import_model(None, path) is None
    assert len(warnings) == 1
    title, text = warnings[0]
    assert title == "Import model"
    assert message in text and Path(path).name in text
    assert "Traceback" not in text
    assert user_clicks["dialogs"] == []  # no dialog opened on a file that cannot be listed
