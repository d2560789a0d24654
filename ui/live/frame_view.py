"""Drawing one live frame: it becomes the workbench's input and result, and the panes get the
pixels the processing thread rendered. Also counts what was shown (display rate, process time).
"""

from __future__ import annotations

import collections
import time

from core.inputs import LoadedImage
from core.live import LiveResult
from ui.live.histograms import LiveHistograms
from ui.pane_group import PaneGroup
from ui.workbench import Workbench

__all__ = ["LiveFrameView"]


class LiveFrameView:
    """Shows live results in the pane group through the workbench.

    Parameters
    ----------
    workbench : Workbench
        Each frame becomes its input (:meth:`Workbench.set_live_input`) and result
        (:meth:`Workbench.show_result`), so panes, hover and saves treat it like a still image.
    panes : PaneGroup
        Where the input frame and the rendered outputs are drawn.
    histograms : LiveHistograms
        Whether the panes' histograms are detached (streaming) or not (a step while frozen).
    """

    def __init__(self, workbench: Workbench, panes: PaneGroup, histograms: LiveHistograms) -> None:
        self._workbench = workbench
        self._panes = panes
        self._histograms = histograms
        self.source_name = ""
        self.fit_pending = False  # fit the view to the first frame (set at start)
        self.reset()

    def reset(self) -> None:
        """Forget the counters and the frame size (a new session)."""
        self.shown = 0
        self.shown_times: collections.deque[float] = collections.deque()
        self.process_ms = 0.0
        self._input_size: tuple[int, int] | None = None

    def display_fps(self) -> float:
        """Frames drawn per second over the last second (0 if none lately)."""
        times = self.shown_times
        if len(times) >= 2 and time.perf_counter() - times[-1] < 1.0:
            return (len(times) - 1) / (times[-1] - times[0])
        return 0.0

    def show(self, result: LiveResult) -> None:
        panes, histograms = self._panes, self._histograms
        input_pane = panes.input_pane
        frame = result.frame
        height, width = frame.image.shape[:2]
        resized = (width, height) != self._input_size
        self._workbench.set_live_input(
            LoadedImage(self.source_name, None, result.working, result.input_view)
        )
        rect = (0, 0, width, height) if resized else None
        if histograms.detached:
            # uint8 RGB without levels: pyqtgraph hands it to Qt as is, no per-pixel work.
            input_pane.set_data(frame.image, rect, None)
        else:  # a step while frozen: the [0, 1] values, as a still image (histogram included)
            input_pane.set_data(result.working, rect, (0.0, 1.0))
        if resized:
            self._input_size = (width, height)
            size = f"{width}x{height}"
            name = self.source_name
            input_pane.set_title(f"Live: {name}" if size in name else f"Live: {name}  {size}")
            input_pane.set_stats(result.input_view.stats_text)
        if resized and (self.fit_pending or not panes.view_contains_image()):
            self.fit_pending = False
            panes.fit_view()
        # The workbench publishes it like a still result: the panes draw it, hover follows.
        self._workbench.show_result(result.processed)
        if result.rendered is not None and histograms.detached:
            for pane, (rgb, levels) in zip(panes.outputs, result.rendered, strict=True):
                pane.set_rendered(rgb, levels)
            histograms.rendered_shown = True
        if result.histograms is not None and histograms.detached:
            # Histograms, level regions and stats lines a few times a second, changed in the
            # same event as the images so Qt paints them in the same pass.
            histograms.apply(result.histograms)
            input_pane.set_stats(result.input_view.stats_text)
            for pane in panes.panes:
                pane.flush_stats()
        self._count(result.seconds)

    def _count(self, seconds: float) -> None:
        self.shown += 1
        now = time.perf_counter()
        self.shown_times.append(now)
        while now - self.shown_times[0] > 1.0:
            self.shown_times.popleft()
        self.process_ms = (
            seconds * 1000 if self.shown == 1 else 0.9 * self.process_ms + 0.1 * seconds * 1000
        )
