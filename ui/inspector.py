"""The inspector: the arithmetic behind the hovered convolution pixel.

Drawn by hand rather than as rich text in a QLabel: laying out the HTML tables took ~20 ms
for a 3x3 kernel and ~100 ms for 7x7, on every move of the pointer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget

from core.explain import ConvUnitExplanation, PixelExplanation, PoolExplanation
from core.preview import tidy
from ui.kernel_editor import weight_colors

MAX_GRID = 15  # the editor's usual sizes; larger kernels are summarised
_HINT = "Hover over a pane to see how one output pixel is computed."
_SIGN = 16  # the column left of the grids, for the x and = signs
_MARGIN = 6


@dataclass(frozen=True)
class _Grid:
    sign: str  # drawn left of the grid: "", "x" or "="
    title: str
    texts: list[list[str]]
    tint: np.ndarray | None  # products: cells coloured by sign and size
    highlight: tuple[int, int] | None = None  # the cell that won a max/min pool


def explanation_lines(exp: PixelExplanation) -> tuple[str, list[str], str]:
    """(heading, notes, sum) as plain text: what the inspector says besides its grids."""
    kh, kw = exp.weights.shape
    notes = []
    if max(kh, kw) > MAX_GRID:
        notes.append(f"{kh}x{kw} kernel: its {exp.products.size} products are too many to list.")
    elif exp.values.ndim == 3:
        notes.append("Red channel shown.")
    # Rounding noise reads as 0, as in the panes: what sums to 0 on paper says so here.
    magnitude = float(np.abs(exp.products).sum()) + abs(exp.bias)
    output = np.atleast_1d(exp.output)
    out_text = ", ".join(f"{tidy(float(v), magnitude):.4g}" for v in output)
    bias = f" + bias {exp.bias:.4g}" if exp.bias else ""
    if output.size == 1:
        total = f"sum of {exp.products.size} products{bias} = {out_text}"
    else:
        total = f"one sum per channel{bias} = {out_text}"
    return f"Convolution pixel [{exp.row}, {exp.col}]", notes, total


def pool_lines(exp: PoolExplanation, magnitude: float = 0.0) -> tuple[str, list[str], str]:
    """(heading, notes, result) as plain text for a pooled pixel's window; rounding noise
    next to the map's ``magnitude`` reads as 0, as in the panes."""
    size = exp.values.shape[0]
    notes = [
        f"its {size}x{size} window of the activated map: rows {exp.top}-{exp.top + size - 1}, "
        f"columns {exp.left}-{exp.left + size - 1}"
    ]
    if exp.values.ndim == 3:
        notes.append("Red channel shown.")
    output = ", ".join(f"{tidy(float(v), magnitude):.4g}" for v in np.atleast_1d(exp.output))
    if exp.winner is not None:
        r, c = exp.winner
        kind = "largest" if exp.mode == "max" else "smallest"
        total = f"{exp.mode} = {output}: the {kind} value wins (framed, at [{r}, {c}])"
    else:
        total = f"mean of {exp.values.shape[0] * exp.values.shape[1]} values = {output}"
    return f"{exp.mode.capitalize()} pool pixel [{exp.row}, {exp.col}]", notes, total


MAX_CHANNEL_LINES = 12  # a 32-channel sum lists the first ones, then says how many more


def conv_unit_lines(exp: ConvUnitExplanation) -> tuple[str, list[str], str]:
    """(heading, notes, total) for a network conv unit: one sum per input channel, then the
    total plus the bias."""
    kh, kw, count = exp.weights.shape
    magnitude = float(np.abs(exp.per_channel).sum()) + abs(exp.bias)
    notes = [f"{kh}x{kw} filter over {count} input channel{'s' if count > 1 else ''}:"]
    for c, value in enumerate(exp.per_channel[:MAX_CHANNEL_LINES]):
        text = f"{tidy(float(value), magnitude):.4g}"
        notes.append(f"channel {c}: sum of {kh * kw} products = {text}")
    if count > MAX_CHANNEL_LINES:
        rest = float(exp.per_channel[MAX_CHANNEL_LINES:].sum())
        notes.append(
            f"channels {MAX_CHANNEL_LINES}-{count - 1}: together {tidy(rest, magnitude):.4g}"
        )
    total = (
        f"total {tidy(float(exp.per_channel.sum()), magnitude):.4g} + bias {exp.bias:.4g}"
        f" = {tidy(exp.total, magnitude):.4g}"
    )
    heading = f"{exp.layer} map {exp.channel}, unit [{exp.row}, {exp.col}]"
    return heading, notes, total


