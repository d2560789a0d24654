"""Display mapping: colormaps as lookup tables, display levels, and data -> RGB uint8.

The window and the batch command share these, so a PNG saved "as displayed" matches the screen.
:func:`apply_colormap` bins values exactly as pyqtgraph's ``ImageItem`` does for float data with a
lookup table of N entries (index = trunc((x - low) * N / (high - low)), clipped to 0..N-1) and
without one for RGB data (N = 255).
"""

from __future__ import annotations

import math
from typing import Literal

import cv2
import numpy as np

__all__ = [
    "COLORMAPS",
    "DIVERGING",
    "SEQUENTIAL",
    "apply_colormap",
    "colormap_lut",
    "compute_levels",
    "default_colormap",
    "is_signed",
    "render",
    "resolve_colormap",
]

LevelsMode = Literal["auto", "robust"]

#: Colormaps centred on a neutral colour, for signed data shown with symmetric levels.
DIVERGING: tuple[str, ...] = ("coolwarm", "RdBu_r")
#: Colormaps running dark to light, for non-negative data.
SEQUENTIAL: tuple[str, ...] = ("gray", "viridis", "magma", "inferno")

# Robust levels look at no more than this many values: percentiles of ~260k samples on a regular
# grid match the full-frame percentiles to well under a grey level, and a full np.percentile over
# a 12-megapixel frame (a partition of 12M floats) would cost tens of ms on every live frame.
_ROBUST_SAMPLE_SIZE = 1 << 18

_LUT_SIZE = 256
# LUT index that sits exactly on the middle of a symmetric range: trunc(0.5 * 256) = 128.
_LUT_CENTRE = _LUT_SIZE // 2


def _diverging_lut(colours: list[tuple[int, int, int]]) -> np.ndarray:
    """Interpolate evenly spaced control points; the middle point lands on index 128.

    With symmetric levels (-m, m), zero falls in bin 128 (see :func:`apply_colormap`), so that
    entry must be exactly the neutral colour, not a blend of its neighbours.
    """
    index = np.arange(_LUT_SIZE, dtype=np.float64)
    position = np.where(
        index <= _LUT_CENTRE,
        0.5 * index / _LUT_CENTRE,
        0.5 + 0.5 * (index - _LUT_CENTRE) / (_LUT_SIZE - 1 - _LUT_CENTRE),
    )
    stops = np.linspace(0.0, 1.0, len(colours))
    rgb = np.asarray(colours, dtype=np.float64)
    lut = np.stack([np.interp(position, stops, rgb[:, c]) for c in range(3)], axis=1)
    return np.rint(lut).astype(np.uint8)


def _opencv_lut(colormap: int) -> np.ndarray:
    ramp = np.arange(_LUT_SIZE, dtype=np.uint8).reshape(-1, 1)
    bgr = cv2.applyColorMap(ramp, colormap).reshape(-1, 3)
    return np.ascontiguousarray(bgr[:, ::-1])  # OpenCV returns BGR


# Moreland, "Diverging Color Maps for Scientific Visualization" (2009): every 8th entry of his
# table, blue -> light grey -> red.
_COOLWARM = [
    (59, 76, 192), (98, 130, 234), (141, 176, 254), (184, 208, 249),
    (221, 221, 221),
    (245, 196, 173), (244, 154, 123), (222, 96, 77), (180, 4, 38),
]  # fmt: skip
# ColorBrewer RdBu (11 classes), reversed so negative is blue as in coolwarm; its centre is nearly
# white, for when zero should look like paper.
_RDBU_R = [
    (5, 48, 97), (33, 102, 172), (67, 147, 195), (146, 197, 222), (209, 229, 240),
    (247, 247, 247),
    (253, 219, 199), (244, 165, 130), (214, 96, 77), (178, 24, 43), (103, 0, 31),
]  # fmt: skip


def _build_colormaps() -> dict[str, np.ndarray]:
    ramp = np.arange(_LUT_SIZE, dtype=np.uint8)
    maps = {
        "coolwarm": _diverging_lut(_COOLWARM),
        "RdBu_r": _diverging_lut(_RDBU_R),
        "gray": np.repeat(ramp[:, None], 3, axis=1),
        "viridis": _opencv_lut(cv2.COLORMAP_VIRIDIS),
        "magma": _opencv_lut(cv2.COLORMAP_MAGMA),
        "inferno": _opencv_lut(cv2.COLORMAP_INFERNO),
    }
    for lut in maps.values():
        lut.setflags(write=False)  # shared by every caller: nobody may edit them in place
    return maps


