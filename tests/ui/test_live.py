"""Live mode in the real window: every source, failures, threads, stale frames, saving.

No camera exists on the test machines: the camera path is tested for real only where it fails
(no device), and otherwise through the same FrameSource interface with video files written
here and synthetic frames. No sleeps: every wait is ``qtbot.waitUntil`` / ``waitSignal``
with a bound. The autouse fixture in tests/conftest.py fails any test that leaks a thread.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QAction, QKeySequence

from core.display import apply_colormap, colormap_lut
from core.images import to_grayscale
from core.kernels import preset
from core.live import LiveResult
from core.recording import RecordingError
from core.sources import CameraSource, FrameSource, SourceError, SyntheticSource, VideoFileSource
from ui.app import wait_until_idle
from ui.hover import format_value
from ui.main_window import MainWindow

WAIT_MS = 10_000
SMALL = (160, 120)


# -- helpers ---------------------------------------------------------------------------------
class Recorder:
    """Collects what ``frame_shown`` reports, checking each frame against the panes."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.results: list[LiveResult] = []
        self.mismatches: list[str] = []
        window.live.frame_shown.connect(self._on_frame)

    def _on_frame(self, result: LiveResult) -> None:
        w = self.window
        # At the moment a frame is announced, every pane must show that frame.
        shown = w.input_pane.image.image  # the frame as captured, or (frozen) its [0, 1] values
        if not any(np.shares_memory(shown, a) for a in (result.frame.image, result.working)):
            self.mismatches.append(f"input pane is not frame {result.frame.index}")
        if w.loaded is None or w.loaded.image is not result.working:
            self.mismatches.append(f"window.loaded is not frame {result.frame.index}")
        if w.processed is not result.processed:
            self.mismatches.append(f"outputs are not those of frame {result.frame.index}")
        # Streaming, the output panes show the maps rendered in the worker (with the levels
        # they report); a frozen step shows the float maps, as the workbench does.
        streaming = w.live.is_streaming() and result.rendered is not None
        for pane, view, k in (
            (w.conv_pane, result.processed.conv, 0),
            (w.pooled_pane, result.processed.pooled, 1),
        ):
            shown = result.rendered[k][0] if streaming else view.data
            if not np.shares_memory(pane.image.image, shown):
                self.mismatches.append(f"{pane.title.text} is not frame {result.frame.index}")
            if streaming and pane.levels() != result.rendered[k][1]:
                self.mismatches.append(f"{pane.title.text} reports other levels")
        self.results.append(result)

    @property
    def count(self) -> int:
        return len(self.results)

    @property
    def indices(self) -> list[int]:
        return [r.frame.index for r in self.results]

    def wait_for(self, qtbot, n: int, timeout: int = WAIT_MS) -> None:
        target = self.count + n
        qtbot.waitUntil(lambda: self.count >= target, timeout=timeout)


class FailingSource(FrameSource):
    """Delivers ``good`` synthetic frames, then fails like an unplugged camera."""

    def __init__(self, good: int) -> None:
        super().__init__()
        self.good = good
        self._scene = SyntheticSource(SMALL)

    @property
    def name(self) -> str:
        return "Flaky camera"

    @property
    def frame_size(self) -> tuple[int, int]:
        return SMALL

    @property
    def pace_fps(self) -> float:
        return 200.0  # a paced source, read by the capture thread like a camera

    def _open(self) -> None:
        pass

    def _grab(self) -> np.ndarray:
        if self._next_index >= self.good:
            raise SourceError("Flaky camera stopped delivering frames (unplugged?)")
        return self._scene.render(self._next_index)

    def _close(self) -> None:
        pass


