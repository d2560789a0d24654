"""The single-kernel workbench is the one-layer case of a network (core.pipeline.kernel_network)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import correlate2d

from core.kernels import Kernel
from core.pipeline import PipelineSettings, kernel_network, run_pipeline

KERNEL = Kernel(np.array([[1.0, 2, 0], [0, -1, 3]]), scale=0.5, bias=0.25, name="k")


def test_gray_is_a_one_to_one_conv_with_activation_and_pool():
    settings = PipelineSettings(
        padding="valid", stride=2, dilation=2, border="reflect", activation="tanh",
        pool_mode="avg", pool_size=3, pool_stride=2,
    )  # fmt: skip
    conv, act, pool = kernel_network(KERNEL, settings).layers
    np.testing.assert_array_equal(conv.weights, [[KERNEL.weights * 0.5]])
    np.testing.assert_array_equal(conv.bias, [0.25])
    assert (conv.stride, conv.padding, conv.dilation, conv.border) == (2, "valid", 2, "reflect")
    assert act.function == "tanh"
    assert (pool.mode, pool.size, pool.stride) == ("avg", 3, 2)


def test_no_pool_and_flip():
    network = kernel_network(KERNEL, PipelineSettings(pool_mode="none", flip=True))
    assert [layer.kind for layer in network] == ["conv", "activation"]
    np.testing.assert_array_equal(network.layers[0].weights[0, 0], KERNEL.effective[::-1, ::-1])


def test_rgb_is_one_unit_over_three_channels_and_per_channel_a_diagonal_bank():
    rgb = kernel_network(KERNEL, PipelineSettings(color="rgb"), channels=3).layers[0]
    assert rgb.weights.shape == (1, 3, 2, 3)
    for c in range(3):
        np.testing.assert_array_equal(rgb.weights[0, c], KERNEL.effective)
    per = kernel_network(KERNEL, PipelineSettings(color="per-channel"), channels=3).layers[0]
    assert per.weights.shape == (3, 3, 2, 3)
    for o in range(3):
        for c in range(3):
            expected = KERNEL.effective if o == c else np.zeros((2, 3))
            np.testing.assert_array_equal(per.weights[o, c], expected)
    np.testing.assert_array_equal(per.bias, [0.25] * 3)


@pytest.mark.parametrize("color", ["gray", "rgb", "per-channel"])
def test_run_pipeline_through_the_network_matches_scipy(color):
    image = np.random.default_rng(1).uniform(size=(12, 15, 3)).astype(np.float32)
    settings = PipelineSettings(padding="valid", color=color, activation="none")
    result = run_pipeline(image, KERNEL, settings)
    weights = KERNEL.weights * 0.5
    if color == "gray":
        gray = result.image.astype(np.float64)
        expected = correlate2d(gray, weights, mode="valid") + 0.25
    elif color == "rgb":
        expected = sum(correlate2d(image[:, :, c], weights, mode="valid") for c in range(3))
        expected = expected + 0.25
    else:
        expected = np.stack(
            [correlate2d(image[:, :, c], weights, mode="valid") + 0.25 for c in range(3)], -1
        )
    np.testing.assert_allclose(result.conv, expected, atol=1e-5)
    assert result.conv.dtype == np.float32
    assert result.pooled.shape[:2] == (expected.shape[0] // 2, expected.shape[1] // 2)
    assert result.geometry.conv.shape == expected.shape[:2]


def test_a_changed_kernel_or_setting_is_not_served_from_the_cache():
    image = np.random.default_rng(2).uniform(size=(10, 10)).astype(np.float32)
    first = run_pipeline(image, KERNEL, PipelineSettings())
    other = Kernel(-KERNEL.weights, scale=1.0, bias=0.25)
    second = run_pipeline(image, other, PipelineSettings())
    np.testing.assert_allclose(second.conv, -2 * (first.conv - 0.25) + 0.25, atol=1e-5)
    assert (second.conv < 0).any()
    np.testing.assert_array_equal(second.activated, np.maximum(second.conv, 0))
    third = run_pipeline(image, other, PipelineSettings(activation="none"))
    np.testing.assert_array_equal(third.activated, second.conv)
