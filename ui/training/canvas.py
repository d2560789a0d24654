"""A square canvas to draw a digit on with the mouse or a pen: thick antialiased round strokes,
undo of the last stroke, clear; optionally over a picture (an opened image, a test digit).

A pen works through the mouse events Qt makes from tablet events it is not given.
"""

from __future__ import annotations

import itertools

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

SIDE = 280  # the drawing's pixels: 10x MNIST's 28, so a stroke is about as thick as theirs
PEN_WIDTH = 22.0
_PAPER = QColor(255, 255, 255)
_INK = QColor(0, 0, 0)
_FRAME = QColor(120, 124, 136)


class DrawingCanvas(QWidget):
    """Draw with the left button; ``changed`` is emitted on every point added and on undo,
    clear and a new picture.

    ``strokes`` holds each stroke's points in drawing coordinates (0..SIDE); :meth:`to_array`
    gives the drawing as (SIDE, SIDE) uint8, dark ink on white.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, False)
        self.strokes: list[list[QPointF]] = []
        self._background = self._blank()
        self._image = self._blank()
        self._drawing = False

    @staticmethod
    def _blank() -> QImage:
        image = QImage(SIDE, SIDE, QImage.Format.Format_Grayscale8)
        image.fill(_PAPER)
        return image

    def sizeHint(self) -> QSize:
        return QSize(SIDE + 20, SIDE + 20)

    # -- content ---------------------------------------------------------------------------

    def clear(self) -> None:
        """No strokes, white paper."""
        self.strokes = []
        self._background = self._blank()
        self._render()

    def undo(self) -> bool:
        """Remove the last stroke; False if there was none."""
        if not self.strokes:
            return False
        self.strokes.pop()
        self._render()
        return True

    def set_picture(self, gray: np.ndarray) -> None:
        """Draw from now on over ``gray`` (uint8 (H, W), shown dark ink on light paper),
        fitted into the square; the strokes are cleared."""
        gray = np.ascontiguousarray(gray, dtype=np.uint8)
        h, w = gray.shape
        picture = QImage(gray.data, w, h, gray.strides[0], QImage.Format.Format_Grayscale8).copy()
        background = self._blank()
        painter = QPainter(background)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        scale = SIDE / max(h, w)
        target = QRectF((SIDE - w * scale) / 2, (SIDE - h * scale) / 2, w * scale, h * scale)
        painter.drawImage(target, picture)
        painter.end()
        self.strokes = []
        self._background = background
        self._render()

    def to_array(self) -> np.ndarray:
        """The drawing (picture and strokes) as (SIDE, SIDE) uint8, dark ink on white."""
        image = self._image
        view = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
        return view.reshape(SIDE, image.bytesPerLine())[:, :SIDE].copy()

    # -- drawing ---------------------------------------------------------------------------

    def _pen(self) -> QPen:
        pen = QPen(_INK, PEN_WIDTH, Qt.PenStyle.SolidLine)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        return pen

    def _paint_stroke(self, painter: QPainter, points: list[QPointF]) -> None:
        if len(points) == 1:
            painter.drawPoint(points[0])
        else:
            for a, b in itertools.pairwise(points):
                painter.drawLine(a, b)

    def _render(self) -> None:
        """Redraw the whole drawing (after undo, clear, a new picture)."""
        self._image = self._background.copy()
        painter = QPainter(self._image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(self._pen())
        for stroke in self.strokes:
            self._paint_stroke(painter, stroke)
        painter.end()
        self.update()
        self.changed.emit()

    def _add_point(self, point: QPointF) -> None:
        stroke = self.strokes[-1]
        stroke.append(point)
        painter = QPainter(self._image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(self._pen())
        self._paint_stroke(painter, stroke[-2:])
        painter.end()
        self.update()
        self.changed.emit()

    def _square(self) -> QRectF:
        side = min(self.width(), self.height()) - 2
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def _to_drawing(self, pos: QPointF) -> QPointF:
        square = self._square()
        scale = SIDE / square.width()
        return QPointF((pos.x() - square.left()) * scale, (pos.y() - square.top()) * scale)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        self._drawing = True
        self.strokes.append([])
        self._add_point(self._to_drawing(event.position()))
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not self._drawing:
            return super().mouseMoveEvent(event)
        self._add_point(self._to_drawing(event.position()))
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._drawing:
            self._drawing = False
            event.accept()
            return None
        return super().mouseReleaseEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        square = self._square()
        painter.drawImage(square, self._image)
        painter.setPen(QPen(_FRAME, 1))
        painter.drawRect(square.adjusted(-0.5, -0.5, 0.5, 0.5))
        painter.end()


__all__ = ["PEN_WIDTH", "SIDE", "DrawingCanvas"]
