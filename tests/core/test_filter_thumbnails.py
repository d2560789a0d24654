"""Filter thumbnails of the import dialog: geometry by hand, colours against the formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.display import colormap_lut
from core.network import ConvLayer
from core.network.filter_thumbnails import (
    MAX_CELL_PIXELS,
    MIN_CELL_PIXELS,
    ThumbnailLayout,
    choose_layout,
    filter_thumbnails,
)
from core.network.views import FILTER_COLORMAP, GAP_COLOUR


def _layer(out_c: int, in_c: int, k: int = 3, seed: int = 0) -> ConvLayer:
    rng = np.random.default_rng(seed)
    return ConvLayer(rng.standard_normal((out_c, in_c, k, k)).astype(np.float32))


def test_layout_geometry_worked_by_hand():
    # 4 RGB filters of 3x3 drawn 8x: cells 24 px; a block = colour + 3 channels
    # = 4 * 24 + 3 gaps = 99 px; 2 blocks a row, 9 px apart; a 1 px frame all round.
    layout = ThumbnailLayout(4, 3, True, (3, 3), 8, 2)
    assert layout.cell_size == (24, 24)
    assert layout.block_width == 99
    assert layout.shape == (1 + 24 + 1 + 24 + 1, 1 + 99 + 9 + 99 + 1)
    assert layout.cell_rect(0, 0) == (1, 1, 24, 24)
    # Filter 3 sits in row 1, column 1; its cell 2 (channel 1, G) two cells in.
    assert layout.cell_rect(3, 2) == (1 + 108 + 2 * 25, 1 + 25, 24, 24)
    with pytest.raises(IndexError):
        layout.cell_rect(4, 0)
    with pytest.raises(IndexError):
        layout.cell_rect(0, 4)


def test_locate_inverts_cell_rect_and_misses_gaps():
    layout = ThumbnailLayout(5, 3, True, (3, 3), 4, 2)  # 3 rows of blocks, the last half empty
    for o in range(5):
        for cell in range(4):
            x, y, _, _ = layout.cell_rect(o, cell)
            channel = None if cell == 0 else cell - 1
            # The weight (2, 1) is drawn at pixels 8..11 down, 4..7 across in its cell.
            assert layout.locate(x + 5.5, y + 9.5) == (o, channel, 2, 1)
    x, y, w, _ = layout.cell_rect(0, 1)
    assert layout.locate(x + w + 0.5, y + 1) is None  # the 1-pixel gap after a cell
    x, y, w, _ = layout.cell_rect(0, 3)
    assert layout.locate(x + w + 4, y + 1) is None  # the gap between blocks
    assert layout.locate(0.5, 0.5) is None  # the frame
    x, y, _, _ = layout.cell_rect(4, 0)
    assert layout.locate(x + layout.block_width + 20, y + 2) is None  # no sixth filter
    assert layout.locate(-1, 3) is None
    assert layout.locate(float("nan"), 3) is None


def test_channel_cells_use_the_colormap_on_one_symmetric_scale():
    layer = _layer(3, 2, seed=1)
    w = layer.weights.astype(np.float64)
    thumbs = filter_thumbnails(layer)
    m = np.abs(w).max()
    assert thumbs.levels == pytest.approx((-m, m))
    assert thumbs.colormap == FILTER_COLORMAP
    lut = colormap_lut(FILTER_COLORMAP)
    layout = thumbs.layout
    assert not layout.colour and layout.cells_per_block == 2
    for o in range(3):
        for i in range(2):
            x, y, _, _ = layout.cell_rect(o, i)
            for r in range(3):
                for c in range(3):
                    # 256 equal bins from -m to m (pyqtgraph's rule, core.display's).
                    exact = 256 * (w[o, i, r, c] + m) / (2 * m)
                    if abs(exact - round(exact)) < 1e-3:
                        continue  # on a bin edge float32 may fall either way
                    index = min(255, math.floor(exact))
                    pixel = thumbs.rgba[y + r * layout.zoom + 1, x + c * layout.zoom + 1]
                    assert tuple(pixel[:3]) == tuple(lut[index]), (o, i, r, c)
                    assert pixel[3] == 255


def test_colour_cell_shows_the_three_channels_as_rgb_grey_at_zero():
    weights = np.zeros((2, 3, 3, 3), np.float32)
    weights[0, 0, 0, 0] = 2.0  # red channel, strongest weight: full red
    weights[0, 1, 0, 0] = -2.0  # green channel, most negative: no green
    weights[0, 2, 1, 1] = 0.5  # blue channel, a quarter of the way up from grey
    weights[1, :, 2, 2] = (-1.0, 1.0, 0.3)
    thumbs = filter_thumbnails(ConvLayer(weights))
    layout = thumbs.layout
    assert layout.colour and layout.cells_per_block == 4

    def colour_at(o, r, c):
        x, y, _, _ = layout.cell_rect(o, 0)
        return tuple(int(v) for v in thumbs.rgba[y + r * layout.zoom, x + c * layout.zoom, :3])

    def level(v):  # -2..2 -> 0..255, truncated (apply_colormap on 3 channels)
        return min(255, math.floor(255 * (v + 2) / 4))

    assert colour_at(0, 0, 0) == (255, 0, level(0))
    assert colour_at(0, 1, 1) == (level(0), level(0), level(0.5))
    assert colour_at(0, 2, 0) == (127, 127, 127)  # all zero: mid grey
    assert colour_at(1, 2, 2) == (level(-1), level(1), level(0.3))


def test_frame_and_gaps_are_opaque_spaces_between_blocks_transparent():
    thumbs = filter_thumbnails(_layer(5, 3), fit=(400, 200))
    layout = thumbs.layout
    assert layout.block_columns > 1
    x, y, _, _ = layout.cell_rect(0, 3)
    gap_x = x + layout.cell_size[1] + 4  # inside the 9-pixel gap after block 0
    assert thumbs.rgba[y + 2, gap_x, 3] == 0
    assert tuple(thumbs.rgba[0, x]) == (*GAP_COLOUR, 255)  # the frame above the block
    assert tuple(thumbs.rgba[y + 2, x - 1]) == (*GAP_COLOUR, 255)  # between two cells
    if layout.block_rows * layout.block_columns > 5:  # an unused place is transparent
        x, y, _, _ = layout.cell_rect(4, 0)
        assert thumbs.rgba[y + 2, x + layout.block_width + 12, 3] == 0


def test_large_banks_are_cut_but_keep_the_whole_layers_scale():
    weights = np.full((300, 20, 3, 3), 0.1, np.float32)
    weights[299, 19, 0, 0] = -4.0  # outside what is drawn
    thumbs = filter_thumbnails(ConvLayer(weights), max_filters=256, max_channels=16)
    assert (thumbs.layout.filters, thumbs.layout.channels) == (256, 16)
    assert thumbs.cut and thumbs.shape == (300, 20, 3, 3)
    assert thumbs.levels == (-4.0, 4.0)
    assert not filter_thumbnails(_layer(4, 3)).cut


@pytest.mark.parametrize(
    ("filters", "channels", "kernel", "room"),
    [(4, 3, 3, (600, 380)), (64, 3, 7, (580, 360)), (32, 1, 5, (560, 380)), (7, 64, 3, (500, 300))],
)
def test_fit_takes_the_largest_cells_that_fit(filters, channels, kernel, room):
    colour = channels == 3
    layout = choose_layout(filters, min(channels, 16), colour, (kernel, kernel), room)
    height, width = layout.shape
    assert width <= room[0] and height <= room[1]
    assert MIN_CELL_PIXELS <= layout.cell_size[0] <= MAX_CELL_PIXELS
    assert layout.block_rows * layout.block_columns >= filters
    # No arrangement of the next larger zoom fits (checked by trying every column count).
    bigger = layout.zoom + 1
    if bigger * kernel <= MAX_CELL_PIXELS:
        for columns in range(1, filters + 1):
            trial = ThumbnailLayout(
                filters, min(channels, 16), colour, (kernel,) * 2, bigger, columns
            )
            assert trial.shape[0] > room[1] or trial.shape[1] > room[0]


def test_a_bank_too_big_for_the_room_takes_the_smallest_cells_and_the_rooms_shape():
    layout = choose_layout(256, 16, False, (3, 3), (300, 200))
    assert layout.cell_size == (12, 12)
    height, width = layout.shape
    assert width > 300 or height > 200  # the view scrolls
    assert 0.5 < (width / height) / (300 / 200) < 2


def test_one_input_channel_wraps_single_cells_like_a_grid():
    thumbs = filter_thumbnails(_layer(16, 1), fit=(400, 400))
    layout = thumbs.layout
    assert layout.cells_per_block == 1 and layout.block_gap == 1
    assert (layout.block_rows, layout.block_columns) == (4, 4)
    assert thumbs.rgba.shape == (*layout.shape, 4)
