"""Pictures of a network, drawn wherever the maps are made (the worker), never in the GUI thread.

The one grid module: the window's grids (:func:`layer_grid`, :func:`filter_grid`) and the
labelled picture of a layer that the batch command and Export all write
(:func:`labelled_grid`) tile maps the same way and colour them by the same rule.

A layer's ``(H, W, C)`` map becomes one RGB image: its C channels tiled row-major into a grid
with a 1-pixel gap, every channel on the layer's one colour scale, so channel 3 and channel 7
can be compared by eye (as CNN Explainer and the Deep Visualization Toolbox show a layer). A
conv layer's filters become a grid too, enlarged so a 3x3 kernel stays readable (ConvNetJS
hides them as "too small"). The :class:`GridLayout` returned with each picture maps a pixel of
it back to (channel, row, col), which is what hover and click need.

Colours follow :mod:`core.display` (``compute_levels``, ``resolve_colormap``,
``apply_colormap``), so a grid's pixel matches what a pane shows for the same value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from core.display import (
    apply_colormap,
    colormap_lut,
    compute_levels,
    is_signed,
    resolve_colormap,
)
from core.network.layers import ActivationLayer, ConvLayer, Layer, PoolLayer
from core.ops import effective_kernel_size, padding_amounts

__all__ = [
    "BACKGROUND",
    "FILTER_COLORMAP",
    "GAP_COLOUR",
    "GridImage",
    "GridLayout",
    "LabelledLayout",
    "default_columns",
    "filter_cell",
    "filter_grid",
    "labelled_grid",
    "layer_grid",
    "layer_grids",
    "shape_text",
    "source_window",
]

#: Colour of the gaps between cells and of unused cells: a dark slate that none of the
#: colormaps' ends (black, dark blue, dark red) is mistaken for.
GAP_COLOUR = (48, 52, 64)
#: Weights are signed and centred on zero: white zero, like paper, blue negative, red positive.
FILTER_COLORMAP = "RdBu_r"
# A filter cell is enlarged to at least this many pixels a side, so the 1-pixel gap stays thin.
_FILTER_CELL_PIXELS = 24
_GAP = 1


@dataclass(frozen=True)
class GridLayout:
    """Where each channel of a tiled map sits in the grid image.

    Cells are ``cell_shape`` values, each drawn ``zoom`` x ``zoom`` image pixels, laid out
    row-major ``columns`` to a row with ``gap`` image pixels between them. Cell value (r, c)
    is the map's unit (r * step, c * step).
    """

    count: int
    cell_shape: tuple[int, int]  # (rows, cols) of data in one cell
    columns: int
    gap: int = _GAP
    zoom: int = 1
    step: int = 1  # a cell shows every step-th unit of the map (for maps larger than shown)

    @property
    def rows(self) -> int:
        """Rows of cells."""
        return math.ceil(self.count / self.columns)

    @property
    def pitch(self) -> tuple[int, int]:
        """(height, width) in image pixels from one cell's top-left to the next one's."""
        return (
            self.cell_shape[0] * self.zoom + self.gap,
            self.cell_shape[1] * self.zoom + self.gap,
        )

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of the grid image in pixels."""
        pitch_y, pitch_x = self.pitch
        return self.rows * pitch_y - self.gap, self.columns * pitch_x - self.gap

    def cell_rect(self, channel: int) -> tuple[int, int, int, int]:
        """(x, y, width, height) in image pixels of ``channel``'s cell."""
        if not 0 <= channel < self.count:
            raise IndexError(f"channel {channel} is not in 0..{self.count - 1}")
        return self._rect(channel)

    def _rect(self, slot: int) -> tuple[int, int, int, int]:
        pitch_y, pitch_x = self.pitch
        row, col = divmod(slot, self.columns)
        return (
            col * pitch_x,
            row * pitch_y,
            self.cell_shape[1] * self.zoom,
            self.cell_shape[0] * self.zoom,
        )

    def locate(self, x: float, y: float) -> tuple[int, int, int] | None:
        """The map unit (channel, row, col) drawn at image point (x, y), or None on a gap,
        an unused cell or outside.

        (x, y) are image coordinates as pyqtgraph reports them: pixel (i, j) covers
        [j, j+1) x [i, i+1).
        """
        if not (math.isfinite(x) and math.isfinite(y)) or x < 0 or y < 0:
            return None
        pitch_y, pitch_x = self.pitch
        cell_col, inside_x = divmod(math.floor(x), pitch_x)
        cell_row, inside_y = divmod(math.floor(y), pitch_y)
        if cell_col >= self.columns or inside_x >= pitch_x - self.gap:
            return None
        if inside_y >= pitch_y - self.gap:
            return None
        channel = cell_row * self.columns + cell_col
        if channel >= self.count:
            return None
        return channel, inside_y // self.zoom * self.step, inside_x // self.zoom * self.step


