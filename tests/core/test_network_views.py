"""Grids of a layer's maps and of a conv layer's filters, checked against explicit loops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.display import COLORMAPS
from core.images import load_image
from core.network import ActivationLayer, ConvLayer, Network, PoolLayer, run_network
from core.network.views import (
    GAP_COLOUR,
    GridLayout,
    filter_cell,
    filter_grid,
    layer_grid,
    layer_grids,
    source_window,
)
from resources import RESOURCES

ROOT = Path(__file__).resolve().parents[2]


def expected_colour(value: float, levels: tuple[float, float], colormap: str) -> tuple:
    """The LUT entry for one value, by the rule written out: 256 equal bins from low to high."""
    low, high = levels
    index = int(np.floor(256 * (value - low) / (high - low)))
    return tuple(COLORMAPS[colormap][min(max(index, 0), 255)])


def test_signed_map_is_tiled_row_major_on_one_symmetric_scale():
    rng = np.random.default_rng(1)
    data = rng.uniform(-3, 2, size=(4, 5, 7)).astype(np.float32)
    data[1, 2, 6] = -4.0  # the largest magnitude, in the last channel
    grid = layer_grid(data)

    assert grid.colormap == "coolwarm"  # signed -> diverging
    assert grid.levels == (-4.0, 4.0)  # symmetric around zero, from every channel
    layout = grid.layout
    # 7 cells of 4x5 closest to square: 3 columns, 3 rows; 1-px gaps.
    assert (layout.columns, layout.rows) == (3, 3)
    assert grid.rgb.shape == (3 * 4 + 2, 3 * 5 + 2, 3)
    assert grid.rgb.dtype == np.uint8 and grid.rgb.flags.c_contiguous
    for channel in range(7):
        top = (channel // 3) * 5  # pitch = cell + gap
        left = (channel % 3) * 6
        assert layout.cell_rect(channel) == (left, top, 5, 4)
        for r in range(4):
            for c in range(5):
                got = tuple(grid.rgb[top + r, left + c])
                assert got == expected_colour(data[r, c, channel], (-4.0, 4.0), "coolwarm")
    # Gaps between cells and the two unused cells of the last row are the gap colour.
    assert (grid.rgb[4, :] == GAP_COLOUR).all()
    assert (grid.rgb[:, 5] == GAP_COLOUR).all()
    assert (grid.rgb[10:, 6:] == GAP_COLOUR).all()


def test_non_negative_map_is_grey_from_min_to_max():
    data = np.zeros((3, 3, 2), np.float32)
    data[0, 0, 0] = 10.0
    data[1, 1, 1] = 1.0
    grid = layer_grid(data)
    assert grid.colormap == "gray" and grid.levels == (0.0, 10.0)
    # Shared scale: channel 1's brightest unit is a tenth as bright, not white.
    x, y, _, _ = grid.layout.cell_rect(1)
    assert tuple(grid.rgb[y + 1, x + 1]) == (25, 25, 25)
    assert tuple(grid.rgb[0, 0]) == (255, 255, 255)


def test_given_levels_and_colormap_are_used():
    data = np.full((2, 2, 1), 0.5, np.float32)
    grid = layer_grid(data, levels=(0.0, 1.0), colormap="viridis", columns=1)
    assert grid.levels == (0.0, 1.0) and grid.colormap == "viridis"
    assert tuple(grid.rgb[0, 0]) == tuple(COLORMAPS["viridis"][128])


def test_locate_inverts_the_tiling_pixel_by_pixel():
    data = np.arange(3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5)
    grid = layer_grid(data, columns=2)
    layout = grid.layout
    seen = set()
    height, width = layout.shape
    for py in range(height):
        for px in range(width):
            found = layout.locate(px + 0.5, py + 0.5)
            on_gap = tuple(grid.rgb[py, px]) == GAP_COLOUR
            if found is None:
                assert on_gap, (px, py)
                continue
            channel, row, col = found
            x, y, _, _ = layout.cell_rect(channel)
            assert (py - y, px - x) == (row, col)
            assert tuple(grid.rgb[py, px]) == expected_colour(
                data[row, col, channel], grid.levels, grid.colormap
            )
            seen.add(found)
    assert len(seen) == data.size  # every unit is reachable
    for outside in ((-0.5, 1), (1, -0.5), (width + 1, 1), (1, height + 3), (np.nan, 1)):
        assert layout.locate(*outside) is None
    with pytest.raises(IndexError):
        layout.cell_rect(5)


def test_max_side_shows_every_step_th_unit_and_locates_the_real_unit():
    rng = np.random.default_rng(2)
    data = rng.normal(size=(100, 60, 2)).astype(np.float32)
    data[99, 59, 1] = 50.0  # not sampled, but it still sets the levels
    grid = layer_grid(data, max_side=25)
    layout = grid.layout
    assert layout.step == 4 and layout.cell_shape == (25, 15)
    assert grid.levels == (-50.0, 50.0)
    x, y, _, _ = layout.cell_rect(1)
    assert layout.locate(x + 3.5, y + 2.5) == (1, 8, 12)
    assert tuple(grid.rgb[y + 2, x + 3]) == expected_colour(data[8, 12, 1], grid.levels, "coolwarm")


def test_a_vector_is_one_pixel_cells():
    vector = np.array([0.0, 1.0, 2.0, 3.0, 4.0], np.float32)
    grid = layer_grid(vector)
    assert grid.layout.count == 5 and grid.layout.cell_shape == (1, 1)
    x, y, w, h = grid.layout.cell_rect(3)
    assert (w, h) == (1, 1)
    assert grid.layout.locate(x + 0.5, y + 0.5) == (3, 0, 0)


@pytest.mark.parametrize(
    ("data", "kwargs"),
    [
        (np.zeros((0, 3, 2)), {}),
        (np.zeros((2, 2, 2, 2)), {}),
        (np.zeros((2, 2, 2)), {"columns": 0}),
        (np.zeros((2, 2, 2)), {"zoom": 0}),
    ],
)
def test_bad_arguments_raise_value_error(data, kwargs):
    with pytest.raises(ValueError):
        layer_grid(data, **kwargs)


def test_filters_are_enlarged_on_a_symmetric_scale_white_at_zero():
    weights = np.zeros((2, 1, 3, 3), np.float32)
    weights[0, 0, 0, :] = [1, 1, 1]
    weights[0, 0, 2, :] = [-1, -1, -1]
    weights[1, 0, 1, 1] = 0.5  # all positive: still on the symmetric scale
    layer = ConvLayer(weights, name="c")
    grid = filter_grid(layer)
    layout = grid.layout
    assert grid.colormap == "RdBu_r" and grid.levels == (-1.0, 1.0)
    assert layout.zoom == 8 and layout.cell_shape == (3, 3)
    assert layout.columns == 1  # two filters stack closest to square
    white = tuple(COLORMAPS["RdBu_r"][128])
    for channel in range(2):
        x, y, _, _ = layout.cell_rect(channel)
        for r in range(3):
            for c in range(3):
                block = grid.rgb[y + 8 * r : y + 8 * r + 8, x + 8 * c : x + 8 * c + 8]
                colour = expected_colour(weights[channel, 0, r, c], (-1.0, 1.0), "RdBu_r")
                assert (block == colour).all()
                assert layout.locate(x + 8 * c + 7.9, y + 8 * r) == (channel, r, c)
    x, y, _, _ = layout.cell_rect(0)
    assert tuple(grid.rgb[y + 8 + 3, x + 3]) == white  # a zero weight is white


def test_multi_channel_filters_put_one_filter_per_row():
    weights = np.arange(3 * 2 * 3 * 3, dtype=np.float32).reshape(3, 2, 3, 3) - 20
    layer = ConvLayer(weights, name="c")
    grid = filter_grid(layer)
    assert grid.layout.columns == 2 and grid.layout.rows == 3
    for cell in range(6):
        out_c, in_c = filter_cell(layer, cell)
        assert (out_c, in_c) == (cell // 2, cell % 2)
        x, y, _, _ = grid.layout.cell_rect(cell)
        colour = expected_colour(weights[out_c, in_c, 0, 0], grid.levels, "RdBu_r")
        assert tuple(grid.rgb[y, x]) == colour


def test_grids_of_a_real_network_on_the_digit():
    image = load_image(RESOURCES / "digit-7.png")
    rng = np.random.default_rng(3)
    network = Network(
        (
            ConvLayer(rng.normal(size=(8, 1, 3, 3)), padding="valid", name="conv1"),
            ActivationLayer("relu", name="relu1"),
            PoolLayer("max", 2, name="pool1"),
            ConvLayer(rng.normal(size=(16, 8, 3, 3)), padding="valid", name="conv2"),
        )
    )
    outputs = run_network(image, network)
    grids = layer_grids(outputs)
    assert [g.layout.count for g in grids] == [8, 8, 8, 16]
    assert [g.layout.cell_shape for g in grids] == [(26, 26), (26, 26), (13, 13), (11, 11)]
    assert grids[1].colormap == "gray"  # after ReLU nothing is negative
    assert grids[3].layout.columns == 4 and grids[3].rgb.shape == (4 * 12 - 1, 4 * 12 - 1, 3)
    # GridLayout is a plain value: equal layouts compare equal (a view can skip re-layout).
    assert grids[0].layout == GridLayout(8, (26, 26), 3)


def _read_units_by_perturbation(layer, before: np.ndarray, row: int, col: int):
    """Bounding box (top, left, h, w) of the units of ``before`` whose change moves output
    unit (row, col) of ``layer``: an independent check of source_window."""
    from core.network import run_layer

    base = run_layer(before, layer)[row, col]
    hits = []
    for r in range(before.shape[0]):
        for c in range(before.shape[1]):
            bumped = before.copy()
            bumped[r, c, :] += 100.0
            if not np.allclose(run_layer(bumped, layer)[row, col], base):
                hits.append((r, c))
    if not hits:
        return None
    rows, cols = zip(*hits, strict=True)
    return min(rows), min(cols), max(rows) - min(rows) + 1, max(cols) - min(cols) + 1


@pytest.mark.parametrize(
    "layer",
    [
        ConvLayer(np.ones((2, 3, 3, 3)), stride=2, padding="same", name="c"),
        ConvLayer(np.ones((1, 3, 3, 2)), padding="valid", name="c"),
        ConvLayer(np.ones((1, 3, 3, 3)), dilation=2, padding="full", name="c"),
        ConvLayer(np.ones((1, 3, 5, 5)), padding=1, stride=3, name="c"),
        PoolLayer("max", 3, 2, name="p"),
        ActivationLayer("tanh", name="a"),
    ],
)
def test_source_window_matches_perturbation(layer):
    from core.network import run_layer

    rng = np.random.default_rng(4)
    before = rng.uniform(0.1, 1.0, size=(9, 8, 3)).astype(np.float32)
    out = run_layer(before, layer)
    for row in range(out.shape[0]):
        for col in range(out.shape[1]):
            expected = _read_units_by_perturbation(layer, before, row, col)
            assert source_window(layer, before.shape[:2], row, col) == expected, (row, col)


def test_source_window_of_vector_layers_is_none():
    from core.network import FlattenLayer

    assert source_window(FlattenLayer(), (4, 4), 0, 0) is None
