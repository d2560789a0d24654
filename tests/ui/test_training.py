"""The Train view, used the way a person does: click Start, Pause, Stop, Save, ... and look.

Training runs on 600 bundled MNIST digits (tested on 200) through the window's injectable
data loader, so an epoch takes a fraction of a second.
"""

from __future__ import annotations

import csv
import math
import threading

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog

from core.network import ConvLayer, load_network
from core.network.layers import MAX_ABS_WEIGHT
from core.nn.data import Dataset, load_bundled
from ui.training import TrainWindow

TRAIN_COUNT, TEST_COUNT = 600, 200
WAIT_MS = 20_000


@pytest.fixture(scope="module")
def tiny() -> tuple[Dataset, Dataset]:
    train, test = load_bundled()
    return (
        Dataset(train.images[:TRAIN_COUNT], train.labels[:TRAIN_COUNT], "tiny train"),
        Dataset(test.images[:TEST_COUNT], test.labels[:TEST_COUNT], "tiny test"),
    )


@pytest.fixture
def make_window(qtbot, tiny):
    made = []

    def make(**kwargs) -> TrainWindow:
        window = TrainWindow(data_loader=lambda spec, should_stop: tiny, **kwargs)
        qtbot.addWidget(window)
        window.resize(1400, 900)
        window.show()
        qtbot.waitExposed(window)
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()


def training_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "convscope-training" and t.is_alive()]


def first_conv_weights(network) -> np.ndarray:
    return next(layer for layer in network.layers if isinstance(layer, ConvLayer)).weights


def start(window, qtbot, epochs: int) -> None:
    window.train_view.controls.epochs.setValue(epochs)
    window.train_view.controls.start_button.click()
    qtbot.waitUntil(lambda: len(window.train_view.history) > 0, timeout=WAIT_MS)


