"""Where each layer's units sit over the input and which input pixels each one sees.

Receptive fields fold layer by layer: a conv layer grows the field by ``(k_eff - 1) x step``
and multiplies the step by its stride; a pool layer grows it by ``(size - 1) x step`` and
multiplies the step by its stride. No map is computed here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.network.layers import ConvLayer, DenseLayer, FlattenLayer, Network, PoolLayer
from core.ops import effective_kernel_size, output_length, padding_amounts


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


def input_geometry(shape: tuple[int, int]) -> PaneGeometry:
    """The input itself: each pixel sees itself."""
    return PaneGeometry(shape=shape, step=1, field=(1, 1), field_origin=(0, 0))


def conv_geometry(before: PaneGeometry, layer: ConvLayer) -> PaneGeometry:
    """Fold a conv layer into the geometry: the field grows by (k_eff - 1) x step."""
    step = before.step
    k_eff = [effective_kernel_size(k, layer.dilation) for k in layer.kernel_size]
    pads = [
        padding_amounts(n, k, layer.stride, layer.padding)
        for n, k in zip(before.shape, k_eff, strict=True)
    ]
    shape = tuple(
        output_length(n, k, layer.stride, p)
        for n, k, p in zip(before.shape, k_eff, pads, strict=True)
    )
    return PaneGeometry(
        shape=shape,  # type: ignore[arg-type]
        step=step * layer.stride,
        field=(before.field[0] + (k_eff[0] - 1) * step, before.field[1] + (k_eff[1] - 1) * step),
        field_origin=(
            before.field_origin[0] - pads[0][0] * step,
            before.field_origin[1] - pads[1][0] * step,
        ),
    )


def pool_geometry(before: PaneGeometry, layer: PoolLayer) -> PaneGeometry:
    """Fold a pool layer in: a window of ``size`` units, ``step`` apart, each seeing ``field``."""
    size, stride, step = layer.size, layer.stride, before.step
    assert stride is not None
    return PaneGeometry(
        shape=(
            max((before.shape[0] - size) // stride + 1, 0),
            max((before.shape[1] - size) // stride + 1, 0),
        ),
        step=step * stride,
        field=(before.field[0] + (size - 1) * step, before.field[1] + (size - 1) * step),
        field_origin=before.field_origin,
    )


def network_geometry(input_shape: tuple[int, int], network: Network) -> list[PaneGeometry | None]:
    """Each layer's geometry for an input of ``input_shape``, without computing any map.

    Activation layers keep the geometry before them; flatten and dense layers have none.
    """
    geometry: PaneGeometry | None = input_geometry(input_shape)
    out: list[PaneGeometry | None] = []
    for layer in network.layers:
        if isinstance(layer, ConvLayer):
            geometry = conv_geometry(geometry, layer)  # type: ignore[arg-type]
        elif isinstance(layer, PoolLayer):
            geometry = pool_geometry(geometry, layer)  # type: ignore[arg-type]
        elif isinstance(layer, FlattenLayer | DenseLayer):
            geometry = None
        out.append(geometry)
    return out