def write_video(
    path: Path, frames: int = 20, size: tuple[int, int] = (96, 64), fps: float = 200.0
) -> Path:
    """An MJPG .avi of a white square moving right, one pixel-column step per frame."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    width, height = size
    for i in range(frames):
        image = np.zeros((height, width, 3), np.uint8)
        x = 4 + 3 * i
        image[20:44, x : x + 16] = 255
        writer.write(image)
    writer.release()
    return path


def count_video_frames(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), f"{path} is not a readable video"
    count = 0
    while True:
        ok, _ = capture.read()
        if not ok:
            break
        count += 1
    capture.release()
    return count


@pytest.fixture
def live_window(make_window):
    """A main window with no image loaded yet (live tests bring their own frames)."""
    window = make_window(load=False)
    yield window
    window.live.stop()


# -- sources ---------------------------------------------------------------------------------
def test_synthetic_source_streams_into_every_pane(qtbot, live_window):
    window = live_window
    frames = Recorder(window)
    shown = []
    window.result_shown.connect(shown.append)
    assert window.live.start(SyntheticSource(SMALL))
    assert window.live.is_running()
    qtbot.waitUntil(window.live_toolbar.live_badge.isVisible, timeout=WAIT_MS)
    frames.wait_for(qtbot, 12)
    first, last = frames.results[0], frames.results[-1]
    assert not np.array_equal(first.frame.image, last.frame.image), "the input never changed"
    assert len(shown) >= 12  # the window's own result signal fires for every frame
    assert frames.mismatches == []
    # The layer saw the frame in the same [0, 1] units as an opened image file.
    np.testing.assert_allclose(last.working, last.frame.image / 255.0, atol=1e-6)
    np.testing.assert_allclose(last.processed.result.image, to_grayscale(last.working), atol=1e-6)
    assert window.live.stats().shown >= 12
    window.live.stop()
    assert not window.live.is_running()
    assert window.controls.levels_mode() == "auto"
    qtbot.waitUntil(lambda: not window.live_toolbar.live_badge.isVisible(), timeout=WAIT_MS)
    # The last frame stays for study, and the workbench works on it again.
    assert window.loaded.image is last.working
    window.editor.set_kernel(preset("sobel-x"))
    assert wait_until_idle(window, WAIT_MS)
    assert window.processed.result.kernel.name == "sobel-x"
    assert window.loaded.image is last.working


def test_video_file_plays_and_loops(qtbot, live_window, tmp_path):
    path = write_video(tmp_path / "clip.avi", frames=20)
    frames = Recorder(window := live_window)
    assert window.live.start(VideoFileSource(path, loop=True))
    qtbot.waitUntil(lambda: frames.count and frames.indices[-1] >= 25, timeout=WAIT_MS)
    assert frames.mismatches == []
    # Each frame shows the file's frame (index modulo 20, after looping): its square spans
    # columns 4 + 3i .. 19 + 3i.
    for result in frames.results:
        x = 4 + 3 * (result.frame.index % 20)
        row = to_grayscale(result.frame.image)[32]
        assert row[x + 4 : x + 12].min() > 180, result.frame.index
        assert np.delete(row, np.s_[max(0, x - 3) : x + 19]).max() < 60, result.frame.index
    assert window.input_pane.title.text.startswith("Live: clip.avi")


def test_missing_camera_reports_and_stays_in_image_mode(window):
    before = window.loaded
    threads = set(threading.enumerate())
    assert not window.live.start(CameraSource(99))
    assert window.banner.isVisible()
    assert "No camera at index 99" in window.banner.text()
    assert not window.live.is_running()
    assert window.loaded is before  # the image on screen is untouched
    assert set(threading.enumerate()) == threads  # nothing was started


def test_unreadable_video_file_reports(live_window, tmp_path):
    window = live_window
    bad = tmp_path / "broken.avi"
    bad.write_bytes(b"this is not a video" * 100)
    assert not window.live.start(VideoFileSource(bad))
    assert window.banner.isVisible()
    assert "Cannot open video file" in window.banner.text() and "broken.avi" in window.banner.text()
    assert not window.live.is_running()


def test_twenty_start_stop_cycles_leave_no_thread(qtbot, live_window):
    window = live_window
    before = set(threading.enumerate())
    frames = Recorder(window)
    for cycle in range(20):
        assert window.live.start(SyntheticSource(SMALL, seed=cycle))
        if cycle % 4 == 0:
            frames.wait_for(qtbot, 1)  # sometimes stop mid-stream, sometimes before a frame
        window.live.stop()
        assert set(threading.enumerate()) == before, f"cycle {cycle} left threads behind"
    assert frames.mismatches == []


# -- ordering --------------------------------------------------------------------------------
def test_stale_frames_are_never_shown(qtbot, live_window):
    """Shown frame indices only increase; input and outputs always belong to one frame."""
    window = live_window
    frames = Recorder(window)
    # A paced source read by the capture thread (not on demand), fast enough to drop frames.
    source = SyntheticSource((320, 240), fps=400)
    assert window.live.start(source)
    kernels = [preset(name) for name in ("sobel-x", "sobel-y", "outline", "sharpen")]
    for kernel in kernels:  # edits mid-stream must not let an older frame through
        frames.wait_for(qtbot, 5)
        window.editor.set_kernel(kernel)
        window.controls.stride.setValue(1 + kernels.index(kernel) % 2)
    frames.wait_for(qtbot, 10)
    indices = frames.indices
    assert all(b > a for a, b in itertools.pairwise(indices)), indices
    assert frames.mismatches == []
    for result in frames.results:
        np.testing.assert_allclose(
            result.processed.result.image, to_grayscale(result.working), atol=1e-6
        )
    # Edits apply to the next frames: the last frames ran the last kernel.
    assert frames.results[-1].processed.result.kernel.name == "sharpen"
    window.live.stop()
    assert window.live.stats().dropped > 0  # 400 fps into a slower pipeline: counted drops


def test_freeze_step_and_edit_the_frozen_frame(qtbot, live_window):
    window = live_window
    frames = Recorder(window)
    assert window.live.start(SyntheticSource(SMALL, fps=200))
    frames.wait_for(qtbot, 3)
    window.live.set_frozen(True)
    assert window.live_toolbar.live_badge.text() == "FROZEN"
    assert window.controls.levels_mode() == "auto"  # syncing histograms is not a level drag
    assert not window.live.is_streaming()
    qtbot.waitUntil(lambda: window.loaded.image is frames.results[-1].working, timeout=WAIT_MS)
    # Frozen: a kernel edit recomputes the frame on screen through the workbench path.
    frozen = frames.results[-1]
    window.editor.set_kernel(preset("outline"))
    assert wait_until_idle(window, WAIT_MS)
    assert window.processed.result.kernel.name == "outline"
    assert window.loaded.image is frozen.working
    # Step: exactly one newer frame, with the new kernel, and still frozen.
    count = frames.count
    with qtbot.waitSignal(window.live.frame_shown, timeout=WAIT_MS):
        window.live.step()
    assert frames.count == count + 1
    assert frames.results[-1].frame.index > frozen.frame.index
    assert frames.results[-1].processed.result.kernel.name == "outline"
    assert window.live.is_frozen()
    window.live.set_frozen(False)
    frames.wait_for(qtbot, 3)
    assert frames.mismatches == []


class CounterSource(FrameSource):
    """Flat grey frames whose value is the frame index (mod 256): every frame differs."""

    name = "Counter"
    frame_size = SMALL

    def _open(self) -> None:
        pass

    def _grab(self) -> np.ndarray:
        return np.full((SMALL[1], SMALL[0], 3), self._next_index % 256, np.uint8)

    def _close(self) -> None:
        pass


def test_hover_readout_follows_new_frames(qtbot, live_window):
    window = live_window
    frames = Recorder(window)
    assert window.live.start(CounterSource())
    frames.wait_for(qtbot, 2)
    window.input_pane.hovered.emit(QPointF(80.5, 60.5))  # the mouse rests over the input
    readouts = []
    window.live.frame_shown.connect(
        lambda r: readouts.append((window.input_pane.readout, format_value(r.working[60, 80])))
    )
    frames.wait_for(qtbot, 10)
    assert readouts and all(shown == f"[60, 80] = {value}" for shown, value in readouts)
    assert len({value for _, value in readouts}) >= 10  # one new value per frame
    assert window.conv_pane.readout.startswith("[60, 80] = ")
    window.input_pane.hovered.emit(None)
    assert window.input_pane.readout == ""


# -- failures --------------------------------------------------------------------------------
def test_source_failing_mid_stream_stops_with_a_message_and_can_restart(qtbot, live_window):
    window = live_window
    frames = Recorder(window)
    stopped = []
    window.live.running_changed.connect(stopped.append)
    assert window.live.start(FailingSource(good=6))
    qtbot.waitUntil(lambda: not window.live.is_running(), timeout=WAIT_MS)
    assert stopped == [True, False]
    assert window.banner.isVisible() and "unplugged" in window.banner.text()
    assert frames.count >= 1
    last = frames.results[-1]
    assert window.loaded.image is last.working  # the last frame stays
    # ...as its [0, 1] values, as a still image is shown: one scale for histogram and readouts.
    assert np.shares_memory(window.input_pane.image.image, last.working)
    assert not window.live_toolbar.start_action.isChecked()
    # It can be restarted.
    assert window.live.start(SyntheticSource(SMALL))
    frames.wait_for(qtbot, 3)
    window.live.stop()


def test_processing_errors_show_a_message_and_live_mode_recovers(qtbot, live_window):
    window = live_window
    frames = Recorder(window)
    assert window.live.start(SyntheticSource((16, 12), fps=200))
    frames.wait_for(qtbot, 2)
    window.controls.padding.setCurrentIndex(window.controls.padding.findData("valid"))
    window.controls.pool_size.setValue(16)  # a 16x16 window cannot fit a 14x10 map
    qtbot.waitUntil(lambda: "Cannot compute" in window.banner.text(), timeout=WAIT_MS)
    assert window.live.is_running()
    window.controls.pool_size.setValue(2)
    frames.wait_for(qtbot, 3)
    assert not window.banner.isVisible()


# -- saving ----------------------------------------------------------------------------------
def test_snapshot_saves_the_frame_on_screen(qtbot, live_window, tmp_path):
    window = live_window
    frames = Recorder(window)
    assert window.live.start(SyntheticSource(SMALL))
    frames.wait_for(qtbot, 3)
    window.live.set_frozen(True)  # hold one frame so the files can be compared with it
    qtbot.waitUntil(lambda: window.loaded.image is frames.results[-1].working, timeout=WAIT_MS)
    shown = frames.results[-1]
    with qtbot.waitSignal(window.saving.snapshot_saved, timeout=WAIT_MS) as saved:
        assert window.live.snapshot(tmp_path)  # written on a thread
    written = saved.args[0]
    stem = f"Synthetic-160x120_frame{shown.frame.index:06d}"
    names = sorted(p.name for p in written)
    assert names == sorted(
        f"{stem}_{suffix}"
        for suffix in (
            "input.png",
            "kernel.json",
            "conv.tif",
            "conv.png",
            "pooled.tif",
            "pooled.png",
        )
    )
    saved = cv2.cvtColor(cv2.imread(str(tmp_path / f"{stem}_input.png")), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(saved, shown.frame.image)
    # The window's names are untouched: the snapshot name was only for the files.
    assert window.loaded.name == "Synthetic 160x120"


def test_ctrl_s_while_live_is_a_snapshot_not_the_export_dialog(qtbot, live_window, monkeypatch):
    window = live_window
    calls = []
    monkeypatch.setattr(window.live, "snapshot", lambda folder=None: calls.append(folder))
    assert window.live.start(SyntheticSource(SMALL))
    window.export_dialog()  # what File > Export all (Ctrl+S) runs
    assert calls == [None]


def test_recording_has_every_shown_frame_but_the_counted_drops(qtbot, live_window, tmp_path):
    window = live_window
    frames = Recorder(window)
    assert window.live.start(SyntheticSource((200, 150)))
    frames.wait_for(qtbot, 2)
    path = tmp_path / "conv.avi"
    assert window.live.start_recording(path, "conv")
    start = frames.count
    recorder = window.live.recorder
    qtbot.waitUntil(window.live_toolbar.rec_badge.isVisible, timeout=WAIT_MS)
    frames.wait_for(qtbot, 40)
    assert window.live.stop_recording() == path
    recorded = frames.count - start  # frames shown while recording (no more after stop)
    qtbot.waitUntil(lambda: not window.live_toolbar.rec_badge.isVisible(), timeout=WAIT_MS)
    assert recorder.written + recorder.dropped == recorder.submitted
    # One video frame per frame shown, give or take frames whose processing began before
    # recording started (no rendered picture yet) and the recorder's counted drops.
    assert recorded - 2 - recorder.dropped <= recorder.written <= recorded
    assert count_video_frames(path) == recorder.written
    # The video is the pane as displayed: the recorded picture of the last frame matches.
    capture = cv2.VideoCapture(str(path))
    assert (
        int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
        int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
    ) == (200, 150)
    capture.release()
    window.live.stop()


def test_recording_to_an_impossible_place_reports(qtbot, live_window, tmp_path):
    window = live_window
    assert window.live.start(SyntheticSource(SMALL))
    assert not window.live.start_recording(tmp_path / "missing" / "out.avi")
    assert "does not exist" in window.banner.text()
    assert not window.live.is_recording()
    with pytest.raises(ValueError):
        window.live.start_recording(tmp_path / "out.avi", "histogram")
    assert RecordingError  # the type the banner message comes from


def test_disk_full_while_recording_stops_it_and_names_the_frames_kept(
    qtbot, live_window, tmp_path, monkeypatch
):
    from tests.core.test_recording import fill_disk_after

    window = live_window
    assert window.live.start(SyntheticSource((200, 150)))
    fill_disk_after(monkeypatch, 60_000)
    path = tmp_path / "input.avi"
    assert window.live.start_recording(path, "input")
    recorder = window.live.recorder
    qtbot.waitUntil(lambda: not window.live.is_recording(), timeout=WAIT_MS)
    assert window.live.is_running()  # live mode goes on; only the recording stopped
    text = window.banner.text()
    assert text == (
        f"Recording stopped: Cannot record to '{path}': disk full (no space left on device); "
        f"the file keeps its first {recorder.written} frames"
    )
    assert recorder.written > 0
    assert count_video_frames(path) == recorder.written
    window.live.stop()


def test_a_recording_on_a_full_disk_does_not_start_and_leaves_nothing(
    qtbot, live_window, tmp_path, monkeypatch
):
    import shutil

    from core import recording

    window = live_window
    assert window.live.start(SyntheticSource(SMALL))
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(recording.shutil, "disk_usage", lambda _p: usage._replace(free=4096))
    path = tmp_path / "input.mp4"
    assert not window.live.start_recording(path, "input")
    assert window.banner.text() == f"Cannot record to '{path}': disk full (4 KB free)"
    assert not window.live.is_recording()
    assert not window.live_toolbar.record_action.isChecked()
    assert list(tmp_path.iterdir()) == []
    window.live.stop()


def test_closing_the_window_while_recording_finalizes_the_file(qtbot, live_window, tmp_path):
    window = live_window
    frames = Recorder(window)
    assert window.live.start(SyntheticSource(SMALL))
    path = tmp_path / "input.avi"
    assert window.live.start_recording(path, "input")
    frames.wait_for(qtbot, 10)
    recorder = window.live.recorder
    window.close()  # closeEvent stops live mode, the recording and every thread
    assert not window.live.is_running() and recorder.is_closed
    assert count_video_frames(path) == recorder.written > 0


def test_quitting_while_recording_exits_cleanly(tmp_path):
    script = Path(__file__).with_name("live_quit_script.py")
    out = tmp_path / "quit.avi"
    run = subprocess.run(
        [sys.executable, str(script), str(out), str(tmp_path / "settings.ini")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    line = next(x for x in run.stdout.splitlines() if x.startswith("recorded"))
    written = int(line.split()[1])
    assert line.endswith("threads []"), line
    assert written > 0
    assert count_video_frames(out) == written


# -- controls --------------------------------------------------------------------------------
def test_space_starts_and_stops_live_mode(qtbot, live_window):
    window = live_window
    action = window.live_toolbar.start_action
    assert action.shortcut() == QKeySequence(Qt.Key.Key_Space)
    frames = Recorder(window)
    action.trigger()  # what Space does (the shortcut is the action's)
    assert window.live.is_running() and action.isChecked()
    assert window.live.source.name == "Synthetic 640x480"
    frames.wait_for(qtbot, 2)
    action.trigger()
    assert not window.live.is_running() and not action.isChecked()


def test_changing_the_size_restarts_the_synthetic_scene(qtbot, live_window):
    window = live_window
    toolbar = window.live_toolbar
    frames = Recorder(window)
    toolbar.start_action.trigger()
    frames.wait_for(qtbot, 1)
    toolbar.size_box.setCurrentIndex(toolbar.size_box.findData("320x240"))
    assert window.live.is_running() and window.live.source.frame_size == (320, 240)
    qtbot.waitUntil(lambda: frames.results[-1].frame.image.shape == (240, 320, 3), timeout=WAIT_MS)
    assert window.input_pane.title.text == "Live: Synthetic 320x240"
    window.live.stop()


def test_every_live_control_has_a_tooltip(live_window):
    toolbar = live_window.live_toolbar
    widgets = [
        toolbar.source_box,
        toolbar.size_box,
        toolbar.mirror_box,
        toolbar.record_box,
        toolbar.stats_label,
        toolbar.live_badge,
        toolbar.rec_badge,
    ]
    actions = [
        toolbar.start_action,
        toolbar.find_action,
        toolbar.freeze_action,
        toolbar.step_action,
        toolbar.snapshot_action,
        toolbar.record_action,
    ]
    assert all(w.toolTip() for w in widgets)
    assert all(a.toolTip() and a.toolTip() != a.text() for a in actions)


def test_live_shortcuts_are_unambiguous(live_window):
    counts: dict[str, int] = {}
    for action in live_window.findChildren(QAction):
        for sequence in action.shortcuts():
            key = sequence.toString()
            counts[key] = counts.get(key, 0) + 1
    for key in ("Space", "F", "N", "Ctrl+R", "Ctrl+S"):
        assert counts.get(key) == 1, f"{key} is bound {counts.get(key, 0)} times"


def test_histograms_follow_live_frames_a_few_times_a_second(qtbot, live_window):
    window = live_window
    frames = Recorder(window)
    assert window.live.start(SyntheticSource(SMALL))
    qtbot.waitUntil(
        lambda: any(r.histograms is not None for r in frames.results[1:]), timeout=WAIT_MS
    )
    with_histograms = [r for r in frames.results if r.histograms is not None]
    assert len(with_histograms) < len(frames.results)  # not every frame pays for them
    last = with_histograms[-1]
    for pane, view in zip(
        window.panes,
        (last.input_view, last.processed.conv, last.processed.pooled),
        strict=True,
    ):
        x, counts = pane.histogram.plot.getData()
        assert x is not None and counts.sum() > 0
        data = view.data[:: -(-view.data.shape[0] // 200), :: -(-view.data.shape[1] // 200)]
        # The input in the layer's [0, 1] units, like its stats line and the inspector.
        unit = 255.0 if pane is window.input_pane else 1.0
        assert x[0] == pytest.approx(float(data.min()) / unit)
        assert counts.sum() == data.size
        assert pane.stats.text.startswith("min ")
    window.live.stop()
    # Back in the workbench, pyqtgraph's own histogram takes over again.
    x, _ = window.conv_pane.histogram.plot.getData()
    assert x is not None


def test_find_cameras_on_a_machine_without_cameras(qtbot, live_window):
    window = live_window
    with qtbot.waitSignal(window.live.cameras_found, timeout=WAIT_MS) as blocker:
        window.live.find_cameras()
    assert blocker.args == [[]]
    assert "No camera found" in window.banner.text()
    box = window.live_toolbar.source_box
    assert [box.itemText(i) for i in range(box.count())] == ["Synthetic scene", "Video file..."]


def test_output_panes_show_the_maps_as_displayed_and_keep_fixed_levels(qtbot, live_window):
    window = live_window
    frames = Recorder(window)
    assert window.live.start(SyntheticSource(SMALL))
    frames.wait_for(qtbot, 3)
    # Streaming: the conv pane shows the map rendered with its colormap and levels.
    last = frames.results[-1]
    rgb, levels = last.rendered[0]
    assert levels == last.processed.conv.levels  # auto levels: the frame's own
    expected = apply_colormap(last.processed.conv.data, colormap_lut("coolwarm"), levels)
    assert (np.abs(rgb.astype(int) - expected).max(axis=2) > 1).mean() < 1e-3
    # The person drags the conv histogram's level region: levels become fixed, and the next
    # frames are rendered with the dragged levels.
    window.conv_pane.histogram.setLevels(-0.25, 0.25)
    assert window.controls.levels_mode() == "fixed"
    qtbot.waitUntil(
        lambda: frames.results[-1].rendered[0][1] == pytest.approx((-0.25, 0.25)),
        timeout=WAIT_MS,
    )
    frames.wait_for(qtbot, 2)
    assert window.conv_pane.levels() == pytest.approx((-0.25, 0.25))
    assert frames.mismatches == []
    # Frozen, the pane is back to the float map, still with those levels (what saves use).
    window.live.set_frozen(True)
    assert window.conv_pane.image.image.dtype == np.float32
    assert window.conv_pane.levels() == pytest.approx((-0.25, 0.25))
    assert window.conv_pane.histogram.getLevels() == pytest.approx((-0.25, 0.25))


def test_freeze_and_step_an_on_demand_source(qtbot, live_window):
    """An unpaced source is read one frame per frame processed: stepping must still work."""
    window = live_window
    frames = Recorder(window)
    assert window.live.start(CounterSource())
    frames.wait_for(qtbot, 3)
    for _ in range(5):
        window.live.set_frozen(True)
        count = frames.count
        with qtbot.waitSignal(window.live.frame_shown, timeout=WAIT_MS):
            window.live.step()
        assert frames.count >= count + 1
        window.live.set_frozen(False)
        frames.wait_for(qtbot, 2)
    assert frames.mismatches == []
    indices = frames.indices
    assert all(b > a for a, b in itertools.pairwise(indices)), indices
