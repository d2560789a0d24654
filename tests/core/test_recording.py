"""Tests for core.recording.VideoRecorder (no Qt)."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from core import recording
from core.recording import RecordingError, VideoRecorder
from core.sources import SyntheticSource

WAIT = 10.0


def read_back(path: Path) -> list[np.ndarray]:
    """All frames of a video file, as RGB."""
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), f"{path} is not a playable video"
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    capture.release()
    return frames


def flat(value: int, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    width, height = size
    return np.full((height, width, 3), value, np.uint8)


@pytest.fixture(autouse=True)
def no_leaked_threads():
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, f"threads leaked: {leaked}"


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_write_and_read_back(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    source = SyntheticSource((64, 48))
    # queue_size >= frames: nothing can be dropped, so the counts are exact.
    recorder = VideoRecorder(path, fps=20.0, queue_size=32)
    submitted = [source.render(i) for i in range(25)]
    assert all(recorder.submit(frame) for frame in submitted)
    assert recorder.close(timeout=WAIT)
    assert recorder.written == 25
    assert recorder.dropped == 0
    assert recorder.submitted == 25
    assert recorder.error is None
    assert recorder.frame_size == (64, 48)

    frames = read_back(path)
    assert len(frames) == recorder.written
    assert all(f.shape == (48, 64, 3) for f in frames)
    # Lossy codecs, but each frame must look like the one submitted at its position (RGB order
    # preserved, not swapped to BGR).
    for got, want in zip(frames, submitted, strict=True):
        assert np.abs(got.astype(int) - want.astype(int)).mean() < 12
    capture = cv2.VideoCapture(str(path))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 25
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(20.0)
    capture.release()


def test_colour_channels_are_not_swapped(tmp_path):
    path = tmp_path / "red.avi"
    red = flat(0)
    red[..., 0] = 255
    with VideoRecorder(path, fps=10.0) as recorder:
        assert recorder.submit(red)
    (frame,) = read_back(path)
    assert frame[..., 0].mean() > 200
    assert frame[..., 2].mean() < 50


def test_counts_add_up_under_load(tmp_path):
    path = tmp_path / "burst.avi"
    source = SyntheticSource((320, 240))
    recorder = VideoRecorder(path, fps=30.0, queue_size=2)
    accepted = sum(recorder.submit(source.render(i)) for i in range(60))
    assert recorder.close(timeout=WAIT)
    assert accepted == recorder.written
    assert recorder.written + recorder.dropped == recorder.submitted == 60
    assert len(read_back(path)) == recorder.written


def test_missing_folder_raises_and_leaves_nothing(tmp_path):
    path = tmp_path / "no" / "such" / "folder" / "out.avi"
    with pytest.raises(RecordingError, match="does not exist"):
        VideoRecorder(path)
    with pytest.raises(RecordingError, match="does not exist"):
        VideoRecorder(path, frame_size=(64, 48))
    assert not (tmp_path / "no").exists()
    assert list(tmp_path.iterdir()) == []


def test_unsupported_extension_raises_and_leaves_nothing(tmp_path):
    with pytest.raises(RecordingError, match=r"unsupported file type '\.xyz'.*\.avi"):
        VideoRecorder(tmp_path / "out.xyz", frame_size=(64, 48))
    assert list(tmp_path.iterdir()) == []


def test_failed_open_leaves_no_file(tmp_path, monkeypatch):
    # Make OpenCV refuse the codec, as a build without an encoder would.
    monkeypatch.setitem(recording.CODECS, ".avi", "ZZZZ")
    path = tmp_path / "out.avi"
    with pytest.raises(RecordingError, match="could not open a 'ZZZZ' writer"):
        VideoRecorder(path, frame_size=(64, 48))
    recorder = VideoRecorder(path)
    with pytest.raises(RecordingError):
        recorder.submit(flat(0))
    assert isinstance(recorder.error, RecordingError)
    assert recorder.submit(flat(0)) is False  # stays failed, does not retry on every frame
    assert recorder.close()
    assert list(tmp_path.iterdir()) == []


def test_failed_open_keeps_an_existing_file(tmp_path, monkeypatch):
    monkeypatch.setitem(recording.CODECS, ".avi", "ZZZZ")
    path = tmp_path / "precious.avi"
    path.write_bytes(b"keep me")
    with pytest.raises(RecordingError):
        VideoRecorder(path, frame_size=(64, 48))
    assert path.read_bytes() == b"keep me"


def test_close_is_idempotent(tmp_path):
    path = tmp_path / "out.avi"
    recorder = VideoRecorder(path, frame_size=(64, 48))
    recorder.submit(flat(10))
    assert recorder.close(timeout=WAIT)
    assert recorder.close(timeout=WAIT)
    assert recorder.is_closed
    assert recorder.submit(flat(20)) is False  # after close: dropped, not written
    assert recorder.close()
    assert recorder.written == 1
    assert recorder.written + recorder.dropped == recorder.submitted == 2
    assert len(read_back(path)) == 1


def test_close_without_frames_creates_no_file(tmp_path):
    path = tmp_path / "never.avi"
    recorder = VideoRecorder(path)
    assert recorder.close()
    assert not path.exists()
    assert recorder.frame_size is None


def test_slow_writer_makes_submit_drop_instead_of_block(tmp_path, monkeypatch):
    gate = threading.Event()
    entered = threading.Event()
    original_write = VideoRecorder._write

    def slow_write(self: VideoRecorder, image: np.ndarray) -> None:
        entered.set()
        assert gate.wait(WAIT)
        original_write(self, image)

    monkeypatch.setattr(VideoRecorder, "_write", slow_write)
    path = tmp_path / "slow.avi"
    recorder = VideoRecorder(path, fps=10.0, queue_size=4)
    try:
        assert recorder.submit(flat(0))
        assert entered.wait(WAIT)  # the writer holds frame 0 and is stuck
        assert all(recorder.submit(flat(10 * i)) for i in range(1, 5))  # fills the queue
        # The queue is full and the writer is stuck: these must return at once, dropped.
        assert not any(recorder.submit(flat(100)) for _ in range(6))
        assert recorder.dropped == 6
        assert recorder.written == 0
    finally:
        gate.set()
        assert recorder.close(timeout=WAIT)
    assert recorder.written == 5
    assert recorder.written + recorder.dropped == recorder.submitted == 11
    frames = read_back(path)
    assert [round(f.mean() / 10) for f in frames] == [0, 1, 2, 3, 4]


def test_close_timeout_with_stuck_writer_then_finishes(tmp_path, monkeypatch):
    gate = threading.Event()
    entered = threading.Event()
    original_write = VideoRecorder._write

    def stuck_write(self: VideoRecorder, image: np.ndarray) -> None:
        entered.set()
        assert gate.wait(WAIT)
        original_write(self, image)

    monkeypatch.setattr(VideoRecorder, "_write", stuck_write)
    path = tmp_path / "stuck.avi"
    recorder = VideoRecorder(path, fps=10.0, queue_size=2)
    recorder.submit(flat(0))
    assert entered.wait(WAIT)
    recorder.submit(flat(10))
    recorder.submit(flat(20))
    assert recorder.close(timeout=0.05) is False  # cannot finish while the write is stuck
    gate.set()
    assert recorder.close(timeout=WAIT) is True
    # The stuck frame is written; the queued ones were discarded by the abort.
    assert recorder.written == 1
    assert recorder.written + recorder.dropped == recorder.submitted == 3
    assert len(read_back(path)) == 1


def test_write_failure_is_reported_and_file_still_finalized(tmp_path, monkeypatch):
    path = tmp_path / "fail.avi"
    recorder = VideoRecorder(path, fps=10.0, queue_size=16)
    failed = threading.Event()
    original_write = VideoRecorder._write

    def failing_write(self: VideoRecorder, image: np.ndarray) -> None:
        if self.written >= 3:
            failed.set()
            raise RecordingError("disk full")
        original_write(self, image)

    monkeypatch.setattr(VideoRecorder, "_write", failing_write)
    for i in range(6):
        recorder.submit(flat(10 * i))
    assert failed.wait(WAIT)
    assert recorder.close(timeout=WAIT)
    assert isinstance(recorder.error, RecordingError)
    assert "disk full" in str(recorder.error)
    assert recorder.submit(flat(0)) is False
    assert recorder.written == 3
    assert recorder.written + recorder.dropped == recorder.submitted == 7
    assert len(read_back(path)) == 3


def test_opencv_write_returning_false_becomes_error(tmp_path):
    path = tmp_path / "false.avi"
    recorder = VideoRecorder(path, frame_size=(64, 48))

    class RefusingWriter:
        def __init__(self, real: cv2.VideoWriter) -> None:
            self.real = real

        def write(self, image: np.ndarray) -> bool:
            return False

        def release(self) -> None:
            self.real.release()

    # Swap the writer before any frame reaches it; the thread reads the attribute per write.
    recorder._writer = RefusingWriter(recorder._writer)  # type: ignore[assignment]
    recorder.submit(flat(0))
    assert recorder.close(timeout=WAIT)
    assert recorder.error is not None
    assert "Failed to write frame 1" in str(recorder.error)
    assert recorder.written == 0


def test_frame_size_rounded_to_even_and_other_sizes_fitted(tmp_path):
    path = tmp_path / "sizes.avi"
    recorder = VideoRecorder(path, fps=10.0, queue_size=16)
    assert recorder.submit(flat(50, (65, 49)))  # odd: the video is 64x48
    assert recorder.frame_size == (64, 48)
    assert recorder.submit(flat(100, (128, 96)))  # larger: resized
    assert recorder.submit(flat(150, (20, 10)))  # smaller: resized
    assert recorder.submit(np.full((48, 64), 200, np.uint8))  # grayscale accepted
    assert recorder.close(timeout=WAIT)
    frames = read_back(path)
    assert [f.shape for f in frames] == [(48, 64, 3)] * 4
    assert [round(f.mean() / 50) for f in frames] == [1, 2, 3, 4]


def test_given_frame_size_opens_immediately(tmp_path):
    path = tmp_path / "sized.avi"
    recorder = VideoRecorder(path, frame_size=(33, 21))
    assert path.exists()
    assert recorder.frame_size == (32, 20)
    recorder.submit(flat(90, (64, 48)))
    assert recorder.close(timeout=WAIT)
    (frame,) = read_back(path)
    assert frame.shape == (20, 32, 3)


def test_submit_copies_the_callers_buffer(tmp_path, monkeypatch):
    gate = threading.Event()
    original_write = VideoRecorder._write

    def gated_write(self: VideoRecorder, image: np.ndarray) -> None:
        assert gate.wait(WAIT)
        original_write(self, image)

    monkeypatch.setattr(VideoRecorder, "_write", gated_write)
    path = tmp_path / "copy.avi"
    recorder = VideoRecorder(path, fps=10.0)
    buffer = flat(200)
    recorder.submit(buffer)
    buffer[:] = 0  # the caller reuses its buffer before the writer gets to it
    gate.set()
    assert recorder.close(timeout=WAIT)
    (frame,) = read_back(path)
    assert frame.mean() > 150


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        VideoRecorder(tmp_path / "a.avi", fps=0)
    with pytest.raises(ValueError):
        VideoRecorder(tmp_path / "a.avi", queue_size=0)
    recorder = VideoRecorder(tmp_path / "a.avi")
    with pytest.raises(ValueError, match="uint8"):
        recorder.submit(np.zeros((48, 64, 3), np.float32))
    with pytest.raises(ValueError):
        recorder.submit(np.zeros((48, 64, 4), np.uint8))
    with pytest.raises(RecordingError, match="too small"):
        recorder.submit(np.zeros((1, 1, 3), np.uint8))
    assert recorder.close()
    assert list(tmp_path.iterdir()) == []
