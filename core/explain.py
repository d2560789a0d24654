"""The lecture's "sum of 9 multiplications" for one convolution output pixel.

Rebuilds, from the input alone, the k x k values the kernel saw (padding included), the
weights applied, their products and the sum, so the inspector can show the arithmetic. For a
network's conv unit (:func:`explain_conv_unit`) the sum runs over every input channel: one
sum per channel, then their total plus the bias.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.network.layers import ConvLayer
from core.ops import effective_kernel_size, padding_amounts
from core.pipeline import PipelineResult


@dataclass(frozen=True, eq=False)
class PixelExplanation:
    row: int
    col: int
    values: np.ndarray  # (kh, kw) or (kh, kw, C): input samples under the taps
    weights: np.ndarray  # (kh, kw): weights as applied (scale included, flipped if flip)
    products: np.ndarray  # values * weights
    bias: float
    output: np.ndarray  # sum of products + bias: scalar, or per channel for 'per-channel'


def _source_index(idx: np.ndarray, n: int, border: str) -> tuple[np.ndarray, np.ndarray]:
    """Map possibly out-of-range indices to image indices; second array marks zero padding."""
    inside = (idx >= 0) & (idx < n)
    if border == "zero":
        return np.clip(idx, 0, n - 1), ~inside
    if border == "replicate":
        return np.clip(idx, 0, n - 1), np.zeros_like(inside)
    if border == "wrap":
        return np.mod(idx, n), np.zeros_like(inside)
    # reflect without repeating the edge: period 2(n-1)
    if n == 1:
        return np.zeros_like(idx), np.zeros_like(inside)
    period = 2 * (n - 1)
    m = np.mod(idx, period)
    return np.where(m < n, m, period - m), np.zeros_like(inside)


def explain_pixel(result: PipelineResult, row: int, col: int) -> PixelExplanation:
    """Values, weights, products and sum behind ``result.conv[row, col]``."""
    settings, geom = result.settings, result.geometry.conv
    kh, kw = result.kernel.shape
    d = settings.dilation
    top, left, _, _ = geom.receptive_field(row, col)
    image = result.image
    rows, zero_r = _source_index(top + d * np.arange(kh), image.shape[0], settings.border)
    cols, zero_c = _source_index(left + d * np.arange(kw), image.shape[1], settings.border)
    values = image[np.ix_(rows, cols)].astype(np.float64)
    padding = zero_r[:, None] | zero_c[None, :]
    values[padding] = 0.0
    weights = result.kernel.weights * result.kernel.scale
    if settings.flip:
        weights = weights[::-1, ::-1]
    products = values * (weights[:, :, None] if values.ndim == 3 else weights)
    summed = products.sum(axis=(0, 1))
    if settings.color == "rgb" and np.ndim(summed) == 1:
        summed = summed.sum()  # one Conv2D unit: channels add up
    bias = result.kernel.bias
    return PixelExplanation(row, col, values, weights, products, bias, np.asarray(summed + bias))


@dataclass(frozen=True, eq=False)
class PoolExplanation:
    """The pooling window behind ``result.pooled[row, col]``: activated values and the winner."""

    row: int
    col: int
    mode: str  # "max", "min" or "avg"
    values: np.ndarray  # (size, size) or (size, size, C): the activated map under the window
    top: int  # (top, left) of the window in the activated map
    left: int
    output: np.ndarray  # the pooled value: scalar, or per channel
    winner: tuple[int, int] | None  # (r, c) in the window that won (max/min, first channel)


def explain_pool(result: PipelineResult, row: int, col: int) -> PoolExplanation:
    """Values and winner of the pooling window behind ``result.pooled[row, col]``.

    Raises
    ------
    ValueError
        If the result has no pooling.
    """
    settings = result.settings
    if result.pooled is None:
        raise ValueError("this layer has no pooling")
    size, stride = settings.pool_size, settings.effective_pool_stride
    top, left = row * stride, col * stride
    values = result.activated[top : top + size, left : left + size].astype(np.float64)
    first = values[:, :, 0] if values.ndim == 3 else values
    winner = None
    if settings.pool_mode in ("max", "min"):
        flat = np.argmax(first) if settings.pool_mode == "max" else np.argmin(first)
        r, c = np.unravel_index(flat, first.shape)
        winner = (int(r), int(c))
    output = np.asarray(result.pooled[row, col], dtype=np.float64)
    return PoolExplanation(row, col, settings.pool_mode, values, top, left, output, winner)


@dataclass(frozen=True, eq=False)
class ConvUnitExplanation:
    """The sum behind one unit of a network's conv layer, input channel by input channel.

    ``per_channel[c]`` is the sum of the products of input channel ``c``'s window with the
    filter's slice for ``c``; the unit is their total plus the filter's bias.
    """

    layer: str
    channel: int  # the output channel (the map)
    row: int
    col: int
    values: np.ndarray  # (kh, kw, C): the layer's input under the taps (0 where zero-padded)
    weights: np.ndarray  # (kh, kw, C): the filter, one slice per input channel
    per_channel: np.ndarray  # (C,) float64
    bias: float

    @property
    def total(self) -> float:
        """The unit's value: every channel's sum, plus the bias."""
        return float(self.per_channel.sum() + self.bias)


def explain_conv_unit(
    source: np.ndarray, layer: ConvLayer, channel: int, row: int, col: int
) -> ConvUnitExplanation:
    """Rebuild unit (``row``, ``col``) of map ``channel`` of ``layer`` from its input alone.

    Parameters
    ----------
    source : np.ndarray
        The layer's input, (H, W, C) (or (H, W) for one channel): the previous layer's
        output, or the image as the network's first layer saw it.
    layer : ConvLayer
        The conv layer (its padding, stride, dilation and border are honoured).
    """
    x = source[:, :, None] if source.ndim == 2 else source
    kh, kw = layer.kernel_size
    d = layer.dilation
    pads = [
        padding_amounts(n, effective_kernel_size(k, d), layer.stride, layer.padding)[0]
        for n, k in zip(x.shape[:2], (kh, kw), strict=True)
    ]
    top, left = row * layer.stride - pads[0], col * layer.stride - pads[1]
    rows, zero_r = _source_index(top + d * np.arange(kh), x.shape[0], layer.border)
    cols, zero_c = _source_index(left + d * np.arange(kw), x.shape[1], layer.border)
    values = x[np.ix_(rows, cols)].astype(np.float64)
    values[zero_r[:, None] | zero_c[None, :]] = 0.0
    weights = np.asarray(layer.weights[channel], dtype=np.float64).transpose(1, 2, 0)
    per_channel = (values * weights).sum(axis=(0, 1))
    bias = float(layer.bias[channel])
    return ConvUnitExplanation(layer.name, channel, row, col, values, weights, per_channel, bias)
