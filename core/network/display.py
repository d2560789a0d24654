"""One network run prepared for the window: the worker's job, shared by still images and live.

The GUI thread only hands finished pixels to Qt: :func:`compute_network` runs the network,
draws every layer's maps as one grid image, the conv layers' filters as enlarged grids, and
the map the person selected as a pane view (shown large, linked to the input).

Live video runs this on every frame (a bank of 32 on 640x480, 30 times a second), so nothing
is drawn twice: a ReLU's grid is drawn from the sampled units of the map before it (sampling
commutes with an elementwise function, and its levels follow from that map's minimum and
maximum), so the full activated map is never read to draw it; the filters change only with
the network, and :func:`network_filters` draws them once per network object.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import cv2
import numpy as np

from core.display import compute_levels, resolve_colormap
from core.network.layers import ActivationLayer, ConvLayer, Network
from core.network.outputs import prepare_image
from core.network.run import LayerOutput, run_network
from core.network.views import (
    GridImage,
    GridLayout,
    _paint,
    _tile,
    default_columns,
    filter_grid,
    layer_grid,
)
from core.preview import PaneView, make_view

__all__ = [
    "NetworkRequest",
    "NetworkResult",
    "compute_network",
    "network_filters",
    "network_grids",
    "with_selection",
]


@dataclass(frozen=True, eq=False)
class NetworkRequest:
    """Everything one run needs; immutable, so it can cross threads.

    Attributes
    ----------
    image : np.ndarray
        The input, float32 in [0, 1], (H, W) or (H, W, C); made gray or RGB to suit the
        first conv layer (``core.network.outputs.prepare_image``).
    network : Network
    selected : (layer index, channel) or None
        The map shown large in the output pane; None shows none.
    max_side : int or None
        Largest side of one cell in the grids (``views.layer_grid``): live video asks for
        small cells, a still image for whole maps.
    levels_mode : {"auto", "robust"}
        Levels of the selected map's pane view.
    filters : bool
        Also draw the conv layers' filters (they change only when the network does).
    """

    image: np.ndarray
    network: Network
    selected: tuple[int, int] | None = None
    max_side: int | None = None
    levels_mode: str = "auto"
    filters: bool = True


@dataclass(frozen=True, eq=False)
class NetworkResult:
    """What the window shows of one run: ``outputs[i]``, ``grids[i]``, ``filters[i]`` per layer."""

    request: NetworkRequest
    image: np.ndarray  # what the first layer saw (gray or RGB)
    outputs: list[LayerOutput]
    grids: list[GridImage]
    filters: list[GridImage | None]  # a grid for each conv layer, None for the others
    selected_view: PaneView | None
    seconds: float

    @property
    def network(self) -> Network:
        return self.request.network


def _extent(cells: np.ndarray) -> tuple[float, float] | None:
    """(min, max) of an (H, W, C) map; None when it holds NaN or inf (``compute_levels``
    handles those)."""
    planes = cells.transpose(2, 0, 1)
    if planes.strides[2] == planes.itemsize:  # the engine's (C, H, W) planes: OpenCV, one pass each
        found = [cv2.minMaxLoc(plane)[:2] for plane in planes]
        low, high = min(f[0] for f in found), max(f[1] for f in found)
        # minMaxLoc either skips NaN (as compute_levels does) or returns NaN (checked here).
        return (low, high) if math.isfinite(low) and math.isfinite(high) else None
    low, high = float(cells.min()), float(cells.max())
    return (low, high) if math.isfinite(low) and math.isfinite(high) else None


def _levels(low: float, high: float) -> tuple[float, float]:
    # compute_levels' "auto" levels depend only on the finite min and max: the same answer as
    # for the whole map, without another pass over it.
    return compute_levels(np.array([low, high], np.float32))


class _Drawn:
    """A grid with what a following ReLU's grid is drawn from."""

    __slots__ = ("extent", "grid", "values")

    def __init__(self, grid: GridImage, values: np.ndarray, extent) -> None:
        self.grid, self.values, self.extent = grid, values, extent


def _draw_map(data: np.ndarray, max_side: int | None) -> _Drawn:
    """``views.layer_grid(data, max_side=max_side)``, keeping the sampled values."""
    cells = np.asarray(data, dtype=np.float32)
    if cells.ndim != 3 or 0 in cells.shape:  # vectors and odd shapes: the general path
        return _Drawn(layer_grid(data, max_side=max_side), None, None)  # type: ignore[arg-type]
    h, w, count = cells.shape
    step = 1 if max_side is None else max(1, math.ceil(max(h, w) / max(1, max_side)))
    layout = GridLayout(
        count,
        (math.ceil(h / step), math.ceil(w / step)),
        min(default_columns(count, (h, w)), count),
        step=step,
    )
    extent = _extent(cells)
    levels = compute_levels(cells) if extent is None else _levels(*extent)
    values = _tile(cells, layout, fill=float(levels[0]))
    colormap = resolve_colormap(None, levels[0] < 0)  # symmetric levels exactly when signed
    return _Drawn(_paint(values, layout, levels, colormap), values, extent)


