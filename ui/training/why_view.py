"""Ask the model why: draw a digit (or open a picture, or take a test digit) and see what the
network sees, how sure it is of each digit, every layer's maps, and which pixels decided
(saliency and Grad-CAM laid over the input).

Everything updates as the user draws, at most every :data:`THROTTLE_MS`: one ``ask_why``
(about 1.5 ms for the default network) and the grids of its maps (about 1 ms) are done right
here in the GUI thread, which is cheaper than a round trip to a worker.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.images import IMAGE_EXTENSIONS, load_image
from core.network import ActivationLayer, FlattenLayer, Network, NetworkError
from core.network.views import layer_grid
from core.nn.data import Dataset, load_bundled
from core.nn.digits import preprocess_digit
from core.nn.model import Model
from core.nn.train_views import heat_overlay
from core.nn.why import Why, ask_why
from ui.network.network_view import NetworkView
from ui.training.canvas import DrawingCanvas
from ui.training.plots import BACKGROUND, NOTE, TEXT, ImagePanel

THROTTLE_MS = 30
_BAR = (90, 170, 255)
_BAR_TOP = (255, 170, 60)


def _gray_rgb(digit: np.ndarray) -> np.ndarray:
    gray = (np.clip(digit, 0, 1) * 255 + 0.5).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))


def _redundant(layer) -> bool:
    """A flatten layer's vector is the map before it in another order, and the final
    softmax is the bars: neither adds a picture."""
    return isinstance(layer, FlattenLayer) or (
        isinstance(layer, ActivationLayer) and layer.function == "softmax"
    )


class ProbabilityBars(pg.PlotWidget):
    """The ten class probabilities as bars, the predicted digit's in orange."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.setYRange(0, 1, padding=0.02)
        self.setXRange(-0.6, 9.6, padding=0)
        self.getAxis("bottom").setTicks([[(i, str(i)) for i in range(10)]])
        self.setLabel("left", "probability")
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7)
        self.addItem(self.bars)
        self.values = np.zeros(10, np.float32)

    def set_probabilities(self, probabilities: np.ndarray | None) -> None:
        values = np.zeros(10) if probabilities is None else np.asarray(probabilities, float)
        self.values = values
        brushes = [pg.mkBrush(*_BAR) for _ in values]
        if probabilities is not None:
            brushes[int(values.argmax())] = pg.mkBrush(*_BAR_TOP)
        self.bars.setOpts(x=np.arange(len(values)), height=values, brushes=brushes)