def test_start_trains_an_epoch_and_shows_its_results(make_window, qtbot, tiny):
    window = make_window()
    view = window.train_view
    filters_before = view.filters.image.copy()
    weights_before = first_conv_weights(view.network).copy()
    view.controls.epochs.setValue(1)
    view.controls.start_button.click()
    qtbot.waitUntil(lambda: view.last_outcome is not None, timeout=WAIT_MS)

    assert view.last_outcome.kind == "finished", view.last_outcome.message
    steps = math.ceil(TRAIN_COUNT / view.controls.batch.value())
    x, loss = view.curves.loss_raw.getData()
    assert len(x) == steps and x[-1] == TRAIN_COUNT and np.all(np.isfinite(loss))
    test_x, test_y = view.curves.test_points.getData()
    assert list(test_x) == [TRAIN_COUNT] and 0 <= test_y[0] <= 1
    # The filters moved, and the picture of them shows it (one fixed scale).
    assert not np.allclose(first_conv_weights(view.network), weights_before)
    assert not np.array_equal(view.filters.image, filters_before)
    assert view.maps.image is not None  # test digit 0's maps, once the data is known
    # The confusion matrix adds up to the test digits, and it is drawn.
    assert view.confusion.confusion.sum() == TEST_COUNT
    assert view.confusion.item.image.shape == (400, 400, 3)
    wrong = view.last_epoch.test.misclassified
    assert view.gallery.list.count() == min(len(wrong), view.gallery.LIMIT)
    assert "Finished" in view.controls.message.text()
    assert not view.worker.is_running() and not training_threads()
    assert view.controls.start_button.isEnabled() and not view.controls.stop_button.isEnabled()

    # A click on a misclassified digit opens it in the ask-why view.
    item = view.gallery.list.item(0)
    rect = view.gallery.list.visualItemRect(item)
    QTest.mouseClick(view.gallery.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.tabs.currentWidget() is window.why_view
    index = int(wrong[0])
    np.testing.assert_allclose(window.why_view.digit, tiny[1].images[index] / 255.0, atol=1e-6)
    assert window.why_view.why is not None


def test_curves_export_as_csv_and_png(make_window, qtbot, tmp_path, monkeypatch):
    window = make_window()
    view = window.train_view
    view.controls.epochs.setValue(2)
    view.controls.start_button.click()
    qtbot.waitUntil(lambda: view.last_outcome is not None, timeout=WAIT_MS)
    answers = iter([(str(tmp_path / "curves"), ""), (str(tmp_path / "curves.png"), "")])
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: next(answers))
    view.controls.csv_button.click()
    view.controls.png_button.click()
    with open(tmp_path / "curves.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == len(view.history) == 2 * math.ceil(TRAIN_COUNT / 64)
    assert [float(r["loss"]) for r in rows] == pytest.approx(view.history.loss, rel=1e-5)
    tests = [float(r["test_accuracy"]) for r in rows if r["test_accuracy"]]
    assert tests == pytest.approx(view.history.test_accuracy, rel=1e-5) and len(tests) == 2
    png = cv2.imread(str(tmp_path / "curves.png"))
    assert png is not None and png.shape[0] > 100 and png.shape[1] > 200


def test_pause_holds_training_and_resume_goes_on(make_window, qtbot):
    window = make_window()
    view = window.train_view
    start(window, qtbot, epochs=200)
    view.controls.pause_button.click()
    assert view.controls.pause_button.text() == "Resume"
    qtbot.wait(300)  # an update sent just before the pause may still arrive
    held = len(view.history)
    qtbot.wait(400)
    assert len(view.history) == held  # nothing trained while paused
    assert view.worker.is_running()  # but the run is still there, waiting
    view.controls.pause_button.click()
    assert view.controls.pause_button.text() == "Pause"
    qtbot.waitUntil(lambda: len(view.history) > held, timeout=WAIT_MS)
    view.controls.stop_button.click()
    qtbot.waitUntil(lambda: view.last_outcome is not None, timeout=WAIT_MS)
    assert view.last_outcome.kind == "stopped"


def test_stop_mid_epoch_keeps_the_newest_weights(make_window, qtbot):
    window = make_window()
    view = window.train_view
    start(window, qtbot, epochs=200)
    view.controls.stop_button.click()
    assert not training_threads()  # Stop waits for the thread
    qtbot.waitUntil(lambda: view.last_outcome is not None, timeout=WAIT_MS)
    outcome = view.last_outcome
    assert outcome.kind == "stopped" and outcome.network is not None
    assert view.network is outcome.network
    assert outcome.examples < 200 * TRAIN_COUNT
    assert "Stopped" in view.controls.message.text()
    assert view.controls.start_button.isEnabled()
    # Start again: the curves go on from where they were.
    seen = view.history.examples[-1]
    view.controls.epochs.setValue(1)
    view.controls.start_button.click()
    qtbot.waitUntil(lambda: view.last_outcome is not outcome, timeout=WAIT_MS)
    assert view.history.examples[-1] == seen + TRAIN_COUNT


def test_closing_mid_epoch_ends_the_thread(make_window, qtbot):
    window = make_window()
    start(window, qtbot, epochs=200)
    assert training_threads()
    window.close()
    assert not training_threads()
    assert not window.train_view.worker.is_running()


def test_closing_while_paused_ends_the_thread(make_window, qtbot):
    window = make_window()
    start(window, qtbot, epochs=200)
    window.train_view.controls.pause_button.click()
    window.close()
    assert not training_threads()


def test_a_too_high_learning_rate_ends_with_a_message_and_good_weights(make_window, qtbot):
    window = make_window()
    view = window.train_view
    controls = view.controls
    controls.optimizer.setCurrentIndex(controls.optimizer.findData("sgd"))
    controls.lr.setValue(100.0)
    controls.epochs.setValue(3)
    controls.start_button.click()
    qtbot.waitUntil(lambda: view.last_outcome is not None, timeout=WAIT_MS)
    assert view.last_outcome.kind == "failed"
    assert controls.message_level == "warning"
    assert "too high" in controls.message.text()
    assert "last good weights are kept" in controls.message.text()
    assert view.network is view.last_outcome.network
    for layer in view.network.layers:
        for array in (getattr(layer, "weights", None), getattr(layer, "bias", None)):
            if array is not None:
                assert np.all(np.isfinite(array)) and np.abs(array).max() <= MAX_ABS_WEIGHT
    assert controls.start_button.isEnabled() and not training_threads()


def test_save_and_load_the_model_through_the_dialogs(make_window, qtbot, tmp_path, monkeypatch):
    window = make_window()
    view = window.train_view
    start(window, qtbot, epochs=1)
    qtbot.waitUntil(lambda: view.last_outcome is not None, timeout=WAIT_MS)
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "digits"), "")
    )
    with qtbot.waitSignal(window.modelSaved) as saved:
        view.controls.save_button.click()
    path = tmp_path / "digits.json"
    assert saved.args == [path] and path.exists()
    loaded = load_network(path)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in view.network.layers]
    np.testing.assert_array_equal(first_conv_weights(loaded), first_conv_weights(view.network))

    other = make_window()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    other.train_view.controls.load_button.click()
    np.testing.assert_array_equal(
        first_conv_weights(other.train_view.network), first_conv_weights(view.network)
    )
    assert other.train_view.controls.network_combo.currentText() == "Loaded: digits.json"

    # A file that is no network changes nothing and says why.
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    before = other.train_view.network
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    other.train_view.controls.load_button.click()
    assert other.train_view.network is before
    assert other.train_view.controls.message_level == "error"
    assert "bad.json" in other.train_view.controls.message.text()