@dataclass(frozen=True, eq=False)
class GridImage:
    """A tiled picture: ``rgb`` is uint8 (H, W, 3), C-contiguous, drawn with ``levels`` and
    ``colormap`` (so a view can print the value range and a colour bar)."""

    rgb: np.ndarray
    layout: GridLayout
    levels: tuple[float, float]
    colormap: str


def default_columns(count: int, cell_shape: tuple[int, int] = (1, 1)) -> int:
    """Columns that make the grid of ``count`` cells of ``cell_shape`` closest to square
    (ties go to the layout with fewer empty cells)."""
    h, w = cell_shape

    def badness(columns: int) -> tuple[float, int]:
        rows = math.ceil(count / columns)
        return abs(math.log(rows * h / (columns * w))), rows * columns - count

    return min(range(1, max(count, 1) + 1), key=badness)


def _as_cells(data: np.ndarray) -> np.ndarray:
    """(H, W, C) as it is; (H, W) as one channel; an (N,) vector as N one-pixel cells."""
    array = np.asarray(data, dtype=np.float32)
    if array.ndim == 1:
        return array.reshape(1, 1, -1)
    if array.ndim == 2:
        return array[:, :, None]
    if array.ndim == 3:
        return array
    raise ValueError(f"expected an (H, W, C) map, an (H, W) map or a vector, not {array.shape}")


def _tile(cells: np.ndarray, layout: GridLayout, fill: float) -> np.ndarray:
    """The cells' values tiled into the grid (float32), ``fill`` on gaps and unused cells."""
    values = np.full(layout.shape, fill, np.float32)
    step, zoom = layout.step, layout.zoom
    # One strided copy per channel: faster than transposing the whole (H, W, C) map first.
    for channel in range(layout.count):
        x, y, w, h = layout.cell_rect(channel)
        block = cells[::step, ::step, channel]
        if zoom > 1:
            block = block.repeat(zoom, axis=0).repeat(zoom, axis=1)
        values[y : y + h, x : x + w] = block
    return values


def _paint_gaps(rgb: np.ndarray, layout: GridLayout) -> None:
    pitch_y, pitch_x = layout.pitch
    gap = layout.gap
    for row in range(1, layout.rows):
        rgb[row * pitch_y - gap : row * pitch_y] = GAP_COLOUR
    for col in range(1, layout.columns):
        rgb[:, col * pitch_x - gap : col * pitch_x] = GAP_COLOUR
    for slot in range(layout.count, layout.rows * layout.columns):
        x, y, w, h = layout._rect(slot)
        rgb[y : y + h, x : x + w] = GAP_COLOUR


def _draw(
    cells: np.ndarray,
    layout: GridLayout,
    levels: tuple[float, float],
    colormap: str,
) -> GridImage:
    return _paint(_tile(cells, layout, fill=float(levels[0])), layout, levels, colormap)


