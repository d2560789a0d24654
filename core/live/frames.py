"""One live frame through the layer: what the processing thread computes and the GUI draws.

:func:`process_frame` turns a captured :class:`~core.sources.Frame` into a :class:`LiveResult`
holding the input, the layer's result and every picture the window shows, already rendered
through the colormap, so the GUI thread only hands finished pixels to Qt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from core.display import (
    COLORMAPS,
    apply_colormap,
    colormap_lut,
    display_histogram,
    resolve_colormap,
)
from core.kernels import Kernel
from core.network.display import NetworkRequest, NetworkResult, compute_network
from core.network.layers import Network, NetworkError
from core.pipeline import PipelineSettings
from core.preview import PaneView, Processed, process_for_display
from core.sources import Frame

__all__ = [
    "LIVE_GRID_SIDE",
    "RECORDABLE_PANES",
    "Failure",
    "LiveParams",
    "LiveResult",
    "input_view",
    "layer_record_key",
    "process_frame",
    "recordable_panes",
    "render_as_displayed",
]

#: Pane key -> label of the panes a recording can show.
RECORDABLE_PANES: dict[str, str] = {"input": "Input", "conv": "Convolution", "pooled": "Pooled"}
_UNIT = np.float32(1.0 / 255.0)
#: Largest side of one map's cell in a live network grid: 32 maps of 640x480 tile into about
#: 0.3 MP, which a dock shows whole and the worker draws in a few milliseconds.
LIVE_GRID_SIDE = 120
_LAYER_KEY = "layer:"


def layer_record_key(index: int) -> str:
    """The recording key of network layer ``index``'s grid."""
    return f"{_LAYER_KEY}{index}"


def _layer_index(key: str | None) -> int | None:
    if key is None or not key.startswith(_LAYER_KEY):
        return None
    try:
        return int(key[len(_LAYER_KEY) :])
    except ValueError:
        return None


def recordable_panes(network: Network | None = None) -> dict[str, str]:
    """Recording key -> label: the panes, then each layer's grid of ``network`` as displayed."""
    panes = dict(RECORDABLE_PANES)
    if network is not None:
        for i, layer in enumerate(network.layers):
            panes[layer_record_key(i)] = f"Layer {layer.name}"
    return panes


@dataclass(frozen=True, eq=False)
class LiveParams:
    """Everything the processing thread needs besides the frame; replaced, never mutated.

    Attributes
    ----------
    kernel, settings
        The layer to run.
    levels_mode : {"auto", "robust"}
        How the worker computes each frame's display levels.
    record : {"input", "conv", "pooled"} or None
        Pane rendered "as displayed" for the recorder, or None when not recording.
    colormap : str
        The window's colormap choice ("auto" picks by the sign of the data).
    fixed_levels : tuple or None
        ``(conv levels, pooled levels)`` when the window's levels are fixed; None: each
        frame's own levels.
    render : bool
        Render the convolution and pooled maps to RGB here, so the GUI thread only shows them.
    network : Network or None
        Also run this network on each frame (None: the single layer only, exactly as before).
    selected : (layer index, channel) or None
        The network map shown large (its pane view comes with the result).
    grid_side : int
        Largest side of one cell of the network's grids (``views.layer_grid``'s max_side).
    """

    kernel: Kernel
    settings: PipelineSettings
    levels_mode: str = "auto"
    record: str | None = None
    colormap: str = "auto"
    fixed_levels: tuple[tuple[float, float], tuple[float, float]] | None = None
    render: bool = True
    network: Network | None = None
    selected: tuple[int, int] | None = None
    grid_side: int = LIVE_GRID_SIDE


@dataclass(frozen=True, eq=False)
class LiveResult:
    """One processed frame: the input and every output the window shows for it.

    Attributes
    ----------
    frame : Frame
        The captured frame; ``frame.image`` (uint8 RGB, read-only) is what the input pane shows.
    working : numpy.ndarray
        The frame as float32 RGB in [0, 1], read-only: what the layer saw, exactly as an image
        file opened in the workbench would be (hover readouts, snapshots, frozen-frame edits).
    input_view : PaneView
        Stats of the input for its pane.
    processed : Processed
        The layer's result and the convolution/pooled pane views.
    record : numpy.ndarray or None
        uint8 RGB of the recorded pane as displayed, when recording.
    rendered : tuple or None
        ``((rgb, levels), (rgb, levels))``: the convolution and pooled maps as displayed
        (uint8 RGB, the size of their views) and the levels used, when ``params.render``.
    params : LiveParams
        The parameters this frame was processed with.
    seconds : float
        Processing time of this frame (conversion, layer, views, recording render).
    histograms : tuple or None
        ``(x, counts)`` for the input, convolution and pooled panes' histograms, computed a
        few times a second (None for the frames in between).
    network : NetworkResult or None
        The network's maps, grids and selected view for this frame, when ``params.network``
        is set and it could run (the filters are drawn once per network, not per frame).
    network_error : str or None
        Why the network could not run on this frame (the single layer's result still stands).
    """

    frame: Frame
    working: np.ndarray
    input_view: PaneView
    processed: Processed
    record: np.ndarray | None
    params: LiveParams
    seconds: float
    histograms: tuple[tuple[np.ndarray, np.ndarray], ...] | None = None
    rendered: tuple[tuple[np.ndarray, tuple[float, float]], ...] | None = None
    network: NetworkResult | None = None
    network_error: str | None = None