def test_use_these_filters_sends_the_learned_layers(make_window, qtbot):
    window = make_window()
    view = window.train_view
    with qtbot.waitSignal(window.useFilters) as sent:
        view.controls.use_button.click()
    network = sent.args[0]
    assert [layer.name for layer in network.layers] == [
        "conv1",
        "relu1",
        "pool1",
        "conv2",
        "relu2",
        "pool2",
    ]
    np.testing.assert_array_equal(network.layers[3].weights, view.network.layers[3].weights)


def test_the_lecture_network_and_the_layer_stack_can_be_chosen(make_window, qtbot):
    from core.network import ActivationLayer, Network, PoolLayer

    rng = np.random.default_rng(1)
    stack = Network(
        (
            ConvLayer(rng.normal(0, 0.3, (4, 1, 5, 5)).astype(np.float32), name="edges"),
            ActivationLayer("relu", "r"),
            PoolLayer("max", 2, name="p"),
        )
    )
    window = make_window(network_provider=lambda: stack)
    view = window.train_view
    combo = view.controls.network_combo
    combo.setCurrentIndex(combo.findData("lecture"))
    combo.activated.emit(combo.currentIndex())  # what a user's choice in the list emits
    assert first_conv_weights(view.network).shape == (32, 1, 3, 3)
    combo.setCurrentIndex(combo.findData("stack"))
    combo.activated.emit(combo.currentIndex())
    assert view.network.layers[0].name == "edges"
    np.testing.assert_array_equal(view.network.layers[0].weights, stack.layers[0].weights)
    assert view.network.layers[-1].function == "softmax"  # a dense head was added
    view.controls.epochs.setValue(1)
    view.controls.start_button.click()
    qtbot.waitUntil(lambda: view.last_outcome is not None, timeout=WAIT_MS)
    assert view.last_outcome.kind == "finished", view.last_outcome.message


def test_a_data_folder_is_chosen_by_dialog_and_bad_data_is_reported(qtbot, tmp_path, monkeypatch):
    """The real loader: an empty folder has no digits; the run ends at once, saying so."""
    window = TrainWindow()
    qtbot.addWidget(window)
    window.show()
    view = window.train_view
    combo = view.controls.data_combo
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    combo.setCurrentIndex(combo.findData("folder…"))
    combo.activated.emit(combo.currentIndex())
    assert combo.currentText() == f"Folder: {tmp_path.name}"
    network_before = view.network
    view.controls.start_button.click()
    qtbot.waitUntil(lambda: view.last_outcome is not None, timeout=WAIT_MS)
    assert view.last_outcome.kind == "error"
    assert view.controls.message_level == "error"
    assert "no digit images found" in view.controls.message.text()
    assert view.network is network_before and len(view.history) == 0
    assert view.controls.start_button.isEnabled() and not training_threads()
    window.close()
