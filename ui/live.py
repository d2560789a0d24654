"""Live mode: a camera, a video file or a synthetic scene filtered at interactive frame rates.

Three threads, each holding at most one item for the next, so nothing can queue up:

``capture``  (:class:`core.sources.CaptureThread`) overwrites one latest-frame slot.
``process``  (:class:`_FrameProcessor`) takes the newest frame only once the GUI has taken the
             previous result, runs the layer on it and leaves the result in its own one-item
             slot, then wakes the GUI with a queued signal.
GUI          takes the result and draws it: the input frame and its outputs come from the same
             :class:`LiveResult`, so the panes always show one frame.

A frame overwritten before anyone took it counts as dropped; nothing is ever buffered. A source
that is not paced (an unthrottled synthetic scene, a video without a frame rate) is read on
demand instead, one frame per frame processed. The kernel and layer settings travel to the
processing thread as one immutable :class:`LiveParams`, replaced whenever the person edits
them, so an edit applies to the next frame.

The GUI thread does as little as possible per frame, because it also holds the GIL while Qt
paints: the processing thread converts the frame, runs the layer, measures levels and stats,
and renders the output maps through their colormap, so the GUI only hands finished pictures
to Qt (the input frame as captured, uint8 without levels). Histograms and stats lines follow
a few times a second. Freezing (or stopping) puts the panes back into workbench mode on the
frame on screen: float maps, live histograms, edits recompute.
"""

from __future__ import annotations

import collections
import logging
import math
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np
from PySide6.QtCore import QObject, QPointF, QTimer, Signal, Slot
from PySide6.QtWidgets import QFileDialog

from core.display import (
    COLORMAPS,
    apply_colormap,
    colormap_lut,
    default_colormap,
    display_histogram,
)
from core.kernels import Kernel
from core.pipeline import PipelineSettings
from core.preview import PaneView, Processed, process_for_display
from core.recording import RecordingError, VideoRecorder
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

if TYPE_CHECKING:
    from ui.main_window import MainWindow
    from ui.panes import ImagePane

__all__ = [
    "RECORDABLE_PANES",
    "SIZES",
    "LiveController",
    "LiveParams",
    "LiveResult",
    "LiveStats",
    "SourceChoice",
    "process_frame",
]

_log = logging.getLogger(__name__)

#: Frame sizes offered for the synthetic scene and requested from cameras, (width, height).
SIZES: tuple[tuple[int, int], ...] = ((320, 240), (640, 480), (1280, 720), (1920, 1080))
#: Pane key -> label of the panes a recording can show.
RECORDABLE_PANES: dict[str, str] = {"input": "Input", "conv": "Convolution", "pooled": "Pooled"}

# How often the status line, the histograms and the pane stats refresh while live. Recomputing
# three histograms for every frame costs more than drawing the frame; four times a second is
# smooth enough for a readout that nobody reads at 60 Hz.
STATUS_INTERVAL_MS = 250
# The synthetic scene of the source menu is paced like a camera: its motion is per frame, so
# unthrottled it would speed up and slow down with the display. (The benchmark starts an
# unthrottled one itself.)
SYNTHETIC_FPS = 60.0
_UNIT = np.float32(1.0 / 255.0)
# Longest wait for a thread to end on stop; a camera read stuck longer than this is abandoned.
_JOIN_TIMEOUT = 5.0
# CPython hands the GIL to a waiting thread only every "switch interval" (5 ms by default).
# The processing thread drops the GIL in every numpy/OpenCV call and must win it back from the
# GUI thread, which holds it through pyqtgraph's Python paint code: at 5 ms per hand-off a
# 4 ms frame took 15 ms. While live, hand-offs happen every 0.5 ms instead.
LIVE_SWITCH_INTERVAL = 0.0005


# --------------------------------------------------------------------------------------------
# What crosses the threads
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LiveParams:
    """Everything the processing thread needs besides the frame; replaced, never mutated.

    Attributes
    ----------
    kernel, settings
        The layer to run.
    levels_mode : {"auto", "robust"}
        How the worker computes each frame's display levels.
    record : {"input", "conv", "pooled"} or None
        Pane rendered "as displayed" for the recorder, or None when not recording.
    colormap : str
        The window's colormap choice ("auto" picks by the sign of the data).
    fixed_levels : tuple or None
        ``(conv levels, pooled levels)`` when the window's levels are fixed; None: each
        frame's own levels.
    render : bool
        Render the convolution and pooled maps to RGB here, so the GUI thread only shows them.
    """

    kernel: Kernel
    settings: PipelineSettings
    levels_mode: str = "auto"
    record: str | None = None
    colormap: str = "auto"
    fixed_levels: tuple[tuple[float, float], tuple[float, float]] | None = None
    render: bool = True


