"""One CNN layer end to end: input -> convolution (+ bias) -> activation -> pooling.

``run_pipeline`` returns every intermediate array and the :class:`Geometry` that says where
each output pixel sits over the input and which input pixels it saw (its receptive field).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.images import to_grayscale
from core.kernels import Kernel
from core.ops import (
    ACTIVATIONS,
    BORDERS,
    POOL_MODES,
    Border,
    Padding,
    activate,
    convolve,
    effective_kernel_size,
    output_length,
    padding_amounts,
    pool,
)

ColorMode = Literal["gray", "per-channel", "rgb"]
COLOR_MODES = ("gray", "per-channel", "rgb")
POOL_CHOICES = ("none", *POOL_MODES)


@dataclass(frozen=True)
class PipelineSettings:
    """Every choice of the layer apart from the kernel. Immutable, so it can cross threads."""

    padding: Padding = "same"
    border: Border = "zero"
    stride: int = 1
    dilation: int = 1
    flip: bool = False
    activation: str = "relu"
    pool_mode: str = "max"  # or "none"
    pool_size: int = 2
    pool_stride: int | None = None  # None: same as pool_size
    color: ColorMode = "gray"

    def __post_init__(self) -> None:
        if self.border not in BORDERS:
            raise ValueError(f"border must be one of {', '.join(BORDERS)}, not {self.border!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}")
        if self.pool_mode not in POOL_CHOICES:
            raise ValueError(f"pool must be one of {', '.join(POOL_CHOICES)}")
        if self.color not in COLOR_MODES:
            raise ValueError(f"color must be one of {', '.join(COLOR_MODES)}")

    @property
    def pooling(self) -> bool:
        return self.pool_mode != "none"

    @property
    def effective_pool_stride(self) -> int:
        return self.pool_size if self.pool_stride is None else self.pool_stride


@dataclass(frozen=True)
class PaneGeometry:
    """Where an output map sits over the input, in input-pixel coordinates.

    Input pixel (row r, column c) covers the square [c, c+1) x [r, r+1). Output pixel (i, j)
    is drawn as a ``step`` x ``step`` square centred on the centre of its receptive field, so a
    feature sits exactly over the input pixels it came from.
    """

    shape: tuple[int, int]
    step: int  # input pixels between neighbouring outputs (product of the strides)
    field: tuple[int, int]  # receptive field (height, width) in input pixels
    field_origin: tuple[int, int]  # (top, left) of output (0, 0)'s field; negative = padding

    @property
    def origin(self) -> tuple[float, float]:
        """(x, y) of output pixel (0, 0)'s top-left corner in input coordinates."""
        return (
            self.field_origin[1] + (self.field[1] - self.step) / 2,
            self.field_origin[0] + (self.field[0] - self.step) / 2,
        )

    @property
    def rect(self) -> tuple[float, float, float, float]:
        """(x, y, width, height) for ``ImageItem.setRect``."""
        x, y = self.origin
        return x, y, self.shape[1] * self.step, self.shape[0] * self.step

    def index_at(self, x: float, y: float) -> tuple[int, int] | None:
        """The output pixel (row, col) drawn under input coordinates (x, y), or None if outside."""
        ox, oy = self.origin
        col, row = int(np.floor((x - ox) / self.step)), int(np.floor((y - oy) / self.step))
        if 0 <= row < self.shape[0] and 0 <= col < self.shape[1]:
            return row, col
        return None

    def receptive_field(self, row: int, col: int) -> tuple[int, int, int, int]:
        """(top, left, height, width) of the input pixels that output (row, col) depends on.

        Parts outside the image are padding; the caller may clip.
        """
        return (
            self.field_origin[0] + row * self.step,
            self.field_origin[1] + col * self.step,
            *self.field,
        )


@dataclass(frozen=True)
class Geometry:
    input_shape: tuple[int, int]
    conv: PaneGeometry
    pooled: PaneGeometry | None


def compute_geometry(
    input_shape: tuple[int, int], kernel_shape: tuple[int, int], settings: PipelineSettings
) -> Geometry:
    """Sizes, placement and receptive fields of the convolution and pooled maps."""
    h, w = input_shape
    kh = effective_kernel_size(kernel_shape[0], settings.dilation)
    kw = effective_kernel_size(kernel_shape[1], settings.dilation)
    s = settings.stride
    pad_y = padding_amounts(h, kh, s, settings.padding)
    pad_x = padding_amounts(w, kw, s, settings.padding)
    conv = PaneGeometry(
        shape=(output_length(h, kh, s, pad_y), output_length(w, kw, s, pad_x)),
        step=s,
        field=(kh, kw),
        field_origin=(-pad_y[0], -pad_x[0]),
    )
    pooled = None
    if settings.pooling:
        size, ps = settings.pool_size, settings.effective_pool_stride
        pooled = PaneGeometry(
            shape=(
                max((conv.shape[0] - size) // ps + 1, 0),
                max((conv.shape[1] - size) // ps + 1, 0),
            ),
            step=s * ps,
            # A pooled pixel sees `size` neighbouring conv pixels, `s` apart, each seeing k.
            field=((size - 1) * s + kh, (size - 1) * s + kw),
            field_origin=conv.field_origin,
        )
    return Geometry(input_shape=(h, w), conv=conv, pooled=pooled)


@dataclass(frozen=True, eq=False)
class PipelineResult:
    """Every stage of one run. ``conv`` is before the activation, ``pooled`` after it."""

    image: np.ndarray  # what was convolved: (H, W) gray or (H, W, 3) RGB
    conv: np.ndarray
    activated: np.ndarray
    pooled: np.ndarray | None
    geometry: Geometry
    kernel: Kernel
    settings: PipelineSettings


def prepare_input(image: np.ndarray, color: ColorMode) -> np.ndarray:
    """The array the kernel slides over: grayscale, or the RGB channels for colour modes."""
    if color == "gray" or image.ndim == 2:
        return to_grayscale(image)
    return np.ascontiguousarray(image[:, :, :3], dtype=np.float32)


def run_pipeline(image: np.ndarray, kernel: Kernel, settings: PipelineSettings) -> PipelineResult:
    """Convolve, add the bias, activate and pool ``image`` as one CNN layer would.

    In 'per-channel' mode the kernel filters R, G and B separately (three maps); in 'rgb'
    mode it is one Conv2D unit with the same weights on every channel, summed into one map.
    """
    source = prepare_input(image, settings.color)
    weights = kernel.effective
    if settings.color == "rgb" and source.ndim == 3:
        weights = np.repeat(weights[:, :, None], source.shape[2], axis=2)
    conv = convolve(
        source,
        weights,
        stride=settings.stride,
        dilation=settings.dilation,
        padding=settings.padding,
        border=settings.border,
        flip=settings.flip,
    )
    if kernel.bias:
        conv += np.float32(kernel.bias)
    activated = activate(conv, settings.activation)
    pooled = None
    if settings.pooling:
        pooled = pool(
            activated,
            size=settings.pool_size,
            stride=settings.effective_pool_stride,
            mode=settings.pool_mode,  # type: ignore[arg-type]
        )
    geometry = compute_geometry(source.shape[:2], kernel.shape, settings)
    return PipelineResult(source, conv, activated, pooled, geometry, kernel, settings)
