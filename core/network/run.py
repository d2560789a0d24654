"""Running a network on an image: every layer's map and where its units sit over the input.

Maps are computed channel by channel into ``(C, H, W)`` buffers, so every OpenCV call works on
one contiguous plane, and handed out as ``(H, W, C)`` views of those buffers (a transpose costs
nothing; a copy of 32 planes of 640x480 would cost more than the convolution). A conv layer
followed by an activation and a pool runs as one loop over its output channels, so each plane
is pooled while it is still in the cache. When the activation commutes with the pooling
(``relu``, ``leaky_relu`` or ``none`` before ``max`` or ``min``: both are monotone), the
activation is applied to the small pooled plane, and (with ``lazy``, the default) the
full-size activated map is only computed if someone reads it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import core.network.buffers as buffers
from core.network.geometry import PaneGeometry, input_geometry, network_geometry
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
from core.network.planes import activate_plane, chw, conv_bank, conv_planes, pool_plane
from core.ops import (
    activate,
    convolve,
    effective_kernel_size,
    pool,
)

# Monotone non-decreasing activations: f(max(a, b)) == max(f(a), f(b)) exactly, so they can
# run after a max or min pool on a quarter of the values.
_COMMUTES_WITH_POOL = ("relu", "leaky_relu", "none")

__all__ = [
    "LayerOutput",
    "input_geometry",
    "network_geometry",
    "run_conv",
    "run_layer",
    "run_network",
    "softmax",
]


class LayerOutput:
    """One layer's result: ``map`` is float32 (H, W, C), or (N,) after flatten/dense.

    ``map`` may be a view of a (C, H, W) buffer (not C-contiguous): do not assume a memory
    layout. Treat it as read-only: layers may share arrays.
    """

    __slots__ = ("_compute", "_map", "geometry", "layer")

    def __init__(
        self,
        layer: Layer,
        map: np.ndarray | None = None,
        geometry: PaneGeometry | None = None,  # None for vectors (flatten, dense)
        *,
        compute: Callable[[], np.ndarray] | None = None,
    ) -> None:
        if (map is None) == (compute is None):
            raise ValueError("give a map or a way to compute it, not both")
        self.layer = layer
        self.geometry = geometry
        self._map = map
        self._compute = compute

    @property
    def map(self) -> np.ndarray:
        if self._map is None:
            assert self._compute is not None
            self._map = self._compute()
            self._compute = None
        return self._map

    @property
    def name(self) -> str:
        return self.layer.name

    def __repr__(self) -> str:
        return f"LayerOutput({self.layer.name!r}, geometry={self.geometry})"


def _as_map(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[0] == 0 or image.shape[1] == 0 or image.shape[2] == 0:
        raise NetworkError(f"the input must be an (H, W) or (H, W, C) image, not {image.shape}")
    if image.dtype != np.float32:
        image = image.astype(np.float32)
    return image


def run_conv(x: np.ndarray, layer: ConvLayer) -> np.ndarray:
    """Output channel o = sum over c of correlate(x[..., c], weights[o, c]) + bias[o]."""
    shape, write, plane_shape = conv_planes(x, layer)
    planes = buffers.empty((layer.out_channels, *plane_shape))
    for o in range(layer.out_channels):
        write(o, planes[o])
    return planes[:, : shape[0], : shape[1]].transpose(1, 2, 0)


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (channels of a map, or the vector)."""
    shifted = x - x.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def _activate_map(x: np.ndarray, function: str) -> np.ndarray:
    if function == "softmax":
        return softmax(x)
    if x.ndim != 3:
        return activate(x, function)
    planes = chw(x)
    out = buffers.empty(planes.shape)
    for c in range(len(planes)):
        activate_plane(planes[c], out[c], function)
    return out.transpose(1, 2, 0)