@dataclass(frozen=True)
class Failure:
    """A frame the layer could not process (e.g. a kernel larger than a 'valid' frame)."""

    message: str


def input_view(image: np.ndarray, stats: tuple[float, float, float] | None) -> PaneView:
    """The input pane's view of a uint8 RGB frame, stats in the [0, 1] units of the layer.

    ``stats`` (min, max, mean) are reused when given: the pane shows them a few times a
    second, and measuring costs about a millisecond per 1280x720 frame.
    """
    if stats is None:
        means = cv2.mean(image)[: image.shape[2] if image.ndim == 3 else 1]
        stats = (
            float(image.min()) / 255.0,
            float(image.max()) / 255.0,
            float(np.mean(means)) / 255.0,
        )
    return PaneView(image, (0.0, 255.0), False, *stats)


def render_as_displayed(
    view: PaneView, colormap: str, levels: tuple[float, float] | None = None
) -> np.ndarray:
    """uint8 RGB of a pane view with the window's colormap and levels, as the pane draws it.

    Parameters
    ----------
    view : PaneView
        The view the pane shows.
    colormap : str
        A colormap name, or "auto" for the default of the data's sign.
    levels : tuple of float, optional
        Fixed levels; by default the view's own.
    """
    levels = view.levels if levels is None else levels
    data = view.data
    if data.dtype == np.uint8 and data.ndim == 3:
        return data  # an input frame is shown as captured
    if data.ndim == 3:  # per-channel maps: each channel through the levels, no LUT
        return apply_colormap(data, COLORMAPS["gray"], levels)
    lut = colormap_lut(resolve_colormap(colormap, view.signed))
    return apply_colormap(data, lut, levels)


def process_frame(
    frame: Frame,
    params: LiveParams,
    histograms: bool = False,
    input_stats: tuple[float, float, float] | None = None,
) -> LiveResult:
    """Run the layer on one captured frame and prepare everything the window draws.

    Meant for the processing thread: it only reads ``frame`` and ``params``.

    Parameters
    ----------
    frame : Frame
        A captured frame (uint8 RGB); its image is made read-only, since panes will show it.
    params : LiveParams
        Kernel, settings and display choices.
    histograms : bool
        Also compute the three panes' histograms (see :func:`display_histogram`).
    input_stats : tuple of float, optional
        (min, max, mean) of the input to reuse instead of measuring this frame, for frames
        whose stats line is not shown (those without histograms).

    Returns
    -------
    LiveResult

    Raises
    ------
    ValueError
        When the layer cannot run on this frame (the message says why).
    """
    start = time.perf_counter()
    frame.image.setflags(write=False)
    # The same [0, 1] float RGB an opened image file gives, so a live frame behaves exactly like
    # a still image (bias, levels, readouts). One fused multiply-and-cast pass.
    working = np.multiply(frame.image, _UNIT, dtype=np.float32)
    working.setflags(write=False)
    processed = process_for_display(  # pixels: drawn below, with the colormap
        working, params.kernel, params.settings, params.levels_mode, histograms, pixels=False
    )
    in_view = input_view(frame.image, None if histograms else input_stats)
    rendered = None
    if params.render or params.record in ("conv", "pooled"):
        # Levels and colormap applied here, in one OpenCV LUT pass per map, rather than by
        # pyqtgraph in the GUI thread at paint time; the recorder reuses the same pictures.
        views = (processed.conv, processed.pooled)
        fixed = params.fixed_levels or (None, None)
        levels = [view.levels if lv is None else lv for view, lv in zip(views, fixed, strict=True)]
        rendered = tuple(
            (render_as_displayed(view, params.colormap, lv), lv)
            for view, lv in zip(views, levels, strict=True)
        )
    network, network_error = _run_network(working, params)
    record = None
    layer = _layer_index(params.record)
    if params.record == "input":
        record = frame.image
    elif layer is not None:
        if network is not None and layer < len(network.grids):
            record = network.grids[layer].rgb  # the layer's grid as the dock shows it
    elif params.record is not None and rendered is not None:
        record = rendered[0 if params.record == "conv" else 1][0]
    hists = None
    if histograms:
        x, counts = display_histogram(in_view.data)
        hists = (
            (x / 255.0, counts),  # the layer's [0, 1] units, like its stats line and readouts
            processed.conv.histogram,
            processed.pooled.histogram,
        )
    seconds = time.perf_counter() - start
    return LiveResult(
        frame,
        working,
        in_view,
        processed,
        record,
        params,
        seconds,
        hists,
        rendered,
        network,
        network_error,
    )


def _run_network(
    working: np.ndarray, params: LiveParams
) -> tuple[NetworkResult | None, str | None]:
    """The network on the frame, or why it cannot run on it (the single layer still does)."""
    if params.network is None:
        return None, None
    request = NetworkRequest(
        working,
        params.network,
        selected=params.selected,
        max_side=params.grid_side,
        levels_mode=params.levels_mode,
        filters=True,  # drawn once per network object (network_filters), not per frame
    )
    try:
        return compute_network(request), None
    except NetworkError as exc:
        return None, str(exc)
