"""The Train view's left column: what to train and on what, the run buttons, progress,
messages and the model's file actions. Widgets only; :mod:`ui.training.train_view` wires them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.nn.presets import PRESETS
from core.nn.training import TrainConfig

NETWORK_LABELS = {
    "default": "Small default (conv 8 · pool · conv 16 · pool · dense 10)",
    "lecture": "Lecture: Conv2D(32, 3x3) · MaxPool · Dense(10)",
}
STACK = "stack"
LOADED = "loaded"
DATA_LABELS = {
    "mnist": "MNIST subset (13,000 / 2,000 test)",
    "synthetic": "Synthetic digits (10,000, drawn)",
}
FOLDER = "folder…"

_MESSAGE_STYLE = {
    "info": "color:#d8e8d8; background:#203428;",
    "warning": "color:#fff4e0; background:#4a4216;",
    "error": "color:#fff4e0; background:#5c1d1d;",
}


class TrainControls(QWidget):
    """Settings, Start/Pause/Stop, progress bar, message line, Save/Load/Export/Use."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(290)
        self.setMaximumWidth(380)
        self.network_combo = QComboBox()
        for key in PRESETS:
            self.network_combo.addItem(NETWORK_LABELS.get(key, key), key)
        self.network_combo.setToolTip("Choosing a network starts it from fresh weights")
        self.data_combo = QComboBox()
        for key, label in DATA_LABELS.items():
            self.data_combo.addItem(label, key)
        self.data_combo.addItem("Folder (idx pair or 0/…9/ subfolders)…", FOLDER)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 1000)
        self.epochs.setValue(2)
        self.batch = QSpinBox()
        self.batch.setRange(1, 4096)
        self.batch.setValue(TrainConfig.batch_size)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(0.00001, 100.0)
        self.lr.setSingleStep(0.001)
        self.lr.setValue(TrainConfig.lr)
        self.lr.setToolTip("Adam's step size; above about 0.1 training usually blows up")
        self.optimizer = QComboBox()
        self.optimizer.addItem("Adam", "adam")
        self.optimizer.addItem("SGD with momentum 0.9", "sgd")
        self.optimizer.setToolTip("SGD with a learning rate above about 1 makes the loss explode")
        self.reset_button = QPushButton("New weights")
        self.reset_button.setToolTip("Start the chosen network again from fresh random weights")
        form = QFormLayout()
        form.addRow("Network", self.network_combo)
        form.addRow("Data", self.data_combo)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch)
        form.addRow("Learning rate", self.lr)
        form.addRow("Optimizer", self.optimizer)
        form.addRow("", self.reset_button)

        self.start_button = QPushButton("Start")
        self.start_button.setStyleSheet("font-weight: bold")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        run_row = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.stop_button):
            run_row.addWidget(button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setFormat("ready")
        self.speed = QLabel("")  # examples/s and time left, under the bar (too long for it)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        self.message_level = ""

        training = QGroupBox("Train")
        training_layout = QVBoxLayout(training)
        training_layout.addLayout(form)
        training_layout.addLayout(run_row)
        training_layout.addWidget(self.progress)
        training_layout.addWidget(self.speed)
        training_layout.addWidget(self.status)
        training_layout.addWidget(self.message)

        self.save_button = QPushButton("Save model…")
        self.load_button = QPushButton("Load model…")
        self.use_button = QPushButton("Use these filters")
        self.use_button.setToolTip(
            "Send the learned conv and pool layers to the workbench's network view"
        )
        self.csv_button = QPushButton("Curves as CSV…")
        self.png_button = QPushButton("Curves as PNG…")
        files = QGroupBox("Model and curves")
        grid = QGridLayout(files)
        grid.addWidget(self.save_button, 0, 0)
        grid.addWidget(self.load_button, 0, 1)
        grid.addWidget(self.use_button, 1, 0, 1, 2)
        grid.addWidget(self.csv_button, 2, 0)
        grid.addWidget(self.png_button, 2, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(training)
        layout.addWidget(files)
        layout.addStretch(1)

    def show_message(self, text: str, level: str = "info") -> None:
        """A message that stays until the next one (or :meth:`clear_message`)."""
        self.message_level = level
        self.message.setStyleSheet(
            f"QLabel {{ {_MESSAGE_STYLE[level]} border-radius:3px; padding:4px; }}"
        )
        self.message.setText(text)
        self.message.show()

    def clear_message(self) -> None:
        self.message_level = ""
        self.message.setText("")
        self.message.hide()

    def set_running(self, running: bool, paused: bool = False) -> None:
        """Enable what makes sense while a run is going on (or not)."""
        for widget in (
            self.network_combo,
            self.data_combo,
            self.epochs,
            self.batch,
            self.lr,
            self.optimizer,
            self.reset_button,
            self.start_button,
            self.load_button,
        ):
            widget.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText("Resume" if paused else "Pause")


__all__ = ["DATA_LABELS", "FOLDER", "LOADED", "NETWORK_LABELS", "STACK", "TrainControls"]
