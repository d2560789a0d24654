"""Frame sources for live mode: camera, video file and a synthetic scene.

Every source sits behind the small :class:`FrameSource` interface, so the capture thread, the
UI and the tests treat a webcam, a video file and generated frames the same way. Frames leave a
source as :class:`Frame` objects holding a fresh uint8 RGB array that the caller owns.

:class:`CaptureThread` drives one source in its own thread and keeps only the newest frame in a
single "latest frame" slot, so a slow consumer always works on the freshest picture and never
builds a backlog.

This module is pure numpy + OpenCV + ``threading``; it never imports Qt.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

# FFmpeg inside OpenCV prints decoder complaints ("[mjpeg @ 0x...] overread 8") straight to the
# terminal from its own log callback; cv2.setLogLevel does not reach it. OpenCV reads this
# variable once, when its FFmpeg backend first opens a file, and then sets FFmpeg's level (-8:
# quiet). Our own messages say which file failed and why. A value set by the user wins.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2
import numpy as np

__all__ = [
    "CameraSource",
    "CaptureThread",
    "Frame",
    "FrameSource",
    "SourceError",
    "SyntheticSource",
    "VideoFileSource",
    "probe_cameras",
    "quiet_opencv_logging",
]

_log = logging.getLogger(__name__)


class SourceError(RuntimeError):
    """A frame source could not be opened or stopped delivering frames."""


@dataclass(frozen=True, eq=False, slots=True)
class Frame:
    """One captured frame.

    Attributes
    ----------
    image : numpy.ndarray
        uint8 RGB image of shape (H, W, 3), C-contiguous. A fresh array owned by the receiver:
        it shares no memory with the source or with any other frame.
    index : int
        Frame counter of the source, starting at 0 after ``open()`` and increasing by one per
        frame (it keeps counting when a video file loops).
    timestamp : float
        ``time.perf_counter()`` when the frame was captured.
    """

    image: np.ndarray
    index: int
    timestamp: float


# --------------------------------------------------------------------------------------------
# OpenCV logging
# --------------------------------------------------------------------------------------------

# OpenCV's log level is process-global. Nested/concurrent quiet blocks share one saved level via
# a reference count, so two threads probing at once cannot leave OpenCV silenced for good.
_quiet_lock = threading.Lock()
_quiet_depth = 0
_quiet_saved_level: int | None = None


@contextlib.contextmanager
def quiet_opencv_logging() -> Iterator[None]:
    """Silence OpenCV's own log output inside a ``with`` block.

    Used around probes that are expected to fail (a missing camera index, an unreadable file),
    where OpenCV would otherwise print "can't open camera by index" warnings to stderr. The
    level is process-wide; concurrent blocks are reference-counted so the previous level is
    restored when the last one exits. FFmpeg's own messages are not affected.
    """
    global _quiet_depth, _quiet_saved_level
    with _quiet_lock:
        if _quiet_depth == 0:
            _quiet_saved_level = cv2.utils.logging.getLogLevel()
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0 and _quiet_saved_level is not None:
                cv2.utils.logging.setLogLevel(_quiet_saved_level)
                _quiet_saved_level = None


def _bgr_to_rgb(image: np.ndarray) -> np.ndarray:
    """Convert a frame from ``VideoCapture.read()`` to a fresh C-contiguous RGB array."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    # cvtColor always allocates its output, which is the copy at the thread boundary.
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


# --------------------------------------------------------------------------------------------
# The interface
# --------------------------------------------------------------------------------------------