def _draw_relu(before: _Drawn) -> _Drawn:
    """The grid of relu(map) from the grid of ``map``: the same pixels as drawing it anew."""
    low, high = (max(v, 0.0) for v in before.extent)
    levels = _levels(low, high)
    values = np.maximum(before.values, np.float32(0.0))  # gaps are painted over
    return _Drawn(
        _paint(values, before.grid.layout, levels, resolve_colormap(None, False)),
        values,
        (low, high),
    )


def network_grids(outputs: list[LayerOutput], max_side: int | None = None) -> list[GridImage]:
    """``views.layer_grid(output.map, max_side=max_side)`` of every output, each on its own
    scale, drawing a ReLU after a map from that map's sampled units (the full ReLU map, lazy
    or not, is never read)."""
    drawn: list[_Drawn] = []
    for output in outputs:
        layer = output.layer
        before = drawn[-1] if drawn else None
        if (
            isinstance(layer, ActivationLayer)
            and layer.function == "relu"
            and before is not None
            and before.extent is not None
        ):
            drawn.append(_draw_relu(before))
        else:
            drawn.append(_draw_map(output.map, max_side))
    return [d.grid for d in drawn]


# Live video runs one network for many frames: its filters are drawn once.
_last_filters: tuple[Network, tuple[int | None, ...], list[GridImage | None]] | None = None


def network_filters(
    network: Network, grids: list[GridImage] | None = None
) -> list[GridImage | None]:
    """Each conv layer's :func:`~core.network.views.filter_grid` (None for other layers),
    drawn once per network object and layout.

    With ``grids`` (the layers' map grids), a one-input-channel bank wraps like its maps, so
    filter k sits where map k does (as the network view lays them out).
    """
    global _last_filters
    columns = tuple(
        grids[i].layout.columns
        if grids is not None and isinstance(layer, ConvLayer) and layer.in_channels == 1
        else None
        for i, layer in enumerate(network.layers)
    )
    last = _last_filters
    if last is not None and last[0] is network and last[1] == columns:
        return last[2]
    filters = [
        filter_grid(layer, count) if isinstance(layer, ConvLayer) else None
        for layer, count in zip(network.layers, columns, strict=True)
    ]
    _last_filters = (network, columns, filters)
    return filters


def compute_network(request: NetworkRequest) -> NetworkResult:
    """Run the network and prepare every picture (worker thread).

    Raises
    ------
    core.network.NetworkError
        The network cannot run on this input (channels, a pool that no longer fits, ...).
    """
    start = time.perf_counter()
    image = prepare_image(request.image, request.network)
    # Every map computed now, in the worker: views read them (shapes, hover readouts), and a
    # lazy map would be computed in the GUI thread.
    outputs = run_network(image, request.network, lazy=False)
    grids = network_grids(outputs, request.max_side)
    filters: list[GridImage | None] = (
        network_filters(request.network, grids)
        if request.filters
        else [None] * len(request.network.layers)
    )
    selected_view = _selected_view(outputs, request.selected, request.levels_mode)
    return NetworkResult(
        request, image, outputs, grids, filters, selected_view, time.perf_counter() - start
    )


def _selected_view(
    outputs: list[LayerOutput], selected: tuple[int, int] | None, levels_mode: str
) -> PaneView | None:
    if selected is None:
        return None
    index, channel = selected
    if not (0 <= index < len(outputs) and outputs[index].map.ndim == 3):
        return None
    data = outputs[index].map
    channel = min(max(channel, 0), data.shape[2] - 1)
    return make_view(np.ascontiguousarray(data[:, :, channel]), levels_mode)


def with_selection(result: NetworkResult, selected: tuple[int, int] | None) -> NetworkResult:
    """``result`` with another map selected: only that map's pane view is made (worker
    thread), the run and its grids are reused. A click on a map costs milliseconds where a
    whole run of a 640x480 input costs ~100 ms."""
    start = time.perf_counter()
    request = replace(result.request, selected=selected)
    view = _selected_view(result.outputs, selected, request.levels_mode)
    return replace(result, request=request, selected_view=view, seconds=time.perf_counter() - start)
