"""Forward and backward passes of every layer type, on batches of maps.

Maps are batch-major ``(B, H, W, C)`` (channels last, as the network engine's ``(H, W, C)``
maps), so a flatten is a plain reshape in Keras' row-major order; vectors are ``(B, N)``.
Every function keeps its input's dtype: training runs in float32, the gradient tests in
float64. A forward returns ``(output, cache)``; the matching backward takes the gradient of
the loss with respect to the output and the cache, and returns the gradient with respect to
the input (and to the weights, for conv and dense).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.ops import effective_kernel_size, output_length, padding_amounts

_NP_PAD_MODE = {"reflect": "reflect", "replicate": "edge", "wrap": "wrap"}


# --- convolution -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConvSpec:
    """Where a conv layer's taps read: enough to slice the padded input for every tap."""

    kernel: tuple[int, int]
    stride: int
    dilation: int
    pads: tuple[tuple[int, int], tuple[int, int]]  # (top, bottom), (left, right)
    out_shape: tuple[int, int]
    border: str


def conv_spec(
    in_shape: tuple[int, int],
    kernel: tuple[int, int],
    stride: int = 1,
    padding: str | int = "same",
    dilation: int = 1,
    border: str = "zero",
) -> ConvSpec:
    """The padding and output size of a conv layer on an ``in_shape`` map (core.ops' rules)."""
    k_eff = [effective_kernel_size(k, dilation) for k in kernel]
    pads = tuple(
        padding_amounts(n, k, stride, padding) for n, k in zip(in_shape, k_eff, strict=True)
    )
    out = tuple(
        output_length(n, k, stride, p) for n, k, p in zip(in_shape, k_eff, pads, strict=True)
    )
    return ConvSpec(tuple(kernel), stride, dilation, pads, out, border)  # type: ignore[arg-type]


def _pad(x: np.ndarray, spec: ConvSpec) -> np.ndarray:
    (top, bottom), (left, right) = spec.pads
    if not (top or bottom or left or right):
        return x
    widths = ((0, 0), (top, bottom), (left, right), (0, 0))
    if spec.border == "zero":
        return np.pad(x, widths)
    return np.pad(x, widths, mode=_NP_PAD_MODE[spec.border])  # type: ignore[call-overload]


def _unpad_gradient(grad_padded: np.ndarray, spec: ConvSpec, in_shape: tuple[int, int]):
    """Gradient w.r.t. the unpadded input: padding copies pixels, so their gradients add up."""
    (top, bottom), (left, right) = spec.pads
    h, w = in_shape
    if spec.border == "zero" or not (top or bottom or left or right):
        return grad_padded[:, top : top + h, left : left + w]
    # Each padded pixel is a copy of some input pixel: pad an index map the same way and add
    # every padded pixel's gradient to the pixel it copies.
    index = np.arange(h * w).reshape(h, w)
    source = np.pad(index, ((top, bottom), (left, right)), mode=_NP_PAD_MODE[spec.border])  # type: ignore[call-overload]
    b, c = grad_padded.shape[0], grad_padded.shape[3]
    flat = np.zeros((b, h * w, c), grad_padded.dtype)
    np.add.at(flat, (slice(None), source.reshape(-1)), grad_padded.reshape(b, -1, c))
    return flat.reshape(b, h, w, c)


def _tap_slices(spec: ConvSpec):
    """For every tap (i, j): the (rows, cols) slices of the padded input it reads."""
    s, d = spec.stride, spec.dilation
    oh, ow = spec.out_shape
    kh, kw = spec.kernel
    for i in range(kh):
        for j in range(kw):
            yield (
                slice(i * d, i * d + (oh - 1) * s + 1, s),
                slice(j * d, j * d + (ow - 1) * s + 1, s),
            )


def conv_forward(x: np.ndarray, weights: np.ndarray, bias: np.ndarray, spec: ConvSpec):
    """Cross-correlation of ``x`` (B, H, W, I) with ``weights`` (O, I, kh, kw) plus ``bias``.

    im2col by shifted slices (one per tap) and a single matmul: the columns are
    ``(B*oh*ow, kh*kw*I)`` ordered tap-major, matching weights transposed to (kh, kw, I, O).
    """
    padded = _pad(x, spec)
    b, (oh, ow), c = x.shape[0], spec.out_shape, x.shape[3]
    kh, kw = spec.kernel
    cols = np.empty((b, oh, ow, kh * kw, c), x.dtype)
    for t, (rows, colsl) in enumerate(_tap_slices(spec)):
        cols[:, :, :, t, :] = padded[:, rows, colsl, :]
    cols = cols.reshape(b * oh * ow, kh * kw * c)
    wmat = weights.transpose(2, 3, 1, 0).reshape(kh * kw * c, -1).astype(x.dtype, copy=False)
    out = cols @ wmat
    out += bias.astype(x.dtype, copy=False)
    return out.reshape(b, oh, ow, -1), (cols, wmat, x.shape, spec)


def conv_backward(grad: np.ndarray, cache, need_input_grad: bool = True):
    """Gradients w.r.t. the input (None if not needed), the weights and the bias."""
    cols, wmat, in_shape, spec = cache
    b, h, w, c = in_shape
    kh, kw = spec.kernel
    g2 = grad.reshape(-1, grad.shape[3])
    grad_w = (cols.T @ g2).reshape(kh, kw, c, -1).transpose(3, 2, 0, 1)
    grad_b = _column_sums(g2)
    if not need_input_grad:
        return None, grad_w, grad_b
    (top, bottom), (left, right) = spec.pads
    padded = np.zeros((b, h + top + bottom, w + left + right, c), grad.dtype)
    taps = wmat.reshape(kh * kw, c, -1)
    # One small matmul per tap, added straight into the tap's slice: about twice as fast as
    # one matmul whose tap-interleaved result must then be gathered out of strided memory.
    for t, (rows, colsl) in enumerate(_tap_slices(spec)):
        padded[:, rows, colsl, :] += (g2 @ taps[t].T).reshape(b, *spec.out_shape, c)
    return _unpad_gradient(padded, spec, (h, w)), grad_w, grad_b


