"""One network run prepared for the window: the worker's job, shared by still images and live.

The GUI thread only hands finished pixels to Qt: :func:`compute_network` runs the network,
draws every layer's maps as one grid image, the conv layers' filters as enlarged grids, and
the map the person selected as a pane view (shown large, linked to the input).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from core.network.layers import ConvLayer, Network
from core.network.outputs import prepare_image
from core.network.run import LayerOutput, run_network
from core.network.views import GridImage, filter_grid, layer_grid
from core.preview import PaneView, make_view


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


def compute_network(request: NetworkRequest) -> NetworkResult:
    """Run the network and prepare every picture (worker thread).

    Raises
    ------
    core.network.NetworkError
        The network cannot run on this input (channels, a pool that no longer fits, ...).
    """
    start = time.perf_counter()
    image = prepare_image(request.image, request.network)
    outputs = run_network(image, request.network, lazy=False)
    grids = [layer_grid(output.map, max_side=request.max_side) for output in outputs]
    filters: list[GridImage | None] = [
        filter_grid(layer) if request.filters and isinstance(layer, ConvLayer) else None
        for layer in request.network.layers
    ]
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
