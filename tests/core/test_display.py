"""core.display: colormap tables, display levels and the value -> colour mapping.

Expected levels come from np.percentile / np.min / np.max on the same data; expected colours from
the binning rule written out by hand (bin = floor((x - low) / (high - low) * N), clipped).
"""

from __future__ import annotations

import numpy as np
import pytest

from core.display import (
    COLORMAPS,
    DIVERGING,
    SEQUENTIAL,
    apply_colormap,
    colormap_lut,
    compute_levels,
    default_colormap,
    display_histogram,
    is_signed,
    lut_index,
    render,
)

# ------------------------------------------------------------------------------- colormaps


def test_every_listed_colormap_is_a_read_only_256x3_uint8_table() -> None:
    assert set(DIVERGING) | set(SEQUENTIAL) == set(COLORMAPS)
    assert not set(DIVERGING) & set(SEQUENTIAL)
    for name in COLORMAPS:
        lut = colormap_lut(name)
        assert lut.shape == (256, 3)
        assert lut.dtype == np.uint8
        with pytest.raises(ValueError, match="read-only"):
            lut[0, 0] = 1


def test_gray_is_the_identity_ramp() -> None:
    np.testing.assert_array_equal(colormap_lut("gray"), np.repeat(np.arange(256)[:, None], 3, 1))


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        # Published end points of matplotlib's maps, in RGB: catches a BGR mix-up.
        ("viridis", (68, 1, 84), (253, 231, 37)),
        ("magma", (0, 0, 4), (252, 253, 191)),
        ("inferno", (0, 0, 4), (252, 255, 164)),
    ],
)
def test_opencv_colormaps_are_rgb(name: str, first: tuple, last: tuple) -> None:
    lut = colormap_lut(name).astype(int)
    assert np.abs(lut[0] - first).max() <= 6
    assert np.abs(lut[-1] - last).max() <= 6


@pytest.mark.parametrize("name", DIVERGING)
def test_diverging_maps_run_blue_to_neutral_to_red(name: str) -> None:
    lut = colormap_lut(name).astype(int)
    red, blue = 0, 2
    assert lut[0, blue] > lut[0, red] + 60
    assert lut[-1, red] > lut[-1, blue] + 60
    centre = lut[128]
    assert centre.max() - centre.min() <= 2  # a neutral grey/white
    assert centre.min() >= 200
    # Lightness rises towards the centre from both ends.
    lightness = lut.sum(axis=1)
    assert np.all(np.diff(lightness[:129]) >= -1)
    assert np.all(np.diff(lightness[128:]) <= 1)


def test_coolwarm_centre_is_morelands_grey() -> None:
    np.testing.assert_array_equal(colormap_lut("coolwarm")[128], (221, 221, 221))


def test_unknown_colormap_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="coolwarm") as info:
        colormap_lut("jet")
    assert "'jet'" in str(info.value)


def test_default_colormap() -> None:
    assert default_colormap(True) == "coolwarm"
    assert default_colormap(False) == "gray"
    assert default_colormap(True) in DIVERGING
    assert default_colormap(False) in SEQUENTIAL


# ----------------------------------------------------------------------------------- levels


def test_is_signed() -> None:
    assert is_signed(np.array([0.0, -1e-9]))
    assert is_signed(np.array([np.nan, -np.inf, 1.0]))
    assert not is_signed(np.array([0.0, 2.0, np.nan, np.inf]))
    assert not is_signed(np.zeros((3, 3)))
    assert not is_signed(np.array([], np.float32))


def test_signed_data_gets_symmetric_levels_from_the_largest_magnitude() -> None:
    assert compute_levels(np.array([-2.0, 1.0, 0.5])) == (-2.0, 2.0)
    assert compute_levels(np.array([[-1.0, 3.0], [0.0, 0.0]])) == (-3.0, 3.0)


def test_non_negative_data_gets_min_max() -> None:
    assert compute_levels(np.array([1.0, 5.0, 3.0], np.float32)) == (1.0, 5.0)
    assert compute_levels(np.array([0, 200, 17], np.uint8)) == (0.0, 200.0)


