"""The weight grid: model, cell text, in-place editor, the painted view and its sizing area."""

from __future__ import annotations

import itertools

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
    QColor,
    QFont,
    QFontMetrics,
    QMouseEvent,
    QPainter,
    QPen,
    QStaticText,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QLineEdit,
    QSizePolicy,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from core.kernel_math import format_candidates, format_full
from core.kernels import Kernel
from ui.kernel_editor.colors import weight_colors
from ui.kernel_editor.constants import (
    DRAG_PIXELS_PER_STEP,
    MAX_CELL,
    MIN_CELL,
    STEP_HELP,
    WHEEL_STEP,
)

_GRID_PEN = QPen(QColor(0xC8, 0xC8, 0xC8))
_ANCHOR_PEN = QPen(QColor(90, 90, 90), 1, Qt.PenStyle.DotLine)
_SELECTION_PEN = QPen(QColor(20, 20, 20), 2)
_SELECTION_PEN.setJoinStyle(Qt.PenJoinStyle.MiterJoin)


class WeightsModel(QAbstractTableModel):
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
            value: (*weight_colors(value, self._max_abs), format_candidates(value))
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
            return format_full(value)
        if role == Qt.ItemDataRole.UserRole:
            return value
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._cells[index.row()][index.column()][0]
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._cells[index.row()][index.column()][1]
        if role == Qt.ItemDataRole.ToolTipRole:
            line = f"w[{index.row()}, {index.column()}] = {format_full(value)}"
            if self._kernel.scale != 1.0:
                effective = value * self._kernel.scale
                line += f"  (x scale = {effective:.6g})"
            return f"{line}\n{STEP_HELP}"
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


class CellText:
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
        shortest = {format_candidates(float(v))[-1] for v in np.unique(kernel.weights)}
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


class CellEditorDelegate(QStyledItemDelegate):
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


class WeightsView(QTableView):
    """A table of square cells that turns the wheel and vertical drags into nudges."""

    wheel_nudged = Signal(int, int, float)  # row, column, change in weight
    drag_started = Signal(int, int)
    drag_moved = Signal(float)  # change in weight since the drag started (up = positive)
    drag_finished = Signal()
    clear_requested = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setItemDelegate(CellEditorDelegate(self))
        self._text = CellText()
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
        prepared text. The cells are equal squares (GridArea.fit). Editors are child widgets
        and draw themselves.
        """
        model = self.model()
        if not isinstance(model, WeightsModel) or model.rowCount() == 0:
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


class GridArea(QWidget):
    """Holds the view and sizes its cells as large squares that fit, centred in the space."""

    def __init__(self, view: WeightsView, parent: QWidget | None = None) -> None:
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
