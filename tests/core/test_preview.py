"""core.preview: what a pane is handed (display copy, levels, stats, histogram).

References: block means written with numpy reshapes, numpy's own min/max/mean, and
scipy.signal.correlate2d for the layer itself.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import correlate2d

from core.kernels import Kernel
from core.pipeline import PipelineSettings
from core.preview import (
    MAX_DISPLAY_PIXELS,
    fit_working_size,
    make_view,
    process_for_display,
    reduce_for_display,
    tidy,
)


def test_small_maps_are_shown_as_they_are():
    data = np.random.default_rng(0).normal(size=(300, 200)).astype(np.float64)
    reduced = reduce_for_display(data)
    assert reduced.dtype == np.float32 and reduced.flags.c_contiguous
    np.testing.assert_array_equal(reduced, data.astype(np.float32))


def test_large_maps_become_block_means_of_at_most_a_megapixel():
    data = np.random.default_rng(1).random((3000, 2100)).astype(np.float32)  # 6.3 MP
    reduced = reduce_for_display(data)
    assert reduced.size <= MAX_DISPLAY_PIXELS
    assert reduced.shape == (1000, 700)  # every 3x3 block, averaged
    blocks = data.reshape(1000, 3, 700, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(reduced, blocks, atol=1e-5)


def test_view_stats_and_levels_come_from_the_full_map():
    rng = np.random.default_rng(2)
    data = rng.normal(0.2, 1.0, (2100, 1700)).astype(np.float32)
    data[5, 7] = -9.0  # an extreme that block means would soften
    view = make_view(data)
    assert view.minimum == pytest.approx(float(data.min()))
    assert view.maximum == pytest.approx(float(data.max()))
    assert view.mean == pytest.approx(float(data.mean(dtype=np.float64)), abs=1e-5)
    assert view.signed
    assert view.levels == pytest.approx((-9.0, 9.0))  # symmetric around 0
    x, counts = view.histogram
    assert counts.sum() > 20_000 and x[0] < 0  # a ~200x200 sample of the display copy


def test_nan_is_left_out_of_the_stats_and_inf_is_reported():
    data = np.linspace(0.0, 1.0, 10_000, dtype=np.float32).reshape(100, 100)
    data[0, 0] = np.nan
    data[1, 1] = np.inf
    view = make_view(data)
    assert view.minimum == pytest.approx(float(data[np.isfinite(data)].min()))
    assert view.maximum == np.inf  # there is one: the stats line says so
    assert view.magnitude == pytest.approx(view.minimum)  # of the finite extremes
    assert not view.signed
    low, high = view.levels
    assert np.isfinite(low) and np.isfinite(high) and high > low


def test_rounding_noise_reads_as_zero_but_small_real_values_do_not():
    # Horizontal lines over a flat 110/255: float32 leaves a little noise, the lesson says 0.
    flat = np.full((20, 20), 110 / 255, np.float32)
    flat[10:, :] = 0.9  # one edge, so the map has a real magnitude
    kernel = Kernel(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -1.0, -1.0]]))
    processed = process_for_display(flat, kernel, PipelineSettings(pool_mode="none"))
    conv = processed.result.conv
    assert 0 < abs(float(conv[3, 5])) < 1e-6  # the noise is there in the raw values...
    assert tidy(float(conv[3, 5]), processed.conv.magnitude) == 0.0  # ...and read as 0
    assert tidy(1e-4, 1.0) == 1e-4 and tidy(-3e-9, 1e-8) == -3e-9  # real values stay
    view = make_view(np.array([[1.0, -1.0, 2.0e-8]], np.float32))
    assert "mean 0 " in view.stats_text + " "


def test_process_for_display_runs_the_layer_against_scipy():
    rng = np.random.default_rng(3)
    image = rng.random((40, 50)).astype(np.float32)
    weights = rng.normal(size=(3, 3))
    settings = PipelineSettings(padding="valid", activation="none", pool_mode="none")
    processed = process_for_display(image, Kernel(weights), settings)
    expected = correlate2d(image.astype(np.float64), weights, mode="valid")
    np.testing.assert_allclose(processed.result.conv, expected, atol=1e-5)
    np.testing.assert_allclose(processed.conv.data, expected, atol=1e-5)
    assert processed.seconds >= 0


def test_huge_inputs_are_downscaled_with_a_note():
    image = np.zeros((1000, 1000), np.float32)
    same, note = fit_working_size(image, max_pixels=1_000_000)
    assert same is image and note == ""
    small, note = fit_working_size(image, max_pixels=250_000)
    assert small.shape == (500, 500)
    assert "1000x1000" in note and "500x500" in note


def test_the_view_carries_the_map_as_drawn_at_its_levels():
    from core.display import COLORMAPS, apply_colormap, lut_index

    data = np.random.default_rng(4).normal(size=(60, 80)).astype(np.float32)
    view = make_view(data)
    np.testing.assert_array_equal(view.pixels, lut_index(view.data, view.levels))
    rgb = np.random.default_rng(5).random((60, 80, 3)).astype(np.float32)
    view = make_view(rgb, levels=(0.0, 1.0))
    assert view.levels == (0.0, 1.0)
    expected = apply_colormap(rgb, COLORMAPS["gray"], (0.0, 1.0))
    np.testing.assert_array_equal(view.pixels, expected)
    assert make_view(data, histogram=False, pixels=False).pixels is None