def test_forcing_signedness() -> None:
    assert compute_levels(np.array([1.0, 4.0]), signed=True) == (-4.0, 4.0)
    assert compute_levels(np.array([-1.0, 4.0]), signed=False) == (-1.0, 4.0)
    assert compute_levels(np.zeros(4), signed=True) == (-1.0, 1.0)


@pytest.mark.parametrize("percentile", [1.0, 5.0, 0.0])
def test_robust_levels_match_np_percentile(percentile: float) -> None:
    rng = np.random.default_rng(0)
    positive = rng.gamma(2.0, size=(120, 150)).astype(np.float32)
    positive[0, :5] = 1e6  # outliers that would wash out min/max levels
    low, high = compute_levels(positive, mode="robust", percentile=percentile)
    expected = np.percentile(positive, [percentile, 100 - percentile])
    np.testing.assert_allclose((low, high), expected, rtol=1e-6)

    signed = rng.standard_normal((120, 150)).astype(np.float32)
    signed[5, 5] = -1e6
    m = np.percentile(np.abs(signed), 100 - percentile)
    np.testing.assert_allclose(
        compute_levels(signed, mode="robust", percentile=percentile), (-m, m), rtol=1e-6
    )


def test_robust_levels_on_a_12_megapixel_frame_are_close_to_the_full_percentiles() -> None:
    frame = np.random.default_rng(1).standard_normal((3000, 4000), dtype=np.float32)
    m = np.percentile(np.abs(frame), 99)
    low, high = compute_levels(frame, mode="robust")
    assert low == -high
    assert high == pytest.approx(m, rel=0.02)


def test_robust_levels_fall_back_when_the_percentiles_collapse() -> None:
    mostly_zero = np.zeros(10_000)
    mostly_zero[:3] = -5.0
    mostly_zero[3] = 2.0
    assert compute_levels(mostly_zero, mode="robust") == (-5.0, 5.0)

    steps = np.zeros(10_000)
    steps[:5] = 9.0
    assert compute_levels(steps, mode="robust") == (0.0, 9.0)


def test_nan_and_inf_are_ignored() -> None:
    data = np.array([np.nan, 0.5, np.inf, 2.0, -np.inf, np.nan])
    assert compute_levels(data, signed=False) == (0.5, 2.0)
    assert compute_levels(data) == (-2.0, 2.0)  # -inf makes it signed
    assert compute_levels(data, mode="robust", percentile=0.0, signed=False) == (0.5, 2.0)


def test_robust_levels_when_the_subsample_misses_the_finite_values() -> None:
    sparse = np.full((2000, 2000), np.nan, np.float32)
    sparse[1, 1] = -3.0  # off the subsampling grid of a 4-megapixel frame
    sparse[1, 2] = 2.0
    assert compute_levels(sparse, mode="robust") == (-3.0, 3.0)
    sparse[1, 1] = 0.5
    assert compute_levels(sparse, mode="robust") == (0.5, 2.0)


@pytest.mark.parametrize(
    "data",
    [
        np.array([], np.float32),
        np.full((4, 4), np.nan, np.float32),
        np.array([np.inf, -np.inf, np.nan]),
    ],
)
@pytest.mark.parametrize("mode", ["auto", "robust"])
def test_no_finite_values_give_unit_levels(data: np.ndarray, mode: str) -> None:
    assert compute_levels(data, mode=mode) == (0.0, 1.0)


@pytest.mark.parametrize("value", [0.0, 0.3, -2.0, 255.0, 1e20])
@pytest.mark.parametrize("mode", ["auto", "robust"])
def test_constant_data_gives_a_valid_range_around_the_value(value: float, mode: str) -> None:
    low, high = compute_levels(np.full((5, 5), value, np.float64), mode=mode)
    assert np.isfinite([low, high]).all()
    assert low < high
    assert low <= value <= high


def test_all_zero_data_looks_black() -> None:
    assert compute_levels(np.zeros((8, 8), np.float32)) == (0.0, 1.0)