class FrameSource(ABC):
    """Base class of all frame sources.

    Subclasses implement ``_open``, ``_grab`` and ``_close``; this base class does the
    bookkeeping (open state, frame counter, timestamps) so all sources behave alike.

    A source is used from one thread at a time. It is a context manager: ``with source:`` opens
    it and closes it on exit.
    """

    def __init__(self) -> None:
        self._is_open = False
        self._next_index = 0

    # -- public API ---------------------------------------------------------------------------

    @property
    @abstractmethod
    def name(self) -> str:
        """Short human-readable description for the UI, e.g. ``"Camera 0"``."""

    @property
    @abstractmethod
    def frame_size(self) -> tuple[int, int] | None:
        """``(width, height)`` of the frames, or None while it is not known (before open)."""

    @property
    def nominal_fps(self) -> float | None:
        """Frame rate the source claims (camera setting, file header), or None if unknown."""
        return None

    @property
    def pace_fps(self) -> float | None:
        """Rate a reader should pace ``read()`` to, or None for "read as fast as it returns".

        None for cameras, whose ``read()`` already blocks until the device delivers a frame
        (pacing them on top would make the driver queue stale frames), and for unthrottled
        synthetic sources. A video file is paced to its own frame rate.
        """
        return None

    @property
    def is_open(self) -> bool:
        """True between a successful ``open()`` and ``close()``."""
        return self._is_open

    def open(self) -> None:
        """Open the source; resets the frame counter. Opening an open source does nothing.

        Raises
        ------
        SourceError
            When the device or file cannot be opened.
        """
        if self._is_open:
            return
        self._open()
        self._is_open = True
        self._next_index = 0

    def read(self) -> Frame | None:
        """Return the next frame, or None at the end of a non-looping stream.

        Raises
        ------
        SourceError
            When the source is not open, or fails mid-stream (e.g. a camera is unplugged).
        """
        if not self._is_open:
            raise SourceError(f"{self.name} is not open")
        image = self._grab()
        if image is None:
            return None
        timestamp = time.perf_counter()
        frame = Frame(np.ascontiguousarray(image), self._next_index, timestamp)
        self._next_index += 1
        return frame

    def close(self) -> None:
        """Release the device or file. Safe to call more than once."""
        if not self._is_open:
            return
        self._is_open = False
        self._close()

    def __enter__(self) -> FrameSource:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "open" if self._is_open else "closed"
        return f"<{type(self).__name__} {self.name!r} {state}>"

    # -- for subclasses -----------------------------------------------------------------------

    @abstractmethod
    def _open(self) -> None:
        """Acquire the device/file; raise SourceError on failure."""

    @abstractmethod
    def _grab(self) -> np.ndarray | None:
        """Return a new uint8 RGB (H, W, 3) array owned by the caller, or None at the end."""

    @abstractmethod
    def _close(self) -> None:
        """Release the device/file (called once per successful open)."""


# --------------------------------------------------------------------------------------------
# Camera
# --------------------------------------------------------------------------------------------


class CameraSource(FrameSource):
    """A webcam read through ``cv2.VideoCapture(index)``.

    Parameters
    ----------
    index : int
        Camera index (0 is the first camera).
    size : tuple of int, optional
        Requested ``(width, height)``. The driver may pick the nearest mode it supports; the
        actual size is in :attr:`frame_size` after ``open()``.
    fps : float, optional
        Requested frame rate (a hint; many drivers ignore it).
    mirror : bool
        Flip frames horizontally, as a selfie view expects.
    """

    # Consecutive failed reads before the camera counts as gone: one failed grab can be a glitch.
    _MAX_FAILED_READS = 3

    def __init__(
        self,
        index: int,
        size: tuple[int, int] | None = None,
        fps: float | None = None,
        mirror: bool = False,
    ) -> None:
        super().__init__()
        if index < 0:
            raise ValueError(f"camera index must be >= 0, got {index}")
        self.index = int(index)
        self.requested_size = size
        self.requested_fps = fps
        self.mirror = mirror
        self._capture: cv2.VideoCapture | None = None
        self._size: tuple[int, int] | None = None
        self._fps: float | None = None

    @property
    def name(self) -> str:
        return f"Camera {self.index}"

    @property
    def frame_size(self) -> tuple[int, int] | None:
        return self._size

    @property
    def nominal_fps(self) -> float | None:
        return self._fps

    def _open(self) -> None:
        with quiet_opencv_logging():
            capture = cv2.VideoCapture(self.index)
            if not capture.isOpened():
                capture.release()
                raise SourceError(f"No camera at index {self.index}")
            if self.requested_size is not None:
                width, height = self.requested_size
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, float(width))
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, float(height))
            if self.requested_fps is not None:
                capture.set(cv2.CAP_PROP_FPS, float(self.requested_fps))
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self._size = (width, height) if width > 0 and height > 0 else None
        self._fps = _plausible_fps(capture.get(cv2.CAP_PROP_FPS))
        self._capture = capture

    def _grab(self) -> np.ndarray | None:
        assert self._capture is not None
        for _ in range(self._MAX_FAILED_READS):
            ok, image = self._capture.read()
            if ok and image is not None:
                rgb = _bgr_to_rgb(image)
                if self.mirror:
                    rgb = cv2.flip(rgb, 1)
                self._size = (rgb.shape[1], rgb.shape[0])
                return rgb
        raise SourceError(f"Camera {self.index} stopped delivering frames")

    def _close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


