"""What a pane needs to draw a map quickly: a display-sized copy, its levels and its stats.

Computed in the worker thread so the GUI thread only uploads a small, ready image: a
24-megapixel map is reduced (pixel-area averaging) to about one megapixel, more than a pane
shows, and keeps its place in input coordinates; hover readouts still read the full array.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import cv2
import numpy as np

from core.display import (
    COLORMAPS,
    apply_colormap,
    compute_levels,
    display_histogram,
    is_signed,
    lut_index,
)
from core.kernels import Kernel
from core.pipeline import PipelineResult, PipelineSettings, run_pipeline

MAX_DISPLAY_PIXELS = 1_000_000


@dataclass(frozen=True, eq=False)
class PaneView:
    data: np.ndarray  # C-contiguous float32, at most MAX_DISPLAY_PIXELS pixels
    levels: tuple[float, float]
    signed: bool
    minimum: float
    maximum: float
    mean: float
    histogram: tuple[np.ndarray, np.ndarray] | None = None  # of ``data``: display_histogram
    pixels: np.ndarray | None = None  # uint8 ``data`` at ``levels``: LUT indices, or RGB

    @property
    def drawn(self) -> tuple[tuple[float, float], np.ndarray] | None:
        """(levels, pixels): what ``pixels`` were drawn at, for a pane to use at those only."""
        return None if self.pixels is None else (self.levels, self.pixels)

    @property
    def magnitude(self) -> float:
        """The largest absolute value of the map (0 if it has none that is finite)."""
        finite = [abs(v) for v in (self.minimum, self.maximum) if math.isfinite(v)]
        return max(finite, default=0.0)

    @property
    def stats_text(self) -> str:
        low, high, mean = (tidy(v, self.magnitude) for v in (self.minimum, self.maximum, self.mean))
        return f"min {low:.3g}  max {high:.3g}  mean {mean:.3g}"


def tidy(value: float, magnitude: float) -> float:
    """``value``, or 0 if it is float32 rounding noise next to ``magnitude``.

    A flat area under an edge kernel sums to 0.431 + 0.431 + 0.431 - 3 x 0.431, which float32
    arithmetic leaves at about 6e-08: the lesson is "flat areas give 0", and that is what a
    readout should say. Anything below a millionth of the map's largest value is such noise.
    """
    return 0.0 if abs(value) <= 1e-6 * magnitude else value


def reduce_for_display(data: np.ndarray, max_pixels: int = MAX_DISPLAY_PIXELS) -> np.ndarray:
    """A copy of ``data`` with at most ``max_pixels`` pixels (area-averaged), float32."""
    h, w = data.shape[:2]
    factor = int(np.ceil(np.sqrt(h * w / max_pixels))) if h * w > max_pixels else 1
    data = np.ascontiguousarray(data, dtype=np.float32)
    if factor == 1:
        return data
    size = (max(1, w // factor), max(1, h // factor))
    return cv2.resize(data, size, interpolation=cv2.INTER_AREA)


def _min_max_mean(data: np.ndarray) -> tuple[float, float, float] | None:
    """One OpenCV pass each for a finite single-channel map; None when NaN or inf is present."""
    if data.ndim != 2 or data.dtype != np.float32:
        return None
    low, high, _, _ = cv2.minMaxLoc(data)
    mean = cv2.mean(data)[0]
    if not (math.isfinite(low) and math.isfinite(high) and math.isfinite(mean)):
        return None  # minMaxLoc skips NaN, so the mean is what reveals it
    return float(low), float(high), float(mean)


def make_view(
    data: np.ndarray,
    levels_mode: str = "auto",
    histogram: bool = True,
    pixels: bool = True,
    levels: tuple[float, float] | None = None,
) -> PaneView:
    """Display copy, levels, min/max/mean and what a pane draws, for a feature map.

    Runs on every edit and every live frame, so each pass over the map counts: a finite 2-D
    map takes three OpenCV passes, and 'auto' levels follow from its extent alone.

    Parameters
    ----------
    levels_mode : {"auto", "robust"}
        How to choose the levels, unless ``levels`` gives them.
    histogram : bool
        Also the display copy's histogram (~0.5 ms per megapixel).
    pixels : bool
        Also the display copy as drawn at these levels (~1.5 ms per megapixel): LUT indices
        for a single map, RGB for colour; the GUI thread then only hands them to Qt.
    """
    reduced = reduce_for_display(data)
    stats = _min_max_mean(data)
    if stats is not None:
        minimum, maximum, mean = stats
        signed = minimum < 0
        source = np.array([minimum, maximum], np.float32) if levels_mode == "auto" else reduced
    else:
        # The NaN-aware functions copy the data: only when there is NaN or inf to skip.
        sample = data if data.size < 4_000_000 else data[::2, ::2]  # a mean needs no more
        minimum, maximum = float(np.min(data)), float(np.max(data))
        if math.isfinite(minimum) and math.isfinite(maximum):
            signed, mean = minimum < 0, float(np.mean(sample, dtype=np.float64))
        else:
            minimum, maximum = float(np.nanmin(data)), float(np.nanmax(data))
            signed, mean = is_signed(data), float(np.nanmean(sample))
        source = reduced if levels_mode == "robust" else data
    if levels is None:
        levels = compute_levels(source, mode=levels_mode, signed=signed)
    drawn = None
    if pixels and reduced.ndim == 2:
        drawn = lut_index(reduced, levels)
    elif pixels and reduced.ndim == 3 and reduced.shape[2] == 3:
        drawn = apply_colormap(reduced, COLORMAPS["gray"], levels)  # each channel linearly
    return PaneView(
        data=reduced,
        levels=levels,
        signed=signed,
        minimum=minimum,
        maximum=maximum,
        mean=mean,
        histogram=display_histogram(reduced) if histogram else None,
        pixels=drawn,
    )


@dataclass(frozen=True, eq=False)
class Processed:
    """A pipeline run plus what the convolution and pooled panes draw."""

    result: PipelineResult
    conv: PaneView
    pooled: PaneView  # the activated map when pooling is off
    seconds: float

    def outputs(self) -> list[tuple[str, np.ndarray]]:
        """The layer's outputs in order, as ``(label, raw map)``: "conv", then "pooled" (or
        "activated" when pooling is off). The one-layer case of a network's layer outputs."""
        result = self.result
        if result.pooled is not None:
            return [("conv", result.conv), ("pooled", result.pooled)]
        return [("conv", result.conv), ("activated", result.activated)]


