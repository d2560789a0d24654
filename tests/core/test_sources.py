"""Tests for core.sources: frame sources and the capture thread (no Qt, no camera needed)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.sources import (
    CameraSource,
    CaptureThread,
    Frame,
    FrameSource,
    SourceError,
    SyntheticSource,
    VideoFileSource,
    probe_cameras,
)

WAIT = 5.0  # upper bound for any wait; a passing test never gets near it


def write_test_video(path: Path, n_frames: int = 20, size: tuple[int, int] = (64, 48)) -> Path:
    """Write an MJPG .avi whose frame i is a flat grey of value 10 * i (checkable after JPEG)."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 20.0, size)
    assert writer.isOpened()
    for i in range(n_frames):
        writer.write(np.full((height, width, 3), 10 * i, np.uint8))
    writer.release()
    return path


def grey_level(frame: Frame) -> int:
    return round(float(frame.image.mean()) / 10)


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return write_test_video(tmp_path / "clip.avi")


class FailingSource(FrameSource):
    """Delivers ``good_frames`` frames, then fails like an unplugged camera."""

    def __init__(self, good_frames: int = 3) -> None:
        super().__init__()
        self.good_frames = good_frames
        self.closed = threading.Event()

    @property
    def name(self) -> str:
        return "Flaky camera"

    @property
    def frame_size(self) -> tuple[int, int]:
        return (8, 6)

    def _open(self) -> None:
        self.closed.clear()

    def _grab(self) -> np.ndarray:
        if self._next_index >= self.good_frames:
            raise SourceError("Flaky camera stopped delivering frames")
        return np.zeros((6, 8, 3), np.uint8)

    def _close(self) -> None:
        self.closed.set()


@pytest.fixture(autouse=True)
def no_leaked_threads():
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for thread in leaked:
        thread.join(WAIT)
    assert not [t for t in leaked if t.is_alive()], f"threads leaked: {leaked}"


# -- synthetic source ---------------------------------------------------------------------------


def test_synthetic_frames_are_contiguous_uint8_rgb():
    with SyntheticSource((640, 480)) as source:
        frame = source.read()
    assert frame is not None
    assert frame.image.shape == (480, 640, 3)
    assert frame.image.dtype == np.uint8
    assert frame.image.flags.c_contiguous
    assert frame.index == 0
    assert source.frame_size == (640, 480)
    assert not source.is_open


@pytest.mark.parametrize("size", [(1, 1), (7, 5), (33, 200), (1280, 720)])
def test_synthetic_any_size(size):
    with SyntheticSource(size) as source:
        frames = [source.read() for _ in range(3)]
    width, height = size
    assert all(f is not None and f.image.shape == (height, width, 3) for f in frames)


def test_synthetic_is_deterministic_per_index():
    a, b = SyntheticSource((160, 120), seed=3), SyntheticSource((160, 120), seed=3)
    with a:
        sequential = [a.read() for _ in range(10)]
    for frame in sequential:
        assert frame is not None
        np.testing.assert_array_equal(frame.image, b.render(frame.index))
    # Out of order and repeated renders agree too: the scene depends on the index only.
    np.testing.assert_array_equal(b.render(7), b.render(7))
    assert [f.index for f in sequential if f] == list(range(10))


def test_synthetic_changes_over_time_and_with_seed():
    source = SyntheticSource((160, 120))
    first = source.render(0)
    assert not np.array_equal(first, source.render(1))
    assert not np.array_equal(first, source.render(100))
    assert not np.array_equal(first, SyntheticSource((160, 120), seed=1).render(0))
    # Mostly dark background with bright shapes on it.
    assert np.median(first) < 60
    assert first.max() > 150


def test_synthetic_render_returns_fresh_arrays():
    source = SyntheticSource((64, 48))
    a, b = source.render(5), source.render(6)
    assert not np.shares_memory(a, b)
    a[:] = 0
    np.testing.assert_array_equal(source.render(5), SyntheticSource((64, 48)).render(5))


def test_synthetic_is_cheap():
    # The real figure is in the thousands of fps; this bound only catches a gross regression.
    source = SyntheticSource((640, 480))
    start = time.perf_counter()
    for index in range(100):
        source.render(index)
    assert time.perf_counter() - start < 1.0


def test_synthetic_rejects_bad_arguments():
    with pytest.raises(ValueError):
        SyntheticSource((0, 10))
    with pytest.raises(ValueError):
        SyntheticSource(fps=0)


def test_read_before_open_raises():
    with pytest.raises(SourceError, match="not open"):
        SyntheticSource((8, 8)).read()


