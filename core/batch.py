"""The batch command's work: run one kernel or a network over many image files and write
the outputs.

No printing and no exit codes here (``main.py`` owns those); every per-file problem is raised
as :class:`BatchError` with a message that names the file, and a problem with the output folder
itself (full, read-only) as :class:`OutputFolderError`, since no other input can then succeed.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.display import render
from core.images import (
    ImageError,
    SaveError,
    is_image_file,
    load_image,
    os_error_reason,
    remove_stale_staging_files,
    save_png,
    save_raw,
    staging_name,
)
from core.kernels import Kernel
from core.network import Network, NetworkError, run_network
from core.network.outputs import prepare_image, write_outputs
from core.pipeline import PipelineSettings, run_pipeline

FORMATS = ("png", "tiff", "npy")


class BatchError(Exception):
    """One input that could not be processed; the message names it and says why."""


class OutputFolderError(Exception):
    """The output folder takes no file (full, read-only, gone): no input can succeed."""


# Write errors that are about the folder or its disk, not about one input's data.
_FOLDER_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOENT}
)


def prepare_output_folder(out_dir: Path) -> list[Path]:
    """Make sure files can be written into ``out_dir`` before any input is processed.

    Removes staging files a killed earlier run left there, then writes, syncs and deletes a
    small probe file, so a read-only or full folder is found before the first input.

    Returns
    -------
    list of Path
        The stale staging files removed.

    Raises
    ------
    OutputFolderError
        The probe could not be written; the message names the folder and the reason.
    """
    removed = remove_stale_staging_files(out_dir)
    probe = out_dir / staging_name("write-probe", "probe.tmp")
    try:
        with open(probe, "wb") as file:
            file.write(b"\0" * 4096)  # a page: on a full disk even that does not fit
            file.flush()
            os.fsync(file.fileno())
    except OSError as exc:
        raise OutputFolderError(_folder_message(out_dir, exc)) from None
    finally:
        try:
            probe.unlink(missing_ok=True)
        except OSError:
            pass
    return removed


def _write_failure(path: Path, out_dir: Path, exc: SaveError) -> Exception:
    """What a failed output write means: the folder cannot take files, or this input failed."""
    if exc.errno in _FOLDER_ERRNOS:
        return OutputFolderError(_folder_message(out_dir, exc))
    return BatchError(f"{path}: {exc}")


def _folder_message(out_dir: Path, exc: OSError) -> str:
    reason = exc.reason if isinstance(exc, SaveError) else os_error_reason(exc)
    return f"cannot write to output folder {out_dir}: {reason}"


@dataclass(frozen=True)
class InputItem:
    """A file to process, or an input that already failed (a folder with no image in it)."""

    path: Path
    problem: str | None = None


def expand_inputs(paths: Iterable[str | Path]) -> Iterator[InputItem]:
    """Files as given; folders replaced by the image files directly inside them, sorted."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            images = sorted(p for p in path.iterdir() if p.is_file() and is_image_file(p))
            if not images:
                yield InputItem(path, "folder contains no image files")
            yield from (InputItem(p) for p in images)
        else:
            yield InputItem(path)


def _write(path: Path, data, fmt: str) -> None:
    if fmt == "png":
        save_png(path, render(data))
    else:
        save_raw(path, data)


def process_file(
    path: Path,
    kernel: Kernel,
    settings: PipelineSettings,
    out_dir: Path,
    fmt: str = "png",
    stem: str | None = None,
) -> list[Path]:
    """Write ``<stem>_conv`` (before the activation) and ``<stem>_pooled`` (after it).

    Without pooling, the second output is the activated map, ``<stem>_activated``.
    Returns the paths written. Raises :class:`BatchError` for a problem with this input,
    :class:`OutputFolderError` when the folder refuses the file (full, read-only).
    """
    stem = stem or path.stem
    try:
        result = run_pipeline(load_image(path), kernel, settings)
    except ImageError as exc:
        raise BatchError(str(exc)) from None
    except ValueError as exc:  # e.g. the kernel or pool window does not fit this image
        raise BatchError(f"{path}: {exc}") from None
    if result.pooled is not None:
        outputs = {"conv": result.conv, "pooled": result.pooled}
    else:
        outputs = {"conv": result.conv, "activated": result.activated}
    written = []
    for label, data in outputs.items():
        target = out_dir / f"{stem}_{label}.{fmt}"
        try:
            _write(target, data, fmt)
        except SaveError as exc:
            raise _write_failure(path, out_dir, exc) from None
        written.append(target)
    return written


def process_file_network(
    path: Path, network: Network, out_dir: Path, fmt: str = "png", stem: str | None = None
) -> list[Path]:
    """Write ``<stem>_<layer name>`` for every layer of ``network``; returns the paths."""
    stem = stem or path.stem
    try:
        image = load_image(path)
    except ImageError as exc:
        raise BatchError(str(exc)) from None
    try:
        outputs = run_network(prepare_image(image, network), network, lazy=False)
    except NetworkError as exc:  # e.g. a pool that no longer fits this image
        raise BatchError(f"{path}: {exc}") from None
    try:
        return write_outputs(outputs, out_dir, stem, fmt)
    except SaveError as exc:
        raise _write_failure(path, out_dir, exc) from None
