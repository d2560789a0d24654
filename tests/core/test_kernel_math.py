"""The kernel editor's arithmetic, without Qt: typed weights, resizing, He-init, naming."""

from __future__ import annotations

import numpy as np
import pytest

from core.kernel_math import (
    WEIGHT_LIMIT,
    as_fraction,
    describe_weights,
    format_candidates,
    he_random_weights,
    identify,
    parse_number,
    resize_centred,
    sum_meaning,
)
from core.kernels import Kernel, preset


def test_parse_number():
    assert parse_number(" 1/9 ") == pytest.approx(1 / 9)
    assert parse_number("\u22120.5") == -0.5
    assert parse_number("0,25") == 0.25  # a decimal comma
    for bad in ("nan", "inf", "x", "1e9", "", "1/0"):
        with pytest.raises(ValueError):
            parse_number(bad)
    assert parse_number(str(WEIGHT_LIMIT)) == WEIGHT_LIMIT


def test_resize_centred_helper():
    grid = np.arange(9.0).reshape(3, 3)
    assert np.array_equal(resize_centred(grid, 1, 1), [[4.0]])
    assert resize_centred(grid, 15, 15)[7, 7] == 4.0
    assert np.array_equal(resize_centred(grid, 4, 4)[1:4, 1:4], grid)  # anchor (1,1) -> (2,2)
    assert np.array_equal(resize_centred(resize_centred(grid, 4, 4), 3, 3), grid)


def test_he_random_weights_follow_sqrt_2_over_fan_in():
    weights, std = he_random_weights((15, 15), np.random.default_rng(7))
    assert std == pytest.approx((2.0 / 225) ** 0.5)
    assert weights.shape == (15, 15)
    assert np.array_equal(weights, np.round(weights, 2))  # readable cells
    assert np.std(weights) == pytest.approx(std, rel=0.2)
    # The same seed gives the same filter: what a seeded generator drew, rounded.
    expected = np.round(np.random.default_rng(7).normal(0.0, std, size=(15, 15)), 2)
    assert np.array_equal(weights, expected)


def test_sum_meaning_hand_cases():
    assert "only to change" in sum_meaning(0.0)
    assert "keeps the overall brightness" in sum_meaning(1.0)
    assert "brightens flat areas 2x" in sum_meaning(2.0)
    assert "darkens flat areas to 0.5x" in sum_meaning(0.5)
    assert "inverts" in sum_meaning(-1.0)


def test_identify_names_presets_and_marks_edits():
    sobel = preset("sobel-x")
    named = identify(Kernel(sobel.weights.copy(), name="custom"))
    assert named.name == "sobel-x" and named.lesson == sobel.lesson
    weights = sobel.weights.copy()
    weights[1, 1] = 5.0
    edited = identify(sobel.with_weights(weights))
    assert edited.name == "custom"
    assert edited.lesson.startswith("Modified sobel-x: ")


def test_describe_weights_points_where_brightness_rises():
    # Sobel x: negative on the left, positive on the right.
    assert "towards the right" in describe_weights(preset("sobel-x"))
    box = Kernel(np.ones((3, 3)) / 9.0)
    assert "sum to 1" in describe_weights(box)


def test_fractions_and_short_spellings():
    assert as_fraction(0.0625) == "1/16"
    assert as_fraction(-1 / 9) == "-1/9"
    assert as_fraction(0.3) is None
    assert format_candidates(2.0) == ["2"]
    assert format_candidates(0.123456)[0] == "0.1235"
