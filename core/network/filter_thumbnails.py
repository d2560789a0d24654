"""Thumbnails of a conv layer's filters for choosing a layer to import (no Qt).

Each filter is a *block* of cells, one per input channel, side by side; a filter with three
input channels (an RGB first layer) starts its block with a colour cell, the three slices as
R, G and B. Blocks wrap into block columns so a 64-filter bank fits a dialog instead of
making a 64-row strip. Every cell of the layer shares one symmetric colour scale (white = 0,
:data:`core.network.views.FILTER_COLORMAP`), and the colour cells map -m..m of each channel
to 0..255 through the same ``core.display.apply_colormap`` rule (grey = 0), so a strong
filter looks strong in both.

A bank larger than a dialog can show is cut (the first ``max_filters`` filters, the first
``max_channels`` input channels); the levels still come from the whole layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.display import apply_colormap, colormap_lut, compute_levels
from core.network.layers import ConvLayer
from core.network.views import FILTER_COLORMAP, GAP_COLOUR

__all__ = ["FilterThumbnails", "ThumbnailLayout", "choose_layout", "filter_thumbnails"]

# Without a room to fit, a kernel is enlarged to about this many pixels a side (as
# filter_grid does); to fit a room, to between these two (a 3x3 kernel drawn 96 pixels wide
# is a wall of colour, one drawn 6 pixels wide cannot be read).
_CELL_PIXELS = 24
MIN_CELL_PIXELS = 12
MAX_CELL_PIXELS = 96
#: Filters and input channels drawn at most (the rest are listed as cut in the caption).
MAX_FILTERS = 256
MAX_CHANNELS = 16
# Pixels between the blocks of two filters side by side: wider than the 1-pixel gap between
# a filter's own cells, so which cells belong together is plain.
_BLOCK_GAP = 9
_CELL_GAP = 1
# Every block is framed by a line this wide, so a near-zero (white) weight at the edge of
# the grid still shows where its cell ends; the picture has this margin all round.
_BORDER = 1


@dataclass(frozen=True)
class ThumbnailLayout:
    """Where each filter's cells sit in a thumbnail image.

    A block (one filter) is ``cells_per_block`` cells in a row: the colour cell first when
    ``colour``, then ``channels`` input-channel cells. Blocks are laid out row-major,
    ``block_columns`` to a row.
    """

    filters: int  # filters drawn
    channels: int  # input channels drawn per filter
    colour: bool  # each block starts with a colour (RGB) cell
    kernel: tuple[int, int]  # (kh, kw)
    zoom: int  # image pixels per weight, each way
    block_columns: int

    @property
    def cells_per_block(self) -> int:
        return self.channels + int(self.colour)

    @property
    def cell_size(self) -> tuple[int, int]:
        """(height, width) of one cell in image pixels."""
        return self.kernel[0] * self.zoom, self.kernel[1] * self.zoom

    @property
    def block_gap(self) -> int:
        """Pixels between blocks side by side (1 when a block is a single cell)."""
        return _BLOCK_GAP if self.cells_per_block > 1 else _CELL_GAP

    @property
    def block_width(self) -> int:
        n = self.cells_per_block
        return n * self.cell_size[1] + (n - 1) * _CELL_GAP

    @property
    def block_rows(self) -> int:
        return math.ceil(self.filters / self.block_columns)

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of the image in pixels."""
        rows, cols = self.block_rows, self.block_columns
        height = rows * self.cell_size[0] + (rows - 1) * _CELL_GAP
        width = cols * self.block_width + (cols - 1) * self.block_gap
        return height + 2 * _BORDER, width + 2 * _BORDER

    def block_left(self, block_column: int) -> int:
        """x of the first pixel of block column ``block_column``'s cells."""
        return _BORDER + block_column * (self.block_width + self.block_gap)

    def cell_rect(self, filter_index: int, cell: int) -> tuple[int, int, int, int]:
        """(x, y, width, height) of cell ``cell`` (0 = colour cell if any) of a filter."""
        if not 0 <= filter_index < self.filters:
            raise IndexError(f"filter {filter_index} is not in 0..{self.filters - 1}")
        if not 0 <= cell < self.cells_per_block:
            raise IndexError(f"cell {cell} is not in 0..{self.cells_per_block - 1}")
        row, col = divmod(filter_index, self.block_columns)
        h, w = self.cell_size
        x = self.block_left(col) + cell * (w + _CELL_GAP)
        return x, _BORDER + row * (h + _CELL_GAP), w, h

    def locate(self, x: float, y: float) -> tuple[int, int | None, int, int] | None:
        """(filter, input channel or None for the colour cell, row, col) of the weight drawn
        at image point (x, y); None on a gap, an unused block or outside."""
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        x, y = x - _BORDER, y - _BORDER
        if x < 0 or y < 0:
            return None
        h, w = self.cell_size
        block_col, in_block = divmod(math.floor(x), self.block_width + self.block_gap)
        row, in_row = divmod(math.floor(y), h + _CELL_GAP)
        if block_col >= self.block_columns or in_block >= self.block_width or in_row >= h:
            return None
        cell, in_cell = divmod(in_block, w + _CELL_GAP)
        if in_cell >= w:
            return None
        filter_index = row * self.block_columns + block_col
        if filter_index >= self.filters:
            return None
        channel = None if self.colour and cell == 0 else cell - int(self.colour)
        return filter_index, channel, in_row // self.zoom, in_cell // self.zoom


