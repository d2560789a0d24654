"""The panes' histograms while live: detached from their images, fed a few times a second.

pyqtgraph's HistogramLUTItem recomputes on every ``sigImageChanged``, even with fixed levels,
and moving its level region per frame makes Qt paint the pane twice. While frames stream, the
panes show pixels rendered in the worker and the histograms get the worker's histograms a few
times a second; freezing or stopping reattaches them to the float maps (workbench behaviour).
The rewiring itself is pyqtgraph-private and lives in :mod:`ui.pg_internals`.
"""

from __future__ import annotations

import numpy as np

from core.inputs import LoadedImage
from core.preview import Processed
from ui.pane_group import PaneGroup
from ui.panes import ImagePane
from ui.pg_internals import attach_histogram, detach_histogram, set_histogram_curve

__all__ = ["LiveHistograms"]


class LiveHistograms:
    """Whether the pane group's histograms follow their images, and switching between the two.

    Attributes
    ----------
    detached : bool
        True while live frames stream (histograms fed by :meth:`apply`).
    rendered_shown : bool
        The output panes show pixels rendered in the worker (not float maps).
    """

    def __init__(self, panes: PaneGroup) -> None:
        self._panes = panes
        self.detached = False
        self.rendered_shown = False

    def _histogram_panes(self) -> list[ImagePane]:
        return [pane for pane in self._panes.panes if pane.histogram is not None]

    def fixed_levels(self, pane: ImagePane) -> tuple[float, float]:
        """The levels the person fixed for ``pane``.

        While streaming, the histogram's level region is the control (it is detached from
        the image, which shows rendered pixels); otherwise the image's own levels.
        """
        if self.detached and pane.histogram is not None:
            low, high = pane.histogram.getLevels()
            return float(low), float(high)
        return pane.levels()

    def detach(self) -> None:
        """Stop updating histograms per frame; :meth:`apply` does it, throttled.

        The input pane also gets frames without levels (its fast path), which the
        histogram's handler cannot digest.
        """
        if self.detached:
            return
        for pane in self._histogram_panes():
            pane.histogram.flush()  # a deferred update must not run on a live frame later
            # Detached from the image: the panes show pixels rendered in the worker, and a
            # drag of the level region sets the levels of the next frames (see fixed_levels)
            # instead of re-levelling those pixels.
            detach_histogram(pane.histogram, pane.image)
        for pane in self._panes.panes:
            pane.defer_stats = True
        hist = self._panes.input_pane.histogram
        if hist is not None:
            hist.blockSignals(True)  # a programmatic level change, not the person's drag
            try:
                hist.setLevels(0.0, 1.0)  # the layer's units; frames are drawn as captured
            finally:
                hist.blockSignals(False)
        self.detached = True

    def attach(self, loaded: LoadedImage | None, processed: Processed | None) -> None:
        """Back to workbench behaviour on the frame on screen (``loaded``, ``processed``)."""
        if not self.detached:
            return
        self.detached = False
        panes = self._panes
        if self.rendered_shown and processed is not None:
            # Back to the float maps with their levels: what the workbench's histograms, level
            # drags and saves work on. (Fixed levels are kept: set_rendered remembered them.)
            panes.show_views(processed)
        self.rendered_shown = False
        item = panes.input_pane.image
        if item.image is not None and item.image.dtype == np.uint8 and loaded is not None:
            # The frame's [0, 1] values with levels, as the workbench shows a still image: its
            # histogram then reads in the same units as the stats line and the inspector.
            panes.input_pane.set_data(loaded.image, None, (0.0, 1.0))
        for pane in panes.panes:
            pane.defer_stats = False
            pane.flush_stats()
        for pane in self._histogram_panes():
            attach_histogram(pane.histogram, pane.image)
            if pane.image.image is not None:
                # The histogram and level region of the last frame, when the pane catches up
                # (which moves the region with signals blocked: not the person's drag).
                pane.histogram.imageChanged()

    def apply(self, histograms: tuple[tuple[np.ndarray, np.ndarray], ...]) -> None:
        """Show a frame's histograms (input, convolution, pooled) and its levels' regions."""
        for pane, (x, counts) in zip(self._panes.panes, histograms, strict=True):
            item, histogram = pane.image, pane.histogram
            if histogram is None or item.image is None:
                continue
            set_histogram_curve(histogram, x, counts)
            if pane is self._panes.input_pane:
                continue  # frames are shown as captured: its region stays at 0..1
            low, high = pane.levels()  # what the last frame was rendered with
            histogram.blockSignals(True)  # a programmatic level change, not a drag
            try:
                histogram.setLevels(low, high)
            finally:
                histogram.blockSignals(False)
