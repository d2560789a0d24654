"""explain_pixel rebuilds every convolution output from the input alone, padding included."""

from __future__ import annotations

import numpy as np
import pytest

from core.explain import explain_pixel
from core.kernels import Kernel
from core.ops import BORDERS
from core.pipeline import COLOR_MODES, PipelineSettings, run_pipeline

PADDINGS = ("same", "valid", "full", 0, 1, 2, 4)


def random_case(seed: int):
    """A small image, kernel and settings drawn at random (all reproducible from ``seed``)."""
    rng = np.random.default_rng(seed)
    kh, kw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    dilation = int(rng.integers(1, 4))
    # Small images, some smaller than the padding: reflect/wrap then repeat the image.
    h = max(2, (kh - 1) * dilation + 1) + int(rng.integers(0, 8))
    w = max(2, (kw - 1) * dilation + 1) + int(rng.integers(0, 8))
    color = COLOR_MODES[seed % len(COLOR_MODES)]
    image = rng.random((h, w, 3) if seed % 4 else (h, w)).astype(np.float32)
    kernel = Kernel(
        rng.normal(size=(kh, kw)),
        scale=float(rng.choice([1.0, 0.5, 1 / 9])),
        bias=float(rng.choice([0.0, 0.25, -1.5])),
    )
    settings = PipelineSettings(
        padding=PADDINGS[int(rng.integers(len(PADDINGS)))],
        border=BORDERS[seed % len(BORDERS)],
        stride=int(rng.integers(1, 4)),
        dilation=dilation,
        flip=bool(rng.integers(2)),
        pool_mode="none",
        color=color,
    )
    return image, kernel, settings


def assert_every_pixel_explained(image, kernel, settings) -> None:
    result = run_pipeline(image, kernel, settings)
    conv = result.conv
    rows, cols = conv.shape[:2]
    for i in range(rows):
        for j in range(cols):
            exp = explain_pixel(result, i, j)
            expected = conv[i, j]
            np.testing.assert_allclose(
                exp.output,
                expected,
                rtol=1e-4,
                atol=1e-4,
                err_msg=f"pixel ({i}, {j}) of {rows}x{cols}, {settings}, kernel {kernel.shape}",
            )
            # The arithmetic shown adds up: products summed (+ bias) is the output.
            summed = exp.products.sum(axis=(0, 1))
            if settings.color == "rgb" and np.ndim(summed) == 1:
                summed = summed.sum()
            np.testing.assert_allclose(exp.output, summed + exp.bias, rtol=1e-9, atol=1e-9)
            assert exp.weights.shape == kernel.shape


@pytest.mark.parametrize("seed", range(96))
def test_explanation_equals_the_result_for_random_settings(seed):
    assert_every_pixel_explained(*random_case(seed))


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("color", COLOR_MODES)
@pytest.mark.parametrize("flip", [False, True])
def test_edge_pixels_in_full_padding(border, color, flip):
    """'full' padding: the corner outputs see mostly padding."""
    rng = np.random.default_rng(7)
    image = rng.random((6, 7, 3)).astype(np.float32)
    kernel = Kernel(rng.normal(size=(3, 4)), bias=0.5)
    settings = PipelineSettings(
        padding="full", border=border, flip=flip, pool_mode="none", color=color
    )
    assert_every_pixel_explained(image, kernel, settings)


@pytest.mark.parametrize("border", BORDERS)
def test_padding_wider_than_the_image(border):
    """Reflect and wrap repeat the image when the padding is wider than the image itself."""
    rng = np.random.default_rng(3)
    image = rng.random((3, 2)).astype(np.float32)
    kernel = Kernel(rng.normal(size=(5, 5)))
    settings = PipelineSettings(padding=4, border=border, dilation=2, pool_mode="none")
    assert_every_pixel_explained(image, kernel, settings)


def test_zero_padding_shows_zeros_and_the_lecture_sum():
    image = np.arange(16, dtype=np.float32).reshape(4, 4) / 16
    kernel = Kernel(np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]], dtype=float))
    result = run_pipeline(image, kernel, PipelineSettings(padding="same", pool_mode="none"))
    exp = explain_pixel(result, 0, 0)
    np.testing.assert_array_equal(exp.values[0], 0.0)  # the row above the image is padding
    np.testing.assert_array_equal(exp.values[:, 0], 0.0)  # so is the column left of it
    np.testing.assert_allclose(exp.values[1:, 1:], image[:2, :2])
    # Top row of taps sees padding, bottom row (-1s) sees image row 1, columns 0 and 1.
    assert float(exp.output) == pytest.approx(-(image[1, 0] + image[1, 1]), abs=1e-6)
    assert float(exp.output) == pytest.approx(float(result.conv[0, 0]), abs=1e-6)


def test_per_channel_explains_each_channel():
    rng = np.random.default_rng(11)
    image = rng.random((5, 5, 3)).astype(np.float32)
    kernel = Kernel(rng.normal(size=(3, 3)))
    result = run_pipeline(image, kernel, PipelineSettings(color="per-channel", pool_mode="none"))
    exp = explain_pixel(result, 2, 3)
    assert exp.values.shape == (3, 3, 3)
    assert exp.output.shape == (3,)
    np.testing.assert_allclose(exp.output, result.conv[2, 3], atol=1e-5)


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("shape", [(1, 5), (5, 1), (1, 1)])
def test_one_pixel_wide_images(border, shape):
    rng = np.random.default_rng(5)
    image = rng.random(shape).astype(np.float32)
    kernel = Kernel(rng.normal(size=(3, 3)))
    for padding in ("same", "full"):
        settings = PipelineSettings(padding=padding, border=border, pool_mode="none")
        assert_every_pixel_explained(image, kernel, settings)
