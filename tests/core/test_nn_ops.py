"""Every layer's forward pass against an independent reference, and its backward pass against
central finite differences in float64 (relative error < 1e-5)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import correlate2d

from core.nn import ops

TOLERANCE = 1e-5


def numeric_gradient(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d x by central differences, one element at a time."""
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    return float(np.abs(analytic - numeric).max() / max(np.abs(numeric).max(), 1e-12))


# --- conv --------------------------------------------------------------------------------------


def reference_conv(x, weights, bias, stride, padding, dilation, border):
    """Per image, per output channel: sum over input channels of scipy's valid correlate2d of
    the padded channel with the dilated kernel, then every stride-th sample."""
    kh, kw = weights.shape[2:]
    k_eff = ((kh - 1) * dilation + 1, (kw - 1) * dilation + 1)
    pads = []
    for n, k in zip(x.shape[1:3], k_eff, strict=True):
        if padding == "valid":
            pads.append((0, 0))
        elif padding == "full":
            pads.append((k - 1, k - 1))
        elif padding == "same":
            out = -(-n // stride)
            total = max((out - 1) * stride + k - n, 0)
            pads.append((total // 2, total - total // 2))
        else:
            pads.append((padding, padding))
    mode = {"zero": "constant", "reflect": "reflect", "replicate": "edge", "wrap": "wrap"}[border]
    results = []
    for image in x:
        padded = np.pad(image, (*pads, (0, 0)), mode=mode)
        maps = []
        for o in range(weights.shape[0]):
            total = 0
            for c in range(weights.shape[1]):
                kernel = np.zeros(k_eff)
                kernel[::dilation, ::dilation] = weights[o, c]
                total = total + correlate2d(padded[:, :, c], kernel, mode="valid")
            maps.append(total[::stride, ::stride] + bias[o])
        results.append(np.stack(maps, axis=-1))
    return np.stack(results)


CONV_CASES = [
    # (input h, w, in channels, out channels, kernel, stride, padding, dilation, border)
    (7, 6, 2, 3, (3, 3), 1, "same", 1, "zero"),
    (7, 6, 2, 3, (3, 3), 1, "valid", 1, "zero"),
    (8, 7, 1, 2, (3, 3), 2, "same", 1, "zero"),
    (8, 7, 2, 2, (3, 2), 2, "valid", 1, "zero"),
    (9, 8, 2, 2, (3, 3), 1, "same", 2, "zero"),
    (7, 7, 1, 2, (5, 5), 1, "full", 1, "zero"),
    (6, 7, 2, 2, (3, 3), 1, 2, 1, "zero"),
    (7, 6, 2, 2, (3, 3), 1, "same", 1, "reflect"),
    (7, 6, 1, 2, (3, 3), 2, "same", 1, "replicate"),
    (6, 6, 2, 2, (3, 3), 1, 2, 1, "wrap"),
]


def conv_inputs(case, dtype=np.float64, seed=0):
    h, w, c, o, kernel, stride, padding, dilation, border = case
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, h, w, c)).astype(dtype)
    weights = rng.normal(size=(o, c, *kernel)).astype(dtype)
    bias = rng.normal(size=o).astype(dtype)
    spec = ops.conv_spec((h, w), kernel, stride, padding, dilation, border)
    return x, weights, bias, spec


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_forward_matches_scipy_correlate2d(case):
    x, weights, bias, spec = conv_inputs(case)
    out, _ = ops.conv_forward(x, weights, bias, spec)
    expected = reference_conv(x, weights, bias, *case[5:])
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_gradients_match_finite_differences(case):
    x, weights, bias, spec = conv_inputs(case)
    out, cache = ops.conv_forward(x, weights, bias, spec)
    probe = np.random.default_rng(1).normal(size=out.shape)  # loss = sum(out * probe)

    def loss():
        return float((ops.conv_forward(x, weights, bias, spec)[0] * probe).sum())

    gx, gw, gb = ops.conv_backward(probe, cache)
    assert relative_error(gx, numeric_gradient(loss, x)) < TOLERANCE
    assert relative_error(gw, numeric_gradient(loss, weights)) < TOLERANCE
    assert relative_error(gb, numeric_gradient(loss, bias)) < TOLERANCE


def test_conv_keeps_float32():
    x, weights, bias, spec = conv_inputs(CONV_CASES[0], np.float32)
    out, cache = ops.conv_forward(x, weights, bias, spec)
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in ops.conv_backward(np.ones_like(out), cache))


# --- pool --------------------------------------------------------------------------------------


def reference_pool(x, size, stride, mode):
    b, h, w, c = x.shape
    oh, ow = (h - size) // stride + 1, (w - size) // stride + 1
    reduce = {"max": np.max, "min": np.min, "avg": np.mean}[mode]
    out = np.zeros((b, oh, ow, c))
    for n in range(b):
        for i in range(oh):
            for j in range(ow):
                for k in range(c):
                    window = x[n, i * stride : i * stride + size, j * stride : j * stride + size, k]
                    out[n, i, j, k] = reduce(window)
    return out


