"""run_network computes what the frameworks compute: maps checked against scipy and loops."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import correlate2d

import core.network as network_pkg
from core.network import (
    ActivationLayer,
    ConvLayer,
    DenseLayer,
    FlattenLayer,
    Network,
    NetworkError,
    PoolLayer,
    run_network,
)

NP_MODE = {"zero": "constant", "reflect": "reflect", "replicate": "edge", "wrap": "wrap"}


def rand(shape, seed=0, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def keras_pads(n, k, stride, padding):
    """Padding before/after one axis, from the Keras/TensorFlow documentation's rules."""
    if padding == "valid":
        return 0, 0
    if padding == "full":
        return k - 1, k - 1
    if padding == "same":
        total = max((math.ceil(n / stride) - 1) * stride + k - n, 0)
        return total // 2, total - total // 2
    return padding, padding


def reference_conv(x, weights, bias, stride=1, padding="same", dilation=1, border="zero"):
    """Per (out, in) channel pair scipy correlate2d on an np.pad-ded input, summed, + bias."""
    out_c, in_c, kh, kw = weights.shape
    taps = np.zeros((out_c, in_c, (kh - 1) * dilation + 1, (kw - 1) * dilation + 1))
    taps[:, :, ::dilation, ::dilation] = weights
    py = keras_pads(x.shape[0], taps.shape[2], stride, padding)
    px = keras_pads(x.shape[1], taps.shape[3], stride, padding)
    padded = np.pad(x.astype(np.float64), (py, px, (0, 0)), mode=NP_MODE[border])
    maps = []
    for o in range(out_c):
        total = sum(correlate2d(padded[:, :, c], taps[o, c], mode="valid") for c in range(in_c))
        maps.append(total[::stride, ::stride] + bias[o])
    return np.stack(maps, axis=-1)


def loop_conv(x, weights, bias, stride, dilation):
    """'valid' cross-correlation as explicit loops over every output, channel and tap."""
    out_c, in_c, kh, kw = weights.shape
    h, w = x.shape[:2]
    oh = (h - (kh - 1) * dilation - 1) // stride + 1
    ow = (w - (kw - 1) * dilation - 1) // stride + 1
    out = np.zeros((oh, ow, out_c))
    for i, j, o in itertools.product(range(oh), range(ow), range(out_c)):
        value = bias[o]
        for c, a, b in itertools.product(range(in_c), range(kh), range(kw)):
            value += (
                x[i * stride + a * dilation, j * stride + b * dilation, c] * weights[o, c, a, b]
            )
        out[i, j, o] = value
    return out


def loop_pool(x, size, stride, mode):
    reduce = {"max": np.max, "avg": np.mean, "min": np.min}[mode]
    oh, ow = (x.shape[0] - size) // stride + 1, (x.shape[1] - size) // stride + 1
    out = np.zeros((oh, ow, x.shape[2]))
    for i, j, c in itertools.product(range(oh), range(ow), range(x.shape[2])):
        out[i, j, c] = reduce(x[i * stride : i * stride + size, j * stride : j * stride + size, c])
    return out


# --------------------------------------------------------------------------- conv vs scipy


@pytest.mark.parametrize(
    ("padding", "stride", "dilation", "border"),
    [
        ("same", 1, 1, "zero"),
        ("same", 1, 1, "reflect"),
        ("same", 1, 1, "replicate"),
        ("same", 1, 1, "wrap"),
        ("valid", 1, 1, "zero"),
        ("full", 1, 1, "zero"),
        ("same", 2, 1, "zero"),
        ("same", 3, 1, "reflect"),
        ("valid", 2, 2, "zero"),
        ("same", 1, 2, "replicate"),
        (2, 1, 1, "wrap"),
        (1, 2, 1, "reflect"),
        ("full", 2, 3, "replicate"),
    ],
)
def test_multichannel_conv_matches_scipy(padding, stride, dilation, border):
    x = rand((17, 23, 3), seed=1)
    weights = rand((5, 3, 3, 4), seed=2)  # non-square kernel catches swapped axes
    bias = rand(5, seed=3)
    layer = ConvLayer(weights, bias, stride, padding, dilation, border, name="c")
    (out,) = run_network(x, Network((layer,)))
    expected = reference_conv(x, weights, bias, stride, padding, dilation, border)
    assert out.map.dtype == np.float32
    assert out.map.shape == expected.shape
    np.testing.assert_allclose(out.map, expected, atol=1e-4)


@pytest.mark.parametrize("size", [1, 2, 5, 7, 13])  # 13: OpenCV switches to a DFT
def test_kernel_sizes_match_scipy(size):
    x = rand((40, 36, 2), seed=4)
    weights = rand((3, 2, size, size), seed=5)
    bias = np.zeros(3, np.float32)
    for padding in ("same", "valid"):
        (out,) = run_network(x, Network((ConvLayer(weights, padding=padding),)))
        np.testing.assert_allclose(
            out.map, reference_conv(x, weights, bias, padding=padding), atol=2e-4
        )


