"""Feeding an image to a network and writing every layer's output to files.

Used by the batch command; the window's Export writes the same files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.images import save_png, save_raw, to_grayscale
from core.network.layers import Network
from core.network.run import LayerOutput
from core.network.views import labelled_grid

OUTPUT_FORMATS = ("png", "tiff", "npy")


def prepare_image(image: np.ndarray, network: Network) -> np.ndarray:
    """``image`` with the channels the network's first conv takes, when that is unambiguous.

    A gray image for a 1-channel network, colour for a 3-channel one: an RGB image is made
    gray, a gray one repeated into three channels. Any other mismatch is left for
    ``run_network`` to report.
    """
    wanted = network.in_channels
    channels = 1 if image.ndim == 2 else image.shape[2]
    if wanted is None or wanted == channels:
        return image
    if wanted == 1 and channels == 3:
        return to_grayscale(image)
    if wanted == 3 and channels == 1:
        gray = image if image.ndim == 2 else image[:, :, 0]
        return np.repeat(gray[:, :, None], 3, axis=2)
    return image


def file_label(name: str) -> str:
    """A layer name made safe for a file name (letters, digits, '.', '-', '_')."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "layer"


def output_paths(outputs: Sequence[LayerOutput], out_dir: Path, stem: str, fmt: str) -> list[Path]:
    """``out_dir/<stem>_<layer name>.<fmt>`` per layer; names that clash get ``-2``, ``-3``..."""
    used: set[str] = set()
    paths = []
    for output in outputs:
        label = base = file_label(output.name)
        n = 2
        while label.lower() in used:
            label, n = f"{base}-{n}", n + 1
        used.add(label.lower())
        paths.append(out_dir / f"{stem}_{label}.{fmt}")
    return paths


def write_outputs(
    outputs: Sequence[LayerOutput], out_dir: Path, stem: str, fmt: str = "png"
) -> list[Path]:
    """Write every layer: raw float32 (H, W, C) stacks (npy; TIFF one page per channel) or
    the labelled PNG grid as displayed. Returns the paths written.

    Raises
    ------
    core.images.SaveError
        A file could not be written (the files before it stay).
    """
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"format must be one of {', '.join(OUTPUT_FORMATS)}, not {fmt!r}")
    paths = output_paths(outputs, out_dir, stem, fmt)
    for output, path in zip(outputs, paths, strict=True):
        write_output(output, path)
    return paths


def write_output(output: LayerOutput, path: Path) -> None:
    """One layer's output; the suffix picks the format: ``.png`` the labelled grid as
    displayed, ``.tif``/``.tiff`` float32 pages (one per channel), ``.npy`` the raw stack."""
    suffix = path.suffix.lower()
    if suffix == ".png":
        save_png(path, labelled_grid(output.map, title=output.name)[0])
    elif suffix in (".tif", ".tiff"):
        data = output.map if output.map.ndim > 1 else output.map[None, :]
        save_raw(path, data, pages=True)
    else:
        save_raw(path, output.map)