@dataclass(frozen=True, eq=False)
class FilterThumbnails:
    """A layer's filters drawn as one image (``rgba``: uint8 (H, W, 4), C-contiguous).

    ``levels`` is the symmetric colour scale of every cell (from the whole layer, shown or
    not); ``shape`` is the whole layer's (out, in, kh, kw), so a caption can say what was cut.
    """

    rgba: np.ndarray
    layout: ThumbnailLayout
    levels: tuple[float, float]
    colormap: str
    shape: tuple[int, int, int, int]

    @property
    def cut(self) -> bool:
        """True when some filters or input channels are not drawn."""
        return self.layout.filters < self.shape[0] or self.layout.channels < self.shape[1]


def filter_thumbnails(
    layer: ConvLayer,
    fit: tuple[int, int] | None = None,
    *,
    max_filters: int = MAX_FILTERS,
    max_channels: int = MAX_CHANNELS,
) -> FilterThumbnails:
    """Draw ``layer``'s filters: per input channel, plus a colour cell for an RGB layer.

    Parameters
    ----------
    layer : ConvLayer
        Weights (out, in, kh, kw).
    fit : (width, height), optional
        Room in pixels: the weights are enlarged as much as fits in it (cells of
        ``MIN_CELL_PIXELS`` to ``MAX_CELL_PIXELS`` a side), the blocks wrapped to fill it.
        When even the smallest cells do not fit, the shape is kept close to the room's and
        the picture is larger than the room (a view scrolls). By default cells are about
        24 pixels and the picture is about square.
    max_filters, max_channels : int
        Draw at most this many filters and input channels of each (the first ones).

    Returns
    -------
    FilterThumbnails
        ``rgba`` uint8 (H, W, 4): cells and the gaps inside the grid opaque, the space
        between blocks and unused places transparent; and the layout that maps its pixels
        back to (filter, channel, row, col).
    """
    if max_filters < 1 or max_channels < 1:
        raise ValueError("max_filters and max_channels must be at least 1")
    weights = layer.weights
    out_c, in_c, kh, kw = weights.shape
    layout = choose_layout(
        min(out_c, max_filters), min(in_c, max_channels), in_c == 3, (kh, kw), fit
    )
    levels = compute_levels(weights, signed=True)
    lut = colormap_lut(FILTER_COLORMAP)
    filters, channels = layout.filters, layout.channels
    shown = weights[:filters, :channels]

    rgba = np.zeros((*layout.shape, 4), np.uint8)  # transparent where nothing is drawn
    _paint_gaps(rgba, layout)
    for o in range(filters):
        # Every slice of the filter side by side in one (kh, channels * kw) map: one call.
        side_by_side = np.ascontiguousarray(shown[o].transpose(1, 0, 2).reshape(kh, -1))
        slices = apply_colormap(side_by_side, lut, levels).reshape(kh, channels, kw, 3)
        first = 0
        if layout.colour:
            # The three slices as R, G, B; -m..m -> 0..255 per channel, so 0 is mid grey.
            # (apply_colormap's OpenCV path needs a contiguous array, not a transposed view.)
            colours = np.ascontiguousarray(weights[o].transpose(1, 2, 0))
            _paste(rgba, layout, o, 0, apply_colormap(colours, lut, levels))
            first = 1
        for i in range(channels):
            _paste(rgba, layout, o, first + i, slices[:, i])
    return FilterThumbnails(rgba, layout, levels, FILTER_COLORMAP, (out_c, in_c, kh, kw))


