"""Editing a network as a user does in the layer stack: pure functions, no Qt.

Every edit returns a new :class:`Network` (the old one is untouched, so undo is keeping it)
and a list of notes for the user. An edit that changes how many channels reach a conv layer
(more filters before it, a conv removed or moved) refits that conv's input slices: kept ones
stay, new ones start He-random, as a framework would re-initialise a rebuilt layer. Anything
else that cannot be built raises :class:`NetworkError` with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

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
from core.network.presets import build_preset, filter_bank
from core.network.run import network_geometry

__all__ = [
    "LayerSummary",
    "bank_conv",
    "channels_at",
    "describe_layer",
    "example_network",
    "fit_channels",
    "he_weights",
    "insert_layer",
    "move_layer",
    "random_conv",
    "reconfigure",
    "remove_layer",
    "replace_layer",
    "rerandomized",
    "resize_kernels",
    "summarize",
    "unique_name",
]


def he_weights(
    rng: np.random.Generator, out_channels: int, in_channels: int, kh: int, kw: int
) -> np.ndarray:
    """He-initialised weights (normal, std sqrt(2 / fan-in)): where a CNN filter starts."""
    std = math.sqrt(2.0 / (in_channels * kh * kw))
    return rng.normal(0.0, std, size=(out_channels, in_channels, kh, kw)).astype(np.float32)


def random_conv(
    out_channels: int,
    in_channels: int,
    size: int = 3,
    *,
    name: str = "conv",
    rng: np.random.Generator | None = None,
    **options,
) -> ConvLayer:
    """A conv layer of ``out_channels`` He-random ``size`` x ``size`` filters, zero bias."""
    rng = rng if rng is not None else np.random.default_rng()
    if not 1 <= out_channels <= 2048 or not 1 <= in_channels <= 2048:
        raise NetworkError(f"layer {name!r}: channels must be between 1 and 2048")
    if not 1 <= size <= 63:
        raise NetworkError(f"layer {name!r}: kernel size must be between 1 and 63")
    weights = he_weights(rng, out_channels, in_channels, size, size)
    return ConvLayer(weights, name=name, **options)


def bank_conv(bank: str, in_channels: int, *, name: str = "conv", **options) -> ConvLayer:
    """A conv layer whose filters are the preset filter bank ``bank``
    (``core.network.presets.FILTER_BANKS``), the same on every input channel, so each filter
    sums the channels' responses."""
    kernels = filter_bank(bank)[:, 0]
    weights = np.stack([np.repeat(k[None], in_channels, axis=0) for k in kernels])
    return ConvLayer(weights, name=name, **options)


