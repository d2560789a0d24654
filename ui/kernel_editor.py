"""The kernel editor: a coloured grid of weights plus the tools a student needs to play with them.

Every change (typing, scrolling or dragging on a cell, a preset, a tool button, resizing, loading)
becomes one undoable command that stores the old and the new immutable ``Kernel``; the editor
then emits ``kernel_changed`` with the new kernel. A whole drag, or a burst of wheel notches on
one cell, merges into a single undo step.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QLine,
    QModelIndex,
    QPersistentModelIndex,
    QPointF,
    QRect,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QFontMetrics,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPen,
    QStaticText,
    QTransform,
    QUndoCommand,
    QUndoStack,
    QValidator,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QSizePolicy,
    QSpinBox,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.images import SaveError
from core.kernels import (
    DEFAULT_PRESET,
    MAX_KERNEL_SIZE,
    MAX_WEIGHT,
    PRESET_NAMES,
    Kernel,
    KernelError,
    load_kernel,
    preset,
    save_kernel,
)

WHEEL_STEP = 0.1
"""Change of a weight per wheel notch or per drag step (Shift: x10, Ctrl: x0.1)."""
DRAG_PIXELS_PER_STEP = 5
"""Vertical mouse travel, in pixels, for one ``WHEEL_STEP`` while dragging on a cell."""
MERGE_WINDOW_SECONDS = 1.0
"""Wheel notches (or spin-box steps) closer together than this merge into one undo step."""
WEIGHT_LIMIT = MAX_WEIGHT
"""Largest magnitude accepted for a typed weight: the same rule as for a loaded file."""

MIN_CELL = 24
MAX_CELL = 120

_MERGE_ID = 0x4B45  # any constant: commands with a merge key share it, others return -1

# RdBu-like diverging stops: blue for negative, near-white for zero, red for positive.
_STOPS = (
    (33, 102, 172),
    (103, 169, 207),
    (247, 247, 247),
    (239, 138, 98),
    (178, 24, 43),
)

_GRID_PEN = QPen(QColor(0xC8, 0xC8, 0xC8))
_ANCHOR_PEN = QPen(QColor(90, 90, 90), 1, Qt.PenStyle.DotLine)
_SELECTION_PEN = QPen(QColor(20, 20, 20), 2)
_SELECTION_PEN.setJoinStyle(Qt.PenJoinStyle.MiterJoin)

_CUSTOM_LABEL = "custom kernel"
_PRESET_KERNELS = {name: preset(name) for name in PRESET_NAMES}
_PRESET_LESSONS = {name: kernel.lesson for name, kernel in _PRESET_KERNELS.items()}

_STEP_HELP = (
    f"Scroll over a cell: \u00b1{WHEEL_STEP:g} per notch (Shift \u00b1{WHEEL_STEP * 10:g}, "
    f"Ctrl \u00b1{WHEEL_STEP / 10:g}). Drag up/down on a cell to nudge it continuously. "
    "Type a number to set it (fractions like 1/9 work); Delete sets it to 0."
)


# --------------------------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------------------------


def parse_number(text: str) -> float:
    """Parse a weight typed by a student: a plain number or a fraction such as ``1/9``.

    Raises
    ------
    ValueError
        If the text is not a finite number within ``WEIGHT_LIMIT``; the message says why.
    """
    cleaned = text.strip().replace("\u2212", "-").replace(",", ".")
    if not cleaned:
        raise ValueError("a weight cannot be empty")
    numerator, slash, denominator = cleaned.partition("/")
    try:
        value = float(numerator)
        if slash:
            divisor = float(denominator)
            if divisor == 0:
                raise ValueError("division by zero")
            value /= divisor
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{text.strip()!r} is not a finite number")
    if abs(value) > WEIGHT_LIMIT:
        raise ValueError(f"{text.strip()} is too large (at most {WEIGHT_LIMIT:g} in magnitude)")
    return value


def resize_centred(weights: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Resize a weight grid to ``rows x cols``, keeping the overlap around the anchor cell.

    The anchor (``(kh // 2, kw // 2)``, where OpenCV places a kernel's centre) stays on the
    anchor, so growing 3x3 to 5x5 pads a ring of zeros and shrinking crops the border.
    """
    old_rows, old_cols = weights.shape
    result = np.zeros((rows, cols), dtype=np.float64)
    dr, dc = rows // 2 - old_rows // 2, cols // 2 - old_cols // 2
    src_r0, src_c0 = max(0, -dr), max(0, -dc)
    dst_r0, dst_c0 = max(0, dr), max(0, dc)
    height = min(old_rows - src_r0, rows - dst_r0)
    width = min(old_cols - src_c0, cols - dst_c0)
    if height > 0 and width > 0:
        result[dst_r0 : dst_r0 + height, dst_c0 : dst_c0 + width] = weights[
            src_r0 : src_r0 + height, src_c0 : src_c0 + width
        ]
    return result