@dataclass(frozen=True, eq=False)
class LiveResult:
    """One processed frame: the input and every output the window shows for it.

    Attributes
    ----------
    frame : Frame
        The captured frame; ``frame.image`` (uint8 RGB, read-only) is what the input pane shows.
    working : numpy.ndarray
        The frame as float32 RGB in [0, 1], read-only: what the layer saw, exactly as an image
        file opened in the workbench would be (hover readouts, snapshots, frozen-frame edits).
    input_view : PaneView
        Stats of the input for its pane.
    processed : Processed
        The layer's result and the convolution/pooled pane views.
    record : numpy.ndarray or None
        uint8 RGB of the recorded pane as displayed, when recording.
    rendered : tuple or None
        ``((rgb, levels), (rgb, levels))``: the convolution and pooled maps as displayed
        (uint8 RGB, the size of their views) and the levels used, when ``params.render``.
    params : LiveParams
        The parameters this frame was processed with.
    seconds : float
        Processing time of this frame (conversion, layer, views, recording render).
    histograms : tuple or None
        ``(x, counts)`` for the input, convolution and pooled panes' histograms, computed a
        few times a second (None for the frames in between).
    """

    frame: Frame
    working: np.ndarray
    input_view: PaneView
    processed: Processed
    record: np.ndarray | None
    params: LiveParams
    seconds: float
    histograms: tuple[tuple[np.ndarray, np.ndarray], ...] | None = None
    rendered: tuple[tuple[np.ndarray, tuple[float, float]], ...] | None = None


@dataclass(frozen=True)
class _Failure:
    """A frame the layer could not process (e.g. a kernel larger than a 'valid' frame)."""

    message: str


def _no_image() -> None:
    """Stands in for a HistogramLUTItem's image reference while it is detached."""
    return None


def _input_view(image: np.ndarray, stats: tuple[float, float, float] | None) -> PaneView:
    """The input pane's view of a uint8 RGB frame, stats in the [0, 1] units of the layer.

    ``stats`` (min, max, mean) are reused when given: the pane shows them a few times a
    second, and measuring costs about a millisecond per 1280x720 frame.
    """
    if stats is None:
        means = cv2.mean(image)[: image.shape[2] if image.ndim == 3 else 1]
        stats = (
            float(image.min()) / 255.0,
            float(image.max()) / 255.0,
            float(np.mean(means)) / 255.0,
        )
    return PaneView(image, (0.0, 255.0), False, *stats)


def render_as_displayed(
    view: PaneView, colormap: str, levels: tuple[float, float] | None = None
) -> np.ndarray:
    """uint8 RGB of a pane view with the window's colormap and levels, as the pane draws it.

    Parameters
    ----------
    view : PaneView
        The view the pane shows.
    colormap : str
        A colormap name, or "auto" for the default of the data's sign.
    levels : tuple of float, optional
        Fixed levels; by default the view's own.
    """
    levels = view.levels if levels is None else levels
    data = view.data
    if data.dtype == np.uint8 and data.ndim == 3:
        return data  # an input frame is shown as captured
    if data.ndim == 3:  # per-channel maps: each channel through the levels, no LUT
        return apply_colormap(data, COLORMAPS["gray"], levels)
    lut = colormap_lut(default_colormap(view.signed) if colormap == "auto" else colormap)
    return apply_colormap(data, lut, levels)


def process_frame(
    frame: Frame,
    params: LiveParams,
    histograms: bool = False,
    input_stats: tuple[float, float, float] | None = None,
) -> LiveResult:
    """Run the layer on one captured frame and prepare everything the window draws.

    Meant for the processing thread: it only reads ``frame`` and ``params``.

    Parameters
    ----------
    frame : Frame
        A captured frame (uint8 RGB); its image is made read-only, since panes will show it.
    params : LiveParams
        Kernel, settings and display choices.
    histograms : bool
        Also compute the three panes' histograms (see :func:`display_histogram`).
    input_stats : tuple of float, optional
        (min, max, mean) of the input to reuse instead of measuring this frame, for frames
        whose stats line is not shown (those without histograms).

    Returns
    -------
    LiveResult

    Raises
    ------
    ValueError
        When the layer cannot run on this frame (the message says why).
    """
    start = time.perf_counter()
    frame.image.setflags(write=False)
    # The same [0, 1] float RGB an opened image file gives, so a live frame behaves exactly like
    # a still image (bias, levels, readouts). One fused multiply-and-cast pass.
    working = np.multiply(frame.image, _UNIT, dtype=np.float32)
    working.setflags(write=False)
    processed = process_for_display(  # pixels: drawn below, with the colormap
        working, params.kernel, params.settings, params.levels_mode, histograms, pixels=False
    )
    input_view = _input_view(frame.image, None if histograms else input_stats)
    rendered = None
    if params.render or params.record in ("conv", "pooled"):
        # Levels and colormap applied here, in one OpenCV LUT pass per map, rather than by
        # pyqtgraph in the GUI thread at paint time; the recorder reuses the same pictures.
        views = (processed.conv, processed.pooled)
        fixed = params.fixed_levels or (None, None)
        levels = [view.levels if lv is None else lv for view, lv in zip(views, fixed, strict=True)]
        rendered = tuple(
            (render_as_displayed(view, params.colormap, lv), lv)
            for view, lv in zip(views, levels, strict=True)
        )
    record = None
    if params.record == "input":
        record = frame.image
    elif params.record is not None and rendered is not None:
        record = rendered[0 if params.record == "conv" else 1][0]
    hists = None
    if histograms:
        hists = (
            display_histogram(input_view.data),
            processed.conv.histogram,
            processed.pooled.histogram,
        )
    seconds = time.perf_counter() - start
    return LiveResult(
        frame, working, input_view, processed, record, params, seconds, hists, rendered
    )


