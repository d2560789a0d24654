"""The three operations of a CNN layer: convolution, activation and pooling.

Everything here computes what deep-learning frameworks compute (cross-correlation, Keras
'same' padding, 'valid' pooling) and delegates the inner loops to OpenCV, so the engine adds
almost nothing to the cost of ``cv2.filter2D`` / ``cv2.dilate``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import cv2
import numpy as np

Padding = Literal["valid", "same", "full"] | int
Border = Literal["zero", "reflect", "replicate", "wrap"]
PoolMode = Literal["max", "avg", "min"]

PADDINGS = ("same", "valid", "full")
BORDERS = ("zero", "reflect", "replicate", "wrap")
POOL_MODES = ("max", "avg", "min")
ACTIVATIONS = ("none", "relu", "abs", "leaky_relu", "sigmoid", "tanh")

# "reflect" is numpy's reflect: mirror without repeating the edge pixel (OpenCV's REFLECT_101).
_CV_BORDER = {
    "zero": cv2.BORDER_CONSTANT,
    "reflect": cv2.BORDER_REFLECT_101,
    "replicate": cv2.BORDER_REPLICATE,
    "wrap": cv2.BORDER_WRAP,
}
_FAST_BORDERS = ("zero", "reflect", "replicate")  # the ones cv2.filter2D handles itself
_NP_PAD_MODE = {"zero": "constant", "reflect": "reflect", "replicate": "edge", "wrap": "wrap"}
# OpenCV's filters accept at most 4 channels per call; wider inputs are filtered per channel.
_CV_MAX_CHANNELS = 4


def effective_kernel_size(size: int, dilation: int) -> int:
    """Extent of a kernel of ``size`` taps spread ``dilation`` pixels apart."""
    return (size - 1) * dilation + 1


def padding_amounts(n: int, k_eff: int, stride: int, padding: Padding) -> tuple[int, int]:
    """Rows (or columns) of padding before and after an axis of length ``n``.

    'same' follows Keras/TensorFlow: the output has ``ceil(n / stride)`` samples and, when the
    total padding is odd, the extra one goes after (bottom/right).
    """
    if isinstance(padding, bool) or not isinstance(padding, (int, str)):
        raise ValueError(f"padding must be 'same', 'valid', 'full' or an int, not {padding!r}")
    if isinstance(padding, int):
        if padding < 0:
            raise ValueError(f"padding must be >= 0, not {padding}")
        return padding, padding
    if padding == "valid":
        return 0, 0
    if padding == "full":
        return k_eff - 1, k_eff - 1
    if padding == "same":
        out = math.ceil(n / stride)
        total = max((out - 1) * stride + k_eff - n, 0)
        return total // 2, total - total // 2
    raise ValueError(f"padding must be 'same', 'valid', 'full' or an int, not {padding!r}")


def output_length(n: int, k_eff: int, stride: int, pad: tuple[int, int]) -> int:
    """Number of outputs along an axis (0 when the kernel does not fit)."""
    span = n + pad[0] + pad[1] - k_eff
    return span // stride + 1 if span >= 0 else 0


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, not {value!r}")


def _as_float_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image must be a non-empty (H, W) or (H, W, C) array, not {image.shape}")
    return np.ascontiguousarray(image, dtype=np.float32)


def _dilate_kernel(kernel: np.ndarray, dilation: int) -> np.ndarray:
    """Spread the taps ``dilation`` pixels apart (zeros in between), as atrous convolution does."""
    if dilation == 1:
        return kernel
    kh, kw = kernel.shape[:2]
    out = np.zeros(
        (
            effective_kernel_size(kh, dilation),
            effective_kernel_size(kw, dilation),
            *kernel.shape[2:],
        ),
        np.float32,
    )
    out[::dilation, ::dilation] = kernel
    return out


def _pad(image: np.ndarray, pads: tuple[int, int, int, int], border: Border) -> np.ndarray:
    top, bottom, left, right = pads
    if not any(pads):
        return image
    h, w = image.shape[:2]
    # OpenCV cannot mirror or wrap by more than the image itself; numpy repeats as needed.
    if border == "zero" or (max(top, bottom) < h and max(left, right) < w):
        out = cv2.copyMakeBorder(image, top, bottom, left, right, _CV_BORDER[border], value=0)
        return out[:, :, None] if image.ndim == 3 and out.ndim == 2 else out  # keep (H, W, 1)
    widths = ((top, bottom), (left, right)) + ((0, 0),) * (image.ndim - 2)
    return np.pad(image, widths, mode=_NP_PAD_MODE[border])


def _correlate_valid(padded: np.ndarray, kernel2d: np.ndarray) -> np.ndarray:
    """Valid cross-correlation of a padded (H, W) or (H, W, C<=4) image with a 2-D kernel."""
    kh, kw = kernel2d.shape
    h, w = padded.shape[:2]
    # Anchor at the top-left tap: output (y, x) then sums padded[y:y+kh, x:x+kw] * kernel, and
    # rows beyond h-kh (which would read OpenCV's own border) are cropped off.
    out = cv2.filter2D(padded, -1, kernel2d, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
    return out[: h - kh + 1, : w - kw + 1]


def _filter_channels(padded: np.ndarray, kernel2d: np.ndarray) -> np.ndarray:
    if padded.ndim == 2 or padded.shape[2] <= _CV_MAX_CHANNELS:
        out = _correlate_valid(padded, kernel2d)
        if padded.ndim == 3 and out.ndim == 2:  # OpenCV drops a trailing axis of length 1
            out = out[:, :, None]
        return out
    return np.stack(
        [_correlate_valid(padded[:, :, c], kernel2d) for c in range(padded.shape[2])], axis=-1
    )


def convolve(
    image: np.ndarray,
    kernel: np.ndarray,
    *,
    stride: int = 1,
    dilation: int = 1,
    padding: Padding = "same",
    border: Border = "zero",
    flip: bool = False,
) -> np.ndarray:
    """Slide ``kernel`` over ``image`` the way a Conv2D layer does.

    Parameters
    ----------
    image
        (H, W) or (H, W, C) array.
    kernel
        (kh, kw): filters each channel on its own, so the output keeps the image's shape
        (apart from stride and padding). (kh, kw, C): one Conv2D unit, whose per-channel
        responses are summed into a single (H', W') map.
    stride, dilation
        Step between outputs and spacing between kernel taps (both >= 1).
    padding
        'valid', 'same' (Keras rule: ceil(n / stride) outputs, extra pad bottom/right),
        'full', or a number of pixels added on every side.
    border
        What the padding holds: 'zero', 'reflect' (no edge repeat), 'replicate', 'wrap'.
    flip
        False computes cross-correlation (what Conv2D computes); True flips the kernel first,
        giving mathematical convolution.

    Returns
    -------
    np.ndarray
        float32 feature map.
    """
    if (
        stride == 1
        and dilation == 1
        and padding == "same"
        and border in _FAST_BORDERS
        and isinstance(image, np.ndarray)
        and image.dtype == np.float32
        and image.ndim == 2
        and isinstance(kernel, np.ndarray)
        and kernel.dtype == np.float32
        and kernel.ndim == 2
        and kernel.shape[0] <= image.shape[0]
        and kernel.shape[1] <= image.shape[1]
        and np.isfinite(kernel).all()
    ):
        # The live-video case, checked first: the general path's validation costs ~20 us per
        # call, which is 5% of a 640x480 3x3 filter2D.
        if flip:
            kernel = kernel[::-1, ::-1]
        kh, kw = kernel.shape
        return cv2.filter2D(
            image,
            -1,
            kernel,
            anchor=((kw - 1) // 2, (kh - 1) // 2),
            borderType=_CV_BORDER[border],
        )
    _check_positive_int("stride", stride)
    _check_positive_int("dilation", dilation)
    if border not in _CV_BORDER:
        raise ValueError(f"border must be one of {', '.join(BORDERS)}, not {border!r}")
    image = _as_float_image(image)
    kernel = np.asarray(kernel, dtype=np.float32)
    if kernel.ndim not in (2, 3) or min(kernel.shape) < 1:
        raise ValueError(
            f"kernel must be a non-empty (kh, kw) or (kh, kw, C) array, not {kernel.shape}"
        )
    if not np.isfinite(kernel).all():
        raise ValueError("kernel contains NaN or infinite weights")
    if kernel.ndim == 3:
        channels = image.shape[2] if image.ndim == 3 else 1
        if kernel.shape[2] != channels:
            raise ValueError(
                f"a {kernel.shape[0]}x{kernel.shape[1]}x{kernel.shape[2]} kernel needs an image "
                f"with {kernel.shape[2]} channels, not {channels}"
            )
        if image.ndim == 2:  # a (kh, kw, 1) kernel on an (H, W) image: index it as (H, W, 1)
            image = image[:, :, None]
    if flip:
        kernel = kernel[::-1, ::-1]
    kernel = np.ascontiguousarray(_dilate_kernel(kernel, dilation))
    kh, kw = kernel.shape[:2]
    h, w = image.shape[:2]
    pad_y = padding_amounts(h, kh, stride, padding)
    pad_x = padding_amounts(w, kw, stride, padding)
    out_h, out_w = output_length(h, kh, stride, pad_y), output_length(w, kw, stride, pad_x)
    if out_h == 0 or out_w == 0:
        raise ValueError(
            f"a {kh}x{kw} kernel (after dilation) does not fit in the {h}x{w} image "
            f"with padding {padding!r}"
        )

    centred = pad_y == ((kh - 1) // 2, kh // 2) and pad_x == ((kw - 1) // 2, kw // 2)
    if kernel.ndim == 2 and stride == 1 and centred and border != "wrap" and kh <= h and kw <= w:
        # The common case ('same', stride 1): one filter2D call with OpenCV doing the border.
        if image.ndim == 2 or image.shape[2] <= _CV_MAX_CHANNELS:
            out = cv2.filter2D(
                image,
                -1,
                kernel,
                anchor=((kw - 1) // 2, (kh - 1) // 2),
                borderType=_CV_BORDER[border],
            )
            return out[:, :, None] if image.ndim == 3 and out.ndim == 2 else out

    padded = _pad(image, (*pad_y, *pad_x), border)
    if kernel.ndim == 2:
        out = _filter_channels(padded, kernel)
    else:
        out = np.zeros(padded.shape[:2], np.float32)
        out = out[: padded.shape[0] - kh + 1, : padded.shape[1] - kw + 1].copy()
        for c in range(kernel.shape[2]):
            out += _correlate_valid(np.ascontiguousarray(padded[:, :, c]), kernel[:, :, c].copy())
    if stride > 1:
        out = out[::stride, ::stride]
    return np.ascontiguousarray(out[:out_h, :out_w])


_POOL_OPS: dict[str, Callable[..., np.ndarray]] = {
    "max": lambda x, k: cv2.dilate(x, k, anchor=(0, 0), borderType=cv2.BORDER_REPLICATE),
    "min": lambda x, k: cv2.erode(x, k, anchor=(0, 0), borderType=cv2.BORDER_REPLICATE),
    "avg": lambda x, k: cv2.blur(x, k.shape[::-1], anchor=(0, 0), borderType=cv2.BORDER_REPLICATE),
}


_STRIDED_POOL_MAX_PIXELS = 2_000_000


def pool(
    x: np.ndarray, *, size: int = 2, stride: int | None = None, mode: PoolMode = "max"
) -> np.ndarray:
    """Downsample ``x`` by taking the max, mean or min of each ``size`` x ``size`` window.

    Windows start every ``stride`` pixels (default: ``size``, so they tile); windows that do
    not fit inside ``x`` are dropped, as Keras ``MaxPooling2D(padding='valid')`` does.
    (H, W, C) input is pooled per channel. 'max' and 'min' keep the input's dtype; 'avg'
    returns float32.
    """
    _check_positive_int("pool size", size)
    stride = size if stride is None else stride
    _check_positive_int("pool stride", stride)
    if mode not in _POOL_OPS:
        raise ValueError(f"pool mode must be one of {', '.join(POOL_MODES)}, not {mode!r}")
    x = np.asarray(x)
    if x.ndim not in (2, 3):
        raise ValueError(f"pool needs an (H, W) or (H, W, C) array, not {x.shape}")
    h, w = x.shape[:2]
    if h < size or w < size:
        raise ValueError(f"a {size}x{size} pooling window does not fit in a {h}x{w} map")
    out_h, out_w = (h - size) // stride + 1, (w - size) // stride + 1
    if mode == "avg" or x.dtype not in (np.uint8, np.uint16, np.int16, np.float32, np.float64):
        x = x.astype(np.float32)
    x = np.ascontiguousarray(x)
    if mode != "avg" and stride >= size and size <= 3 and h * w < _STRIDED_POOL_MAX_PIXELS:
        # Non-overlapping small windows: an elementwise max/min of the size*size strided
        # views reads each pixel once and beats OpenCV's sliding dilate + slice, up to about
        # 2 megapixels; beyond, the dilate's threads win (it runs on every core).
        reduce = np.maximum if mode == "max" else np.minimum
        views = [
            x[
                dy : dy + (out_h - 1) * stride + 1 : stride,
                dx : dx + (out_w - 1) * stride + 1 : stride,
            ]
            for dy in range(size)
            for dx in range(size)
        ]
        out = views[0].copy()
        for view in views[1:]:
            reduce(out, view, out=out)
        return out
    if size == 1:
        return np.ascontiguousarray(x[::stride, ::stride][:out_h, :out_w])
    # Only the window anchored at each output's top-left is kept, so the border rule never
    # reaches a kept value; the sliding filter runs in OpenCV and a strided slice samples it.
    window = np.ones((size, size), np.uint8)
    op = _POOL_OPS[mode]
    if x.ndim == 3 and x.shape[2] > _CV_MAX_CHANNELS:
        filtered = np.stack(
            [op(np.ascontiguousarray(x[:, :, c]), window) for c in range(x.shape[2])], axis=-1
        )
    else:
        filtered = op(x, window)
        if x.ndim == 3 and filtered.ndim == 2:
            filtered = filtered[:, :, None]
    return np.ascontiguousarray(
        filtered[: (out_h - 1) * stride + 1 : stride, : (out_w - 1) * stride + 1 : stride]
    )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # 0.5 * (1 + tanh(x / 2)) is the logistic function without exp() overflow warnings.
    return (0.5 * (1.0 + np.tanh(0.5 * x))).astype(np.float32, copy=False)


_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": lambda x: x,
    # cv2.threshold(TOZERO) is ReLU, ~4x faster than np.maximum on a float32 frame.
    "relu": lambda x: cv2.threshold(x, 0, 0, cv2.THRESH_TOZERO)[1],
    "abs": lambda x: np.abs(x),
    "leaky_relu": lambda x: np.where(x > 0, x, np.float32(0.01) * x).astype(np.float32),
    "sigmoid": _sigmoid,
    "tanh": lambda x: np.tanh(x).astype(np.float32, copy=False),
}


def activate(x: np.ndarray, name: str) -> np.ndarray:
    """Apply a CNN activation: none, relu, abs, leaky_relu (slope 0.01), sigmoid or tanh."""
    try:
        fn = _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"activation must be one of {', '.join(ACTIVATIONS)}, not {name!r}"
        ) from None
    return fn(np.asarray(x, dtype=np.float32))
