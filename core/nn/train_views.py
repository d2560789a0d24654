"""Pictures for the Train view and the ask-why canvas, drawn in the worker (never Qt).

- the first conv layer's filters on one *fixed* colour scale for a whole run, so a filter
  that grows from faint noise into an edge detector visibly darkens instead of being
  re-normalised every frame;
- that layer's feature maps for one example;
- a confusion matrix as a colour image (the numbers are drawn by the view);
- a heat map (saliency, Grad-CAM) laid over the 28x28 digit.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from core.display import apply_colormap, colormap_lut
from core.network import ActivationLayer, ConvLayer, LayerOutput, Network, run_network
from core.network.views import FILTER_COLORMAP, GridImage, default_columns, layer_grid

#: The fixed scale starts at this multiple of the first filters' largest weight: a freshly
#: initialised first layer (0.1 of He's scale) then looks faint, and the learned filters
#: (measured: the default network's grow from 0.11 to 0.26 in two epochs) fill the scale
#: without saturating.
SCALE_HEADROOM = 2.0
#: Pixels a side of one confusion-matrix cell (room for a 3-digit count).
CONFUSION_CELL = 40
CONFUSION_GRID = (40, 42, 50)
_FILTER_ZOOM = 10  # a 3x3 filter drawn 30x30 pixels


def first_conv(network: Network) -> tuple[int, ConvLayer] | None:
    """(index, layer) of the network's first conv layer, or None."""
    for index, layer in enumerate(network.layers):
        if isinstance(layer, ConvLayer):
            return index, layer
    return None


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 5, 7 x 10^k that is >= value (a scale that reads well)."""
    if not (math.isfinite(value) and value > 0):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0):
        if step * power >= value * (1 - 1e-9):
            return step * power
    return 10.0 * power


def filter_scale(layer: ConvLayer, previous: float | None = None) -> float:
    """The colour scale (+-scale) for ``layer``'s filters.

    The first call of a run (``previous`` None) picks :data:`SCALE_HEADROOM` times the largest
    weight, rounded up to a readable number; later calls keep ``previous`` unless a weight
    outgrew it (then the scale grows, never shrinks, so filters stay comparable over time).
    """
    largest = float(np.abs(layer.weights).max(initial=0.0))
    if previous is None:
        return _nice_ceiling(SCALE_HEADROOM * largest)
    return previous if largest <= previous else _nice_ceiling(largest)


def filter_thumbnails(layer: ConvLayer, scale: float) -> GridImage:
    """``layer``'s filters (first input channel slices, one cell each, 10x enlarged) on the
    fixed symmetric scale ``(-scale, scale)``: white zero, blue negative, red positive."""
    weights = layer.weights  # (O, I, kh, kw)
    out_c, in_c, kh, kw = weights.shape
    cells = np.ascontiguousarray(weights.reshape(out_c * in_c, kh, kw).transpose(1, 2, 0))
    columns = in_c if in_c > 1 else default_columns(out_c)
    return layer_grid(
        cells, (-scale, scale), FILTER_COLORMAP, columns, zoom=max(1, _FILTER_ZOOM * 3 // kh)
    )


def first_layer_maps(network: Network, digit: np.ndarray) -> tuple[LayerOutput, GridImage] | None:
    """The first conv layer's maps for one 28x28 ``digit`` (float in [0, 1] or uint8), after
    its activation when one follows; None for a network without conv layers."""
    found = first_conv(network)
    if found is None:
        return None
    index, _ = found
    if index + 1 < len(network.layers) and isinstance(network.layers[index + 1], ActivationLayer):
        index += 1
    image = np.asarray(digit, np.float32)
    if np.issubdtype(np.asarray(digit).dtype, np.integer):
        image = image / np.float32(255)
    outputs = run_network(image, Network(network.layers[: index + 1]))
    output = outputs[-1]
    columns = default_columns(output.map.shape[2], output.map.shape[:2])
    return output, layer_grid(output.map, columns=columns, zoom=2)


def confusion_picture(confusion: np.ndarray, cell: int = CONFUSION_CELL) -> np.ndarray:
    """A (10, 10) confusion matrix (rows: true, columns: predicted) as one RGB picture with
    the count written in each cell: (10 * cell, 10 * cell, 3) uint8.

    Each cell is coloured by its share of its row (the fraction of that digit predicted as
    the column's), so the diagonal is bright when the network is right and a common mistake
    stands out whatever the class sizes. The numbers are drawn here, in the worker: one
    image costs the GUI one ``setImage``, where 100 text items cost it a long repaint.
    """
    counts = np.asarray(confusion, np.float64)
    classes = counts.shape[0]
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    # sqrt: a 2% mistake is still visibly tinted next to a 98% diagonal.
    colours = apply_colormap(np.sqrt(share).astype(np.float32), colormap_lut("viridis"), (0, 1))
    picture = np.ascontiguousarray(colours.repeat(cell, axis=0).repeat(cell, axis=1))
    font, thickness = cv2.FONT_HERSHEY_SIMPLEX, 1
    luminance = colours.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])
    for r in range(classes):
        for c in range(classes):
            count = int(counts[r, c])
            if count == 0:
                continue
            text = str(count)
            scale = cv2.getFontScaleFromHeight(font, max(6, round(cell * 0.36)), thickness)
            (w, h), _ = cv2.getTextSize(text, font, scale, thickness)
            origin = (c * cell + (cell - w) // 2, r * cell + (cell + h) // 2)
            ink = (16, 16, 16) if luminance[r, c] > 140 else (240, 240, 240)
            cv2.putText(picture, text, origin, font, scale, ink, thickness, cv2.LINE_AA)
    picture[::cell] = CONFUSION_GRID  # thin lines between cells
    picture[:, ::cell] = CONFUSION_GRID
    return picture


def heat_overlay(digit: np.ndarray, heat: np.ndarray, alpha: float = 0.6) -> np.ndarray:
    """``heat`` (28x28 in [0, 1]) in the "inferno" colours laid over the gray ``digit``:
    (28, 28, 3) uint8. Where the heat is zero the digit shows through unchanged."""
    gray = np.clip(np.asarray(digit, np.float32), 0, 1)[..., None] * 255.0
    heat = np.clip(np.asarray(heat, np.float32), 0, 1)
    colours = apply_colormap(heat, colormap_lut("inferno"), (0.0, 1.0)).astype(np.float32)
    weight = (alpha * heat)[..., None]
    return (gray * (1 - weight) + colours * weight + 0.5).astype(np.uint8)


__all__ = [
    "CONFUSION_CELL",
    "SCALE_HEADROOM",
    "confusion_picture",
    "filter_scale",
    "filter_thumbnails",
    "first_conv",
    "first_layer_maps",
    "heat_overlay",
]
