"""Per-plane kernels of the engine: each works on one contiguous (H, W) float32 plane.

``run_network`` (core.network.run) calls these channel by channel so every OpenCV call reads
and writes one plane that fits in the cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from weakref import WeakKeyDictionary

import cv2
import numpy as np

from core.network.layers import ConvLayer, NetworkError, PoolLayer
from core.ops import _CV_BORDER as CV_BORDER
from core.ops import (
    _CV_MAX_CHANNELS,
    activate,
    effective_kernel_size,
    output_length,
    padding_amounts,
    pool,
)
from core.ops import _pad as pad_plane

_OPENCV_BORDERS = ("zero", "reflect", "replicate")  # the ones cv2.filter2D pads by itself


def plane(x: np.ndarray, c: int) -> np.ndarray:
    """Channel ``c`` of an (H, W, C) map as a 2-D array OpenCV takes without copying."""
    out = x[:, :, c]
    if out.strides[1] != out.itemsize:
        out = np.ascontiguousarray(out)
    return out


def chw(x: np.ndarray) -> np.ndarray:
    """The (C, H, W) planes of an (H, W, C) map; a view when each plane has contiguous rows."""
    planes = x.transpose(2, 0, 1)
    if planes.strides[2] != planes.itemsize:
        planes = np.ascontiguousarray(planes)
    return planes


@dataclass(frozen=True, eq=False)
class Bank:
    """A conv layer's weights as the engine uses them, prepared once per layer."""

    taps: tuple[int, int]  # kernel extent after dilation
    used: list[list[int]]  # per output channel, the input channels with a non-zero slice
    kernels: list[list[np.ndarray]]  # the matching contiguous (dilated) 2-D kernels
    bias: list[float]
    shared: np.ndarray | None  # the one kernel of a per-channel bank (see _shared_kernel)


_banks: WeakKeyDictionary[ConvLayer, Bank] = WeakKeyDictionary()


def _shared_kernel(layer: ConvLayer) -> np.ndarray | None:
    """The kernel of a diagonal bank applying one kernel and bias to each of 2-4 channels
    (the workbench's per-channel colour mode), which OpenCV filters in a single call."""
    out_c, in_c = layer.weights.shape[:2]
    if out_c != in_c or not 2 <= in_c <= _CV_MAX_CHANNELS or (layer.bias != layer.bias[0]).any():
        return None
    diagonal = layer.weights[np.arange(in_c), np.arange(in_c)]
    off = layer.weights.copy()
    off[np.arange(in_c), np.arange(in_c)] = 0
    if off.any() or (diagonal != diagonal[0]).any():
        return None
    return diagonal[0]


def conv_bank(layer: ConvLayer) -> Bank:
    """The prepared weights of ``layer``, computed on first use and kept while it lives."""
    bank = _banks.get(layer)
    if bank is not None:
        return bank
    d = layer.dilation
    weights = layer.weights
    kh, kw = (effective_kernel_size(k, d) for k in layer.kernel_size)
    if d > 1:
        weights = np.zeros((*weights.shape[:2], kh, kw), np.float32)
        weights[:, :, ::d, ::d] = layer.weights
    # A colour filter bank is often diagonal (each output reads one input channel): the
    # all-zero (o, c) slices cost a filter2D each for nothing.
    used = [np.flatnonzero(np.any(w != 0, axis=(1, 2))).tolist() for w in weights]
    bank = Bank(
        taps=(kh, kw),
        used=used,
        kernels=[[np.ascontiguousarray(weights[o, c]) for c in cs] for o, cs in enumerate(used)],
        bias=[float(b) for b in layer.bias],
        shared=_shared_kernel(layer),
    )
    _banks[layer] = bank
    return bank


