"""The layers of a network and the network itself: immutable values that can cross threads.

Weights follow PyTorch's layout: a conv layer's are ``(out_channels, in_channels, kh, kw)``,
a dense layer's ``(out_features, in_features)``. Every layer computes what the frameworks
compute (cross-correlation for conv), so weights imported from a trained model run unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from core.images import atomic_write
from core.ops import ACTIVATIONS, BORDERS, PADDINGS, POOL_MODES

NETWORK_ACTIVATIONS = (*ACTIVATIONS, "softmax")
MAX_KERNEL_SIDE = 63  # as core.kernels: bigger is almost surely a mistake
MAX_CHANNELS = 2048
MAX_DENSE_FEATURES = 1_000_000
MAX_LAYERS = 100
MAX_PARAMETERS = 50_000_000  # 200 MB of float32: beyond, a file is not a small CNN
MAX_ABS_WEIGHT = 1e6  # as the kernel editor: larger weights only overflow float32 maps
MAX_STEP = 64  # stride, dilation, pool size and padding in pixels


class NetworkError(ValueError):
    """A network (usually a network file) that cannot be used; the message names the layer."""


def _positive_int(value: object, what: str, where: str, upper: int = MAX_STEP) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise NetworkError(f"{where}: {what} must be an integer, not {value!r}")
    if not 1 <= value <= upper:
        raise NetworkError(f"{where}: {what} must be between 1 and {upper}, not {value}")
    return int(value)


def _weights(value: object, ndim: int, what: str, where: str) -> np.ndarray:
    """A read-only finite float32 array of ``ndim`` dimensions, or NetworkError saying why."""
    try:
        array = np.array(value, dtype=np.float64)
    except (ValueError, TypeError):
        raise NetworkError(
            f"{where}: {what} must be a regular nested list of numbers (is it ragged?)"
        ) from None
    if array.ndim != ndim or array.size == 0:
        raise NetworkError(
            f"{where}: {what} must have {ndim} non-empty dimensions, not shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise NetworkError(f"{where}: {what} contain NaN or infinity")
    if np.abs(array).max() > MAX_ABS_WEIGHT:
        raise NetworkError(
            f"{where}: {what} reach {np.abs(array).max():.3g}; the largest allowed is "
            f"{MAX_ABS_WEIGHT:.0e} (larger values overflow the maps)"
        )
    out = np.ascontiguousarray(array, dtype=np.float32)
    out.setflags(write=False)
    return out


def _bias(value: object, count: int, where: str) -> np.ndarray:
    if value is None:
        out = np.zeros(count, np.float32)
        out.setflags(write=False)
        return out
    bias = _weights(value, 1, "bias", where)
    if bias.shape != (count,):
        raise NetworkError(f"{where}: bias must have {count} values, not {bias.shape[0]}")
    return bias


@dataclass(frozen=True, eq=False)
class ConvLayer:
    """A Conv2D layer: ``weights`` (out, in, kh, kw), ``bias`` (out,)."""

    weights: np.ndarray
    bias: np.ndarray | None = None
    stride: int = 1
    padding: str | int = "same"
    dilation: int = 1
    border: str = "zero"
    name: str = "conv"

    kind = "conv"

    def __post_init__(self) -> None:
        where = f"layer {self.name!r}"
        weights = _weights(self.weights, 4, "weights", where)
        out_c, in_c, kh, kw = weights.shape
        if max(kh, kw) > MAX_KERNEL_SIDE:
            raise NetworkError(f"{where}: a {kh}x{kw} kernel is too large (at most 63x63)")
        if max(out_c, in_c) > MAX_CHANNELS:
            raise NetworkError(f"{where}: {out_c}x{in_c} channels is too many")
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "bias", _bias(self.bias, out_c, where))
        object.__setattr__(self, "stride", _positive_int(self.stride, "stride", where))
        object.__setattr__(self, "dilation", _positive_int(self.dilation, "dilation", where))
        padding = self.padding
        if isinstance(padding, str):
            if padding not in PADDINGS:
                raise NetworkError(f"{where}: padding must be one of {PADDINGS} or pixels")
        elif isinstance(padding, bool) or not isinstance(padding, (int, np.integer)):
            raise NetworkError(f"{where}: padding must be same/valid/full or pixels")
        elif not 0 <= padding <= MAX_STEP:
            raise NetworkError(f"{where}: padding must be between 0 and {MAX_STEP} pixels")
        else:
            object.__setattr__(self, "padding", int(padding))
        if self.border not in BORDERS:
            raise NetworkError(f"{where}: border must be one of {', '.join(BORDERS)}")

    @property
    def out_channels(self) -> int:
        return self.weights.shape[0]

    @property
    def in_channels(self) -> int:
        return self.weights.shape[1]

    @property
    def kernel_size(self) -> tuple[int, int]:
        return self.weights.shape[2], self.weights.shape[3]

    def parameter_count(self) -> int:
        return self.weights.size + self.bias.size


@dataclass(frozen=True)
class ActivationLayer:
    """An elementwise activation (``core.ops.activate`` names), or softmax over channels."""

    function: str = "relu"
    name: str = "activation"

    kind = "activation"

    def __post_init__(self) -> None:
        if self.function not in NETWORK_ACTIVATIONS:
            raise NetworkError(
                f"layer {self.name!r}: function must be one of {', '.join(NETWORK_ACTIVATIONS)},"
                f" not {self.function!r}"
            )

    def parameter_count(self) -> int:
        return 0


@dataclass(frozen=True)
class PoolLayer:
    """Max, average or min pooling over ``size`` x ``size`` windows every ``stride`` pixels."""

    mode: str = "max"
    size: int = 2
    stride: int | None = None  # None: same as size
    name: str = "pool"

    kind = "pool"

    def __post_init__(self) -> None:
        where = f"layer {self.name!r}"
        if self.mode not in POOL_MODES:
            raise NetworkError(f"{where}: mode must be one of {', '.join(POOL_MODES)}")
        object.__setattr__(self, "size", _positive_int(self.size, "size", where))
        stride = self.size if self.stride is None else self.stride
        object.__setattr__(self, "stride", _positive_int(stride, "stride", where))

    def parameter_count(self) -> int:
        return 0


@dataclass(frozen=True)
class FlattenLayer:
    """The (H, W, C) map as one vector in row-major order, as Keras ``Flatten`` does."""

    name: str = "flatten"

    kind = "flatten"

    def parameter_count(self) -> int:
        return 0


@dataclass(frozen=True, eq=False)
class DenseLayer:
    """A fully connected layer: ``weights`` (out_features, in_features), ``bias`` (out,)."""

    weights: np.ndarray
    bias: np.ndarray | None = None
    name: str = "dense"

    kind = "dense"

    def __post_init__(self) -> None:
        where = f"layer {self.name!r}"
        weights = _weights(self.weights, 2, "weights", where)
        if max(weights.shape) > MAX_DENSE_FEATURES:
            raise NetworkError(f"{where}: {weights.shape} features is too many")
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "bias", _bias(self.bias, weights.shape[0], where))

    @property
    def out_features(self) -> int:
        return self.weights.shape[0]

    @property
    def in_features(self) -> int:
        return self.weights.shape[1]

    def parameter_count(self) -> int:
        return self.weights.size + self.bias.size


Layer = ConvLayer | ActivationLayer | PoolLayer | FlattenLayer | DenseLayer
LAYER_TYPES = (ConvLayer, ActivationLayer, PoolLayer, FlattenLayer, DenseLayer)


@dataclass(frozen=True)
class Network:
    """An ordered, immutable list of layers with unique names.

    Checks what can be checked without an input: channels agree from conv to conv, dense
    sizes agree from dense to dense, nothing spatial follows a flatten, sizes are sane.
    Whether pools fit and a dense layer's ``in_features`` match depend on the input and
    are checked by ``run_network``.
    """

    layers: tuple[Layer, ...] = field(default_factory=tuple)
    name: str = "network"

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        object.__setattr__(self, "layers", layers)
        if not layers:
            raise NetworkError("a network needs at least one layer")
        if len(layers) > MAX_LAYERS:
            raise NetworkError(f"{len(layers)} layers is too many (at most {MAX_LAYERS})")
        names: set[str] = set()
        channels: int | None = None  # channels of the map so far, once a conv fixed them
        features: int | None = None  # length of the vector so far, once a dense fixed it
        flat = False
        total = 0
        for layer in layers:
            if not isinstance(layer, LAYER_TYPES):
                raise NetworkError(f"not a layer: {layer!r}")
            where = f"layer {layer.name!r}"
            if not layer.name or layer.name in names:
                raise NetworkError(f"{where}: every layer needs its own, non-empty name")
            names.add(layer.name)
            total += layer.parameter_count()
            if isinstance(layer, ConvLayer | PoolLayer) and flat:
                raise NetworkError(f"{where}: a {layer.kind} layer cannot follow a flatten")
            if isinstance(layer, ConvLayer):
                if channels is not None and layer.in_channels != channels:
                    raise NetworkError(
                        f"{where}: takes {layer.in_channels} input channels, but the layer "
                        f"before gives {channels}"
                    )
                channels = layer.out_channels
            elif isinstance(layer, FlattenLayer):
                if flat:
                    raise NetworkError(f"{where}: the map is already flat")
                flat = True
            elif isinstance(layer, DenseLayer):
                if not flat:
                    raise NetworkError(f"{where}: a dense layer needs a flatten layer before it")
                if features is not None and layer.in_features != features:
                    raise NetworkError(
                        f"{where}: takes {layer.in_features} inputs, but the layer before "
                        f"gives {features}"
                    )
                features = layer.out_features
        if total > MAX_PARAMETERS:
            raise NetworkError(f"{total:,} parameters is too many (at most {MAX_PARAMETERS:,})")

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    @property
    def in_channels(self) -> int | None:
        """Channels the first conv layer expects, or None if the network has no conv."""
        for layer in self.layers:
            if isinstance(layer, ConvLayer):
                return layer.in_channels
        return None

    def save(self, path) -> None:
        """Write the network as a ConvScope network JSON file; a failed write leaves any old
        file intact (see ``core.network.files`` for the format)."""
        text = json.dumps(network_to_dict(self), separators=(",", ":"))
        atomic_write(path, text.encode("utf-8"))


# The file format's fields of each layer type (read back by ``core.network.files``).
FORMAT = "convscope-network"
VERSION = 1

LAYER_FIELDS: dict[str, tuple[type, tuple[str, ...]]] = {
    "conv": (ConvLayer, ("weights", "bias", "stride", "padding", "dilation", "border")),
    "activation": (ActivationLayer, ("function",)),
    "pool": (PoolLayer, ("mode", "size", "stride")),
    "flatten": (FlattenLayer, ()),
    "dense": (DenseLayer, ("weights", "bias")),
}


def layer_to_dict(layer: Layer) -> dict:
    out: dict = {"type": layer.kind, "name": layer.name}
    for key in LAYER_FIELDS[layer.kind][1]:
        value = getattr(layer, key)
        out[key] = value.tolist() if hasattr(value, "tolist") else value
    return out


def network_to_dict(network: Network) -> dict:
    return {
        "format": FORMAT,
        "version": VERSION,
        "name": network.name,
        "layers": [layer_to_dict(layer) for layer in network.layers],
    }
