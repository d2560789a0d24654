"""The layer stack's table: a read-only view of the network's layer summaries.

Rows are never moved by the view itself: a drag and drop becomes a ``moveRequested(from, to)``
request, which the editor turns into one undoable edit and then shows the new network.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QAbstractTableModel, QByteArray, QMimeData, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor

from core.network.editing import LayerSummary

ROW_MIME = "application/x-convscope-layer-row"
COLUMNS = ("#", "Layer", "Kind", "Output", "Params", "Field")
_PROBLEM = QBrush(QColor(200, 40, 40))


def format_shape(shape: tuple[int, ...] | None) -> str:
    """``26x26x8`` for a map, ``(120,)`` for a vector, an em dash when the layer cannot run."""
    if shape is None:
        return "—"
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "x".join(str(n) for n in shape)


def compact_kind(row: LayerSummary) -> str:
    """The Kind column's short text (``conv 8·3x3``, ``relu``, ``max 2x2``): a narrow dock must
    show it on one line; the full description is the row's tooltip."""
    if row.kind == "activation":
        return row.description
    if row.kind == "conv":  # "8 filters 3x3x4, stride 1, valid" -> "conv 8·3x3x4"
        count, _word, size = row.description.split(",")[0].split(" ")[:3]
        return f"conv {count}·{size}"
    if row.kind == "pool":  # "max 2x2, stride 2" -> "max 2x2"
        return row.description.split(",")[0]
    if row.kind == "dense":  # "120 -> 10" -> "dense →10"
        return f"dense →{row.description.split(' -> ')[-1]}"
    return row.kind


class LayerTableModel(QAbstractTableModel):
    """One row per layer: number, name, kind and configuration, output shape, parameters and
    receptive field for the current input."""

    moveRequested = Signal(int, int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[LayerSummary] = []

    def set_rows(self, rows: Sequence[LayerSummary]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(index.row(), row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.problem or f"{row.name}: {row.kind}, {row.description}"
        if role == Qt.ItemDataRole.ForegroundRole and row.problem:
            return _PROBLEM
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (0, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _text(number: int, row: LayerSummary, column: int) -> str:
        if column == 0:
            return str(number + 1)
        if column == 1:
            return row.name
        if column == 2:
            return compact_kind(row)
        if column == 3:
            return format_shape(row.output_shape) if not row.problem else "— (see tooltip)"
        if column == 4:
            return f"{row.parameters:,}"
        if row.field is None:
            return "—"
        return f"{row.field[0]}x{row.field[1]}"

    # Drag and drop: rows travel as their number; the drop asks the editor to move the layer.

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.isValid():
            return base | Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsDropEnabled
        return Qt.ItemFlag.ItemIsDropEnabled

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [ROW_MIME]

    def mimeData(self, indexes) -> QMimeData:
        data = QMimeData()
        rows = sorted({index.row() for index in indexes if index.isValid()})
        if rows:
            data.setData(ROW_MIME, QByteArray(str(rows[0]).encode()))
        return data

    def dropMimeData(self, data, action, row, column, parent) -> bool:
        if action != Qt.DropAction.MoveAction or not data.hasFormat(ROW_MIME):
            return False
        source = int(bytes(data.data(ROW_MIME)).decode())
        if row < 0:  # dropped onto a row: take its place; below the last row: go last
            target = parent.row() if parent.isValid() else len(self._rows) - 1
        else:  # dropped between rows: `row` is the gap, counted before the source leaves
            target = row - 1 if row > source else row
        target = max(0, min(target, len(self._rows) - 1))
        if target != source:
            self.moveRequested.emit(source, target)
        return False  # the view must not remove the source row: the editor rebuilds the rows
