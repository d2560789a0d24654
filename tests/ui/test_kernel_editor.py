"""Tests for the kernel editor: cell editing, wheel and drag nudges, tools, undo and files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QLineEdit

from core.kernels import DEFAULT_PRESET, PRESET_NAMES, Kernel, preset
from ui.kernel_editor import (
    DRAG_PIXELS_PER_STEP,
    MIN_CELL,
    WEIGHT_LIMIT,
    WHEEL_STEP,
    KernelEditor,
    weight_colors,
)

# The offscreen platform warns about this whenever a top-level widget with a layout is shown.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def editor(qtbot):
    widget = KernelEditor(interactive=False, rng=np.random.default_rng(0))
    qtbot.addWidget(widget)
    widget.resize(650, 450)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def emitted(editor):
    kernels: list[Kernel] = []
    messages: list[str] = []
    editor.kernel_changed.connect(kernels.append)
    editor.message.connect(messages.append)
    return kernels, messages


def _cell_center(editor: KernelEditor, row: int, col: int) -> QPoint:
    view = editor._view
    return view.visualRect(view.model().index(row, col)).center()


def _wheel(editor: KernelEditor, row: int, col: int, notches: int = 1, modifiers=None) -> None:
    pos = QPointF(_cell_center(editor, row, col))
    viewport = editor._view.viewport()
    event = QWheelEvent(
        pos,
        QPointF(viewport.mapToGlobal(pos)),
        QPoint(0, 0),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        modifiers or Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(viewport, event)


def _mouse(editor: KernelEditor, kind: QEvent.Type, pos: QPoint, buttons) -> None:
    viewport = editor._view.viewport()
    event = QMouseEvent(
        kind,
        QPointF(pos),
        QPointF(viewport.mapToGlobal(pos)),
        Qt.MouseButton.LeftButton,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(viewport, event)


def _type_into_cell(qtbot, editor: KernelEditor, row: int, col: int, text: str) -> None:
    view = editor._view
    index = view.model().index(row, col)
    view.setCurrentIndex(index)
    assert view.edit(index, view.EditTrigger.AllEditTriggers, None)
    line_edit = view.viewport().findChild(QLineEdit)
    assert line_edit is not None
    line_edit.selectAll()
    qtbot.keyClick(line_edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(line_edit, text)
    qtbot.keyClick(line_edit, Qt.Key.Key_Return)
    # The delegate commits and closes the editor through a queued call.
    qtbot.waitUntil(lambda: view.state() != view.State.EditingState, timeout=1000)


def test_starts_with_default_preset(editor):
    assert editor.kernel() == preset(DEFAULT_PRESET)
    assert editor.preset_combo.currentText() == DEFAULT_PRESET
    assert editor.undo_stack.count() == 0


def test_typing_a_value_commits_it(qtbot, editor, emitted):
    kernels, _ = emitted
    with qtbot.waitSignal(editor.kernel_changed, timeout=1000) as blocker:
        _type_into_cell(qtbot, editor, 1, 2, "2.5")
    assert blocker.args[0].weights[1, 2] == 2.5
    assert editor.kernel().weights[1, 2] == 2.5
    assert len(kernels) == 1
    assert editor.undo_stack.count() == 1


def test_typing_a_fraction(qtbot, editor):
    _type_into_cell(qtbot, editor, 0, 0, "1/8")
    assert editor.kernel().weights[0, 0] == 0.125


@pytest.mark.parametrize("text", ["abc", "nan", "inf", "", "1/0"])
def test_invalid_text_is_rejected(qtbot, editor, emitted, text):
    kernels, messages = emitted
    before = editor.kernel()
    _type_into_cell(qtbot, editor, 1, 1, text)
    assert editor.kernel() is before
    assert kernels == []
    assert messages and "not changed" in messages[-1]
    assert editor.undo_stack.count() == 0


def test_wheel_nudges_by_documented_step(editor, emitted):
    kernels, _ = emitted
    start = editor.kernel().weights[1, 1]
    _wheel(editor, 1, 1)
    assert editor.kernel().weights[1, 1] == pytest.approx(start + WHEEL_STEP)
    _wheel(editor, 1, 1, notches=-1, modifiers=Qt.KeyboardModifier.ShiftModifier)
    assert editor.kernel().weights[1, 1] == pytest.approx(start + WHEEL_STEP - 10 * WHEEL_STEP)
    assert len(kernels) == 2


def test_a_nudge_stops_at_the_weight_cap(editor):
    # Every kernel meets |w| <= 1e6 (a loaded file too); nudging past it must not raise.
    weights = editor.kernel().weights.copy()
    weights[1, 1] = WEIGHT_LIMIT
    editor.set_kernel(editor.kernel().with_weights(weights))
    _wheel(editor, 1, 1, modifiers=Qt.KeyboardModifier.ShiftModifier)
    assert editor.kernel().weights[1, 1] == WEIGHT_LIMIT


def test_burst_of_wheel_notches_is_one_undo_step(editor):
    before = editor.kernel()
    for _ in range(5):
        _wheel(editor, 0, 1)
    assert editor.kernel().weights[0, 1] == pytest.approx(before.weights[0, 1] + 5 * WHEEL_STEP)
    assert editor.undo_stack.count() == 1
    editor.undo_action.trigger()
    assert editor.kernel() == before


def test_wheel_on_another_cell_is_a_new_undo_step(editor):
    _wheel(editor, 0, 0)
    _wheel(editor, 2, 2)
    assert editor.undo_stack.count() == 2


def test_vertical_drag_nudges_live_and_merges(editor, emitted):
    kernels, _ = emitted
    before = editor.kernel()
    start = _cell_center(editor, 1, 1)
    buttons = Qt.MouseButton.LeftButton
    _mouse(editor, QEvent.Type.MouseButtonPress, start, buttons)
    threshold = QApplication.startDragDistance()
    _mouse(editor, QEvent.Type.MouseMove, start - QPoint(0, threshold), buttons)
    for steps in (1, 2, 3):
        pos = start - QPoint(0, threshold + steps * DRAG_PIXELS_PER_STEP)
        _mouse(editor, QEvent.Type.MouseMove, pos, buttons)
    _mouse(editor, QEvent.Type.MouseButtonRelease, pos, Qt.MouseButton.NoButton)
    assert editor.kernel().weights[1, 1] == pytest.approx(before.weights[1, 1] + 3 * WHEEL_STEP)
    assert len(kernels) == 3  # live: one update per step
    assert editor.undo_stack.count() == 1
    editor.undo_action.trigger()
    assert editor.kernel() == before


def test_delete_key_sets_the_current_cell_to_zero(qtbot, editor):
    view = editor._view
    view.setCurrentIndex(view.model().index(0, 0))
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert editor.kernel().weights[0, 0] == 0
    editor.undo_action.trigger()
    assert editor.kernel() == preset(DEFAULT_PRESET)


def test_preset_selection_loads_exact_weights(editor, emitted):
    kernels, _ = emitted
    for name in ("sobel-x", "gaussian-7", "log-5"):
        index = editor.preset_combo.findText(name)
        editor.preset_combo.setCurrentIndex(index)
        editor.preset_combo.activated.emit(index)
        expected = preset(name)
        assert np.array_equal(editor.kernel().weights, expected.weights)
        assert editor.kernel().scale == expected.scale
        assert editor.lesson_label.text() == expected.lesson
    assert len(kernels) == 3
    assert editor.undo_stack.count() == 3


def test_preset_tooltips_are_lessons(editor):
    for name in PRESET_NAMES:
        index = editor.preset_combo.findText(name)
        tip = editor.preset_combo.itemData(index, Qt.ItemDataRole.ToolTipRole)
        assert tip == preset(name).lesson


@pytest.mark.parametrize("kernel", [Kernel(np.ones((3, 3))), preset("gaussian-5")])
def test_normalize_gives_sum_one(editor, kernel):
    editor.set_kernel(kernel)
    editor.normalize_button.click()
    assert editor.kernel().sum == pytest.approx(1.0)
    assert "Sum = 1" in editor.sum_label.text()


def test_normalize_leaves_zero_sum_kernel_and_says_why(editor, emitted):
    kernels, messages = emitted
    editor.set_kernel(preset("horizontal-lines"))
    editor.normalize_button.click()
    assert editor.kernel() == preset("horizontal-lines")
    assert kernels == []
    assert messages and "sum to 0" in messages[-1]


@pytest.fixture
def asymmetric(editor):
    weights = np.arange(15, dtype=np.float64).reshape(3, 5) - 7
    editor.set_kernel(Kernel(weights))
    return weights


def test_flip_rotate_transpose_match_numpy(editor, asymmetric):
    editor.flip_button.click()
    assert np.array_equal(editor.kernel().weights, asymmetric[::-1, ::-1])
    editor.rotate_button.click()
    assert np.array_equal(editor.kernel().weights, np.rot90(asymmetric[::-1, ::-1]))
    editor.transpose_button.click()
    assert np.array_equal(editor.kernel().weights, np.rot90(asymmetric[::-1, ::-1]).T)
    assert (editor.rows_spin.value(), editor.cols_spin.value()) == (3, 5)


def test_transposing_horizontal_lines_is_recognised_as_vertical_lines(editor):
    editor.set_kernel(preset("horizontal-lines"))
    editor.transpose_button.click()
    assert editor.kernel() == preset("vertical-lines")
    assert editor.preset_combo.currentText() == "vertical-lines"


def test_edited_preset_becomes_custom(editor):
    editor.set_kernel(preset("sobel-x"))
    _wheel(editor, 1, 1)
    assert editor.kernel().name == "custom"
    assert editor.preset_combo.currentIndex() == 0


def test_symmetric_transform_changes_nothing(editor, emitted):
    kernels, messages = emitted
    editor.set_kernel(preset("gaussian-3"))
    kernels.clear()
    editor.transpose_button.click()
    assert kernels == []
    assert "unchanged" in messages[-1]


def test_resize_keeps_the_centre(editor):
    editor.set_kernel(preset("sobel-x"))
    editor.rows_spin.setValue(5)
    editor.cols_spin.setValue(5)
    weights = editor.kernel().weights
    assert weights.shape == (5, 5)
    assert np.array_equal(weights[1:4, 1:4], preset("sobel-x").weights)
    assert weights.sum() == 0 and np.count_nonzero(weights[[0, 4], :]) == 0
    editor.rows_spin.setValue(3)
    editor.cols_spin.setValue(3)
    assert np.array_equal(editor.kernel().weights, preset("sobel-x").weights)


def test_undo_redo_restore_exact_kernels(editor, emitted):
    kernels, _ = emitted
    history = [editor.kernel()]
    editor.set_kernel(preset("laplacian"))
    history.append(editor.kernel())
    editor.randomize_button.click()
    history.append(editor.kernel())
    editor.scale_spin.setValue(0.5)
    history.append(editor.kernel())
    editor.clear_button.click()
    history.append(editor.kernel())
    assert not editor.kernel().weights.any()
    assert editor.undo_stack.count() == 4

    for expected in reversed(history[:-1]):
        editor.undo_action.trigger()
        assert editor.kernel() == expected
        assert np.array_equal(editor.kernel().weights, expected.weights)
    assert not editor.undo_action.isEnabled()
    for expected in history[1:]:
        editor.redo_action.trigger()
        assert editor.kernel() == expected
    assert kernels[-1] == history[-1]
    assert len(kernels) == 4 + 4 + 4


def test_shortcuts(editor):
    assert editor.undo_action.shortcut().toString() == "Ctrl+Z"
    assert "Ctrl+Shift+Z" in [s.toString() for s in editor.redo_action.shortcuts()]


def test_set_kernel_without_change_emits_nothing(editor, emitted):
    kernels, _ = emitted
    editor.set_kernel(preset(DEFAULT_PRESET))
    assert kernels == []
    assert editor.undo_stack.count() == 0


def test_set_kernel_without_undo_clears_history(editor):
    editor.set_kernel(preset("laplacian"))
    editor.set_kernel(preset("emboss"), record_undo=False)
    assert editor.kernel() == preset("emboss")
    assert editor.undo_stack.count() == 0


def test_randomize_uses_he_init(editor):
    editor.rows_spin.setValue(15)
    editor.cols_spin.setValue(15)
    editor.randomize_button.click()
    kernel = editor.kernel()
    assert kernel.shape == (15, 15)
    assert kernel.scale == 1.0 and kernel.bias == 0.0
    assert np.std(kernel.weights) == pytest.approx(np.sqrt(2 / 225), rel=0.25)


def test_bias_spin_sets_bias(editor):
    editor.bias_spin.setValue(0.25)
    assert editor.kernel().bias == 0.25
    editor.undo_action.trigger()
    assert editor.kernel().bias == 0.0


def test_scale_spin_shows_fraction(editor):
    editor.set_kernel(preset("gaussian-3"))
    assert editor.scale_spin.text() == "1/16"
    assert editor.scale_spin.value() == 1 / 16


def test_save_load_round_trip(editor, tmp_path, emitted):
    path = tmp_path / "mine.json"
    custom = Kernel(np.array([[1.5, -2.0], [0.25, 3.0]]), scale=0.5, bias=-0.1)
    editor.set_kernel(custom)
    assert editor.save_file(path)
    editor.set_kernel(preset("identity"))
    assert editor.load_file(path)
    assert editor.kernel() == custom
    editor.undo_action.trigger()
    assert editor.kernel() == preset("identity")


@pytest.mark.parametrize(
    "content", ['{"weights": [[1, 2], [3]]}', "{not json", "", '{"weights": [[NaN]]}']
)
def test_load_broken_file_is_reported(editor, tmp_path, emitted, content):
    kernels, messages = emitted
    path = tmp_path / "broken.json"
    path.write_text(content, encoding="utf-8")
    before = editor.kernel()
    assert editor.load_file(path) is False
    assert editor.kernel() is before
    assert kernels == []
    assert messages and "broken.json" in messages[-1]
    assert editor.undo_stack.count() == 0


def test_save_to_missing_folder_is_reported(editor, tmp_path, emitted):
    _, messages = emitted
    assert editor.save_file(tmp_path / "missing" / "k.json") is False
    assert messages


def test_grid_fits_a_15x15_kernel(editor, qtbot):
    editor.set_kernel(Kernel(json.loads(json.dumps(np.ones((15, 15)).tolist()))))
    view = editor._view
    qtbot.waitUntil(lambda: view.horizontalHeader().sectionSize(0) >= MIN_CELL)
    cell = view.visualRect(view.model().index(0, 0))
    assert cell.width() == cell.height() >= MIN_CELL
    assert not view.verticalScrollBar().isVisible()
    assert not view.horizontalScrollBar().isVisible()


def test_grid_paints_each_cell_in_its_colour_with_its_value_legible(editor):
    editor.set_kernel(preset("sobel-x"))  # -1 0 1 / -2 0 2 / -1 0 1
    view = editor._view
    image = view.viewport().grab().toImage()
    for row, col in ((0, 0), (1, 0), (1, 2), (2, 1)):
        value = float(preset("sobel-x").weights[row, col])
        background, text = weight_colors(value, 2.0)
        rect = view.visualRect(view.model().index(row, col))
        # Just inside the corner: the cell's own colour (the anchor and selection frames are
        # drawn further in).
        assert image.pixelColor(rect.topLeft() + QPoint(1, 1)) == background
        # The value is written in the text colour somewhere around the centre.
        centre = rect.center()
        near_text = [
            image.pixelColor(centre + QPoint(dx, dy))
            for dx in range(-rect.width() // 4, rect.width() // 4)
            for dy in range(-rect.height() // 6, rect.height() // 6)
        ]
        distance = min(
            abs(c.red() - text.red()) + abs(c.green() - text.green()) + abs(c.blue() - text.blue())
            for c in near_text
        )
        assert distance < 60, (row, col)
    # Grid lines separate the cells.
    first = view.visualRect(view.model().index(0, 0))
    assert image.pixelColor(first.right() + 1, first.center().y()).red() == 0xC8


def test_weight_colors_diverge_and_stay_readable():
    negative, negative_text = weight_colors(-1.0, 1.0)
    positive, positive_text = weight_colors(1.0, 1.0)
    zero, _ = weight_colors(0.0, 1.0)
    assert negative.blue() > negative.red()
    assert positive.red() > positive.blue()
    assert min(zero.red(), zero.green(), zero.blue()) > 230
    assert negative_text.lightness() > 200 and positive_text.lightness() > 200
    _, pale_text = weight_colors(0.1, 1.0)
    assert pale_text.lightness() < 60