#: Colormap name -> read-only (256, 3) uint8 RGB lookup table.
COLORMAPS: dict[str, np.ndarray] = _build_colormaps()


def colormap_lut(name: str) -> np.ndarray:
    """Return the (256, 3) uint8 RGB lookup table of a colormap.

    Parameters
    ----------
    name : str
        One of :data:`DIVERGING` or :data:`SEQUENTIAL`.

    Raises
    ------
    ValueError
        Unknown name; the message lists the known ones.
    """
    try:
        return COLORMAPS[name]
    except KeyError:
        raise ValueError(
            f"unknown colormap {name!r}; choose one of {', '.join(COLORMAPS)}"
        ) from None


def default_colormap(signed: bool) -> str:
    """Return the colormap to show data with: ``"coolwarm"`` if signed, else ``"gray"``."""
    return "coolwarm" if signed else "gray"


def resolve_colormap(choice: str | None, signed: bool) -> str:
    """The colormap a map is drawn with: the person's ``choice``, or for "auto" (or None) the
    default of the data's sign (:func:`default_colormap`).

    The one place that decides "auto colormap by sign": panes, saves, live frames, recordings
    and the batch command all ask here, so they always agree.
    """
    return default_colormap(signed) if choice in (None, "auto") else choice


def is_signed(data: np.ndarray) -> bool:
    """Return whether any value of `data` is negative (NaN is ignored, -inf counts)."""
    return bool(np.any(np.asarray(data) < 0))


def _finite_min_max(values: np.ndarray) -> tuple[float, float, bool] | None:
    """Return (min, max) of the finite values and whether all values are finite; None if none."""
    if values.size == 0:
        return None
    low, high = float(np.min(values)), float(np.max(values))
    if math.isfinite(low) and math.isfinite(high):
        return low, high, True
    # Only pay for the mask when there is NaN/inf to skip.
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    return float(np.min(values)), float(np.max(values)), False


def _subsample(values: np.ndarray) -> np.ndarray:
    """Return a flat, regular-grid subsample of about `_ROBUST_SAMPLE_SIZE` values."""
    if values.size <= _ROBUST_SAMPLE_SIZE:
        return values.reshape(-1)
    if values.ndim == 1:
        return values[:: math.ceil(values.size / _ROBUST_SAMPLE_SIZE)]
    step = math.ceil(math.sqrt(values.size / _ROBUST_SAMPLE_SIZE))
    return values[::step, ::step].reshape(-1)


def _constant_levels(value: float) -> tuple[float, float]:
    # An all-zero map (a dead ReLU channel) should look black; any other constant sits mid-range.
    if value == 0.0:
        return 0.0, 1.0
    half = max(0.5, abs(value) * 1e-3)  # 0.5 alone vanishes next to a huge value
    return value - half, value + half


def compute_levels(
    data: np.ndarray,
    *,
    mode: LevelsMode = "auto",
    signed: bool | None = None,
    percentile: float = 1.0,
) -> tuple[float, float]:
    """Choose display levels (low, high) for `data`.

    Parameters
    ----------
    data : np.ndarray
        Values of any shape; NaN and inf are ignored.
    mode : {"auto", "robust"}
        ``"auto"`` spans every finite value. ``"robust"`` clips `percentile` percent at each end
        (non-negative data) or the largest `percentile` percent of magnitudes (signed data), so a
        few outliers do not wash out the rest. Frames larger than about 260k values are
        subsampled on a regular grid first, to keep this fast on 12-megapixel video.
    signed : bool, optional
        Force symmetric (True) or min/max (False) levels; by default :func:`is_signed` decides.
    percentile : float
        Percent clipped in robust mode, in [0, 50).

    Returns
    -------
    tuple of float
        ``(-m, m)`` for signed data, ``(low, high)`` otherwise; always finite with high > low.
        Empty or all-NaN data gives (0, 1); constant data a small range around the value (0, 1
        for all zeros).
    """
    if mode not in ("auto", "robust"):
        raise ValueError(f"mode must be 'auto' or 'robust', got {mode!r}")
    if not 0.0 <= percentile < 50.0:
        raise ValueError(f"percentile must be in [0, 50), got {percentile}")
    values = np.asarray(data)
    extent = _finite_min_max(values)
    if extent is None:
        return 0.0, 1.0
    low, high, all_finite = extent
    if signed is None:
        signed = low < 0 or (not all_finite and is_signed(values))  # -inf also counts

    if signed:
        magnitude = max(abs(low), abs(high))
        if mode == "robust":
            sample = _subsample(values)
            sample = np.abs(sample[np.isfinite(sample)])
            # An empty sample (the grid missed the few finite values) or a zero percentile
            # (mostly zeros) keeps the full extent.
            if sample.size:
                robust = float(np.percentile(sample, 100.0 - percentile))
                if robust > 0.0:
                    magnitude = robust
        if magnitude == 0.0:
            return -1.0, 1.0
        return -magnitude, magnitude

    if mode == "robust":
        sample = _subsample(values)
        sample = sample[np.isfinite(sample)]
        if sample.size:
            robust_low, robust_high = np.percentile(sample, [percentile, 100.0 - percentile])
            if robust_high > robust_low:
                low, high = float(robust_low), float(robust_high)
    if high > low:
        return low, high
    return _constant_levels(low)


