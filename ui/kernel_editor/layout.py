"""The kernel editor's widgets: grid, presets, size, scale and bias, tools, undo buttons, sum
and lesson, laid out and wired to the editor's slots (the editor's "setupUi")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.kernel_math import preset_lesson
from core.kernels import MAX_KERNEL_SIZE, PRESET_NAMES
from ui.kernel_editor.constants import STEP_HELP
from ui.kernel_editor.grid import GridArea, WeightsModel, WeightsView
from ui.kernel_editor.spinbox import NumberSpinBox

if TYPE_CHECKING:  # the editor calls build(); no import of it at run time
    from ui.kernel_editor.editor import KernelEditor

_CUSTOM_LABEL = "custom kernel"


def build(editor: KernelEditor) -> None:
    """Create the editor's widgets and wire them to its slots (its "setupUi")."""
    editor._model = WeightsModel(editor._kernel, editor)
    editor._model.edit_requested.connect(editor._on_edit_requested)
    editor._view = WeightsView()
    editor._view.setModel(editor._model)
    editor._view.setToolTip(STEP_HELP)
    editor._view.wheel_nudged.connect(editor._on_wheel_nudged)
    editor._view.drag_started.connect(editor._on_drag_started)
    editor._view.drag_moved.connect(editor._on_drag_moved)
    editor._view.drag_finished.connect(editor._on_drag_finished)
    editor._view.clear_requested.connect(editor._on_clear_requested)
    editor._grid_area = GridArea(editor._view, editor)

    editor.preset_combo = QComboBox()
    # Item 0 stands for "not a preset"; it is shown, never chosen from the list.
    editor.preset_combo.addItem(_CUSTOM_LABEL)
    custom_item = editor.preset_combo.model().item(0)
    custom_item.setFlags(custom_item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
    editor.preset_combo.setToolTip("Load a classic kernel; hover an entry to see what it does.")
    for name in PRESET_NAMES:
        editor.preset_combo.addItem(name)
        editor.preset_combo.setItemData(
            editor.preset_combo.count() - 1, preset_lesson(name), Qt.ItemDataRole.ToolTipRole
        )
    editor.preset_combo.setMaxVisibleItems(len(PRESET_NAMES) + 1)
    editor.preset_combo.activated.connect(editor._on_preset_activated)

    size_tip = (
        "Kernel height (rows) and width (columns). Resizing keeps the weights around the "
        "centre; odd sizes have a true centre cell."
    )
    editor.rows_spin = QSpinBox()
    editor.cols_spin = QSpinBox()
    for spin in (editor.rows_spin, editor.cols_spin):
        spin.setRange(1, MAX_KERNEL_SIZE)
        spin.setKeyboardTracking(False)
        spin.setToolTip(size_tip)
        spin.valueChanged.connect(editor._on_size_value_changed)

    editor.scale_spin = NumberSpinBox(fractions=True)
    editor.scale_spin.setRange(-1e6, 1e6)
    editor.scale_spin.setToolTip(
        "Scale: every weight is multiplied by this before use, so a blur can be written "
        "with whole numbers and 1/16."
    )
    editor.scale_spin.valueChanged.connect(editor._on_scale_value_changed)
    editor.bias_spin = NumberSpinBox()
    editor.bias_spin.setRange(-1e6, 1e6)
    editor.bias_spin.setSingleStep(0.1)
    editor.bias_spin.setStepType(QDoubleSpinBox.StepType.DefaultStepType)
    editor.bias_spin.setToolTip(
        "Bias: a number added to every output pixel, like the bias of a Conv2D filter."
    )
    editor.bias_spin.valueChanged.connect(editor._on_bias_value_changed)

    editor.normalize_button = _tool(
        "Normalize",
        "Set the scale so the weights sum to 1, keeping overall brightness "
        "(kernels that sum to 0 are left alone).",
        editor._on_normalize_clicked,
    )
    editor.flip_button = _tool(
        "Flip 180\u00b0",
        "Rotate the kernel by 180 degrees: this turns correlation (what CNNs compute) "
        "into true convolution.",
        editor._on_flip_clicked,
    )
    editor.rotate_button = _tool(
        "Rotate 90\u00b0",
        "Rotate the kernel 90 degrees counter-clockwise: an edge detector then finds edges "
        "at right angles to before.",
        editor._on_rotate_clicked,
    )
    editor.transpose_button = _tool(
        "Transpose",
        "Mirror the kernel across its main diagonal: rows become columns, so horizontal "
        "detectors become vertical ones.",
        editor._on_transpose_clicked,
    )
    editor.randomize_button = _tool(
        "Randomize",
        "Fill with normal random weights (He init, std = sqrt(2 / fan-in)), like a CNN "
        "filter before training.",
        editor._on_randomize_clicked,
    )
    editor.clear_button = _tool(
        "Clear",
        "Set every weight to 0 (scale 1, bias 0): a blank kernel that outputs nothing.",
        editor._on_clear_clicked,
    )
    editor.undo_button = _tool("Undo", "Undo the last change (Ctrl+Z).", editor.undo_stack.undo)
    editor.redo_button = _tool(
        "Redo", "Redo the change you undid (Ctrl+Shift+Z).", editor.undo_stack.redo
    )
    editor.load_button = _tool(
        "Load\u2026", "Load a kernel from a JSON file.", lambda: editor.load_dialog()
    )
    editor.save_button = _tool(
        "Save\u2026", "Save this kernel as a JSON file.", lambda: editor.save_dialog()
    )
    editor.undo_stack.canUndoChanged.connect(editor.undo_button.setEnabled)
    editor.undo_stack.canRedoChanged.connect(editor.redo_button.setEnabled)
    editor.undo_stack.undoTextChanged.connect(editor._on_undo_text_changed)
    editor.undo_stack.redoTextChanged.connect(editor._on_redo_text_changed)
    editor.undo_button.setEnabled(False)
    editor.redo_button.setEnabled(False)

    editor.sum_label = QLabel()
    editor.sum_label.setWordWrap(True)
    editor.sum_label.setToolTip(
        "Sum of the effective weights (weights x scale): the kernel's response to a flat, "
        "uniform patch of brightness 1."
    )
    editor.lesson_label = QLabel()
    editor.lesson_label.setWordWrap(True)
    editor.lesson_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    editor.lesson_label.setStyleSheet("color: palette(text); font-style: italic;")
    editor.lesson_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

    # Side panel: the pane is wider than tall, so the grid gets the full height on the left.
    panel = QVBoxLayout()
    panel.setSpacing(6)
    panel.addWidget(editor.preset_combo)

    form = QGridLayout()
    form.setHorizontalSpacing(4)
    form.setVerticalSpacing(4)
    form.addWidget(_caption("Size"), 0, 0)
    size_row = QHBoxLayout()
    size_row.setSpacing(2)
    size_row.addWidget(editor.rows_spin, 1)
    times = QLabel("\u00d7")
    times.setAlignment(Qt.AlignmentFlag.AlignCenter)
    size_row.addWidget(times)
    size_row.addWidget(editor.cols_spin, 1)
    form.addLayout(size_row, 0, 1)
    form.addWidget(_caption("Scale \u00d7"), 1, 0)
    form.addWidget(editor.scale_spin, 1, 1)
    form.addWidget(_caption("Bias +"), 2, 0)
    form.addWidget(editor.bias_spin, 2, 1)
    form.setColumnStretch(1, 1)
    panel.addLayout(form)

    tools = QGridLayout()
    tools.setSpacing(3)
    for position, button in enumerate(
        (
            editor.normalize_button,
            editor.clear_button,
            editor.flip_button,
            editor.rotate_button,
            editor.transpose_button,
            editor.randomize_button,
        )
    ):
        tools.addWidget(button, position // 2, position % 2)
    panel.addLayout(tools)

    history = QGridLayout()
    history.setSpacing(3)
    history.addWidget(editor.undo_button, 0, 0)
    history.addWidget(editor.redo_button, 0, 1)
    history.addWidget(editor.load_button, 1, 0)
    history.addWidget(editor.save_button, 1, 1)
    panel.addLayout(history)

    panel.addWidget(_separator())
    panel.addWidget(editor.sum_label)
    panel.addWidget(editor.lesson_label, 1)

    side = QWidget()
    side.setLayout(panel)
    panel.setContentsMargins(0, 0, 0, 0)
    side.setFixedWidth(216)

    layout = QHBoxLayout(editor)
    layout.setContentsMargins(6, 6, 6, 6)
    layout.setSpacing(8)
    layout.addWidget(editor._grid_area, 1)
    layout.addWidget(side)


def _tool(text: str, tip: str, slot: object) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setAutoRaise(False)
    button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    button.clicked.connect(slot)
    return button


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return label


def _separator() -> QWidget:
    line = QWidget()
    line.setFixedHeight(1)
    line.setStyleSheet("background: palette(mid);")
    return line