def test_close_is_idempotent_and_reopen_restarts_counter():
    source = SyntheticSource((8, 8))
    source.open()
    source.read()
    source.close()
    source.close()
    source.open()
    frame = source.read()
    assert frame is not None and frame.index == 0
    source.close()


# -- video file ---------------------------------------------------------------------------------


def test_video_file_reads_all_frames_then_stops(video):
    with VideoFileSource(video, loop=False) as source:
        assert source.frame_size == (64, 48)
        assert source.nominal_fps == pytest.approx(20.0)
        assert source.pace_fps == pytest.approx(20.0)
        assert source.frame_count == 20
        frames = []
        while (frame := source.read()) is not None:
            frames.append(frame)
        assert source.read() is None  # stays at the end
    assert len(frames) == 20
    assert [f.index for f in frames] == list(range(20))
    assert [grey_level(f) for f in frames] == list(range(20))
    for f in frames:
        assert f.image.shape == (48, 64, 3)
        assert f.image.dtype == np.uint8
        assert f.image.flags.c_contiguous
    assert source.name == "clip.avi"


def test_video_file_loops(video):
    with VideoFileSource(video, loop=True) as source:
        frames = [source.read() for _ in range(45)]
    assert all(f is not None for f in frames)
    assert [grey_level(f) for f in frames if f] == [i % 20 for i in range(45)]
    # The source's counter keeps running across loops.
    assert [f.index for f in frames if f] == list(range(45))


def test_video_file_frames_do_not_share_memory(video):
    with VideoFileSource(video) as source:
        a, b = source.read(), source.read()
    assert a is not None and b is not None
    assert not np.shares_memory(a.image, b.image)


def write_noise_video(path: Path, n_frames: int = 40) -> Path:
    """An MJPG .avi of noise frames: every frame takes many bytes, so a cut loses frames."""
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 20.0, (96, 64))
    assert writer.isOpened()
    for _ in range(n_frames):
        writer.write(rng.integers(0, 256, (64, 96, 3), np.uint8))
    writer.release()
    return path


def read_until_error(source: VideoFileSource, limit: int = 500) -> tuple[int, str]:
    """Read until the source raises; returns (frames read, message). Fails on a silent loop."""
    for n in range(limit):
        try:
            source.read()
        except SourceError as exc:
            return n, str(exc)
    raise AssertionError(f"{limit} frames read without a word: the source loops silently")


@pytest.mark.parametrize("loop", [True, False])
def test_video_cut_in_half_is_reported_not_looped(tmp_path, loop):
    path = write_noise_video(tmp_path / "cut.avi")
    os.truncate(path, path.stat().st_size // 2)
    with VideoFileSource(path, loop=loop) as source:
        assert source.frame_count == 40  # the header still claims all of them
        n, message = read_until_error(source)
    assert 10 < n < 40
    assert message == (
        f"Video file '{path}' ends early: only {n} of its 40 frames could be read "
        "(the file is cut short or damaged)"
    )


@pytest.mark.parametrize("keep", [0.5, 0.0])
def test_video_truncated_while_playing_is_reported(tmp_path, keep):
    path = write_noise_video(tmp_path / "shrinking.avi")
    with VideoFileSource(path, loop=True) as source:
        for _ in range(5):
            source.read()
        os.truncate(path, int(path.stat().st_size * keep))
        n, message = read_until_error(source)
    # FFmpeg may still hand out what it buffered, but never a second pass.
    assert n <= 40
    assert f"Video file '{path}'" in message
    assert "changed" in message or "ends early" in message or "stopped" in message


def test_video_removed_while_playing_is_reported(tmp_path):
    path = write_noise_video(tmp_path / "gone.avi", n_frames=10)
    with VideoFileSource(path, loop=True) as source:
        source.read()
        path.unlink()
        n, message = read_until_error(source)
    assert n <= 10
    assert "was removed while playing" in message


def test_whole_video_loops_without_complaint(tmp_path):
    path = write_noise_video(tmp_path / "whole.avi", n_frames=10)
    with VideoFileSource(path, loop=True) as source:
        assert all(source.read() is not None for _ in range(35))


def test_ffmpeg_noise_stays_off_the_terminal(tmp_path):
    path = write_noise_video(tmp_path / "noisy.avi")
    os.truncate(path, path.stat().st_size // 2 + 333)  # cut inside a frame: "overread"
    code = (
        "import sys\n"
        "from core.sources import SourceError, VideoFileSource\n"
        "s = VideoFileSource(sys.argv[1], loop=False)\n"
        "s.open()\n"
        "try:\n"
        "    while s.read() is not None: pass\n"
        "except SourceError as e: print(e)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCV_")}
    run = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        env=env,
    )
    assert "ends early" in run.stdout
    assert run.stderr == ""


