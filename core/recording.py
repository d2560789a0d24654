"""Record RGB frames to a video file that survives being cut off at any moment.

:class:`VideoRecorder` hands frames to a writer thread through a small bounded queue. When the
disk or encoder cannot keep up, :meth:`VideoRecorder.submit` drops the frame (and counts it)
instead of blocking the live pipeline.

Why this design (issue 12): OpenCV's ``VideoWriter`` buffers frames it has "written" and puts an
MP4's index (the ``moov`` atom) at the very end, so a recording cut short by a full disk or a
``kill -9`` lost everything (MP4) or its last 10-18 frames (AVI) while the counter claimed them.
Here PyAV (FFmpeg's own muxers) writes into a file object of ours:

* ``.avi``: Motion-JPEG, each frame flushed as its own chunk. FFmpeg-based players (VLC, mpv,
  ffplay, OpenCV) and Windows read an AVI without its final index by scanning the chunks.
* ``.mp4``: H.264 in a *fragmented* MP4 (``empty_moov``, one fragment per frame), so every
  fragment on disk is playable without a final index; browsers, QuickTime and VLC play it.

Every :data:`SYNC_SECONDS` the writer calls ``fsync`` and only then counts the frames in the
file as :attr:`~VideoRecorder.written`: the counter never claims a frame a power cut could lose.
A write error (disk full, ...) cuts the file back to the end of the last complete frame, so the
file stays readable up to it, and stops the recording with :attr:`~VideoRecorder.error`.
A recording that keeps no frame leaves no file. No temporary name + rename: that would hide
exactly the footage worth recovering after a crash.

This module never imports Qt.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import queue
import shutil
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

__all__ = ["CODECS", "MIN_FREE_BYTES", "SYNC_SECONDS", "RecordingError", "VideoRecorder"]

_log = logging.getLogger(__name__)

#: Frames reach the disk (fsync) and the counter at least this often.
SYNC_SECONDS = 0.5
#: A recording does not start with less free space than this in its folder.
MIN_FREE_BYTES = 2 * 1024 * 1024

_ERRNO_REASONS = {
    errno.ENOSPC: "disk full (no space left on device)",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large for this disk",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.EIO: "input/output error",
}


@dataclass(frozen=True)
class _Format:
    """How one container is written."""

    label: str
    container: str
    codec: str
    pix_fmt: str
    muxer_options: dict[str, str] = field(default_factory=dict)
    codec_options: dict[str, str] = field(default_factory=dict)
    #: Packets the muxer holds back: the MP4 muxer writes a frame's fragment when the next
    #: frame arrives (measured: a kill after N frames leaves N - 1 readable), the AVI muxer
    #: writes each frame at once.
    lag: int = 0


_FORMATS: dict[str, _Format] = {
    ".avi": _Format("Motion-JPEG AVI", "avi", "mjpeg", "yuvj420p", {"flush_packets": "1"}),
    ".mp4": _Format(
        "H.264 fragmented MP4",
        "mp4",
        "libx264",
        "yuv420p",
        {"flush_packets": "1", "movflags": "frag_every_frame+empty_moov+default_base_moof"},
        # zerolatency: no frame look-ahead, so each frame leaves the encoder at once.
        {"preset": "veryfast", "tune": "zerolatency", "crf": "20"},
        lag=1,
    ),
}

#: Container extension -> what is written into it.
CODECS: dict[str, str] = {ext: fmt.label for ext, fmt in _FORMATS.items()}

#: JPEG quantiser for MJPEG (FFmpeg's ``-q:v``; 2 best .. 31 worst).
_MJPEG_QUALITY = 3
_STOP = object()


class RecordingError(RuntimeError):
    """A video file could not be opened or written."""


class _TrackedFile(io.RawIOBase):
    """The video file as PyAV sees it: unbuffered writes whose position we know.

    After a failure it refuses every write, so closing the container cannot append a trailer
    behind the frames we cut the file back to.
    """

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd
        self.position = 0
        self.refuse = False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        if self.refuse:
            raise OSError(errno.EIO, "the recording has stopped")
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            done += os.write(self.fd, view[done:])
        self.position += done
        return done

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.position = os.lseek(self.fd, offset, whence)
        return self.position

    def tell(self) -> int:
        return self.position


class VideoRecorder:
    """Write uint8 RGB frames to a video file from a background thread.

    Parameters
    ----------
    path : str or pathlib.Path
        Output file, ``.avi`` (Motion-JPEG) or ``.mp4`` (H.264, fragmented). An existing file
        is overwritten when the first frame is written.
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
        The folder does not exist, is not writable or is (nearly) full, the extension is
        unsupported, or (when ``frame_size`` is given) the file cannot be created. No file is
        left behind.

    Notes
    -----
    Frame size: encoders need even dimensions, so the video size is ``frame_size`` rounded
    down to even numbers, see :attr:`frame_size`. A frame of another size is fitted to it: an
    odd-sized frame one pixel too large is trimmed, any other size is resized (stretched).
    Resizing rather than rejecting keeps a recording going when the user changes padding or
    stride mid-recording and the feature map changes size.

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
        if suffix not in _FORMATS:
            supported = ", ".join(f"{ext} ({label})" for ext, label in CODECS.items())
            raise self._fail(f"unsupported file type '{suffix}'; use {supported}")
        self._format = _FORMATS[suffix]
        self.codec = self._format.label
        folder = self.path.parent
        if not folder.is_dir():
            raise self._fail(f"folder '{folder}' does not exist")
        if not os.access(folder, os.W_OK):
            raise self._fail(f"folder '{folder}' is not writable")
        if self.path.is_dir():
            raise self._fail("it is a folder")
        free = shutil.disk_usage(folder).free
        if free < MIN_FREE_BYTES:
            raise self._fail(f"disk full ({free // 1024} KB free)")

        self._lock = threading.Lock()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._abort = threading.Event()
        self._file: _TrackedFile | None = None
        self._thread: threading.Thread | None = None
        self._size: tuple[int, int] | None = None
        self._closing = False
        self._submitted = 0
        self._written = 0
        self._dropped = 0
        self._error: RecordingError | None = None
        # Writer-thread state: the PyAV container and stream, frames encoded, packets muxed.
        self._container = None
        self._stream = None
        self._frame_time_base = Fraction(1, 30)
        self._encoded = 0
        self._muxed = 0
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
        """Frames known to be in the file on disk (counted after each ``fsync``).

        Lags the frames handed over by up to :data:`SYNC_SECONDS` plus the queue; after
        :meth:`close` it is exactly the number of frames a player reads from the file.
        """
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
        the file when no ``frame_size`` was given.

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
            if self._file is None:
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

    def _os_failure(self, exc: OSError) -> RecordingError:
        reason = _ERRNO_REASONS.get(exc.errno or 0) or exc.strerror or str(exc)
        error = self._fail(reason)
        error.__cause__ = exc
        return error

    def _open(self, frame_size: tuple[int, int]) -> None:
        """Create the file for ``frame_size`` (rounded down to even); start the thread."""
        width, height = int(frame_size[0]), int(frame_size[1])
        if width < 2 or height < 2:
            raise self._fail(f"frame size {width}x{height} is too small (minimum 2x2)")
        size = (width - width % 2, height - height % 2)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        except OSError as exc:
            raise self._os_failure(exc) from exc
        self._file = _TrackedFile(fd)
        self._size = size
        self._thread = threading.Thread(
            target=self._run, name=f"recorder: {self.path.name}", daemon=False
        )
        self._thread.start()

    def _start_container(self) -> None:
        """Open the PyAV container on our file (writer thread); writes nothing yet."""
        # Imported here, in the writer thread: PyAV takes ~0.2 s to import, which the app's
        # start-up should not pay for a feature most sessions never use.
        import av

        assert self._file is not None and self._size is not None
        fmt = self._format
        container = av.open(self._file, "w", format=fmt.container, options=fmt.muxer_options)
        try:
            rate = Fraction(self.fps).limit_denominator(1001)
            stream = container.add_stream(fmt.codec, rate=rate)
            stream.width, stream.height = self._size
            stream.pix_fmt = fmt.pix_fmt
            context = stream.codec_context
            if fmt.codec == "mjpeg":
                context.flags |= av.codec.context.Flags.qscale
                context.global_quality = _MJPEG_QUALITY * 118  # FF_QP2LAMBDA
            context.options = dict(fmt.codec_options)
        except Exception:
            container.close()
            raise
        self._container, self._stream = container, stream
        self._frame_time_base = 1 / rate

    def _run(self) -> None:
        file = self._file
        assert file is not None
        # File size and packets muxed after the last frame that was written completely.
        good_end = good_muxed = 0
        taken = 0  # frames taken from the queue
        last_sync = time.monotonic()
        failure: RecordingError | None = None
        try:
            self._start_container()
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
                taken += 1
                if self._abort.is_set():
                    continue
                self._write(item)
                good_end, good_muxed = file.position, self._muxed
                if time.monotonic() - last_sync >= SYNC_SECONDS:
                    self._sync(self._muxed - self._format.lag)
                    last_sync = time.monotonic()
            self._finish()
            self._sync(self._muxed)
        except Exception as exc:  # a full disk, a vanished folder, an encoder refusing a frame
            failure = exc if isinstance(exc, RecordingError) else None
            if failure is None:
                if not isinstance(exc, OSError):
                    _log.exception("recording to %s failed", self.path)
                failure = (
                    self._os_failure(exc) if isinstance(exc, OSError) else self._fail(str(exc))
                )
                failure.__cause__ = exc
            self._salvage(good_end, good_muxed - self._format.lag)
        finally:
            with contextlib.suppress(OSError):
                os.close(file.fd)
            while True:  # frames still queued after a failure are lost too
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                taken += item is not _STOP
            with self._lock:
                if failure is not None:
                    # The error is the last word on this recording: it says what the file holds.
                    written = self._written
                    kept = f"the file keeps its first {written} frames" if written else ""
                    self._error = RecordingError(f"{failure}; {kept or 'nothing was kept'}")
                    self._error.__cause__ = failure.__cause__
                self._dropped += taken - self._written
                nothing_kept = self._written == 0
            if nothing_kept:
                # A recording that kept no frame leaves no file (not even a header).
                self.path.unlink(missing_ok=True)

    def _write(self, image: np.ndarray) -> None:
        """Fit ``image`` to the video size, encode it and hand it to the muxer (writer thread)."""
        assert self._size is not None
        width, height = self._size
        h, w = image.shape[:2]
        if (w, h) != (width, height):
            if 0 <= w - width <= 1 and 0 <= h - height <= 1:
                image = image[:height, :width]
            else:
                shrinking = w > width or h > height
                interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
                image = cv2.resize(image, (width, height), interpolation=interpolation)
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
        import av  # already imported by _start_container; this is a dictionary look-up

        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts = self._encoded
        self._encoded += 1
        frame.time_base = self._frame_time_base
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
            self._muxed += 1

    def _finish(self) -> None:
        """Flush the encoder and write the container's trailer (index)."""
        for packet in self._stream.encode(None):
            self._container.mux(packet)
            self._muxed += 1
        container, self._container = self._container, None
        container.close()

    def _sync(self, frames_in_file: int) -> None:
        """Make the file durable, then count the frames it holds as written."""
        assert self._file is not None
        os.fsync(self._file.fd)
        with self._lock:
            self._written = max(self._written, frames_in_file)

    def _salvage(self, good_end: int, frames: int) -> None:
        """After a failed write: cut the file back to its last complete frame, keep that."""
        file = self._file
        assert file is not None
        file.refuse = True  # the container's close below must not append anything
        container, self._container = self._container, None
        if container is not None:
            with contextlib.suppress(Exception):
                container.close()
        try:
            os.ftruncate(file.fd, good_end)
            self._sync(max(0, frames))
        except OSError:
            _log.warning("could not trim %s after a failed write", self.path, exc_info=True)