class _OnDemandSource(FrameSource):
    """Reads an unpaced source only when the previous frame has been taken.

    An unthrottled synthetic scene (or a video file without a frame rate) would otherwise be
    read in a tight loop, burning a core on frames that are overwritten unseen. Here the
    capture thread prepares one frame each time the processor asks, then waits.
    Cameras are never wrapped: their driver paces them, and they must be drained.
    """

    _POLL = 0.25

    def __init__(self, inner: FrameSource) -> None:
        super().__init__()
        self.inner = inner
        self._wanted = threading.Event()
        self._wanted.set()
        self._released = False

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def frame_size(self) -> tuple[int, int] | None:
        return self.inner.frame_size

    @property
    def nominal_fps(self) -> float | None:
        return self.inner.nominal_fps

    def want(self) -> None:
        """Prepare the next frame (the consumer will take it soon)."""
        self._wanted.set()

    def release(self) -> None:
        """Stop waiting for demand (before stopping the capture thread)."""
        self._released = True
        self._wanted.set()

    def _open(self) -> None:
        self.inner.open()

    def _grab(self) -> np.ndarray | None:
        while not self._wanted.wait(self._POLL):
            pass
        if self._released:
            return None
        self._wanted.clear()
        frame = self.inner.read()
        return None if frame is None else frame.image

    def _close(self) -> None:
        self.inner.close()