def _scaled(
    data: np.ndarray, levels: tuple[float, float], top: float, largest: float
) -> np.ndarray:
    """Map levels to 0..top, clip to 0..largest, NaN -> 0; float32, to be truncated."""
    low, high = (float(level) for level in levels)
    if not (math.isfinite(low) and math.isfinite(high) and high > low):
        raise ValueError(f"levels must be finite with high > low, got {levels}")
    scaled = np.subtract(data, low, dtype=np.float32)
    # Divide by the span, then multiply: with symmetric levels 0 maps to exactly 0.5 * top,
    # where multiplying by a precomputed top/span can round to just below it.
    scaled /= np.float32(high - low)
    scaled *= np.float32(top)
    np.clip(scaled, 0.0, largest, out=scaled)
    cv2.patchNaNs(scaled, 0.0)  # in place; several times faster than np.nan_to_num
    return scaled


def lut_index(data: np.ndarray, levels: tuple[float, float], count: int = _LUT_SIZE) -> np.ndarray:
    """The LUT entry each value of a 2-D map is drawn with: ``count`` equal bins from low to
    high, ``floor(count * (x - low) / (high - low))`` clipped to 0..count-1; NaN -> 0.

    Every new map on screen goes through this (in the GUI thread for the panes), so a map of
    finite values within reach of the levels takes one OpenCV pass (plus a min and a max),
    about twice as fast as the exact path; there a value within float32 rounding of an
    inner bin edge may land in the bin below.

    Returns
    -------
    np.ndarray
        uint8 (H, W), C-contiguous.
    """
    if not 0 < count <= _LUT_SIZE:
        raise ValueError(f"count must be 1..{_LUT_SIZE}, got {count}")
    array = np.asarray(data)
    if array.ndim != 2:
        raise ValueError(f"expected (H, W) data, got shape {array.shape}")
    low, high = (float(level) for level in levels)
    if array.dtype == np.float32 and array.size and math.isfinite(low) and high > low:
        scale = count / (high - low)
        # OpenCV converts to 8 bits through a 32-bit int: a value scaled past it would wrap
        # to 0 instead of saturating. NaN and inf fail this test too.
        reach = max(abs(float(array.min()) - low), abs(float(array.max()) - low)) * scale
        # And OpenCV scales in float32: the offset must stay small for bins to be exact to
        # ~0.001 of a step (levels like 10000..10001 take the exact path).
        if reach < 2**30 and abs(low) * scale < 2**14:
            # OpenCV rounds to nearest; the - 0.5 makes that a floor. The offset comes from
            # the fraction -low / (high - low), so that with symmetric levels 0 lands
            # exactly on the middle entry (128 of 256).
            offset = count * (-low / (high - low)) - 0.5
            index = cv2.addWeighted(array, scale, array, 0.0, offset, dtype=cv2.CV_8U)
            if count < _LUT_SIZE:
                np.minimum(index, count - 1, out=index)
            return index
    return _scaled(array, levels, float(count), float(count - 1)).astype(np.uint8)