def test_missing_video_file(tmp_path):
    source = VideoFileSource(tmp_path / "nope.avi")
    with pytest.raises(SourceError, match=r"nope\.avi.*no such file"):
        source.open()
    assert not source.is_open


def test_garbage_video_file(tmp_path):
    garbage = tmp_path / "garbage.avi"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, np.uint8).tobytes())
    with pytest.raises(SourceError, match="not a video OpenCV can read"):
        VideoFileSource(garbage).open()
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(SourceError):
        VideoFileSource(empty).open()


def test_folder_is_not_a_video(tmp_path):
    with pytest.raises(SourceError, match="folder"):
        VideoFileSource(tmp_path).open()


# -- camera -------------------------------------------------------------------------------------


def test_missing_camera_fails_quickly():
    start = time.perf_counter()
    source = CameraSource(99)
    with pytest.raises(SourceError, match="No camera at index 99"):
        source.open()
    assert time.perf_counter() - start < 3.0
    assert not source.is_open
    source.close()  # harmless after a failed open
    assert source.name == "Camera 99"
    assert source.frame_size is None


def test_camera_rejects_negative_index():
    with pytest.raises(ValueError):
        CameraSource(-1)


def test_probe_cameras_returns_a_list_quickly():
    start = time.perf_counter()
    cameras = probe_cameras()
    assert isinstance(cameras, list)
    assert all(isinstance(i, int) and 0 <= i < 4 for i in cameras)
    assert time.perf_counter() - start < 5.0


def test_opencv_log_level_is_restored_after_probe():
    level = cv2.utils.logging.getLogLevel()
    probe_cameras(2)
    with pytest.raises(SourceError):
        CameraSource(98).open()
    assert cv2.utils.logging.getLogLevel() == level


# -- capture thread -----------------------------------------------------------------------------


def test_capture_start_stop_cycles_leave_no_threads():
    before = set(threading.enumerate())
    for _ in range(20):
        capture = CaptureThread(SyntheticSource((32, 24)))
        capture.start()
        assert capture.take_latest(timeout=WAIT) is not None
        assert capture.stop(timeout=WAIT)
        assert not capture.is_alive()
        assert not capture.source.is_open
    assert set(threading.enumerate()) <= before


def test_stop_is_idempotent_and_works_before_start():
    source = SyntheticSource((8, 8))
    source.open()
    capture = CaptureThread(source)
    assert capture.stop()  # never started: closes the source
    assert not source.is_open
    assert capture.take_latest(timeout=WAIT) is None

    capture = CaptureThread(SyntheticSource((8, 8)))
    capture.start()
    assert capture.stop(timeout=WAIT)
    assert capture.stop(timeout=WAIT)
    capture.take_latest(timeout=0)  # may hand out the last frame, once
    assert capture.take_latest(timeout=WAIT) is None
    assert capture.error is None


def test_slow_consumer_sees_drops_but_each_frame_once_in_order():
    arrived = threading.Condition()

    def on_frame() -> None:
        with arrived:
            arrived.notify_all()

    capture = CaptureThread(SyntheticSource((32, 24)), on_frame=on_frame)
    capture.start()
    try:
        indices = []
        for _ in range(10):
            frame = capture.take_latest(timeout=WAIT)
            assert frame is not None
            indices.append(frame.index)
            # Be "slow": wait until two newer frames were captured after this one, so the
            # second of them overwrites the first in the slot.
            with arrived:
                assert arrived.wait_for(lambda f=frame: capture.captured >= f.index + 3, WAIT)
        assert capture.dropped >= 10
        assert indices == sorted(set(indices))  # strictly increasing: never the same frame twice
        assert capture.captured >= indices[-1] + 1
        assert capture.fps > 0
    finally:
        assert capture.stop(timeout=WAIT)


def test_take_latest_times_out_without_new_frame():
    capture = CaptureThread(SyntheticSource((8, 8)))
    # Not started: no frame will come, and the wait is bounded.
    start = time.perf_counter()
    assert capture.take_latest(timeout=0.05) is None
    assert time.perf_counter() - start < WAIT
    capture.stop()


