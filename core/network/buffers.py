"""Recycled output buffers: a large new array costs its page faults on every frame.

A fresh 39 MB array (32 maps of 640x480) is mapped from the operating system on allocation
and faulted in page by page as it is first written: about 6 ms, half the cost of the 32
convolutions that fill it. Live video drops each frame's maps before the next, so those
buffers can be written again instead. A buffer is reused only when nothing outside this
module refers to it any more (the maps handed out are views of it, and each view keeps it
alive), which ``sys.getrefcount`` tells exactly.
"""

from __future__ import annotations

import math
import sys
import threading
from collections import OrderedDict

import numpy as np

MIN_BYTES = 4 * 1024 * 1024  # smaller arrays come from the heap without page faults
MAX_PER_SHAPE = 3  # conv, activation and one more alive per shape is what a live loop holds
MAX_SHAPES = 8  # when the input size changes, the old sizes' buffers go first


def _refcount(items: list[np.ndarray], i: int) -> int:
    return sys.getrefcount(items[i])


# References to a pooled array nobody else holds: the pool's list and the call's argument.
_FREE = _refcount([np.empty(1)], 0)

_pool: OrderedDict[tuple[int, ...], list[np.ndarray]] = OrderedDict()
_lock = threading.Lock()


def empty(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialised float32 array of ``shape``, recycled when a large one is free."""
    if math.prod(shape) * 4 < MIN_BYTES:
        return np.empty(shape, np.float32)
    key = tuple(int(n) for n in shape)
    with _lock:
        arrays = _pool.get(key)
        if arrays is None:
            arrays = _pool[key] = []
            while len(_pool) > MAX_SHAPES:
                _pool.popitem(last=False)
        _pool.move_to_end(key)
        for i in range(len(arrays)):
            if _refcount(arrays, i) == _FREE:
                return arrays[i]
        array = np.empty(key, np.float32)
        if len(arrays) < MAX_PER_SHAPE:
            arrays.append(array)
        return array


def clear() -> None:
    """Forget every recycled buffer (their memory returns once nothing uses them)."""
    with _lock:
        _pool.clear()
