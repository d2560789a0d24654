"""Every layer of a network at once: one column per layer, its maps as one tiled image.

As CNN Explainer and the Deep Visualization Toolbox show a network: a column per layer, left
to right, every channel of the layer in one grid on one colour scale, and under a conv layer
its filters, enlarged, on their own symmetric scale (ConvNetJS prints each layer's range; so
does this view). The grids are drawn in the worker (:mod:`core.network.views`); this widget
only sets images, so a 32-channel layer costs one ``setImage``, not 32 panes.

Hover anywhere: the unit's value, position and receptive field are read out and
``unitHovered`` tells the window (which draws the field on the input). A click on a map
emits ``mapClicked`` (show it large), on a filter ``filterClicked`` (edit it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsPathItem,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.network import ConvLayer, LayerOutput
from core.network.views import (
    GAP_COLOUR,
    GridImage,
    filter_cell,
    filter_grid,
    source_window,
)

_HOVER_PEN = QColor(255, 215, 0)  # gold: visible on grey, coolwarm and RdBu alike
_SELECTED_PEN = QColor(0, 200, 120)
_SOURCE_PEN = QColor(0, 220, 255)  # cyan: the units the hovered unit reads
_TITLE_COLOUR = "#e8e8e8"
_FILTER_MIN_HEIGHT = 120
_MIN_MARKER_PIXELS = 6
_NOTE_COLOUR = "#a8a8a8"


def _cosmetic_pen(colour: QColor, width: float = 1.0) -> QPen:
    pen = QPen(colour)
    pen.setCosmetic(True)  # the same screen width at any zoom
    pen.setWidthF(width)
    return pen


def _format_value(value: float) -> str:
    return f"{value:.4g}"


def _image_box() -> tuple[pg.ViewBox, pg.ImageItem]:
    # The wheel zooms around the pointer and a drag pans (pyqtgraph's own); a double-click or
    # the Fit button shows the whole grid again (NetworkView.fit).
    box = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
    box.setMouseEnabled(True, True)
    box.setDefaultPadding(0.02)
    item = pg.ImageItem(axisOrder="row-major")
    box.addItem(item)
    return box, item


def _fit_box(box: pg.ViewBox, grid: GridImage) -> None:
    """Show the whole grid; the wheel may zoom in to a few units (no further: a blank box)."""
    height, width = grid.layout.shape
    # No outer limit: with the aspect locked, a tall grid in a wide box needs a wide x range.
    box.setLimits(minXRange=4 * grid.layout.zoom, minYRange=4 * grid.layout.zoom)
    box.setRange(QRectF(0, 0, width, height), padding=0.02)


def _gap_path(grid: GridImage) -> QPainterPath:
    """Lines through the gaps between cells, so they stay visible when a grid is shrunk."""
    layout = grid.layout
    height, width = layout.shape
    pitch_y, pitch_x = layout.pitch
    path = QPainterPath()
    for row in range(1, layout.rows):
        y = row * pitch_y - layout.gap / 2
        path.moveTo(0, y)
        path.lineTo(width, y)
    for col in range(1, layout.columns):
        x = col * pitch_x - layout.gap / 2
        path.moveTo(x, 0)
        path.lineTo(x, height)
    return path


@dataclass
class _Column:
    """One layer's items in the graphics layout."""

    title: pg.LabelItem
    maps_box: pg.ViewBox
    maps_item: pg.ImageItem
    gaps: QGraphicsPathItem
    hover: QGraphicsRectItem
    selected: QGraphicsRectItem
    note: pg.LabelItem
    label: pg.TextItem
    sources: QGraphicsPathItem  # the units a hovered unit of the next layer reads
    filters_box: pg.ViewBox | None = None
    filters_item: pg.ImageItem | None = None
    filters_gaps: QGraphicsPathItem | None = None
    filter_hover: QGraphicsRectItem | None = None
    grid: GridImage | None = None
    filters: GridImage | None = None
    key: object = field(default=None)


