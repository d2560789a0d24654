"""The engine (core.ops) against independent references, never against itself.

References: scipy.signal.correlate2d / scipy.ndimage.correlate on an input padded with np.pad,
a kernel dilated by hand and a strided slice; naive loops for pooling; textbook formulas for the
activations; and small cases whose expected numbers are written out by hand.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from scipy import ndimage, signal

from core.ops import activate, convolve, pool

NP_PAD_MODE = {"zero": "constant", "reflect": "reflect", "replicate": "edge", "wrap": "wrap"}
PADDINGS = ("same", "valid", "full", 0, 2)
BORDERS = tuple(NP_PAD_MODE)


# ------------------------------------------------------------------------------- references


def ref_pads(n: int, k_eff: int, stride: int, padding: str | int) -> tuple[int, int]:
    """Padding before/after one axis, written from the Keras/TensorFlow documentation."""
    if padding == "valid":
        return 0, 0
    if padding == "full":
        return k_eff - 1, k_eff - 1
    if padding == "same":
        out = -(-n // stride)  # ceil(n / stride)
        total = max((out - 1) * stride + k_eff - n, 0)
        return total // 2, total - total // 2
    return int(padding), int(padding)


def ref_dilate(kernel: np.ndarray, dilation: int) -> np.ndarray:
    kh, kw = kernel.shape[:2]
    out = np.zeros(((kh - 1) * dilation + 1, (kw - 1) * dilation + 1, *kernel.shape[2:]))
    for i in range(kh):
        for j in range(kw):
            out[i * dilation, j * dilation] = kernel[i, j]
    return out


def ref_convolve(image, kernel, *, stride=1, dilation=1, padding="same", border="zero", flip=False):
    """scipy.signal.correlate2d on a np.pad-ed float64 input, then a strided slice.

    Returns None when the kernel does not fit (no output).
    """
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if flip:
        kernel = kernel[::-1, ::-1]
    kernel = ref_dilate(kernel, dilation)
    kh, kw = kernel.shape[:2]
    h, w = image.shape[:2]
    pad_y = ref_pads(h, kh, stride, padding)
    pad_x = ref_pads(w, kw, stride, padding)
    if h + sum(pad_y) < kh or w + sum(pad_x) < kw:
        return None
    widths = [pad_y, pad_x] + [(0, 0)] * (image.ndim - 2)
    padded = np.pad(image, widths, mode=NP_PAD_MODE[border])
    if kernel.ndim == 3:
        if image.ndim == 2:
            padded = padded[:, :, None]
        out = sum(
            signal.correlate2d(padded[:, :, c], kernel[:, :, c], mode="valid")
            for c in range(kernel.shape[2])
        )
    elif image.ndim == 3:
        out = np.stack(
            [
                signal.correlate2d(padded[:, :, c], kernel, mode="valid")
                for c in range(image.shape[2])
            ],
            axis=-1,
        )
    else:
        out = signal.correlate2d(padded, kernel, mode="valid")
    return out[::stride, ::stride]


def assert_close(actual: np.ndarray, expected: np.ndarray, image, kernel) -> None:
    """float32 engine vs float64 reference: error scales with sum|k| * max|image|."""
    assert actual.dtype == np.float32
    assert actual.shape == expected.shape
    scale = float(np.abs(kernel).sum() * max(np.abs(image).max(), 1e-3))
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=2e-5 * scale + 1e-6)


def naive_pool(x: np.ndarray, size: int, stride: int, mode: str) -> np.ndarray:
    h, w = x.shape[:2]
    out_h, out_w = (h - size) // stride + 1, (w - size) // stride + 1
    reduce = {"max": np.max, "min": np.min, "avg": np.mean}[mode]
    out = np.empty((out_h, out_w, *x.shape[2:]), dtype=np.float64)
    for i in range(out_h):
        for j in range(out_w):
            window = x[i * stride : i * stride + size, j * stride : j * stride + size]
            out[i, j] = reduce(window.astype(np.float64), axis=(0, 1))
    return out


# --------------------------------------------------------------------- hand-computed convolution

A4 = np.arange(1, 17, dtype=np.float32).reshape(4, 4)
# Deliberately asymmetric, so a flipped kernel gives different numbers.
K_HAND = np.array([[1, 2, 0], [0, 1, 0], [0, 0, -1]], dtype=np.float32)


def test_hand_computed_valid():
    # out(y, x) = A[y-1, x-1] + 2 A[y-1, x] + A[y, x] - A[y+1, x+1] at the four inner pixels:
    # (1,1): 1 + 4 + 6 - 11 = 0     (1,2): 2 + 6 + 7 - 12 = 3
    # (2,1): 5 + 12 + 10 - 15 = 12  (2,2): 6 + 14 + 11 - 16 = 15
    expected = np.array([[0, 3], [12, 15]], dtype=np.float32)
    np.testing.assert_array_equal(convolve(A4, K_HAND, padding="valid"), expected)


def test_hand_computed_same_zero_border():
    expected = np.array(
        [
            [-5, -5, -5, 4],  # top row: only A[y, x] - A[y+1, x+1] survives the zero padding
            [-3, 0, 3, 19],
            [5, 12, 15, 35],
            [31, 43, 47, 51],  # bottom row: the -1 tap reads the padding
        ],
        dtype=np.float32,
    )
    np.testing.assert_array_equal(convolve(A4, K_HAND, padding="same"), expected)


def test_hand_computed_flip_is_convolution():
    # Flipped kernel [[-1,0,0],[0,1,0],[0,2,1]]:
    # out(y, x) = -A[y-1, x-1] + A[y, x] + 2 A[y+1, x] + A[y+1, x+1]
    expected = np.array([[36, 39], [48, 51]], dtype=np.float32)
    np.testing.assert_array_equal(convolve(A4, K_HAND, padding="valid", flip=True), expected)
    np.testing.assert_array_equal(expected, signal.convolve2d(A4, K_HAND, mode="valid"))


def test_hand_computed_stride_2_same():
    # 4x4, 3x3, stride 2, 'same': 2x2 output, total padding (2-1)*2+3-4 = 1 -> (0 before, 1 after).
    # Output (i, j) is centred on input (2i+1, 2j+1): the 'same' rows/cols 1 and 3 above.
    expected = np.array([[0, 19], [43, 51]], dtype=np.float32)
    np.testing.assert_array_equal(convolve(A4, K_HAND, padding="same", stride=2), expected)


HORIZONTAL_LINES = np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]], dtype=np.float32)


def lines_image() -> np.ndarray:
    image = np.zeros((20, 20), np.float32)
    image[5, 2:10] = 1.0  # a horizontal line
    image[8:18, 14] = 1.0  # a vertical line
    return image


def test_lecture_horizontal_lines_kernel():
    out = convolve(lines_image(), HORIZONTAL_LINES)
    # Just below the horizontal line the kernel's row of 1s sits on it: full response 3;
    # just above, the row of -1s does: -3. On the line itself both rows see 0.
    np.testing.assert_array_equal(out[6, 3:9], 3)
    np.testing.assert_array_equal(out[4, 3:9], -3)
    np.testing.assert_array_equal(out[5, 3:9], 0)
    # Inside the vertical line the +1 and -1 rows cancel: it vanishes.
    np.testing.assert_array_equal(out[9:17, 12:17], 0)
    # The vertical-lines kernel (the transpose) does the opposite.
    out_v = convolve(lines_image(), HORIZONTAL_LINES.T)
    np.testing.assert_array_equal(out_v[9:17, 13], -3)
    np.testing.assert_array_equal(out_v[9:17, 15], 3)
    np.testing.assert_array_equal(out_v[3:8, 4:8], 0)


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("shape", [(7, 9), (1, 5), (6, 4, 3), (5, 5, 5)])
def test_identity_kernel_returns_image(shape, border):
    image = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    identity = np.zeros((3, 3), np.float32)
    identity[1, 1] = 1
    np.testing.assert_array_equal(convolve(image, identity, border=border), image)
    np.testing.assert_array_equal(convolve(image, np.ones((1, 1)), padding="valid"), image)


def test_uint8_input_same_as_float():
    image = np.random.default_rng(2).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    np.testing.assert_array_equal(
        convolve(image, K_HAND), convolve(image.astype(np.float32), K_HAND)
    )


# ----------------------------------------------------------------------- randomized vs scipy

KERNEL_SHAPES = [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (2, 3), (3, 1), (1, 4), (4, 2), (5, 3)]
IMAGE_SHAPES = [(1, 1), (1, 9), (9, 1), (2, 3), (5, 5), (8, 7), (13, 16), (24, 31)]


def check_against_reference(image, kernel, **options):
    expected = ref_convolve(image, kernel, **options)
    if expected is None:
        with pytest.raises(ValueError, match="does not fit"):
            convolve(image, kernel, **options)
        return
    assert_close(convolve(image, kernel, **options), expected, image, kernel)


@pytest.mark.parametrize(
    ("padding", "border", "stride", "dilation"),
    list(itertools.product(PADDINGS, BORDERS, (1, 2, 3), (1, 2, 3))),
)
def test_every_padding_border_stride_dilation(padding, border, stride, dilation):
    rng = np.random.default_rng(
        PADDINGS.index(padding) * 100 + BORDERS.index(border) * 10 + stride * 3 + dilation
    )
    for kernel_shape in KERNEL_SHAPES:
        for image_shape in [(1, 1), (1, 6), (4, 1), (6, 5), (11, 8), (16, 17)]:
            image = rng.uniform(-1, 1, image_shape).astype(np.float32)
            kernel = rng.normal(size=kernel_shape).astype(np.float32)
            for flip in (False, True):
                check_against_reference(
                    image,
                    kernel,
                    stride=stride,
                    dilation=dilation,
                    padding=padding,
                    border=border,
                    flip=flip,
                )


@pytest.mark.parametrize("kernel_shape", KERNEL_SHAPES)
@pytest.mark.parametrize("image_shape", IMAGE_SHAPES)
@pytest.mark.parametrize("padding", ["same", "full", "valid"])
def test_shapes_including_kernels_bigger_than_image(image_shape, kernel_shape, padding):
    rng = np.random.default_rng(len(image_shape) * 7 + sum(image_shape) * 31 + sum(kernel_shape))
    image = rng.uniform(0, 1, image_shape).astype(np.float32)
    kernel = rng.normal(size=kernel_shape).astype(np.float32)
    for border in BORDERS:
        check_against_reference(image, kernel, padding=padding, border=border)


@pytest.mark.parametrize("channels", [1, 3, 5])
@pytest.mark.parametrize(
    ("padding", "stride", "dilation"),
    [
        ("same", 1, 1),
        ("valid", 1, 1),
        ("same", 2, 1),
        ("full", 1, 2),
        (1, 3, 1),
        ("same", 1, 3),
    ],
)
@pytest.mark.parametrize("border", BORDERS)
def test_2d_kernel_filters_each_channel(channels, padding, stride, dilation, border):
    rng = np.random.default_rng(channels * 1000 + stride * 10 + dilation)
    image = rng.uniform(-1, 1, (12, 10, channels)).astype(np.float32)
    kernel = rng.normal(size=(3, 4)).astype(np.float32)
    options = {"padding": padding, "stride": stride, "dilation": dilation, "border": border}
    out = convolve(image, kernel, **options)
    assert out.ndim == 3 and out.shape[2] == channels
    assert_close(out, ref_convolve(image, kernel, **options), image, kernel)
    for c in range(channels):  # and each channel is what that channel alone would give
        np.testing.assert_allclose(
            out[:, :, c], convolve(image[:, :, c], kernel, **options), rtol=1e-5, atol=1e-5
        )


@pytest.mark.parametrize("channels", [1, 3, 5])
@pytest.mark.parametrize(
    ("padding", "stride", "dilation", "flip"),
    [
        ("same", 1, 1, False),
        ("valid", 1, 1, True),
        ("same", 2, 1, False),
        ("full", 1, 2, True),
        (2, 3, 1, False),
        ("same", 2, 2, True),
    ],
)
@pytest.mark.parametrize("border", BORDERS)
def test_3d_kernel_is_summed_across_channels(channels, padding, stride, dilation, flip, border):
    rng = np.random.default_rng(channels * 77 + stride * 5 + dilation)
    image = rng.uniform(-1, 1, (11, 13, channels)).astype(np.float32)
    kernel = rng.normal(size=(3, 2, channels)).astype(np.float32)
    options = {
        "padding": padding,
        "stride": stride,
        "dilation": dilation,
        "border": border,
        "flip": flip,
    }
    out = convolve(image, kernel, **options)
    assert out.ndim == 2
    assert_close(out, ref_convolve(image, kernel, **options), image, kernel)


def test_single_channel_3d_kernel_on_2d_image():
    rng = np.random.default_rng(3)
    image = rng.uniform(size=(6, 7)).astype(np.float32)
    kernel = rng.normal(size=(3, 3, 1)).astype(np.float32)
    for padding in ("same", "valid", "full"):
        expected = convolve(image, kernel[:, :, 0], padding=padding)
        np.testing.assert_allclose(convolve(image, kernel, padding=padding), expected, atol=1e-6)
        np.testing.assert_allclose(
            convolve(image[:, :, None], kernel, padding=padding), expected, atol=1e-6
        )


def test_wrong_channel_count_for_3d_kernel():
    with pytest.raises(ValueError, match="3 channels"):
        convolve(np.zeros((5, 5, 4)), np.ones((3, 3, 3)))
    with pytest.raises(ValueError, match="3 channels"):
        convolve(np.zeros((5, 5)), np.ones((3, 3, 3)))


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("size", [3, 4, 5, 7])
def test_same_stride1_against_scipy_ndimage(size, border):
    """A second, independent reference: ndimage.correlate does its own borders (no np.pad)."""
    ndimage_mode = {
        "zero": "constant",
        "reflect": "mirror",
        "replicate": "nearest",
        "wrap": "wrap",
    }[border]
    rng = np.random.default_rng(size)
    image = rng.uniform(size=(17, 12)).astype(np.float64)
    kernel = rng.normal(size=(size, size))
    # ndimage centres the kernel at size // 2; Keras puts the extra (even-size) tap after,
    # i.e. centre (size - 1) // 2: shift ndimage's origin by -1 for even sizes.
    origin = -1 if size % 2 == 0 else 0
    expected = ndimage.correlate(image, kernel, mode=ndimage_mode, cval=0.0, origin=origin)
    out = convolve(image, kernel, padding="same", border=border)
    assert_close(out, expected, image, kernel)


def test_large_kernel_uses_same_numbers():
    # OpenCV switches to a DFT for big kernels; the numbers must still match.
    rng = np.random.default_rng(4)
    image = rng.uniform(size=(60, 50)).astype(np.float32)
    kernel = rng.normal(size=(15, 13)).astype(np.float32)
    for border in BORDERS:
        check_against_reference(image, kernel, padding="same", border=border)
        check_against_reference(image, kernel, padding="valid", border=border, stride=2)


# ----------------------------------------------------------------------- Keras 'same' padding


@pytest.mark.parametrize("n", range(1, 13))
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_same_output_is_ceil_n_over_stride(n, stride, k):
    out = convolve(np.ones((n, n + 1), np.float32), np.ones((k, k)), padding="same", stride=stride)
    assert out.shape == (math.ceil(n / stride), math.ceil((n + 1) / stride))


@pytest.mark.parametrize(
    ("n", "stride", "k", "pads"),
    [
        (8, 2, 3, (0, 1)),  # odd total padding: the extra row goes at the bottom
        (7, 2, 3, (1, 1)),
        (8, 2, 2, (0, 0)),
        (7, 2, 2, (0, 1)),
        (8, 2, 4, (1, 1)),
        (8, 2, 5, (1, 2)),
        (10, 3, 3, (1, 1)),
        (9, 3, 3, (0, 0)),
        (6, 1, 2, (0, 1)),  # even kernel, stride 1: extra pad after
        (6, 1, 4, (1, 2)),
    ],
)
def test_same_padding_placement_by_delta_image(n, stride, k, pads):
    """A single 1 at input (r, c) must reach exactly the outputs whose window covers it."""
    before = pads[0]
    out_n = math.ceil(n / stride)
    for r in range(n):
        image = np.zeros((n, 1), np.float32)
        image[r, 0] = 1
        out = convolve(image, np.ones((k, 1)), padding="same", stride=stride)
        assert out.shape == (out_n, 1)
        # Output i reads padded rows i*s .. i*s+k-1, i.e. input rows i*s-before .. +k-1.
        expected = [
            1.0 if i * stride - before <= r <= i * stride - before + k - 1 else 0.0
            for i in range(out_n)
        ]
        np.testing.assert_array_equal(out[:, 0], expected, err_msg=f"delta at row {r}")
    # The same along columns.
    for c in range(n):
        image = np.zeros((1, n), np.float32)
        image[0, c] = 1
        out = convolve(image, np.ones((1, k)), padding="same", stride=stride)
        expected = [
            1.0 if j * stride - before <= c <= j * stride - before + k - 1 else 0.0
            for j in range(out_n)
        ]
        np.testing.assert_array_equal(out[0], expected, err_msg=f"delta at column {c}")


# ------------------------------------------------------------------------------ bad arguments


def test_kernel_that_cannot_fit():
    with pytest.raises(ValueError, match="does not fit"):
        convolve(np.zeros((3, 3)), np.ones((5, 5)), padding="valid")
    with pytest.raises(ValueError, match="does not fit"):
        convolve(np.zeros((4, 9)), np.ones((3, 3)), padding="valid", dilation=2)
    with pytest.raises(ValueError, match="does not fit"):
        convolve(np.zeros((2, 2, 3)), np.ones((3, 1, 3)), padding=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_kernel(bad):
    kernel = np.ones((3, 3))
    kernel[1, 2] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        convolve(np.zeros((5, 5)), kernel)


@pytest.mark.parametrize(
    "options",
    [
        {"stride": 0},
        {"stride": -1},
        {"stride": 1.5},
        {"stride": True},
        {"dilation": 0},
        {"padding": "wide"},
        {"padding": -1},
        {"padding": 1.0},
        {"padding": True},
        {"border": "mirror"},
    ],
)
def test_bad_options(options):
    with pytest.raises(ValueError):
        convolve(np.zeros((5, 5)), np.ones((3, 3)), **options)


@pytest.mark.parametrize(
    ("image", "kernel"),
    [
        (np.zeros((0, 5)), np.ones((1, 1))),
        (np.zeros(5), np.ones((1, 1))),
        (np.zeros((2, 2, 2, 2)), np.ones((1, 1))),
        (np.zeros((5, 5)), np.ones(3)),
        (np.zeros((5, 5)), np.ones((0, 3))),
    ],
)
def test_bad_shapes(image, kernel):
    with pytest.raises(ValueError):
        convolve(image, kernel)


def test_input_is_not_modified():
    image = np.random.default_rng(5).uniform(size=(6, 6)).astype(np.float32)
    kernel = np.random.default_rng(6).normal(size=(3, 3)).astype(np.float32)
    image_copy, kernel_copy = image.copy(), kernel.copy()
    convolve(image, kernel, flip=True, dilation=2, padding="full", border="reflect")
    np.testing.assert_array_equal(image, image_copy)
    np.testing.assert_array_equal(kernel, kernel_copy)


def test_output_is_c_contiguous():
    image = np.zeros((9, 9, 3), np.float32)
    for options in ({}, {"stride": 2}, {"padding": "valid"}, {"stride": 3, "padding": "full"}):
        assert convolve(image, np.ones((3, 3)), **options).flags.c_contiguous
        assert convolve(image, np.ones((3, 3, 3)), **options).flags.c_contiguous


# ------------------------------------------------------------------------------------ pooling


POOL_CASES = [
    # (shape, size, stride)
    ((8, 8), 2, None),
    ((7, 9), 2, None),  # odd sizes: the last row/column is dropped
    ((9, 9), 3, None),
    ((10, 11), 3, 2),  # overlapping windows
    ((11, 10), 2, 3),  # stride > size: gaps
    ((12, 13), 4, 1),
    ((5, 6), 1, 1),
    ((5, 6), 1, 2),
    ((3, 3), 3, None),  # exactly one window
    ((1, 7), 1, 3),
    ((6, 7, 3), 2, None),  # per channel
    ((9, 8, 5), 3, 2),
    ((7, 6, 1), 2, 1),
]


@pytest.mark.parametrize("mode", ["max", "avg", "min"])
@pytest.mark.parametrize(("shape", "size", "stride"), POOL_CASES)
def test_pool_against_naive_loops(shape, size, stride, mode):
    rng = np.random.default_rng(sum(shape) * 10 + size)
    x = rng.normal(size=shape).astype(np.float32)
    out = pool(x, size=size, stride=stride, mode=mode)
    expected = naive_pool(x, size, size if stride is None else stride, mode)
    assert out.shape == expected.shape
    assert out.flags.c_contiguous
    assert out.dtype == np.float32
    if mode == "avg":
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_array_equal(out, expected.astype(np.float32))


@pytest.mark.parametrize("mode", ["max", "avg", "min"])
def test_pool_all_negative_windows_stay_negative(mode):
    x = -np.arange(1, 37, dtype=np.float32).reshape(6, 6)
    out = pool(x, size=2, mode=mode)
    assert (out < 0).all()
    if mode == "max":
        # windows start at (0,0),(0,2),...: the max of each is its top-left (least negative)
        np.testing.assert_array_equal(out, [[-1, -3, -5], [-13, -15, -17], [-25, -27, -29]])
    np.testing.assert_allclose(out, naive_pool(x, 2, 2, mode), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64])
@pytest.mark.parametrize("mode", ["max", "min"])
def test_pool_max_min_keep_dtype(dtype, mode):
    x = np.random.default_rng(7).integers(0, 200, (9, 8, 3)).astype(dtype)
    out = pool(x, size=3, stride=2, mode=mode)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, naive_pool(x, 3, 2, mode).astype(dtype))


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float64, np.float32])
def test_pool_avg_returns_float32(dtype):
    x = np.random.default_rng(8).integers(0, 255, (8, 8)).astype(dtype)
    out = pool(x, size=2, mode="avg")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, naive_pool(x, 2, 2, "avg"), rtol=1e-6)


def test_pool_hand_computed():
    x = np.array([[1, 5, 2, 0], [3, 4, 8, 1], [0, 0, 1, 1], [9, 2, 1, 3]], dtype=np.float32)
    np.testing.assert_array_equal(pool(x, mode="max"), [[5, 8], [9, 3]])
    np.testing.assert_array_equal(pool(x, mode="min"), [[1, 0], [0, 1]])
    np.testing.assert_array_equal(pool(x, mode="avg"), [[3.25, 2.75], [2.75, 1.5]])


def test_pool_window_bigger_than_input():
    with pytest.raises(ValueError, match="does not fit"):
        pool(np.zeros((3, 5)), size=4)
    with pytest.raises(ValueError, match="does not fit"):
        pool(np.zeros((1, 5, 3)), size=2)


@pytest.mark.parametrize("options", [{"size": 0}, {"stride": 0}, {"mode": "median"}, {"size": 2.0}])
def test_pool_bad_options(options):
    with pytest.raises(ValueError):
        pool(np.zeros((6, 6)), **options)


def test_pool_bad_shape():
    with pytest.raises(ValueError):
        pool(np.zeros(6))


# ----------------------------------------------------------------------------- lecture shapes


def test_lecture_shapes():
    image = np.random.default_rng(9).uniform(size=(200, 200)).astype(np.float32)
    conv = convolve(image, HORIZONTAL_LINES)
    assert conv.shape == (200, 200)
    assert pool(conv, size=2).shape == (100, 100)

    digit = np.random.default_rng(10).uniform(size=(28, 28)).astype(np.float32)
    conv = convolve(digit, HORIZONTAL_LINES, padding="valid")
    assert conv.shape == (26, 26)
    assert pool(conv, size=2).shape == (13, 13)


# -------------------------------------------------------------------------------- activations

X = np.linspace(-6, 6, 97, dtype=np.float32).reshape(1, 97)


@pytest.mark.parametrize(
    ("name", "formula"),
    [
        ("none", lambda x: x),
        ("relu", lambda x: np.where(x > 0, x, 0)),
        ("abs", lambda x: np.where(x < 0, -x, x)),
        ("leaky_relu", lambda x: np.where(x > 0, x, 0.01 * x)),
        ("sigmoid", lambda x: 1 / (1 + np.exp(-x))),
        ("tanh", lambda x: (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))),
    ],
)
def test_activations_match_formulas(name, formula):
    out = activate(X, name)
    assert out.dtype == np.float32
    assert out.shape == X.shape
    np.testing.assert_allclose(out, formula(X.astype(np.float64)), rtol=1e-5, atol=1e-6)


def test_sigmoid_extremes_without_overflow_warning():
    x = np.array([-1000, -100, 0, 100, 1000], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = activate(x, "sigmoid")
    np.testing.assert_allclose(out, [0, 0, 0.5, 1, 1], atol=1e-7)
    assert np.isfinite(out).all()


def test_activation_accepts_float64_and_ints():
    assert activate(np.array([[-2.0, 3.0]]), "relu").dtype == np.float32
    np.testing.assert_array_equal(activate(np.array([[-2, 3]]), "relu"), [[0, 3]])


def test_unknown_activation():
    with pytest.raises(ValueError, match="relu"):
        activate(X, "softmax")


@pytest.mark.parametrize("mode", ["max", "min"])
def test_pooling_a_map_past_two_megapixels(mode):
    # Large maps take OpenCV's threaded path rather than the strided views: same windows.
    x = np.random.default_rng(11).normal(size=(1500, 1401)).astype(np.float32)
    blocks = x[:1500, :1400].reshape(750, 2, 700, 2)
    expected = blocks.max(axis=(1, 3)) if mode == "max" else blocks.min(axis=(1, 3))
    np.testing.assert_array_equal(pool(x, size=2, mode=mode), expected)