def test_level_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="mode"):
        compute_levels(np.ones(3), mode="fancy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="percentile"):
        compute_levels(np.ones(3), mode="robust", percentile=50)


# ---------------------------------------------------------------------------- colour mapping


def test_bins_are_floor_of_the_scaled_value() -> None:
    low, high = -3.0, 5.0
    bins = np.arange(256)
    centres = low + (bins + 0.5) * (high - low) / 256  # middle of each bin
    lut = colormap_lut("viridis")
    out = apply_colormap(centres.reshape(16, 16).astype(np.float32), lut, (low, high))
    assert out.shape == (16, 16, 3)
    assert out.dtype == np.uint8
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out.reshape(256, 3), lut[bins])


def test_levels_hit_the_lut_ends_and_values_beyond_are_clipped() -> None:
    lut = colormap_lut("magma")
    data = np.array([[2.0, 10.0, -50.0, 1e30, np.inf, -np.inf, np.nan]], np.float32)
    out = apply_colormap(data, lut, (2.0, 10.0))
    expected = lut[[0, 255, 0, 255, 255, 0, 0]]
    np.testing.assert_array_equal(out[0], expected)


def test_zero_maps_to_the_middle_of_the_lut_with_symmetric_levels() -> None:
    lut = colormap_lut("coolwarm")
    for m in (1.0, 0.1, 3.7, 1e-7, 12345.678, float(np.float32(0.3))):
        data = np.array([[0.0, -m, m]], np.float32)
        out = apply_colormap(data, lut, (-m, m))
        np.testing.assert_array_equal(out[0], lut[[128, 0, 255]])


@pytest.mark.parametrize("count", [256, 17])
@pytest.mark.parametrize(
    "levels", [(-3.0, 5.0), (0.0, 1.0), (-0.02, 0.02), (100.0, 100.5), (10000.0, 10001.0)]
)
def test_lut_index_is_the_floor_rule_except_right_on_an_edge(count, levels) -> None:
    low, high = levels
    rng = np.random.default_rng(7)
    span = high - low
    data = rng.uniform(low - 0.2 * span, high + 0.2 * span, (300, 200)).astype(np.float32)
    position = (data.astype(np.float64) - low) / span * count
    expected = np.clip(np.floor(position), 0, count - 1).astype(np.uint8)
    index = lut_index(data, levels, count)
    assert index.dtype == np.uint8 and index.shape == data.shape and index.flags.c_contiguous
    off = index != expected
    # Only values within float32 rounding of a bin edge may land in the bin below.
    assert np.all(np.abs(position[off] - np.round(position[off])) < 1e-3)
    assert np.all(expected[off] - index[off] == 1)
    assert off.mean() < 0.01


def test_lut_index_handles_values_far_beyond_the_levels_and_non_finite_ones() -> None:
    # Far beyond: scaled past 2**31, where OpenCV's 8-bit conversion would wrap around.
    data = np.array([[1e12, -1e12, 3e9, np.inf, -np.inf, np.nan, 0.5]], np.float32)
    np.testing.assert_array_equal(lut_index(data, (0.0, 1.0)), [[255, 0, 255, 255, 0, 0, 128]])
    finite = np.array([[1e12, -1e12, 3e9, 0.5]], np.float32)
    np.testing.assert_array_equal(lut_index(finite, (0.0, 1.0)), [[255, 0, 255, 128]])


def test_display_histogram_counts_a_200x200_sample_of_the_finite_values() -> None:
    data = np.random.default_rng(1).normal(size=(1000, 800)).astype(np.float32)
    data[0, 0] = np.nan
    x, counts = display_histogram(data)
    sample = data[::5, ::4]
    finite = sample[np.isfinite(sample)]
    assert counts.sum() == finite.size == 200 * 200 - 1
    assert len(x) == len(counts) == 500
    assert x[0] == finite.min()
    np.testing.assert_array_equal(counts, np.histogram(finite, 500)[0])
    extreme = np.array([[3e38, -3e38], [0.0, 1.0]], np.float32)  # the span overflows float32
    x, counts = display_histogram(extreme)
    assert counts.sum() == 4 and counts[0] == 1 and counts[-1] == 1
    small = np.array([[0, 3, 3], [250, 3, 0]], np.uint8)  # uint8: one bin per value
    x, counts = display_histogram(small)
    assert x[0] == 0 and x[-1] == 250 and counts[3] == 3 and counts.sum() == 6