def conv_planes(
    x: np.ndarray, layer: ConvLayer
) -> tuple[tuple[int, int], Callable, tuple[int, int]]:
    """The output (height, width) of ``layer`` on ``x``, a function writing plane o, and the
    shape of the plane it writes best.

    ``write(o, dst)`` fills the (height, width) float32 array ``dst`` with output channel o:
    the sum over input channels c of correlate(x[..., c], weights[o, c]) + bias[o]. At stride 1
    ``dst`` may instead be a plane of the third shape (the filtered size), whose top-left
    (height, width) corner is then the output: OpenCV filters into it directly, saving the
    copy of every plane that a 'valid' layer would cost otherwise.
    """
    if x.shape[2] != layer.in_channels:
        raise NetworkError(
            f"layer {layer.name!r}: takes {layer.in_channels} input channel(s), "
            f"but its input has {x.shape[2]}"
        )
    h, w = x.shape[:2]
    s = layer.stride
    bank = conv_bank(layer)
    kh, kw = bank.taps
    used, kernels, bias = bank.used, bank.kernels, bank.bias
    pad_y = padding_amounts(h, kh, s, layer.padding)
    pad_x = padding_amounts(w, kw, s, layer.padding)
    out_h, out_w = output_length(h, kh, s, pad_y), output_length(w, kw, s, pad_x)

    centred = pad_y == ((kh - 1) // 2, kh // 2) and pad_x == ((kw - 1) // 2, kw // 2)
    if centred and layer.border in _OPENCV_BORDERS and kh <= h and kw <= w:
        # 'same' at stride 1 (the common case): OpenCV pads as it filters, no copy.
        sources = [plane(x, c) for c in range(x.shape[2])]
        anchor = ((kw - 1) // 2, (kh - 1) // 2)
        border = CV_BORDER[layer.border]
    else:
        # Pad once (numpy/OpenCV rules of core.ops), then a valid correlation anchored at
        # the top-left tap: output (y, x) sums padded[y:y+kh, x:x+kw] * kernel.
        pads = (*pad_y, *pad_x)
        sources = [pad_plane(plane(x, c), pads, layer.border) for c in range(x.shape[2])]
        anchor = (0, 0)
        border = cv2.BORDER_CONSTANT
    full_shape = sources[0].shape
    exact = s == 1 and full_shape == (out_h, out_w)
    scratch = None if exact else np.empty(full_shape, np.float32)
    extra = np.empty(full_shape, np.float32) if max(map(len, used)) > 1 else None

    def write(o: int, dst: np.ndarray) -> None:
        whole = exact or (s == 1 and dst.shape == full_shape)
        target = dst if whole else scratch
        cs = used[o]
        if len(cs) == 0:
            target.fill(bias[o])
        else:
            # delta adds the bias in the same pass.
            cv2.filter2D(
                sources[cs[0]], -1, kernels[o][0], dst=target, anchor=anchor,
                delta=bias[o], borderType=border,
            )  # fmt: skip
            for c, kernel in zip(cs[1:], kernels[o][1:], strict=True):
                cv2.filter2D(sources[c], -1, kernel, dst=extra, anchor=anchor, borderType=border)
                cv2.add(target, extra, dst=target)
        if not whole:
            dst[...] = scratch[: (out_h - 1) * s + 1 : s, : (out_w - 1) * s + 1 : s]

    return (out_h, out_w), write, full_shape if s == 1 else (out_h, out_w)


def pool_plane(src: np.ndarray, dst: np.ndarray, layer: PoolLayer) -> None:
    """Pool the plane ``src`` into ``dst`` (already shaped as the pooled plane)."""
    size, stride = layer.size, layer.stride
    assert stride is not None
    if layer.mode != "avg" and stride >= size and size <= 3:
        # Non-overlapping small windows: elementwise max/min of strided views (as
        # core.ops.pool does). Rows first, whose views keep contiguous rows, into a strip of
        # whole rows; then its columns, straight into the output plane: about twice as fast
        # as reducing the size*size doubly strided views one after another.
        out_h, out_w = dst.shape
        reduce = np.maximum if layer.mode == "max" else np.minimum
        rows, cols = (out_h - 1) * stride + 1, (out_w - 1) * stride + 1
        if size == 1:
            dst[...] = src[:rows:stride, :cols:stride]
            return
        width = cols + size - 1  # the columns the windows read
        strip = np.empty((out_h, width), np.float32)
        reduce(src[0:rows:stride, :width], src[1 : 1 + rows : stride, :width], out=strip)
        for dy in range(2, size):
            reduce(strip, src[dy : dy + rows : stride, :width], out=strip)
        reduce(strip[:, 0:cols:stride], strip[:, 1 : 1 + cols : stride], out=dst)
        for dx in range(2, size):
            reduce(dst, strip[:, dx : dx + cols : stride], out=dst)
        return
    dst[...] = pool(src, size=size, stride=stride, mode=layer.mode)  # type: ignore[arg-type]


def activate_plane(src: np.ndarray, dst: np.ndarray, function: str) -> None:
    """``dst = function(src)`` for a ``core.ops.activate`` name; ``dst`` may be ``src``."""
    if function == "relu":
        cv2.threshold(src, 0, 0, cv2.THRESH_TOZERO, dst=dst)
    elif function == "none":
        if dst is not src:
            dst[...] = src
    else:
        dst[...] = activate(src, function)