class DigitCanvasView(QWidget):
    """The ask-why view, usable on its own.

    ``set_network(network)`` gives it the model (a digit classifier: a network ending in 10
    scores); ``set_examples(dataset)`` the digits "Test example" takes (default: the bundled
    MNIST test images). ``why`` is the newest explanation (None without a model or ink);
    ``whyChanged(why)`` is emitted when it changes.
    """

    whyChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model: Model | None = None
        self._examples: Dataset | None = None
        self._next_example = 0
        # What the canvas shows besides strokes: a test digit (sent to the model as it is,
        # unless drawn over) or an opened picture.
        self._example: tuple[np.ndarray, int | None, int | None] | None = None  # image, label, i
        self._picture: np.ndarray | None = None
        self.why: Why | None = None
        self.digit: np.ndarray | None = None  # the 28x28 last sent to the network
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(THROTTLE_MS)
        self._timer.timeout.connect(self.refresh)
        self._build()

    def _build(self) -> None:
        self.canvas = DrawingCanvas()
        self.canvas.changed.connect(self._on_canvas_changed)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Wipe the canvas")
        self.clear_button.clicked.connect(self.clear)
        self.undo_button = QPushButton("Undo stroke")
        self.undo_button.setShortcut("Ctrl+Z")
        self.undo_button.clicked.connect(self.canvas.undo)
        self.open_button = QPushButton("Open image…")
        self.open_button.setToolTip("Ask about a photo or scan of a digit")
        self.open_button.clicked.connect(self._on_open_clicked)
        self.example_button = QPushButton("Test example")
        self.example_button.setToolTip("Take the next digit of the test set")
        self.example_button.clicked.connect(lambda checked=False: self.show_test_example())
        buttons = QHBoxLayout()
        for button in (self.clear_button, self.undo_button, self.open_button, self.example_button):
            buttons.addWidget(button)
        self.source_label = QLabel("Draw a digit with the mouse or a pen.")
        self.source_label.setWordWrap(True)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.canvas, 1)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.source_label)

        self.seen = ImagePanel("What the network sees")
        self.saliency = ImagePanel("Saliency")
        self.gradcam = ImagePanel("Grad-CAM")
        self.bars = ProbabilityBars()
        self.answer = QLabel()
        self.answer.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.answer.setStyleSheet(
            f"font-size: 15pt; color: {TEXT}; background: {BACKGROUND.name()}"
        )
        pictures = QHBoxLayout()
        for panel in (self.seen, self.saliency, self.gradcam):
            panel.setMinimumSize(150, 170)
            pictures.addWidget(panel)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(pictures, 3)
        right_layout.addWidget(self.answer)
        right_layout.addWidget(self.bars, 2)
        self.bars.setMinimumHeight(120)

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(left)
        top.addWidget(right)
        top.setStretchFactor(0, 2)
        top.setStretchFactor(1, 3)
        self.maps = NetworkView()
        self.maps.graphics.setBackground(QColor(BACKGROUND))
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.maps)
        splitter.setSizes([420, 520])  # the maps need height: a column per layer
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)
        self._show(None)

    # -- public API --------------------------------------------------------------------------

    def set_network(self, network: Network | None) -> None:
        """The model to ask (None: none yet). Raises NetworkError for a network that is no
        digit classifier."""
        if network is None:
            self._model = None
        else:
            model = Model(network)
            probe, _, _ = model.forward(np.zeros((1, 28, 28, 1), np.float32))
            if probe.shape != (1, 10):
                raise NetworkError("the network must end in 10 class scores to be asked why")
            self._model = model
        self._schedule()

    def set_examples(self, examples: Dataset | None) -> None:
        """The digits "Test example" takes, in order (None: the bundled MNIST test images)."""
        self._examples = examples
        self._next_example = 0

    def show_test_example(self, index: int | None = None) -> None:
        """Show test digit ``index`` (default: the next one)."""
        examples = self._examples if self._examples is not None else load_bundled()[1]
        if index is None:
            index = self._next_example
        index %= len(examples)
        self._next_example = index + 1
        self.show_digit(examples.images[index], int(examples.labels[index]), index)

    def show_digit(self, image: np.ndarray, label: int | None = None, index=None) -> None:
        """A ready 28x28 digit (uint8, ink bright, as MNIST): sent to the model as it is."""
        image = np.asarray(image)
        self._picture = None
        self._example = (image, label, index)
        self.canvas.set_picture(255 - image.astype(np.uint8))
        self.refresh()

    def open_image(self, path: str | Path) -> bool:
        """Ask about a picture file (dark on light or light on dark; preprocessed as MNIST).
        Returns False, with the reason shown, if it cannot be read."""
        try:
            picture = load_image(path)
        except ValueError as exc:
            self.source_label.setText(f"<span style='color:#ff8080'>{exc}</span>")
            return False
        gray = picture if picture.ndim == 2 else picture @ np.float32([0.299, 0.587, 0.114])
        self._example = None
        self._picture = picture
        shown = (gray * 255 + 0.5).astype(np.uint8)
        if np.median(np.concatenate([gray[0], gray[-1]])) < 0.5:
            shown = 255 - shown  # light on dark: show it dark on light like the pen's ink
        self.canvas.set_picture(shown)
        self.source_label.setText(f"Picture: {Path(path).name} (draw over it to change it)")
        self.refresh()
        return True

    def clear(self) -> None:
        self._example = None
        self._picture = None
        self.canvas.clear()

    # -- computing -------------------------------------------------------------------------

    def _on_canvas_changed(self) -> None:
        if self.canvas.strokes and self._example is not None:
            self._example = None  # drawn over: the canvas is the input now
        if self.canvas.strokes and self._picture is not None:
            self._picture = None
        self._schedule()

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _input(self) -> np.ndarray:
        """The 28x28 the network sees for what the canvas shows."""
        if self._example is not None:
            return self._example[0].astype(np.float32) / np.float32(255)
        if self._picture is not None:
            return preprocess_digit(self._picture)
        return preprocess_digit(self.canvas.to_array(), "dark-on-light")

    def refresh(self) -> None:
        """Recompute now (the throttle timer calls this)."""
        self._timer.stop()
        self.digit = self._input()
        why = None
        if self._model is not None and self.digit.any():
            why = ask_why(self._model, self.digit, preprocess=False)
        self._show(why)

    def _show(self, why: Why | None) -> None:
        self.why = why
        digit = self.digit if self.digit is not None else np.zeros((28, 28), np.float32)
        self.seen.set_image(_gray_rgb(digit), "28x28, ink bright: MNIST's preprocessing")
        self._show_source()
        if why is None:
            empty = np.zeros((28, 28, 3), np.uint8)
            self.saliency.set_image(empty)
            self.gradcam.set_image(empty)
            self.bars.set_probabilities(None)
            self.maps.clear()
            hint = "Draw a digit" if self._model is not None else "Train or load a model first"
            self.answer.setText(f"<span style='color:{NOTE}'>{hint}</span>")
        else:
            self.saliency.set_image(
                heat_overlay(digit, why.saliency),
                f"|d score({why.target}) / d pixel|",
            )
            if why.gradcam is not None:
                note = f"{why.gradcam_layer} maps weighted by their gradient"
                if not why.gradcam.any():  # ReLU of a sum that is negative everywhere
                    note = f"zero: {why.gradcam_layer}'s maps, weighted, never favour {why.target}"
                self.gradcam.set_image(heat_overlay(digit, why.gradcam), note)
            else:
                self.gradcam.set_image(np.zeros((28, 28, 3), np.uint8), "no conv layer")
            self.bars.set_probabilities(why.probabilities)
            p = float(why.probabilities[why.predicted])
            self.answer.setText(f"It reads <b>{why.predicted}</b> ({p:.0%} sure)")
            outputs = [o for o in why.outputs if not _redundant(o.layer)]
            self.maps.show_outputs(outputs, [layer_grid(o.map) for o in outputs])
        self.whyChanged.emit(why)

    def _show_source(self) -> None:
        if self._example is not None:
            _, label, index = self._example
            what = f"test digit {index}" if index is not None else "a digit"
            label_text = f", labelled {label}" if label is not None else ""
            self.source_label.setText(f"Showing {what}{label_text}. Draw over it to change it.")
        elif self._picture is None:
            self.source_label.setText("Draw a digit with the mouse or a pen (Undo stroke: Ctrl+Z).")

    # -- dialogs ---------------------------------------------------------------------------

    def _on_open_clicked(self, checked: bool = False) -> None:
        patterns = " ".join(f"*{ext}" for ext in sorted(IMAGE_EXTENSIONS))
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a picture of a digit", "", f"Images ({patterns})"
        )
        if path:
            self.open_image(path)


__all__ = ["DigitCanvasView", "ProbabilityBars"]