def test_short_lut() -> None:
    lut = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8)
    data = np.array([[0.1, 0.3, 0.6, 0.9, 1.0, 7.0]])
    out = apply_colormap(data, lut, (0.0, 1.0))
    np.testing.assert_array_equal(out[0], lut[[0, 1, 2, 3, 3, 3]])


def test_colour_data_maps_each_channel_linearly_without_the_lut() -> None:
    data = np.zeros((1, 4, 3), np.float32)
    data[0, :, 0] = (0.0, 0.5, 1.0, 2.0)  # red: levels 0..1 -> 0..255, clipped
    data[0, :, 1] = (-1.0, 0.25, np.nan, 0.999)
    out = apply_colormap(data, colormap_lut("coolwarm"), (0.0, 1.0))
    assert out.shape == (1, 4, 3)
    np.testing.assert_array_equal(out[0, :, 0], [0, 127, 255, 255])
    np.testing.assert_array_equal(out[0, :, 1], [0, 63, 0, 254])
    np.testing.assert_array_equal(out[0, :, 2], [0, 0, 0, 0])


@pytest.mark.parametrize("levels", [(1.0, 1.0), (2.0, 1.0), (0.0, np.nan), (-np.inf, 1.0)])
def test_bad_levels_are_refused(levels: tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="levels"):
        apply_colormap(np.zeros((2, 2)), colormap_lut("gray"), levels)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="shape"):
        apply_colormap(np.zeros((2, 2, 4)), colormap_lut("gray"), (0, 1))
    with pytest.raises(ValueError, match="LUT"):
        apply_colormap(np.zeros((2, 2)), np.zeros((300, 3), np.uint8), (0, 1))
    with pytest.raises(ValueError, match="uint8"):
        apply_colormap(np.zeros((2, 2)), np.linspace(0, 1, 768).reshape(256, 3), (0, 1))


def test_render_picks_the_colormap_and_levels_by_sign() -> None:
    signed = np.array([[-4.0, 0.0, 4.0, 1.0]], np.float32)
    out = render(signed)
    coolwarm = colormap_lut("coolwarm")
    np.testing.assert_array_equal(out[0, :3], coolwarm[[0, 128, 255]])

    positive = np.array([[1.0, 3.0, 5.0]], np.float32)
    gray = render(positive)
    np.testing.assert_array_equal(gray[0], [[0, 0, 0], [128, 128, 128], [255, 255, 255]])


def test_render_with_explicit_colormap_and_levels() -> None:
    data = np.array([[0.0, 0.5, 1.0, 2.0]], np.float32)
    out = render(data, colormap="viridis", levels=(0.0, 2.0))
    np.testing.assert_array_equal(out[0], colormap_lut("viridis")[[0, 64, 128, 255]])


def test_render_robust_ignores_outliers() -> None:
    data = np.linspace(0.0, 1.0, 10_000, dtype=np.float32).reshape(100, 100)
    data[0, 0] = 1000.0
    out = render(data, levels="robust")
    assert out[99, 99].tolist() == [255, 255, 255]  # 1.0 is above the 99th percentile
    assert 100 < out[50, 50, 0] < 155  # the middle value sits mid-grey, not black


def test_render_colour_data() -> None:
    rgb = np.zeros((2, 2, 3), np.float32)
    rgb[0, 0] = (1.0, 0.5, 0.0)
    out = render(rgb)
    np.testing.assert_array_equal(out[0, 0], [255, 127, 0])
    np.testing.assert_array_equal(out[1, 1], [0, 0, 0])