class NetworkView(QWidget):
    """Each layer's maps as one grid image, with hover readout and click-to-select.

    Signals
    -------
    unitHovered(layer_index, channel, row, col)
        The mouse is over that unit of that layer's maps (emitted when the unit changes).
    hoverLeft()
        The mouse left every map.
    mapClicked(layer_index, channel)
        A map was clicked (left button).
    filterClicked(layer_index, out_channel)
        A filter of a conv layer was clicked; ``filterSliceClicked`` adds the input channel.
    filterSliceClicked(layer_index, out_channel, in_channel)
    """

    unitHovered = Signal(int, int, int, int)
    hoverLeft = Signal()
    mapClicked = Signal(int, int)
    filterClicked = Signal(int, int)
    filterSliceClicked = Signal(int, int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(QColor(30, 32, 38))
        self.graphics.ci.setSpacing(4)
        self.readout = QLabel("Hover over a map to read a unit; click it to show it large.")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip(
            "Show every layer whole again (or double-click a map). The wheel zooms around"
            " the pointer and a drag pans, to inspect a map's units."
        )
        self.fit_button.clicked.connect(lambda checked=False: self.fit())
        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.addWidget(self.readout, 1)
        bottom.addWidget(self.fit_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.graphics, 1)
        layout.addLayout(bottom)
        self._columns: list[_Column] = []
        self._outputs: list[LayerOutput] = []
        self._hovered: tuple[int, int, int, int] | None = None
        self._mouse_at: QPointF | None = None  # scene position, while the mouse is over us
        self._filter_cache: dict[tuple[int, int | None], tuple[ConvLayer, GridImage]] = {}
        scene = self.graphics.scene()
        scene.sigMouseMoved.connect(self._on_mouse_moved)
        scene.sigMouseClicked.connect(self._on_mouse_clicked)
        self.graphics.viewport().installEventFilter(self)

    # ------------------------------------------------------------------ public API

    def show_outputs(
        self,
        outputs: Sequence[LayerOutput],
        grids: Sequence[GridImage],
        filters: Sequence[GridImage | None] | None = None,
    ) -> None:
        """Show one network run: ``grids[i]`` is ``outputs[i]``'s map drawn by
        :func:`core.network.views.layer_grid` (in the worker). ``filters[i]`` is layer i's
        :func:`~core.network.views.filter_grid` (None if not conv); by default they are drawn
        here, once per layer object, since weights change far less often than maps (small:
        a 32-filter 3x3 bank is 0.1 MP).
        """
        if len(grids) != len(outputs) or (filters is not None and len(filters) != len(outputs)):
            raise ValueError("outputs, grids and filters must have one entry per layer")
        self._outputs = list(outputs)
        if filters is None:
            filters = self._filter_grids(outputs, grids)
        key = [
            (o.layer.name, o.layer.kind, f is not None)
            for o, f in zip(outputs, filters, strict=True)
        ]
        if key != [column.key for column in self._columns]:
            self._rebuild(key)
            self._hovered = None
        for index, (output, grid, filt) in enumerate(zip(outputs, grids, filters, strict=True)):
            self._update_column(self._columns[index], output, grid, filt)
        if self._mouse_at is not None:  # a mouse held still reads the new values (live video)
            self._on_mouse_moved(self._mouse_at)

    def clear(self) -> None:
        """Show nothing (no network or no input)."""
        self._outputs = []
        self._hovered = None
        self._rebuild([])
        self.readout.setText("")

    def fit(self) -> None:
        """Show every layer's maps and filters whole (undo any zoom or pan)."""
        for column in self._columns:
            for box, grid in ((column.maps_box, column.grid), (column.filters_box, column.filters)):
                if box is not None and grid is not None:
                    _fit_box(box, grid)

    def _fit_at(self, scene_pos: QPointF) -> None:
        for column in self._columns:
            for box, grid in ((column.maps_box, column.grid), (column.filters_box, column.filters)):
                if box is not None and grid is not None:
                    if box.sceneBoundingRect().contains(scene_pos):
                        _fit_box(box, grid)

    def layer_count(self) -> int:
        return len(self._columns)

    def set_selected_map(self, layer_index: int | None, channel: int | None = None) -> None:
        """Outline map ``channel`` of layer ``layer_index`` (the one shown large), or none."""
        for index, column in enumerate(self._columns):
            show = index == layer_index and column.grid is not None and channel is not None
            if show and 0 <= channel < column.grid.layout.count:
                x, y, w, h = column.grid.layout.cell_rect(channel)
                column.selected.setRect(QRectF(x - 0.5, y - 0.5, w + 1, h + 1))
                column.selected.show()
            else:
                column.selected.hide()

    def map_point(self, layer_index: int, channel: int, row: int, col: int) -> QPointF:
        """Scene position of a unit's centre (what a mouse there would report)."""
        column = self._columns[layer_index]
        return self._unit_scene_rect(column.maps_item, column.grid, channel, row, col).center()

    def filter_point(self, layer_index: int, cell: int, row: int = 0, col: int = 0) -> QPointF:
        """Scene position of weight (row, col) in filter cell ``cell`` of a conv layer."""
        column = self._columns[layer_index]
        assert column.filters_item is not None and column.filters is not None
        return self._unit_scene_rect(column.filters_item, column.filters, cell, row, col).center()

    # ------------------------------------------------------------------ building

    def _filter_grids(self, outputs, grids) -> list[GridImage | None]:
        """Each conv layer's filter grid, drawn once per layer object (kept while shown).

        With one input channel, filters wrap like the maps, so filter k sits where map k does.
        """
        cache: dict[tuple[int, int | None], tuple[ConvLayer, GridImage]] = {}
        result: list[GridImage | None] = []
        for output, grid in zip(outputs, grids, strict=True):
            layer = output.layer
            if not isinstance(layer, ConvLayer):
                result.append(None)
                continue
            columns = grid.layout.columns if layer.in_channels == 1 else None
            key = (id(layer), columns)
            entry = self._filter_cache.get(key)
            if entry is None or entry[0] is not layer:  # an id can be reused by a new layer
                entry = (layer, filter_grid(layer, columns))
            cache[key] = entry
            result.append(entry[1])
        self._filter_cache = cache
        return result

    def _rebuild(self, key: list) -> None:
        self.graphics.ci.clear()
        self._columns = []
        layout = self.graphics.ci
        for index, column_key in enumerate(key):
            title = pg.LabelItem(justify="center")
            maps_box, maps_item = _image_box()
            gaps = QGraphicsPathItem(maps_item)
            gaps.setPen(_cosmetic_pen(QColor(*GAP_COLOUR)))
            sources = QGraphicsPathItem(maps_item)
            sources.setPen(_cosmetic_pen(_SOURCE_PEN, 1.5))
            sources.hide()
            hover = QGraphicsRectItem(maps_item)
            hover.setPen(_cosmetic_pen(_HOVER_PEN, 2))
            hover.hide()
            selected = QGraphicsRectItem(maps_item)
            selected.setPen(_cosmetic_pen(_SELECTED_PEN, 2))
            selected.hide()
            note = pg.LabelItem(justify="center")
            # The hovered map's number, on the map itself (a TextItem keeps its screen size).
            label = pg.TextItem(color=_HOVER_PEN, fill=pg.mkBrush(0, 0, 0, 160), anchor=(0, 0))
            label.hide()
            maps_box.addItem(label, ignoreBounds=True)
            layout.addItem(title, 0, index)
            # A layer without filters lets its maps use the filters' row too.
            layout.addItem(maps_box, 1, index, 1 if column_key[2] else 2, 1)
            column = _Column(
                title,
                maps_box,
                maps_item,
                gaps,
                hover,
                selected,
                note,
                label,
                sources,
                key=column_key,
            )
            if column_key[2]:
                column.filters_box, column.filters_item = _image_box()
                # Enlarged filters need room: a 3x3 bank squeezed under a map is unreadable.
                column.filters_box.setMinimumHeight(_FILTER_MIN_HEIGHT)
                column.filters_gaps = QGraphicsPathItem(column.filters_item)
                column.filters_gaps.setPen(_cosmetic_pen(QColor(*GAP_COLOUR)))
                column.filter_hover = QGraphicsRectItem(column.filters_item)
                column.filter_hover.setPen(_cosmetic_pen(_HOVER_PEN, 2))
                column.filter_hover.hide()
                layout.addItem(column.filters_box, 2, index)
            layout.addItem(note, 3, index)
            self._columns.append(column)
        grid_layout = layout.layout
        grid_layout.setRowStretchFactor(1, 2)  # maps first; filters are enlarged anyway
        grid_layout.setRowStretchFactor(2, 1)

    def _update_column(self, column: _Column, output: LayerOutput, grid, filters) -> None:
        old = column.grid
        column.grid = grid
        column.maps_item.setImage(grid.rgb, levels=(0, 255), autoLevels=False)
        if old is None or old.layout != grid.layout:
            column.gaps.setPath(_gap_path(grid))
            _fit_box(column.maps_box, grid)
        shape = "x".join(str(n) for n in output.map.shape)
        column.title.setText(
            f"<span style='color:{_TITLE_COLOUR}; font-weight:bold'>{output.name}</span>"
            f"<span style='color:{_NOTE_COLOUR}'>&nbsp;&nbsp;{shape}</span>"
        )
        low, high = grid.levels
        geometry = output.geometry
        # One fact a line: a wide note would widen its column, and six layers must fit the dock.
        field_text = f"field {geometry.field[0]}x{geometry.field[1]}<br>" if geometry else ""
        note = f"{field_text}{_format_value(low)} … {_format_value(high)} ({grid.colormap})"
        if filters is not None:
            flo, fhi = filters.levels
            note += f"<br>filters {_format_value(flo)} … {_format_value(fhi)}"
        column.note.setText(f"<span style='color:{_NOTE_COLOUR}; font-size:8pt'>{note}</span>")
        if filters is not None and column.filters_item is not None:
            previous = column.filters
            column.filters = filters
            if previous is not filters:
                column.filters_item.setImage(filters.rgb, levels=(0, 255), autoLevels=False)
            if previous is None or previous.layout != filters.layout:
                column.filters_gaps.setPath(_gap_path(filters))
                _fit_box(column.filters_box, filters)
        column.hover.hide()
        column.label.hide()
        column.sources.hide()

    # ------------------------------------------------------------------ mouse

    @staticmethod
    def _unit_rect(grid: GridImage, channel: int, row: int, col: int) -> QRectF:
        layout = grid.layout
        x, y, _, _ = layout.cell_rect(channel)
        size = layout.zoom
        return QRectF(x + (col // layout.step) * size, y + (row // layout.step) * size, size, size)

    def _unit_scene_rect(self, item, grid, channel, row, col) -> QRectF:
        return item.mapRectToScene(self._unit_rect(grid, channel, row, col))

    def _hit(self, scene_pos):
        """('map' | 'filter', layer index, located unit) under a scene position, or None."""
        for index, column in enumerate(self._columns):
            targets = [("map", column.maps_box, column.maps_item, column.grid)]
            if column.filters_box is not None:
                targets.append(("filter", column.filters_box, column.filters_item, column.filters))
            for kind, box, item, grid in targets:
                if grid is None or not box.sceneBoundingRect().contains(scene_pos):
                    continue
                point = item.mapFromScene(scene_pos)
                found = grid.layout.locate(point.x(), point.y())
                if found is not None:
                    return kind, index, found
        return None

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Leave and watched is self.graphics.viewport():
            self._mouse_at = None
            self._on_mouse_moved(None)
        return super().eventFilter(watched, event)

    def _on_mouse_moved(self, scene_pos) -> None:
        self._mouse_at = None if scene_pos is None else QPointF(scene_pos)
        hit = None if scene_pos is None else self._hit(scene_pos)
        for column in self._columns:
            column.hover.hide()
            column.label.hide()
            column.sources.hide()
            if column.filter_hover is not None:
                column.filter_hover.hide()
        if hit is None:
            if self._hovered is not None:
                self._hovered = None
                self.hoverLeft.emit()
            return
        kind, index, (channel, row, col) = hit
        column = self._columns[index]
        if kind == "filter":
            column.filter_hover.setRect(QRectF(*column.filters.layout.cell_rect(channel)))
            column.filter_hover.show()
            self._read_filter(index, channel, row, col)
            return
        rect = self._unit_rect(column.grid, channel, row, col)
        # A unit of a large map is smaller than a screen pixel: keep the marker visible.
        pixel_w, pixel_h = column.maps_box.viewPixelSize()
        grow_x = max(0.0, _MIN_MARKER_PIXELS * pixel_w - rect.width()) / 2
        grow_y = max(0.0, _MIN_MARKER_PIXELS * pixel_h - rect.height()) / 2
        column.hover.setRect(rect.adjusted(-grow_x, -grow_y, grow_x, grow_y))
        column.hover.show()
        x, y, _, _ = column.grid.layout.cell_rect(channel)
        column.label.setText(f"map {channel}")
        column.label.setPos(x, y)
        column.label.show()
        window = self._show_sources(index, channel, row, col)
        self._read_unit(index, channel, row, col, window)
        unit = (index, channel, row, col)
        if unit != self._hovered:
            self._hovered = unit
            self.unitHovered.emit(*unit)

    def _show_sources(self, index: int, channel: int, row: int, col: int):
        """Outline, in the layer before, the units that this unit reads (CNN Explainer draws
        lines to them): a window of every channel for a conv, of its own for pool and
        activation. Returns the window (top, left, height, width) or None."""
        if index == 0 or self._outputs[index - 1].map.ndim != 3:
            return None  # the first layer reads the input: the window draws that field
        layer = self._outputs[index].layer
        window = source_window(layer, self._outputs[index - 1].map.shape[:2], row, col)
        column = self._columns[index - 1]
        if window is None or column.grid is None:
            return window
        layout = column.grid.layout
        scale = layout.zoom / layout.step  # image pixels per unit (a sampled map: < 1)
        top, left, height, width = window
        channels = range(layout.count) if isinstance(layer, ConvLayer) else [channel]
        path = QPainterPath()
        for source in channels:
            x, y, _, _ = layout.cell_rect(source)
            path.addRect(QRectF(x + left * scale, y + top * scale, width * scale, height * scale))
        column.sources.setPath(path)
        column.sources.show()
        return window

    def _read_unit(self, index: int, channel: int, row: int, col: int, window=None) -> None:
        output = self._outputs[index]
        data = output.map
        name = output.name
        if data.ndim == 1:
            self.readout.setText(f"{name} · feature {channel} = {_format_value(data[channel])}")
            return
        value = float(data[row, col, channel])
        text = (
            f"<b>{name}</b> · map {channel} of {data.shape[2]} · unit (row {row}, col {col})"
            f" = <b>{_format_value(value)}</b>"
        )
        geometry = output.geometry
        if geometry is not None:
            top, left, height, width = geometry.receptive_field(row, col)
            text += (
                f" · sees {height}x{width} input pixels"
                f" (rows {top}..{top + height - 1}, cols {left}..{left + width - 1})"
            )
        if window is not None:
            top, left, height, width = window
            before = self._outputs[index - 1]
            which = "all maps" if isinstance(output.layer, ConvLayer) else f"map {channel}"
            text += (
                f" · reads {before.name} {which}, rows {top}..{top + height - 1},"
                f" cols {left}..{left + width - 1}"
            )
        self.readout.setText(text)

    def _read_filter(self, index: int, cell: int, row: int, col: int) -> None:
        layer = self._outputs[index].layer
        out_c, in_c = filter_cell(layer, cell)
        weight = float(layer.weights[out_c, in_c, row, col])
        channel_text = f", input channel {in_c}" if layer.in_channels > 1 else ""
        self.readout.setText(
            f"<b>{layer.name}</b> · filter {out_c}{channel_text} · weight (row {row}, col {col})"
            f" = <b>{_format_value(weight)}</b> · bias {_format_value(layer.bias[out_c])}"
            " · click to edit it"
        )

    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if event.double():  # fit the grid under the pointer; the click still counts
            self._fit_at(event.scenePos())
        hit = self._hit(event.scenePos())
        if hit is None:
            return
        kind, index, (channel, _row, _col) = hit
        if kind == "map":
            self.mapClicked.emit(index, channel)
            return
        out_c, in_c = filter_cell(self._outputs[index].layer, channel)
        self.filterClicked.emit(index, out_c)
        self.filterSliceClicked.emit(index, out_c, in_c)


__all__ = ["NetworkView"]
