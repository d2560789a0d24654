"""Digit data: idx files, class folders, the bundled subset, synthetic digits and MNIST-style
preprocessing."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.nn.data import (
    DataError,
    load_bundled,
    load_class_folders,
    load_evaluation_data,
    load_folder,
    load_idx_pair,
    load_training_data,
    read_idx,
)
from core.nn.digits import draw_synthetic_digit, preprocess_digit, synthetic_digits


def write_idx(path: Path, array: np.ndarray, magic: int | None = None, gz: bool = False) -> Path:
    """An idx file written by hand from the format's description (big-endian header)."""
    if magic is None:
        magic = 2051 if array.ndim == 3 else 2049
    data = struct.pack(">i", magic) + b"".join(struct.pack(">i", n) for n in array.shape)
    data += array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data, compresslevel=1) if gz else data)
    return path


@pytest.fixture
def digits():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), np.array([0, 9, 3, 3, 7], np.uint8)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_pair_raw_or_gzipped(tmp_path, digits, gz):
    images, labels = digits
    a = write_idx(tmp_path / "imgs", images, gz=gz)  # the header tells, not the name
    b = write_idx(tmp_path / "lbls", labels, gz=gz)
    data = load_idx_pair(a, b)
    np.testing.assert_array_equal(data.images, images)
    np.testing.assert_array_equal(data.labels, labels)


def test_read_idx_recognises_images_and_labels(tmp_path, digits):
    images, labels = digits
    assert read_idx(write_idx(tmp_path / "a", images)).shape == (5, 28, 28)
    assert read_idx(write_idx(tmp_path / "b", labels, gz=True)).shape == (5,)


def test_bad_idx_files_give_one_clear_error(tmp_path, digits):
    images, labels = digits
    with pytest.raises(DataError, match="magic number 1234"):
        read_idx(write_idx(tmp_path / "m", images, magic=1234))
    (tmp_path / "g").write_bytes(b"")
    full = write_idx(tmp_path / "t", images).read_bytes()
    (tmp_path / "t").write_bytes(full[:-10])
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp_path / "t")
    (tmp_path / "z").write_bytes(gzip.compress(full)[:-20])
    with pytest.raises(DataError, match="gzip"):
        read_idx(tmp_path / "z")
    with pytest.raises(DataError, match="too short"):
        read_idx(tmp_path / "g")
    with pytest.raises(DataError, match=r"5 images, but .* 4 labels"):
        load_idx_pair(write_idx(tmp_path / "i", images), write_idx(tmp_path / "l", labels[:4]))
    with pytest.raises(DataError, match="label 12"):
        load_idx_pair(tmp_path / "i", write_idx(tmp_path / "l2", np.array([1, 2, 12, 3, 4])))
    with pytest.raises(DataError, match=r"no such|cannot read"):
        read_idx(tmp_path / "missing")


def test_folder_with_train_and_test_idx_pairs(tmp_path, digits):
    images, labels = digits
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, gz=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels, gz=True)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images[:2])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels[:2])
    data = load_folder(tmp_path)
    assert len(data.train) == 5 and len(data.test) == 2
    assert len(load_evaluation_data(str(tmp_path))) == 2  # evaluation prefers the test files
    train, test = load_training_data(str(tmp_path))
    assert len(train) == 5 and len(test) == 2000  # tested on the bundled images


def test_folder_with_a_lone_image_file_says_what_is_missing(tmp_path, digits):
    write_idx(tmp_path / "train-images-idx3-ubyte", digits[0])
    with pytest.raises(DataError, match="labels is missing"):
        load_folder(tmp_path)


def test_a_cut_idx_file_is_called_damaged_not_missing(tmp_path, digits):
    images = write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", digits[0], gz=True)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", digits[1])
    images.write_bytes(images.read_bytes()[:10])  # the gzip header survives, the idx one not
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz: damaged or cut short"):
        load_folder(tmp_path)


def draw_digit_file(path: Path, digit: int, size=(60, 40)) -> None:
    """A dark digit on white paper, as a scanned drawing."""
    canvas = np.full(size, 255, np.uint8)
    cv2.putText(canvas, str(digit), (8, 50), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 0, 4)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), canvas)


def test_class_subfolders(tmp_path):
    for digit in (1, 4, 7):
        draw_digit_file(tmp_path / str(digit) / "a.png", digit)
        draw_digit_file(tmp_path / str(digit) / "b.png", digit)
    (tmp_path / "4" / "notes.txt").write_text("not an image")
    data = load_class_folders(tmp_path)
    assert sorted(data.labels.tolist()) == [1, 1, 4, 4, 7, 7]
    assert data.images.shape == (6, 28, 28)
    # Preprocessed as MNIST: ink bright on a black background.
    assert data.images[:, 0, :].max() == 0 and data.images.max() > 200
    assert len(load_folder(tmp_path).train) == 6


