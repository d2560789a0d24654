"""What the workbench computes on: an opened input, and one immutable request to run the layer.

Both are made and consumed off the GUI thread (the loader and compute workers); the window
only holds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.images import load_image, to_grayscale
from core.kernels import Kernel
from core.pipeline import PipelineSettings
from core.preview import PaneView, Processed, fit_working_size, make_view, process_for_display

__all__ = ["LoadedImage", "ProcessRequest", "load_input", "run_request"]


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """An input ready to use: full working array, its display view and where it came from.

    Attributes
    ----------
    name : str
        What the window title and file names call it.
    path : pathlib.Path or None
        The file it was read from (None: clipboard, drop or a live frame).
    image : numpy.ndarray
        float32 [0, 1], (H, W) or (H, W, 3), read-only.
    view : PaneView
        The input pane's view of it.
    note : str
        Something the person should know (e.g. it was downscaled).
    gray : numpy.ndarray or None
        Its luminance, computed once: most edits run on it.
    """

    name: str
    path: Path | None
    image: np.ndarray
    view: PaneView
    note: str = ""
    gray: np.ndarray | None = None

    def owns(self, array: np.ndarray) -> bool:
        """Whether ``array`` is this input (or its luminance), i.e. a result for it is current."""
        return array is self.image or array is self.gray

    def for_mode(self, color: str) -> np.ndarray:
        """The array to send to the pipeline for this colour mode."""
        return self.gray if color == "gray" and self.gray is not None else self.image


def load_input(source: Path | tuple[str, np.ndarray]) -> LoadedImage:
    """Worker job: read (or take) an image, downscale a huge one, prepare its view.

    Parameters
    ----------
    source : Path or (name, array)
        An image file, or an image already in memory (clipboard, drop) with its name.

    Raises
    ------
    core.images.ImageError
        The file cannot be read as an image (the message names it and says why).
    """
    if isinstance(source, tuple):
        name, image, path = source[0], source[1], None
    else:
        name, image, path = source.name, load_image(source), source
    image, note = fit_working_size(image)
    gray = to_grayscale(image)
    for array in (image, gray):
        array.setflags(write=False)  # shared with the compute thread from now on
    # Inputs are drawn as they are, [0, 1] onto black..white.
    return LoadedImage(name, path, image, make_view(image, levels=(0.0, 1.0)), note, gray)


@dataclass(frozen=True, eq=False)
class ProcessRequest:
    """One run of the layer for the workbench: the array, kernel, settings and levels mode."""

    image: np.ndarray
    kernel: Kernel
    settings: PipelineSettings
    levels_mode: str


def run_request(request: ProcessRequest) -> Processed:
    """Worker job: run the layer and prepare the panes' views (see ``process_for_display``)."""
    return process_for_display(request.image, request.kernel, request.settings, request.levels_mode)