def _column_sums(a: np.ndarray) -> np.ndarray:
    """Sum over rows as a matrix-vector product: numpy's axis-0 sum of a tall, narrow array
    is ~20x slower than BLAS."""
    return np.ones(a.shape[0], a.dtype) @ a


# --- pooling ---------------------------------------------------------------------------------


def _pool_views(x: np.ndarray, size: int, stride: int):
    h, w = x.shape[1:3]
    oh, ow = (h - size) // stride + 1, (w - size) // stride + 1
    for dy in range(size):
        for dx in range(size):
            yield (
                slice(dy, dy + (oh - 1) * stride + 1, stride),
                slice(dx, dx + (ow - 1) * stride + 1, stride),
            )


def pool_forward(x: np.ndarray, size: int, stride: int, mode: str):
    """Max, min or average of each ``size`` x ``size`` window as the elementwise reduction of
    the ``size**2`` strided views (each pixel read once when windows do not overlap)."""
    views = list(_pool_views(x, size, stride))
    out = x[:, views[0][0], views[0][1]].copy()
    if mode == "avg":
        for rows, cols in views[1:]:
            out += x[:, rows, cols]
        out *= x.dtype.type(1.0 / (size * size))
    else:
        reduce = np.maximum if mode == "max" else np.minimum
        for rows, cols in views[1:]:
            reduce(out, x[:, rows, cols], out=out)
    return out, (x, out, size, stride, mode)


def pool_backward(grad: np.ndarray, cache) -> np.ndarray:
    """Max/min: the gradient goes to the first pixel of each window holding the extreme
    (as the frameworks' argmax); average: shared equally by the window."""
    x, out, size, stride, mode = cache
    dx = np.zeros_like(x)
    if mode == "avg":
        share = grad * x.dtype.type(1.0 / (size * size))
        for rows, cols in _pool_views(x, size, stride):
            dx[:, rows, cols] += share
        return dx
    unassigned = np.ones(out.shape, bool)
    hit = np.empty(out.shape, bool)
    for rows, cols in _pool_views(x, size, stride):
        np.equal(x[:, rows, cols], out, out=hit)
        hit &= unassigned
        unassigned ^= hit
        if stride >= size:  # windows do not overlap: each input pixel is written once
            np.multiply(grad, hit, out=dx[:, rows, cols])
        else:
            dx[:, rows, cols] += grad * hit
    return dx


# --- activations -----------------------------------------------------------------------------


def activation_forward(x: np.ndarray, function: str):
    """Elementwise activation (core.ops names) or softmax over the last axis."""
    one = x.dtype.type(1)
    if function == "none":
        out = x
    elif function == "relu":
        out = np.maximum(x, 0)
    elif function == "abs":
        out = np.abs(x)
    elif function == "leaky_relu":
        out = np.where(x > 0, x, x.dtype.type(0.01) * x)
    elif function == "sigmoid":
        out = x.dtype.type(0.5) * (one + np.tanh(x.dtype.type(0.5) * x))
    elif function == "tanh":
        out = np.tanh(x)
    elif function == "softmax":
        out = softmax(x)
    else:
        raise ValueError(f"unknown activation {function!r}")
    return out, (x, out, function)


def activation_backward(grad: np.ndarray, cache) -> np.ndarray:
    x, out, function = cache
    one = x.dtype.type(1)
    if function == "none":
        return grad
    if function == "relu":
        return np.where(x > 0, grad, 0).astype(grad.dtype, copy=False)
    if function == "abs":
        return grad * np.sign(x)
    if function == "leaky_relu":
        return np.where(x > 0, grad, x.dtype.type(0.01) * grad)
    if function == "sigmoid":
        return grad * out * (one - out)
    if function == "tanh":
        return grad * (one - out * out)
    if function == "softmax":  # Jacobian-vector product: p * (g - <g, p>)
        return out * (grad - (grad * out).sum(axis=-1, keepdims=True))
    raise ValueError(f"unknown activation {function!r}")


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the maximum so exp() cannot overflow."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# --- dense and loss --------------------------------------------------------------------------


def dense_forward(x: np.ndarray, weights: np.ndarray, bias: np.ndarray):
    """``x @ weights.T + bias`` for x (B, in), weights (out, in) as PyTorch ``Linear``."""
    w = weights.astype(x.dtype, copy=False)
    return x @ w.T + bias.astype(x.dtype, copy=False), (x, w)


def dense_backward(grad: np.ndarray, cache, need_input_grad: bool = True):
    x, w = cache
    grad_x = grad @ w if need_input_grad else None
    return grad_x, grad.T @ x, _column_sums(grad)


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean softmax cross-entropy of ``logits`` (B, K) against integer ``labels`` (B,).

    Returns the loss, its gradient w.r.t. the logits ((p - onehot) / B) and the probabilities.
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_p = shifted - log_norm
    rows = np.arange(len(labels))
    loss = float(-log_p[rows, labels].mean())
    p = np.exp(log_p)
    grad = p.copy()
    grad[rows, labels] -= 1
    grad /= len(labels)
    return loss, grad, p
