"""Live mode's Qt-free half: what crosses its threads, the processing thread, the source choice
and the counters. The Qt controller that runs it is :mod:`ui.live`."""

from __future__ import annotations

from core.live.choice import SIZES, SYNTHETIC_FPS, VIDEO_EXTENSIONS, SourceChoice, choice_for
from core.live.frames import (
    LIVE_GRID_SIDE,
    RECORDABLE_PANES,
    Failure,
    LiveParams,
    LiveResult,
    input_view,
    layer_record_key,
    process_frame,
    recordable_panes,
    render_as_displayed,
)
from core.live.processor import STATUS_INTERVAL_MS, FrameProcessor, OnDemandSource
from core.live.stats import LiveStats

__all__ = [
    "LIVE_GRID_SIDE",
    "RECORDABLE_PANES",
    "SIZES",
    "STATUS_INTERVAL_MS",
    "SYNTHETIC_FPS",
    "VIDEO_EXTENSIONS",
    "Failure",
    "FrameProcessor",
    "LiveParams",
    "LiveResult",
    "LiveStats",
    "OnDemandSource",
    "SourceChoice",
    "choice_for",
    "input_view",
    "layer_record_key",
    "process_frame",
    "recordable_panes",
    "render_as_displayed",
]
