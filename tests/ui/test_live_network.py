"""Live mode running a whole network in the real window: the network view follows the frames,
edits reach the next frames, snapshot and recording cover every layer, no thread is left.

The window's network dock is another branch's work: these tests feed a ``NetworkView`` from
``LiveController.network_shown`` directly, as the dock does.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

import core.live.snapshot
from core.live import layer_record_key
from core.network import ActivationLayer, ConvLayer, Network, PoolLayer
from core.network.presets import build_preset
from core.network.views import layer_grid
from core.sources import SyntheticSource
from ui.network.network_view import NetworkView

WAIT_MS = 10_000
SMALL = (160, 120)


def _bank(count: int = 4, seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    conv = ConvLayer(rng.normal(size=(count, 1, 3, 3)).astype(np.float32), name="conv1")
    return Network((conv, ActivationLayer("relu", name="relu1"), PoolLayer("max", 2, name="pool1")))


@pytest.fixture
def live_window(make_window):
    window = make_window(load=False)
    yield window
    window.live.stop()


@pytest.fixture
def view(qtbot, live_window):
    """A network view fed by the live controller, as the network dock is."""
    view = NetworkView()
    qtbot.addWidget(view)
    shown = []

    def draw(result) -> None:
        shown.append(result)
        view.show_outputs(result.outputs, result.grids, result.filters)

    live_window.live.network_shown.connect(draw)
    view.shown = shown
    view.show()
    return view


def test_the_network_view_shows_every_live_frame_and_edits_reach_the_next(qtbot, live_window, view):
    live = live_window.live
    frames = []
    live.frame_shown.connect(frames.append)
    first = _bank()
    live.set_network(first, selected=(0, 1))
    assert live.start(SyntheticSource(SMALL))
    qtbot.waitUntil(lambda: len(view.shown) >= 3, timeout=WAIT_MS)
    # Each network result is the frame's own: the grids the view holds are that frame's maps.
    result = view.shown[-1]
    assert frames[-1].network is result and result.network is first
    assert view.layer_count() == 3
    for output, grid in zip(result.outputs, result.grids, strict=True):
        reference = layer_grid(output.map, max_side=120)
        assert np.array_equal(grid.rgb, reference.rgb)
    assert result.selected_view is not None
    assert np.allclose(result.selected_view.data, result.outputs[0].map[:, :, 1])
    # The single layer's panes still show the frame (workbench result, hover, saves).
    assert live_window.processed is frames[-1].processed
    # An edit while streaming: the next frames run the new network (a two-layer one here).
    second = build_preset("two-layer-field")
    live.set_network(second)
    qtbot.waitUntil(lambda: view.shown[-1].network is second, timeout=WAIT_MS)
    assert view.layer_count() == len(second.layers)
    count = len(view.shown)
    qtbot.waitUntil(lambda: len(view.shown) >= count + 2, timeout=WAIT_MS)
    assert all(r.network is second for r in view.shown[count:])
    # No network: the single layer only, nothing more for the view.
    live.set_network(None)
    qtbot.waitUntil(lambda: frames[-1].network is None, timeout=WAIT_MS)
    count = len(view.shown)
    seen = len(frames)
    qtbot.waitUntil(lambda: len(frames) >= seen + 3, timeout=WAIT_MS)
    assert len(view.shown) == count
    live.stop()
    assert not live.is_running()


def test_a_network_that_cannot_run_says_so_and_the_single_layer_goes_on(qtbot, live_window, view):
    live = live_window.live
    frames = []
    live.frame_shown.connect(frames.append)
    rng = np.random.default_rng(3)
    two = ConvLayer(rng.normal(size=(2, 2, 3, 3)).astype(np.float32), name="twochan")
    live.set_network(Network((two,)))
    assert live.start(SyntheticSource(SMALL))
    qtbot.waitUntil(lambda: len(frames) >= 2, timeout=WAIT_MS)
    banner = live_window.banner
    assert not banner.isHidden() and "Cannot run the network" in banner.text()
    assert "twochan" in banner.text()
    assert view.shown == [] and live_window.processed is frames[-1].processed
    live.set_network(_bank())
    qtbot.waitUntil(lambda: len(view.shown) >= 1, timeout=WAIT_MS)
    assert live_window.banner.isHidden()  # the network runs again: its message went


def test_snapshot_writes_every_layer_beside_the_frame(qtbot, live_window, view, tmp_path):
    live = live_window.live
    live.set_network(_bank(count=5))
    assert live.start(SyntheticSource(SMALL))
    qtbot.waitUntil(lambda: len(view.shown) >= 2, timeout=WAIT_MS)
    live.set_frozen(True)
    qtbot.waitUntil(lambda: live_window.loaded.image is live.current.working, timeout=WAIT_MS)
    current = live.current
    with qtbot.waitSignal(live_window.saving.snapshot_saved, timeout=WAIT_MS) as saved:
        assert live.snapshot(tmp_path)  # written on a thread
    written = saved.args[0]
    stem = f"Synthetic-160x120_frame{current.frame.index:06d}"
    names = {p.name for p in written}
    assert f"{stem}_input.png" in names and f"{stem}_kernel.json" in names  # as before
    for layer, shape in (
        ("conv1", (120, 160, 5)),
        ("relu1", (120, 160, 5)),
        ("pool1", (60, 80, 5)),
    ):
        raw = np.load(tmp_path / f"{stem}_network_{layer}.npy")
        assert raw.shape == shape and raw.dtype == np.float32
        assert (tmp_path / f"{stem}_network_{layer}.png").is_file()
    pool = np.load(tmp_path / f"{stem}_network_pool1.npy")
    assert np.array_equal(pool, current.network.outputs[2].map)
    assert (tmp_path / f"{stem}_network.json").is_file()


def test_recording_a_layer_grid_gives_readable_frames(qtbot, live_window, view, tmp_path):
    live = live_window.live
    toolbar = live_window.live_toolbar
    assert toolbar.record_box.findData(layer_record_key(2)) == -1  # no network: panes only
    live.set_network(_bank(count=6))
    index = toolbar.record_box.findData(layer_record_key(2))
    assert index >= 0 and toolbar.record_box.itemText(index) == "Layer pool1"
    toolbar.record_box.setCurrentIndex(index)
    assert live.record_pane == layer_record_key(2)
    assert live.start(SyntheticSource(SMALL))
    qtbot.waitUntil(lambda: len(view.shown) >= 2, timeout=WAIT_MS)
    path = tmp_path / "pool1.avi"
    assert live.start_recording(path)
    recorder = live.recorder
    start = len(view.shown)
    qtbot.waitUntil(lambda: len(view.shown) >= start + 15, timeout=WAIT_MS)
    grid = view.shown[-1].grids[2].rgb
    assert live.stop_recording() == path
    assert recorder.written >= 10 and recorder.written + recorder.dropped == recorder.submitted
    capture = cv2.VideoCapture(str(path))
    count = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        count += 1
        height, width = frame.shape[:2]
    capture.release()
    assert count == recorder.written
    # The video's pictures are the layer's grid as displayed (even sizes for the encoder).
    assert (height, width) == (grid.shape[0] // 2 * 2, grid.shape[1] // 2 * 2)
    # Removing the network takes its layers out of the choices.
    live.set_network(None)
    assert toolbar.record_box.findData(layer_record_key(2)) == -1
    assert live.record_pane == "conv"


def test_stopping_with_a_network_leaves_no_thread(qtbot, live_window, view):
    live = live_window.live
    live.set_network(_bank())
    for _ in range(3):
        assert live.start(SyntheticSource(SMALL))
        count = len(view.shown)
        qtbot.waitUntil(lambda c=count: len(view.shown) > c, timeout=WAIT_MS)
        live.stop()
        assert not live.is_running()


def test_a_snapshot_is_written_off_the_gui_thread(qtbot, live_window, view, tmp_path, monkeypatch):
    """A network frame's snapshot wrote every layer in the GUI thread (~0.9 s for a 640x480
    frame and 32 maps): the frames stopped. It is written on a thread, with a busy cursor,
    while frames keep arriving."""
    live = live_window.live
    live.set_network(_bank(count=5))
    assert live.start(SyntheticSource(SMALL))
    qtbot.waitUntil(lambda: len(view.shown) >= 2, timeout=WAIT_MS)
    release = threading.Event()
    threads = []
    write_outputs = core.live.snapshot.write_outputs

    def slow_write(*args, **kwargs):
        threads.append(threading.current_thread())
        assert release.wait(10)  # being written until the test says so
        return write_outputs(*args, **kwargs)

    monkeypatch.setattr(core.live.snapshot, "write_outputs", slow_write)
    assert live.snapshot(tmp_path)  # back at once: its result is a queued signal
    saved = []
    live_window.saving.snapshot_saved.connect(saved.append)
    assert QApplication.overrideCursor() is not None  # busy
    count = len(view.shown)
    qtbot.waitUntil(lambda: len(view.shown) >= count + 2, timeout=WAIT_MS)  # frames go on
    assert saved == [] and threads
    release.set()
    qtbot.waitUntil(lambda: bool(saved), timeout=WAIT_MS)
    assert all(t is not threading.main_thread() for t in threads)
    assert any(p.name.endswith("_network_pool1.npy") for p in saved[0])
    assert QApplication.overrideCursor() is None