@pytest.mark.parametrize(("stride", "dilation"), [(1, 1), (2, 1), (1, 2), (2, 3)])
def test_small_valid_conv_matches_explicit_loops(stride, dilation):
    x = rand((9, 10, 2), seed=6)
    weights = rand((3, 2, 2, 3), seed=7)
    bias = rand(3, seed=8)
    layer = ConvLayer(weights, bias, stride, "valid", dilation)
    (out,) = run_network(x, Network((layer,)))
    np.testing.assert_allclose(out.map, loop_conv(x, weights, bias, stride, dilation), atol=1e-5)


def test_zero_slices_and_all_zero_filters():
    """A diagonal (per-channel) bank and an all-zero filter, which the engine skips."""
    x = rand((12, 14, 3), seed=9)
    weights = np.zeros((4, 3, 3, 3), np.float32)
    for c in range(3):
        weights[c, c] = rand((3, 3), seed=10 + c)
    bias = np.array([0.5, -1, 0, 2], np.float32)  # output 3 is only its bias
    (out,) = run_network(x, Network((ConvLayer(weights, bias, border="reflect"),)))
    expected = reference_conv(x, weights, bias, border="reflect")
    np.testing.assert_allclose(out.map, expected, atol=1e-5)
    np.testing.assert_array_equal(out.map[:, :, 3], 2)


def test_gray_image_is_one_channel():
    x = rand((10, 11), seed=11)
    weights = rand((2, 1, 3, 3), seed=12)
    (out,) = run_network(x, Network((ConvLayer(weights),)))
    expected = reference_conv(x[:, :, None], weights, np.zeros(2))
    np.testing.assert_allclose(out.map, expected, atol=1e-5)


def test_stacked_convs_match_reference_layer_by_layer():
    x = rand((20, 18, 3), seed=13)
    w1, w2 = rand((4, 3, 3, 3), seed=14), rand((6, 4, 3, 3), seed=15)
    b1, b2 = rand(4, seed=16), rand(6, seed=17)
    network = Network(
        (
            ConvLayer(w1, b1, padding="valid", name="c1"),
            ActivationLayer("relu", name="r1"),
            PoolLayer("max", 2, name="p1"),
            ConvLayer(w2, b2, padding="same", border="replicate", name="c2"),
            ActivationLayer("tanh", name="t2"),
        )
    )
    outs = run_network(x, network)
    c1 = reference_conv(x, w1, b1, padding="valid")
    r1 = np.maximum(c1, 0)
    p1 = loop_pool(r1, 2, 2, "max")
    c2 = reference_conv(p1, w2, b2, border="replicate")
    for out, expected in zip(outs, (c1, r1, p1, c2, np.tanh(c2)), strict=True):
        np.testing.assert_allclose(out.map, expected, atol=1e-4, err_msg=out.name)


# --------------------------------------------------------------------------- activations, pool


