"""Qt-free helpers of the Train view: the fixed filter scale, confusion picture, overlays,
training history and its CSV, and the cancellable data loading."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from core.display import apply_colormap, colormap_lut
from core.network import ConvLayer, Network, run_network
from core.nn.history import TrainingHistory
from core.nn.train_data import Cancelled, load_data
from core.nn.train_views import (
    confusion_picture,
    filter_scale,
    filter_thumbnails,
    first_layer_maps,
    heat_overlay,
)


def conv(largest: float) -> ConvLayer:
    weights = np.zeros((4, 1, 3, 3), np.float32)
    weights[0, 0, 1, 1] = largest
    weights[1, 0, 0, 0] = -largest / 2
    return ConvLayer(weights, name="c")


def test_filter_scale_starts_with_headroom_and_only_grows():
    assert filter_scale(conv(0.11)) == pytest.approx(0.3)  # 2 x 0.11 = 0.22, read as 0.3
    assert filter_scale(conv(0.26), previous=0.3) == 0.3  # still fits: unchanged
    assert filter_scale(conv(0.05), previous=0.3) == 0.3  # never shrinks
    assert filter_scale(conv(0.42), previous=0.3) == pytest.approx(0.5)  # outgrown: grows


def test_filter_thumbnails_use_the_given_scale_not_the_weights():
    small, large = filter_thumbnails(conv(0.1), 1.0), filter_thumbnails(conv(0.5), 1.0)
    assert small.levels == large.levels == (-1.0, 1.0)
    lut = colormap_lut(small.colormap)
    # Filter 0's centre weight: drawn with the colour its value has on the fixed scale.
    x, y, w, h = small.layout.cell_rect(0)
    centre = (y + h // 2, x + w // 2)
    expected = apply_colormap(np.float32([[0.1]]), lut, (-1.0, 1.0))[0, 0]
    np.testing.assert_array_equal(small.rgb[centre], expected)
    assert not np.array_equal(small.rgb[centre], large.rgb[centre])


def test_first_layer_maps_are_the_activation_after_the_first_conv():
    from core.nn.presets import preset_network

    network = preset_network("default", seed=1)
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 13:15] = 255
    output, grid = first_layer_maps(network, digit)
    reference = run_network(digit / np.float32(255), Network(network.layers[:2]))[-1].map
    assert output.name == "relu1"
    np.testing.assert_allclose(output.map, reference, rtol=1e-6)
    assert grid.layout.count == 8


def test_confusion_picture_colours_each_row_by_its_share_and_writes_the_counts():
    confusion = np.zeros((10, 10), np.int64)
    confusion[np.arange(10), np.arange(10)] = 50
    confusion[3, 5] = 50  # half the threes taken for fives
    cell = 36
    rgb = confusion_picture(confusion, cell)
    lut = colormap_lut("viridis")
    assert rgb.shape == (360, 360, 3) and rgb.dtype == np.uint8

    def corner(r: int, c: int) -> np.ndarray:  # inside the cell, away from text and lines
        return rgb[r * cell + 3, c * cell + 3]

    np.testing.assert_array_equal(corner(0, 0), lut[-1])  # all of row 0 on the diagonal
    np.testing.assert_array_equal(corner(0, 1), lut[0])  # none
    half = apply_colormap(np.float32([[np.sqrt(0.5)]]), lut, (0.0, 1.0))[0, 0]
    np.testing.assert_array_equal(corner(3, 5), half)  # an even split
    np.testing.assert_array_equal(corner(3, 3), half)

    def block(r: int, c: int) -> np.ndarray:
        return rgb[r * cell + 1 : (r + 1) * cell, c * cell + 1 : (c + 1) * cell]

    # A count is written where there is one; an empty cell is plain.
    assert len(np.unique(block(3, 5).reshape(-1, 3), axis=0)) > 2
    assert len(np.unique(block(0, 1).reshape(-1, 3), axis=0)) == 1


def test_heat_overlay_leaves_the_digit_where_there_is_no_heat():
    digit = np.linspace(0, 1, 28 * 28, dtype=np.float32).reshape(28, 28)
    heat = np.zeros((28, 28), np.float32)
    heat[10, 10] = 1.0
    out = heat_overlay(digit, heat, alpha=0.6)
    gray = (digit * 255 + 0.5).astype(np.uint8)
    mask = heat == 0
    np.testing.assert_array_equal(out[mask], np.repeat(gray[mask][:, None], 3, axis=1))
    top = colormap_lut("inferno")[-1].astype(np.float32)
    expected = 0.4 * digit[10, 10] * 255 + 0.6 * top
    np.testing.assert_allclose(out[10, 10], expected, atol=1)


def test_history_smoothing_and_csv():
    history = TrainingHistory()
    loss = np.arange(1, 31, dtype=float)
    history.add_steps(np.arange(1, 31) * 10, loss, np.full(30, 0.5))
    history.add_test(300, 0.9)
    smoothed = history.smoothed(history.loss, window=4)
    for i in range(30):  # trailing mean, by an explicit loop
        window = loss[max(0, i - 3) : i + 1]
        assert smoothed[i] == pytest.approx(window.mean())
    rows = list(csv.DictReader(io.StringIO(history.to_csv())))
    assert len(rows) == 30 and rows[0]["examples"] == "10" and rows[-1]["examples"] == "300"
    assert [r["test_accuracy"] for r in rows].count("") == 29 and rows[-1]["test_accuracy"] == "0.9"
    # A second run continues the curve.
    history.start_run()
    history.add_steps(np.array([10]), np.array([0.1]), np.array([1.0]))
    assert history.examples[-1] == 310


def test_synthetic_loading_stops_when_told():
    with pytest.raises(Cancelled):
        load_data("synthetic", should_stop=lambda: True)