def _paint(
    values: np.ndarray, layout: GridLayout, levels: tuple[float, float], colormap: str
) -> GridImage:
    """Tiled values (see :func:`_tile`) through the colormap, gaps painted over."""
    rgb = apply_colormap(values, colormap_lut(colormap), levels)
    _paint_gaps(rgb, layout)
    return GridImage(rgb, layout, (float(levels[0]), float(levels[1])), colormap)


def layer_grid(
    map: np.ndarray,
    levels: tuple[float, float] | None = None,
    colormap: str | None = None,
    columns: int | None = None,
    *,
    zoom: int = 1,
    max_side: int | None = None,
) -> GridImage:
    """Tile a layer's map into one RGB image on one colour scale.

    Parameters
    ----------
    map : np.ndarray
        ``(H, W, C)`` (a layer's output), ``(H, W)`` (one channel) or ``(N,)`` (a flatten or
        dense output: N one-pixel cells).
    levels : tuple of float, optional
        (low, high) shared by every channel; by default ``compute_levels`` of the whole map
        (symmetric if any value is negative), so channels compare by colour.
    colormap : str, optional
        By default ``resolve_colormap`` of the map's sign (diverging if signed).
    columns : int, optional
        Cells per row; by default the count that makes the grid closest to square.
    zoom : int
        Each value drawn ``zoom`` x ``zoom`` pixels (for tiny cells such as 3x3 kernels).
    max_side : int, optional
        Show every step-th unit so no cell is larger than ``max_side`` pixels a side: a
        640x480x32 map tiled whole is 3204x3366 pixels, more than a view shows, and ten
        times slower to draw. Levels still come from every unit.

    Returns
    -------
    GridImage
        ``rgb`` uint8 (H', W', 3) and the ``layout`` that maps its pixels back to
        (channel, row, col).
    """
    cells = _as_cells(map)
    h, w, count = cells.shape
    if count == 0 or h == 0 or w == 0:
        raise ValueError(f"nothing to draw in a map shaped {np.shape(map)}")
    if columns is None:
        columns = default_columns(count, (h, w))
    if columns < 1:
        raise ValueError(f"columns must be at least 1, not {columns}")
    if zoom < 1:
        raise ValueError(f"zoom must be at least 1, not {zoom}")
    columns = min(columns, count)
    step = 1 if max_side is None else max(1, math.ceil(max(h, w) / max(1, max_side)))
    cell_shape = (math.ceil(h / step), math.ceil(w / step))
    signed = None
    if levels is None:
        levels = compute_levels(cells)
        signed = levels[0] < 0  # compute_levels is symmetric exactly when the map is signed
    if colormap is None:  # resolved only when needed: is_signed is a pass over the maps
        colormap = resolve_colormap(None, is_signed(cells) if signed is None else signed)
    layout = GridLayout(count, cell_shape, columns, zoom=zoom, step=step)
    return _draw(cells, layout, levels, colormap)


def filter_grid(layer: ConvLayer, columns: int | None = None) -> GridImage:
    """A conv layer's filters, enlarged, on one symmetric colour scale (white = 0).

    Cell ``o * in_channels + i`` holds filter ``o``'s slice for input channel ``i``. With one
    input channel the cells wrap like the layer's maps (filter ``o`` sits where map ``o`` does
    in :func:`layer_grid`'s default layout of a square map); with several, each row of the grid
    is one filter and each column one input channel.

    Use :func:`filter_cell` to turn a located cell into (out_channel, in_channel).
    """
    weights = layer.weights  # (O, I, kh, kw)
    out_c, in_c, kh, kw = weights.shape
    cells = np.ascontiguousarray(weights.reshape(out_c * in_c, kh, kw).transpose(1, 2, 0))
    if columns is None:
        columns = in_c if in_c > 1 else default_columns(out_c)
    zoom = max(1, math.ceil(_FILTER_CELL_PIXELS / max(kh, kw)))
    levels = compute_levels(weights, signed=True)
    return layer_grid(cells, levels, FILTER_COLORMAP, columns, zoom=zoom)