def probe_cameras(max_index: int = 4) -> list[int]:
    """List camera indices in ``0 .. max_index - 1`` that open and deliver a frame.

    Parameters
    ----------
    max_index : int
        Number of indices to try.

    Returns
    -------
    list of int
        Working camera indices, in increasing order; empty on a machine without cameras.
    """
    found: list[int] = []
    with quiet_opencv_logging():
        for index in range(max_index):
            capture = cv2.VideoCapture(index)
            try:
                if capture.isOpened() and capture.read()[0]:
                    found.append(index)
            finally:
                capture.release()
    return found


def _plausible_fps(value: float) -> float | None:
    # Backends report 0, NaN or container time bases (e.g. 90000) when they do not know.
    if math.isfinite(value) and 0.0 < value <= 1000.0:
        return float(value)
    return None


# --------------------------------------------------------------------------------------------
# Video file
# --------------------------------------------------------------------------------------------


class VideoFileSource(FrameSource):
    """Frames decoded from a video file.

    Parameters
    ----------
    path : str or pathlib.Path
        Any file OpenCV's FFmpeg backend can read (a still image reads as a one-frame video).
    loop : bool
        At the end, start again from the first frame (True) or return None from ``read()``.

    Notes
    -----
    ``read()`` returns frames as fast as they decode; pacing to :attr:`pace_fps` is the job of
    the reader (see :class:`CaptureThread`).

    A file that ends early is reported, not looped in silence: ``read()`` raises
    :class:`SourceError` when a pass ends well before the frame count the header claims (a cut
    or half-copied file), when the file changed or vanished while playing (FFmpeg would replay
    what it buffered), or when it cannot be read again from the start.
    """

    def __init__(self, path: str | Path, loop: bool = True) -> None:
        super().__init__()
        self.path = Path(path)
        self.loop = loop
        self._capture: cv2.VideoCapture | None = None
        self._size: tuple[int, int] | None = None
        self._fps: float | None = None
        self._frame_count: int | None = None
        # The frame decoded by open() to prove the file is readable; returned by the first read.
        self._pending: np.ndarray | None = None
        self._identity: tuple[int, int] | None = None  # (size, mtime) when opened
        self._pass_frames = 0  # frames decoded since the start of the file

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def frame_size(self) -> tuple[int, int] | None:
        return self._size

    @property
    def nominal_fps(self) -> float | None:
        return self._fps

    @property
    def pace_fps(self) -> float | None:
        return self._fps

    @property
    def frame_count(self) -> int | None:
        """Number of frames the container claims, or None when it does not say.

        An estimate from the file header (``CAP_PROP_FRAME_COUNT``): exact for files OpenCV
        wrote, but may be off for variable-frame-rate files and is absurd for still images.
        """
        return self._frame_count

    def _fail(self, reason: str) -> SourceError:
        return SourceError(f"Cannot open video file '{self.path}': {reason}")

    def _open_capture(self) -> cv2.VideoCapture:
        with quiet_opencv_logging():
            capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            capture.release()
            raise self._fail("not a video OpenCV can read")
        return capture

    def _open(self) -> None:
        if not self.path.exists():
            raise self._fail("no such file")
        if self.path.is_dir():
            raise self._fail("it is a folder")
        capture = self._open_capture()
        ok, image = capture.read()
        if not ok or image is None:
            # Opens (the container parses) but no frame decodes: as useless as garbage.
            capture.release()
            raise self._fail("no frame could be decoded")
        self._pending = _bgr_to_rgb(image)
        self._size = (self._pending.shape[1], self._pending.shape[0])
        self._fps = _plausible_fps(capture.get(cv2.CAP_PROP_FPS))
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        self._frame_count = int(count) if math.isfinite(count) and 0 < count < 1e9 else None
        self._identity = self._file_identity()
        self._pass_frames = 1
        self._capture = capture

    def _file_identity(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_size, stat.st_mtime_ns)

    def _check_pass_end(self) -> None:
        """At the end of a pass: raise if the file ended early or stopped giving frames."""
        frames, count = self._pass_frames, self._frame_count
        where = f"Video file '{self.path}'"
        now = self._file_identity()
        if now != self._identity:
            change = "was removed" if now is None else f"changed (now {now[0]:,} bytes)"
            raise SourceError(f"{where} {change} while playing; it stopped after {frames} frames")
        # Headers of variable-frame-rate files can overstate the count a little: allow 5 %.
        if count is not None and frames < count - max(2, count // 20):
            raise SourceError(
                f"{where} ends early: only {frames} of its {count} frames could be read "
                "(the file is cut short or damaged)"
            )

    def _grab(self) -> np.ndarray | None:
        assert self._capture is not None
        if self._pending is not None:
            image, self._pending = self._pending, None
            return image
        ok, image = self._capture.read()
        if ok and image is not None:
            self._pass_frames += 1
            return _bgr_to_rgb(image)
        self._check_pass_end()
        if not self.loop:
            return None
        self._pass_frames = 0
        image = self._rewind_and_read()
        self._pass_frames = 1
        return image

    def _rewind_and_read(self) -> np.ndarray:
        assert self._capture is not None
        # Seeking is fast but not every container/codec supports it; reopening always works.
        if self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0):
            ok, image = self._capture.read()
            if ok and image is not None:
                return _bgr_to_rgb(image)
        self._capture.release()
        self._capture = None
        self._capture = self._open_capture()
        ok, image = self._capture.read()
        if not ok or image is None:
            raise SourceError(
                f"Video file '{self.path}' stopped yielding new frames: it could not be read "
                "again from the start"
            )
        return _bgr_to_rgb(image)

    def _close(self) -> None:
        self._pending = None
        if self._capture is not None:
            self._capture.release()
            self._capture = None