POOL_CASES = [
    (2, 2, "max"),
    (2, 2, "min"),
    (2, 2, "avg"),
    (3, 2, "max"),
    (3, 1, "avg"),
    (3, 3, "min"),
]


@pytest.mark.parametrize(("size", "stride", "mode"), POOL_CASES)
def test_pool_forward_matches_loops(size, stride, mode):
    x = np.random.default_rng(2).normal(size=(2, 7, 8, 3))
    out, _ = ops.pool_forward(x, size, stride, mode)
    np.testing.assert_allclose(out, reference_pool(x, size, stride, mode), rtol=1e-12)


@pytest.mark.parametrize(("size", "stride", "mode"), POOL_CASES)
def test_pool_gradient_matches_finite_differences(size, stride, mode):
    x = np.random.default_rng(3).normal(size=(2, 7, 8, 2))
    out, cache = ops.pool_forward(x, size, stride, mode)
    probe = np.random.default_rng(4).normal(size=out.shape)

    def loss():
        return float((ops.pool_forward(x, size, stride, mode)[0] * probe).sum())

    assert relative_error(ops.pool_backward(probe, cache), numeric_gradient(loss, x)) < TOLERANCE


def test_max_pool_tie_sends_the_gradient_to_one_pixel():
    # A blank patch (every conv output equal to the bias) must not get the gradient 4 times.
    x = np.zeros((1, 2, 2, 1))
    out, cache = ops.pool_forward(x, 2, 2, "max")
    grad = ops.pool_backward(np.ones_like(out), cache)
    assert grad.sum() == 1.0
    assert grad[0, 0, 0, 0] == 1.0


# --- activations, flatten, dense, loss -----------------------------------------------------


REFERENCE_ACTIVATIONS = {
    "none": lambda v: v,
    "relu": lambda v: v if v > 0 else 0.0,
    "abs": abs,
    "leaky_relu": lambda v: v if v > 0 else 0.01 * v,
    "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
    "tanh": np.tanh,
}


@pytest.mark.parametrize("function", [*REFERENCE_ACTIVATIONS, "softmax"])
def test_activation_forward_and_gradient(function):
    x = np.random.default_rng(5).normal(size=(2, 3, 4, 5))
    out, cache = ops.activation_forward(x, function)
    if function == "softmax":
        e = np.exp(x)
        np.testing.assert_allclose(out, e / e.sum(axis=-1, keepdims=True), rtol=1e-12)
    else:
        expected = np.vectorize(REFERENCE_ACTIVATIONS[function])(x)
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-15)
    probe = np.random.default_rng(6).normal(size=out.shape)

    def loss():
        return float((ops.activation_forward(x, function)[0] * probe).sum())

    grad = ops.activation_backward(probe, cache)
    assert relative_error(grad, numeric_gradient(loss, x)) < TOLERANCE


def test_dense_forward_and_gradients():
    rng = np.random.default_rng(7)
    x, weights, bias = rng.normal(size=(3, 6)), rng.normal(size=(4, 6)), rng.normal(size=4)
    out, cache = ops.dense_forward(x, weights, bias)
    for n in range(3):
        for o in range(4):
            expected = sum(weights[o, i] * x[n, i] for i in range(6)) + bias[o]
            assert out[n, o] == pytest.approx(expected, rel=1e-12)
    probe = rng.normal(size=out.shape)

    def loss():
        return float((ops.dense_forward(x, weights, bias)[0] * probe).sum())

    gx, gw, gb = ops.dense_backward(probe, cache)
    assert relative_error(gx, numeric_gradient(loss, x)) < TOLERANCE
    assert relative_error(gw, numeric_gradient(loss, weights)) < TOLERANCE
    assert relative_error(gb, numeric_gradient(loss, bias)) < TOLERANCE


def test_cross_entropy_value_and_gradient():
    rng = np.random.default_rng(8)
    logits, labels = rng.normal(size=(4, 10)) * 3, np.array([0, 3, 9, 3])
    loss, grad, p = ops.cross_entropy(logits, labels)
    expected = np.mean([-logits[n, labels[n]] + np.log(np.exp(logits[n]).sum()) for n in range(4)])
    assert loss == pytest.approx(expected, rel=1e-12)
    numeric = numeric_gradient(lambda: ops.cross_entropy(logits, labels)[0], logits)
    assert relative_error(grad, numeric) < TOLERANCE
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_cross_entropy_survives_huge_logits():
    loss, grad, _ = ops.cross_entropy(np.array([[1000.0, 0.0], [0.0, 1000.0]]), np.array([0, 0]))
    assert np.isfinite(loss) and loss == pytest.approx(500.0)
    assert np.isfinite(grad).all()
