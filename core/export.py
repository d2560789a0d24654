"""'Export all': everything needed to reproduce and show a result, written into one folder."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np

from core.images import SaveError, save_png, save_raw
from core.kernels import Kernel, save_kernel


def export_all(
    folder: str | Path,
    stem: str,
    *,
    image: np.ndarray,
    kernel: Kernel,
    outputs: dict[str, tuple[np.ndarray, np.ndarray]],
) -> list[Path]:
    """Write the input, the kernel JSON and each output raw (TIFF) and as displayed (PNG).

    ``outputs`` maps a label ('conv', 'pooled', ...) to (raw values, displayed RGB uint8).
    Each file is written atomically; returns the paths written.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SaveError(folder, "folder does not exist", errno=errno.ENOENT)
    jobs = [
        (f"{stem}_input.png", lambda p: save_png(p, _to_uint8(image))),
        (f"{stem}_kernel.json", lambda p: save_kernel(p, kernel)),
    ]
    for label, (raw, displayed) in outputs.items():
        jobs.append((f"{stem}_{label}.tif", lambda p, a=raw: save_raw(p, a)))
        jobs.append((f"{stem}_{label}.png", lambda p, a=displayed: save_png(p, a)))
    written = []
    for name, write in jobs:
        write(folder / name)
        written.append(folder / name)
    return written


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
