"""Live mode's Qt-free half: one frame through the layer, and a session's threads."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest
from scipy.signal import correlate2d

from core.display import apply_colormap, colormap_lut, resolve_colormap
from core.kernels import Kernel
from core.live import LiveParams, process_frame, render_as_displayed
from core.live.session import LIVE_SWITCH_INTERVAL, LiveSession
from core.pipeline import PipelineSettings
from core.sources import Frame, SyntheticSource


def _frame(rng: np.random.Generator, index: int = 3) -> Frame:
    return Frame(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), index, 0.0)


def test_a_frame_is_the_layer_of_its_float_image_checked_against_scipy():
    rng = np.random.default_rng(1)
    frame = _frame(rng)
    weights = rng.normal(size=(3, 3))
    params = LiveParams(
        Kernel(weights),
        PipelineSettings(padding="valid", activation="none", pool_mode="none", color="per-channel"),
    )
    result = process_frame(frame, params, histograms=True)
    working = frame.image.astype(np.float64) / 255.0
    assert np.allclose(result.working, working, atol=1e-6)
    assert not result.working.flags.writeable and not frame.image.flags.writeable
    conv = result.processed.result.conv
    for channel in range(3):  # per channel, cross-correlation as the frameworks compute it
        expected = correlate2d(working[..., channel], weights, mode="valid")
        assert np.allclose(conv[..., channel], expected, atol=1e-4)
    assert result.histograms is not None and len(result.histograms) == 3
    assert result.record is None  # nothing asked to be recorded


def test_rendered_maps_and_the_recorded_pane_are_drawn_as_displayed():
    rng = np.random.default_rng(2)
    frame = _frame(rng)
    params = LiveParams(
        Kernel(np.array([[-1.0, 0.0, 1.0]] * 3)),
        PipelineSettings(activation="none", pool_mode="max"),
        record="conv",
        fixed_levels=((-0.5, 0.5), (0.0, 1.0)),
    )
    result = process_frame(frame, params)
    (conv_rgb, conv_levels), (_pooled_rgb, pooled_levels) = result.rendered
    assert (conv_levels, pooled_levels) == ((-0.5, 0.5), (0.0, 1.0))
    view = result.processed.conv
    # "auto" picks the colormap by sign, through the one function that decides it.
    expected = apply_colormap(
        view.data, colormap_lut(resolve_colormap("auto", view.signed)), (-0.5, 0.5)
    )
    assert np.array_equal(conv_rgb, expected)
    assert result.record is conv_rgb
    assert render_as_displayed(result.input_view, "auto") is frame.image  # shown as captured


def test_resolve_colormap_is_the_choice_or_the_sign_default():
    assert resolve_colormap("viridis", signed=True) == "viridis"
    assert resolve_colormap("auto", signed=True) == "coolwarm"
    assert resolve_colormap("auto", signed=False) == "gray"
    assert resolve_colormap(None, signed=True) == "coolwarm"


def _run_session(source, frames: int, pause_after: int | None = None):
    """Start a session, take ``frames`` results (the GUI's part), stop; what it saw."""
    ready = threading.Event()
    ended = []
    params = LiveParams(Kernel(np.ones((3, 3)) / 9.0), PipelineSettings())
    source.open()
    session = LiveSession(source, params, on_ready=ready.set, on_ended=ended.append)
    interval = sys.getswitchinterval()
    session.start()
    during = sys.getswitchinterval()
    taken = []
    try:
        while len(taken) < frames:
            assert ready.wait(10.0), "no result within 10 s"
            ready.clear()
            item = session.take()
            if item is not None:
                taken.append(item)
    finally:
        session.stop()
    return taken, ended, interval, during, session


def test_a_session_processes_frames_and_stops_deterministically():
    before = set(threading.enumerate())
    taken, ended, interval, during, session = _run_session(SyntheticSource((64, 48)), 5)
    assert len(taken) == 5
    indices = [item.frame.index for item, _stepped in taken]
    assert indices == sorted(indices) and len(set(indices)) == 5
    assert all(not stepped for _item, stepped in taken)
    # An unpaced source is read on demand: one frame per frame processed, none dropped.
    assert session.dropped == 0
    assert during == min(interval, LIVE_SWITCH_INTERVAL)
    assert sys.getswitchinterval() == interval  # given back on stop
    assert ended == [None]  # capture ended without an error (the controller knows it asked)
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive()]


def test_a_paused_session_processes_only_steps():
    ready = threading.Event()
    params = LiveParams(Kernel(np.ones((3, 3))), PipelineSettings())
    source = SyntheticSource((32, 24))
    source.open()
    session = LiveSession(source, params, on_ready=ready.set, on_ended=lambda _e: None)
    session.start()
    try:
        assert ready.wait(10.0)
        ready.clear()
        session.set_paused(True)
        session.take()  # the slot is free: a paused processor must not fill it
        assert not ready.wait(0.5)
        session.step()
        assert ready.wait(10.0)
        _item, stepped = session.take()
        assert stepped
        session.set_paused(False)
    finally:
        session.stop()


@pytest.mark.parametrize("paused", [False, True])
def test_dropped_frames_do_not_count_those_skipped_while_paused(paused):
    class Capture:  # the session reads only these two counters of its capture thread
        dropped = 0

    session = object.__new__(LiveSession)
    session._capture = Capture()
    session._paused, session._pause_mark, session._paused_drops = False, 0, 0
    session._processor = type("P", (), {"set_paused": lambda self, p: None})()
    Capture.dropped = 4
    session.set_paused(True)  # 4 dropped while streaming
    Capture.dropped = 10  # 6 more skipped while paused
    if not paused:
        session.set_paused(False)
        Capture.dropped = 13  # 3 more while streaming again
        assert session.dropped == 4 + 3
    else:
        assert session.dropped == 4
