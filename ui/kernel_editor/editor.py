"""The kernel editor: a coloured grid of weights plus the tools a student needs to play with them.

Every change (typing, scrolling or dragging on a cell, a preset, a tool button, resizing, loading)
becomes one undoable command that stores the old and the new immutable ``Kernel``; the editor
then emits ``kernel_changed`` with the new kernel. A whole drag, or a burst of wheel notches on
one cell, merges into a single undo step.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from core.images import SaveError
from core.kernel_math import (
    WEIGHT_LIMIT,
    he_random_weights,
    identify,
    parse_number,
    preset_lesson,
    resize_centred,
    sum_meaning,
)
from core.kernels import (
    DEFAULT_PRESET,
    PRESET_NAMES,
    Kernel,
    KernelError,
    load_kernel,
    preset,
    save_kernel,
)
from ui.kernel_editor.commands import KernelCommand
from ui.kernel_editor.constants import MERGE_WINDOW_SECONDS
from ui.kernel_editor.layout import build


class KernelEditor(QWidget):
    """Edit a convolution kernel: a coloured weight grid, presets, tools, undo and files.

    Parameters
    ----------
    parent
        Parent widget.
    kernel
        The kernel to start with; defaults to the ``DEFAULT_PRESET`` preset.
    interactive
        If True, load/save errors also open a message box; tests pass False.
    rng
        Random generator for *Randomize*; a fresh unseeded one by default.

    Signals
    -------
    kernel_changed(Kernel)
        After every change that altered the kernel (edits, tools, presets, undo/redo, loads).
    message(str)
        Text for a status bar: what a tool did, why an input was rejected, load/save errors.
    failed(str)
        A load or save failed; the text says which file and why (also sent to ``message``).
    file_done()
        A load or save succeeded (a window clears the message of an earlier failure).
    """

    kernel_changed = Signal(object)
    message = Signal(str)
    failed = Signal(str)
    file_done = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        kernel: Kernel | None = None,
        interactive: bool = True,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__(parent)
        self.interactive = interactive
        self._rng = rng if rng is not None else np.random.default_rng()
        self._kernel = identify(kernel if kernel is not None else preset(DEFAULT_PRESET))
        self._merge_serial = 0
        self._last_merge: tuple[object, float] | None = None
        self._drag: tuple[int, int, float, int] | None = None  # row, col, start value, serial
        self._last_dir = ""

        self.undo_stack = QUndoStack(self)
        self.undo_action: QAction = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action: QAction = self.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.addAction(self.undo_action)
        self.addAction(self.redo_action)

        build(self)
        self._sync_controls()

    # ----------------------------------------------------------------------------- public API

    def kernel(self) -> Kernel:
        """The kernel currently shown (immutable; safe to hand to another thread)."""
        return self._kernel

    def set_kernel(self, kernel: Kernel, *, record_undo: bool = True) -> None:
        """Show ``kernel`` and emit ``kernel_changed`` if it differs from the current one.

        Parameters
        ----------
        kernel
            The new kernel.
        record_undo
            If True the change is one undoable step. If False the kernel simply replaces the
            current one and the undo history is cleared (its steps would no longer line up).
        """
        if not isinstance(kernel, Kernel):
            raise TypeError(f"expected a Kernel, not {type(kernel).__name__}")
        if record_undo:
            self._change(kernel, f"Set kernel {kernel.name}")
            return
        self.undo_stack.clear()
        self._apply(identify(kernel))

    def load_file(self, path: str | Path) -> bool:
        """Load a kernel JSON file as one undoable step.

        Returns
        -------
        bool
            True if the file was loaded. On failure the kernel is unchanged, the reason goes
            to ``message`` (and a message box if ``interactive``), and False is returned.
        """
        try:
            loaded = load_kernel(path)
        except KernelError as exc:
            self._report_error("Could not load the kernel", str(exc))
            return False
        self._last_dir = str(Path(path).parent)
        self._change(loaded, f"Load {Path(path).name}")
        self.message.emit(f"Loaded {loaded.shape[0]}x{loaded.shape[1]} kernel from {path}")
        self.file_done.emit()
        return True

    def save_file(self, path: str | Path) -> bool:
        """Save the current kernel as JSON (written atomically).

        Returns
        -------
        bool
            True on success; on failure the reason goes to ``message`` (and a message box if
            ``interactive``) and False is returned.
        """
        try:
            save_kernel(path, self._kernel)
        except (KernelError, OSError, ValueError) as exc:
            # A SaveError already reads "Cannot save PATH: reason"; say the path only once.
            text = str(exc) if isinstance(exc, SaveError) else f"Cannot save {path}: {exc}"
            self._report_error("Could not save the kernel", text)
            return False
        self._last_dir = str(Path(path).parent)
        self.message.emit(f"Saved kernel to {path}")
        self.file_done.emit()
        return True

    # ----------------------------------------------------------------------- change machinery

    def _change(self, kernel: Kernel, text: str, merge_key: object = None) -> None:
        """Push one undoable change, unless it would change nothing."""
        new = identify(kernel)
        if new == self._kernel:
            return
        if merge_key is None:
            self._break_merge()
        self.undo_stack.push(KernelCommand(self, self._kernel, new, text, merge_key))

    def _apply(self, kernel: Kernel) -> None:
        """Show ``kernel`` and emit it; called by the undo commands (and set_kernel)."""
        if kernel == self._kernel:
            return
        reshaped = kernel.shape != self._kernel.shape
        self._kernel = kernel
        self._model.set_kernel(kernel)
        if reshaped:
            self._grid_area.fit()
        self._sync_controls()
        self.kernel_changed.emit(kernel)

    def _windowed_key(self, kind: str, *detail: object) -> tuple[object, ...]:
        """A merge key shared by same-kind changes that come in quick succession."""
        now = time.monotonic()
        base = (kind, *detail)
        if (
            self._last_merge is None
            or self._last_merge[0] != base
            or now - self._last_merge[1] > MERGE_WINDOW_SECONDS
        ):
            self._merge_serial += 1
        self._last_merge = (base, now)
        return (*base, self._merge_serial)

    def _break_merge(self) -> None:
        """Make sure the next change starts a fresh undo step."""
        self._merge_serial += 1
        self._last_merge = None

    def _sync_controls(self) -> None:
        kernel = self._kernel
        widgets = (
            self.preset_combo,
            self.rows_spin,
            self.cols_spin,
            self.scale_spin,
            self.bias_spin,
        )
        for widget in widgets:
            widget.blockSignals(True)
        try:
            index = self.preset_combo.findText(kernel.name) if kernel.name in PRESET_NAMES else 0
            self.preset_combo.setCurrentIndex(max(0, index))
            self.rows_spin.setValue(kernel.shape[0])
            self.cols_spin.setValue(kernel.shape[1])
            self.scale_spin.setValue(kernel.scale)
            self.bias_spin.setValue(kernel.bias)
        finally:
            for widget in widgets:
                widget.blockSignals(False)

        total = kernel.sum
        shown = 0.0 if abs(total) < 1e-12 else total
        self.sum_label.setText(f"<b>Sum = {shown:.4g}</b>: {sum_meaning(total)}")
        if kernel.lesson:
            self.lesson_label.setText(kernel.lesson)
        elif preset_lesson(kernel.name) is not None:
            self.lesson_label.setText(preset_lesson(kernel.name))
        else:
            self.lesson_label.setText(
                "Your own kernel. Scroll or drag on a cell to nudge it, or type a number."
            )

    def _report_error(self, title: str, text: str) -> None:
        self.message.emit(text)
        self.failed.emit(f"{title}: {text}")
        if self.interactive:
            QMessageBox.warning(self, title, text)

    def _set_weight(self, row: int, col: int, value: float, text: str, merge_key: object) -> None:
        weights = self._kernel.weights.copy()
        # A nudge or drag stops at the cap every kernel meets (typing past it is refused).
        weights[row, col] = min(WEIGHT_LIMIT, max(-WEIGHT_LIMIT, value))
        self._change(self._kernel.with_weights(weights), text, merge_key)

    # ---------------------------------------------------------------------------- grid slots

    def _on_edit_requested(self, row: int, col: int, text: str) -> None:
        try:
            value = parse_number(text)
        except ValueError as exc:
            self.message.emit(f"Weight not changed: {exc}.")
            return
        self._set_weight(row, col, value, f"Set w[{row}, {col}]", None)

    def _on_wheel_nudged(self, row: int, col: int, change: float) -> None:
        value = round(float(self._kernel.weights[row, col]) + change, 10)
        key = self._windowed_key("wheel", row, col)
        self._set_weight(row, col, value, f"Nudge w[{row}, {col}]", key)

    def _on_drag_started(self, row: int, col: int) -> None:
        self._break_merge()
        self._drag = (row, col, float(self._kernel.weights[row, col]), self._merge_serial)

    def _on_drag_moved(self, change: float) -> None:
        if self._drag is None:
            return
        row, col, start, serial = self._drag
        if row >= self._kernel.shape[0] or col >= self._kernel.shape[1]:
            return
        value = round(start + change, 10)
        if value == self._kernel.weights[row, col]:
            return
        self._set_weight(row, col, value, f"Drag w[{row}, {col}]", ("drag", row, col, serial))

    def _on_drag_finished(self) -> None:
        self._drag = None
        self._break_merge()

    def _on_clear_requested(self, row: int, col: int) -> None:
        self._set_weight(row, col, 0.0, f"Clear w[{row}, {col}]", None)

    # ------------------------------------------------------------------------- control slots

    def _on_preset_activated(self, index: int) -> None:
        name = self.preset_combo.itemText(index)
        if name not in PRESET_NAMES:
            return
        self._change(preset(name), f"Preset {name}")
        self.message.emit(f"{name}: {preset_lesson(name)}")

    def _on_size_value_changed(self, _value: int) -> None:
        rows, cols = self.rows_spin.value(), self.cols_spin.value()
        if (rows, cols) == self._kernel.shape:
            return
        weights = resize_centred(self._kernel.weights, rows, cols)
        self._change(
            self._kernel.with_weights(weights),
            f"Resize to {rows}x{cols}",
            self._windowed_key("size"),
        )

    def _on_scale_value_changed(self, value: float) -> None:
        if value == self._kernel.scale:
            return
        self._change(replace(self._kernel, scale=value), "Scale", self._windowed_key("scale"))

    def _on_bias_value_changed(self, value: float) -> None:
        if value == self._kernel.bias:
            return
        self._change(replace(self._kernel, bias=value), "Bias", self._windowed_key("bias"))

    def _on_normalize_clicked(self) -> None:
        normalized, text = self._kernel.normalized()
        self._change(normalized, "Normalize")
        self.message.emit(text)

    def _on_flip_clicked(self) -> None:
        self._transform(self._kernel.weights[::-1, ::-1], "Flip 180\u00b0")

    def _on_rotate_clicked(self) -> None:
        self._transform(np.rot90(self._kernel.weights), "Rotate 90\u00b0")

    def _on_transpose_clicked(self) -> None:
        self._transform(self._kernel.weights.T, "Transpose")

    def _transform(self, weights: np.ndarray, text: str) -> None:
        if np.array_equal(weights, self._kernel.weights):
            self.message.emit(f"{text} leaves this kernel unchanged: it is symmetric that way.")
            return
        self._change(self._kernel.with_weights(weights), text)

    def _on_randomize_clicked(self) -> None:
        rows, cols = self._kernel.shape
        weights, std = he_random_weights((rows, cols), self._rng)
        self._change(Kernel(weights, name="custom"), "Randomize")
        self.message.emit(
            f"Random weights with std {std:.3g} (He init for fan-in {rows * cols}): "
            "this is where a CNN filter starts before training."
        )

    def _on_clear_clicked(self) -> None:
        self._change(Kernel(np.zeros(self._kernel.shape), name="custom"), "Clear")

    def _on_undo_text_changed(self, text: str) -> None:
        self.undo_button.setToolTip(f"Undo {text} (Ctrl+Z)." if text else "Nothing to undo.")

    def _on_redo_text_changed(self, text: str) -> None:
        self.redo_button.setToolTip(f"Redo {text} (Ctrl+Shift+Z)." if text else "Nothing to redo.")

    def load_dialog(self, folder: str = "") -> Path | None:
        """Ask for a kernel file (starting in ``folder``) and load it; its path if loaded."""
        path, _ = QFileDialog.getOpenFileName(
            self, "Load kernel", folder or self._last_dir, "Kernel JSON (*.json);;All files (*)"
        )
        return Path(path) if path and self.load_file(path) else None

    def save_dialog(self, folder: str = "") -> Path | None:
        """Ask where to save the kernel (starting in ``folder``); its path if saved."""
        suggestion = str(Path(folder or self._last_dir or ".") / f"{self._kernel.name}.json")
        path, _ = QFileDialog.getSaveFileName(
            self, "Save kernel", suggestion, "Kernel JSON (*.json)"
        )
        if not path:
            return None
        if not Path(path).suffix:
            path += ".json"
        return Path(path) if self.save_file(path) else None
