"""Record RGB frames to a video file without ever stalling the caller.

:class:`VideoRecorder` hands frames to a writer thread through a small bounded queue. When the
disk or encoder cannot keep up, :meth:`VideoRecorder.submit` drops the frame (and counts it)
instead of blocking the live pipeline.

This module is pure numpy + OpenCV + stdlib threading; it never imports Qt.

Why no temporary name + rename (unlike still-image saves): a recording is long-lived, and if
the app dies mid-way an MJPG AVI without its final index is still readable by FFmpeg. Writing
under a hidden temporary name would hide exactly the footage worth recovering. A failed *open*
leaves no file: OpenCV creates none, and the recorder deletes one if it did.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from core.sources import quiet_opencv_logging

__all__ = ["CODECS", "RecordingError", "VideoRecorder"]

_log = logging.getLogger(__name__)

#: Container extension -> FourCC. Both are encoded by the FFmpeg bundled with
#: opencv-python-headless; H.264 ("avc1") is not (no encoder in the wheel).
CODECS: dict[str, str] = {".avi": "MJPG", ".mp4": "mp4v"}

_STOP = object()


class RecordingError(RuntimeError):
    """A video file could not be opened or written."""


class VideoRecorder:
    """Write uint8 RGB frames to a video file from a background thread.

    Parameters
    ----------
    path : str or pathlib.Path
        Output file, ``.avi`` (MJPG) or ``.mp4`` (MPEG-4 Part 2, "mp4v"). An existing file is
        overwritten.
    fps : float
        Frame rate stored in the file (playback speed).
    frame_size : tuple of int, optional
        ``(width, height)`` of the video. When None it is taken from the first frame, and the
        file is opened by that first :meth:`submit`.
    queue_size : int
        Frames that may wait for the writer before :meth:`submit` starts dropping.

    Raises
    ------
    RecordingError
        The folder does not exist or is not writable, the extension is unsupported, or (when
        ``frame_size`` is given) OpenCV cannot open a writer.

    Notes
    -----
    Frame size: encoders need even dimensions (OpenCV silently trims odd ones), so the video
    size is ``frame_size`` rounded down to even numbers, see :attr:`frame_size`. A frame of
    another size is fitted to it: an odd-sized frame one pixel too large is trimmed, any other
    size is resized (stretched). Resizing rather than rejecting keeps a recording going when the
    user changes padding or stride mid-recording and the feature map changes size.

    Always call :meth:`close` (or use ``with``): it finalizes the file, and the writer thread is
    not a daemon.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        fps: float = 30.0,
        frame_size: tuple[int, int] | None = None,
        queue_size: int = 8,
    ) -> None:
        self.path = Path(path)
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        self.fps = float(fps)
        suffix = self.path.suffix.lower()
        if suffix not in CODECS:
            supported = ", ".join(f"{ext} ({codec})" for ext, codec in CODECS.items())
            raise self._fail(f"unsupported file type '{suffix}'; use {supported}")
        self.codec = CODECS[suffix]
        folder = self.path.parent
        if not folder.is_dir():
            raise self._fail(f"folder '{folder}' does not exist")
        if not os.access(folder, os.W_OK):
            raise self._fail(f"folder '{folder}' is not writable")
        if self.path.is_dir():
            raise self._fail("it is a folder")

        self._lock = threading.Lock()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._abort = threading.Event()
        self._writer: cv2.VideoWriter | None = None
        self._thread: threading.Thread | None = None
        self._size: tuple[int, int] | None = None
        self._closing = False
        self._submitted = 0
        self._written = 0
        self._dropped = 0
        self._error: RecordingError | None = None
        if frame_size is not None:
            self._open(frame_size)

    # -- state ----------------------------------------------------------------------------------

    @property
    def frame_size(self) -> tuple[int, int] | None:
        """``(width, height)`` of the video being written, or None before the first frame."""
        return self._size

    @property
    def submitted(self) -> int:
        """Frames passed to :meth:`submit`."""
        with self._lock:
            return self._submitted

    @property
    def written(self) -> int:
        """Frames written to the file."""
        with self._lock:
            return self._written

    @property
    def dropped(self) -> int:
        """Frames not written: queue full, submitted after close/error, or lost to an error.

        Once :meth:`close` has returned True, ``written + dropped == submitted``.
        """
        with self._lock:
            return self._dropped

    @property
    def error(self) -> RecordingError | None:
        """The write failure that stopped recording, or None."""
        with self._lock:
            return self._error

    @property
    def is_closed(self) -> bool:
        """True once :meth:`close` has been called."""
        with self._lock:
            return self._closing

    # -- API ------------------------------------------------------------------------------------

    def submit(self, frame_rgb: np.ndarray) -> bool:
        """Queue one frame for writing; never waits for the writer.

        The frame is copied, so the caller may reuse its buffer at once. The first frame opens
        the file when no ``frame_size`` was given (a one-off cost of a few milliseconds).

        Parameters
        ----------
        frame_rgb : numpy.ndarray
            uint8 RGB image of shape (H, W, 3), or grayscale (H, W).

        Returns
        -------
        bool
            True if queued; False if dropped because the queue is full, the recorder is closed
            or a write failed earlier (see :attr:`error`).

        Raises
        ------
        ValueError
            The array is not uint8 (H, W) or (H, W, 3).
        RecordingError
            Opening the file on the first frame failed.
        """
        image = np.asarray(frame_rgb)
        if image.dtype != np.uint8 or not (
            image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)
        ):
            raise ValueError(
                f"expected a uint8 (H, W, 3) RGB or (H, W) image, got {image.dtype} {image.shape}"
            )
        with self._lock:
            self._submitted += 1
            if self._closing or self._error is not None:
                self._dropped += 1
                return False
            if self._writer is None:
                try:
                    self._open((image.shape[1], image.shape[0]))
                except RecordingError as exc:
                    self._error = exc
                    self._dropped += 1
                    raise
            try:
                # Copy: the caller's buffer (a live pane, a reused canvas) will change.
                self._queue.put_nowait(image.copy())
            except queue.Full:
                self._dropped += 1
                return False
            return True

    def close(self, timeout: float | None = 10.0) -> bool:
        """Write what is queued, finalize the file and stop the writer thread.

        Idempotent; later calls wait again for a writer that timed out before.

        Parameters
        ----------
        timeout : float or None
            Longest wait in seconds; None waits until everything queued is written.

        Returns
        -------
        bool
            True when the file is finalized and the thread has ended. False on timeout: the
            frames still queued are then discarded (counted as dropped) and the thread
            finalizes the file as soon as its current write returns.
        """
        with self._lock:
            first_call = not self._closing
            self._closing = True
            thread = self._thread
        if thread is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        if first_call:
            try:
                self._queue.put(_STOP, timeout=timeout)
            except queue.Full:
                self._abort.set()
                # The writer thread, seeing abort, drains without writing and exits when the
                # queue is empty; the stop marker only matters if it emptied it just now.
                with contextlib.suppress(queue.Full):
                    self._queue.put_nowait(_STOP)
        thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            self._abort.set()
            return False
        return True

    def __enter__(self) -> VideoRecorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<VideoRecorder '{self.path}' written={self._written} dropped={self._dropped}"
            f"{' closed' if self._closing else ''}>"
        )

    # -- internals ------------------------------------------------------------------------------

    def _fail(self, reason: str) -> RecordingError:
        return RecordingError(f"Cannot record to '{self.path}': {reason}")

    def _open(self, frame_size: tuple[int, int]) -> None:
        """Open the writer at ``frame_size`` (rounded down to even) and start the thread."""
        width, height = int(frame_size[0]), int(frame_size[1])
        if width < 2 or height < 2:
            raise self._fail(f"frame size {width}x{height} is too small (minimum 2x2)")
        size = (width - width % 2, height - height % 2)
        existed = self.path.exists()
        with quiet_opencv_logging():
            writer = cv2.VideoWriter(
                str(self.path), cv2.VideoWriter.fourcc(*self.codec), self.fps, size
            )
        if not writer.isOpened():
            writer.release()
            if not existed:
                self.path.unlink(missing_ok=True)
            raise self._fail(
                f"OpenCV could not open a '{self.codec}' writer for "
                f"{self.path.suffix} at {size[0]}x{size[1]}"
            )
        self._writer = writer
        self._size = size
        self._thread = threading.Thread(
            target=self._run, name=f"recorder: {self.path.name}", daemon=False
        )
        self._thread.start()

    def _run(self) -> None:
        writer = self._writer
        assert writer is not None
        try:
            while True:
                if self._abort.is_set():
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                else:
                    item = self._queue.get()
                if item is _STOP:
                    break
                assert isinstance(item, np.ndarray)
                if self._abort.is_set() or self.error is not None:
                    with self._lock:
                        self._dropped += 1
                    continue
                try:
                    self._write(item)
                except Exception as exc:
                    error = exc if isinstance(exc, RecordingError) else None
                    if error is None:
                        _log.exception("writing to %s failed", self.path)
                        error = self._fail(f"write failed: {exc}")
                        error.__cause__ = exc
                    with self._lock:
                        self._error = error
                        self._dropped += 1
                else:
                    with self._lock:
                        self._written += 1
        finally:
            # release() writes the container index: only now is the file complete.
            writer.release()

    def _write(self, image: np.ndarray) -> None:
        """Fit ``image`` to the video size, convert to BGR and write it (writer thread)."""
        assert self._writer is not None and self._size is not None
        width, height = self._size
        h, w = image.shape[:2]
        if (w, h) != (width, height):
            if 0 <= w - width <= 1 and 0 <= h - height <= 1:
                image = image[:height, :width]
            else:
                shrinking = w > width or h > height
                interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
                image = cv2.resize(image, (width, height), interpolation=interpolation)
        code = cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_RGB2BGR
        bgr = cv2.cvtColor(image, code)
        # OpenCV 5 returns False on failure; OpenCV 4 returns None and fails silently.
        if self._writer.write(bgr) is False:
            raise RecordingError(f"Failed to write frame {self.written + 1} to '{self.path}'")
