"""Ask the model why: what a trained network sees in one digit, and which pixels decided.

For one picture: the 28x28 the network sees (MNIST preprocessing), the class probabilities,
every layer's maps, a saliency map (|gradient of the class score w.r.t. the input|) and
Grad-CAM (Selvaraju et al. 2017: the last conv layer's maps weighted by the mean gradient of
the class score, ReLU, placed back over the input by the layer's receptive-field geometry).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.network import (
    ActivationLayer,
    ConvLayer,
    LayerOutput,
    Network,
    NetworkError,
    network_geometry,
)
from core.nn import ops
from core.nn.digits import SIDE, Polarity, preprocess_digit
from core.nn.model import Model


@dataclass(frozen=True, eq=False)
class Why:
    """Everything the canvas shows for one digit; arrays are float32."""

    digit: np.ndarray  # (28, 28) in [0, 1], ink bright: what the network sees
    probabilities: np.ndarray  # (classes,)
    target: int  # the class explained (the predicted one unless asked otherwise)
    outputs: list[LayerOutput]  # every layer's map, as core.network.run_network gives them
    saliency: np.ndarray  # (28, 28) in [0, 1]
    gradcam: np.ndarray | None  # (28, 28) in [0, 1]; None for a network without conv layers
    gradcam_layer: str | None  # the layer whose maps Grad-CAM weighs

    @property
    def predicted(self) -> int:
        return int(self.probabilities.argmax())


def ask_why(
    network: Network | Model,
    image: np.ndarray,
    *,
    target: int | None = None,
    preprocess: bool = True,
    polarity: Polarity = "auto",
) -> Why:
    """Explain ``network``'s answer for ``image``.

    Parameters
    ----------
    network
        A digit classifier (or a :class:`Model` of one, to skip copying its weights).
    image
        Any digit picture (gray or RGB, uint8 or float in [0, 1]); with ``preprocess=False``
        a ready (28, 28) MNIST-style digit, such as a test example.
    target
        The class to explain; default the predicted one.

    Raises
    ------
    NetworkError
        The network does not take a 28x28 gray image or does not end in class scores.
    """
    model = network if isinstance(network, Model) else Model(network)
    if preprocess:
        digit = preprocess_digit(image, polarity)
    else:
        digit = np.asarray(image)
        scale = np.iinfo(digit.dtype).max if np.issubdtype(digit.dtype, np.integer) else 1
        digit = digit.astype(np.float32) / np.float32(scale)  # a uint8 test image: 0..255
    if digit.shape != (SIDE, SIDE):
        raise ValueError(f"a digit must be {SIDE}x{SIDE}, not {digit.shape}")
    logits, caches, maps = model.forward(digit[None, :, :, None], fuse=False, keep=True)
    if logits.ndim != 2:
        raise NetworkError("the network must end in a dense layer giving class scores")
    probabilities = ops.softmax(logits[0].astype(np.float64)).astype(np.float32)
    if target is None:
        target = int(probabilities.argmax())
    if not 0 <= target < len(probabilities):
        raise ValueError(f"class {target} is not one of the network's {len(probabilities)}")

    # d(score of the target class)/d(everything): the score is the logit, as Grad-CAM uses.
    seed = np.zeros_like(logits)
    seed[0, target] = 1
    output_grads: dict[int, np.ndarray] = {}
    _, input_grad = model.backward(seed, caches, input_grad=True, output_grads=output_grads)
    saliency = _unit(np.abs(input_grad[0]).max(axis=-1))

    layers = model.network.layers
    geometry = network_geometry((SIDE, SIDE), model.network)
    gradcam, gradcam_layer = None, None
    convs = [i for i, layer in enumerate(layers) if isinstance(layer, ConvLayer)]
    if convs:
        k = convs[-1]
        # The maps the user sees for that conv are after its activation, when one follows.
        if k + 1 < len(maps) and isinstance(layers[k + 1], ActivationLayer):
            k += 1
        a, g = maps[k][0], output_grads[k][0]
        cam = np.maximum(a @ g.mean(axis=(0, 1)), 0).astype(np.float32)
        gradcam, gradcam_layer = _unit(_place_over_input(cam, geometry[k])), layers[k].name

    outputs = [
        LayerOutput(layer, np.ascontiguousarray(m[0], dtype=np.float32), geo)
        for layer, m, geo in zip(layers, maps, geometry, strict=False)
    ]
    if model.ends_in_softmax:
        outputs.append(LayerOutput(layers[-1], probabilities, None))
    return Why(digit, probabilities, target, outputs, saliency, gradcam, gradcam_layer)


def _place_over_input(cam: np.ndarray, geometry) -> np.ndarray:
    """Resample a map onto the 28x28 input: unit (r, c) sits at the centre of its receptive
    field, ``field_origin + step * (r, c) + (field - 1) / 2``; bilinear in between."""
    step = geometry.step
    cy = geometry.field_origin[0] + (geometry.field[0] - 1) / 2
    cx = geometry.field_origin[1] + (geometry.field[1] - 1) / 2
    # Input pixel (x, y) reads the map at ((x - cx) / step, (y - cy) / step).
    to_map = np.float32([[1 / step, 0, -cx / step], [0, 1 / step, -cy / step]])
    return cv2.warpAffine(
        cam,
        to_map,
        (SIDE, SIDE),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def _unit(a: np.ndarray) -> np.ndarray:
    """Scaled to [0, 1] by its maximum (zeros stay zeros)."""
    peak = float(a.max(initial=0.0))
    return (a / peak if peak > 0 else np.zeros_like(a)).astype(np.float32)