def sum_meaning(total: float) -> str:
    """One line saying what a kernel whose effective weights sum to ``total`` does."""
    if abs(total) < 1e-9:
        return "responds only to change: flat areas give 0"
    if abs(total - 1.0) < 1e-9:
        return "keeps the overall brightness"
    if total > 1.0:
        return f"brightens flat areas {total:.3g}x"
    if total > 0.0:
        return f"darkens flat areas to {total:.3g}x"
    return "inverts brightness: flat areas turn negative"


# Text colours are shared objects: the grid pass changes its pen only when the colour object does.
_TEXT_ON_DARK = QColor(255, 255, 255)
_TEXT_ON_LIGHT = QColor(25, 25, 25)
_TEXT_ZERO = QColor(150, 150, 150)  # zeros recede so the pattern of non-zeros stands out


def weight_colors(value: float, max_abs: float) -> tuple[QColor, QColor]:
    """Background and readable text colour for ``value`` on a map symmetric around 0.

    The text colour is one of three shared objects: read it, don't modify it.
    """
    t = 0.0 if max_abs <= 0 else min(1.0, max(-1.0, value / max_abs))
    position = (t + 1.0) * 2.0  # 0..4 across the five stops
    low = min(int(position), len(_STOPS) - 2)
    frac = position - low
    r, g, b = (
        a * (1.0 - frac) + z * frac for a, z in zip(_STOPS[low], _STOPS[low + 1], strict=True)
    )
    background = QColor(round(r), round(g), round(b))
    if value == 0:
        return background, _TEXT_ZERO
    luminance = (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255.0
    return background, _TEXT_ON_DARK if luminance < 0.5 else _TEXT_ON_LIGHT


def _format_full(value: float) -> str:
    return f"{value:.12g}"


def _format_candidates(value: float) -> list[str]:
    """Ever shorter spellings of ``value`` for a cell, most precise first."""
    if value == int(value) and abs(value) < 1e6:
        return [str(int(value))]
    candidates = [f"{value:.{digits}g}" for digits in (4, 3, 2)]
    short = candidates[-1].replace("0.", ".", 1) if "e" not in candidates[-1] else candidates[-1]
    candidates.append(short)
    return list(dict.fromkeys(candidates))


def _as_fraction(value: float) -> str | None:
    """``1/16`` for 0.0625 and the like, so a blur's scale reads as the teacher writes it."""
    if value == 0 or abs(value) >= 1:
        return None
    inverse = 1.0 / abs(value)
    whole = round(inverse)
    if whole < 2 or whole > 100000 or abs(inverse - whole) > 1e-9 * inverse:
        return None
    return f"{'-' if value < 0 else ''}1/{whole}"


def _identify(kernel: Kernel) -> Kernel:
    """Name a kernel after the preset it equals (with its lesson), or 'custom' if it left one."""
    for name, candidate in _PRESET_KERNELS.items():
        if (
            candidate.shape == kernel.shape
            and np.array_equal(candidate.weights, kernel.weights)
            and math.isclose(candidate.scale, kernel.scale, rel_tol=1e-12)
        ):
            if kernel.name in ("custom", *PRESET_NAMES):
                return replace(kernel, name=name, lesson=candidate.lesson)
            return kernel
    origin = kernel.name if kernel.name in _PRESET_LESSONS else _origin_of(kernel.lesson)
    if origin is not None:  # edited away from a preset: its lesson no longer holds
        return replace(
            kernel, name="custom", lesson=f"Modified {origin}: {describe_weights(kernel)}"
        )
    return kernel


def _origin_of(lesson: str) -> str | None:
    """The preset a kernel's lesson came from (its own, or a "Modified NAME: ..." one)."""
    for name, text in _PRESET_LESSONS.items():
        if lesson == text or lesson.startswith(f"Modified {name}:"):
            return name
    return None


_DIRECTIONS = ("right", "bottom-right", "bottom", "bottom-left", "left", "top-left", "top")


def describe_weights(kernel: Kernel) -> str:
    """One sentence saying what ``kernel`` now responds to: the direction its weights rise
    towards (their first moment about the centre), else what their sum does."""
    weights = kernel.weights * kernel.scale
    rows, cols = np.indices(weights.shape, dtype=np.float64)
    dy = float((weights * (rows - (weights.shape[0] - 1) / 2)).sum())
    dx = float((weights * (cols - (weights.shape[1] - 1) / 2)).sum())
    if math.hypot(dx, dy) > 0.25 * float(np.abs(weights).sum()):
        sector = round(math.degrees(math.atan2(dy, dx)) / 45) % 8  # y grows downwards
        direction = "top-right" if sector == 7 else _DIRECTIONS[sector]
        return f"bright where brightness rises towards the {direction}."
    return f"its weights sum to {kernel.sum:.3g}, so it {sum_meaning(kernel.sum)}."


# --------------------------------------------------------------------------------------------
# Undo command
# --------------------------------------------------------------------------------------------


class _KernelCommand(QUndoCommand):
    """Replace the editor's kernel; merges with the previous command if the merge keys match."""

    def __init__(
        self, editor: KernelEditor, old: Kernel, new: Kernel, text: str, merge_key: object = None
    ) -> None:
        super().__init__(text)
        self._editor = editor
        self.old = old
        self.new = new
        self.merge_key = merge_key

    def id(self) -> int:
        return _MERGE_ID if self.merge_key is not None else -1

    def redo(self) -> None:
        self._editor._apply(self.new)

    def undo(self) -> None:
        self._editor._break_merge()
        self._editor._apply(self.old)

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, _KernelCommand) or other.merge_key != self.merge_key:
            return False
        self.new = other.new
        if self.new == self.old:
            self.setObsolete(True)  # e.g. a drag that came back to where it started
        return True


