"""The threads of live mode besides capture: on-demand reading and frame processing.

Each holds at most one item for the next, so nothing can queue up: the processor starts on a
frame only once the GUI has taken the previous result.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

import numpy as np

from core.live.frames import Failure, LiveParams, LiveResult, process_frame
from core.sources import CaptureThread, FrameSource

__all__ = ["STATUS_INTERVAL_MS", "FrameProcessor", "OnDemandSource"]

_log = logging.getLogger(__name__)


# How often the status line, the histograms and the pane stats refresh while live. Recomputing
# three histograms for every frame costs more than drawing the frame; four times a second is
# smooth enough for a readout that nobody reads at 60 Hz.
STATUS_INTERVAL_MS = 250


class OnDemandSource(FrameSource):
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


class FrameProcessor(threading.Thread):
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
        self._slot: tuple[LiveResult | Failure, bool] | None = None
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

    def take(self) -> tuple[LiveResult | Failure, bool] | None:
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
            item: LiveResult | Failure
            try:
                item = process_frame(frame, params, histograms, stats)
            except ValueError as exc:
                item = Failure(str(exc))
            except Exception as exc:  # a bug: a message in the window, never a dead thread
                _log.exception("processing a live frame failed")
                item = Failure(f"Unexpected error: {type(exc).__name__}: {exc}")
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