def choose_layout(
    filters: int,
    channels: int,
    colour: bool,
    kernel: tuple[int, int],
    fit: tuple[int, int] | None = None,
) -> ThumbnailLayout:
    """The largest enlargement, and the block columns, that fit ``filters`` blocks in ``fit``.

    Among the block columns that fit, the one closest to the room's shape wins, with a
    penalty for empty places. Without ``fit``: cells of about 24 pixels, the picture about square.
    """
    kh, kw = kernel
    side = max(kh, kw)
    smallest = max(1, math.ceil(MIN_CELL_PIXELS / side))
    largest = max(smallest, MAX_CELL_PIXELS // side)

    def layout(zoom: int, columns: int) -> ThumbnailLayout:
        return ThumbnailLayout(filters, channels, colour, kernel, zoom, columns)

    def best_columns(zoom: int, room: tuple[int, int], candidates: list[int]) -> int:
        """The candidate whose picture's shape is closest to ``room``'s, with a penalty for
        empty places (32 filters as 8 x 4 rather than 6 x 6 with 4 holes)."""

        def badness(columns: int) -> float:
            empty = math.ceil(filters / columns) * columns - filters
            return _aspect_badness(layout(zoom, columns), room) + empty / filters

        return min(candidates, key=badness)

    every = list(range(1, filters + 1))
    if fit is None:
        zoom = max(1, math.ceil(_CELL_PIXELS / side))
        return layout(zoom, best_columns(zoom, (1, 1), every))
    room = (max(1, fit[0]), max(1, fit[1]))
    for zoom in range(largest, smallest - 1, -1):
        fitting = [c for c in every if _fits(layout(zoom, c).shape, room)]
        if fitting:
            return layout(zoom, best_columns(zoom, room, fitting))
    # Too many to fit even small: keep the room's shape (and scroll), empty places or not.
    return layout(smallest, min(every, key=lambda c: _aspect_badness(layout(smallest, c), room)))


def _aspect_badness(layout: ThumbnailLayout, room: tuple[int, int]) -> float:
    height, width = layout.shape
    return abs(math.log(width * room[1] / (height * room[0])))


def _fits(shape: tuple[int, int], room: tuple[int, int]) -> bool:
    return shape[1] <= room[0] and shape[0] <= room[1]


def _paint_gaps(rgba: np.ndarray, layout: ThumbnailLayout) -> None:
    """Opaque gap colour under every drawn block and a line round it, so the cells sit on
    thin dark lines; between blocks and in unused places the picture stays transparent."""
    cell_h, _ = layout.cell_size
    for o in range(layout.filters):
        x, y, _, _ = layout.cell_rect(o, 0)
        rgba[y - _BORDER : y + cell_h + _BORDER, x - _BORDER : x + layout.block_width + _BORDER] = (
            *GAP_COLOUR,
            255,
        )


def _paste(
    rgba: np.ndarray, layout: ThumbnailLayout, filter_index: int, cell: int, rgb: np.ndarray
) -> None:
    x, y, w, h = layout.cell_rect(filter_index, cell)
    zoom = layout.zoom
    rgba[y : y + h, x : x + w, :3] = rgb.repeat(zoom, axis=0).repeat(zoom, axis=1)
    rgba[y : y + h, x : x + w, 3] = 255