# --------------------------------------------------------------------------------------------
# Grid: model, delegate, view, and the area that sizes it
# --------------------------------------------------------------------------------------------


class _WeightsModel(QAbstractTableModel):
    """Read-only view of the current kernel's weights; edits are forwarded, never stored here."""

    edit_requested = Signal(int, int, str)

    def __init__(self, kernel: Kernel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._set(kernel)

    @property
    def kernel(self) -> Kernel:
        return self._kernel

    def _set(self, kernel: Kernel) -> None:
        self._kernel = kernel
        self._max_abs = float(np.abs(kernel.weights).max())
        # Colours and spellings per cell, computed once per kernel (and once per distinct
        # value: a 15x15 box has one): a 15x15 grid repaints 225 cells.
        rows = kernel.weights.tolist()
        styles = {
            value: (*weight_colors(value, self._max_abs), _format_candidates(value))
            for value in set(itertools.chain.from_iterable(rows))
        }
        self._cells = [[styles[value] for value in row] for row in rows]

    def cell(self, row: int, column: int) -> tuple[QColor, QColor, list[str]]:
        """(background, text colour, spellings from most to least precise) of one cell."""
        return self._cells[row][column]

    def set_kernel(self, kernel: Kernel) -> None:
        if kernel.shape != self._kernel.shape:
            self.beginResetModel()
            self._set(kernel)
            self.endResetModel()
            return
        self._set(kernel)
        rows, cols = kernel.shape
        self.dataChanged.emit(self.index(0, 0), self.index(rows - 1, cols - 1))

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._kernel.shape[0]

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._kernel.shape[1]

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> object:
        if not index.isValid():
            return None
        value = float(self._kernel.weights[index.row(), index.column()])
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cells[index.row()][index.column()][2][0]
        if role == Qt.ItemDataRole.EditRole:
            return _format_full(value)
        if role == Qt.ItemDataRole.UserRole:
            return value
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._cells[index.row()][index.column()][0]
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._cells[index.row()][index.column()][1]
        if role == Qt.ItemDataRole.ToolTipRole:
            line = f"w[{index.row()}, {index.column()}] = {_format_full(value)}"
            if self._kernel.scale != 1.0:
                effective = value * self._kernel.scale
                line += f"  (x scale = {effective:.6g})"
            return f"{line}\n{_STEP_HELP}"
        return None

    def setData(
        self, index: QModelIndex | QPersistentModelIndex, value: object, role: int = 2
    ) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        text = str(value)
        if text.strip() == self.data(index, Qt.ItemDataRole.EditRole):
            return True  # the editor was opened and closed without a change
        self.edit_requested.emit(index.row(), index.column(), text)
        return True


class _CellText:
    """The grid's lettering: one font for every cell (the largest at which every value fits)
    and each value's most precise spelling that fits, laid out once as a ``QStaticText``.

    Laying text out is most of what drawing a cell costs; a kernel's values are laid out
    again only when the kernel, the cell size or the base font changes.
    """

    def __init__(self) -> None:
        self._key: tuple[Kernel, int, str] | None = None
        self.font = QFont()
        self._metrics = QFontMetrics(self.font)
        self._width = 0  # of a cell, as last prepared
        self._texts: dict[str, QStaticText] = {}

    def prepare(self, base: QFont, kernel: Kernel, width: int) -> None:
        """Fit the font to cells ``width`` pixels wide showing ``kernel`` (cached)."""
        key = (kernel, width, base.key())
        if self._key is not None and self._key[0] is kernel and self._key[1:] == key[1:]:
            return
        font = QFont(base)
        size = int(max(8, min(34, width * 0.3)))
        shortest = {_format_candidates(float(v))[-1] for v in np.unique(kernel.weights)}
        font.setPixelSize(size)
        widest = max(QFontMetrics(font).horizontalAdvance(text) for text in shortest)
        if widest > width - 4:  # text width scales about linearly with the pixel size
            size = max(7, int(size * (width - 4) / widest))
        while size > 7:
            font.setPixelSize(size)
            metrics = QFontMetrics(font)
            if all(metrics.horizontalAdvance(text) <= width - 4 for text in shortest):
                break
            size -= 1
        font.setPixelSize(size)
        self._key, self.font = key, font
        self._metrics = QFontMetrics(font)
        self._width = width
        self._texts.clear()

    def text(self, candidates: list[str]) -> QStaticText:
        """The most precise of ``candidates`` that fits a cell, ready to draw."""
        text = self._texts.get(candidates[0])
        if text is None:
            chosen = next(
                (t for t in candidates if self._metrics.horizontalAdvance(t) <= self._width - 4),
                candidates[-1],
            )
            text = QStaticText(chosen)
            text.setTextFormat(Qt.TextFormat.PlainText)
            text.prepare(QTransform(), self.font)
            self._texts[candidates[0]] = text
        return text


class _CellEditorDelegate(QStyledItemDelegate):
    """Edits a cell with a centred line edit (the view paints the cells itself)."""

    def createEditor(
        self,
        parent: QWidget,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> QWidget:
        editor = QLineEdit(parent)
        editor.setAlignment(Qt.AlignmentFlag.AlignCenter)
        editor.setFrame(False)
        font = QFont(option.font)
        font.setPixelSize(int(max(9, min(18, option.rect.height() * 0.34))))
        editor.setFont(font)
        return editor


class _WeightsView(QTableView):
    """A table of square cells that turns the wheel and vertical drags into nudges."""

    wheel_nudged = Signal(int, int, float)  # row, column, change in weight
    drag_started = Signal(int, int)
    drag_moved = Signal(float)  # change in weight since the drag started (up = positive)
    drag_finished = Signal()
    clear_requested = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setItemDelegate(_CellEditorDelegate(self))
        self._text = _CellText()
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        for header in (self.horizontalHeader(), self.verticalHeader()):
            header.hide()
            header.setMinimumSectionSize(MIN_CELL)
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.setShowGrid(True)
        self.setGridStyle(Qt.PenStyle.SolidLine)
        self.setStyleSheet("QTableView { gridline-color: #c8c8c8; }")
        self.setCornerButtonEnabled(False)
        self.setMouseTracking(False)
        self._press_index: QModelIndex | None = None
        self._press_y = 0
        self._dragging = False
        self._drag_origin_y = 0

    def paintEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        """Draw the exposed cells in one pass: colour, value, grid, anchor and selection.

        QTableView would call a delegate per cell through Python (~0.15 ms each: a 15x15 grid
        took ~35 ms, long enough to stall the window). Here each cell costs a fill and a
        prepared text. The cells are equal squares (_GridArea.fit). Editors are child widgets
        and draw themselves.
        """
        model = self.model()
        if not isinstance(model, _WeightsModel) or model.rowCount() == 0:
            super().paintEvent(event)
            return
        rows, cols = model.rowCount(), model.columnCount()
        size = self.horizontalHeader().sectionSize(0)
        inner = size - 1  # the last pixel row and column of each cell is the grid line
        x0 = self.horizontalHeader().sectionViewportPosition(0)
        y0 = self.verticalHeader().sectionViewportPosition(0)
        exposed = event.rect()
        first_row = max(0, (exposed.top() - y0) // size)
        last_row = min(rows - 1, (exposed.bottom() - y0) // size)
        first_col = max(0, (exposed.left() - x0) // size)
        last_col = min(cols - 1, (exposed.right() - x0) // size)
        self._text.prepare(self.font(), model.kernel, inner)

        painter = QPainter(self.viewport())
        painter.setFont(self._text.font)
        pen: QColor | None = None
        for row in range(first_row, last_row + 1):
            y = y0 + row * size
            for col in range(first_col, last_col + 1):
                x = x0 + col * size
                background, foreground, candidates = model.cell(row, col)
                painter.fillRect(x, y, inner, inner, background)
                if foreground is not pen:  # three shared colours: few pen changes
                    painter.setPen(foreground)
                    pen = foreground
                text = self._text.text(candidates)
                box = text.size()
                at = QPointF(x + (inner - box.width()) / 2, y + (inner - box.height()) / 2)
                if box.width() <= inner:
                    painter.drawStaticText(at, text)
                else:  # even the shortest spelling at the smallest font: keep it in its cell
                    painter.save()
                    painter.setClipRect(x, y, inner, inner)
                    painter.drawStaticText(at, text)
                    painter.restore()

        painter.setPen(_GRID_PEN)
        right, bottom = x0 + cols * size - 1, y0 + rows * size - 1
        painter.drawLines(
            [QLine(x0 + c * size - 1, y0, x0 + c * size - 1, bottom) for c in range(1, cols + 1)]
            + [QLine(x0, y0 + r * size - 1, right, y0 + r * size - 1) for r in range(1, rows + 1)]
        )
        # The anchor: the output pixel the centre cell sits over.
        painter.setPen(_ANCHOR_PEN)
        cx, cy = x0 + (cols // 2) * size, y0 + (rows // 2) * size
        painter.drawRect(QRect(cx, cy, inner, inner).adjusted(2, 2, -3, -3))
        painter.setPen(_SELECTION_PEN)
        for index in self.selectionModel().selectedIndexes():
            x, y = x0 + index.column() * size, y0 + index.row() * size
            painter.drawRect(QRect(x, y, inner, inner).adjusted(1, 1, -2, -2))
        painter.end()

    def wheelEvent(self, event: QWheelEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        if not index.isValid():
            super().wheelEvent(event)
            return
        delta = event.angleDelta()
        # Some platforms turn Shift+wheel into a horizontal wheel; either direction counts.
        amount = delta.y() if abs(delta.y()) >= abs(delta.x()) else delta.x()
        if amount == 0:
            event.accept()
            return
        change = _step_for(event.modifiers()) * amount / 120.0
        self.setCurrentIndex(index)
        self.wheel_nudged.emit(index.row(), index.column(), change)
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        if event.button() == Qt.MouseButton.LeftButton and index.isValid():
            self._press_index = index
            self._press_y = int(event.position().y())
            self._dragging = False
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press_index is None or not event.buttons() & Qt.MouseButton.LeftButton:
            super().mouseMoveEvent(event)
            return
        y = int(event.position().y())
        if not self._dragging:
            if abs(y - self._press_y) < QApplication.startDragDistance():
                return
            self._dragging = True
            self._drag_origin_y = y
            self.viewport().setCursor(Qt.CursorShape.SizeVerCursor)
            self.drag_started.emit(self._press_index.row(), self._press_index.column())
        # Up is positive; ignore the horizontal position so the drag stays on its cell.
        steps = round((self._drag_origin_y - y) / DRAG_PIXELS_PER_STEP)
        self.drag_moved.emit(steps * _step_for(event.modifiers()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        was_dragging = self._dragging
        self._press_index = None
        self._dragging = False
        if was_dragging:
            self.viewport().unsetCursor()
            self.drag_finished.emit()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        index = self.currentIndex()
        if (
            index.isValid()
            and self.state() != QAbstractItemView.State.EditingState
            and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)
        ):
            self.clear_requested.emit(index.row(), index.column())
            event.accept()
            return
        super().keyPressEvent(event)


def _step_for(modifiers: Qt.KeyboardModifier) -> float:
    if modifiers & Qt.KeyboardModifier.ShiftModifier:
        return WHEEL_STEP * 10
    if modifiers & Qt.KeyboardModifier.ControlModifier:
        return WHEEL_STEP / 10
    return WHEEL_STEP


class _GridArea(QWidget):
    """Holds the view and sizes its cells as large squares that fit, centred in the space."""

    def __init__(self, view: _WeightsView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        view.setParent(self)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(3 * MIN_CELL + 4, 3 * MIN_CELL + 4)

    def fit(self) -> None:
        model = self.view.model()
        if model is None:
            return
        rows, cols = max(1, model.rowCount()), max(1, model.columnCount())
        frame = 2 * self.view.frameWidth()
        cell = int(min((self.width() - frame) / cols, (self.height() - frame) / rows))
        cell = max(MIN_CELL, min(MAX_CELL, cell))
        self.view.horizontalHeader().setDefaultSectionSize(cell)
        self.view.verticalHeader().setDefaultSectionSize(cell)
        width = min(self.width(), cell * cols + frame)
        height = min(self.height(), cell * rows + frame)
        scrolling = width < cell * cols + frame or height < cell * rows + frame
        if scrolling:  # too big to fit even at the smallest cells: use the whole area
            width, height = self.width(), self.height()
        self.view.setGeometry(
            (self.width() - width) // 2, (self.height() - height) // 2, width, height
        )

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().resizeEvent(event)
        self.fit()


class _NumberSpinBox(QDoubleSpinBox):
    """A double spin box that keeps full precision and reads/writes fractions like ``1/16``."""

    def __init__(self, parent: QWidget | None = None, *, fractions: bool = False) -> None:
        super().__init__(parent)
        self._fractions = fractions
        self.setDecimals(15)
        self.setKeyboardTracking(False)
        self.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
        self.setAccelerated(True)

    def textFromValue(self, value: float) -> str:
        if self._fractions:
            fraction = _as_fraction(value)
            if fraction is not None:
                return fraction
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return parse_number(self._strip(text))
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> QValidator.State:
        body = self._strip(text).strip()
        try:
            value = parse_number(body)
        except ValueError:
            partial = body in ("", "-", "+", ".", "-.") or body.endswith(("/", "e", "e-", "-"))
            if partial:
                return QValidator.State.Intermediate
            return QValidator.State.Invalid
        if self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable
        return QValidator.State.Intermediate

    def _strip(self, text: str) -> str:
        return text.removeprefix(self.prefix()).removesuffix(self.suffix())


# --------------------------------------------------------------------------------------------
# The editor
# --------------------------------------------------------------------------------------------


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
        self._kernel = _identify(kernel if kernel is not None else preset(DEFAULT_PRESET))
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

        self._build()
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
        self._apply(_identify(kernel))

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

    # ------------------------------------------------------------------------------- building

    def _build(self) -> None:
        self._model = _WeightsModel(self._kernel, self)
        self._model.edit_requested.connect(self._on_edit_requested)
        self._view = _WeightsView()
        self._view.setModel(self._model)
        self._view.setToolTip(_STEP_HELP)
        self._view.wheel_nudged.connect(self._on_wheel_nudged)
        self._view.drag_started.connect(self._on_drag_started)
        self._view.drag_moved.connect(self._on_drag_moved)
        self._view.drag_finished.connect(self._on_drag_finished)
        self._view.clear_requested.connect(self._on_clear_requested)
        self._grid_area = _GridArea(self._view, self)

        self.preset_combo = QComboBox()
        # Item 0 stands for "not a preset"; it is shown, never chosen from the list.
        self.preset_combo.addItem(_CUSTOM_LABEL)
        custom_item = self.preset_combo.model().item(0)
        custom_item.setFlags(custom_item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
        self.preset_combo.setToolTip("Load a classic kernel; hover an entry to see what it does.")
        for name in PRESET_NAMES:
            self.preset_combo.addItem(name)
            self.preset_combo.setItemData(
                self.preset_combo.count() - 1, _PRESET_LESSONS[name], Qt.ItemDataRole.ToolTipRole
            )
        self.preset_combo.setMaxVisibleItems(len(PRESET_NAMES) + 1)
        self.preset_combo.activated.connect(self._on_preset_activated)

        size_tip = (
            "Kernel height (rows) and width (columns). Resizing keeps the weights around the "
            "centre; odd sizes have a true centre cell."
        )
        self.rows_spin = QSpinBox()
        self.cols_spin = QSpinBox()
        for spin in (self.rows_spin, self.cols_spin):
            spin.setRange(1, MAX_KERNEL_SIZE)
            spin.setKeyboardTracking(False)
            spin.setToolTip(size_tip)
            spin.valueChanged.connect(self._on_size_value_changed)

        self.scale_spin = _NumberSpinBox(fractions=True)
        self.scale_spin.setRange(-1e6, 1e6)
        self.scale_spin.setToolTip(
            "Scale: every weight is multiplied by this before use, so a blur can be written "
            "with whole numbers and 1/16."
        )
        self.scale_spin.valueChanged.connect(self._on_scale_value_changed)
        self.bias_spin = _NumberSpinBox()
        self.bias_spin.setRange(-1e6, 1e6)
        self.bias_spin.setSingleStep(0.1)
        self.bias_spin.setStepType(QDoubleSpinBox.StepType.DefaultStepType)
        self.bias_spin.setToolTip(
            "Bias: a number added to every output pixel, like the bias of a Conv2D filter."
        )
        self.bias_spin.valueChanged.connect(self._on_bias_value_changed)

        self.normalize_button = self._tool(
            "Normalize",
            "Set the scale so the weights sum to 1, keeping overall brightness "
            "(kernels that sum to 0 are left alone).",
            self._on_normalize_clicked,
        )
        self.flip_button = self._tool(
            "Flip 180\u00b0",
            "Rotate the kernel by 180 degrees: this turns correlation (what CNNs compute) "
            "into true convolution.",
            self._on_flip_clicked,
        )
        self.rotate_button = self._tool(
            "Rotate 90\u00b0",
            "Rotate the kernel 90 degrees counter-clockwise: an edge detector then finds edges "
            "at right angles to before.",
            self._on_rotate_clicked,
        )
        self.transpose_button = self._tool(
            "Transpose",
            "Mirror the kernel across its main diagonal: rows become columns, so horizontal "
            "detectors become vertical ones.",
            self._on_transpose_clicked,
        )
        self.randomize_button = self._tool(
            "Randomize",
            "Fill with normal random weights (He init, std = sqrt(2 / fan-in)), like a CNN "
            "filter before training.",
            self._on_randomize_clicked,
        )
        self.clear_button = self._tool(
            "Clear",
            "Set every weight to 0 (scale 1, bias 0): a blank kernel that outputs nothing.",
            self._on_clear_clicked,
        )
        self.undo_button = self._tool(
            "Undo", "Undo the last change (Ctrl+Z).", self.undo_stack.undo
        )
        self.redo_button = self._tool(
            "Redo", "Redo the change you undid (Ctrl+Shift+Z).", self.undo_stack.redo
        )
        self.load_button = self._tool(
            "Load\u2026", "Load a kernel from a JSON file.", lambda: self.load_dialog()
        )
        self.save_button = self._tool(
            "Save\u2026", "Save this kernel as a JSON file.", lambda: self.save_dialog()
        )
        self.undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        self.undo_stack.canRedoChanged.connect(self.redo_button.setEnabled)
        self.undo_stack.undoTextChanged.connect(self._on_undo_text_changed)
        self.undo_stack.redoTextChanged.connect(self._on_redo_text_changed)
        self.undo_button.setEnabled(False)
        self.redo_button.setEnabled(False)

        self.sum_label = QLabel()
        self.sum_label.setWordWrap(True)
        self.sum_label.setToolTip(
            "Sum of the effective weights (weights x scale): the kernel's response to a flat, "
            "uniform patch of brightness 1."
        )
        self.lesson_label = QLabel()
        self.lesson_label.setWordWrap(True)
        self.lesson_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.lesson_label.setStyleSheet("color: palette(text); font-style: italic;")
        self.lesson_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

        # Side panel: the pane is wider than tall, so the grid gets the full height on the left.
        panel = QVBoxLayout()
        panel.setSpacing(6)
        panel.addWidget(self.preset_combo)

        form = QGridLayout()
        form.setHorizontalSpacing(4)
        form.setVerticalSpacing(4)
        form.addWidget(self._caption("Size"), 0, 0)
        size_row = QHBoxLayout()
        size_row.setSpacing(2)
        size_row.addWidget(self.rows_spin, 1)
        times = QLabel("\u00d7")
        times.setAlignment(Qt.AlignmentFlag.AlignCenter)
        size_row.addWidget(times)
        size_row.addWidget(self.cols_spin, 1)
        form.addLayout(size_row, 0, 1)
        form.addWidget(self._caption("Scale \u00d7"), 1, 0)
        form.addWidget(self.scale_spin, 1, 1)
        form.addWidget(self._caption("Bias +"), 2, 0)
        form.addWidget(self.bias_spin, 2, 1)
        form.setColumnStretch(1, 1)
        panel.addLayout(form)

        tools = QGridLayout()
        tools.setSpacing(3)
        for position, button in enumerate(
            (
                self.normalize_button,
                self.clear_button,
                self.flip_button,
                self.rotate_button,
                self.transpose_button,
                self.randomize_button,
            )
        ):
            tools.addWidget(button, position // 2, position % 2)
        panel.addLayout(tools)

        history = QGridLayout()
        history.setSpacing(3)
        history.addWidget(self.undo_button, 0, 0)
        history.addWidget(self.redo_button, 0, 1)
        history.addWidget(self.load_button, 1, 0)
        history.addWidget(self.save_button, 1, 1)
        panel.addLayout(history)

        panel.addWidget(self._separator())
        panel.addWidget(self.sum_label)
        panel.addWidget(self.lesson_label, 1)

        side = QWidget()
        side.setLayout(panel)
        panel.setContentsMargins(0, 0, 0, 0)
        side.setFixedWidth(216)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(8)
        layout.addWidget(self._grid_area, 1)
        layout.addWidget(side)

    def _tool(self, text: str, tip: str, slot: object) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(False)
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        button.clicked.connect(slot)
        return button

    @staticmethod
    def _caption(text: str) -> QLabel:
        label = QLabel(text)
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return label

    @staticmethod
    def _separator() -> QWidget:
        line = QWidget()
        line.setFixedHeight(1)
        line.setStyleSheet("background: palette(mid);")
        return line

    # ----------------------------------------------------------------------- change machinery

    def _change(self, kernel: Kernel, text: str, merge_key: object = None) -> None:
        """Push one undoable change, unless it would change nothing."""
        new = _identify(kernel)
        if new == self._kernel:
            return
        if merge_key is None:
            self._break_merge()
        self.undo_stack.push(_KernelCommand(self, self._kernel, new, text, merge_key))

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
        elif kernel.name in _PRESET_LESSONS:
            self.lesson_label.setText(_PRESET_LESSONS[kernel.name])
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
        self.message.emit(f"{name}: {_PRESET_LESSONS[name]}")

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
        std = math.sqrt(2.0 / (rows * cols))
        weights = np.round(self._rng.normal(0.0, std, size=(rows, cols)), 2)
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