def test_empty_or_broken_class_folders(tmp_path):
    (tmp_path / "3").mkdir()
    with pytest.raises(DataError, match="no digit images"):
        load_folder(tmp_path)
    (tmp_path / "3" / "bad.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"bad\.png"):
        load_class_folders(tmp_path)
    with pytest.raises(DataError, match="not a folder"):
        load_folder(tmp_path / "nope")


def test_bundled_subset_is_mnist_sized_balanced_and_separate():
    train, test = load_bundled()
    assert len(train) >= 10_000 and len(test) == 2_000
    assert train.images.dtype == np.uint8 and train.images.shape[1:] == (28, 28)
    assert np.bincount(train.labels).min() == len(train) // 10
    assert np.bincount(test.labels).tolist() == [200] * 10
    # No test image is also a training image.
    train_keys = {im.tobytes() for im in train.images}
    assert not any(im.tobytes() in train_keys for im in test.images)
    size = (Path(__file__).parents[2] / "resources" / "mnist-subset.npz").stat().st_size
    assert size <= 2_500_000


def test_inputs_scale_to_unit_range():
    train, _ = load_bundled()
    x = train.inputs(slice(0, 4))
    assert x.shape == (4, 28, 28, 1) and x.dtype == np.float32
    assert x.max() == pytest.approx(train.images[:4].max() / 255)


# --- preprocessing -----------------------------------------------------------------------------


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(image.shape)
    return (ys * image).sum() / image.sum(), (xs * image).sum() / image.sum()


def test_preprocess_fits_20x20_keeps_aspect_and_centres_by_mass():
    # A 120x40 dark bar, off-centre on light paper: it becomes 20 tall, about 7 wide.
    paper = np.full((300, 200), 230, np.uint8)
    paper[20:140, 130:170] = 10
    digit = preprocess_digit(paper)
    # Sub-pixel centring smears the edges, so measure the bar by its ink along each axis.
    assert digit.sum(axis=0).max() == pytest.approx(20, abs=0.5)  # height
    assert digit.sum(axis=1).max() == pytest.approx(20 * 40 / 120, abs=0.5)  # width
    cy, cx = centre_of_mass(digit)
    assert cy == pytest.approx(14, abs=0.1) and cx == pytest.approx(14, abs=0.1)
    assert digit.dtype == np.float32 and digit.shape == (28, 28)
    assert digit.max() <= 1.0 and digit[0].max() == 0.0


def test_preprocess_polarity_auto_dark_on_light_and_light_on_dark_agree():
    rng = np.random.default_rng(1)
    canvas = np.zeros((80, 80), np.uint8)
    cv2.putText(canvas, "5", (15, 65), cv2.FONT_HERSHEY_SIMPLEX, 2.2, 255, 6)
    chalk = preprocess_digit(canvas)  # light on dark, auto
    pen = preprocess_digit(255 - canvas)  # dark on light, auto
    np.testing.assert_allclose(chalk, pen, atol=1e-5)
    np.testing.assert_allclose(preprocess_digit(255 - canvas, "dark-on-light"), chalk, atol=1e-5)
    rgb = np.repeat((255 - canvas)[:, :, None], 3, axis=2)
    np.testing.assert_allclose(preprocess_digit(rgb), chalk, atol=1e-5)
    # A photo: grey paper, some noise, the same digit.
    photo = np.clip(180 - canvas * 0.6 + rng.normal(0, 4, canvas.shape), 0, 255).astype(np.uint8)
    assert np.corrcoef(preprocess_digit(photo).ravel(), chalk.ravel())[0, 1] > 0.95


def test_mnist_digits_have_their_centre_of_mass_where_preprocessing_puts_it():
    _, test = load_bundled()
    centres = np.array([centre_of_mass(im.astype(float)) for im in test.images[:200]])
    np.testing.assert_allclose(centres.mean(axis=0), [14, 14], atol=0.1)


def test_preprocess_of_an_mnist_digit_is_close_to_itself():
    _, test = load_bundled()
    # MNIST was made this way, so doing it again changes little (not nothing: sub-pixel
    # shifts blur a little, and faint edge pixels are dropped as paper texture).
    similarity = [
        np.corrcoef(preprocess_digit(image, "light-on-dark").ravel(), image.ravel())[0, 1]
        for image in test.images[:100]
    ]
    assert np.median(similarity) > 0.95 and min(similarity) > 0.7


def test_preprocess_blank_picture_is_zeros():
    assert not preprocess_digit(np.full((50, 50), 0.8, np.float32)).any()
    with pytest.raises(ValueError, match="polarity"):
        preprocess_digit(np.zeros((5, 5)), "sideways")


# --- synthetic ---------------------------------------------------------------------------------


def test_synthetic_digits_are_seeded_balanced_and_mnist_like():
    images, labels = synthetic_digits(50, seed=3)
    again, _ = synthetic_digits(50, seed=3)
    np.testing.assert_array_equal(images, again)
    assert not np.array_equal(images, synthetic_digits(50, seed=4)[0])
    assert np.bincount(labels).tolist() == [5] * 10
    assert images.shape == (50, 28, 28) and images.dtype == np.uint8
    for image in images:
        ink = image > 128
        rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 21  # fits the 20x20 box
        cy, cx = centre_of_mass(image.astype(float))
        assert abs(cy - 14) < 1.5 and abs(cx - 14) < 1.5  # noise shifts it a little


def test_synthetic_digit_varies_with_the_random_state():
    rng = np.random.default_rng(0)
    a, b = draw_synthetic_digit(8, rng), draw_synthetic_digit(8, rng)
    assert not np.array_equal(a, b)


def test_idx_images_of_another_size_are_made_mnist_like(tmp_path):
    images = np.zeros((2, 40, 32), np.uint8)
    images[:, 5:35, 10:20] = 255  # a bar, light on dark as idx digits are
    data = load_idx_pair(
        write_idx(tmp_path / "i", images), write_idx(tmp_path / "l", np.array([1, 1]))
    )
    assert data.images.shape == (2, 28, 28)
    assert data.images.sum(axis=0).max() > 0 and data.images[:, 0].max() == 0
