"""NetworkView driven as a user drives it: real mouse moves and clicks on the grids."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from core.network import (
    ConvLayer,
    Network,
    PoolLayer,
    run_network,
)
from core.network.views import layer_grids
from tests.ui.network_screenshots import example_run, main, two_layer_network
from ui.network.network_view import NetworkView


@pytest.fixture
def view(qtbot):
    view = NetworkView()
    qtbot.addWidget(view)
    view.resize(1400, 700)
    view.show()
    qtbot.waitExposed(view)
    return view


@pytest.fixture
def shown(view, qapp):
    """The view showing 8 filters + relu + pool + conv 16 + pool on the digit."""
    _image, _network, outputs, grids = example_run(
        "digit-7.png", two_layer_network(padding="valid")
    )
    view.show_outputs(outputs, grids)
    qapp.processEvents()
    return view, outputs, grids


def _viewport_pos(view, scene_point: QPointF):
    return view.graphics.mapFromScene(scene_point)


def _move(view, scene_point):
    # pyqtgraph's scene drops a move that comes too soon after the previous one: wait first.
    QTest.qWait(50)
    QTest.mouseMove(view.graphics.viewport(), _viewport_pos(view, scene_point))


def _click(view, scene_point, button=Qt.MouseButton.LeftButton):
    QTest.mouseClick(
        view.graphics.viewport(), button, Qt.KeyboardModifier.NoModifier,
        _viewport_pos(view, scene_point),
    )  # fmt: skip


def test_every_layer_gets_one_column_with_its_grid_and_title(shown):
    view, outputs, grids = shown
    assert view.layer_count() == 5
    for column, output, grid in zip(view._columns, outputs, grids, strict=True):
        assert np.array_equal(column.maps_item.image, grid.rgb)  # as drawn in the worker
        assert output.name in column.title.text
        assert "x".join(map(str, output.map.shape)) in column.title.text
    # Conv layers show their filters; the others have no filter box.
    assert [c.filters_item is not None for c in view._columns] == [1, 0, 0, 1, 0]
    assert view._columns[3].filters.layout.columns == 8  # conv2: one row per filter
    # conv1 has one input channel: its filters wrap like its maps, filter k where map k is.
    assert view._columns[0].filters.layout.columns == grids[0].layout.columns


def test_hovering_a_unit_emits_it_and_reads_value_and_field(shown, qtbot, qapp):
    view, outputs, _ = shown
    with qtbot.waitSignal(view.unitHovered, timeout=2000) as blocker:
        _move(view, view.map_point(3, 5, 4, 6))
        qapp.processEvents()
    assert blocker.args == [3, 5, 4, 6]
    value = outputs[3].map[4, 6, 5]
    text = view.readout.text()
    assert f"{value:.4g}" in text and "map 5 of 16" in text
    # conv3 (valid) -> pool2 -> conv3 (valid): unit (4, 6) sees 8x8 pixels from (8, 12).
    assert "sees 8x8 input pixels (rows 8..15, cols 12..19)" in text
    assert view._columns[3].hover.isVisible()
    # Off the maps (the title row): the hover is cleared.
    with qtbot.waitSignal(view.hoverLeft, timeout=2000):
        _move(view, view._columns[0].title.sceneBoundingRect().center())
        qapp.processEvents()
    assert not view._columns[3].hover.isVisible()


def test_hovering_a_unit_outlines_the_units_it_reads_in_the_layer_before(shown, qapp):
    view, _outputs, grids = shown
    _move(view, view.map_point(3, 5, 4, 6))  # conv2 (3x3, valid) reads pool1 around (4, 6)
    qapp.processEvents()
    sources = view._columns[2].sources
    assert sources.isVisible()
    rects = [polygon.boundingRect() for polygon in sources.path().toSubpathPolygons()]
    assert len(rects) == 8  # a conv unit reads every input channel
    for channel, rect in enumerate(rects):
        x, y, _, _ = grids[2].layout.cell_rect(channel)
        assert (rect.x(), rect.y(), rect.width(), rect.height()) == (x + 6, y + 4, 3, 3)
    assert "reads pool1 all maps, rows 4..6, cols 6..8" in view.readout.text()
    _move(view, view.map_point(4, 7, 1, 2))  # pool2 (2x2) reads its own map of conv2
    qapp.processEvents()
    assert not sources.isVisible()
    rects = view._columns[3].sources.path().toSubpathPolygons()
    assert len(rects) == 1
    x, y, _, _ = grids[3].layout.cell_rect(7)
    assert rects[0].boundingRect().topLeft().toTuple() == (x + 4, y + 2)
    assert "reads conv2 map 7, rows 2..3, cols 4..5" in view.readout.text()


def test_clicking_a_map_and_a_filter_emits_their_indices(shown, qtbot):
    view, _outputs, _ = shown
    with qtbot.waitSignal(view.mapClicked, timeout=2000) as blocker:
        _click(view, view.map_point(2, 7, 0, 0))
    assert blocker.args == [2, 7]
    # conv2 has 8 input channels: cell 3 * 8 + 5 is filter 3's slice for input channel 5.
    clicked, sliced = [], []
    view.filterClicked.connect(lambda *args: clicked.append(args))
    view.filterSliceClicked.connect(lambda *args: sliced.append(args))
    _click(view, view.filter_point(3, 3 * 8 + 5, 2, 1))
    assert clicked == [(3, 3)] and sliced == [(3, 3, 5)]
    # A right click or a click on a gap selects nothing.
    with qtbot.assertNotEmitted(view.mapClicked):
        _click(view, view.map_point(2, 7, 0, 0), Qt.MouseButton.RightButton)
        x, y, w, _ = view._columns[0].grid.layout.cell_rect(0)
        _click(view, view._columns[0].maps_item.mapToScene(QPointF(x + w + 0.5, y + 2)))


def test_hovering_a_filter_reads_the_weight(shown, qapp):
    view, outputs, _ = shown
    _move(view, view.filter_point(0, 6, 2, 0))
    qapp.processEvents()
    weight = outputs[0].layer.weights[6, 0, 2, 0]
    assert f"filter 6 · weight (row 2, col 0) = <b>{weight:.4g}</b>" in view.readout.text()


def test_a_new_run_of_the_same_network_updates_in_place(shown, qapp):
    view, outputs, _ = shown
    columns = list(view._columns)
    filters_before = columns[0].filters
    *_, outputs2, grids2 = example_run("street-scene.png", outputs_network(outputs))
    view.show_outputs(outputs2, grids2)
    assert view._columns == columns  # same items, new images
    assert np.array_equal(columns[0].maps_item.image, grids2[0].rgb)
    assert columns[0].filters is filters_before  # same layer object: filters not redrawn
    assert len(view._filter_cache) == 2  # only the layers shown are kept
    # Another network rebuilds the columns.
    other = Network((ConvLayer(np.ones((2, 1, 3, 3)), name="c"),))
    _image, _, outputs3, grids3 = example_run("digit-7.png", other)
    view.show_outputs(outputs3, grids3)
    assert view.layer_count() == 1 and view._columns[0].key[0] == "c"
    view.clear()
    assert view.layer_count() == 0


def outputs_network(outputs) -> Network:
    return Network(tuple(output.layer for output in outputs))


def test_selected_map_is_outlined_and_bad_calls_are_refused(shown):
    view, outputs, grids = shown
    view.set_selected_map(1, 4)
    x, y, w, h = grids[1].layout.cell_rect(4)
    assert view._columns[1].selected.isVisible()
    assert view._columns[1].selected.rect().contains(x + w / 2, y + h / 2)
    view.set_selected_map(None)
    assert not view._columns[1].selected.isVisible()
    with pytest.raises(ValueError):
        view.show_outputs(outputs, grids[:2])


def test_vector_outputs_are_shown_and_read(view, qapp):
    from core.network import DenseLayer, FlattenLayer, run_network

    network = Network(
        (
            ConvLayer(np.ones((2, 1, 3, 3)) / 9, padding="valid", name="c"),
            PoolLayer("max", 2, name="p"),
            FlattenLayer(name="flat"),
            DenseLayer(np.eye(3, 18), name="fc"),
        )
    )
    image = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    outputs = run_network(image, network)
    view.show_outputs(outputs, layer_grids(outputs))
    qapp.processEvents()
    _move(view, view.map_point(3, 2, 0, 0))
    qapp.processEvents()
    assert f"fc · feature 2 = {outputs[3].map[2]:.4g}" in view.readout.text()


def test_a_mouse_held_still_reads_the_next_run_and_leaving_clears(shown, qtbot, qapp):
    view, outputs, _ = shown
    _move(view, view.map_point(0, 1, 10, 12))
    qapp.processEvents()
    assert f"= <b>{outputs[0].map[10, 12, 1]:.4g}</b>" in view.readout.text()
    # The next frame (live video) arrives while the mouse stays put: the readout follows.
    image, network, _, _ = example_run("digit-7.png", outputs_network(outputs))
    outputs2 = run_network(np.ascontiguousarray(image[::-1]), network)
    with qtbot.assertNotEmitted(view.unitHovered):  # same unit: no new hover signal
        view.show_outputs(outputs2, layer_grids(outputs2))
    value = outputs2[0].map[10, 12, 1]
    assert value != outputs[0].map[10, 12, 1]
    assert f"= <b>{value:.4g}</b>" in view.readout.text()
    with qtbot.waitSignal(view.hoverLeft, timeout=2000):
        QApplication.sendEvent(view.graphics.viewport(), QEvent(QEvent.Type.Leave))
    assert not view._columns[0].hover.isVisible()


def test_screenshot_script_renders_every_widget(qapp, tmp_path):
    main(str(tmp_path))
    shots = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(shots) == 6
    assert all((tmp_path / name).stat().st_size > 5000 for name in shots)


def _wheel(view, scene_point, notches: int) -> None:
    """Turn the mouse wheel over a scene point, as a person does to zoom."""
    pos = QPointF(_viewport_pos(view, scene_point))
    viewport = view.graphics.viewport()
    event = QWheelEvent(
        pos, QPointF(viewport.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
        False,
    )  # fmt: skip
    QApplication.sendEvent(viewport, event)
    QApplication.processEvents()


def test_the_wheel_zooms_around_the_pointer_and_hover_and_click_still_find_the_unit(
    shown, qtbot, qapp
):
    view, _outputs, _ = shown
    box = view._columns[0].maps_box
    before = box.viewRange()
    pointer = view.map_point(0, 5, 10, 12)
    spacing = view.map_point(0, 5, 10, 13).x() - pointer.x()  # screen px per unit
    _wheel(view, pointer, 4)
    after = box.viewRange()
    zoom = (before[0][1] - before[0][0]) / (after[0][1] - after[0][0])
    assert zoom > 1.5  # zoomed in
    new_spacing = view.map_point(0, 5, 10, 13).x() - view.map_point(0, 5, 10, 12).x()
    assert new_spacing == pytest.approx(spacing * zoom, rel=0.02)
    # Around the pointer: the pixel under it still shows unit (row 10, col 12) of map 5.
    with qtbot.waitSignal(view.unitHovered, timeout=2000) as blocker:
        _move(view, pointer)
        qapp.processEvents()
    assert blocker.args == [0, 5, 10, 12]
    # Three units right and two down on screen, at the zoomed spacing, is unit (12, 15).
    target = QPointF(pointer.x() + 3 * new_spacing, pointer.y() + 2 * new_spacing)
    with qtbot.waitSignal(view.unitHovered, timeout=2000) as blocker:
        _move(view, target)
        qapp.processEvents()
    assert blocker.args == [0, 5, 12, 15]
    with qtbot.waitSignal(view.mapClicked, timeout=2000) as blocker:
        _click(view, target)
    assert blocker.args == [0, 5]
    # Fit shows the whole grid again.
    view.fit_button.click()
    assert np.allclose(box.viewRange(), before)
