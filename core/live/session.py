"""One run of live mode's threads on an opened source, from start to stop (no Qt).

A :class:`LiveSession` owns the capture thread, the on-demand wrapper of an unpaced source and
the processing thread; it counts the frames dropped (apart from those skipped while paused)
and shortens CPython's GIL switch interval while it runs. The GUI controller
(``ui.live.controller.LiveController``) makes one per start and draws what it hands over.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from core.live.frames import Failure, LiveParams, LiveResult
from core.live.processor import FrameProcessor, OnDemandSource
from core.sources import CameraSource, CaptureThread, FrameSource, SourceError

__all__ = ["JOIN_TIMEOUT", "LIVE_SWITCH_INTERVAL", "LiveSession"]

_log = logging.getLogger(__name__)

#: Longest wait for a thread to end on stop; a camera read stuck longer is abandoned.
JOIN_TIMEOUT = 5.0
# CPython hands the GIL to a waiting thread only every "switch interval" (5 ms by default).
# The processing thread drops the GIL in every numpy/OpenCV call and must win it back from the
# GUI thread, which holds it through pyqtgraph's Python paint code: at 5 ms per hand-off a
# 4 ms frame took 15 ms. While live, hand-offs happen every 0.5 ms instead.
LIVE_SWITCH_INTERVAL = 0.0005


class LiveSession:
    """The capture and processing threads for one opened source.

    Parameters
    ----------
    source : FrameSource
        An opened source; the session closes it when it stops.
    params : LiveParams
        What the processing thread runs on each frame (replace with :meth:`set_params`).
    on_ready : callable
        Called from the processing thread when a result waits in its slot (:meth:`take`).
    on_ended : callable
        Called once from the capture thread when capture ends: with the :class:`SourceError`
        that ended it, or None (the source ran out, or :meth:`stop` was called; the caller
        knows which).
    """

    def __init__(
        self,
        source: FrameSource,
        params: LiveParams,
        on_ready: Callable[[], object],
        on_ended: Callable[[SourceError | None], object],
    ) -> None:
        self.source = source
        read_from = source
        self._demand: OnDemandSource | None = None
        # Cameras are paced by their driver and must be drained; anything unpaced is read on
        # demand, one frame per frame processed.
        if source.pace_fps is None and not isinstance(source, CameraSource):
            read_from = self._demand = OnDemandSource(source)
        self._capture = CaptureThread(read_from, on_stopped=on_ended)
        self._processor = FrameProcessor(
            self._capture,
            params,
            on_ready,
            self._demand.want if self._demand is not None else None,
        )
        self._switch_interval: float | None = None
        self._paused = False
        self._pause_mark = 0  # capture's drop count when the display paused
        self._paused_drops = 0  # frames skipped while paused: not "dropped"

    def start(self) -> None:
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, LIVE_SWITCH_INTERVAL))
        self._capture.start()
        self._processor.start()

    def stop(self, timeout: float = JOIN_TIMEOUT) -> None:
        """Stop and join both threads (the source is closed by the capture thread)."""
        self._processor.request_stop()
        if self._demand is not None:
            self._demand.release()
        # Stopping capture first wakes a processor waiting for a frame.
        if not self._capture.stop(timeout=timeout):
            _log.warning("capture thread %s did not stop in time", self._capture.name)
        self._processor.join(timeout)
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
            self._switch_interval = None

    # -- while running -----------------------------------------------------------------------
    def set_params(self, params: LiveParams) -> None:
        self._processor.set_params(params)

    def set_paused(self, paused: bool) -> None:
        """Hold (True) or resume (False) processing; capture keeps running."""
        if paused == self._paused:
            return
        self._paused = paused
        self._processor.set_paused(paused)
        if paused:
            self._pause_mark = self._capture.dropped
        else:
            self._paused_drops += self._capture.dropped - self._pause_mark

    def step(self) -> None:
        """While paused, process one more frame."""
        self._processor.step()

    def take(self) -> tuple[LiveResult | Failure, bool] | None:
        """The waiting result and whether it answers a step; frees the slot for the next."""
        return self._processor.take()

    @property
    def dropped(self) -> int:
        """Frames captured but never processed, not counting those skipped while paused."""
        dropped = self._capture.dropped
        paused_now = dropped - self._pause_mark if self._paused else 0
        return dropped - self._paused_drops - paused_now

    @property
    def capture_fps(self) -> float:
        return self._capture.fps
