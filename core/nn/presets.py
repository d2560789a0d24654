"""Networks to train: the small default, the lecture's Keras model, and any layer stack
completed into a digit classifier; weights initialised the way training wants them."""

from __future__ import annotations

import numpy as np

from core.network import (
    ActivationLayer,
    ConvLayer,
    DenseLayer,
    FlattenLayer,
    Network,
    NetworkError,
    PoolLayer,
    network_geometry,
)

INPUT_SHAPE = (28, 28)
CLASSES = 10
#: The first conv layer starts at this fraction of He's scale, so its 3x3 filters visibly grow
#: from faint noise into edge and blob detectors (they move ~4x their initial norm in 1,000
#: steps, against ~0.4x from plain He) while accuracy is unaffected.
FIRST_CONV_SCALE = 0.1


def _conv(name: str, out_c: int, in_c: int) -> ConvLayer:
    return ConvLayer(np.zeros((out_c, in_c, 3, 3), np.float32), padding="valid", name=name)


def _default_layers() -> list:
    return [
        _conv("conv1", 8, 1),
        ActivationLayer("relu", "relu1"),
        PoolLayer("max", 2, name="pool1"),
        _conv("conv2", 16, 8),
        ActivationLayer("relu", "relu2"),
        PoolLayer("max", 2, name="pool2"),
    ]


def _lecture_layers() -> list:
    # Keras: Conv2D(32, (3, 3), activation="relu"), MaxPooling2D((2, 2)), Flatten(), Dense(10)
    return [
        _conv("conv1", 32, 1),
        ActivationLayer("relu", "relu1"),
        PoolLayer("max", 2, name="pool1"),
    ]


#: Preset name -> (description, the layers before the classifier head).
PRESETS = {
    "default": ("conv 3x3x8 - relu - pool - conv 3x3x16 - relu - pool - dense 10", _default_layers),
    "lecture": ("Conv2D(32, 3x3) - relu - MaxPooling2D - Flatten - Dense(10)", _lecture_layers),
}


def preset_network(name: str = "default", seed: int = 0) -> Network:
    """A preset digit classifier with freshly initialised weights."""
    try:
        _, make = PRESETS[name]
    except KeyError:
        raise NetworkError(f"unknown network preset {name!r} (use {', '.join(PRESETS)})") from None
    return as_classifier(Network(tuple(make()), name=name), seed=seed, initialise_all=True)


def as_classifier(
    network: Network,
    *,
    input_shape: tuple[int, int] = INPUT_SHAPE,
    classes: int = CLASSES,
    seed: int = 0,
    initialise_all: bool = False,
) -> Network:
    """``network`` made into a ``classes``-way classifier of gray ``input_shape`` images.

    A network without a dense layer gets flatten, dense and softmax layers appended (the new
    dense layer initialised from ``seed``); one with a dense layer must already give
    ``classes`` scores. With ``initialise_all``, every weight is re-initialised (He; the first
    conv at :data:`FIRST_CONV_SCALE`), otherwise the existing weights are the starting point.

    Raises
    ------
    NetworkError
        The network does not take one-channel images, does not fit the input, or gives
        another number of classes.
    """
    layers = list(network.layers)
    if network.in_channels not in (None, 1):
        raise NetworkError(
            f"the network's first conv layer takes {network.in_channels} channels; digits "
            "are gray (1 channel)"
        )
    has_dense = any(isinstance(layer, DenseLayer) for layer in layers)
    if not has_dense:
        if isinstance(layers[-1], ActivationLayer) and layers[-1].function == "softmax":
            layers.pop()  # a softmax over the channels of a map is no classifier
        geometry = [g for g in network_geometry(input_shape, Network(tuple(layers))) if g]
        channels = next(
            (layer.out_channels for layer in reversed(layers) if isinstance(layer, ConvLayer)), 1
        )
        shape = geometry[-1].shape if geometry else input_shape
        if min(shape) < 1:
            raise NetworkError(f"the network leaves nothing of a {input_shape} input")
        names = {layer.name for layer in layers}
        if not any(isinstance(layer, FlattenLayer) for layer in layers):
            layers.append(FlattenLayer(_free_name("flatten", names)))
        features = shape[0] * shape[1] * channels
        layers.append(
            DenseLayer(np.zeros((classes, features), np.float32), name=_free_name("dense", names))
        )
        layers.append(ActivationLayer("softmax", _free_name("probabilities", names)))
    out = Network(tuple(layers), name=network.name)
    last_dense = next(layer for layer in reversed(out.layers) if isinstance(layer, DenseLayer))
    if last_dense.out_features != classes:
        raise NetworkError(
            f"layer {last_dense.name!r}: gives {last_dense.out_features} scores, but there are "
            f"{classes} classes"
        )
    fresh = set(range(len(network.layers), len(out.layers)))
    if initialise_all:
        fresh = set(range(len(out.layers)))
    return initialise(out, seed, only=fresh)


def _free_name(base: str, names: set[str]) -> str:
    name, k = base, 2
    while name in names:
        name, k = f"{base}{k}", k + 1
    names.add(name)
    return name


def initialise(network: Network, seed: int = 0, only: set[int] | None = None) -> Network:
    """He-normal conv and dense weights, zero biases; the first conv scaled by
    :data:`FIRST_CONV_SCALE`; the last dense layer (the logits) at LeCun's 1/fan_in.

    ``only`` restricts the change to those layer indices. Reproducible for a given ``seed``.
    """
    rng = np.random.default_rng(seed)
    layers = list(network.layers)
    convs = [i for i, layer in enumerate(layers) if isinstance(layer, ConvLayer)]
    denses = [i for i, layer in enumerate(layers) if isinstance(layer, DenseLayer)]
    for i, layer in enumerate(layers):
        if only is not None and i not in only:
            continue
        if isinstance(layer, ConvLayer):
            fan_in = layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1]
            std = np.sqrt(2.0 / fan_in) * (FIRST_CONV_SCALE if i == convs[0] else 1.0)
            weights = rng.normal(0.0, std, layer.weights.shape)
            layers[i] = ConvLayer(
                weights,
                None,
                stride=layer.stride,
                padding=layer.padding,
                dilation=layer.dilation,
                border=layer.border,
                name=layer.name,
            )
        elif isinstance(layer, DenseLayer):
            gain = 1.0 if i == denses[-1] else 2.0
            weights = rng.normal(0.0, np.sqrt(gain / layer.in_features), layer.weights.shape)
            layers[i] = DenseLayer(weights, None, name=layer.name)
    return Network(tuple(layers), name=network.name)
