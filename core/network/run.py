"""Running a network on an image: every layer's map and where its units sit over the input."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.network.layers import (
    ActivationLayer,
    ConvLayer,
    DenseLayer,
    FlattenLayer,
    Layer,
    Network,
    NetworkError,
    PoolLayer,
)
from core.ops import (
    activate,
    convolve,
    effective_kernel_size,
    output_length,
    padding_amounts,
    pool,
)
from core.pipeline import PaneGeometry


@dataclass(frozen=True, eq=False)
class LayerOutput:
    """One layer's result: ``map`` is float32 (H, W, C), or (N,) after flatten/dense."""

    layer: Layer
    map: np.ndarray
    geometry: PaneGeometry | None  # None for vectors (flatten, dense)

    @property
    def name(self) -> str:
        return self.layer.name


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
    """Each layer's geometry for an input of ``input_shape``, without computing any map."""
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


def _as_map(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[0] == 0 or image.shape[1] == 0 or image.shape[2] == 0:
        raise NetworkError(f"the input must be an (H, W) or (H, W, C) image, not {image.shape}")
    return np.ascontiguousarray(image, dtype=np.float32)


def run_conv(x: np.ndarray, layer: ConvLayer) -> np.ndarray:
    """Output channel o = sum over c of correlate(x[..., c], weights[o, c]) + bias[o]."""
    if x.shape[2] != layer.in_channels:
        raise NetworkError(
            f"layer {layer.name!r}: takes {layer.in_channels} input channel(s), "
            f"but its input has {x.shape[2]}"
        )
    options = {
        "stride": layer.stride,
        "dilation": layer.dilation,
        "padding": layer.padding,
        "border": layer.border,
    }
    channels = [np.ascontiguousarray(x[:, :, c]) for c in range(x.shape[2])]
    maps = []
    for o in range(layer.out_channels):
        total = convolve(channels[0], layer.weights[o, 0], **options)
        for c in range(1, len(channels)):
            total += convolve(channels[c], layer.weights[o, c], **options)
        total += layer.bias[o]
        maps.append(total)
    return np.ascontiguousarray(np.stack(maps, axis=-1), dtype=np.float32)


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (channels of a map, or the vector)."""
    shifted = x - x.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def run_layer(x: np.ndarray, layer: Layer) -> np.ndarray:
    """One layer on a (H, W, C) map or an (N,) vector."""
    where = f"layer {layer.name!r}"
    if isinstance(layer, ConvLayer | PoolLayer) and x.ndim != 3:
        raise NetworkError(f"{where}: needs a (H, W, C) map")
    if isinstance(layer, ConvLayer):
        return run_conv(x, layer)
    if isinstance(layer, PoolLayer):
        if x.shape[0] < layer.size or x.shape[1] < layer.size:
            raise NetworkError(
                f"{where}: a {layer.size}x{layer.size} window does not fit in the "
                f"{x.shape[0]}x{x.shape[1]} map before it"
            )
        out = pool(x, size=layer.size, stride=layer.stride, mode=layer.mode)  # type: ignore[arg-type]
        return np.ascontiguousarray(out, dtype=np.float32)
    if isinstance(layer, ActivationLayer):
        if layer.function == "softmax":
            return softmax(x)
        return activate(x, layer.function)
    if isinstance(layer, FlattenLayer):
        return np.ascontiguousarray(x.reshape(-1))
    if isinstance(layer, DenseLayer):
        if x.ndim != 1 or x.shape[0] != layer.in_features:
            raise NetworkError(
                f"{where}: takes {layer.in_features} inputs, but gets {x.size} "
                "(does the input have the size the network was made for?)"
            )
        return (layer.weights @ x + layer.bias).astype(np.float32)
    raise NetworkError(f"{where}: unknown layer type")


def run_network(image: np.ndarray, network: Network) -> list[LayerOutput]:
    """Run ``network`` on ``image`` ((H, W) or (H, W, C), float) and return every layer's output.

    Raises
    ------
    NetworkError
        The image's channels do not match the first conv layer, a pool no longer fits, a
        conv leaves nothing, or a dense layer's size does not match.
    """
    x = _as_map(image)
    geometries = network_geometry(x.shape[:2], network)
    outputs = []
    for layer, geometry in zip(network.layers, geometries, strict=True):
        if geometry is not None and min(geometry.shape) < 1:
            raise NetworkError(
                f"layer {layer.name!r}: the map before it is too small for it "
                f"(it would leave {geometry.shape[0]}x{geometry.shape[1]})"
            )
        x = run_layer(x, layer)
        outputs.append(LayerOutput(layer, x, geometry))
    return outputs
