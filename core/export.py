"""'Export all': everything needed to reproduce and show a result, written into one folder."""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.images import SaveError, remove_stale_staging_files, save_png, save_raw, staging_name
from core.kernels import Kernel, save_kernel
from core.network import LayerOutput, Network, save_network
from core.network.outputs import output_paths, write_output


def export_all(
    folder: str | Path,
    stem: str,
    *,
    image: np.ndarray,
    kernel: Kernel,
    outputs: dict[str, tuple[np.ndarray, np.ndarray]],
    network: Network | None = None,
    network_outputs: Sequence[LayerOutput] = (),
) -> list[Path]:
    """Write the input, the kernel JSON and each output raw (TIFF) and as displayed (PNG);
    with a ``network``, also its JSON and every layer's output raw (float32 (H, W, C)
    ``.npy``) and as a labelled PNG grid (``core.network.outputs``), named
    ``<stem>_net_<layer>.npy/.png``.

    ``outputs`` maps a label ('conv', 'pooled', ...) to (raw values, displayed RGB uint8).
    All or nothing: every file is first written under a hidden temporary name, and only when
    all of them are complete are they renamed into place; if one fails (full disk, a folder
    in the way), the others are removed and the folder is as it was. Returns the paths.
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
    if network is not None:
        jobs.append((f"{stem}_network.json", lambda p: save_network(network, p)))
        for fmt in ("npy", "png"):
            paths = output_paths(network_outputs, folder, f"{stem}_net", fmt)
            for output, path in zip(network_outputs, paths, strict=True):
                jobs.append((path.name, lambda p, o=output: write_output(o, p)))
    for name, _ in jobs:
        if (folder / name).is_dir():  # would fail at the last step, after others were renamed
            raise SaveError(folder / name, "a folder of that name is in the way")
    remove_stale_staging_files(folder)  # left by an export that was killed mid-way
    staged: list[tuple[Path, Path]] = []
    try:
        for name, write in jobs:
            final = folder / name
            # The suffix picks the format.
            temp = folder / staging_name(name, f"partial{final.suffix}")
            try:
                write(temp)
            except SaveError as exc:  # name the file the user asked for, not the staging one
                raise SaveError(final, exc.reason, errno=exc.errno) from None
            staged.append((temp, final))
        for temp, final in staged:
            try:
                os.replace(temp, final)
            except OSError as exc:
                raise SaveError(final, exc.strerror or str(exc), errno=exc.errno) from None
    except BaseException:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise
    return [final for _, final in staged]


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