# --------------------------------------------------------------------------------------------
# Synthetic scene
# --------------------------------------------------------------------------------------------


class SyntheticSource(FrameSource):
    """A generated test scene: bars, lines and shapes moving in several orientations.

    On a dark background: a horizontal bar sweeping down, a vertical bar sweeping across,
    diagonal stripes drifting, a rotating rectangle, a bouncing circle and a rotating fan of
    thin lines. Every orientation a first-layer edge detector responds to is present.

    Parameters
    ----------
    size : tuple of int
        ``(width, height)`` of the frames; any positive size.
    fps : float, optional
        Rate a reader should pace to (:attr:`pace_fps`); None means unthrottled.
    seed : int
        Picks colours, speeds and phases. The frame for a given ``(size, seed, index)`` is
        always the same.
    """

    def __init__(
        self, size: tuple[int, int] = (640, 480), fps: float | None = None, seed: int = 0
    ) -> None:
        super().__init__()
        width, height = int(size[0]), int(size[1])
        if width < 1 or height < 1:
            raise ValueError(f"size must be positive, got {size}")
        if fps is not None and fps <= 0:
            raise ValueError(f"fps must be positive or None, got {fps}")
        self._size = (width, height)
        self._fps = None if fps is None else float(fps)
        self.seed = seed
        rng = np.random.default_rng(seed)
        # Bright, saturated-ish RGB colours so every channel carries edges.
        self._colors = [tuple(int(c) for c in rng.integers(110, 256, size=3)) for _ in range(6)]
        self._phases = rng.uniform(0.0, 1.0, size=6)
        self._speeds = rng.uniform(0.7, 1.3, size=6)
        self._background = self._make_background()
        self._canvas = np.empty_like(self._background)
        # render() may be called from a test or the UI while a capture thread reads.
        self._canvas_lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"Synthetic {self._size[0]}x{self._size[1]}"

    @property
    def frame_size(self) -> tuple[int, int]:
        return self._size

    @property
    def nominal_fps(self) -> float | None:
        return self._fps

    @property
    def pace_fps(self) -> float | None:
        return self._fps

    def _make_background(self) -> np.ndarray:
        width, height = self._size
        # A faint vertical gradient: dark, but not a flat zero that hides kernel bias effects.
        ramp = np.linspace(12, 36, height, dtype=np.float32)[:, None, None]
        tint = np.array([0.8, 0.9, 1.2], dtype=np.float32)
        background = np.broadcast_to(ramp * tint, (height, width, 3))
        return np.ascontiguousarray(background.astype(np.uint8))

    def render(self, index: int) -> np.ndarray:
        """Draw frame ``index``.

        Parameters
        ----------
        index : int
            Frame number; the scene is a pure function of it.

        Returns
        -------
        numpy.ndarray
            A new uint8 RGB array of shape (height, width, 3).
        """
        with self._canvas_lock:
            self._draw(self._canvas, float(index))
            return self._canvas.copy()

    def _draw(self, canvas: np.ndarray, t: float) -> None:
        width, height = self._size
        np.copyto(canvas, self._background)
        scale = min(width, height)
        thick = max(1, round(scale / 24))
        phase, speed, colors = self._phases, self._speeds, self._colors

        def sweep(k: int, period: float) -> float:
            """Position in [0, 1) moving at a steady rate, wrapping around."""
            return (phase[k] + t * speed[k] / period) % 1.0

        # Horizontal bar sweeping down, vertical bar sweeping right.
        y = int(sweep(0, 180) * (height + 2 * thick)) - thick
        cv2.rectangle(canvas, (0, y), (width - 1, y + thick), colors[0], -1)
        x = int(sweep(1, 240) * (width + 2 * thick)) - thick
        cv2.rectangle(canvas, (x, 0), (x + thick, height - 1), colors[1], -1)

        # Three parallel 45-degree stripes drifting along the anti-diagonal.
        offset = sweep(2, 150) * (width + height)
        gap = max(2 * thick, (width + height) // 8)
        for j in range(3):
            c = int(offset) + j * gap - height
            cv2.line(canvas, (c, height), (c + height, 0), colors[2], thick, cv2.LINE_AA)

        # A filled rectangle rotating about the centre-left.
        angle = (phase[3] * 360.0 + t * 2.0 * speed[3]) % 360.0
        box = ((width * 0.3, height * 0.6), (scale * 0.35, scale * 0.18), angle)
        corners = np.round(cv2.boxPoints(box)).astype(np.int32)
        cv2.fillConvexPoly(canvas, corners, colors[3], cv2.LINE_AA)

        # A circle bouncing around the frame (triangle waves keep it inside).
        radius = max(1, round(scale * 0.09))
        bx = 1.0 - abs(2.0 * sweep(4, 130) - 1.0)
        by = 1.0 - abs(2.0 * sweep(5, 97) - 1.0)
        centre = (
            int(radius + bx * max(0, width - 2 * radius)),
            int(radius + by * max(0, height - 2 * radius)),
        )
        cv2.circle(canvas, centre, radius, colors[4], -1, cv2.LINE_AA)

        # A fan of thin lines rotating slowly: every orientation, at 1 px width.
        hub = (width * 0.75, height * 0.3)
        length = scale * 0.2
        base = math.radians((phase[5] * 360.0 - t * 0.5) % 360.0)
        for j in range(6):
            a = base + j * math.pi / 6
            p0 = (int(hub[0] - length * math.cos(a)), int(hub[1] - length * math.sin(a)))
            p1 = (int(hub[0] + length * math.cos(a)), int(hub[1] + length * math.sin(a)))
            cv2.line(canvas, p0, p1, colors[5], 1, cv2.LINE_AA)

    def _open(self) -> None:
        pass

    def _grab(self) -> np.ndarray:
        return self.render(self._next_index)

    def _close(self) -> None:
        pass


# --------------------------------------------------------------------------------------------
# Capture thread
# --------------------------------------------------------------------------------------------


class CaptureThread(threading.Thread):
    """Reads a source in a background thread into a single "latest frame" slot.

    The thread opens the source (unless it is already open), reads frames, optionally paces
    them, and overwrites one slot with each new frame; a frame nobody took before the next one
    arrived counts as dropped. It stops when :meth:`stop` is called, at the end of a
    non-looping file, or when the source raises :class:`SourceError` (kept in :attr:`error`).
    The source is closed by the time the thread ends.

    Parameters
    ----------
    source : FrameSource
        The source to read; the thread owns it from ``start()`` on.
    fps : float, None or "source"
        Pacing: ``"source"`` uses ``source.pace_fps``; None reads as fast as the source
        returns; a number paces to that rate.
    on_frame : callable, optional
        ``on_frame()`` is called from the capture thread after each frame is stored, e.g. to
        wake a processing worker. Keep it short and non-blocking.
    on_stopped : callable, optional
        ``on_stopped(error)`` is called once from the capture thread when it ends, with the
        :class:`SourceError` that stopped it or None.
    name : str, optional
        Thread name; defaults to ``"capture: <source name>"``.

    Notes
    -----
    An exception from a callback, or any unexpected exception from the source, stops the
    thread too; it is wrapped in a :class:`SourceError` (with the original as ``__cause__``)
    so :attr:`error` and ``on_stopped`` always report why capture ended.
    """

    # Weight of the newest frame interval in the smoothed rate.
    _FPS_SMOOTHING = 0.1

    def __init__(
        self,
        source: FrameSource,
        *,
        fps: float | Literal["source"] | None = "source",
        on_frame: Callable[[], object] | None = None,
        on_stopped: Callable[[SourceError | None], object] | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name or f"capture: {source.name}", daemon=False)
        if fps is not None and fps != "source" and not fps > 0:
            raise ValueError(f"fps must be positive, None or 'source', got {fps!r}")
        self.source = source
        self._pace = fps
        self._on_frame = on_frame
        self._on_stopped = on_stopped
        # Not "_stop"/"_started": threading.Thread uses those names internally.
        self._stop_requested = threading.Event()
        self._slot_cond = threading.Condition()
        self._slot: Frame | None = None
        self._finished = False
        self._captured = 0
        self._dropped = 0
        self._mean_interval: float | None = None
        self._last_timestamp: float | None = None
        self._error: SourceError | None = None

    # -- counters -----------------------------------------------------------------------------

    @property
    def captured(self) -> int:
        """Frames read from the source so far."""
        with self._slot_cond:
            return self._captured

    @property
    def dropped(self) -> int:
        """Frames overwritten in the slot before anyone took them."""
        with self._slot_cond:
            return self._dropped

    @property
    def fps(self) -> float:
        """Smoothed capture rate in frames per second (0.0 until two frames arrived)."""
        with self._slot_cond:
            interval = self._mean_interval
        return 1.0 / interval if interval else 0.0

    @property
    def error(self) -> SourceError | None:
        """The error that stopped the thread, or None."""
        with self._slot_cond:
            return self._error

    @property
    def finished(self) -> bool:
        """True once the capture loop has ended (the source is closed)."""
        with self._slot_cond:
            return self._finished

    # -- control ------------------------------------------------------------------------------

    def stop(self, timeout: float | None = 5.0) -> bool:
        """Ask the thread to stop, wait for it and close the source.

        Idempotent and callable from any thread, including from the ``on_frame`` and
        ``on_stopped`` callbacks (then it only requests the stop, since a thread cannot join
        itself).

        Parameters
        ----------
        timeout : float or None
            Longest wait for the thread to end, in seconds; None waits as long as it takes.

        Returns
        -------
        bool
            True when the thread has ended (or was never started), False on timeout, e.g. if
            a camera driver is stuck in a read; the thread then ends when that read returns.
        """
        self._stop_requested.set()
        with self._slot_cond:
            self._slot_cond.notify_all()
        if threading.current_thread() is self:
            return False
        if self.ident is None:
            # Never started: nothing to join, but the source must still be released.
            with self._slot_cond:
                self._finished = True
                self._slot_cond.notify_all()
            self.source.close()
            return True
        self.join(timeout)
        if self.is_alive():
            return False
        # The run loop already closed it; this covers a source opened by the caller on a thread
        # that ended before reaching its loop.
        self.source.close()
        return True

    def take_latest(self, timeout: float | None = None) -> Frame | None:
        """Take the newest frame, waiting for one if the slot is empty.

        Each frame is handed out at most once.

        Parameters
        ----------
        timeout : float or None
            Longest wait in seconds; None waits until a frame arrives or the thread stops.

        Returns
        -------
        Frame or None
            The newest untaken frame, or None on timeout or once the thread has stopped and
            the slot is empty.
        """
        with self._slot_cond:
            self._slot_cond.wait_for(
                lambda: self._slot is not None or self._finished or self._stop_requested.is_set(),
                timeout,
            )
            frame, self._slot = self._slot, None
            return frame

    # -- the loop -----------------------------------------------------------------------------

    def run(self) -> None:
        error: SourceError | None = None
        try:
            self._capture_loop()
        except SourceError as exc:
            error = exc
        except Exception as exc:
            _log.exception("capture from %s failed", self.source.name)
            error = SourceError(f"{self.source.name}: unexpected error: {exc}")
            error.__cause__ = exc
        finally:
            try:
                self.source.close()
            except Exception:
                _log.exception("closing %s failed", self.source.name)
            with self._slot_cond:
                self._error = error
                self._finished = True
                self._slot_cond.notify_all()
        if self._on_stopped is not None:
            try:
                self._on_stopped(error)
            except Exception:
                _log.exception("on_stopped callback failed")

    def _capture_loop(self) -> None:
        source = self.source
        if self._stop_requested.is_set():
            return
        source.open()
        rate = source.pace_fps if self._pace == "source" else self._pace
        period = 1.0 / rate if rate else 0.0
        next_tick = time.perf_counter()
        while not self._stop_requested.is_set():
            frame = source.read()
            if frame is None:
                return
            self._store(frame)
            if self._on_frame is not None:
                self._on_frame()
            if period:
                next_tick += period
                delay = next_tick - time.perf_counter()
                if delay > 0:
                    # Event.wait rather than time.sleep, so stop() interrupts the pause.
                    if self._stop_requested.wait(delay):
                        return
                elif delay < -period:
                    # Fell behind (slow decode): resume from now instead of bursting to catch up.
                    next_tick = time.perf_counter()

    def _store(self, frame: Frame) -> None:
        with self._slot_cond:
            if self._slot is not None:
                self._dropped += 1
            self._slot = frame
            self._captured += 1
            if self._last_timestamp is not None:
                interval = frame.timestamp - self._last_timestamp
                if self._mean_interval is None:
                    self._mean_interval = interval
                else:
                    w = self._FPS_SMOOTHING
                    self._mean_interval = (1.0 - w) * self._mean_interval + w * interval
            self._last_timestamp = frame.timestamp
            self._slot_cond.notify_all()