def test_taken_frames_are_independent_copies():
    source = SyntheticSource((64, 48), seed=5)
    reference = SyntheticSource((64, 48), seed=5)
    capture = CaptureThread(source)
    capture.start()
    try:
        first = capture.take_latest(timeout=WAIT)
        assert first is not None
        first.image[:] = 255  # the consumer scribbles on its frame
        second = capture.take_latest(timeout=WAIT)
        assert second is not None
        assert second.index > first.index
        assert not np.shares_memory(first.image, second.image)
        np.testing.assert_array_equal(second.image, reference.render(second.index))
    finally:
        assert capture.stop(timeout=WAIT)


def test_mid_stream_error_stops_thread_and_notifies():
    stopped: list[SourceError | None] = []
    done = threading.Event()

    def on_stopped(error: SourceError | None) -> None:
        stopped.append(error)
        done.set()

    source = FailingSource(good_frames=3)
    capture = CaptureThread(source, on_stopped=on_stopped)
    capture.start()
    assert done.wait(WAIT)
    capture.join(WAIT)
    assert not capture.is_alive()
    assert isinstance(capture.error, SourceError)
    assert "stopped delivering frames" in str(capture.error)
    assert stopped == [capture.error]
    assert capture.captured == 3
    assert source.closed.is_set()
    assert capture.finished
    # The last good frame can still be taken once; then the stopped thread returns None at once.
    last = capture.take_latest(timeout=WAIT)
    assert last is None or last.index == 2
    assert capture.take_latest(timeout=WAIT) is None
    assert capture.stop(timeout=WAIT)


def test_open_error_is_reported_like_a_stream_error():
    stopped: list[SourceError | None] = []
    capture = CaptureThread(CameraSource(97), on_stopped=stopped.append)
    capture.start()
    capture.join(WAIT)
    assert not capture.is_alive()
    assert isinstance(capture.error, SourceError)
    assert "No camera at index 97" in str(capture.error)
    assert stopped == [capture.error]
    assert capture.take_latest(timeout=WAIT) is None


def test_callback_exception_stops_with_wrapped_error(caplog):
    def bad_callback() -> None:
        raise ZeroDivisionError("bug in consumer")

    capture = CaptureThread(SyntheticSource((8, 8)), on_frame=bad_callback)
    capture.start()
    capture.join(WAIT)
    assert isinstance(capture.error, SourceError)
    assert isinstance(capture.error.__cause__, ZeroDivisionError)
    assert not capture.source.is_open
    assert "bug in consumer" in caplog.text


def test_non_looping_file_ends_without_error(video):
    stopped: list[SourceError | None] = []
    done = threading.Event()
    capture = CaptureThread(
        VideoFileSource(video, loop=False),
        fps=None,
        on_stopped=lambda error: (stopped.append(error), done.set()),
    )
    capture.start()
    assert done.wait(WAIT)
    capture.join(WAIT)
    assert stopped == [None]
    assert capture.error is None
    assert capture.captured == 20
    last = capture.take_latest(timeout=0)
    assert last is not None and last.index == 19  # the final frame is still in the slot
    assert capture.stop(timeout=WAIT)


def test_pacing_to_source_fps_and_stop_interrupts_the_pause():
    # 0.25 fps: after the first frame the thread waits 4 s for its next tick.
    capture = CaptureThread(SyntheticSource((8, 8), fps=0.25))
    capture.start()
    assert capture.take_latest(timeout=WAIT) is not None
    start = time.perf_counter()
    assert capture.stop(timeout=WAIT)
    assert time.perf_counter() - start < 2.0  # did not sit out the tick
    assert capture.captured == 1


def test_explicit_fps_overrides_source_and_rejects_nonsense():
    with pytest.raises(ValueError):
        CaptureThread(SyntheticSource((8, 8)), fps=0)
    capture = CaptureThread(SyntheticSource((8, 8)), fps=0.2)
    capture.start()
    assert capture.take_latest(timeout=WAIT) is not None
    # The next tick is 5 s away: no second frame within a short bounded wait.
    assert capture.take_latest(timeout=0.2) is None
    assert capture.stop(timeout=WAIT)
    assert capture.captured == 1


def test_stop_from_on_frame_callback_does_not_deadlock():
    holder: dict[str, CaptureThread] = {}

    def stop_self() -> None:
        assert holder["capture"].stop() is False  # cannot join itself; only requests the stop

    capture = CaptureThread(SyntheticSource((8, 8)), on_frame=stop_self)
    holder["capture"] = capture
    capture.start()
    capture.join(WAIT)
    assert not capture.is_alive()
    assert capture.error is None
    assert capture.captured == 1
