"""Run a Network over image files and write every layer's map: ``<stem>_<layer>.<ext>``.

Stand-in for the engine's ``apply --network`` batch runner, written while that one was being
written in parallel; the two are to become one (same names, same formats). No printing and
no exit codes here: a per-file problem is a :class:`core.batch.BatchError` naming the file.

Formats: ``npy`` raw float32 (H, W, C); ``tiff`` raw float32, one page per channel (a
single-channel map is one page); ``png`` as displayed, the channels side by side in a grid
on one colour scale.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import cv2
import numpy as np

from core.batch import BatchError
from core.display import compute_levels, render
from core.images import (
    ImageError,
    SaveError,
    atomic_write,
    load_image,
    save_png,
    save_raw,
    to_grayscale,
)
from core.network import Network, NetworkError, run_network

GRID_GAP = 1  # pixels between channels in a PNG grid
GAP_GREY = 128


def file_label(name: str) -> str:
    """A layer name made safe for a file name ("features/0" -> "features_0")."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "layer"


def channel_grid(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (H, W, C) channels tiled in a near-square grid, and a mask of the gap pixels."""
    h, w, c = data.shape
    cols = math.ceil(math.sqrt(c))
    rows = math.ceil(c / cols)
    grid = np.zeros(
        (rows * (h + GRID_GAP) - GRID_GAP, cols * (w + GRID_GAP) - GRID_GAP), np.float32
    )
    gap = np.ones(grid.shape, bool)
    for i in range(c):
        r, q = divmod(i, cols)
        y, x = r * (h + GRID_GAP), q * (w + GRID_GAP)
        grid[y : y + h, x : x + w] = data[:, :, i]
        gap[y : y + h, x : x + w] = False
    return grid, gap


def _write(path: Path, data: np.ndarray, fmt: str) -> None:
    if data.ndim == 1:
        data = data[None, :, None]
    if fmt == "npy":
        save_raw(path, data)
    elif fmt == "tiff":
        if data.shape[2] == 1:
            save_raw(path, data[:, :, 0])
            return
        pages = [
            np.ascontiguousarray(data[:, :, i], dtype=np.float32) for i in range(data.shape[2])
        ]
        ok, encoded = cv2.imencodemulti(".tiff", pages)
        if not ok:
            raise SaveError(path, "OpenCV could not encode the TIFF pages")
        atomic_write(path, encoded.tobytes())
    else:
        levels = compute_levels(data)
        grid, gap = channel_grid(data)
        image = render(grid, levels=levels)
        image[gap] = GAP_GREY
        save_png(path, image)


def network_input(image: np.ndarray, channels: int | None, path: Path) -> np.ndarray:
    """The image with the channels the network's first conv takes (1: gray, 3: RGB)."""
    if channels in (None, 1):
        return to_grayscale(image) if image.ndim == 3 else image
    if channels == 3:
        return image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
    raise BatchError(
        f"{path}: the network's first layer takes {channels} channels; images give 1 or 3"
    )


def process_file_network(
    path: Path, network: Network, out_dir: Path, fmt: str = "png", stem: str | None = None
) -> list[Path]:
    """Run ``network`` on the image at ``path``; write each layer's map; return the paths."""
    stem = stem or path.stem
    try:
        image = network_input(load_image(path), network.in_channels, path)
        outputs = run_network(image, network)
    except ImageError as exc:
        raise BatchError(str(exc)) from None
    except NetworkError as exc:  # e.g. the image is too small for the pools
        raise BatchError(f"{path}: {exc}") from None
    written = []
    used: set[str] = set()
    for output in outputs:
        label = base = file_label(output.name)
        n = 2
        while label.lower() in used:  # "a/b" and "a_b" must not overwrite each other
            label, n = f"{base}-{n}", n + 1
        used.add(label.lower())
        target = out_dir / f"{stem}_{label}.{fmt}"
        try:
            _write(target, output.map, fmt)
        except SaveError as exc:
            raise BatchError(f"{path}: {exc}") from None
        written.append(target)
    return written
