"""The inspector's multi-channel sum, checked against explicit loops and the network's output."""

from __future__ import annotations

import numpy as np
import pytest

from core.explain import explain_conv_unit
from core.network import ConvLayer, Network, run_network


def _loop_sums(x, weights, row, col, stride, dilation, pad_top, pad_left):
    """Per input channel: sum over taps of x[r, c] * w, zero outside the input."""
    kh, kw = weights.shape[1:]
    sums = []
    for ch in range(x.shape[2]):
        total = 0.0
        for i in range(kh):
            for j in range(kw):
                r = row * stride - pad_top + i * dilation
                c = col * stride - pad_left + j * dilation
                if 0 <= r < x.shape[0] and 0 <= c < x.shape[1]:
                    total += float(x[r, c, ch]) * float(weights[ch, i, j])
        sums.append(total)
    return sums


@pytest.mark.parametrize(
    ("padding", "stride", "dilation", "pads"),
    # "same" with stride 2, dilation 2 on 11x13: a 5-wide field, 4 rows and 4 columns of
    # padding in all, 2 before (Keras puts an odd one after).
    [("valid", 1, 1, (0, 0)), ("same", 1, 1, (1, 1)), ("same", 2, 2, (2, 2)), (2, 1, 1, (2, 2))],
)
def test_each_channel_sum_matches_explicit_loops(padding, stride, dilation, pads):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(11, 13, 4)).astype(np.float32)
    weights = rng.normal(size=(5, 4, 3, 3)).astype(np.float32)
    bias = rng.normal(size=5).astype(np.float32)
    layer = ConvLayer(weights, bias, stride=stride, padding=padding, dilation=dilation, name="c")
    out = run_network(x, Network((layer,))).pop().map
    for row, col in [(0, 0), (out.shape[0] - 1, out.shape[1] - 1), (2, 3)]:
        exp = explain_conv_unit(x, layer, 4, row, col)
        expected = _loop_sums(x, weights[4], row, col, stride, dilation, *pads)
        np.testing.assert_allclose(exp.per_channel, expected, rtol=1e-6, atol=1e-9)
        assert exp.bias == pytest.approx(float(bias[4]))
        assert exp.total == pytest.approx(sum(expected) + float(bias[4]), abs=1e-5)
        assert exp.total == pytest.approx(float(out[row, col, 4]), abs=1e-4)


def test_a_reflected_border_reads_mirrored_pixels():
    x = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
    weights = np.zeros((1, 1, 3, 3), np.float32)
    weights[0, 0, 0, 0] = 1.0  # reads the pixel up-left of the centre
    layer = ConvLayer(weights, padding="same", border="reflect", name="c")
    exp = explain_conv_unit(x, layer, 0, 0, 0)
    # Up-left of (0, 0) mirrored without repeating the edge is (1, 1) = 5.
    assert exp.total == pytest.approx(5.0)
    assert exp.total == pytest.approx(float(run_network(x, Network((layer,)))[0].map[0, 0, 0]))
