"""The lecture's "sum of 9 multiplications" for one convolution output pixel.

Rebuilds, from the input alone, the k x k values the kernel saw (padding included), the
weights applied, their products and the sum, so the inspector can show the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
