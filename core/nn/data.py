"""Digit data sets: MNIST idx files, folders of class subfolders, the bundled MNIST subset and
synthetic digits. Every loader returns a :class:`Dataset` or raises one :class:`DataError`
saying what is wrong."""

from __future__ import annotations

import functools
import gzip
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.nn.digits import SIDE, preprocess_digit, synthetic_digits

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
CLASSES = 10
MAX_IDX_BYTES = 1 << 30  # a 1 GB idx file is not a digit set


class DataError(ValueError):
    """Digit data that cannot be used; the message names the file and the reason."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """``images`` (N, 28, 28) uint8 with ink bright, ``labels`` (N,) uint8 in 0..9."""

    images: np.ndarray
    labels: np.ndarray
    name: str = "digits"

    def __post_init__(self) -> None:
        if self.images.ndim != 3 or self.images.shape[1:] != (SIDE, SIDE):
            raise DataError(f"{self.name}: images must be 28x28, not {self.images.shape[1:]}")
        if len(self.images) != len(self.labels):
            raise DataError(f"{self.name}: {len(self.images)} images but {len(self.labels)} labels")
        if len(self.labels) == 0:
            raise DataError(f"{self.name}: no images")
        if self.labels.max() >= CLASSES:
            raise DataError(
                f"{self.name}: label {int(self.labels.max())} is out of range (digits are 0..9)"
            )

    def __len__(self) -> int:
        return len(self.labels)

    def inputs(self, index: np.ndarray | slice | None = None) -> np.ndarray:
        """Network inputs: float32 (N, 28, 28, 1) in [0, 1]."""
        images = self.images if index is None else self.images[index]
        return (images.astype(np.float32) * np.float32(1 / 255))[..., None]


# --- idx files -------------------------------------------------------------------------------


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """An MNIST idx file, raw or gzipped, recognised by its header.

    Returns (N, rows, cols) uint8 for an images file (magic 2051) or (N,) uint8 for a labels
    file (magic 2049).
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_IDX_BYTES:
            raise DataError(f"{path.name}: too large for an idx file")
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path.name}: cannot read it ({exc.strerror or exc})") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            raise DataError(f"{path.name}: a damaged or truncated gzip file") from None
    if len(data) < 8:
        raise DataError(f"{path.name}: too short to be an idx file")
    magic, count = struct.unpack(">ii", data[:8])
    if magic == IMAGES_MAGIC:
        if len(data) < 16:
            raise DataError(f"{path.name}: truncated idx header")
        rows, cols = struct.unpack(">ii", data[8:16])
        shape, offset = (count, rows, cols), 16
    elif magic == LABELS_MAGIC:
        shape, offset = (count,), 8
    else:
        raise DataError(
            f"{path.name}: not an MNIST idx file (magic number {magic}, expected "
            f"{IMAGES_MAGIC} for images or {LABELS_MAGIC} for labels)"
        )
    if min(shape) < 0:
        raise DataError(f"{path.name}: negative size in the idx header")
    expected = int(np.prod(shape, dtype=np.int64))
    if len(data) - offset < expected:
        raise DataError(
            f"{path.name}: truncated ({len(data) - offset} bytes of data, the header promises "
            f"{expected})"
        )
    return np.frombuffer(data, np.uint8, expected, offset).reshape(shape).copy()


def load_idx_pair(images_path: str | os.PathLike[str], labels_path: str | os.PathLike[str]):
    """A :class:`Dataset` from an images idx file and its labels idx file."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    name = Path(images_path).name
    if images.ndim != 3:
        raise DataError(f"{name}: holds labels, not images")
    if labels.ndim != 1:
        raise DataError(f"{Path(labels_path).name}: holds images, not labels")
    if len(images) != len(labels):
        raise DataError(
            f"{name}: {len(images)} images, but {Path(labels_path).name} has {len(labels)} labels"
        )
    if images.shape[1:] != (SIDE, SIDE) and len(images):  # not MNIST-sized: make it so
        images = np.stack([_as_uint8(preprocess_digit(im, "light-on-dark")) for im in images])
    if len(labels) and labels.max() >= CLASSES:
        raise DataError(f"{Path(labels_path).name}: label {labels.max()} is not a digit 0..9")
    return Dataset(images, labels, name)


def _as_uint8(digit: np.ndarray) -> np.ndarray:
    return (digit * 255 + 0.5).astype(np.uint8)


def _idx_magic(path: Path) -> int | None:
    try:
        with path.open("rb") as raw:
            head = raw.read(2)
            raw.seek(0)
            stream = gzip.open(raw) if head == b"\x1f\x8b" else raw
            magic = stream.read(4)
    except (OSError, EOFError, zlib.error):
        return None
    return struct.unpack(">i", magic)[0] if len(magic) == 4 else None


@dataclass(frozen=True, eq=False)
class FolderData:
    """What a data folder holds: a training set, a test set, or both."""

    train: Dataset | None
    test: Dataset | None


def load_folder(folder: str | os.PathLike[str]) -> FolderData:
    """Digits in ``folder``: an MNIST idx pair (train-* and/or t10k-*/test-*), or class
    subfolders ``0/`` .. ``9/`` of images (then ``train`` holds them all)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file())
    magics = {p: _idx_magic(p) for p in files}
    for path, magic in magics.items():
        if magic is None and "-idx" in path.name:  # named like MNIST's files, header unreadable
            raise DataError(f"{path.name}: damaged or cut short (its idx header cannot be read)")
    images = [p for p in files if magics[p] == IMAGES_MAGIC]
    labels = [p for p in files if magics[p] == LABELS_MAGIC]
    if images or labels:
        return _idx_folder(folder, images, labels)
    return FolderData(load_class_folders(folder), None)


