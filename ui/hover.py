"""Hover: the point under the pointer, computed once in input coordinates, shown everywhere.

:class:`HoverController` hears every pane's ``hovered`` signal and, for the hovered input point,
marks the input pixel and the output pixels over it, writes their values under each pane, draws
the receptive field on the input and has the inspector show the arithmetic behind the value.
It shows the point again whenever the workbench's input or result changes.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QObject

from core.explain import explain_conv_unit, explain_pixel, explain_pool
from core.network import ConvLayer
from core.network.display import NetworkResult
from core.preview import tidy
from ui.inspector import Inspector
from ui.pane_group import PaneGroup
from ui.panes import ImagePane
from ui.workbench import Workbench

__all__ = ["HoverController", "format_value"]


def format_value(value, magnitude: float = 0.0) -> str:
    """A readout value; rounding noise next to the map's ``magnitude`` reads as 0."""
    if np.ndim(value) == 0:
        return f"{tidy(float(value), magnitude):.4g}"
    return "(" + ", ".join(f"{tidy(float(v), magnitude):.3g}" for v in np.ravel(value)) + ")"


class HoverController(QObject):
    """Fans one hovered point out to every pane and the inspector.

    Parameters
    ----------
    workbench : Workbench
        The input and result read at the point.
    panes : PaneGroup
        Where markers, fields and readouts are drawn.
    inspector : Inspector
        Shows the sum behind the hovered output pixel (or the pooling window).
    """

    def __init__(
        self,
        workbench: Workbench,
        panes: PaneGroup,
        inspector: Inspector,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._workbench = workbench
        self._panes = panes
        self._inspector = inspector
        self._source: ImagePane | None = None
        self._point: tuple[float, float, ImagePane | None] | None = None
        # While frames stream the still image's network result is cleared: hover reads the
        # newest live frame's run, and a hovered unit is shown again on each new frame.
        self._live_network: NetworkResult | None = None
        self._unit: tuple[int, int, int, int] | None = None
        workbench.network.result_changed.connect(self._forget_live_network)
        for pane in panes.panes:
            pane.hovered.connect(lambda pos, p=pane: self._on_hovered(p, pos))
        workbench.input_changed.connect(self.refresh)
        workbench.outputs_cleared.connect(self.refresh)

    # -- a unit of the network (the Network dock's maps, or the large map pane) -------------
    def show_live_network(self, result: NetworkResult) -> None:
        """A live frame's network run is on screen (``LiveController.network_shown``): hover
        reads it, and the unit hovered in the dock shows this frame's field and sum."""
        self._live_network = result
        if self._unit is not None:
            self.hover_unit(*self._unit)

    def _forget_live_network(self, _result: NetworkResult) -> None:
        self._live_network = None  # a still image's run again

    def _network_result(self) -> NetworkResult | None:
        """The run hover reads: the still image's, or else the newest live frame's."""
        result = self._workbench.network.result
        return result if result is not None else self._live_network

    def hover_unit(
        self,
        layer_index: int,
        channel: int,
        row: int,
        col: int,
        result: NetworkResult | None = None,
    ) -> dict:
        """Show unit (``row``, ``col``) of map ``channel`` of the network's layer
        ``layer_index`` (of ``result``, by default the run on screen: the still image's or
        the newest live frame's): its receptive field on the input, its size in the readout,
        and for a conv unit the sum behind it in the inspector. Returns what was shown."""
        self._unit = (layer_index, channel, row, col)
        result = result if result is not None else self._network_result()
        shown: dict = {}
        if result is None or not 0 <= layer_index < len(result.outputs):
            return shown
        output = result.outputs[layer_index]
        if output.geometry is None:  # a vector (flatten, dense): no place in the image
            self._panes.input_pane.show_field(None)
            return shown
        top, left, height, width = output.geometry.receptive_field(row, col)
        self._panes.input_pane.show_field((left, top, width, height))
        self._panes.input_pane.set_readout(
            f"{output.name} [{row}, {col}] sees {height}x{width} input pixels"
        )
        shown["field"] = (top, left, height, width)
        explanation = _explain_unit(result, layer_index, channel, row, col)
        if explanation is not None:
            self._inspector.show_conv_unit(explanation)
            shown["sum"] = explanation
        else:
            self._inspector.clear()
        return shown

    def _on_hovered(self, source: ImagePane, pos) -> None:
        if pos is None or self._workbench.loaded is None:
            if source is self._source:
                self.clear()
            return
        self._source = source
        self.hover_at(pos.x(), pos.y(), source)

    def _hover_network_map(self, network: NetworkResult, x, y, source, shown: dict) -> None:
        """The large network map under (x, y): its marker and value, and when it is the
        hovered pane, its unit's field and sum."""
        index, channel = network.request.selected
        output = network.outputs[index]
        channel = min(max(channel, 0), output.map.shape[2] - 1)
        geometry = output.geometry
        idx = geometry.index_at(x, y)
        magnitude = network.selected_view.magnitude
        conv_pane = self._panes.conv_pane
        _mark(conv_pane, geometry, idx, output.map[:, :, channel], magnitude, "conv", shown)
        if source is conv_pane and idx is not None:
            shown.update(self.hover_unit(index, channel, *idx, result=network))
            self._unit = None  # the pane's point is refreshed with the frame, not the unit

    def refresh(self, *_args) -> None:
        """Show the hovered point's values again: the image or the result under it changed."""
        if self._point is not None:
            self.hover_at(*self._point)

    def clear(self) -> None:
        self._source = None
        self._point = None
        self._unit = None
        for pane in self._panes.panes:
            pane.show_marker(None)
            pane.show_field(None)
            pane.set_readout("")
        self._inspector.clear()

    def hover_at(self, x: float, y: float, source: ImagePane | None = None) -> dict:
        """Show the marker, values and receptive field for input coordinates (x, y).

        Returns what was shown (pane name -> (index, value)), which tests read back.
        """
        self._point = (x, y, source)
        shown: dict = {}
        loaded = self._workbench.loaded
        if loaded is None:
            return shown
        image = loaded.image
        panes = self._panes
        input_pane, conv_pane, pooled_pane = panes.panes
        r, c = math.floor(y), math.floor(x)
        if 0 <= r < image.shape[0] and 0 <= c < image.shape[1]:
            value = image[r, c]
            input_pane.show_marker((c, r, 1, 1))
            input_pane.set_readout(f"[{r}, {c}] = {format_value(value)}")
            shown["input"] = ((r, c), value)
        else:
            input_pane.show_marker(None)
            input_pane.set_readout("")
        processed = self._workbench.processed
        if processed is None:
            for pane in panes.outputs:
                pane.show_marker(None)
                pane.set_readout("")
            input_pane.show_field(None)
            self._inspector.clear()
            return shown
        result, geom = processed.result, processed.result.geometry
        network_map = self._panes.network_map
        if network_map is not None:  # the convolution pane shows a network map
            self._hover_network_map(network_map, x, y, source, shown)
            if source is conv_pane:
                return shown
        conv_idx = geom.conv.index_at(x, y)
        magnitude = processed.conv.magnitude
        if network_map is None:
            _mark(conv_pane, geom.conv, conv_idx, result.conv, magnitude, "conv", shown)
        second = geom.pooled or geom.conv
        second_data = result.pooled if result.pooled is not None else result.activated
        pooled_idx = second.index_at(x, y)
        magnitude = processed.pooled.magnitude
        _mark(pooled_pane, second, pooled_idx, second_data, magnitude, "pooled", shown)
        field = None
        if source is pooled_pane and pooled_idx is not None:
            field = second.receptive_field(*pooled_idx)
        elif conv_idx is not None:
            field = geom.conv.receptive_field(*conv_idx)
        if field is not None:
            top, left, fh, fw = field
            input_pane.show_field((left, top, fw, fh))
            shown["field"] = field
        else:
            input_pane.show_field(None)
        if source is pooled_pane and result.pooled is not None and pooled_idx is not None:
            # The pooling window and which value won, not the arithmetic of one conv pixel.
            exp = explain_pool(result, *pooled_idx)
            self._inspector.show_pool(exp, processed.pooled.magnitude)
        elif conv_idx is not None:
            self._inspector.show_explanation(explain_pixel(result, *conv_idx))
        return shown


def _explain_unit(result: NetworkResult, layer_index: int, channel: int, row: int, col: int):
    """The conv unit's sum rebuilt from the layer's input, or None (not a conv layer)."""
    layer = result.outputs[layer_index].layer
    if not isinstance(layer, ConvLayer):
        return None
    source = result.image if layer_index == 0 else result.outputs[layer_index - 1].map
    return explain_conv_unit(source, layer, channel, row, col)


def _mark(pane, geom, idx, data, magnitude, key, shown) -> None:
    if idx is None:
        pane.show_marker(None)
        pane.set_readout("")
        return
    x0, y0 = geom.origin
    row, col = idx
    pane.show_marker((x0 + col * geom.step, y0 + row * geom.step, geom.step, geom.step))
    value = data[row, col]
    pane.set_readout(f"[{row}, {col}] = {format_value(value, magnitude)}")
    shown[key] = (idx, value)
