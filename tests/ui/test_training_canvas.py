"""The ask-why view on its own: draw with the mouse, undo, clear, open a picture, take a test
digit, and see what the network sees, its probabilities, maps, saliency and Grad-CAM."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog

from core.network import FlattenLayer
from core.nn.data import load_bundled
from core.nn.presets import preset_network
from ui.training import DigitCanvasView

WAIT_MS = 5_000


@pytest.fixture
def view(qtbot):
    view = DigitCanvasView()
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    qtbot.waitExposed(view)
    view.set_network(preset_network("default", seed=3))
    return view


def drag(canvas, points: list[tuple[float, float]]) -> None:
    """A stroke with the left button through ``points`` given as fractions of the square."""
    side = min(canvas.width(), canvas.height()) - 2
    left, top = (canvas.width() - side) / 2, (canvas.height() - side) / 2

    def at(fx: float, fy: float) -> QPoint:
        return QPoint(round(left + fx * side), round(top + fy * side))

    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, pos=at(*points[0]))
    for point in points[1:]:
        QTest.mouseMove(canvas, at(*point))
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=at(*points[-1]))


def vertical(x: float = 0.5) -> list[tuple[float, float]]:
    return [(x, y) for y in np.linspace(0.15, 0.85, 12)]


def horizontal(y: float = 0.5) -> list[tuple[float, float]]:
    return [(x, y) for x in np.linspace(0.2, 0.8, 12)]


def ink_rows_cols(digit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.flatnonzero(digit.max(axis=1) > 0.2), np.flatnonzero(digit.max(axis=0) > 0.2)


def test_a_vertical_stroke_is_a_vertical_line_in_the_middle(view, qtbot):
    assert view.why is None  # nothing drawn yet
    drag(view.canvas, vertical())
    qtbot.waitUntil(lambda: view.why is not None, timeout=WAIT_MS)
    rows, cols = ink_rows_cols(view.digit)
    # MNIST's preprocessing: the stroke fills the 20-pixel box's height, centred on 14.
    assert rows.min() <= 5 and rows.max() >= 22
    assert cols.min() >= 11 and cols.max() <= 16 and (13 in cols or 14 in cols)
    why = view.why
    assert why.probabilities.sum() == pytest.approx(1, abs=1e-5)
    np.testing.assert_allclose(view.bars.values, why.probabilities, rtol=1e-6)
    assert f"<b>{why.predicted}</b>" in view.answer.text()
    # Every layer with a picture has a column (flatten and the final softmax have none).
    pictured = [o for o in why.outputs if not isinstance(o.layer, FlattenLayer)][:-1]
    assert view.maps.layer_count() == len(pictured)
    assert view.saliency.image.shape == (28, 28, 3) and view.gradcam.image.shape == (28, 28, 3)
    # The overlays are the digit where there is no heat, coloured where there is.
    assert view.saliency.image.any()


def test_undo_removes_the_last_stroke_and_clear_wipes_all(view, qtbot):
    drag(view.canvas, horizontal())
    qtbot.waitUntil(lambda: view.why is not None, timeout=WAIT_MS)
    rows, _ = ink_rows_cols(view.digit)
    assert rows.max() - rows.min() <= 5  # a horizontal bar, a few rows tall
    drag(view.canvas, vertical())
    qtbot.waitUntil(lambda: np.ptp(ink_rows_cols(view.digit)[0]) >= 15, timeout=WAIT_MS)
    assert len(view.canvas.strokes) == 2
    view.undo_button.click()
    assert len(view.canvas.strokes) == 1
    qtbot.waitUntil(lambda: np.ptp(ink_rows_cols(view.digit)[0]) <= 5, timeout=WAIT_MS)
    view.clear_button.click()
    qtbot.waitUntil(lambda: view.why is None, timeout=WAIT_MS)
    assert not view.digit.any() and view.canvas.strokes == []
    assert (view.canvas.to_array() == 255).all()


def test_a_test_example_goes_to_the_network_as_it_is(view, qtbot):
    test = load_bundled()[1]
    view.example_button.click()
    np.testing.assert_allclose(view.digit, test.images[0] / 255.0, atol=1e-6)
    assert "labelled" in view.source_label.text()
    view.example_button.click()  # the next one
    np.testing.assert_allclose(view.digit, test.images[1] / 255.0, atol=1e-6)
    assert view.why is not None
    # Drawing over it makes the canvas (digit and stroke) the input.
    drag(view.canvas, horizontal(0.1))
    qtbot.waitUntil(
        lambda: not np.allclose(view.digit, test.images[1] / 255.0, atol=1e-3), timeout=WAIT_MS
    )


def test_open_image_and_a_bad_file(view, qtbot, tmp_path, monkeypatch):
    picture = np.full((200, 150), 235, np.uint8)  # dark pen on light paper, not square
    cv2.line(picture, (75, 30), (75, 170), 20, 14)
    good = tmp_path / "one.png"
    cv2.imwrite(str(good), picture)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(good), ""))
    view.open_button.click()
    _, cols = ink_rows_cols(view.digit)
    assert view.why is not None and cols.min() >= 11 and cols.max() <= 16
    before = view.why
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a picture")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    view.open_button.click()
    assert "bad.png" in view.source_label.text()
    assert view.why is before


def test_without_a_model_it_shows_the_input_and_says_so(qtbot):
    view = DigitCanvasView()
    qtbot.addWidget(view)
    view.show()
    drag(view.canvas, vertical())
    qtbot.waitUntil(lambda: view.digit is not None and view.digit.any(), timeout=WAIT_MS)
    assert view.why is None and "model" in view.answer.text()
