"""The Train view: choose a network and data, train in a worker thread, and watch the loss,
the accuracy, the first layer's filters and maps change; after each epoch the test accuracy,
the confusion matrix and the misclassified digits.

The view owns the *current model* (an immutable :class:`core.network.Network`): fresh weights
of the chosen network, a loaded file, or the newest copy of the weights from training. Start
trains it further; Save, "Use these filters" and the ask-why view use it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.images import SaveError, atomic_write
from core.network import DenseLayer, FlattenLayer, Network, NetworkError, load_network
from core.network.files import save_network
from core.nn.data import Dataset
from core.nn.history import TrainingHistory
from core.nn.presets import as_classifier, preset_network
from core.nn.train_data import load_data
from core.nn.train_views import filter_scale, filter_thumbnails, first_conv, first_layer_maps
from core.nn.training import TrainConfig
from ui.training.controls import FOLDER, LOADED, STACK, TrainControls
from ui.training.plots import (
    ConfusionView,
    CurvesWidget,
    ImagePanel,
    MisclassifiedGallery,
)
from ui.training.worker import (
    DataLoader,
    EpochResult,
    Outcome,
    Pictures,
    TrainingWorker,
    TrainRequest,
    Update,
)


def feature_layers(network: Network) -> Network | None:
    """The layers before the classifier head (the first flatten or dense layer): the learned
    filters and what follows them, or None if there is no conv layer among them."""
    layers = []
    for layer in network.layers:
        if isinstance(layer, FlattenLayer | DenseLayer):
            break
        layers.append(layer)
    if not layers or first_conv(Network(tuple(layers))) is None:
        return None
    return Network(tuple(layers), name=f"{network.name or 'trained'} filters")


def _format_seconds(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "…"
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"


class TrainView(QWidget):
    """See the module docstring. Signals: ``useFilters(Network)``, ``modelSaved(Path)``,
    ``networkChanged(Network)`` (the current model changed), ``exampleChosen(int)`` (a
    misclassified test digit was clicked; ``test_set`` holds it)."""

    useFilters = Signal(object)
    modelSaved = Signal(Path)
    networkChanged = Signal(object)
    exampleChosen = Signal(int)

    def __init__(
        self,
        parent: QWidget | None = None,
        network_provider: Callable[[], Network | None] | None = None,
        data_loader: DataLoader | None = None,
    ) -> None:
        super().__init__(parent)
        self._network_provider = network_provider
        self._load = data_loader or load_data
        self.worker = TrainingWorker(self)
        self.worker.dataReady.connect(self._on_data_ready)
        self.worker.updated.connect(self._on_updated)
        self.worker.epochEnded.connect(self._on_epoch_ended)
        self.worker.ended.connect(self._on_ended)
        self.history = TrainingHistory()
        self.network: Network = preset_network("default")
        self.test_set: Dataset | None = None
        self.last_outcome: Outcome | None = None
        self.last_epoch: EpochResult | None = None
        self._scale: float | None = None
        self._folder: str | None = None
        self._runs = 0
        self._epochs_planned = 1
        self._build()
        self._new_model(self.network, "fresh weights")

    # -- building ----------------------------------------------------------------------------

    def _build(self) -> None:
        c = self.controls = TrainControls()
        if self._network_provider is not None:
            c.network_combo.addItem("The layer stack (+ dense 10)", STACK)
        c.network_combo.activated.connect(self._on_network_chosen)
        c.data_combo.activated.connect(self._on_data_chosen)
        c.reset_button.clicked.connect(self._on_reset_clicked)
        c.start_button.clicked.connect(self._on_start_clicked)
        c.pause_button.clicked.connect(self._on_pause_clicked)
        c.stop_button.clicked.connect(self._on_stop_clicked)
        c.save_button.clicked.connect(self._on_save_clicked)
        c.load_button.clicked.connect(self._on_load_clicked)
        c.use_button.clicked.connect(self._on_use_clicked)
        c.csv_button.clicked.connect(self._on_csv_clicked)
        c.png_button.clicked.connect(self._on_png_clicked)
        c.set_running(False)

        self.curves = CurvesWidget()
        self.filters = ImagePanel("First layer's filters")
        self.maps = ImagePanel("Their maps")
        self.example = QSpinBox()
        self.example.setRange(0, 0)
        self.example.setPrefix("test digit ")
        self.example.setToolTip("The test digit whose maps are shown")
        self.example.valueChanged.connect(self._on_example_changed)
        self.example_image = ImagePanel("")
        self.example_image.setFixedWidth(90)
        maps_box = QWidget()
        maps_layout = QHBoxLayout(maps_box)
        maps_layout.setContentsMargins(0, 0, 0, 0)
        side = QVBoxLayout()
        side.addWidget(self.example_image, 1)
        side.addWidget(self.example)
        maps_layout.addWidget(self.maps, 1)
        maps_layout.addLayout(side)
        middle = QSplitter(Qt.Orientation.Horizontal)
        middle.addWidget(self.filters)
        middle.addWidget(maps_box)
        middle.setStretchFactor(0, 2)
        middle.setStretchFactor(1, 3)

        self.confusion = ConfusionView()
        self.gallery = MisclassifiedGallery()
        self.gallery.exampleClicked.connect(self._on_gallery_clicked)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.confusion)
        bottom.addWidget(self.gallery)
        bottom.setStretchFactor(0, 2)
        bottom.setStretchFactor(1, 3)

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.curves)
        right.addWidget(middle)
        right.addWidget(bottom)
        right.setSizes([260, 260, 400])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(c)
        layout.addWidget(right, 1)

    # -- the current model -------------------------------------------------------------------

    def _new_model(self, network: Network, how: str) -> None:
        """A different model: curves, colour scale and results start over."""
        self.network = network
        self.history = TrainingHistory()
        self.last_epoch = None
        self._scale = None
        self.curves.show_history(self.history)
        self.confusion.show_confusion(None, None)
        self.gallery.show_examples(None, None, None)
        self.controls.progress.setValue(0)
        self.controls.progress.setFormat("ready")
        layers = len(network.layers)
        self.controls.status.setText(f"{network.name or 'network'}: {layers} layers, {how}.")
        self._draw_pictures()
        self.networkChanged.emit(network)

    def _set_network(self, network: Network) -> None:
        """Newer weights of the same model."""
        self.network = network
        self.networkChanged.emit(network)

    def _draw_pictures(self, pictures: Pictures | None = None) -> None:
        """Filters and maps: from the worker's pictures, or drawn here when idle (cheap)."""
        if pictures is None:
            found = first_conv(self.network)
            if found is None:
                pictures = Pictures(None, None, None)
            else:
                self._scale = filter_scale(found[1], self._scale)
                maps, name = None, ""
                digit = self._example_digit()
                if digit is not None:
                    drawn = first_layer_maps(self.network, digit)
                    if drawn is not None:
                        maps, name = drawn[1], drawn[0].name
                thumbnails = filter_thumbnails(found[1], self._scale)
                pictures = Pictures(thumbnails, self._scale, maps, name)
        if pictures.scale is not None:
            self._scale = pictures.scale
        if pictures.filters is None:
            self.filters.set_image(None, "this network has no conv layer")
        else:
            layer = first_conv(self.network)[1]
            s = pictures.scale
            self.filters.set_image(
                pictures.filters.rgb,
                f"fixed colour scale -{s:g} … +{s:g} (blue -, white 0, red +)",
                f"{layer.name}: {layer.out_channels} filters {layer.kernel_size[0]}x"
                f"{layer.kernel_size[1]}",
            )
        if pictures.maps is None:
            note = "shown once training has loaded the test digits" if self.test_set is None else ""
            self.maps.set_image(None, note)
        else:
            self.maps.set_image(
                pictures.maps.rgb, "each map on the layer's own scale", f"{pictures.maps_name}"
            )

    def _example_digit(self) -> np.ndarray | None:
        if self.test_set is None:
            return None
        return self.test_set.images[self.example.value()]

    # -- slots: settings ---------------------------------------------------------------------

    def _on_network_chosen(self, index: int) -> None:
        self._reset_network(self.controls.network_combo.itemData(index))

    def _on_reset_clicked(self, checked: bool = False) -> None:
        self._runs += 1
        self._reset_network(self.controls.network_combo.currentData(), seed=self._runs)

    def _reset_network(self, key: str, seed: int = 0) -> None:
        self.controls.clear_message()
        try:
            if key == STACK:
                stack = self._network_provider() if self._network_provider else None
                if stack is None or not stack.layers:
                    raise NetworkError("the layer stack is empty")
                network = as_classifier(stack, seed=seed)
                how = "the layer stack's weights, a new dense head"
            elif key == LOADED:
                network, how = self._loaded, "as loaded"
            else:
                network, how = preset_network(key, seed=seed), "fresh weights"
        except NetworkError as exc:
            self.controls.show_message(f"This network cannot be trained on digits: {exc}", "error")
            return
        self._new_model(network, how)

    def _on_data_chosen(self, index: int) -> None:
        combo = self.controls.data_combo
        if combo.itemData(index) != FOLDER:
            return
        folder = QFileDialog.getExistingDirectory(
            self, "A folder of digits: an MNIST idx pair, or subfolders 0 … 9 of images"
        )
        if not folder:
            combo.setCurrentIndex(0)
            return
        self._folder = folder
        combo.setItemText(index, f"Folder: {Path(folder).name}")

    def _data_spec(self) -> str:
        key = self.controls.data_combo.currentData()
        return self._folder if key == FOLDER and self._folder else key

    def _on_example_changed(self, value: int) -> None:
        digit = self._example_digit()
        self.worker.set_example(digit)
        if digit is not None:
            rgb = np.repeat(digit[..., None], 3, axis=2)
            label = int(self.test_set.labels[value])
            self.example_image.set_image(np.ascontiguousarray(rgb), f"a {label}")
        if not self.worker.is_running():
            self._draw_pictures()

    # -- slots: run ----------------------------------------------------------------------

    def _on_start_clicked(self, checked: bool = False) -> None:
        c = self.controls
        if self.worker.is_running():
            return
        c.clear_message()
        config = TrainConfig(
            epochs=c.epochs.value(),
            batch_size=c.batch.value(),
            lr=c.lr.value(),
            optimizer=c.optimizer.currentData(),
            seed=self._runs,
        )
        self._runs += 1
        self._epochs_planned = config.epochs
        self.history.start_run()
        c.progress.setValue(0)
        c.progress.setFormat("loading the data…")
        c.status.setText("")
        c.speed.setText("")
        c.set_running(True)
        self.worker.set_example(self._example_digit())
        self.worker.start(
            TrainRequest(self.network, self._data_spec(), config, self._load, self._scale)
        )

    def _on_pause_clicked(self, checked: bool = False) -> None:
        if not self.worker.is_running():
            return
        if self.worker.paused:
            self.worker.resume()
            self.controls.set_running(True, paused=False)
        else:
            self.worker.pause()
            self.controls.set_running(True, paused=True)
            self.controls.progress.setFormat(self.controls.progress.format() + " · paused")
            self.controls.speed.setText("paused: Resume goes on, Stop keeps these weights")

    def _on_stop_clicked(self, checked: bool = False) -> None:
        self.worker.stop()

    def shutdown(self) -> None:
        """Stop training and wait for its thread (closing the window calls this)."""
        self.worker.stop()

    # -- slots: results from the worker (GUI thread) -----------------------------------------

    def _on_data_ready(self, train_set: Dataset, test_set: Dataset) -> None:
        first = self.test_set is None or len(self.test_set) != len(test_set)
        self.test_set = test_set
        self.example.setRange(0, len(test_set) - 1)
        self.controls.status.setText(
            f"{train_set.name}: {len(train_set):,} training and {len(test_set):,} test digits"
        )
        if first:
            self._on_example_changed(self.example.value())

    def _on_updated(self, update: Update) -> None:
        self.history.add_steps(update.examples, update.loss, update.accuracy)
        c = self.controls
        c.progress.setValue(round(update.fraction * 1000))
        c.progress.setFormat(
            f"epoch {update.epoch + 1}/{self._epochs_planned} · {update.fraction:.0%}"
            + (" · paused" if self.worker.paused else "")
        )
        c.speed.setText(
            f"{update.examples_per_s:,.0f} examples/s · {_format_seconds(update.seconds_left)} left"
        )
        if update.network is not None:
            self._set_network(update.network)
        if update.pictures is not None:
            self._draw_pictures(update.pictures)
        self.curves.show_history(self.history)

    def _on_epoch_ended(self, result: EpochResult) -> None:
        self.last_epoch = result
        self.history.add_test(result.examples, result.test.accuracy)
        self._set_network(result.network)
        self.curves.show_history(self.history)
        self.confusion.show_confusion(result.test.confusion, result.confusion_rgb)
        if self.test_set is not None:
            self.gallery.show_examples(self.test_set.images, self.test_set.labels, result.test)
        self.controls.status.setText(
            f"Epoch {result.epoch + 1}: test accuracy {result.test.accuracy:.2%} "
            f"({len(result.test.misclassified)} of {int(result.test.confusion.sum())} wrong)"
        )

    def _on_ended(self, outcome: Outcome) -> None:
        self.worker.join()
        self.last_outcome = outcome
        c = self.controls
        c.set_running(False)
        if outcome.network is not None and outcome.network is not self.network:
            self._set_network(outcome.network)
        self._draw_pictures()
        done = f"{outcome.examples:,} examples in {_format_seconds(outcome.seconds)}"
        rate = outcome.examples / outcome.seconds if outcome.seconds > 0 else 0
        c.speed.setText(f"{rate:,.0f} examples/s on average" if rate else "")
        if outcome.kind == "finished":
            c.progress.setValue(1000)
            c.progress.setFormat(f"finished · {done}")
            accuracy = self.history.test_accuracy[-1] if self.history.test_accuracy else None
            text = f"Finished: {done}"
            if accuracy is not None:
                text += f", test accuracy {accuracy:.2%}"
            c.show_message(text + ".", "info")
        elif outcome.kind == "stopped":
            c.progress.setFormat(f"stopped · {done}")
            c.show_message(
                f"Stopped after {done}. The newest weights are kept: Start goes on from them.",
                "info",
            )
        elif outcome.kind == "failed":
            c.progress.setFormat("failed")
            c.show_message(f"Training stopped: {outcome.message}", "warning")
        else:
            c.progress.setFormat("not started")
            c.show_message(f"Training could not run: {outcome.message}", "error")

    def _on_gallery_clicked(self, index: int) -> None:
        self.example.setValue(index)
        self.exampleChosen.emit(index)

    # -- slots: files ------------------------------------------------------------------------

    def _on_save_clicked(self, checked: bool = False) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the model", "digit-model.json", "ConvScope network (*.json)"
        )
        if not path:
            return
        path = Path(path)
        if path.suffix.lower() != ".json":
            path = path.with_name(path.name + ".json")
        try:
            save_network(self.network, path)
        except (SaveError, OSError) as exc:
            self.controls.show_message(f"The model was not saved: {exc}", "error")
            return
        self.controls.show_message(f"Saved the model to {path.name}.", "info")
        self.modelSaved.emit(path)

    def _on_load_clicked(self, checked: bool = False) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Load a model", "", "ConvScope network (*.json);;All files (*)"
        )
        if not path:
            return
        try:
            network = as_classifier(load_network(path))
        except (NetworkError, OSError, ValueError) as exc:
            self.controls.show_message(f"{Path(path).name} cannot be used: {exc}", "error")
            return
        self._loaded = network
        combo = self.controls.network_combo
        index = combo.findData(LOADED)
        label = f"Loaded: {Path(path).name}"
        if index < 0:
            combo.addItem(label, LOADED)
            index = combo.count() - 1
        combo.setItemText(index, label)
        combo.setCurrentIndex(index)
        self.controls.show_message(f"Loaded {Path(path).name}.", "info")
        self._new_model(network, "as loaded")

    def _on_use_clicked(self, checked: bool = False) -> None:
        features = feature_layers(self.network)
        if features is None:
            self.controls.show_message("This network has no conv layer to use.", "error")
            return
        self.useFilters.emit(features)
        self.controls.show_message(
            f"Sent {len(features.layers)} layers ({features.name}) to the network view.", "info"
        )

    def _ask_save_path(self, title: str, name: str, filter_: str, suffix: str) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self, title, name, filter_)
        if not path:
            return None
        path = Path(path)
        return path if path.suffix.lower() == suffix else path.with_name(path.name + suffix)

    def _on_csv_clicked(self, checked: bool = False) -> None:
        path = self._ask_save_path("Export the curves", "curves.csv", "CSV (*.csv)", ".csv")
        if path is not None:
            self._write(path, self.history.to_csv().encode("utf-8"))

    def _on_png_clicked(self, checked: bool = False) -> None:
        path = self._ask_save_path("Export the curves", "curves.png", "PNG image (*.png)", ".png")
        if path is None:
            return
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        self.curves.grab().save(buffer, "PNG")
        buffer.close()
        self._write(path, bytes(data.data()))

    def _write(self, path: Path, data: bytes) -> None:
        try:
            atomic_write(path, data)
        except (SaveError, OSError) as exc:
            self.controls.show_message(f"Not saved: {exc}", "error")
            return
        self.controls.show_message(f"Saved {path.name}.", "info")


__all__ = ["TrainView", "feature_layers"]
