"""How much the engine adds to the raw OpenCV calls it wraps, on camera-sized frames.

Run with ``python -m bench.core`` (or ``python bench/core.py``) from the project root. For each
frame size it prints the median time of ``convolve`` (3x3 and 7x7, 'same', zero border) and
``pool`` (2x2 max) next to the bare OpenCV call that does the same work (the floor), their
ratio, and the naive numpy way for scale. Engine and floor runs are interleaved (alternating
which goes first) so that clock-speed changes and cache noise hit both alike.

Not part of the test run: it prints figures and never fails.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import cv2
import numpy as np

if __package__ in (None, ""):  # run as a script: make `core` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.ops import convolve, pool

SIZES = ((640, 480), (1280, 720), (1920, 1080))
TARGET_RATIO = 1.25


def naive_convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """'same' zero-padded cross-correlation as a sum of shifted slices."""
    kh, kw = kernel.shape
    h, w = image.shape
    top, left = (kh - 1) // 2, (kw - 1) // 2
    padded = np.pad(image, ((top, kh - 1 - top), (left, kw - 1 - left)))
    out = np.zeros_like(image)
    for i in range(kh):
        for j in range(kw):
            out += kernel[i, j] * padded[i : i + h, j : j + w]
    return out


def naive_pool(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    return image[:h, :w].reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3))


def floor_convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_CONSTANT)


_POOL_WINDOW = np.ones((2, 2), np.uint8)


def floor_pool(image: np.ndarray) -> np.ndarray:
    # anchor=(0, 0): OpenCV's default anchor for an even window is (1, 1), which would take each
    # max over the window one pixel up and left (same cost, wrong windows).
    return np.ascontiguousarray(cv2.dilate(image, _POOL_WINDOW, anchor=(0, 0))[::2, ::2])


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved_medians(
    engine: Callable[[], object], floor: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """Median seconds of ``engine`` and ``floor``, run alternately, each first half the time."""
    for _ in range(3):  # warm caches, OpenCV's thread pool and any lazy initialisation
        engine()
        floor()
    engine_times, floor_times = [], []
    for rep in range(repeats):
        if rep % 2:
            engine_times.append(_time(engine))
            floor_times.append(_time(floor))
        else:
            floor_times.append(_time(floor))
            engine_times.append(_time(engine))
    return statistics.median(engine_times), statistics.median(floor_times)


def median_time(fn: Callable[[], object], repeats: int) -> float:
    fn()
    return statistics.median(_time(fn) for _ in range(repeats))


def check_same_result(engine: np.ndarray, floor: np.ndarray, label: str) -> None:
    if engine.shape != floor.shape or not np.allclose(engine, floor, atol=1e-4):
        raise SystemExit(f"{label}: the engine and the floor disagree; the comparison is void")


def run(repeats: int, naive_repeats: int) -> list[tuple[str, str, float, float, float]]:
    rng = np.random.default_rng(0)
    rows = []
    for width, height in SIZES:
        frame = rng.uniform(0, 1, (height, width)).astype(np.float32)
        label = f"{width}x{height}"
        for size in (3, 7):
            kernel = rng.normal(size=(size, size)).astype(np.float32)
            check_same_result(convolve(frame, kernel), floor_convolve(frame, kernel), label)
            engine_s, floor_s = interleaved_medians(
                partial(convolve, frame, kernel, padding="same", border="zero"),
                partial(floor_convolve, frame, kernel),
                repeats,
            )
            naive_s = median_time(partial(naive_convolve, frame, kernel), naive_repeats)
            rows.append((label, f"convolve {size}x{size}", engine_s, floor_s, naive_s))
        check_same_result(pool(frame, size=2, mode="max"), floor_pool(frame), label)
        engine_s, floor_s = interleaved_medians(
            partial(pool, frame, size=2, mode="max"), partial(floor_pool, frame), repeats
        )
        naive_s = median_time(partial(naive_pool, frame), naive_repeats)
        rows.append((label, "pool 2x2 max", engine_s, floor_s, naive_s))
    return rows


def format_table(rows: list[tuple[str, str, float, float, float]]) -> str:
    header = ("frame", "operation", "engine ms", "OpenCV floor ms", "ratio", "naive numpy ms")
    body = [
        (
            frame,
            op,
            f"{engine * 1e3:.3f}",
            f"{floor * 1e3:.3f}",
            f"{engine / floor:.2f}" + ("" if engine / floor <= TARGET_RATIO else " !"),
            f"{naive * 1e3:.2f}",
        )
        for frame, op, engine, floor, naive in rows
    ]
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]
    left_aligned = {0, 1}

    def line(cells):
        return "  ".join(
            cell.ljust(widths[i]) if i in left_aligned else cell.rjust(widths[i])
            for i, cell in enumerate(cells)
        )

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in body)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=80, help="engine/floor runs (default 80)")
    parser.add_argument("--naive-repeats", type=int, default=9, help="naive runs (default 9)")
    args = parser.parse_args(argv)
    print(
        f"numpy {np.__version__}, OpenCV {cv2.__version__} ({cv2.getNumThreads()} threads), "
        f"float32 frames, median of {args.repeats} interleaved runs"
    )
    rows = run(args.repeats, args.naive_repeats)
    print(format_table(rows))
    worst = max(engine / floor for _, _, engine, floor, _ in rows)
    verdict = "within" if worst <= TARGET_RATIO else "OVER"
    print(f"worst ratio {worst:.2f}: {verdict} the {TARGET_RATIO} target")


if __name__ == "__main__":
    main()
