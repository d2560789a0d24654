"""Loading the Train view's data in its worker, in steps it can abandon when told to stop.

Drawing 10,000 synthetic digits takes about 5 s; the window may be closed meanwhile, and its
worker must then end at once (a window waits for its thread), so they are drawn in chunks
with a check in between.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from core.nn.data import Dataset, load_bundled, load_training_data
from core.nn.digits import synthetic_digits

SYNTHETIC_COUNT = 10_000
_CHUNK = 500


class Cancelled(Exception):
    """The worker was told to stop while the data was being made."""


@functools.cache
def _synthetic_chunk(seed: int) -> tuple[np.ndarray, np.ndarray]:
    return synthetic_digits(_CHUNK, seed)


def load_data(
    spec: str, should_stop: Callable[[], bool] = lambda: False
) -> tuple[Dataset, Dataset]:
    """``"mnist"`` (bundled), ``"synthetic"`` or a folder path: (training set, test set), the
    test set being the bundled MNIST test images (as :func:`core.nn.data.load_training_data`).

    Raises
    ------
    core.nn.data.DataError
        Unusable data; the message says why.
    Cancelled
        ``should_stop()`` became true while synthetic digits were drawn.
    """
    if spec != "synthetic":
        return load_training_data(spec)
    images, labels = [], []
    for chunk in range(SYNTHETIC_COUNT // _CHUNK):
        if should_stop():
            raise Cancelled
        im, lb = _synthetic_chunk(chunk)  # cached: a second run starts at once
        images.append(im)
        labels.append(lb)
    train = Dataset(np.concatenate(images), np.concatenate(labels), "synthetic digits")
    return train, load_bundled()[1]


__all__ = ["SYNTHETIC_COUNT", "Cancelled", "load_data"]
