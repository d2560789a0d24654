"""What live mode reads from: the toolbar's choice of source, and the sizes it offers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from core.sources import CameraSource, FrameSource, SourceError, SyntheticSource, VideoFileSource

__all__ = ["SIZES", "SYNTHETIC_FPS", "VIDEO_EXTENSIONS", "SourceChoice", "choice_for"]

#: Frame sizes offered for the synthetic scene and requested from cameras, (width, height).
SIZES: tuple[tuple[int, int], ...] = ((320, 240), (640, 480), (1280, 720), (1920, 1080))
# The synthetic scene of the source menu is paced like a camera: its motion is per frame, so
# unthrottled it would speed up and slow down with the display. (The benchmark starts an
# unthrottled one itself.)
SYNTHETIC_FPS = 60.0
#: File name endings offered as videos (the open dialog's filter, dropped files).
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


@dataclass(frozen=True)
class SourceChoice:
    """What live mode reads from, as chosen in the toolbar.

    Attributes
    ----------
    kind : {"synthetic", "camera", "file"}
        The kind of source.
    camera : int
        Camera index (for "camera").
    path : pathlib.Path or None
        Video file (for "file"); it loops.
    size : tuple of int or None
        Synthetic scene size, or the resolution requested from a camera (None: its default).
    mirror : bool
        Flip camera frames left-right, like a mirror (webcams facing you).
    """

    kind: Literal["synthetic", "camera", "file"] = "synthetic"
    camera: int = 0
    path: Path | None = None
    size: tuple[int, int] | None = (640, 480)
    mirror: bool = True

    def make_source(self) -> FrameSource:
        """A new, unopened source for this choice.

        Raises
        ------
        SourceError
            "file" without a path.
        """
        if self.kind == "camera":
            return CameraSource(self.camera, size=self.size, mirror=self.mirror)
        if self.kind == "file":
            if self.path is None:
                raise SourceError("Choose a video file first.")
            return VideoFileSource(self.path, loop=True)
        return SyntheticSource(self.size or (640, 480), fps=SYNTHETIC_FPS)


def choice_for(source: FrameSource, current: SourceChoice) -> SourceChoice:
    """The choice describing ``source`` (``current`` for a kind the toolbar cannot show)."""
    if isinstance(source, SyntheticSource):
        return replace(current, kind="synthetic", size=source.frame_size)
    if isinstance(source, VideoFileSource):
        return replace(current, kind="file", path=source.path)
    if isinstance(source, CameraSource):
        return replace(
            current,
            kind="camera",
            camera=source.index,
            size=source.requested_size,
            mirror=source.mirror,
        )
    return current