def filter_cell(layer: ConvLayer, cell: int) -> tuple[int, int]:
    """(out_channel, in_channel) of cell ``cell`` of :func:`filter_grid`'s picture."""
    return divmod(cell, layer.in_channels)


def layer_grids(outputs: Sequence, max_side: int | None = None) -> list[GridImage]:
    """:func:`layer_grid` of every ``LayerOutput.map``, each on its own scale (worker side)."""
    return [layer_grid(output.map, max_side=max_side) for output in outputs]


def _taps(start: int, taps: int, spacing: int, length: int) -> tuple[int, int] | None:
    """(first, extent) of the taps start, start + spacing, ... that fall in 0..length-1."""
    inside = [start + spacing * i for i in range(taps) if 0 <= start + spacing * i < length]
    return (inside[0], inside[-1] - inside[0] + 1) if inside else None


def source_window(
    layer: Layer, before_shape: tuple[int, int], row: int, col: int
) -> tuple[int, int, int, int] | None:
    """(top, left, height, width) of the units of the map before ``layer`` that its output
    unit (row, col) reads, clipped to that map (``before_shape`` is its (H, W)).

    A conv unit reads a k x k window (taps ``dilation`` apart) of every input channel, a pool
    unit a size x size window of its own channel, an activation unit only the unit under it.
    The window spans the first to the last tap inside the map. None for flatten and dense
    layers (their units read everything) and for a unit that reads only padding.
    """
    if isinstance(layer, ConvLayer):
        taps, spacing, stride = layer.kernel_size, layer.dilation, layer.stride
        pads = [
            padding_amounts(n, effective_kernel_size(k, spacing), stride, layer.padding)[0]
            for n, k in zip(before_shape, taps, strict=True)
        ]
    elif isinstance(layer, PoolLayer):
        taps, spacing, stride, pads = (layer.size, layer.size), 1, layer.stride, (0, 0)
    elif isinstance(layer, ActivationLayer):
        taps, spacing, stride, pads = (1, 1), 1, 1, (0, 0)
    else:
        return None
    rows = _taps(row * stride - pads[0], taps[0], spacing, before_shape[0])
    cols = _taps(col * stride - pads[1], taps[1], spacing, before_shape[1])
    if rows is None or cols is None:
        return None
    return rows[0], cols[0], rows[1], cols[1]


# -- the labelled grid: a layer as one picture with its name and each map's number -------------
# What the batch command's PNG and Export all hold: the same tiling and colours as the window's
# grid above (``layer_grid``), with a title row and a caption over each row of maps.

#: Behind the labels and around the grid: the gap colour, so the picture reads as one grid.
BACKGROUND = GAP_COLOUR
TEXT = (230, 230, 230)
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_FONT_SCALE = 0.4
_TITLE_HEIGHT = 18
_CAPTION_HEIGHT = 13


@dataclass(frozen=True)
class LabelledLayout:
    """Where each map of a :func:`labelled_grid` sits: the tiled ``grid`` (a
    :class:`GridLayout`) moved down by the title row and one caption row per row of maps."""

    grid: GridLayout
    margin: int  # background pixels around the grid
    title_height: int  # the label row on top (0 without a title)
    caption_height: int  # above each row of maps (0 without captions)
    size: tuple[int, int]  # (height, width) of the whole image
    levels: tuple[float, float]  # the one colour scale of the layer
    colormap: str

    @property
    def channels(self) -> int:
        return self.grid.count

    @property
    def map_shape(self) -> tuple[int, int]:
        """(height, width) of one map, in map pixels."""
        return self.grid.cell_shape

    @property
    def scale(self) -> int:
        """Image pixels per map pixel (a side)."""
        return self.grid.zoom

    def _row_pitch(self) -> int:
        return self.caption_height + self.grid.pitch[0]

    def tile_rect(self, channel: int) -> tuple[int, int, int, int]:
        """(top, left, height, width) of map ``channel`` in the image."""
        x, _, w, h = self.grid.cell_rect(channel)
        row = channel // self.grid.columns
        top = self.title_height + self.margin + row * self._row_pitch() + self.caption_height
        return top, self.margin + x, h, w

    def locate(self, y: float, x: float) -> tuple[int, int, int] | None:
        """(channel, row, col) of the map pixel drawn at image pixel (y, x); None off maps."""
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        y0 = math.floor(y) - self.title_height - self.margin
        if y0 < 0:
            return None
        row, inside = divmod(y0, self._row_pitch())
        inside -= self.caption_height
        if inside < 0:
            return None
        return self.grid.locate(x - self.margin, row * self.grid.pitch[0] + inside)


