"""The Train view's displays: loss and accuracy curves, image panels (filters, maps), the
confusion matrix with its counts and the gallery of misclassified test digits.

They only set what the worker drew; none computes anything heavier than a ``setData``.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import QLabel, QListView, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from core.nn.history import TrainingHistory

BACKGROUND = QColor(30, 32, 38)
TEXT = "#e8e8e8"
NOTE = "#a8a8a8"
_LOSS = (255, 170, 60)
_TRAIN_ACC = (90, 170, 255)
_TEST_ACC = (80, 220, 120)


def _faint(rgb: tuple[int, int, int]) -> tuple[int, int, int, int]:
    return (*rgb, 70)


def title_html(title: str, note: str = "") -> str:
    note_html = f"<span style='color:{NOTE}'>&nbsp;&nbsp;{note}</span>" if note else ""
    return f"<span style='color:{TEXT}; font-weight:bold'>{title}</span>{note_html}"


class CurvesWidget(pg.GraphicsLayoutWidget):
    """Loss (left) and accuracy (right) against examples seen: each batch faintly, a
    trailing mean boldly, and the test accuracy after each epoch as dots."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.loss_plot = self.addPlot(title=title_html("Loss", "cross-entropy per batch"))
        self.accuracy_plot = self.addPlot(title=title_html("Accuracy"))
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.setLabel("bottom", "examples seen")
            plot.setMenuEnabled(False)
        self.accuracy_plot.setYRange(0, 1, padding=0.02)
        self.accuracy_plot.addLegend(offset=(-10, -10), labelTextColor=TEXT)
        self.loss_raw = self.loss_plot.plot(pen=pg.mkPen(_faint(_LOSS), width=1))
        self.loss_smooth = self.loss_plot.plot(pen=pg.mkPen(_LOSS, width=2))
        self.accuracy_raw = self.accuracy_plot.plot(pen=pg.mkPen(_faint(_TRAIN_ACC), width=1))
        self.accuracy_smooth = self.accuracy_plot.plot(
            pen=pg.mkPen(_TRAIN_ACC, width=2), name="training batches"
        )
        self.test_points = self.accuracy_plot.plot(
            pen=pg.mkPen(_TEST_ACC, width=2),
            symbol="o",
            symbolSize=8,
            symbolBrush=_TEST_ACC,
            name="test (after each epoch)",
        )

    def show_history(self, history: TrainingHistory) -> None:
        loss, accuracy = history.loss, history.accuracy
        self.loss_raw.setData(*history.for_plot(loss))
        self.loss_smooth.setData(*history.for_plot(history.smoothed(loss)))
        self.accuracy_raw.setData(*history.for_plot(accuracy))
        self.accuracy_smooth.setData(*history.for_plot(history.smoothed(accuracy)))
        self.test_points.setData(
            np.asarray(history.test_examples, float), np.asarray(history.test_accuracy, float)
        )
        if history.test_accuracy:
            self.accuracy_plot.setTitle(
                title_html("Accuracy", f"test {history.test_accuracy[-1]:.1%}")
            )
        else:
            self.accuracy_plot.setTitle(title_html("Accuracy"))


