"""One CNN layer end to end, and the geometry that places its outputs over the input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.kernels import Kernel, preset
from core.pipeline import (
    PaneGeometry,
    PipelineSettings,
    compute_geometry,
    run_pipeline,
)

HORIZONTAL = preset("horizontal-lines")


def random_image(shape, seed=0):
    return np.random.default_rng(seed).uniform(size=shape).astype(np.float32)


# ------------------------------------------------------------------------------ lecture shapes


def test_lecture_200x200_with_horizontal_lines():
    result = run_pipeline(random_image((200, 200)), HORIZONTAL, PipelineSettings())
    assert result.conv.shape == (200, 200)
    assert result.activated.shape == (200, 200)
    assert result.pooled.shape == (100, 100)
    assert result.geometry.conv.shape == (200, 200)
    assert result.geometry.pooled.shape == (100, 100)
    assert (result.activated >= 0).all()  # default activation is ReLU
    for array in (result.conv, result.activated, result.pooled):
        assert array.dtype == np.float32


def test_lecture_28x28_digit_valid():
    settings = PipelineSettings(padding="valid", pool_size=2)
    result = run_pipeline(random_image((28, 28)), HORIZONTAL, settings)
    assert result.conv.shape == (26, 26)
    assert result.pooled.shape == (13, 13)
    assert result.geometry.conv.shape == (26, 26)
    assert result.geometry.pooled.shape == (13, 13)


def test_lecture_lines_image_end_to_end():
    image = np.zeros((20, 20), np.float32)
    image[5, 2:10] = 1  # horizontal line
    image[8:18, 14] = 1  # vertical line
    result = run_pipeline(image, HORIZONTAL, PipelineSettings())
    # ReLU keeps the positive response just below the horizontal line...
    np.testing.assert_array_equal(result.activated[6, 3:9], 3)
    # ... and the vertical line is gone inside.
    np.testing.assert_array_equal(result.activated[9:17, 12:17], 0)
    np.testing.assert_array_equal(result.pooled[3, 1:4], 3)  # rows 6-7 pooled into row 3


def test_no_pooling():
    result = run_pipeline(random_image((9, 9)), HORIZONTAL, PipelineSettings(pool_mode="none"))
    assert result.pooled is None
    assert result.geometry.pooled is None


# ------------------------------------------------------------------------------- bias, activation


def test_bias_is_added_before_activation():
    image = np.array([[0.2, 0.7], [1.0, 0.4]], np.float32)
    kernel = Kernel(preset("identity").weights, bias=-0.5)
    settings = PipelineSettings(activation="relu", pool_mode="max", pool_size=2)
    result = run_pipeline(image, kernel, settings)
    # conv + bias = [[-0.3, 0.2], [0.5, -0.1]]; ReLU afterwards zeroes the negatives.
    np.testing.assert_allclose(result.conv, [[-0.3, 0.2], [0.5, -0.1]], atol=1e-6)
    np.testing.assert_allclose(result.activated, [[0, 0.2], [0.5, 0]], atol=1e-6)
    np.testing.assert_allclose(result.pooled, [[0.5]], atol=1e-6)
    # (Had the bias been added after ReLU, the zeros would read -0.5.)


def test_bias_with_sigmoid_hand_value():
    image = np.zeros((3, 3), np.float32)
    kernel = Kernel(np.ones((3, 3)), bias=2.0)
    result = run_pipeline(image, kernel, PipelineSettings(activation="sigmoid", pool_mode="none"))
    np.testing.assert_allclose(result.activated, 1 / (1 + np.exp(-2.0)), rtol=1e-6)


def test_scale_is_applied():
    image = np.ones((5, 5), np.float32)
    kernel = Kernel(np.ones((3, 3)), scale=1 / 9)
    result = run_pipeline(image, kernel, PipelineSettings(padding="valid", pool_mode="none"))
    np.testing.assert_allclose(result.conv, 1.0, rtol=1e-6)


def test_flip_setting_flips_the_kernel():
    image = random_image((7, 8), seed=1)
    weights = np.array([[1, 2, 0], [0, 0, 0], [0, 0, -3]], dtype=np.float64)
    plain = run_pipeline(image, Kernel(weights), PipelineSettings(activation="none"))
    flipped = run_pipeline(
        image, Kernel(weights[::-1, ::-1].copy()), PipelineSettings(activation="none", flip=True)
    )
    np.testing.assert_allclose(plain.conv, flipped.conv, atol=1e-6)


# ---------------------------------------------------------------------------------- colour modes


def test_colour_mode_shapes():
    rgb = random_image((12, 10, 3), seed=2)
    gray = run_pipeline(rgb, HORIZONTAL, PipelineSettings(color="gray"))
    per_channel = run_pipeline(rgb, HORIZONTAL, PipelineSettings(color="per-channel"))
    summed = run_pipeline(rgb, HORIZONTAL, PipelineSettings(color="rgb"))
    assert gray.image.shape == (12, 10) and gray.conv.shape == (12, 10)
    assert gray.pooled.shape == (6, 5)
    assert per_channel.image.shape == (12, 10, 3)
    assert per_channel.conv.shape == (12, 10, 3) and per_channel.pooled.shape == (6, 5, 3)
    assert summed.conv.shape == (12, 10) and summed.pooled.shape == (6, 5)
    # Geometry depends on the spatial shape only.
    assert gray.geometry == per_channel.geometry == summed.geometry


def test_colour_modes_values():
    rgb = random_image((6, 7, 3), seed=3)
    identity = preset("identity")
    settings = {"activation": "none", "pool_mode": "none"}
    gray = run_pipeline(rgb, identity, PipelineSettings(color="gray", **settings))
    per_channel = run_pipeline(rgb, identity, PipelineSettings(color="per-channel", **settings))
    summed = run_pipeline(rgb, identity, PipelineSettings(color="rgb", **settings))
    np.testing.assert_allclose(gray.conv, rgb @ [0.299, 0.587, 0.114], atol=1e-5)
    np.testing.assert_allclose(per_channel.conv, rgb, atol=1e-6)
    np.testing.assert_allclose(summed.conv, rgb.sum(axis=2), atol=1e-5)


def test_rgba_input_uses_the_rgb_channels():
    rgba = random_image((6, 6, 4), seed=4)
    result = run_pipeline(rgba, HORIZONTAL, PipelineSettings(color="per-channel"))
    assert result.conv.shape == (6, 6, 3)


@pytest.mark.parametrize("color", ["per-channel", "rgb"])
def test_colour_modes_on_a_gray_image(color):
    result = run_pipeline(random_image((8, 8)), HORIZONTAL, PipelineSettings(color=color))
    assert result.conv.shape == (8, 8)
    assert result.pooled.shape == (4, 4)


def test_pipeline_does_not_modify_the_input():
    image = random_image((8, 8), seed=5)
    copy = image.copy()
    run_pipeline(image, Kernel(np.ones((3, 3)), bias=1.0), PipelineSettings(activation="none"))
    np.testing.assert_array_equal(image, copy)


@pytest.mark.parametrize(
    "options",
    [{"border": "mirror"}, {"activation": "softmax"}, {"pool_mode": "median"}, {"color": "hsv"}],
)
def test_bad_settings(options):
    with pytest.raises(ValueError):
        PipelineSettings(**options)


def test_settings_are_immutable():
    settings = PipelineSettings()
    with pytest.raises(AttributeError):
        settings.stride = 2  # type: ignore[misc]
    assert settings.effective_pool_stride == 2
    assert PipelineSettings(pool_size=3, pool_stride=1).effective_pool_stride == 1


# -------------------------------------------------------------------------------------- geometry


def geometry(shape=(20, 30), kernel=(3, 3), **options):
    return compute_geometry(shape, kernel, PipelineSettings(**options))


def test_same_3x3_covers_the_input():
    g = geometry(padding="same")
    assert g.conv.rect == (0, 0, 30, 20)
    assert g.conv.origin == (0, 0)
    assert g.conv.step == 1
    assert g.conv.field_origin == (-1, -1)
    assert g.input_shape == (20, 30)


def test_valid_3x3_starts_at_1_1():
    g = geometry(padding="valid")
    assert g.conv.origin == (1, 1)
    assert g.conv.rect == (1, 1, 28, 18)
    assert g.conv.shape == (18, 28)


def test_stride_2_doubles_the_step():
    g = geometry(padding="same", stride=2)
    assert g.conv.step == 2
    assert g.conv.shape == (10, 15)
    assert g.conv.rect[2:] == (30, 20)
    g = geometry(padding="valid", stride=2)  # 18 valid positions -> 9 outputs
    assert g.conv.step == 2 and g.conv.shape == (9, 14)


@pytest.mark.parametrize(
    ("stride", "pool_size", "pool_stride"), [(1, 2, None), (2, 2, None), (3, 2, 1), (2, 3, 2)]
)
def test_pooled_step_is_product_of_strides(stride, pool_size, pool_stride):
    g = geometry(shape=(40, 40), stride=stride, pool_size=pool_size, pool_stride=pool_stride)
    assert g.pooled.step == stride * (pool_size if pool_stride is None else pool_stride)


def test_receptive_field_valid_3x3():
    g = geometry(padding="valid")
    for i, j in [(0, 0), (5, 7), (17, 27)]:
        assert g.conv.receptive_field(i, j) == (i, j, 3, 3)


def test_receptive_field_same_3x3_reaches_into_padding():
    g = geometry(padding="same")
    assert g.conv.receptive_field(0, 0) == (-1, -1, 3, 3)
    assert g.conv.receptive_field(19, 29) == (18, 28, 3, 3)


def test_pooled_field_after_3x3_stride_1():
    g = geometry(padding="valid", pool_size=2)
    assert g.pooled.field == (4, 4)
    assert g.pooled.receptive_field(0, 0) == (0, 0, 4, 4)
    assert g.pooled.receptive_field(1, 2) == (2, 4, 4, 4)
    assert g.pooled.origin == (1, 1)  # centred on its 4x4 field, drawn 2x2


def test_dilation_widens_the_field():
    g = geometry(padding="valid", dilation=2)
    assert g.conv.field == (5, 5)
    assert g.conv.shape == (16, 26)


def test_even_kernel_same_origin_at_half_pixel():
    g = geometry(kernel=(2, 2), padding="same")
    assert g.conv.origin == (0.5, 0.5)
    assert g.conv.field_origin == (0, 0)  # Keras puts the extra padding after
    assert g.conv.receptive_field(19, 29) == (19, 29, 2, 2)  # reaches the bottom/right pad


def test_non_square_kernel_geometry():
    g = geometry(kernel=(1, 5), padding="valid")
    assert g.conv.shape == (20, 26)
    assert g.conv.origin == (2, 0)
    assert g.conv.field == (1, 5)


def test_pane_geometry_rect():
    pane = PaneGeometry(shape=(4, 5), step=3, field=(7, 7), field_origin=(-2, -1))
    assert pane.origin == (-1 + 2, -2 + 2)
    assert pane.rect == (1, 0, 15, 12)


# ---------------------------------------------------------------------- geometry vs brute force


def random_settings(count, seed, dilations=(1,)):
    rng = np.random.default_rng(seed)
    paddings = ["same", "valid", "full", 0, 1, 2]
    for _ in range(count):
        yield (
            (int(rng.integers(5, 16)), int(rng.integers(5, 16))),
            (int(rng.integers(1, 6)), int(rng.integers(1, 6))),
            PipelineSettings(
                padding=paddings[int(rng.integers(len(paddings)))],
                stride=int(rng.integers(1, 4)),
                dilation=int(rng.choice(dilations)),
                activation="none",
                pool_mode="max",
                pool_size=int(rng.integers(1, 4)),
                pool_stride=int(rng.integers(1, 4)),
            ),
        )


def case_id(case) -> str:
    shape, kernel_shape, s = case
    return (
        f"{shape[0]}x{shape[1]}-k{kernel_shape[0]}x{kernel_shape[1]}-{s.padding}-s{s.stride}"
        f"-d{s.dilation}-pool{s.pool_size}/{s.pool_stride}"
    )


def covers(field: tuple[int, int, int, int], r: int, c: int) -> bool:
    top, left, height, width = field
    return top <= r < top + height and left <= c < left + width


def _brute_force_case(shape, kernel_shape, settings):
    kernel = Kernel(np.ones(kernel_shape))
    g = compute_geometry(shape, kernel_shape, settings)
    if g.conv.shape[0] == 0 or g.conv.shape[1] == 0:
        with pytest.raises(ValueError):
            run_pipeline(np.zeros(shape, np.float32), kernel, settings)
        return
    if g.pooled.shape[0] == 0 or g.pooled.shape[1] == 0:
        with pytest.raises(ValueError):
            run_pipeline(np.zeros(shape, np.float32), kernel, settings)
        return
    d = settings.dilation
    for r, c in itertools.product(range(shape[0]), range(shape[1])):
        delta = np.zeros(shape, np.float32)
        delta[r, c] = 1
        result = run_pipeline(delta, kernel, settings)
        assert result.conv.shape == g.conv.shape
        assert result.pooled.shape == g.pooled.shape
        # Lit means >= 1; big kernels go through OpenCV's DFT, whose zeros are ~1e-17.
        lit = {tuple(index) for index in np.argwhere(result.conv > 0.5)}
        expected = set()
        for i, j in itertools.product(range(g.conv.shape[0]), range(g.conv.shape[1])):
            top, left, _, _ = field = g.conv.receptive_field(i, j)
            # A dilated kernel only has taps every d pixels of its field.
            if covers(field, r, c) and (r - top) % d == 0 and (c - left) % d == 0:
                expected.add((i, j))
        assert lit == expected, (shape, kernel_shape, settings, (r, c))

        pooled_lit = {tuple(index) for index in np.argwhere(result.pooled > 0.5)}
        pooled_field = {
            (p, q)
            for p, q in itertools.product(range(g.pooled.shape[0]), range(g.pooled.shape[1]))
            if covers(g.pooled.receptive_field(p, q), r, c)
        }
        assert pooled_lit <= pooled_field
        # The field is a solid block of pixels that all count when the conv fields of
        # neighbouring conv pixels overlap or touch (stride <= kernel) and taps are contiguous.
        if d == 1 and settings.stride <= min(kernel_shape):
            assert pooled_lit == pooled_field, (shape, kernel_shape, settings, (r, c))


@pytest.mark.parametrize("case", list(random_settings(40, seed=11)), ids=case_id)
def test_receptive_fields_against_delta_images(case):
    _brute_force_case(*case)


@pytest.mark.parametrize("case", list(random_settings(30, seed=12, dilations=(2, 3))), ids=case_id)
def test_receptive_fields_with_dilation(case):
    _brute_force_case(*case)


@pytest.mark.parametrize(
    "case", list(random_settings(60, seed=13, dilations=(1, 2, 3))), ids=case_id
)
def test_feature_sits_over_its_field_and_index_at_inverts(case):
    shape, kernel_shape, settings = case
    g = compute_geometry(shape, kernel_shape, settings)
    for pane in (g.conv, g.pooled):
        if pane is None or 0 in pane.shape:
            continue
        ox, oy = pane.origin
        for i, j in itertools.product(range(pane.shape[0]), range(pane.shape[1])):
            top, left, height, width = pane.receptive_field(i, j)
            # The drawn square is centred on the centre of the receptive field.
            assert ox + (j + 0.5) * pane.step == pytest.approx(left + width / 2)
            assert oy + (i + 0.5) * pane.step == pytest.approx(top + height / 2)
            # index_at inverts origin/step anywhere inside the drawn square.
            for fx, fy in [(0.0, 0.0), (0.5, 0.5), (0.999, 0.001)]:
                x, y = ox + (j + fx) * pane.step, oy + (i + fy) * pane.step
                assert pane.index_at(x, y) == (i, j)
        x0, y0, width, height = pane.rect
        assert pane.index_at(x0 - 0.01, y0) is None
        assert pane.index_at(x0, y0 - 0.01) is None
        assert pane.index_at(x0 + width + 0.01, y0) is None
        assert pane.index_at(x0, y0 + height + 0.01) is None
        assert pane.index_at(x0 + width - 0.01, y0 + height - 0.01) == (
            pane.shape[0] - 1,
            pane.shape[1] - 1,
        )


@pytest.mark.parametrize("case", list(random_settings(40, seed=14, dilations=(1, 2))), ids=case_id)
def test_geometry_shapes_match_the_pipeline(case):
    shape, kernel_shape, settings = case
    g = compute_geometry(shape, kernel_shape, settings)
    image = random_image(shape, seed=6)
    if 0 in g.conv.shape or 0 in g.pooled.shape:
        with pytest.raises(ValueError):
            run_pipeline(image, Kernel(np.ones(kernel_shape)), settings)
        return
    result = run_pipeline(image, Kernel(np.ones(kernel_shape)), settings)
    assert result.conv.shape == g.conv.shape
    assert result.pooled.shape == g.pooled.shape
    assert result.geometry == g