def apply_colormap(data: np.ndarray, lut: np.ndarray, levels: tuple[float, float]) -> np.ndarray:
    """Map data to RGB uint8 through display levels.

    Parameters
    ----------
    data : np.ndarray
        (H, W) values, shown through `lut`; or (H, W, 3) per-channel colour values, each channel
        mapped linearly (`lut` is not used).
    lut : np.ndarray
        (N, 3) uint8 RGB lookup table, N <= 256, e.g. :func:`colormap_lut`.
    levels : tuple of float
        (low, high): low maps to the first LUT entry (0), high to the last (255). NaN maps to the
        first entry.

    Returns
    -------
    np.ndarray
        uint8 (H, W, 3) RGB, C-contiguous.
    """
    array = np.asarray(data)
    if array.ndim == 3 and array.shape[2] == 3:
        return _scaled(array, levels, 255.0, 255.0).astype(np.uint8)
    if array.ndim != 2:
        raise ValueError(f"expected (H, W) or (H, W, 3) data, got shape {array.shape}")
    table = np.asarray(lut)
    if (
        table.dtype != np.uint8
        or table.ndim != 2
        or table.shape[1] != 3
        or not 0 < table.shape[0] <= _LUT_SIZE
    ):
        raise ValueError(
            f"expected an (N, 3) uint8 LUT with N <= 256, got {table.dtype} {table.shape}"
        )
    count = table.shape[0]
    index = lut_index(array, levels, count)
    if count < _LUT_SIZE:  # OpenCV takes 256 entries; indices never reach the padding
        table = np.concatenate([table, np.repeat(table[-1:], _LUT_SIZE - count, axis=0)])
    # applyColorMap with a user table maps channels as given (RGB in, RGB out): one pass,
    # several times faster than np.take(table, index).
    return cv2.applyColorMap(index, np.ascontiguousarray(table.reshape(_LUT_SIZE, 1, 3)))


def render(
    data: np.ndarray,
    *,
    colormap: str | None = None,
    levels: LevelsMode | tuple[float, float] = "auto",
) -> np.ndarray:
    """Render data "as displayed": levels, then colormap, to RGB uint8.

    Parameters
    ----------
    data : np.ndarray
        (H, W) values or (H, W, 3) per-channel colour values.
    colormap : str, optional
        Colormap name for 2-D data; by default :func:`default_colormap` of the data's sign.
        Ignored for (H, W, 3) data.
    levels : {"auto", "robust"} or tuple of float
        A :func:`compute_levels` mode, or explicit (low, high).

    Returns
    -------
    np.ndarray
        uint8 (H, W, 3) RGB.
    """
    array = np.asarray(data)
    if isinstance(levels, str):
        levels = compute_levels(array, mode=levels)
    if array.ndim == 3:
        return apply_colormap(array, COLORMAPS["gray"], levels)  # per-channel: no LUT
    return apply_colormap(array, colormap_lut(resolve_colormap(colormap, is_signed(array))), levels)


#: Bins of a float map's histogram and the side of the grid of values it samples: what
#: pyqtgraph's ``ImageItem.getHistogram`` uses for a pane's histogram.
HISTOGRAM_BINS = 500
HISTOGRAM_GRID = 200


def display_histogram(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The histogram a pane shows for ``data``, as pyqtgraph's ``ImageItem.getHistogram``.

    Same sampling grid (about 200x200 values) and bins (500 for floats, one per integer
    value for uint8), but computed wherever the map is made (a worker thread) and with
    uniform float bins, numpy's fast path: well under a millisecond, where pyqtgraph's
    explicit bin edges take about five in the GUI thread. NaN and inf are left out.

    Returns
    -------
    x, counts : numpy.ndarray
        Left bin edges and counts, for ``HistogramLUTItem.plot.setData``.
    """
    rows = math.ceil(data.shape[0] / HISTOGRAM_GRID)
    cols = math.ceil(data.shape[1] / HISTOGRAM_GRID)
    sample = data[::rows, ::cols]
    if sample.dtype == np.uint8:
        low, high = int(sample.min()), int(sample.max())
        counts = np.bincount(sample.ravel(), minlength=256)[low : high + 1]
        return np.arange(low, high + 1, dtype=float), counts
    # float64: the span of float32 values near the type's limits overflows float32.
    sample = sample[np.isfinite(sample)].astype(np.float64)
    if sample.size == 0:
        return np.zeros(1), np.zeros(1, np.int64)
    low, high = float(sample.min()), float(sample.max())
    if high == low:
        high = low + 1.0
    counts, edges = np.histogram(sample, bins=HISTOGRAM_BINS, range=(low, high))
    return edges[:-1], counts
