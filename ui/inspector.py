"""The inspector: the arithmetic behind the hovered convolution pixel.

Drawn by hand rather than as rich text in a QLabel: laying out the HTML tables took ~20 ms
for a 3x3 kernel and ~100 ms for 7x7, on every move of the pointer.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget

from core.explain import PixelExplanation
from ui.kernel_editor import weight_colors

MAX_GRID = 15  # the editor's usual sizes; larger kernels are summarised
_HINT = "Hover over a pane to see how one output pixel is computed."
_GAP = 14  # between the grids, room for the x and = signs
_MARGIN = 6


def _cell_text(value: float) -> str:
    return f"{value:.3g}"


def explanation_lines(exp: PixelExplanation) -> tuple[str, str, str]:
    """(heading, note, sum) as plain text: what the inspector says besides its three grids."""
    note = " (red channel shown)" if exp.values.ndim == 3 else ""
    output = np.atleast_1d(exp.output)
    out_text = ", ".join(f"{v:.4g}" for v in output)
    bias = f" + bias {exp.bias:.4g}" if exp.bias else ""
    if output.size == 1:
        total = f"sum of {exp.products.size} products{bias} = {out_text}"
    else:
        total = f"one sum per channel{bias} = {out_text}"
    kh, kw = exp.weights.shape
    if max(kh, kw) > MAX_GRID:
        note += f"  ({kh}x{kw} kernel: too many products to list)"
    return f"Convolution pixel [{exp.row}, {exp.col}]", note, total


class _Arithmetic(QWidget):
    """input x weights = products, as three grids of numbers, and the sum below them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._exp: PixelExplanation | None = None
        self._grids: list[tuple[str, list[list[str]], np.ndarray | None]] = []
        self._cell = QSize(40, 16)
        self._size = QSize(200, 60)
        self.numbers = QFont("monospace")
        self.numbers.setStyleHint(QFont.StyleHint.Monospace)
        self.numbers.setPointSizeF(max(7.0, self.font().pointSizeF() - 1))
        self.bold = QFont(self.font())
        self.bold.setBold(True)

    def set_explanation(self, exp: PixelExplanation | None) -> None:
        self._exp = exp
        self._grids = []
        if exp is not None and max(exp.weights.shape) <= MAX_GRID:
            values, products = exp.values, exp.products
            if values.ndim == 3:
                values, products = values[:, :, 0], products[:, :, 0]
            for title, grid, tint in (
                ("input", values, None),
                ("weights", exp.weights, None),
                ("products", products, products),
            ):
                self._grids.append((title, [[_cell_text(v) for v in row] for row in grid], tint))
        size = self._layout_size()
        if size != self._size:
            self._size = size
            self.updateGeometry()
        self.update()

    def _layout_size(self) -> QSize:
        line = QFontMetrics(self.bold).height()
        if not self._grids:
            return QSize(200, 3 * line + 2 * _MARGIN)
        metrics = QFontMetrics(self.numbers)
        widest = max(metrics.horizontalAdvance(t) for _, g, _ in self._grids for r in g for t in r)
        self._cell = QSize(widest + 8, metrics.height() + 4)
        grid_w, grid_h = self._grid_size()
        width = 2 * _MARGIN + _GAP + 2 * grid_w + _GAP
        height = 2 * _MARGIN + 2 * line + 2 * grid_h + _GAP
        return QSize(width, height)

    def _grid_size(self) -> tuple[int, int]:
        rows, cols = len(self._grids[0][1]), len(self._grids[0][1][0])
        line = QFontMetrics(self.bold).height()
        return cols * self._cell.width(), line + rows * self._cell.height()

    def sizeHint(self) -> QSize:
        return self._size

    def minimumSizeHint(self) -> QSize:
        return self._size

    def paintEvent(self, _event) -> None:  # type: ignore[no-untyped-def]
        painter = QPainter(self)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        bold = QFontMetrics(self.bold)
        x, y = _MARGIN, _MARGIN
        if self._exp is None:
            area = QRect(x, y, self.width() - 2 * x, self.height() - 2 * y)
            painter.drawText(area, Qt.TextFlag.TextWordWrap, _HINT)
            return
        heading, note, total = explanation_lines(self._exp)
        painter.setFont(self.bold)
        painter.drawText(x, y + bold.ascent(), heading)
        painter.setFont(self.font())
        painter.drawText(x + bold.horizontalAdvance(heading), y + bold.ascent(), note)
        y += bold.height()
        if self._grids:
            # input x weights
            # = products
            grid_w, grid_h = self._grid_size()
            left, below = x + _GAP, y + grid_h + _GAP
            places = ((left, y), (left + grid_w + _GAP, y), (left, below))
            for (title, grid, tint), (gx, gy) in zip(self._grids, places, strict=True):
                self._draw_grid(painter, gx, gy, title, grid, tint)
            painter.setFont(self.bold)
            painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
            centre = Qt.AlignmentFlag.AlignCenter
            body = grid_h - bold.height()
            painter.drawText(QRect(left + grid_w, y + bold.height(), _GAP, body), centre, "\u00d7")
            painter.drawText(QRect(x, below + bold.height(), _GAP, body), centre, "=")
            y = below + grid_h + _GAP // 2
        painter.setFont(self.bold)
        painter.drawText(x, y + bold.ascent(), total)
        painter.end()

    def _draw_grid(self, painter: QPainter, x: int, y: int, title: str, grid, tint) -> None:
        cell = self._cell
        text_colour = self.palette().color(QPalette.ColorRole.WindowText)
        painter.setFont(self.font())
        painter.setPen(text_colour)
        painter.drawText(x, y + QFontMetrics(self.font()).ascent(), title)
        y += QFontMetrics(self.bold).height()
        painter.setFont(self.numbers)
        scale = float(np.abs(tint).max()) if tint is not None else 0.0
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for r, row in enumerate(grid):
            for c, text in enumerate(row):
                rect = QRect(
                    x + c * cell.width(), y + r * cell.height(), cell.width(), cell.height()
                )
                pen = text_colour
                if tint is not None:  # products: blue pulls the sum down, red pushes it up
                    background, pen = weight_colors(float(tint[r, c]), scale)
                    painter.fillRect(rect.adjusted(0, 0, -1, -1), background)
                painter.setPen(pen)
                painter.drawText(rect.adjusted(0, 0, -4, 0), right, text)


class Inspector(QWidget):
    """Shows, for the hovered convolution pixel, the lecture's sum of multiplications."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._arithmetic = _Arithmetic()
        self._arithmetic.setToolTip(
            "Each output pixel is the sum of the input values under the kernel, each multiplied "
            "by its weight, plus the bias. Hover over any pane to see it."
        )
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._arithmetic)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self._text = _HINT

    def clear(self) -> None:
        self._text = _HINT
        self._arithmetic.set_explanation(None)

    def show_explanation(self, exp: PixelExplanation) -> None:
        heading, note, total = explanation_lines(exp)
        self._text = f"{heading}{note}\n{total}"
        self._arithmetic.set_explanation(exp)

    def text(self) -> str:
        """What the inspector says, as plain text (the grids aside)."""
        return self._text
