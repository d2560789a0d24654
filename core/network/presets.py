"""Filter banks and example networks from the lecture, each with a one-line lesson.

``PRESETS`` lists them (name -> lesson); :func:`build_preset` makes the :class:`Network` of a
name. Filter banks take one (gray) channel and run as conv ('same' padding) -> ReLU -> 2x2 max
pool, like one Keras block. ``random-N`` builds a seeded He-initialised bank of any N.
All names are kebab-case so they can be typed on the command line.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from core.kernels import preset as kernel_preset
from core.network.files import load_network
from core.network.layers import (
    MAX_CHANNELS,
    ActivationLayer,
    ConvLayer,
    Network,
    NetworkError,
    PoolLayer,
)

KERAS_EXAMPLE = "keras-conv32-maxpool"
FIELD_EXAMPLE = "two-layer-field"
RANDOM_SEED = 0

_EDGE_NAMES = (
    "sobel-x",
    "sobel-y",
    "prewitt-x",
    "prewitt-y",
    "scharr-x",
    "scharr-y",
    "laplacian",
)
_LINES_4 = ("horizontal-lines", "diagonal-45", "vertical-lines", "diagonal-135")


def _kernels(names: tuple[str, ...]) -> np.ndarray:
    """(N, 1, kh, kw) bank of core.kernels presets (scale applied)."""
    return np.stack([kernel_preset(name).effective for name in names])[:, None]


def line_bank(orientations: int) -> np.ndarray:
    """Line detectors at ``orientations`` angles, 180/orientations degrees apart.

    Four orientations are the lecture's 3x3 kernels (horizontal, 45, vertical, 135 degrees).
    Other counts are 5x5: a Gaussian ridge along the line minus its mean, so a flat area
    gives 0 and a thin line at that angle the largest response.
    """
    if orientations == 4:
        return _kernels(_LINES_4)
    half = 2
    ys, xs = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float64)
    bank = []
    for k in range(orientations):
        angle = np.pi * k / orientations  # 0 = horizontal, counter-clockwise as the lecture
        distance = np.abs(np.sin(angle) * xs + np.cos(angle) * ys)  # rows grow downwards
        ridge = np.exp(-(distance**2) / (2 * 0.6**2))
        bank.append(ridge - ridge.mean())
    weights = np.array(bank, np.float32)
    return (weights / np.abs(weights).sum(axis=(1, 2), keepdims=True) * 6)[:, None]


def gabor_bank(orientations: int = 4, wavelengths: tuple[float, ...] = (4.0, 8.0)) -> np.ndarray:
    """Gabor filters: a striped wave under a Gaussian, at each orientation and wavelength.

    All share one odd size (large enough for the longest wavelength); each is made zero-mean
    (so flat areas give 0) and scaled to unit absolute sum (so scales compare).
    """
    size = int(2 * round(max(wavelengths)) + 1) | 1
    bank = []
    for wavelength in wavelengths:
        for k in range(orientations):
            kernel = cv2.getGaborKernel(
                (size, size),
                sigma=0.56 * wavelength,
                theta=np.pi * k / orientations,
                lambd=wavelength,
                gamma=0.5,
                psi=0,
                ktype=cv2.CV_64F,
            )
            kernel -= kernel.mean()
            bank.append(kernel / np.abs(kernel).sum())
    return np.array(bank, np.float32)[:, None]


def he_bank(count: int, in_channels: int = 1, size: int = 3, seed: int = RANDOM_SEED) -> np.ndarray:
    """``count`` random filters drawn as He initialisation does: normal, std sqrt(2 / fan_in)."""
    rng = np.random.default_rng(seed)
    fan_in = in_channels * size * size
    shape = (count, in_channels, size, size)
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), shape).astype(np.float32)


def keras_bank() -> np.ndarray:
    """32 3x3 filters for the Keras example: the hand-made families, their negatives, and a few
    blurs and random (He) filters, in a fixed order so the maps look meaningful and repeatable."""
    hand = _kernels((*_LINES_4, *_EDGE_NAMES))  # 11
    extra = _kernels(("laplacian-8", "sharpen", "gaussian-3", "emboss", "outline", "identity"))
    bank = np.concatenate([hand, -hand, extra])
    # Every filter at the norm He initialisation gives a 3x3 filter (sqrt(2)): one colour
    # scale then shows all 32 maps, where Scharr's weights of 10 would outshine the rest.
    bank *= np.sqrt(2) / np.sqrt((bank**2).sum(axis=(1, 2, 3), keepdims=True))
    bank = np.concatenate([bank, he_bank(32 - len(bank))]).astype(np.float32)
    assert bank.shape == (32, 1, 3, 3)
    return bank


def _block(weights: np.ndarray, name: str, padding: str | int = "same") -> Network:
    return Network(
        (
            ConvLayer(weights, padding=padding, name="conv1"),
            ActivationLayer("relu", name="relu1"),
            PoolLayer("max", 2, name="pool1"),
        ),
        name=name,
    )


def _keras_example() -> Network:
    return _block(keras_bank(), KERAS_EXAMPLE, padding="valid")


def _field_example() -> Network:
    # conv3 -> pool2 -> conv3 -> pool2: a unit of each layer sees 3, 4, 8 and 10 input pixels.
    return Network(
        (
            ConvLayer(line_bank(4), padding="valid", name="conv1"),
            ActivationLayer("relu", name="relu1"),
            PoolLayer("max", 2, name="pool1"),
            ConvLayer(he_bank(8, in_channels=4), padding="valid", name="conv2"),
            ActivationLayer("relu", name="relu2"),
            PoolLayer("max", 2, name="pool2"),
        ),
        name=FIELD_EXAMPLE,
    )


_BUILDERS = {
    "lines-4": (
        lambda: _block(line_bank(4), "lines-4"),
        "The lecture's line detectors at 0, 45, 90 and 135 degrees: one map per orientation.",
    ),
    "lines-8": (
        lambda: _block(line_bank(8), "lines-8"),
        "Line detectors every 22.5 degrees: each map lights up lines near its own angle.",
    ),
    "edges": (
        lambda: _block(_kernels(_EDGE_NAMES), "edges"),
        "Sobel, Prewitt and Scharr in x and y, and a Laplacian: the classic edge family side "
        "by side.",
    ),
    "gabor": (
        lambda: _block(gabor_bank(), "gabor"),
        "Gabor filters at 4 orientations x 2 wavelengths: what trained first layers look like.",
    ),
    "random-32": (
        lambda: _block(he_bank(32), "random-32"),
        "32 untrained He-initialised filters (use random-N for N): noise until training "
        "shapes them.",
    ),
    KERAS_EXAMPLE: (
        _keras_example,
        "Keras Conv2D(32, 3x3) + MaxPooling2D: a 28x28 digit gives 26x26x32 maps, then 13x13x32.",
    ),
    FIELD_EXAMPLE: (
        _field_example,
        "conv3 -> pool2 -> conv3 -> pool2: each layer's units see 3, 4, 8, then 10 input "
        "pixels, from lines towards shapes.",
    ),
}

#: Preset name -> one-line lesson, in the order a menu lists them.
PRESETS: dict[str, str] = {name: lesson for name, (_, lesson) in _BUILDERS.items()}

#: The presets that are one bank of single-channel filters (name -> lesson): the layer stack
#: adds them as a conv layer ("Conv from a filter bank").
FILTER_BANKS: dict[str, str] = {
    name: PRESETS[name] for name in ("lines-4", "lines-8", "edges", "gabor")
}


def filter_bank(name: str) -> np.ndarray:
    """The (N, 1, kh, kw) filters of bank ``name`` (see :data:`FILTER_BANKS`).

    Raises
    ------
    NetworkError
        No bank of that name.
    """
    if name not in FILTER_BANKS:
        raise NetworkError(
            f"no filter bank called {name!r} (choose from {', '.join(FILTER_BANKS)})"
        )
    conv = build_preset(name).layers[0]
    assert isinstance(conv, ConvLayer)
    return conv.weights


_RANDOM = re.compile(r"random-(\d+)")


def list_presets() -> list[tuple[str, str]]:
    """(name, lesson) of every preset network, in menu order."""
    return list(PRESETS.items())


def is_preset(name: str) -> bool:
    """Whether ``name`` is a preset (including any ``random-N``)."""
    return name in _BUILDERS or _RANDOM.fullmatch(name) is not None


def build_preset(name: str) -> Network:
    """The network of a preset name (see :data:`PRESETS`; ``random-N`` for any N).

    Raises
    ------
    NetworkError
        Unknown name, or a ``random-N`` with N out of range.
    """
    if name in _BUILDERS:
        return _BUILDERS[name][0]()
    match = _RANDOM.fullmatch(name)
    if match:
        count = int(match.group(1))
        if not 1 <= count <= MAX_CHANNELS:
            raise NetworkError(f"{name}: a random bank has 1 to {MAX_CHANNELS} filters")
        return _block(he_bank(count), name)
    raise NetworkError(f"unknown network preset {name!r} (choose from {', '.join(PRESETS)})")


def resolve_network(spec: str) -> Network:
    """A preset name, or else the path of a network JSON file (used by the batch command).

    Raises
    ------
    NetworkError
        Neither a preset nor a usable network file; the message says which and why.
    """
    if is_preset(spec) and not Path(spec).is_file():
        return build_preset(spec)
    path = Path(spec)
    if not path.exists() and path.suffix.lower() != ".json":
        raise NetworkError(
            f"{spec!r} is neither a network preset ({', '.join(PRESETS)}, random-N) "
            "nor a network file"
        )
    return load_network(path)