def process_for_display(
    image: np.ndarray,
    kernel: Kernel,
    settings: PipelineSettings,
    levels_mode: str = "auto",
    histograms: bool = True,
    pixels: bool = True,
) -> Processed:
    """Run the layer and prepare both output panes (see :func:`make_view`); meant for a
    worker thread."""
    start = time.perf_counter()
    result = run_pipeline(image, kernel, settings)
    second = result.pooled if result.pooled is not None else result.activated
    conv = make_view(result.conv, levels_mode, histograms, pixels)
    pooled = make_view(second, levels_mode, histograms, pixels)
    return Processed(result, conv, pooled, time.perf_counter() - start)


MAX_WORKING_PIXELS = 40_000_000


def fit_working_size(
    image: np.ndarray, max_pixels: int = MAX_WORKING_PIXELS
) -> tuple[np.ndarray, str]:
    """Downscale an image too large to explore interactively; the note says so ("" if not)."""
    h, w = image.shape[:2]
    if h * w <= max_pixels:
        return image, ""
    factor = np.sqrt(max_pixels / (h * w))
    size = (max(1, int(w * factor)), max(1, int(h * factor)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    note = (
        f"This {w}x{h} image ({h * w / 1e6:.0f} megapixels) was downscaled to "
        f"{size[0]}x{size[1]} to stay responsive; use the batch command for full resolution."
    )
    return np.ascontiguousarray(small, dtype=np.float32), note
