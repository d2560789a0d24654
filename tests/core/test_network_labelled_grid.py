"""labelled_grid (the batch PNG and Export all): every map on one colour scale, as the
window's grid draws it, and a layout that finds the map pixel under a picture pixel."""

from __future__ import annotations

import numpy as np
import pytest

from core.display import apply_colormap, colormap_lut
from core.network.views import BACKGROUND, labelled_grid, layer_grid


def stack(shape, seed=0, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


@pytest.mark.parametrize(
    ("shape", "columns"), [((13, 13, 32), None), ((20, 30, 5), 2), ((7, 9, 1), None)]
)
def test_layout_finds_every_map_pixel_and_nothing_else(shape, columns):
    data = stack(shape)
    image, layout = labelled_grid(data, title="conv1", columns=columns)
    assert image.shape == (*layout.size, 3) and image.dtype == np.uint8
    found = np.zeros(shape, int)
    height, width = layout.size
    for y in range(height):
        for x in range(width):
            hit = layout.locate(y + 0.5, x + 0.5)
            if hit is None:
                continue
            found[hit[1], hit[2], hit[0]] += 1
    # every map pixel is drawn as a scale x scale square, and nothing else maps to a pixel
    np.testing.assert_array_equal(found, layout.scale**2)
    assert layout.locate(-1, 5) is None and layout.locate(5, 10**6) is None


def test_tiles_share_one_diverging_scale_when_signed():
    data = stack((6, 8, 3))
    data[:, :, 2] *= 0.1  # a weak map must look weak next to the others
    image, layout = labelled_grid(data, title="c", min_tile=1)
    assert layout.scale == 1
    # The same pixels as the window's grid of the layer (one grid module, one colour rule).
    window = layer_grid(data)
    for c in range(3):
        x, y, w, h = window.layout.cell_rect(c)
        top, left, _, _ = layout.tile_rect(c)
        np.testing.assert_array_equal(
            image[top : top + h, left : left + w], window.rgb[y : y + h, x : x + w]
        )
    assert layout.colormap == "coolwarm"
    m = float(np.abs(data).max())
    assert layout.levels == pytest.approx((-m, m))
    for c in range(3):
        top, left, h, w = layout.tile_rect(c)
        expected = apply_colormap(data[:, :, c], colormap_lut("coolwarm"), (-m, m))
        np.testing.assert_array_equal(image[top : top + h, left : left + w], expected)


def test_unsigned_maps_are_gray_and_small_maps_enlarged():
    data = stack((13, 13, 4), low=0.0, high=2.0)
    image, layout = labelled_grid(data, min_tile=48)
    assert layout.colormap == "gray" and layout.scale == 4
    top, left, h, w = layout.tile_rect(1)
    assert (h, w) == (52, 52)
    tile = image[top : top + h, left : left + w]
    expected = apply_colormap(data[:, :, 1], colormap_lut("gray"), layout.levels)
    np.testing.assert_array_equal(tile[::4, ::4], expected)
    np.testing.assert_array_equal(tile[3::4, 3::4], expected)


def test_labels_are_drawn_in_the_title_row_and_captions():
    data = stack((10, 10, 2))
    with_labels, layout = labelled_grid(data, title="pool1")
    plain, bare = labelled_grid(data, title=None, captions=False)
    assert layout.title_height > 0 and bare.title_height == 0 and bare.caption_height == 0
    title_row = with_labels[: layout.title_height]
    assert (title_row != BACKGROUND).any()  # text was drawn
    top, left, _, w = layout.tile_rect(1)
    caption = with_labels[top - layout.caption_height : top, left : left + w]
    assert (caption != BACKGROUND).any()
    assert with_labels.shape[0] > plain.shape[0]


def test_vectors_and_bad_shapes():
    image, layout = labelled_grid(np.arange(10, dtype=np.float32), title="fc")
    assert layout.channels == 1 and layout.map_shape == (1, 10)
    assert image.shape[1] >= 10 * layout.scale
    with pytest.raises(ValueError, match="map"):
        labelled_grid(np.zeros((2, 2, 2, 2), np.float32))
    with pytest.raises(IndexError):
        layout.tile_rect(1)