def resize_kernels(weights: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """Resize every kernel of (O, I, h, w) weights to kh x kw around the anchor cell
    (h // 2, w // 2): growing pads zeros, shrinking crops the border."""
    out_c, in_c, h, w = weights.shape
    result = np.zeros((out_c, in_c, kh, kw), np.float32)
    dr, dc = kh // 2 - h // 2, kw // 2 - w // 2
    src_r, src_c = max(0, -dr), max(0, -dc)
    dst_r, dst_c = max(0, dr), max(0, dc)
    rows, cols = min(h - src_r, kh - dst_r), min(w - src_c, kw - dst_c)
    if rows > 0 and cols > 0:
        result[:, :, dst_r : dst_r + rows, dst_c : dst_c + cols] = weights[
            :, :, src_r : src_r + rows, src_c : src_c + cols
        ]
    return result


def unique_name(prefix: str, taken: Sequence[str]) -> str:
    """``prefix`` followed by the smallest number >= 1 that no name in ``taken`` has."""
    number = 1
    while f"{prefix}{number}" in taken:
        number += 1
    return f"{prefix}{number}"


def fit_channels(
    layers: Sequence[Layer], input_channels: int, rng: np.random.Generator | None = None
) -> tuple[Network, list[str]]:
    """Build a network, refitting each conv to the channels that reach it.

    Returns the network and one note per refitted layer.
    """
    rng = rng if rng is not None else np.random.default_rng()
    channels = input_channels
    fitted: list[Layer] = []
    notes: list[str] = []
    for layer in layers:
        if isinstance(layer, ConvLayer):
            if layer.in_channels != channels:
                out_c, in_c, kh, kw = layer.weights.shape
                weights = he_weights(rng, out_c, channels, kh, kw)
                keep = min(in_c, channels)
                weights[:, :keep] = layer.weights[:, :keep]
                layer = replace(layer, weights=weights)
                added = channels - keep
                notes.append(
                    f"{layer.name} now takes {channels} input channel(s)"
                    + (f"; its {added} new slice(s) start He-random" if added > 0 else "")
                )
            channels = layer.out_channels
        fitted.append(layer)
    return Network(tuple(fitted)), notes


def _rebuilt(
    network: Network, layers: list[Layer], input_channels: int, rng
) -> tuple[Network, list[str]]:
    fitted, notes = fit_channels(layers, input_channels, rng)
    return Network(fitted.layers, name=network.name), notes


def insert_layer(
    network: Network, index: int, layer: Layer, input_channels: int, rng=None
) -> tuple[Network, list[str]]:
    """``network`` with ``layer`` inserted at ``index`` (0 = first)."""
    layers = list(network.layers)
    if not 0 <= index <= len(layers):
        raise NetworkError(f"cannot insert a layer at position {index + 1}")
    layers.insert(index, layer)
    return _rebuilt(network, layers, input_channels, rng)


def remove_layer(
    network: Network, index: int, input_channels: int, rng=None
) -> tuple[Network, list[str]]:
    """``network`` without layer ``index``; a network keeps at least one layer."""
    if len(network) == 1:
        raise NetworkError("a network needs at least one layer: add another before removing this")
    layers = list(network.layers)
    del layers[index]
    return _rebuilt(network, layers, input_channels, rng)


def move_layer(
    network: Network, index: int, to: int, input_channels: int, rng=None
) -> tuple[Network, list[str]]:
    """``network`` with layer ``index`` moved to position ``to``."""
    layers = list(network.layers)
    if not (0 <= index < len(layers) and 0 <= to < len(layers)):
        raise NetworkError(f"cannot move layer {index + 1} to position {to + 1}")
    layers.insert(to, layers.pop(index))
    return _rebuilt(network, layers, input_channels, rng)


def replace_layer(
    network: Network, index: int, layer: Layer, input_channels: int, rng=None
) -> tuple[Network, list[str]]:
    """``network`` with layer ``index`` replaced by ``layer`` (a reconfigured copy)."""
    layers = list(network.layers)
    layers[index] = layer
    return _rebuilt(network, layers, input_channels, rng)


def example_network(
    name: str, input_channels: int = 1, rng: np.random.Generator | None = None
) -> Network:
    """The preset network ``name`` (``core.network.presets``), its first conv refitted to an
    input of ``input_channels`` channels (new slices He-random).

    Raises
    ------
    NetworkError
        No preset of that name.
    """
    network = build_preset(name)
    fitted, _notes = fit_channels(network.layers, input_channels, rng)
    return Network(fitted.layers, name=network.name)


# ---------------------------------------------------------------------------------------------
# What the layer stack lists


@dataclass(frozen=True)
class LayerSummary:
    """One row of the layer stack: what the layer is and what it gives for the current input."""

    name: str
    kind: str
    description: str  # e.g. "8 filters 3x3, stride 1, same"
    output_shape: tuple[int, ...] | None  # (H, W, C) or (N,); None where it cannot run
    parameters: int
    field: tuple[int, int] | None  # receptive field (h, w) in input pixels
    problem: str | None = None  # why the layer cannot run on this input


def describe_layer(layer: Layer) -> str:
    """A short description of a layer's configuration."""
    if isinstance(layer, ConvLayer):
        out_c, in_c, kh, kw = layer.weights.shape
        text = f"{out_c} filter{'s' if out_c != 1 else ''} {kh}x{kw}"
        if in_c > 1:
            text += f"x{in_c}"
        text += f", stride {layer.stride}, "
        text += f"pad {layer.padding}" if isinstance(layer.padding, int) else layer.padding
        if layer.dilation > 1:
            text += f", dilation {layer.dilation}"
        if layer.border != "zero":
            text += f", {layer.border} border"
        return text
    if isinstance(layer, ActivationLayer):
        return layer.function
    if isinstance(layer, PoolLayer):
        return f"{layer.mode} {layer.size}x{layer.size}, stride {layer.stride}"
    if isinstance(layer, DenseLayer):
        return f"{layer.in_features} -> {layer.out_features}"
    return "to a vector"


def summarize(
    network: Network, input_shape: tuple[int, int], input_channels: int
) -> list[LayerSummary]:
    """Each layer's output shape, parameters and receptive field for an input of
    ``input_shape`` (H, W) with ``input_channels`` channels; the first layer that cannot run
    says why, and the layers after it have no shape."""
    geometries = network_geometry(tuple(input_shape), network)
    channels = input_channels
    features: int | None = None
    broken: str | None = None
    rows = []
    for layer, geometry in zip(network.layers, geometries, strict=True):
        problem = None
        shape: tuple[int, ...] | None = None
        if broken is not None:
            problem = f"cannot run: {broken} does not"
        elif isinstance(layer, ConvLayer) and layer.in_channels != channels:
            problem = f"takes {layer.in_channels} input channel(s), gets {channels}"
        elif geometry is not None and min(geometry.shape) < 1:
            problem = "the map before it is too small for it"
        elif isinstance(layer, DenseLayer) and layer.in_features != features:
            problem = f"takes {layer.in_features} inputs, gets {features}"
        if problem is None:
            if isinstance(layer, ConvLayer):
                channels = layer.out_channels
            if isinstance(layer, FlattenLayer):
                features = _spatial_size(rows, input_shape) * channels
            elif isinstance(layer, DenseLayer):
                features = layer.out_features
            shape = (*geometry.shape, channels) if geometry is not None else (features,)
        elif broken is None:
            broken = layer.name
        rows.append(
            LayerSummary(
                name=layer.name,
                kind=layer.kind,
                description=describe_layer(layer),
                output_shape=shape,
                parameters=layer.parameter_count(),
                field=geometry.field if geometry is not None and problem is None else None,
                problem=problem,
            )
        )
    return rows


def _spatial_size(rows: list[LayerSummary], input_shape: tuple[int, int]) -> int:
    """H * W of the last spatial map so far (the input's if no layer made one)."""
    for row in reversed(rows):
        if row.output_shape is not None and len(row.output_shape) == 3:
            return row.output_shape[0] * row.output_shape[1]
    return input_shape[0] * input_shape[1]


def channels_at(network: Network, index: int, input_channels: int) -> int:
    """Channels of the map that reaches position ``index`` (the input's before any conv)."""
    channels = input_channels
    for layer in network.layers[:index]:
        if isinstance(layer, ConvLayer):
            channels = layer.out_channels
    return channels


def reconfigure(
    layer: Layer, field: str, value: object, rng: np.random.Generator | None = None
) -> Layer:
    """A copy of ``layer`` with one setting changed, as the settings panel asks.

    ``field`` is ``name`` or a layer field (``stride``, ``padding``, ``function``, ...), plus
    ``filters`` (conv: keeps the first filters, new ones start He-random with zero bias) and
    ``kernel_size`` (conv: k x k, keeping the centre of every filter). A pool whose stride
    followed its size keeps following it.
    """
    rng = rng if rng is not None else np.random.default_rng()
    if isinstance(layer, ConvLayer) and field == "filters":
        count = int(value)  # type: ignore[call-overload]
        if not 1 <= count <= 2048:
            raise NetworkError(f"layer {layer.name!r}: filters must be between 1 and 2048")
        out_c, in_c, kh, kw = layer.weights.shape
        weights = he_weights(rng, count, in_c, kh, kw)
        bias = np.zeros(count, np.float32)
        keep = min(out_c, count)
        weights[:keep] = layer.weights[:keep]
        bias[:keep] = layer.bias[:keep]
        return replace(layer, weights=weights, bias=bias)
    if isinstance(layer, ConvLayer) and field == "kernel_size":
        size = int(value)  # type: ignore[call-overload]
        if not 1 <= size <= 63:
            raise NetworkError(f"layer {layer.name!r}: kernel size must be between 1 and 63")
        return replace(layer, weights=resize_kernels(layer.weights, size, size))
    if isinstance(layer, PoolLayer) and field == "size":
        stride = value if layer.stride == layer.size else layer.stride
        return replace(layer, size=value, stride=stride)
    allowed = {
        ConvLayer: ("name", "stride", "padding", "dilation", "border"),
        ActivationLayer: ("name", "function"),
        PoolLayer: ("name", "mode", "stride"),
    }.get(type(layer), ("name",))
    if field not in allowed:
        raise NetworkError(f"layer {layer.name!r}: a {layer.kind} layer has no setting {field!r}")
    if field == "name" and (not isinstance(value, str) or not value.strip()):
        raise NetworkError(f"layer {layer.name!r}: a layer needs a name")
    return replace(layer, **{field: value})


def rerandomized(layer: ConvLayer, rng: np.random.Generator | None = None) -> ConvLayer:
    """``layer`` with new He-random weights and zero bias (same shape and settings)."""
    rng = rng if rng is not None else np.random.default_rng()
    return replace(layer, weights=he_weights(rng, *layer.weights.shape), bias=None)