def _pool_map(x: np.ndarray, layer: PoolLayer) -> np.ndarray:
    size, stride = layer.size, layer.stride
    assert stride is not None
    h, w = x.shape[:2]
    if h < size or w < size:
        raise NetworkError(
            f"layer {layer.name!r}: a {size}x{size} window does not fit in the "
            f"{h}x{w} map before it"
        )
    planes = chw(x)
    out = buffers.empty((len(planes), (h - size) // stride + 1, (w - size) // stride + 1))
    for c in range(len(planes)):
        pool_plane(planes[c], out[c], layer)
    return out.transpose(1, 2, 0)


def run_layer(x: np.ndarray, layer: Layer) -> np.ndarray:
    """One layer on a (H, W, C) map or an (N,) vector."""
    where = f"layer {layer.name!r}"
    if isinstance(layer, ConvLayer | PoolLayer) and x.ndim != 3:
        raise NetworkError(f"{where}: needs a (H, W, C) map")
    if isinstance(layer, ConvLayer):
        return run_conv(x, layer)
    if isinstance(layer, PoolLayer):
        return _pool_map(x, layer)
    if isinstance(layer, ActivationLayer):
        return _activate_map(x, layer.function)
    if isinstance(layer, FlattenLayer):
        return np.ascontiguousarray(x.reshape(-1))  # row-major (H, W, C), as Keras
    if isinstance(layer, DenseLayer):
        if x.ndim != 1 or x.shape[0] != layer.in_features:
            raise NetworkError(
                f"{where}: takes {layer.in_features} inputs, but gets {x.size} "
                "(does the input have the size the network was made for?)"
            )
        return (layer.weights @ x + layer.bias).astype(np.float32)
    raise NetworkError(f"{where}: unknown layer type")


def _run_block(
    x: np.ndarray,
    conv: ConvLayer,
    act: ActivationLayer | None,
    pooling: PoolLayer | None,
    geometries: list[PaneGeometry | None],
    lazy: bool,
) -> list[LayerOutput]:
    """conv [-> activation] [-> pool] as one loop over output channels (see module doc)."""
    shape, write, plane_shape = conv_planes(x, conv)
    channels = conv.out_channels
    # Planes of the size OpenCV filters to (see conv_planes); the map is their top-left corner.
    written = buffers.empty((channels, *plane_shape))
    conv_out = written[:, : shape[0], : shape[1]]
    pooled = None
    if pooling is not None:
        pool_shape = geometries[-1].shape  # type: ignore[union-attr]
        pooled = buffers.empty((channels, *pool_shape))
    function = act.function if act is not None else None
    deferred = (
        lazy and function is not None and pooling is not None and pooling.mode != "avg"
        and function in _COMMUTES_WITH_POOL
    )  # fmt: skip
    activated = None
    if function is not None and not deferred:
        activated = conv_out if function == "none" else buffers.empty(conv_out.shape)
    for o in range(channels):
        write(o, written[o])
        if pooled is None:
            if activated is not None:
                activate_plane(conv_out[o], activated[o], function)  # type: ignore[arg-type]
        elif deferred:
            pool_plane(conv_out[o], pooled[o], pooling)  # type: ignore[arg-type]
            activate_plane(pooled[o], pooled[o], function)  # type: ignore[arg-type]
        elif activated is not None:
            activate_plane(conv_out[o], activated[o], function)  # type: ignore[arg-type]
            pool_plane(activated[o], pooled[o], pooling)  # type: ignore[arg-type]
        else:
            pool_plane(conv_out[o], pooled[o], pooling)  # type: ignore[arg-type]
    conv_map = conv_out.transpose(1, 2, 0)
    outputs = [LayerOutput(conv, conv_map, geometries[0])]
    if act is not None:
        if deferred:
            compute = _deferred_activation(conv_map, act.function)
            outputs.append(LayerOutput(act, geometry=geometries[1], compute=compute))
        else:
            outputs.append(LayerOutput(act, activated.transpose(1, 2, 0), geometries[1]))  # type: ignore[union-attr]
    if pooling is not None:
        outputs.append(LayerOutput(pooling, pooled.transpose(1, 2, 0), geometries[-1]))  # type: ignore[union-attr]
    return outputs


def _run_shared_block(
    x: np.ndarray,
    conv: ConvLayer,
    act: ActivationLayer | None,
    pooling: PoolLayer | None,
    geometries: list[PaneGeometry | None],
    kernel: np.ndarray,
) -> list[LayerOutput]:
    """A per-channel bank on an interleaved (H, W, C<=4) image: OpenCV filters, activates
    and pools all channels in one call each (splitting them into planes would cost more)."""
    conv_map = convolve(
        x, kernel, stride=conv.stride, dilation=conv.dilation, padding=conv.padding,
        border=conv.border,  # type: ignore[arg-type]
    )  # fmt: skip
    if conv.bias[0]:
        conv_map += conv.bias[0]
    outputs = [LayerOutput(conv, conv_map, geometries[0])]
    x = conv_map
    if act is not None:
        x = activate(conv_map, act.function)
        outputs.append(LayerOutput(act, x, geometries[1]))
    if pooling is not None:
        pooled = pool(x, size=pooling.size, stride=pooling.stride, mode=pooling.mode)  # type: ignore[arg-type]
        outputs.append(LayerOutput(pooling, pooled.astype(np.float32, copy=False), geometries[-1]))
    return outputs


def _deferred_activation(conv_map: np.ndarray, function: str) -> Callable[[], np.ndarray]:
    return lambda: _activate_map(conv_map, function)


def _block_at(layers: tuple[Layer, ...], i: int) -> tuple[ActivationLayer | None, PoolLayer | None]:
    """The activation and pool that directly follow the conv at ``i`` (either may be None)."""
    act = pooling = None
    j = i + 1
    if j < len(layers) and isinstance(layers[j], ActivationLayer):
        if layers[j].function == "softmax":  # type: ignore[union-attr]
            return None, None
        act = layers[j]
        j += 1
    if j < len(layers) and isinstance(layers[j], PoolLayer):
        pooling = layers[j]
    return act, pooling  # type: ignore[return-value]


def _does_not_fit(layer: Layer, before: tuple[int, ...]) -> str:
    h, w = before
    if isinstance(layer, PoolLayer):
        what = f"a {layer.size}x{layer.size} window"
    else:
        assert isinstance(layer, ConvLayer)
        kh, kw = (effective_kernel_size(k, layer.dilation) for k in layer.kernel_size)
        dilated = " (after dilation)" if layer.dilation > 1 else ""
        what = f"a {kh}x{kw} kernel{dilated} with padding {layer.padding!r}"
    return f"layer {layer.name!r}: {what} does not fit in the {h}x{w} map before it"


# Live video runs one network on frames of one size: its geometry is computed once.
_last_geometry: tuple[Network, tuple[int, ...], list[PaneGeometry | None]] | None = None


def run_network(image: np.ndarray, network: Network, *, lazy: bool = True) -> list[LayerOutput]:
    """Run ``network`` on ``image`` ((H, W) or (H, W, C), float) and return every layer's output.

    Parameters
    ----------
    lazy
        True: an activation between a conv and a max/min pool is applied to the pooled maps,
        and its own full-size map is computed when first read (fastest when it may not be
        read). False: every map is computed now, each plane while it is in the cache (faster
        when every map will be read anyway: a batch writing them, a view showing them all).
        The values are the same either way.

    Raises
    ------
    NetworkError
        The image's channels do not match the first conv layer, a pool no longer fits, a
        conv leaves nothing, or a dense layer's size does not match.
    """
    global _last_geometry
    x = _as_map(image)
    last = _last_geometry
    if last is not None and last[0] is network and last[1] == x.shape[:2]:
        geometries = last[2]
    else:
        geometries = network_geometry(x.shape[:2], network)
        _last_geometry = (network, x.shape[:2], geometries)
    layers = network.layers
    before = x.shape[:2]
    for layer, geometry in zip(layers, geometries, strict=True):
        if geometry is None:
            continue
        if min(geometry.shape) < 1:
            raise NetworkError(_does_not_fit(layer, before))
        before = geometry.shape
    first_conv = network.in_channels
    if first_conv is not None and isinstance(layers[0], ConvLayer) and x.shape[2] != first_conv:
        raise NetworkError(
            f"layer {layers[0].name!r}: takes {first_conv} input channel(s), but the image "
            f"has {x.shape[2]}"
        )
    outputs: list[LayerOutput] = []
    i = 0
    while i < len(layers):
        layer = layers[i]
        if isinstance(layer, ConvLayer) and x.ndim == 3:
            act, pooling = _block_at(layers, i)
            count = 1 + (act is not None) + (pooling is not None)
            shared = conv_bank(layer).shared
            if shared is not None and x.flags.c_contiguous and x.shape[2] == layer.in_channels:
                block = _run_shared_block(x, layer, act, pooling, geometries[i : i + count], shared)
            else:
                block = _run_block(x, layer, act, pooling, geometries[i : i + count], lazy)
            outputs.extend(block)
            x = block[-1].map
            i += count
            continue
        x = run_layer(x, layer)
        outputs.append(LayerOutput(layer, x, geometries[i]))
        i += 1
    return outputs