class ImagePanel(pg.GraphicsLayoutWidget):
    """A titled RGB image, aspect kept, with a note under it."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.title = self.addLabel(title_html(title), row=0, col=0)
        self.box = self.addViewBox(row=1, col=0, lockAspect=True, invertY=True, enableMenu=False)
        self.box.setMouseEnabled(False, False)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.box.addItem(self.item)
        self.note = self.addLabel("", row=2, col=0)
        self._title = title
        self.image: np.ndarray | None = None

    def set_image(self, rgb: np.ndarray | None, note: str = "", title_note: str = "") -> None:
        self.image = rgb
        if rgb is None:
            self.item.clear()
        else:
            shape = None if self.item.image is None else self.item.image.shape
            self.item.setImage(rgb, levels=(0, 255), autoLevels=False)
            if shape != rgb.shape:
                self.box.setRange(QRectF(0, 0, rgb.shape[1], rgb.shape[0]), padding=0.02)
        self.title.setText(title_html(self._title, title_note))
        self.note.setText(f"<span style='color:{NOTE}; font-size:8pt'>{note}</span>")


class ConfusionView(pg.GraphicsLayoutWidget):
    """The confusion matrix as coloured cells with the count written in each."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.plot = self.addPlot(title=title_html("Confusion matrix", "after the last epoch"))
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.plot.setLabel("bottom", "predicted digit")
        self.plot.setLabel("left", "true digit")
        ticks = [[(i + 0.5, str(i)) for i in range(10)]]
        for side in ("bottom", "left"):
            self.plot.getAxis(side).setTicks(ticks)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.item)
        self.plot.setRange(QRectF(0, 0, 10, 10), padding=0.01)
        self.confusion: np.ndarray | None = None

    def show_confusion(self, confusion: np.ndarray | None, rgb: np.ndarray | None) -> None:
        """``rgb`` is :func:`core.nn.train_views.confusion_picture` of ``confusion``."""
        self.confusion = confusion
        if confusion is None or rgb is None:
            self.item.clear()
            return
        self.item.setImage(rgb, levels=(0, 255), autoLevels=False)
        self.item.setRect(QRectF(0, 0, 10, 10))


def digit_icon(image: np.ndarray, scale: int = 2) -> QIcon:
    """A 28x28 uint8 digit (ink bright) as a dark-on-light icon, ``scale`` times enlarged."""
    ink = np.ascontiguousarray(255 - image)
    qimage = QImage(ink.data, ink.shape[1], ink.shape[0], ink.strides[0], QImage.Format_Grayscale8)
    pixmap = QPixmap.fromImage(qimage.copy()).scaled(
        ink.shape[1] * scale, ink.shape[0] * scale, Qt.IgnoreAspectRatio, Qt.FastTransformation
    )
    return QIcon(pixmap)


class MisclassifiedGallery(QWidget):
    """The test digits the network got wrong, "true -> predicted" under each; a click emits
    ``exampleClicked(test_index)``."""

    exampleClicked = Signal(int)
    LIMIT = 120  # icons shown (the first ones in test order); the title says how many in all

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.title.setStyleSheet(f"QLabel {{ background:{BACKGROUND.name()}; padding:3px; }}")
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(QSize(56, 56))
        self.list.setGridSize(QSize(70, 78))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setUniformItemSizes(True)
        self.list.setStyleSheet(f"QListWidget {{ background:{BACKGROUND.name()}; color:{TEXT}; }}")
        self.list.itemClicked.connect(self._on_item_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)
        self.show_examples(None, None, None)

    def show_examples(self, images, labels, evaluation) -> None:
        """``evaluation.misclassified`` of the test set (``images``, ``labels``), or nothing."""
        self.list.clear()
        if evaluation is None:
            self.title.setText(title_html("Misclassified test digits", "after the first epoch"))
            return
        wrong = evaluation.misclassified
        self.title.setText(
            title_html(
                "Misclassified test digits",
                f"{len(wrong)} of {len(labels)}"
                + (f" (first {self.LIMIT} shown)" if len(wrong) > self.LIMIT else "")
                + " · click one to ask the model why",
            )
        )
        for index in wrong[: self.LIMIT]:
            index = int(index)
            true, predicted = int(labels[index]), int(evaluation.predictions[index])
            item = QListWidgetItem(digit_icon(images[index]), f"{true} → {predicted}")
            item.setData(Qt.ItemDataRole.UserRole, index)
            item.setToolTip(f"test image {index}: a {true}, taken for a {predicted}")
            self.list.addItem(item)

    def _on_item_clicked(self, item: QListWidgetItem) -> None:
        self.exampleClicked.emit(int(item.data(Qt.ItemDataRole.UserRole)))


__all__ = ["ConfusionView", "CurvesWidget", "ImagePanel", "MisclassifiedGallery", "digit_icon"]