def shape_text(data: np.ndarray) -> str:
    """``26x26x32`` for an (H, W, C) map, ``(1024,)`` for a vector."""
    shape = np.shape(data)
    return "x".join(map(str, shape)) if len(shape) > 1 else f"({shape[0]},)"


def labelled_grid(
    data: np.ndarray,
    *,
    title: str | None = None,
    columns: int | None = None,
    min_tile: int = 48,
    captions: bool = True,
    margin: int = 2,
) -> tuple[np.ndarray, LabelledLayout]:
    """A layer's maps as one labelled RGB picture: :func:`layer_grid`'s tiles and colours
    (one scale for the layer, ``core.display``'s colour rule), a title row reading
    ``"<title>  HxWxC"``, and each map's number above it.

    Parameters
    ----------
    data
        (H, W, C), (H, W), or an (N,) vector (drawn as one 1 x N map).
    title
        Layer name; None: no title row.
    columns
        Maps per row; by default the count that makes the grid closest to square.
    min_tile
        Maps smaller than this (longest side, pixels) are enlarged by a whole factor, so a
        13x13 map stays visible and every map pixel is a clean square.
    captions
        Draw "#c" above map c.

    Returns
    -------
    image : np.ndarray
        uint8 (height, width, 3) RGB.
    layout : LabelledLayout
        Maps image pixels to (channel, row, col) and back.
    """
    array = np.asarray(data)
    if array.ndim == 1:
        array = array[None, :, None]
    if array.ndim not in (2, 3) or 0 in array.shape:
        raise ValueError(f"labelled_grid needs an (H, W, C), (H, W) or (N,) map, not {array.shape}")
    h, w = array.shape[:2]
    scale = max(1, math.ceil(min_tile / max(h, w)))
    tiles = layer_grid(array, columns=columns, zoom=scale)
    grid = tiles.layout
    caption_height = _CAPTION_HEIGHT if captions else 0
    title_height = _TITLE_HEIGHT if title is not None else 0
    label = f"{title}  {shape_text(data)}" if title is not None else ""
    width = grid.shape[1] + 2 * margin
    if label:
        width = max(width, cv2.getTextSize(label, _FONT, _FONT_SCALE, 1)[0][0] + 2 * margin + 4)
    pitch = grid.pitch[0]
    height = title_height + margin + grid.rows * (caption_height + pitch) - grid.gap + margin
    layout = LabelledLayout(
        grid, margin, title_height, caption_height, (height, width), tiles.levels, tiles.colormap
    )
    image = np.empty((height, width, 3), np.uint8)
    image[:] = BACKGROUND
    for row in range(grid.rows):  # each row of tiles, moved down under its caption row
        source = tiles.rgb[row * pitch : min((row + 1) * pitch, grid.shape[0])]
        top = title_height + margin + row * (caption_height + pitch) + caption_height
        image[top : top + len(source), margin : margin + grid.shape[1]] = source
    if label:
        cv2.putText(image, label, (margin + 2, title_height - 5), _FONT, _FONT_SCALE, TEXT, 1,
                    cv2.LINE_AA)  # fmt: skip
    if captions:
        for c in range(grid.count):
            top, left, _, _ = layout.tile_rect(c)
            cv2.putText(image, f"#{c}", (left, top - 3), _FONT, 0.33, TEXT, 1, cv2.LINE_AA)
    return image, layout
