"""One CNN layer end to end: input -> convolution (+ bias) -> activation -> pooling.

``run_pipeline`` returns every intermediate array and the :class:`Geometry` that says where
each output pixel sits over the input and which input pixels it saw (its receptive field).
The single-kernel workbench is the one-layer case of a network: :func:`kernel_network` turns
the kernel and settings into a :class:`~core.network.Network` and ``run_network`` does the work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.images import to_grayscale
from core.kernels import Kernel
from core.network.geometry import PaneGeometry
from core.network.layers import ActivationLayer, ConvLayer, Network, PoolLayer
from core.network.run import run_network
from core.ops import (
    ACTIVATIONS,
    BORDERS,
    POOL_MODES,
    Border,
    Padding,
    effective_kernel_size,
    output_length,
    padding_amounts,
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


def kernel_network(kernel: Kernel, settings: PipelineSettings, channels: int = 1) -> Network:
    """The network the workbench runs: one conv layer, its activation and (maybe) a pool.

    Parameters
    ----------
    kernel, settings
        The kernel (weights x scale, bias) and every other choice of the layer.
    channels
        Channels of the input the conv reads: 1 (gray) or 3 (RGB). With 3, ``settings.color``
        'rgb' makes one Conv2D unit with the same weights on every channel (summed), and
        'per-channel' a diagonal 3 -> 3 bank (each channel filtered on its own).
    """
    weights = kernel.effective
    if settings.flip:
        weights = weights[::-1, ::-1]
    if channels == 1:
        bank = weights[None, None]
    elif settings.color == "rgb":
        bank = np.repeat(weights[None, None], channels, axis=1)
    else:
        bank = np.zeros((channels, channels, *weights.shape), np.float32)
        for c in range(channels):
            bank[c, c] = weights
    layers: list = [
        ConvLayer(
            bank,
            bias=np.full(bank.shape[0], kernel.bias, np.float32),
            stride=settings.stride,
            padding=settings.padding,
            dilation=settings.dilation,
            border=settings.border,
            name="conv",
        ),
        ActivationLayer(settings.activation, name="activation"),
    ]
    if settings.pooling:
        layers.append(
            PoolLayer(
                settings.pool_mode,
                settings.pool_size,
                settings.effective_pool_stride,
                name="pool",
            )
        )
    return Network(tuple(layers), name=kernel.name)


# The last network built, by the kernel object it came from: live video runs the same kernel
# and settings frame after frame, and building (validating) a network costs ~50 us.
_last_network: tuple[Kernel, PipelineSettings, int, Network] | None = None


def _cached_network(kernel: Kernel, settings: PipelineSettings, channels: int) -> Network:
    global _last_network
    last = _last_network
    if last is not None and last[0] is kernel and last[1] == settings and last[2] == channels:
        return last[3]
    network = kernel_network(kernel, settings, channels)
    _last_network = (kernel, settings, channels, network)
    return network


def run_pipeline(image: np.ndarray, kernel: Kernel, settings: PipelineSettings) -> PipelineResult:
    """Convolve, add the bias, activate and pool ``image`` as one CNN layer would.

    In 'per-channel' mode the kernel filters R, G and B separately (three maps); in 'rgb'
    mode it is one Conv2D unit with the same weights on every channel, summed into one map.
    Raises ValueError (a :class:`~core.network.NetworkError`) when the layer does not fit.
    """
    source = prepare_input(image, settings.color)
    channels = 1 if source.ndim == 2 else source.shape[2]
    outputs = run_network(source, _cached_network(kernel, settings, channels), lazy=False)
    conv, activated = outputs[0].map, outputs[1].map
    pooled = outputs[2].map if settings.pooling else None
    if settings.color == "per-channel" and source.ndim == 3:
        # Three planes as one contiguous (H, W, 3) array, as every colour consumer expects.
        conv, activated = np.ascontiguousarray(conv), np.ascontiguousarray(activated)
        pooled = None if pooled is None else np.ascontiguousarray(pooled)
    else:
        conv, activated = conv[:, :, 0], activated[:, :, 0]
        pooled = None if pooled is None else pooled[:, :, 0]
    geometry = Geometry(
        input_shape=source.shape[:2],
        conv=outputs[0].geometry,  # type: ignore[arg-type]
        pooled=outputs[2].geometry if settings.pooling else None,
    )
    return PipelineResult(source, conv, activated, pooled, geometry, kernel, settings)