def _is_test(path: Path) -> bool:
    return path.name.startswith(("t10k", "test"))


def _idx_folder(folder: Path, images: list[Path], labels: list[Path]) -> FolderData:
    sets: dict[bool, Dataset] = {}
    for test in (False, True):
        im = [p for p in images if _is_test(p) == test]
        lb = [p for p in labels if _is_test(p) == test]
        if len(images) == 1 and len(labels) == 1:  # one pair, however named
            im, lb = (images, labels) if not test else ([], [])
        if len(im) > 1 or len(lb) > 1:
            raise DataError(f"{folder}: several idx {'test' if test else 'training'} files")
        if bool(im) != bool(lb):
            missing = "labels" if im else "images"
            raise DataError(
                f"{folder}: an idx file of {missing} is missing for {(im or lb)[0].name}"
            )
        if im:
            sets[test] = load_idx_pair(im[0], lb[0])
    return FolderData(sets.get(False), sets.get(True))


def load_class_folders(folder: str | os.PathLike[str]) -> Dataset:
    """Images in subfolders ``0/`` .. ``9/`` of ``folder``, each made MNIST-like by
    :func:`core.nn.digits.preprocess_digit`."""
    from core.images import is_image_file, load_image

    folder = Path(folder)
    images, labels = [], []
    for digit in range(CLASSES):
        sub = folder / str(digit)
        if not sub.is_dir():
            continue
        for path in sorted(sub.iterdir()):
            if not path.is_file() or not is_image_file(path):
                continue
            try:
                picture = load_image(path)
                images.append(_as_uint8(preprocess_digit(picture)))
            except ValueError as exc:  # core.images.ImageError is one
                raise DataError(f"{path}: {getattr(exc, 'reason', exc)}") from None
            labels.append(digit)
    if not images:
        raise DataError(
            f"{folder}: no digit images found (expected MNIST idx files or subfolders 0/ .. 9/ "
            "of images)"
        )
    return Dataset(np.stack(images), np.array(labels, np.uint8), folder.name)


# --- bundled and synthetic -------------------------------------------------------------------


def bundled_path() -> Path:
    from resources import RESOURCES

    return RESOURCES / "mnist-subset.npz"


@functools.cache
def load_bundled() -> tuple[Dataset, Dataset]:
    """The bundled MNIST subset: (training set, test set), read once (arrays read-only)."""
    path = bundled_path()
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        for array in arrays.values():
            array.setflags(write=False)
        train = Dataset(arrays["train_images"], arrays["train_labels"], "MNIST subset (train)")
        test = Dataset(arrays["test_images"], arrays["test_labels"], "MNIST subset (test)")
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"{path.name}: the bundled MNIST subset cannot be read ({exc})") from None
    return train, test


def synthetic(count: int = 10_000, seed: int = 0) -> Dataset:
    """Synthetic digits drawn with OpenCV's Hershey fonts (see core.nn.digits)."""
    images, labels = synthetic_digits(count, seed)
    return Dataset(images, labels, "synthetic digits")


def load_training_data(spec: str, seed: int = 0) -> tuple[Dataset, Dataset]:
    """``mnist`` (bundled), ``synthetic`` or a folder: (training set, test set).

    The test set is always the bundled MNIST test images, so accuracies compare.
    """
    train_mnist, test = load_bundled()
    if spec == "mnist":
        return train_mnist, test
    if spec == "synthetic":
        return synthetic(10_000, seed), test
    data = load_folder(spec)
    if data.train is None:
        raise DataError(f"{spec}: no training images (only test files)")
    return data.train, test


def load_evaluation_data(spec: str) -> Dataset:
    """``mnist`` (the bundled test images) or a folder (its test files if it has any)."""
    if spec == "mnist":
        return load_bundled()[1]
    if spec == "synthetic":
        return synthetic(2_000, seed=1)
    data = load_folder(spec)
    dataset = data.test or data.train
    assert dataset is not None
    return dataset
