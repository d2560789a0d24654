"""The inspector: input x weights = products, and their sum, for one output pixel."""

from __future__ import annotations

import numpy as np
import pytest

from core.explain import explain_pixel
from core.kernels import Kernel
from core.pipeline import PipelineSettings, run_pipeline
from ui.inspector import Inspector

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def inspector(qtbot):
    widget = Inspector()
    qtbot.addWidget(widget)
    widget.resize(420, 420)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _explanation(weights: np.ndarray, row: int = 4, col: int = 5):
    image = np.arange(100, dtype=np.float32).reshape(10, 10) / 100
    result = run_pipeline(image, Kernel(weights), PipelineSettings(pool_mode="none"))
    return explain_pixel(result, row, col), image


def test_says_the_sum_of_products_and_colours_them_by_sign(inspector):
    weights = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    exp, image = _explanation(weights)
    inspector.show_explanation(exp)
    expected = float((image[3:6, 4:7] * weights).sum())  # written out by hand: sobel-x
    assert inspector.text().startswith("Convolution pixel [4, 5]")
    assert inspector.text().endswith(f"sum of 9 products = {expected:.4g}")
    picture = inspector.grab().toImage()
    colours = [
        picture.pixelColor(x, y)
        for x in range(picture.width())
        for y in range(0, picture.height(), 2)
    ]
    reds = [c for c in colours if c.red() > c.blue() + 80]
    blues = [c for c in colours if c.blue() > c.red() + 80]
    assert reds and blues  # positive and negative products, tinted


def test_huge_kernels_are_summarised(inspector):
    exp, _ = _explanation(np.ones((21, 21)) / 441, row=5, col=5)
    inspector.show_explanation(exp)
    assert "441 products are too many to list" in inspector.text()
    assert "sum of 441 products" in inspector.text()
    inspector.clear()
    assert inspector.text().startswith("Hover over a pane")
