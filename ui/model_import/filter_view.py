"""The picture of a layer's filters in the import dialog, and its colour bar.

The thumbnails are drawn by ``core.network.filter_thumbnails`` (in the reading thread); these
widgets only scale the image by a whole factor (every weight stays a sharp square), write
the column headings over it and turn the mouse position into a readout.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPalette, QResizeEvent
from PySide6.QtWidgets import QScrollArea, QSizePolicy, QWidget

from core.display import colormap_lut
from core.network.filter_thumbnails import FilterThumbnails

# The largest whole-number enlargement: past it a 4-filter bank becomes a wall of colour.
_MAX_SCALE = 6
_MARGIN = 6
_HEADING = 18  # room above the cells for "RGB R G B" / channel numbers
ERROR_COLOUR = "#b3261e"
_CHANNEL_NAMES = ("R", "G", "B")
_SWATCH = ("#d62718", "#1f9a2e", "#1f5fd6")  # red, green, blue readable on light and dark


def to_qimage(pixels: np.ndarray) -> QImage:
    """A QImage owning a copy of an (H, W, 3) RGB or (H, W, 4) RGBA uint8 array."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w, depth = pixels.shape
    fmt = QImage.Format.Format_RGBA8888 if depth == 4 else QImage.Format.Format_RGB888
    return QImage(pixels.data, w, h, depth * w, fmt).copy()