class _Arithmetic(QWidget):
    """The heading, then input, x weights, = products as grids of numbers, then the sum:
    one column, so it fits a narrow dock and scrolls down for large kernels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lines: tuple[str, list[str], str] | None = None
        self._grids: list[_Grid] = []
        self._cell = QSize(40, 16)
        self._size = QSize(200, 60)
        self.numbers = QFont("monospace")
        self.numbers.setStyleHint(QFont.StyleHint.Monospace)
        self.numbers.setPointSizeF(max(7.0, self.font().pointSizeF() - 1))
        self.bold = QFont(self.font())
        self.bold.setBold(True)

    def set_explanation(
        self,
        exp: PixelExplanation | PoolExplanation | ConvUnitExplanation | None,
        magnitude: float = 0.0,
    ) -> None:
        self._grids = []
        if isinstance(exp, PoolExplanation):
            self._lines = pool_lines(exp, magnitude)
            values = exp.values[:, :, 0] if exp.values.ndim == 3 else exp.values
            texts = [[f"{tidy(float(v), magnitude):.3g}" for v in row] for row in values]
            self._grids.append(_Grid("", "activated values", texts, None, exp.winner))
            self._relayout()
            return
        if isinstance(exp, ConvUnitExplanation):
            self._lines = conv_unit_lines(exp)
            if exp.weights.shape[2] == 1 and max(exp.weights.shape[:2]) <= MAX_GRID:
                values, weights = exp.values[:, :, 0], exp.weights[:, :, 0]
                products = values * weights + 0.0  # no "-0" where a weight meets a zero
                for sign, title, grid, tint in (
                    ("", "input", values, None),
                    ("\u00d7", "weights", weights, None),
                    ("=", "products", products, products),
                ):
                    texts = [[f"{v:.3g}" for v in row] for row in grid]
                    self._grids.append(_Grid(sign, title, texts, tint))
            self._relayout()
            return
        self._lines = None if exp is None else explanation_lines(exp)
        if exp is not None and max(exp.weights.shape) <= MAX_GRID:
            values, products = exp.values, exp.products
            if values.ndim == 3:
                values, products = values[:, :, 0], products[:, :, 0]
            for sign, title, grid, tint in (
                ("", "input", values, None),
                ("\u00d7", "weights", exp.weights, None),
                ("=", "products", products, products),
            ):
                texts = [[f"{v:.3g}" for v in row] for row in grid]
                self._grids.append(_Grid(sign, title, texts, tint))
        self._relayout()

    def _relayout(self) -> None:
        size = self._layout_size()
        if size != self._size:
            self._size = size
            self.updateGeometry()
        self._fit_height()
        self.update()

    def _text_width(self) -> int:
        """Width the text lines wrap at: the widget's, once the scroll area has sized it."""
        return max(self.width(), self._size.width()) - 2 * _MARGIN

    def _wrapped_height(self, font: QFont, text: str) -> int:
        flags = int(Qt.TextFlag.TextWordWrap)
        return (
            QFontMetrics(font).boundingRect(0, 0, self._text_width(), 10_000, flags, text).height()
        )

    def _fit_height(self) -> None:
        # Text wraps to the dock's width, so the height follows the width: the scroll area
        # scrolls down to whatever the wrapped lines and grids need.
        height = sum(self._wrapped_height(font, text) for font, text in self._texts())
        if self._grids:
            height += len(self._grids) * self._grid_size()[1]
        height += 2 * _MARGIN
        if height != self.minimumHeight():
            self.setMinimumHeight(height)

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().resizeEvent(event)
        self._fit_height()

    def _texts(self) -> list[tuple[QFont, str]]:
        if self._lines is None:
            return [(self.font(), _HINT)]
        heading, notes, total = self._lines
        return [(self.bold, heading), *((self.font(), n) for n in notes), (self.bold, total)]

    def _layout_size(self) -> QSize:
        # Text wraps (see _fit_height), so only the grids set a minimum width.
        texts = self._texts()
        width = 160
        height = sum(QFontMetrics(font).height() for font, _ in texts)
        if self._grids:
            metrics = QFontMetrics(self.numbers)
            widest = max(
                metrics.horizontalAdvance(t) for g in self._grids for row in g.texts for t in row
            )
            self._cell = QSize(widest + 8, metrics.height() + 4)
            grid_w, grid_h = self._grid_size()
            width = max(width, _SIGN + grid_w)
            height += len(self._grids) * grid_h
        return QSize(width + 2 * _MARGIN, height + 2 * _MARGIN)

    def _grid_size(self) -> tuple[int, int]:
        rows, cols = len(self._grids[0].texts), len(self._grids[0].texts[0])
        title = QFontMetrics(self.font()).height()
        return cols * self._cell.width(), title + rows * self._cell.height() + 4

    def sizeHint(self) -> QSize:
        return self._size

    def minimumSizeHint(self) -> QSize:
        return self._size

    def paintEvent(self, _event) -> None:  # type: ignore[no-untyped-def]
        painter = QPainter(self)
        ink = self.palette().color(QPalette.ColorRole.WindowText)
        x, y = _MARGIN, _MARGIN
        texts = self._texts()
        for font, text in texts[:-1]:  # heading and notes (or the hint)
            y = self._draw_line(painter, ink, font, text, x, y)
        if self._lines is None:
            y = self._draw_line(painter, ink, *texts[-1], x, y)
            painter.end()
            return
        for grid in self._grids:
            y = self._draw_grid(painter, ink, grid, x, y)
        self._draw_line(painter, ink, *texts[-1], x, y)
        painter.end()

    def _draw_line(self, painter: QPainter, ink, font: QFont, text: str, x: int, y: int) -> int:
        """Draw ``text`` wrapped to the widget's width; returns the y below it."""
        painter.setFont(font)
        painter.setPen(ink)
        height = self._wrapped_height(font, text)
        rect = QRect(x, y, self._text_width(), height)
        painter.drawText(rect, int(Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignLeft), text)
        return y + height

    def _draw_grid(self, painter: QPainter, ink, grid: _Grid, x: int, y: int) -> int:
        _, grid_h = self._grid_size()
        top = y
        y = self._draw_line(painter, ink, self.font(), grid.title, x + _SIGN, y)
        width, height = self._cell.width(), self._cell.height()
        rows = len(grid.texts)
        if grid.sign:
            painter.setFont(self.bold)
            sign_box = QRect(x, y, _SIGN, rows * height)
            painter.drawText(sign_box, Qt.AlignmentFlag.AlignCenter, grid.sign)
        painter.setFont(self.numbers)
        scale = float(np.abs(grid.tint).max()) if grid.tint is not None else 0.0
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for r, row in enumerate(grid.texts):
            for c, text in enumerate(row):
                rect = QRect(x + _SIGN + c * width, y + r * height, width, height)
                pen = ink
                if grid.tint is not None:  # products: blue pulls the sum down, red pushes up
                    background, pen = weight_colors(float(grid.tint[r, c]), scale)
                    painter.fillRect(rect.adjusted(0, 0, -1, -1), background)
                painter.setPen(pen)
                painter.drawText(rect.adjusted(0, 0, -4, 0), right, text)
                if grid.highlight == (r, c):  # the pooled value's winner
                    painter.setPen(QPen(ink, 2))
                    painter.drawRect(rect.adjusted(1, 1, -2, -2))
        return top + grid_h


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
        heading, notes, total = explanation_lines(exp)
        self._text = "\n".join([heading, *notes, total])
        self._arithmetic.set_explanation(exp)

    def show_pool(self, exp: PoolExplanation, magnitude: float = 0.0) -> None:
        """The pooling window behind a pooled pixel: its values and which one won
        (``magnitude``: the pooled map's, below which rounding noise reads as 0)."""
        heading, notes, total = pool_lines(exp, magnitude)
        self._text = "\n".join([heading, *notes, total])
        self._arithmetic.set_explanation(exp, magnitude)

    def show_conv_unit(self, exp: ConvUnitExplanation) -> None:
        """The sum behind a network conv unit: per input channel, then the total + bias."""
        heading, notes, total = conv_unit_lines(exp)
        self._text = "\n".join([heading, *notes, total])
        self._arithmetic.set_explanation(exp)

    def text(self) -> str:
        """What the inspector says, as plain text (the grids aside)."""
        return self._text