@pytest.mark.parametrize("function", ["none", "relu", "abs", "leaky_relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("mode", ["max", "avg", "min"])
@pytest.mark.parametrize("lazy", [True, False])
def test_conv_activation_pool_block(function, mode, lazy):
    """The fused conv -> activation -> pool loop gives each layer's own result."""
    reference = {
        "none": lambda v: v,
        "relu": lambda v: np.maximum(v, 0),
        "abs": np.abs,
        "leaky_relu": lambda v: np.where(v > 0, v, 0.01 * v),
        "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
        "tanh": np.tanh,
    }[function]
    x = rand((15, 13, 2), seed=18)
    weights, bias = rand((3, 2, 3, 3), seed=19), rand(3, seed=20)
    network = Network((ConvLayer(weights, bias), ActivationLayer(function), PoolLayer(mode, 2)))
    conv, act, pooled = run_network(x, network, lazy=lazy)
    c = reference_conv(x, weights, bias)
    np.testing.assert_allclose(conv.map, c, atol=1e-5)
    np.testing.assert_allclose(act.map, reference(c), atol=1e-5)
    np.testing.assert_allclose(pooled.map, loop_pool(reference(c), 2, 2, mode), atol=1e-5)
    assert pooled.map.shape == (7, 6, 3)


@pytest.mark.parametrize("mode", ["max", "avg", "min"])
@pytest.mark.parametrize(("size", "stride"), [(2, 2), (3, 3), (3, 2), (2, 3), (4, 1), (1, 2)])
def test_pool_matches_explicit_loops(mode, size, stride):
    x = rand((11, 14, 3), seed=21)
    (out,) = run_network(x, Network((PoolLayer(mode, size, stride),)))
    np.testing.assert_allclose(out.map, loop_pool(x, size, stride, mode), atol=1e-6)


def test_softmax_over_channels_and_dense():
    x = rand((4, 5, 3), seed=22)
    dense_w, dense_b = rand((2, 60), seed=23), rand(2, seed=24)
    network = Network(
        (
            ActivationLayer("softmax", name="soft"),
            FlattenLayer(name="flat"),
            DenseLayer(dense_w, dense_b, name="fc"),
        )
    )
    soft, flat, fc = run_network(x, network)
    e = np.exp(x.astype(np.float64))
    expected = e / e.sum(axis=2, keepdims=True)
    np.testing.assert_allclose(soft.map, expected, atol=1e-6)
    np.testing.assert_allclose(flat.map, expected.reshape(-1), atol=1e-6)  # (H, W, C) order
    np.testing.assert_allclose(fc.map, dense_w @ expected.reshape(-1) + dense_b, atol=1e-5)
    assert flat.geometry is None and fc.geometry is None


def test_maps_are_float32_hwc_with_contiguous_planes():
    x = rand((30, 40), seed=25)
    network = Network(
        (ConvLayer(rand((8, 1, 3, 3)), name="c"), ActivationLayer(name="a"), PoolLayer(name="p"))
    )
    for out in run_network(x, network):
        assert out.map.dtype == np.float32
        assert out.map.shape[2] == 8
        assert out.map[:, :, 3].flags.c_contiguous


def test_earlier_results_survive_later_runs():
    """Output buffers are recycled only once nothing refers to them."""
    network = Network(
        (ConvLayer(rand((32, 1, 3, 3)), name="c"), ActivationLayer(name="a"), PoolLayer(name="p"))
    )
    first_image, second_image = rand((480, 640), seed=26), rand((480, 640), seed=27)
    first = run_network(first_image, network)
    kept = [out.map.copy() for out in first]
    for _ in range(3):
        run_network(second_image, network)  # results dropped: their buffers may be reused
    second = run_network(second_image, network)
    for out, copy in zip(first, kept, strict=True):
        np.testing.assert_array_equal(out.map, copy)
    assert not np.array_equal(second[0].map, first[0].map)
    plane = run_network(first_image, network)[0].map[:, :, 5]  # only a plane view kept
    run_network(second_image, network)
    np.testing.assert_array_equal(plane, kept[0][:, :, 5])
    unread = run_network(first_image, network)  # the ReLU map is computed when first read
    for _ in range(3):
        run_network(second_image, network)
    np.testing.assert_array_equal(unread[1].map, kept[1])


def test_core_network_does_not_import_qt():
    """core/ never imports Qt (tests/core/test_no_qt.py checks core/*.py, not sub-packages)."""
    folder = Path(network_pkg.__file__).parent
    modules = sorted(f"core.network.{p.stem}" for p in folder.glob("[!_]*.py"))
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'pyqtgraph', 'PyQt5', 'PyQt6', 'shiboken6')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert "core.network.run" in modules and "core.network.views" in modules


# ------------------------------------------------------------------------------- run errors


def test_first_conv_must_match_image_channels():
    network = Network((ConvLayer(rand((2, 3, 3, 3)), name="rgbconv"),))
    with pytest.raises(NetworkError, match=r"'rgbconv'.*3 input channel.*1"):
        run_network(rand((10, 10)), network)


def test_pool_that_no_longer_fits_names_the_layer():
    network = Network(
        (
            ConvLayer(rand((1, 1, 3, 3)), padding="valid", name="c1"),
            PoolLayer("max", 4, name="bigpool"),
        )
    )
    run_network(rand((6, 6)), network)  # 4x4 after the conv: fits
    with pytest.raises(NetworkError, match=r"'bigpool': a 4x4 window does not fit in the 3x3"):
        run_network(rand((5, 5)), network)


def test_conv_that_leaves_nothing_names_the_layer():
    network = Network((ConvLayer(rand((1, 1, 5, 5)), padding="valid", name="wide"),))
    with pytest.raises(
        NetworkError, match=r"'wide': a 5x5 kernel with padding 'valid' does not fit in the 4x9"
    ):
        run_network(rand((4, 9)), network)


def test_dense_size_mismatch_names_the_layer():
    network = Network((FlattenLayer(name="f"), DenseLayer(rand((2, 10)), name="fc")))
    with pytest.raises(NetworkError, match=r"'fc'.*10 inputs.*12"):
        run_network(rand((2, 6)), network)


def test_bad_image_shape():
    network = Network((PoolLayer(),))
    with pytest.raises(NetworkError, match="image"):
        run_network(np.zeros((2, 3, 4, 5), np.float32), network)