class _FrameProcessor(threading.Thread):
    """Takes the newest captured frame, processes it and leaves the result in a one-item slot.

    It starts on a frame only when the slot is empty, i.e. once the GUI has taken the previous
    result: processing the next frame overlaps with drawing the current one, but never runs
    ahead of what the window can show, so no result and no queued signal can pile up.
    """

    _POLL = 0.25  # seconds; how often a wait for a frame re-checks for stop

    def __init__(
        self,
        capture: CaptureThread,
        params: LiveParams,
        on_ready: Callable[[], object],
        on_stored: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(name="convscope-live-process", daemon=False)
        self._capture = capture
        self._on_ready = on_ready
        # Called once a result waits for the GUI: an on-demand source prepares the next frame
        # then, so it is fresh when the GUI frees the slot. (Asking as soon as a frame is
        # taken overlaps more work but measured no faster here, and ~15 ms later on screen.)
        self._on_stored = on_stored
        self._input_stats: tuple[float, float, float] | None = None
        self._cond = threading.Condition()
        self._params = params
        # (result, processed during a step while paused) or None.
        self._slot: tuple[LiveResult | _Failure, bool] | None = None
        self._paused = False
        self._steps = 0
        self._stopping = False
        self._last_histograms = -math.inf
        self.processed = 0  # frames processed (read by the GUI for statistics)

    def set_params(self, params: LiveParams) -> None:
        with self._cond:
            self._params = params

    def set_paused(self, paused: bool) -> None:
        with self._cond:
            self._paused = paused
            self._steps = 0
            self._cond.notify_all()

    def step(self) -> None:
        """While paused, process one more frame."""
        with self._cond:
            self._steps = 1
            self._cond.notify_all()

    def take(self) -> tuple[LiveResult | _Failure, bool] | None:
        """Take the waiting result and whether it answers a step (GUI thread).

        Frees the slot for the next frame.
        """
        with self._cond:
            item, self._slot = self._slot, None
            self._cond.notify_all()
            return item

    def request_stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def _wanted(self) -> bool:
        return self._stopping or (self._slot is None and (not self._paused or self._steps > 0))

    def run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(self._wanted)
                if self._stopping:
                    return
            frame = self._capture.take_latest(timeout=self._POLL)
            if frame is None:
                if self._capture.finished:
                    return  # the source ended or failed; the controller hears it from capture
                continue
            with self._cond:
                if self._stopping:
                    return
                stepped = self._paused
                unwanted = stepped and self._steps == 0  # frozen while we waited for it
                if stepped and not unwanted:
                    self._steps -= 1
                params = self._params
            if unwanted:
                if self._on_stored is not None:
                    self._on_stored()  # an on-demand source must have a frame for the next step
                continue
            now = time.perf_counter()
            stats = self._input_stats
            histograms = (
                stepped or stats is None or now - self._last_histograms >= STATUS_INTERVAL_MS / 1000
            )
            if histograms:
                self._last_histograms = now
            item: LiveResult | _Failure
            try:
                item = process_frame(frame, params, histograms, stats)
            except ValueError as exc:
                item = _Failure(str(exc))
            except Exception as exc:  # a bug: a message in the window, never a dead thread
                _log.exception("processing a live frame failed")
                item = _Failure(f"Unexpected error: {type(exc).__name__}: {exc}")
            else:
                view = item.input_view
                self._input_stats = (view.minimum, view.maximum, view.mean)
            with self._cond:
                if self._stopping:
                    return
                self._slot = (item, stepped)
                self.processed += 1
            if self._on_stored is not None:
                self._on_stored()
            self._on_ready()


# --------------------------------------------------------------------------------------------
# Source choice
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceChoice:
    """What live mode reads from, as chosen in the toolbar.

    Attributes
    ----------
    kind : {"synthetic", "camera", "file"}
        The kind of source.
    camera : int
        Camera index (for "camera").
    path : pathlib.Path or None
        Video file (for "file"); it loops.
    size : tuple of int or None
        Synthetic scene size, or the resolution requested from a camera (None: its default).
    mirror : bool
        Flip camera frames left-right, like a mirror (webcams facing you).
    """

    kind: Literal["synthetic", "camera", "file"] = "synthetic"
    camera: int = 0
    path: Path | None = None
    size: tuple[int, int] | None = (640, 480)
    mirror: bool = True

    def make_source(self) -> FrameSource:
        """A new, unopened source for this choice.

        Raises
        ------
        SourceError
            "file" without a path.
        """
        if self.kind == "camera":
            return CameraSource(self.camera, size=self.size, mirror=self.mirror)
        if self.kind == "file":
            if self.path is None:
                raise SourceError("Choose a video file first.")
            return VideoFileSource(self.path, loop=True)
        return SyntheticSource(self.size or (640, 480), fps=SYNTHETIC_FPS)


def _choice_for(source: FrameSource, current: SourceChoice) -> SourceChoice:
    """The choice describing ``source`` (``current`` for a kind the toolbar cannot show)."""
    if isinstance(source, SyntheticSource):
        return replace(current, kind="synthetic", size=source.frame_size)
    if isinstance(source, VideoFileSource):
        return replace(current, kind="file", path=source.path)
    if isinstance(source, CameraSource):
        return replace(
            current,
            kind="camera",
            camera=source.index,
            size=source.requested_size,
            mirror=source.mirror,
        )
    return current


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveStats:
    """A snapshot of live mode's counters, for the status line and tests.

    Attributes
    ----------
    source : str
        Name of the source.
    frame_index : int
        Source index of the frame on screen (-1 before the first).
    shown : int
        Frames drawn since start.
    dropped : int
        Frames captured but never shown (overwritten while the pipeline was busy), not
        counting frames skipped while frozen.
    capture_fps, display_fps : float
        Smoothed rates of capture and of frames drawn.
    process_ms : float
        Smoothed processing time per frame in the processing thread.
    frozen, recording : bool
        States of live mode.
    recorded, record_dropped : int
        Frames written to the recording and frames the recorder had to drop.
    """

    source: str = ""
    frame_index: int = -1
    shown: int = 0
    dropped: int = 0
    capture_fps: float = 0.0
    display_fps: float = 0.0
    process_ms: float = 0.0
    frozen: bool = False
    recording: bool = False
    recorded: int = 0
    record_dropped: int = 0

    @property
    def text(self) -> str:
        """One status line, e.g. ``capture 60.0 fps | display 59.8 fps | 4.1 ms/frame``."""
        parts = [
            f"capture {self.capture_fps:.1f} fps",
            f"display {self.display_fps:.1f} fps",
            f"processing {self.process_ms:.1f} ms/frame",
            f"dropped {self.dropped}",
            f"frame {max(self.frame_index, 0)}",
        ]
        if self.recording:
            parts.append(
                f"recorded {self.recorded}"
                + (f" ({self.record_dropped} dropped)" if self.record_dropped else "")
            )
        return "  |  ".join(parts)


# --------------------------------------------------------------------------------------------
# The controller
# --------------------------------------------------------------------------------------------


class LiveController(QObject):
    """Runs live mode for a :class:`~ui.main_window.MainWindow`.

    Owns the capture and processing threads and an optional recorder; draws every result into
    the window's panes through the window's own code (``show_processed``, ``hover_at``) so
    every workbench control keeps working live.

    Signals
    -------
    frame_shown(object)
        The :class:`LiveResult` now on screen.
    running_changed(bool)
        Live mode started or stopped.
    frozen_changed(bool)
        The display froze or resumed.
    recording_changed(bool)
        Recording started or stopped.
    stats_changed(object)
        A new :class:`LiveStats`, a few times a second while live.
    cameras_found(object)
        The list of camera indices a probe found.
    """

    frame_shown = Signal(object)
    running_changed = Signal(bool)
    frozen_changed = Signal(bool)
    recording_changed = Signal(bool)
    stats_changed = Signal(object)
    cameras_found = Signal(object)
    # Internal, emitted from the processing / capture / probe threads; queued to the GUI thread.
    _result_ready = Signal()
    _capture_ended = Signal(int, object)
    _probe_done = Signal(object)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        from ui.main_window import LoadedImage  # here: main_window imports this module

        self._loaded_type = LoadedImage
        self._window = window
        self.choice = SourceChoice()
        self.record_pane = "conv"
        self._session = 0
        self._source: FrameSource | None = None
        self._demand: _OnDemandSource | None = None
        self._switch_interval: float | None = None
        self._capture: CaptureThread | None = None
        self._processor: _FrameProcessor | None = None
        self._recorder: VideoRecorder | None = None
        self._probe: threading.Thread | None = None
        self._params: LiveParams | None = None
        self._current: LiveResult | None = None
        self._frozen = False
        self._histograms_detached = False
        self._rendered_shown = False  # conv/pooled panes show pixels rendered in the worker
        self._input_size: tuple[int, int] | None = None
        self._hover_pos: QPointF | None = None
        self._last_failure = ""
        self._snapshot_folder: str | None = None
        self._source_name = ""
        self._fit_pending = False
        self._reset_counters()

        self._result_ready.connect(self._on_result_ready)
        self._capture_ended.connect(self._on_capture_ended)
        self._probe_done.connect(self._on_probe_done)
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(STATUS_INTERVAL_MS)
        self._status_timer.timeout.connect(self._on_status_timer)

        window.editor.kernel_changed.connect(self._on_params_edited)
        window.controls.changed.connect(self._on_params_edited)
        window.controls.display_changed.connect(self._on_params_edited)
        window.loader.finished.connect(self._on_image_loaded)
        for pane in window.panes:
            pane.levels_edited.connect(self._on_params_edited)
            pane.hovered.connect(self._on_pane_hovered)

    # -- state ---------------------------------------------------------------------------------
    def is_running(self) -> bool:
        """True from :meth:`start` to :meth:`stop`, frozen or not."""
        return self._processor is not None

    def is_streaming(self) -> bool:
        """True while frames flow to the panes (running and not frozen)."""
        return self._processor is not None and not self._frozen

    def is_frozen(self) -> bool:
        """True while the display holds one frame (see :meth:`set_frozen`)."""
        return self._frozen

    def is_recording(self) -> bool:
        """True between :meth:`start_recording` and :meth:`stop_recording`."""
        return self._recorder is not None

    @property
    def source(self) -> FrameSource | None:
        """The running source, or None."""
        return self._source

    @property
    def current(self) -> LiveResult | None:
        """The live result on screen (kept after stop), or None."""
        return self._current

    @property
    def recorder(self) -> VideoRecorder | None:
        """The recorder writing the current recording, or None."""
        return self._recorder

    def stats(self) -> LiveStats:
        """Current counters; see :class:`LiveStats`."""
        capture, recorder = self._capture, self._recorder
        dropped = self._dropped_before
        capture_fps = 0.0
        if capture is not None:
            frozen_now = capture.dropped - self._freeze_mark if self._frozen else 0
            dropped = capture.dropped - self._frozen_drops - frozen_now
            capture_fps = capture.fps
        times = self._shown_times
        display_fps = 0.0
        if len(times) >= 2 and time.perf_counter() - times[-1] < 1.0:
            display_fps = (len(times) - 1) / (times[-1] - times[0])
        return LiveStats(
            source=self._source.name if self._source is not None else self._source_name,
            frame_index=self._current.frame.index if self._current is not None else -1,
            shown=self._shown,
            dropped=dropped,
            capture_fps=capture_fps,
            display_fps=display_fps,
            process_ms=self._process_ms,
            frozen=self._frozen,
            recording=recorder is not None,
            recorded=recorder.written if recorder is not None else 0,
            record_dropped=recorder.dropped if recorder is not None else 0,
        )

    # -- start / stop --------------------------------------------------------------------------
    def start(self, source: FrameSource | None = None) -> bool:
        """Start live mode on ``source`` (default: a new source for :attr:`choice`).

        The source is opened here, so a missing camera or an unreadable file is reported at
        once (in the window's banner) and the window stays as it was.

        Returns
        -------
        bool
            True if live mode is running.
        """
        window = self._window
        if self.is_running():
            self.stop()
        params = self._make_params()
        if params is None:
            return False  # the window already says which setting is wrong
        try:
            if source is None:
                source = self.choice.make_source()
            source.open()
        except SourceError as exc:
            if source is not None:
                source.close()
            window.show_error(f"Live mode could not start: {exc}")
            return False
        self._session += 1
        session = self._session
        self.choice = _choice_for(source, self.choice)  # the toolbar shows what runs
        self._source = source
        self._source_name = source.name
        self._params = params
        self._reset_counters()
        self._last_failure = ""
        # Keep the person's zoom when the new frames are as large as the image they replace.
        size = source.frame_size
        shown = window.loaded.image.shape[:2] if window.loaded is not None else None
        self._fit_pending = size is None or shown != (size[1], size[0])
        read_from = source
        self._demand = None
        if source.pace_fps is None and not isinstance(source, CameraSource):
            read_from = self._demand = _OnDemandSource(source)
        self._capture = CaptureThread(
            read_from, on_stopped=lambda error, s=session: self._capture_ended.emit(s, error)
        )
        self._processor = _FrameProcessor(
            self._capture,
            params,
            self._result_ready.emit,
            self._demand.want if self._demand is not None else None,
        )
        self._detach_histograms()
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, LIVE_SWITCH_INTERVAL))
        self._capture.start()
        self._processor.start()
        self._status_timer.start()
        window.show_status(f"Live: {source.name}")
        self.running_changed.emit(True)
        self._emit_stats()
        return True

    def start_choice(self) -> bool:
        """Start on the source chosen in the toolbar, asking for a video file if needed."""
        if self.choice.kind == "file" and self.choice.path is None:
            if not self.choose_video_file():
                return False
        return self.start()

    def toggle(self) -> None:
        """Stop if running, else start on the chosen source (the Space key)."""
        if self.is_running():
            self.stop()
        else:
            self.start_choice()

    def stop(self, message: str = "", *, error: bool = False) -> None:
        """Stop live mode; the last frame and its outputs stay on screen.

        Every thread is joined and a recording is finalized before this returns.

        Parameters
        ----------
        message : str
            Shown in the banner (``error=True``) or the status bar.
        error : bool
            The stop is a failure the person must see.
        """
        processor, capture = self._processor, self._capture
        if processor is None or capture is None:
            return
        recording = self.stop_recording()
        if recording is not None and not message:
            message = f"Live mode stopped; the recording is in {recording}."
        self._dropped_before = self.stats().dropped
        self._processor = None
        self._capture = None
        processor.request_stop()
        if self._demand is not None:
            self._demand.release()
        # Stopping capture first wakes a processor waiting for a frame.
        if not capture.stop(timeout=_JOIN_TIMEOUT):
            _log.warning("capture thread %s did not stop in time", capture.name)
        processor.join(_JOIN_TIMEOUT)
        self._source = None
        self._demand = None
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
            self._switch_interval = None
        self._status_timer.stop()
        self._attach_histograms()
        was_frozen, self._frozen = self._frozen, False
        if was_frozen:
            self.frozen_changed.emit(False)
        window = self._window
        current = self._current
        if (
            not error
            and current is not None
            and window.loaded is not None
            and window.loaded.image is current.working
            and current.params is not self._params
        ):
            window.request_update()  # an edit the last frame missed: show it on that frame
        if error:
            window.show_error(message)
        else:
            window.show_status(message or "Live mode stopped; the last frame stays for study.")
        self.running_changed.emit(False)
        self._emit_stats()

    def shutdown(self) -> None:
        """Stop everything (idempotent): live mode, recording, a camera probe in progress."""
        self._status_timer.stop()
        self.stop()
        probe, self._probe = self._probe, None
        if probe is not None:
            probe.join(_JOIN_TIMEOUT)

    # -- freeze and step -----------------------------------------------------------------------
    def set_frozen(self, frozen: bool) -> None:
        """Hold the frame on screen (True) or resume (False); capture keeps running.

        While frozen the window behaves like the image workbench on that frame: kernel and
        layer edits recompute it.
        """
        processor, capture = self._processor, self._capture
        if processor is None or capture is None or frozen == self._frozen:
            return
        self._frozen = frozen
        processor.set_paused(frozen)
        if frozen:
            self._freeze_mark = capture.dropped
            self._attach_histograms()  # a still frame: panes behave as in the workbench
        else:
            self._frozen_drops += capture.dropped - self._freeze_mark
            self._shown_times.clear()
            self._detach_histograms()
        self.frozen_changed.emit(frozen)
        self._emit_stats()

    def step(self) -> None:
        """While frozen, show the newest frame once (and stay frozen)."""
        if self._processor is not None and self._frozen:
            self._processor.step()

    # -- recording -----------------------------------------------------------------------------
    def start_recording(self, path: str | Path, pane: str | None = None) -> bool:
        """Record ``pane`` ("input", "conv" or "pooled"; default :attr:`record_pane`) as
        displayed to ``path`` (.avi or .mp4), one video frame per frame shown.

        Returns
        -------
        bool
            True if recording started.
        """
        window = self._window
        if not self.is_running():
            window.show_error("Start live mode before recording.")
            return False
        pane = pane or self.record_pane
        if pane not in RECORDABLE_PANES:
            raise ValueError(f"pane must be one of {', '.join(RECORDABLE_PANES)}, not {pane!r}")
        self.stop_recording()
        # The video plays at the rate frames are shown (it has one frame per frame shown), so
        # it runs in real time; the source's own rate before anything was measured.
        source = self._source
        shown_fps = self.stats().display_fps
        nominal = source.nominal_fps if source is not None else None
        fps = round(shown_fps, 1) if shown_fps >= 1.0 else (nominal or 30.0)
        try:
            recorder = VideoRecorder(path, fps=fps)
        except (RecordingError, ValueError) as exc:
            window.show_error(str(exc))
            return False
        self.record_pane = pane
        self._recorder = recorder
        self._on_params_edited()
        window.show_status(f"Recording the {RECORDABLE_PANES[pane].lower()} pane to {path}")
        self.recording_changed.emit(True)
        self._emit_stats()
        return True

    def stop_recording(self, message: str = "") -> Path | None:
        """Finalize the recording; returns its path, or None if nothing was recording."""
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return None
        self._on_params_edited()
        finished = recorder.close(timeout=_JOIN_TIMEOUT)
        window = self._window
        if recorder.error is not None:
            window.show_error(f"Recording stopped: {recorder.error}", level="note")
        elif not finished:
            window.show_error(
                f"The recording {recorder.path} may be incomplete: the disk "
                "was too slow to finish it.",
                level="note",
            )
        elif recorder.written == 0:
            window.show_status("Nothing was recorded.")
        else:
            dropped = f", {recorder.dropped} dropped" if recorder.dropped else ""
            window.show_status(
                message or f"Recorded {recorder.written} frames{dropped} to {recorder.path}"
            )
        self.recording_changed.emit(False)
        self._emit_stats()
        return recorder.path

    # -- snapshot ------------------------------------------------------------------------------
    def snapshot(self, folder: str | Path | None = None) -> list[Path]:
        """Save the frame on screen like "Export all": input, kernel, outputs raw and as shown.

        The frame is the one on screen when this is called, even if live mode moves on while
        the folder dialog is open. File names carry the frame index.

        Parameters
        ----------
        folder : str or Path, optional
            Target folder; by default ask (once per session, then reuse).

        Returns
        -------
        list of Path
            The files written (empty if cancelled or failed).
        """
        window = self._window
        loaded, processed, current = window.loaded, window.processed, self._current
        if loaded is None or processed is None:
            window.show_error("There is no frame to save yet.")
            return []
        if folder is None:
            if not window.interactive:
                return []
            folder = QFileDialog.getExistingDirectory(
                window, "Save snapshots into folder", self._snapshot_folder or window.last_folder()
            )
            if not folder:
                return []
        self._snapshot_folder = str(folder)
        stem = "-".join(Path(loaded.name).stem.split()) or "live"
        if current is not None and loaded.image is current.working:
            stem += f"_frame{current.frame.index:06d}"
        newest = (window.loaded, window.processed)
        window.loaded, window.processed = replace(loaded, name=stem), processed
        try:
            return window.export_to(folder)
        finally:
            window.loaded, window.processed = newest

    # -- sources -------------------------------------------------------------------------------
    def set_choice(self, choice: SourceChoice, *, restart: bool = True) -> None:
        """Use ``choice`` from now on; a running session switches to it (``restart``)."""
        previous, self.choice = self.choice, choice
        source = self._source
        if isinstance(source, CameraSource) and choice.kind == "camera":
            source.mirror = choice.mirror  # read per frame by the capture thread: no restart
            if replace(previous, mirror=choice.mirror) == choice:
                return
        if restart and self.is_running() and choice != previous:
            self.start_choice()

    def choose_video_file(self) -> bool:
        """Ask for a video file (interactive windows only); True if one was chosen."""
        window = self._window
        if not window.interactive:
            return False
        path, _ = QFileDialog.getOpenFileName(
            window,
            "Open video file",
            window.last_folder(),
            "Videos (*.avi *.mp4 *.mov *.mkv *.webm *.m4v *.mpg *.mpeg *.wmv);;All files (*)",
        )
        if not path:
            return False
        window.remember_folder(Path(path).parent)
        self.set_choice(replace(self.choice, kind="file", path=Path(path)))
        return True

    def find_cameras(self) -> None:
        """Probe camera indices in a background thread; ``cameras_found`` reports them."""
        if self._probe is not None and self._probe.is_alive():
            return
        self._window.show_status("Looking for cameras...")

        def run() -> None:
            try:
                found = probe_cameras()
            except Exception:  # a broken driver must not kill the app
                _log.exception("camera probe failed")
                found = []
            self._probe_done.emit(found)

        self._probe = threading.Thread(target=run, name="convscope-camera-probe", daemon=False)
        self._probe.start()

    # -- slots ---------------------------------------------------------------------------------
    @Slot()
    def _on_result_ready(self) -> None:
        processor = self._processor
        if processor is None:
            return  # stopped meanwhile
        taken = processor.take()
        if taken is None:
            return  # a late wake-up from an earlier session
        item, stepped = taken
        if self._frozen and not stepped:
            return  # was in flight when the display froze: the frozen frame stays
        if isinstance(item, _Failure):
            if item.message != self._last_failure:
                self._last_failure = item.message
                self._window.show_error(f"Cannot compute this layer: {item.message}")
            return
        self._last_failure = ""
        self._show(item)

    def _show(self, result: LiveResult) -> None:
        window = self._window
        frame = result.frame
        height, width = frame.image.shape[:2]
        resized = (width, height) != self._input_size
        window.loaded = self._loaded_type(
            self._source_name, None, result.working, result.input_view
        )
        # uint8 RGB without levels: pyqtgraph hands it to Qt as is, no per-pixel conversion.
        # (A step while frozen has the histograms attached, and they need levels.)
        levels = None if self._histograms_detached else (0.0, 255.0)
        rect = (0, 0, width, height) if resized else None
        window.input_pane.set_data(frame.image, rect, levels)
        if resized:
            self._input_size = (width, height)
            size = f"{width}x{height}"
            name = self._source_name
            window.input_pane.set_title(
                f"Live: {name}" if size in name else f"Live: {name}  {size}"
            )
            window.input_pane.set_stats(result.input_view.stats_text)
        if resized and (self._fit_pending or not window.view_contains_image()):
            self._fit_pending = False
            window.fit_view()
        window.show_processed(result.processed)
        if result.rendered is not None and self._histograms_detached:
            panes = (window.conv_pane, window.pooled_pane)
            for pane, (rgb, levels) in zip(panes, result.rendered, strict=True):
                pane.set_rendered(rgb, levels)
            self._rendered_shown = True
        if result.histograms is not None and self._histograms_detached:
            # Histograms, level regions and stats lines a few times a second, changed in the
            # same event as the images so Qt paints them in the same pass.
            self._apply_histograms(result.histograms)
            window.input_pane.set_stats(result.input_view.stats_text)
            for pane in window.panes:
                pane.flush_stats()
        self._current = result
        self._shown += 1
        now = time.perf_counter()
        self._shown_times.append(now)
        while now - self._shown_times[0] > 1.0:
            self._shown_times.popleft()
        self._process_ms = (
            result.seconds * 1000
            if self._shown == 1
            else 0.9 * self._process_ms + 0.1 * result.seconds * 1000
        )
        recorder = self._recorder
        if recorder is not None and result.record is not None:
            try:
                recorder.submit(result.record)  # copies and queues; never waits for the disk
            except (RecordingError, ValueError) as exc:
                self.stop_recording()
                window.show_error(f"Recording stopped: {exc}", level="note")
        if self._hover_pos is not None and window._hover_source is not None:
            window.hover_at(self._hover_pos.x(), self._hover_pos.y(), window._hover_source)
        self.frame_shown.emit(result)

    @Slot(int, object)
    def _on_capture_ended(self, session: int, error: SourceError | None) -> None:
        if session != self._session or not self.is_running():
            return  # an earlier session's thread, or a stop we asked for
        name = self._source_name
        if error is not None:
            self.stop(
                f"Live mode stopped: {error}. The last frame stays; press Space to try again.",
                error=True,
            )
        else:
            self.stop(f"{name} ended; live mode stopped.")

    @Slot(object)
    def _on_probe_done(self, found: list[int]) -> None:
        probe, self._probe = self._probe, None
        if probe is not None:
            probe.join(_JOIN_TIMEOUT)  # it has emitted its last word: a short join
        if found:
            self._window.show_status("Cameras found: " + ", ".join(f"Camera {i}" for i in found))
        else:
            self._window.show_error(
                "No camera found. Try a video file or the synthetic scene.", level="note"
            )
        self.cameras_found.emit(found)

    def _on_params_edited(self, *_args) -> None:
        params = self._make_params()
        if params is None:
            return
        self._params = params
        if self._processor is not None:
            self._processor.set_params(params)

    def _on_image_loaded(self, *_args) -> None:
        # The person opened an image: it replaces live mode (the window already shows it).
        if self.is_running():
            self.stop("Live mode stopped: an image was opened.")
            self._window.request_update()

    def _on_pane_hovered(self, pos: QPointF | None) -> None:
        self._hover_pos = None if pos is None else QPointF(pos)

    @Slot()
    def _on_status_timer(self) -> None:
        recorder = self._recorder
        if recorder is not None and recorder.error is not None:
            self.stop_recording()
        self._emit_stats()

    # -- helpers -------------------------------------------------------------------------------
    def _reset_counters(self) -> None:
        self._shown = 0
        self._shown_times: collections.deque[float] = collections.deque()
        self._process_ms = 0.0
        self._frozen_drops = 0
        self._freeze_mark = 0
        self._dropped_before = 0
        self._input_size = None

    def _emit_stats(self) -> None:
        self.stats_changed.emit(self.stats())

    def _make_params(self) -> LiveParams | None:
        window = self._window
        try:
            settings = window.controls.settings()
        except ValueError as exc:
            window.show_error(str(exc))
            return None
        mode = window.controls.levels_mode()
        fixed = None
        if mode == "fixed":
            fixed = (self._fixed_levels(window.conv_pane), self._fixed_levels(window.pooled_pane))
        return LiveParams(
            kernel=window.editor.kernel(),
            settings=settings,
            levels_mode="robust" if mode == "robust" else "auto",
            record=self.record_pane if self._recorder is not None else None,
            colormap=window.controls.colormap_name(),
            fixed_levels=fixed,
        )

    def _fixed_levels(self, pane: ImagePane) -> tuple[float, float]:
        """The levels the person fixed for ``pane``.

        While streaming, the histogram's level region is the control (it is detached from
        the image, which shows rendered pixels); otherwise the image's own levels.
        """
        if self._histograms_detached and pane.histogram is not None:
            low, high = pane.histogram.getLevels()
            return float(low), float(high)
        return pane.levels()

    def _histogram_panes(self) -> list[ImagePane]:
        return [pane for pane in self._window.panes if pane.histogram is not None]

    def _detach_histograms(self) -> None:
        """Stop updating histograms per frame; :meth:`_apply_histograms` does it, throttled.

        pyqtgraph's HistogramLUTItem recomputes on every ``sigImageChanged``, even with fixed
        levels, and moving its level region per frame makes Qt paint the pane twice. The
        input pane also gets frames without levels (its fast path), which that handler cannot
        digest.
        """
        if self._histograms_detached:
            return
        for pane in self._histogram_panes():
            histogram = pane.histogram
            flush = getattr(histogram, "flush", None)
            if flush is not None:  # a deferred update must not run on a live frame later
                flush()
            pane.image.sigImageChanged.disconnect(histogram.imageChanged)
            # Detached from the image: the panes show pixels rendered in the worker, and a
            # drag of the level region sets the levels of the next frames (see _fixed_levels)
            # instead of re-levelling those pixels.
            histogram.imageItem = _no_image
        for pane in self._window.panes:
            pane.defer_stats = True
        hist = self._window.input_pane.histogram
        if hist is not None:
            hist.blockSignals(True)  # a programmatic level change, not the person's drag
            try:
                hist.setLevels(0.0, 255.0)
            finally:
                hist.blockSignals(False)
        self._histograms_detached = True

    def _attach_histograms(self) -> None:
        if not self._histograms_detached:
            return
        self._histograms_detached = False
        window = self._window
        processed = window.processed
        if self._rendered_shown and processed is not None:
            # Back to the float maps with their levels: what the workbench's histograms, level
            # drags and saves work on. (Fixed levels are kept: set_rendered remembered them.)
            geometry = processed.result.geometry
            window._show_view(window.conv_pane, processed.conv, geometry.conv.rect)
            second = geometry.pooled or geometry.conv
            window._show_view(window.pooled_pane, processed.pooled, second.rect)
        self._rendered_shown = False
        item = window.input_pane.image
        if item.image is not None and item.levels is None:
            item.setLevels((0.0, 255.0))  # the image workbench always draws with levels
        for pane in window.panes:
            pane.defer_stats = False
            pane.flush_stats()
        for pane in self._histogram_panes():
            pane.histogram.imageItem = weakref.ref(pane.image)
            pane.image.sigImageChanged.connect(pane.histogram.imageChanged)
            if pane.image.image is not None:
                # The histogram and level region of the last frame, when the pane catches up
                # (which moves the region with signals blocked: not the person's drag).
                pane.histogram.imageChanged()

    def _apply_histograms(self, histograms: tuple[tuple[np.ndarray, np.ndarray], ...]) -> None:
        for pane, (x, counts) in zip(self._window.panes, histograms, strict=True):
            item, histogram = pane.image, pane.histogram
            if histogram is None or item.image is None:
                continue
            histogram.plot.setData(x, counts)
            if pane is self._window.input_pane:
                continue  # frames are shown as captured: its region stays at 0..255
            low, high = pane.levels()  # what the last frame was rendered with
            histogram.blockSignals(True)  # a programmatic level change, not a drag
            try:
                histogram.setLevels(low, high)
            finally:
                histogram.blockSignals(False)