class _Canvas(QWidget):
    hovered = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.thumbnails: FilterThumbnails | None = None
        self.image: QImage | None = None
        self.weights = None  # the layer's (out, in, kh, kw) weights, for the readout
        self.message = ""  # shown instead of a picture ("Reading…", or why there is none)
        self.message_is_error = False
        self.scale = 1

    def _headings(self) -> bool:
        return self.thumbnails is not None and self.thumbnails.layout.cells_per_block > 1

    def origin(self) -> QPoint:
        return QPoint(_MARGIN, _MARGIN + (_HEADING if self._headings() else 0))

    def natural_size(self, scale: int) -> QSize:
        if self.image is None:
            return QSize(0, 0)
        origin = self.origin()
        return QSize(
            origin.x() + self.image.width() * scale + _MARGIN,
            origin.y() + self.image.height() * scale + _MARGIN,
        )

    def paintEvent(self, event) -> None:
        if self.image is None or self.thumbnails is None:
            if self.message:
                self._draw_message()
            return
        painter = QPainter(self)
        origin = self.origin()
        size = self.image.size() * self.scale
        target = QRect(origin.x(), origin.y(), size.width(), size.height())
        painter.drawImage(target, self.image)  # no smoothing: each weight a sharp square
        if self._headings():
            self._draw_headings(painter, origin)
        painter.end()

    def _draw_message(self) -> None:
        painter = QPainter(self)
        colour = (
            QColor(ERROR_COLOUR)
            if self.message_is_error
            else self.palette().color(QPalette.ColorRole.WindowText)
        )
        painter.setPen(colour)
        box = self.rect().adjusted(24, 24, -24, -24)
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        painter.drawText(box, flags, self.message)
        painter.end()

    def _draw_headings(self, painter: QPainter, origin: QPoint) -> None:
        """Above each block column: a red-green-blue swatch over the colour cells, then the
        channel names (R, G, B) or numbers, where the cells are wide enough for them."""
        layout = self.thumbnails.layout
        names = [_CHANNEL_NAMES[i] if layout.colour else str(i) for i in range(layout.channels)]
        cell_width = layout.cell_size[1] * self.scale
        metrics = painter.fontMetrics()
        # Name every step-th channel, so that numbers never run into each other (0 4 8 12).
        widest = max(metrics.horizontalAdvance(name) for name in names) + 4
        step = max(1, math.ceil(widest / (cell_width + 1)))
        text = self.palette().color(QPalette.ColorRole.WindowText)
        painter.setPen(text)
        for column in range(min(layout.block_columns, layout.filters)):
            for cell in range(layout.cells_per_block):
                x, _, _, _ = layout.cell_rect(column, cell)
                rect = QRect(origin.x() + x * self.scale, _MARGIN, cell_width, _HEADING - 4)
                if layout.colour and cell == 0:
                    self._draw_swatch(painter, rect)
                    painter.setPen(text)
                    continue
                channel = cell - int(layout.colour)
                if channel % step == 0:
                    # Centred on the cell, spilling over the unnamed neighbours if need be.
                    wide = rect.adjusted(-widest, 0, widest, 0)
                    painter.drawText(wide, Qt.AlignmentFlag.AlignCenter, names[channel])

    @staticmethod
    def _draw_swatch(painter: QPainter, rect: QRect) -> None:
        """ "RGB" in red, green and blue where it fits, else three small coloured squares."""
        metrics = painter.fontMetrics()
        advances = [metrics.horizontalAdvance(letter) for letter in "RGB"]
        if sum(advances) <= rect.width():
            x = rect.center().x() - sum(advances) // 2
            for letter, advance, colour in zip("RGB", advances, _SWATCH, strict=True):
                painter.setPen(QColor(colour))
                painter.drawText(
                    QRect(x, rect.top(), advance, rect.height()),
                    Qt.AlignmentFlag.AlignCenter,
                    letter,
                )
                x += advance
            return
        band = max(3, min(rect.width(), 24) // 3)
        left = rect.center().x() - (3 * band) // 2
        top = rect.center().y() - band // 2
        for i, colour in enumerate(_SWATCH):
            painter.fillRect(QRect(left + i * band, top, band, band), QColor(colour))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self.hovered.emit(self.readout(event.position().x(), event.position().y()))

    def leaveEvent(self, event) -> None:
        self.hovered.emit("")

    def readout(self, x: float, y: float) -> str:
        """What lies under widget point (x, y): filter, input channel and weight."""
        if self.thumbnails is None:
            return ""
        origin = self.origin()
        where = self.thumbnails.layout.locate(
            (x - origin.x()) / self.scale, (y - origin.y()) / self.scale
        )
        if where is None:
            return ""
        filter_index, channel, row, col = where
        if channel is None:
            return f"filter {filter_index}: colour of input channels 0, 1, 2 as R, G, B"
        value = self.weights[filter_index, channel, row, col]
        name = str(channel)
        if self.thumbnails.layout.colour:
            name += f" ({_CHANNEL_NAMES[channel]})"
        return f"filter {filter_index}, input channel {name}, weight [{row}, {col}] = {value:.4g}"


class FilterBankView(QScrollArea):
    """A layer's filter thumbnails, enlarged by the largest whole factor that fits.

    ``hovered(str)`` says what the mouse is over (empty when nothing); ``resized`` that the
    room changed, so the owner can have the thumbnails drawn again to fit it.
    """

    hovered = Signal(str)
    resized = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(False)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(360, 300)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.canvas = _Canvas()
        self.canvas.hovered.connect(self.hovered)
        self.setWidget(self.canvas)

    def room(self) -> tuple[int, int]:
        """(width, height) the thumbnail image may take without scrolling."""
        size = self.viewport().size()
        return (
            max(1, size.width() - 2 * _MARGIN),
            max(1, size.height() - 2 * _MARGIN - _HEADING),
        )

    @property
    def thumbnails(self) -> FilterThumbnails | None:
        return self.canvas.thumbnails

    @property
    def message(self) -> str:
        """What the view says instead of a picture ("" when it shows one)."""
        return "" if self.canvas.image is not None else self.canvas.message

    @property
    def scale(self) -> int:
        return self.canvas.scale

    def show_thumbnails(
        self, thumbnails: FilterThumbnails | None, weights=None, message: str = "", error=False
    ) -> None:
        """Show ``thumbnails`` (of ``weights``, for the readout), or else ``message`` (in
        red if ``error``)."""
        self.canvas.message, self.canvas.message_is_error = message, error
        self.canvas.thumbnails = thumbnails
        self.canvas.weights = weights
        self.canvas.image = None if thumbnails is None else to_qimage(thumbnails.rgba)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()
        self.resized.emit()

    def _fit(self) -> None:
        canvas = self.canvas
        room = self.viewport().size()
        if canvas.image is None:
            canvas.resize(room)  # the message is centred in the view
            canvas.update()
            return
        scale = _MAX_SCALE
        while scale > 1:
            size = canvas.natural_size(scale)
            if size.width() <= room.width() and size.height() <= room.height():
                break
            scale -= 1
        canvas.scale = scale
        canvas.resize(canvas.natural_size(scale))
        canvas.update()


class ColourBar(QWidget):
    """The colour scale of the thumbnails: the colormap from -m to m, labelled."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.levels: tuple[float, float] | None = None
        self.colormap = "RdBu_r"
        self.setMinimumHeight(38)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_scale(self, levels: tuple[float, float] | None, colormap: str) -> None:
        self.levels, self.colormap = levels, colormap
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(300, 38)

    def paintEvent(self, event) -> None:
        if self.levels is None:
            return
        painter = QPainter(self)
        metrics = painter.fontMetrics()
        bar = QRect(_MARGIN, 2, self.width() - 2 * _MARGIN, 14)
        strip = to_qimage(colormap_lut(self.colormap)[None, :, :])
        painter.drawImage(bar, strip)
        painter.setPen(QColor(110, 110, 110))
        painter.drawRect(bar.adjusted(0, 0, -1, -1))
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        low, high = self.levels
        text_top = bar.bottom() + 3
        height = metrics.height()
        align = Qt.AlignmentFlag
        painter.drawText(
            QRect(bar.left(), text_top, bar.width(), height), align.AlignLeft, f"{low:+.3g}"
        )
        painter.drawText(QRect(bar.left(), text_top, bar.width(), height), align.AlignHCenter, "0")
        painter.drawText(
            QRect(bar.left(), text_top, bar.width(), height), align.AlignRight, f"{high:+.3g}"
        )
        painter.end()
