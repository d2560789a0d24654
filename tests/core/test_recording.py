"""Tests for core.recording.VideoRecorder (no Qt)."""

from __future__ import annotations

import errno
import shutil
import signal
import subprocess
import sys
import threading
import time
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


def test_file_that_cannot_be_created_raises_and_leaves_nothing(tmp_path, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(recording.os, "open", refuse)
    path = tmp_path / "out.avi"
    with pytest.raises(RecordingError, match="permission denied"):
        VideoRecorder(path, frame_size=(64, 48))
    recorder = VideoRecorder(path)
    with pytest.raises(RecordingError):
        recorder.submit(flat(0))
    assert isinstance(recorder.error, RecordingError)
    assert recorder.submit(flat(0)) is False  # stays failed, does not retry on every frame
    assert recorder.close()
    assert list(tmp_path.iterdir()) == []


def test_file_that_cannot_be_created_keeps_an_existing_file(tmp_path, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(recording.os, "open", refuse)
    path = tmp_path / "precious.avi"
    path.write_bytes(b"keep me")
    with pytest.raises(RecordingError):
        VideoRecorder(path, frame_size=(64, 48))
    assert path.read_bytes() == b"keep me"


def test_a_full_disk_refuses_to_start_and_leaves_nothing(tmp_path, monkeypatch):
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(recording.shutil, "disk_usage", lambda _p: usage._replace(free=100 * 1024))
    for suffix in (".avi", ".mp4"):
        with pytest.raises(RecordingError, match=r"disk full \(100 KB free\)"):
            VideoRecorder(tmp_path / f"out{suffix}")
    assert list(tmp_path.iterdir()) == []


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


def fill_disk_after(monkeypatch, limit: int) -> dict[str, int]:
    """Make the recorder's file behave like a disk with ``limit`` bytes free.

    The write that does not fit writes what fits, then fails with ENOSPC, as a real disk does.
    """
    original = recording._TrackedFile.write
    state = {"bytes": 0, "refused": 0}

    def write(self, data) -> int:
        room = limit - state["bytes"]
        view = memoryview(data).cast("B")
        if len(view) > room:
            state["refused"] += 1
            if room > 0:
                state["bytes"] += original(self, view[:room])
            raise OSError(errno.ENOSPC, "No space left on device")
        state["bytes"] += original(self, view)
        return len(view)

    monkeypatch.setattr(recording._TrackedFile, "write", write)
    return state


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_disk_full_keeps_every_frame_written_and_says_so(tmp_path, monkeypatch, suffix):
    state = fill_disk_after(monkeypatch, 150_000)
    path = tmp_path / f"full{suffix}"
    rng = np.random.default_rng(0)
    recorder = VideoRecorder(path, fps=20.0, queue_size=200)
    for _ in range(120):
        recorder.submit(rng.integers(0, 256, (120, 160, 3), np.uint8))  # noise: many bytes
    assert recorder.close(timeout=WAIT)
    assert state["refused"] >= 1
    assert isinstance(recorder.error, RecordingError)
    assert str(recorder.error) == (
        f"Cannot record to '{path}': disk full (no space left on device); "
        f"the file keeps its first {recorder.written} frames"
    )
    assert 0 < recorder.written < 120
    assert recorder.written + recorder.dropped == recorder.submitted == 120
    # The file was cut back to its last complete frame: readable, and exactly what was counted.
    assert path.stat().st_size <= 150_000
    assert len(read_back(path)) == recorder.written


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_disk_full_before_the_first_frame_leaves_no_file(tmp_path, monkeypatch, suffix):
    fill_disk_after(monkeypatch, 0)
    path = tmp_path / f"none{suffix}"
    recorder = VideoRecorder(path, fps=10.0)
    recorder.submit(flat(0))
    assert recorder.close(timeout=WAIT)
    assert str(recorder.error) == (
        f"Cannot record to '{path}': disk full (no space left on device); nothing was kept"
    )
    assert recorder.written == 0
    assert recorder.dropped == recorder.submitted == 1
    assert list(tmp_path.iterdir()) == []


def test_encoder_failure_is_reported_and_earlier_frames_kept(tmp_path, monkeypatch):
    path = tmp_path / "fail.avi"
    recorder = VideoRecorder(path, fps=10.0, queue_size=16)
    failed = threading.Event()
    original_write = VideoRecorder._write
    calls = []

    def failing_write(self: VideoRecorder, image: np.ndarray) -> None:
        calls.append(1)
        if len(calls) > 3:
            failed.set()
            raise ValueError("encoder refused the frame")
        original_write(self, image)

    monkeypatch.setattr(VideoRecorder, "_write", failing_write)
    for i in range(6):
        recorder.submit(flat(10 * i))
    assert failed.wait(WAIT)
    assert recorder.close(timeout=WAIT)
    assert isinstance(recorder.error, RecordingError)
    assert "encoder refused the frame" in str(recorder.error)
    assert recorder.submit(flat(0)) is False
    assert recorder.written == 3
    assert recorder.written + recorder.dropped == recorder.submitted == 7
    assert len(read_back(path)) == 3


def test_written_counts_only_frames_synced_to_disk(tmp_path, monkeypatch):
    synced = []
    original_fsync = recording.os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        original_fsync(fd)

    monkeypatch.setattr(recording.os, "fsync", fsync)
    monkeypatch.setattr(recording, "SYNC_SECONDS", 3600.0)  # no periodic sync in this test
    path = tmp_path / "synced.avi"
    recorder = VideoRecorder(path, fps=10.0, queue_size=32)
    for i in range(10):
        recorder.submit(flat(10 * i))
    deadline = time.monotonic() + WAIT
    while path.stat().st_size < 10 * 1000 and time.monotonic() < deadline:
        time.sleep(0.01)  # the frames reach the file...
    assert recorder.written == 0  # ...but are not counted before they are fsynced
    assert recorder.close(timeout=WAIT)
    assert synced and recorder.written == 10 == len(read_back(path))


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


SCRIPT = Path(__file__).with_name("record_script.py")


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_killed_recording_keeps_its_frames(tmp_path, suffix):
    path = tmp_path / f"killed{suffix}"
    child = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(path), "kill"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:
            submitted, written = (int(x) for x in line.split()[1::2])
            if written >= 20:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=WAIT)
    readable = len(read_back(path))
    # Everything counted is there, and at most about the last second is missing.
    assert written <= readable <= submitted
    assert readable >= submitted - 30


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_real_write_limit_stops_with_a_readable_file(tmp_path, suffix):
    # RLIMIT_FSIZE makes the kernel refuse writes past a size (EFBIG): a full disk, unprivileged.
    path = tmp_path / f"capped{suffix}"
    run = subprocess.run(
        [sys.executable, str(SCRIPT), str(path), "fsize", "200000"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "file too large" in lines[-2]
    submitted, written = (int(x) for x in lines[-1].split()[1::2])
    assert submitted == 300
    assert 0 < written < 300
    assert path.stat().st_size <= 200_000
    assert len(read_back(path)) == written
