"""The network in the main window, driven as a person drives it: menu actions, real clicks and
moves on the Network dock's maps and filters, the kernel editor's buttons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog

from core.images import load_image
from core.network import ConvLayer, Network, PoolLayer, load_network, run_network, save_network
from core.network.outputs import prepare_image
from core.network.presets import FIELD_EXAMPLE, KERAS_EXAMPLE, build_preset
from resources import RESOURCES
from ui.app import wait_until_idle

DIGIT = RESOURCES / "digit-7.png"
MODELS = Path(__file__).parents[1] / "core" / "models" / "fixtures"


def _action(window, text: str) -> QAction:
    matches = [a for a in window.findChildren(QAction) if a.text().replace("&", "") == text]
    assert len(matches) == 1, text
    return matches[0]


def _settle(window) -> None:
    QApplication.processEvents()
    assert wait_until_idle(window, 10_000)
    QApplication.processEvents()


def _viewport(view, point: QPointF):
    return view.graphics.mapFromScene(point)


def _click(view, point: QPointF) -> None:
    QTest.mouseClick(
        view.graphics.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
        _viewport(view, point),
    )  # fmt: skip


def _move(view, point: QPointF) -> None:
    QTest.qWait(50)  # pyqtgraph drops a move that follows the previous one too soon
    QTest.mouseMove(view.graphics.viewport(), _viewport(view, point))


@pytest.fixture
def keras(make_window):
    """The window on the digit with Network > Example: keras-conv32-maxpool chosen."""
    window = make_window(DIGIT)
    _action(window, f"Example: {KERAS_EXAMPLE}").trigger()
    _settle(window)
    return window


def test_the_keras_example_in_one_menu_click_shows_every_layer(keras):
    window = keras
    result = window.workbench.network.result
    assert [o.map.shape for o in result.outputs] == [(26, 26, 32), (26, 26, 32), (13, 13, 32)]
    assert not window.network_frame.isHidden()
    assert window.network_dock.view.layer_count() == 3
    assert "Conv2D(32, 3x3)" in _action(window, f"Example: {KERAS_EXAMPLE}").toolTip()
    # The maps are the network's on the digit, as run_network computes them.
    image = prepare_image(load_image(DIGIT), result.network)
    expected = run_network(image, result.network)
    for shown, reference in zip(result.outputs, expected, strict=True):
        np.testing.assert_allclose(shown.map, reference.map, atol=1e-6)


def test_a_clicked_map_shows_large_over_the_input_pixels_it_came_from(keras):
    window = keras
    view = window.network_dock.view
    _click(view, view.map_point(0, 5, 13, 13))  # the middle: a map is ~90 px wide here
    _settle(window)
    output = window.workbench.network.result.outputs[0]
    assert window.pane_group.network_map is not None
    assert window.conv_pane.title.text == "conv1 · map 5 of 32 · 26x26"
    assert "Network dock" in window.conv_pane.toolTip()
    np.testing.assert_array_equal(window.conv_pane.image.image, output.map[:, :, 5])
    # Valid 3x3 conv on 28x28: map pixel (r, c) sits over input pixels (r + 1, c + 1).
    placed = window.conv_pane.image.mapRectToParent(window.conv_pane.image.boundingRect())
    assert (placed.x(), placed.y(), placed.width(), placed.height()) == (1, 1, 26, 26)
    assert output.geometry.rect == (1, 1, 26, 26)
    # Linked to the input pane, like the panes of the single kernel (same rows, same centre;
    # the panes' own aspect ratios set how many columns each shows).
    (cx0, cx1), conv_rows = window.conv_pane.view.viewRange()
    (ix0, ix1), input_rows = window.input_pane.view.viewRange()
    assert conv_rows == pytest.approx(input_rows)
    assert (cx0 + cx1) / 2 == pytest.approx((ix0 + ix1) / 2)
    # The pooled layer's map sits at half resolution over the same pixels.
    _click(view, view.map_point(2, 7, 6, 6))
    _settle(window)
    placed = window.conv_pane.image.mapRectToParent(window.conv_pane.image.boundingRect())
    assert (placed.x(), placed.y(), placed.width(), placed.height()) == (1, 1, 26, 26)
    assert window.conv_pane.title.text == "pool1 · map 7 of 32 · 13x13"


def test_a_clicked_filter_edits_in_the_kernel_editor_and_the_maps_follow(keras):
    window = keras
    view = window.network_dock.view
    network = window.network_dock.network()
    _click(view, view.filter_point(0, 3))
    _settle(window)
    np.testing.assert_array_equal(window.editor.kernel().weights, network.layers[0].weights[3, 0])
    assert window.editor.kernel().bias == pytest.approx(float(network.layers[0].bias[3]))
    before = network.layers[0].weights[3, 0]
    assert not np.array_equal(np.rot90(before), before)  # the edit below changes something
    # Rotate 90 in the editor: the network's filter 3 changes, the others stay.
    rotate = next(b for b in window.editor.findChildren(type(window.editor.undo_button))
                  if b.text() == "Rotate 90°")  # fmt: skip
    rotate.click()
    _settle(window)
    edited = window.network_dock.network()
    np.testing.assert_allclose(edited.layers[0].weights[3, 0], np.rot90(before))
    others = np.delete(np.arange(32), 3)
    np.testing.assert_array_equal(
        edited.layers[0].weights[others], network.layers[0].weights[others]
    )
    # The maps were recomputed with the new weights.
    result = window.workbench.network.result
    assert result.network is edited
    image = prepare_image(load_image(DIGIT), edited)
    reference = run_network(image, edited)
    np.testing.assert_allclose(result.outputs[0].map, reference[0].map, atol=1e-6)
    # Undo in the dock's editor brings the old filter back.
    window.network_dock.stack.undo_stack.undo()
    _settle(window)
    np.testing.assert_array_equal(
        window.network_dock.network().layers[0].weights, network.layers[0].weights
    )


def test_hovering_a_unit_draws_its_receptive_field_on_the_input(keras):
    window = keras
    view = window.network_dock.view
    hovered = []
    view.unitHovered.connect(lambda *unit: hovered.append(unit))
    _move(view, view.map_point(2, 4, 5, 6))  # pool1 unit (5, 6)
    QApplication.processEvents()
    layer, channel, row, col = hovered[-1]  # the unit under the pointer's whole pixel
    assert (layer, channel) == (2, 4) and abs(row - 5) <= 1 and abs(col - 6) <= 1
    field = window.input_pane.field
    assert field.isVisible()
    # 3x3 valid conv, then a 2x2 stride-2 pool: rows 2r..2r+3, cols 2c..2c+3 of the input.
    rect = field.rect()
    assert (rect.x(), rect.y(), rect.width(), rect.height()) == (2 * col, 2 * row, 4, 4)
    assert "4x4" in window.input_pane.readout
    _move(view, view.map_point(0, 4, 5, 6))  # a conv1 unit: a 3x3 field
    QApplication.processEvents()
    layer, channel, row, col = hovered[-1]
    assert (layer, channel) == (0, 4)
    rect = field.rect()
    assert (rect.x(), rect.y(), rect.width(), rect.height()) == (col, row, 3, 3)
    assert window.inspector.text().startswith(f"conv1 map 4, unit [{row}, {col}]")


def test_the_inspector_shows_the_multichannel_sum_behind_a_unit(make_window):
    window = make_window(DIGIT)
    _action(window, f"Example: {FIELD_EXAMPLE}").trigger()
    _settle(window)
    result = window.workbench.network.result
    index = next(
        i for i, layer in enumerate(result.network.layers)
        if isinstance(layer, ConvLayer) and layer.in_channels > 1
    )  # fmt: skip
    layer = result.network.layers[index]
    source = result.outputs[index - 1].map
    h, w = result.outputs[index].map.shape[:2]
    row, col, out = h // 2, w // 3, layer.out_channels - 1
    view = window.network_dock.view
    _move(view, view.map_point(index, out, row, col))
    QApplication.processEvents()
    shown = window.hover.hover_unit(index, out, row, col)["sum"]
    # Explicit loops over the zero-padded input, one channel at a time.
    kh, kw = layer.kernel_size
    assert layer.stride == 1 and layer.dilation == 1 and layer.border == "zero"
    pad = (kh - 1) // 2 if layer.padding == "same" else 0
    sums = []
    for c in range(layer.in_channels):
        total = 0.0
        for i in range(kh):
            for j in range(kw):
                r, q = row + i - pad, col + j - pad
                if 0 <= r < source.shape[0] and 0 <= q < source.shape[1]:
                    total += float(source[r, q, c]) * float(layer.weights[out, c, i, j])
        sums.append(total)
    np.testing.assert_allclose(shown.per_channel, sums, rtol=1e-6, atol=1e-9)
    expected = sum(sums) + float(layer.bias[out])
    assert shown.total == pytest.approx(expected, abs=1e-5)
    assert shown.total == pytest.approx(float(result.outputs[index].map[row, col, out]), abs=1e-4)
    text = window.inspector.text()
    assert f"channel 0: sum of {kh * kw} products" in text
    assert "+ bias" in text


def test_train_window_opens_on_the_dock_network_and_its_filters_land_in_the_dock(make_window):
    window = make_window(DIGIT)
    _action(window, "Train a digit classifier...").trigger()
    train = window.network.train_window
    assert train is not None and train.isVisible()
    learned = Network(
        (ConvLayer(np.ones((4, 1, 3, 3), np.float32) / 9, name="learned"), PoolLayer()),
        name="trained",
    )
    train.useFilters.emit(learned)
    _settle(window)
    assert window.network_dock.network().layers[0].name == "learned"
    assert window.workbench.network.result.network is window.network_dock.network()
    window.close()  # closing the window shuts the Train window down
    assert window.network.train_window is None and not train.isVisible()


def test_a_network_that_cannot_run_clears_and_says_why(make_window):
    window = make_window(DIGIT)
    too_deep = Network(tuple(PoolLayer(size=2, name=f"pool{i}") for i in range(6)), name="deep")
    window.network.use_network(too_deep, "Too deep")
    _settle(window)
    assert window.workbench.network.result is None
    assert not window.banner.isHidden() and "Cannot run the network" in window.banner.text()
    window.network.show_preset(KERAS_EXAMPLE)
    _settle(window)
    assert window.workbench.network.result is not None
    assert window.banner.isHidden()


def test_export_all_also_writes_every_layer_of_the_network(keras, qtbot, tmp_path, monkeypatch):
    window = keras
    folder = tmp_path / "export"
    folder.mkdir()
    monkeypatch.setattr(
        QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(folder))
    )
    with qtbot.waitSignal(window.saving.exported, timeout=10_000):
        _action(window, "Export all...").trigger()
    result = window.workbench.network.result
    for output in result.outputs:
        raw = np.load(folder / f"digit-7_net_{output.name}.npy")
        assert raw.dtype == np.float32 and raw.shape == output.map.shape
        np.testing.assert_array_equal(raw, output.map)
        grid = load_image(folder / f"digit-7_net_{output.name}.png")
        assert grid.shape[0] > output.map.shape[0]  # a grid of 32 maps, with its title
    saved = load_network(folder / "digit-7_network.json")
    np.testing.assert_array_equal(saved.layers[0].weights, result.network.layers[0].weights)
    assert (folder / "digit-7_conv.tif").exists()  # the single kernel's files are still there
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no staging files left


def test_dropped_network_json_opens_in_the_dock_and_a_model_file_opens_the_import(
    make_window, tmp_path, monkeypatch
):
    from tests.ui.test_user_trial_fixes import drop
    from ui.model_import import ImportModelDialog

    window = make_window(DIGIT)
    path = tmp_path / "field.json"
    save_network(build_preset(FIELD_EXAMPLE), path)
    drop(window, path)
    _settle(window)
    assert window.network_dock.network().name == build_preset(FIELD_EXAMPLE).name
    assert window.editor.kernel().name != "field"  # not taken for a kernel

    asked = []

    def exec_(dialog):  # the person looks, then cancels
        asked.append(dialog.windowTitle())
        return 0

    monkeypatch.setattr(ImportModelDialog, "exec", exec_)
    before = window.network_dock.network()
    drop(window, MODELS / "model.onnx")
    assert asked and window.network_dock.network() is before


def test_the_last_network_is_remembered_and_a_bad_one_never_stops_the_start(
    make_window, settings, tmp_path
):
    from PySide6.QtCore import QSettings

    from ui.settings_store import SETTINGS_KEYS

    assert "network" in SETTINGS_KEYS
    window = make_window(DIGIT)
    window.network.show_preset(FIELD_EXAMPLE)
    _settle(window)
    explored = window.network_dock.network()
    window.close()
    again = make_window(DIGIT, QSettings(settings.fileName(), QSettings.Format.IniFormat))
    _settle(again)
    back = again.network_dock.network()
    assert [layer.name for layer in back.layers] == [layer.name for layer in explored.layers]
    np.testing.assert_array_equal(back.layers[0].weights, explored.layers[0].weights)
    assert not again.network_frame.isHidden()  # the dock was open: it opens again, computed
    assert again.workbench.network.result is not None
    again.close()

    bad = tmp_path / "bad.ini"
    bad.write_text('[General]\nnetwork="{\\"layers\\": [{\\"type\\": \\"conv\\"}]}"\n')
    third = make_window(DIGIT, QSettings(str(bad), QSettings.Format.IniFormat))
    assert third.processed is not None  # the start went on
    assert "network" in third.banner.text() and "reset" in third.banner.text()
    assert third.network_dock.network() is not None


def test_an_rgb_network_on_a_gray_digit_runs_and_the_layer_list_says_so(make_window):
    window = make_window(DIGIT)
    weights = np.random.default_rng(1).normal(size=(4, 3, 3, 3)).astype(np.float32)
    window.network.use_network(Network((ConvLayer(weights, name="rgb"),), name="rgb"), "RGB")
    _settle(window)
    result = window.workbench.network.result
    assert result.outputs[0].map.shape == (28, 28, 4)  # the gray digit, as three channels
    assert window.network_dock.stack.input_shape() == ((28, 28), 3)
    assert all(row.problem is None for row in window.network_dock.stack.document.summaries())


def test_hovering_the_large_map_reads_the_network_unit(keras):
    window = keras
    window.network_dock.select_map(2, 3)  # pool1 map 3, large in the convolution pane
    _settle(window)
    # Input point (x=9.5, y=5.5) lies over pool1 unit (2, 4): 1 + 2 * 4 <= 9.5 < 1 + 2 * 5.
    shown = window.hover_at(9.5, 5.5, window.conv_pane)
    pool = window.workbench.network.result.outputs[2].map
    assert shown["conv"][0] == (2, 4)
    assert shown["conv"][1] == pytest.approx(float(pool[2, 4, 3]))
    assert shown["field"] == (4, 8, 4, 4)  # rows 4..7, cols 8..11 of the input
    rect = window.input_pane.field.rect()
    assert (rect.x(), rect.y(), rect.width(), rect.height()) == (8, 4, 4, 4)


def test_live_frames_run_the_explored_network_in_the_dock(make_window, qtbot):
    window = make_window(DIGIT)
    window.network.show_preset("lines-4")
    _settle(window)
    window.network_dock.select_map(0, 2)
    _settle(window)
    assert window.live.network is window.network_dock.network()
    shown = []
    window.live.network_shown.connect(shown.append)
    window.live_toolbar.start_action.trigger()
    try:
        qtbot.waitUntil(lambda: len(shown) >= 2, timeout=10_000)
        frame = shown[-1]
        assert frame.network is window.network_dock.network()
        h, w = window.workbench.loaded.image.shape[:2]  # the live frame's size
        assert frame.outputs[0].map.shape[:2] == (h, w)  # 'same' padding
        assert window.network_dock.view.layer_count() == 3
        assert window.conv_pane.title.text.startswith("conv1 · map 2 of 4")
    finally:
        window.live.stop()


def test_export_all_writes_off_the_gui_thread_with_a_busy_cursor(
    keras, qtbot, tmp_path, monkeypatch
):
    """Export all with a network wrote ~1 s in the GUI thread: the window froze. The files are
    written on another thread while the window shows it is busy; a second export meanwhile
    is written after it, and the results come back to the GUI thread."""
    import threading

    import core.export

    window = keras
    folder = tmp_path / "export"
    folder.mkdir()
    monkeypatch.setattr(
        QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(folder))
    )
    release = threading.Event()
    threads = []
    write_output = core.export.write_output

    def slow_write(output, path):
        threads.append(threading.current_thread())
        assert release.wait(10)  # the export is still being written until the test says so
        return write_output(output, path)

    monkeypatch.setattr(core.export, "write_output", slow_write)
    export = _action(window, "Export all...")
    export.trigger()
    # Back in the event loop at once, the files still being written.
    assert QApplication.overrideCursor() is not None
    assert QApplication.overrideCursor().shape() == Qt.CursorShape.BusyCursor
    assert "Exporting to" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: bool(threads), timeout=10_000)
    assert list(folder.iterdir()) == [] or all(p.name.startswith(".") for p in folder.iterdir())
    exported = []
    window.saving.exported.connect(exported.append)
    export.trigger()  # a second Export all while the first is written: queued
    assert exported == [] and window.banner.isHidden()
    release.set()
    qtbot.waitUntil(lambda: len(exported) == 2, timeout=10_000)
    assert exported[0] == exported[1]
    assert all(t is not threading.main_thread() for t in threads)
    result = window.workbench.network.result
    assert len(exported[0]) == 6 + 1 + 2 * len(result.outputs)
    for output in result.outputs:
        raw = np.load(folder / f"digit-7_net_{output.name}.npy")
        np.testing.assert_array_equal(raw, output.map)
    assert QApplication.overrideCursor() is None
    assert window.statusBar().currentMessage() == f"Saved {folder}"


def _conv_unit_by_loops(image, layer, channel: int, row: int, col: int) -> float:
    """A 'valid' stride-1 conv unit summed with explicit loops (the reference)."""
    image = image if image.ndim == 3 else image[:, :, None]
    kh, kw = layer.kernel_size
    total = float(layer.bias[channel])
    for c in range(layer.in_channels):
        for i in range(kh):
            for j in range(kw):
                total += float(image[row + i, col + j, c]) * float(layer.weights[channel, c, i, j])
    return total


def test_hover_and_the_large_map_work_on_live_network_frames(keras, qtbot):
    """While frames stream the still image's network run is cleared: hovering the dock (and
    the large map) reads the newest live frame's run, and follows the frames."""
    window = keras
    window.network_dock.select_map(0, 4)  # conv1 map 4, large in the convolution pane
    _settle(window)
    shown = []
    window.live.network_shown.connect(shown.append)
    window.live_toolbar.start_action.trigger()
    try:
        qtbot.waitUntil(lambda: len(shown) >= 2, timeout=10_000)
        assert window.workbench.network.result is None  # the still run is gone
        # The selected map is drawn large from each frame's run.
        assert window.pane_group.network_map is shown[-1]
        assert window.conv_pane.title.text.startswith("conv1 · map 4 of 32")
        view = window.network_dock.view
        hovered = []
        view.unitHovered.connect(lambda *unit: hovered.append(unit))
        _move(view, view.map_point(0, 4, 240, 320))  # mid-map (a screen pixel is ~6 units)
        QApplication.processEvents()
        layer, channel, row, col = hovered[-1]
        assert (layer, channel) == (0, 4) and abs(row - 240) <= 18 and abs(col - 320) <= 18
        field = window.input_pane.field
        assert field.isVisible()
        rect = field.rect()
        assert (rect.x(), rect.y(), rect.width(), rect.height()) == (col, row, 3, 3)
        assert "sees 3x3 input pixels" in window.input_pane.readout
        # The pointer stays; new frames arrive: the sum is the newest frame's.
        count = len(shown)
        qtbot.waitUntil(lambda: len(shown) >= count + 2, timeout=10_000)
        newest = shown[-1]
        assert window.inspector.text().startswith(f"conv1 map 4, unit [{row}, {col}]")
        conv = newest.network.layers[0]
        expected = _conv_unit_by_loops(newest.image, conv, 4, row, col)
        total = float(window.inspector.text().rsplit("= ", 1)[1])
        assert total == pytest.approx(expected, rel=1e-3, abs=1e-3)
        assert expected == pytest.approx(float(newest.outputs[0].map[row, col, 4]), abs=1e-4)
        # The large map over input point (x=9.5, y=5.5): 'valid' conv1 unit (4, 8) is centred
        # on input pixel (5, 9) and reads rows 4..6, cols 8..10.
        hovered_map = window.hover_at(9.5, 5.5, window.conv_pane)
        assert hovered_map["conv"][0] == (4, 8)
        assert hovered_map["field"] == (4, 8, 3, 3)
        assert hovered_map["sum"].total == pytest.approx(
            _conv_unit_by_loops(shown[-1].image, conv, 4, 4, 8), rel=1e-3, abs=1e-3
        )
    finally:
        window.live.stop()


def test_closing_the_window_finishes_an_export_being_written(keras, tmp_path, monkeypatch):
    import threading

    import core.export

    window = keras
    folder = tmp_path / "export"
    folder.mkdir()
    monkeypatch.setattr(
        QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(folder))
    )
    release = threading.Event()
    write_output = core.export.write_output

    def slow_write(output, path):
        assert release.wait(10)
        return write_output(output, path)

    monkeypatch.setattr(core.export, "write_output", slow_write)
    exported = []
    window.saving.exported.connect(exported.append)
    _action(window, "Export all...").trigger()
    _action(window, "Export all...").trigger()  # a second one, queued behind it
    threading.Timer(0.2, release.set).start()
    window.close()  # waits for both: nothing a person asked to save is cut short
    assert len(exported) == 2 and exported[0] and exported[0] == exported[1]
    assert all(p.is_file() for p in exported[0])
    assert QApplication.overrideCursor() is None
