"""The engine's per-plane max/min pooling against explicit loops (rows-first reduction)."""

from __future__ import annotations

import numpy as np
import pytest

from core.network import PoolLayer
from core.network.planes import pool_plane


@pytest.mark.parametrize("mode", ["max", "min"])
@pytest.mark.parametrize(("size", "stride"), [(1, 1), (2, 2), (2, 3), (3, 3), (3, 4), (1, 2)])
@pytest.mark.parametrize("shape", [(7, 9), (8, 8), (11, 5)])
def test_pool_plane_matches_explicit_loops(mode, size, stride, shape):
    rng = np.random.default_rng(size * 10 + stride)
    src = rng.normal(size=shape).astype(np.float32)
    out_h, out_w = (shape[0] - size) // stride + 1, (shape[1] - size) // stride + 1
    dst = np.full((out_h, out_w), np.nan, np.float32)
    pool_plane(src, dst, PoolLayer(mode, size, stride))
    pick = max if mode == "max" else min
    for i in range(out_h):
        for j in range(out_w):
            window = [
                src[i * stride + dy, j * stride + dx] for dy in range(size) for dx in range(size)
            ]
            assert dst[i, j] == pick(window)
