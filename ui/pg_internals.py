"""Every use of pyqtgraph beyond its documented API, in one place.

pyqtgraph is pinned to 0.14.x; ``tests/ui/test_pg_internals.py`` checks each private name used
here still exists on the real classes and behaves as relied upon, so an upgrade that removes
one fails there, loudly, instead of in front of a person.

- :class:`FastImageItem` overrides ``ImageItem.render`` and leaves behind what pyqtgraph's
  own ``render`` does: ``qimage``, ``_renderRequired``, ``_unrenderable``; it reads ``lut``,
  ``levels``, ``axisOrder`` and ``autoDownsample``, and draws with
  ``functions_qimage.try_make_qimage``.
- :class:`ThrottledHistogram` overrides ``HistogramLUTItem.gradientChanged``,
  ``imageChanged``, ``regionChanged`` and ``regionChanging``, and uses its ``lut``,
  ``imageItem`` (a weakref), ``plot`` and ``gradient``.
- :func:`detach_histogram` / :func:`attach_histogram` rewire a histogram from its image for live
  mode (``imageItem`` and the ``sigImageChanged`` -> ``imageChanged`` connection that
  ``HistogramLUTItem.setImageItem`` makes); :func:`set_histogram_curve` sets its ``plot``.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from pyqtgraph import functions_qimage
from PySide6.QtCore import Signal

from core.display import lut_index

__all__ = [
    "FastImageItem",
    "ThrottledHistogram",
    "attach_histogram",
    "detach_histogram",
    "set_histogram_curve",
]


class ThrottledHistogram(pg.HistogramLUTItem):
    """A HistogramLUTItem that reacts to a new image (histogram curve, level region) when its
    pane catches up (see :class:`CatchUpQueue`), instead of inside every ``setImage``."""

    # Called when an update is pending; None while the base constructor runs (it calls
    # imageChanged, which then updates at once).
    _on_pending: Callable[[], None] | None = None
    _pending = False
    _pending_auto_level = False
    _pending_colormap: pg.ColorMap | None = None
    _showing_colormap = False

    gradient_picked = Signal()  # the person chose a gradient from the bar's menu

    def __init__(self, *args, on_pending: Callable[[], None], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._on_pending = on_pending
        self.gradient.sigGradientChangeFinished.connect(self._on_gradient_picked)

    def gradientChanged(self) -> None:
        # pyqtgraph hands the image the bar's LUT whenever the bar changes, and resizing it
        # counts as a change: that would replace the exact LUT set_colormap gave the image
        # (or bring back the previous colormap, while the bar has not caught up yet).
        self.lut = None
        self.sigLookupTableChanged.emit(self)

    def _on_gradient_picked(self) -> None:
        """The person chose a gradient from the bar's menu: the image takes it, and a
        colormap still waiting to be shown on the bar must not undo it."""
        if self._showing_colormap:
            return
        self._pending_colormap = None
        self.lut = None
        item = self.imageItem()
        if item is not None:
            item.setLookupTable(self.getLookupTable)
        self.gradient_picked.emit()

    def imageChanged(self, autoLevel: bool = False, autoRange: bool = False) -> None:
        if self._on_pending is None:
            super().imageChanged(autoLevel, autoRange)
            return
        self._pending = True
        self._pending_auto_level = self._pending_auto_level or bool(autoLevel)
        self._on_pending()

    def show_colormap(self, cmap: pg.ColorMap) -> None:
        """Show ``cmap`` on the gradient bar when the histogram next catches up.

        The image already has the colormap's exact LUT (``ImagePane.set_colormap``); the bar
        only shows it, so it follows later like the histogram (rebuilding it costs ~7 ms, a
        tick item per stop), and without handing the image its own 17-stop LUT.
        """
        self._pending_colormap = cmap
        self._pending = True
        self._on_pending()

    def flush(self) -> None:
        """Bring a pending update up to date now."""
        if not self._pending:
            return
        auto_level, self._pending, self._pending_auto_level = self._pending_auto_level, False, False
        cmap, self._pending_colormap = self._pending_colormap, None
        if cmap is not None:
            self._showing_colormap = True  # not the person's pick
            try:
                self.gradient.setColorMap(cmap)
                self.gradient.showTicks(False)  # setColorMap adds them back
            finally:
                self._showing_colormap = False
        item = self.imageItem()
        if item is not None and item.image is None:
            self.plot.setData([], [])  # nothing shown, nothing counted
            return
        if item is None or item.getLevels() is None:
            return  # live mode took the histogram over meanwhile (no levels)
        blocked = self.blockSignals(True)  # a programmatic change, not the person's drag
        try:
            super().imageChanged(autoLevel=auto_level)
        finally:
            self.blockSignals(blocked)

    # pyqtgraph's ImageItem.setLevels re-renders the image even when the levels are the ones it
    # has, and the level region hands them over on every move: catching up with a new image
    # would re-render it (~10 ms for 1 MP) and repaint the whole pane for nothing.
    def _give_levels_to_image(self) -> None:
        item = self.imageItem()
        if item is None:
            return
        levels = self.getLevels()
        current = item.getLevels()
        if current is None or not np.array_equal(np.asarray(current, float), levels):
            item.setLevels(levels)

    def regionChanged(self) -> None:
        self._give_levels_to_image()
        self.sigLevelChangeFinished.emit(self)

    def regionChanging(self) -> None:
        self._give_levels_to_image()
        self.update()
        self.sigLevelsChanged.emit(self)


class FastImageItem(pg.ImageItem):
    """pyqtgraph's ImageItem with its chores done elsewhere or faster.

    - Drawing: the worker that made a map has usually drawn it already, at the levels it
      chose (``set_data``'s ``pixels``: LUT indices, or RGB); the GUI thread only hands them
      to Qt. At other levels (the person's), ``core.display.lut_index`` draws a float map
      in ~1.5 ms per megapixel, where pyqtgraph takes ~3 ms in ~90 numpy chunks (several
      times that while the compute thread keeps both cores busy: every chunk hands the GIL
      over), and colours exactly as "Save as displayed" does (NaN too: the first colour).
      Anything else (integer data, per-channel levels, a LUT of other than 256 colours)
      takes pyqtgraph's path.
    - Its histogram: computed by the worker too (``set_data``'s ``histogram``), so the
      pane's HistogramLUTItem gets it for free.
    """

    _histogram: tuple[np.ndarray, np.ndarray] | None = None
    _pixels: tuple[tuple[float, float], np.ndarray] | None = None

    def setImage(self, image=None, autoLevels=None, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if image is not None:
            self._histogram = self._pixels = None  # they described the previous image
        super().setImage(image, autoLevels, **kwargs)

    def set_histogram(self, histogram: tuple[np.ndarray, np.ndarray]) -> None:
        """What :meth:`getHistogram` returns until the next image."""
        self._histogram = histogram

    def set_pixels(self, levels: tuple[float, float], pixels: np.ndarray) -> None:
        """The image already drawn at ``levels`` (uint8 LUT indices, or RGB), until the next
        image: used whenever the item's levels are these."""
        self._pixels = ((float(levels[0]), float(levels[1])), pixels)

    def getHistogram(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not args and not kwargs and self._histogram is not None:
            return self._histogram
        return super().getHistogram(*args, **kwargs)

    def render(self) -> None:
        pixels = self._drawn_pixels()
        qimage = None
        if pixels is not None:
            lut = None if pixels.ndim == 3 else self.lookup_table()
            qimage = functions_qimage.try_make_qimage(pixels, levels=None, lut=lut)
        if qimage is None:
            super().render()
            return
        # What pyqtgraph's own render() leaves behind (pyqtgraph is pinned to 0.14.x).
        self.qimage = qimage
        self._renderRequired = False
        self._unrenderable = False

    def _drawn_pixels(self) -> np.ndarray | None:
        """The image as uint8 LUT indices or RGB at the current levels, given by a worker
        (``set_pixels``) or made here; None leaves the drawing to pyqtgraph."""
        image, levels = self.image, self.levels
        if (
            image is None
            or image.size == 0
            or np.ndim(levels) != 1
            or self.axisOrder != "row-major"
            or self.autoDownsample
        ):
            return None
        low, high = float(levels[0]), float(levels[1])
        if self._pixels is not None and self._pixels[0] == (low, high):
            drawn = self._pixels[1]
            return drawn if drawn.ndim == 3 or self.lookup_table() is not None else None
        if (
            image.ndim == 2
            and image.dtype == np.float32
            and math.isfinite(low)
            and math.isfinite(high)
            and high > low
            and self.lookup_table() is not None
        ):
            return lut_index(image, (low, high))  # as "Save as displayed" colours it
        return None

    def lookup_table(self) -> np.ndarray | None:
        """The 256-colour LUT a single map is drawn through; None if it has another kind
        (pyqtgraph would stretch a shorter one over 0..255)."""
        lut = self.lut(self.image, 256) if callable(self.lut) else self.lut
        if lut is None:
            return None
        lut = np.asarray(lut)
        return lut if lut.dtype == np.uint8 and lut.shape[0] == 256 else None


def _no_image() -> None:
    """Stands in for a HistogramLUTItem's image reference while it is detached."""
    return None


def detach_histogram(histogram: pg.HistogramLUTItem, item: pg.ImageItem) -> None:
    """Stop ``histogram`` following ``item``: no recomputation per new image, and a drag of its
    level region no longer re-levels the image (live mode shows pixels rendered elsewhere)."""
    item.sigImageChanged.disconnect(histogram.imageChanged)
    histogram.imageItem = _no_image


def attach_histogram(histogram: pg.HistogramLUTItem, item: pg.ImageItem) -> None:
    """Undo :func:`detach_histogram`: ``histogram`` follows ``item`` again, as
    ``HistogramLUTItem.setImageItem`` wired it."""
    histogram.imageItem = weakref.ref(item)
    item.sigImageChanged.connect(histogram.imageChanged)


def set_histogram_curve(histogram: pg.HistogramLUTItem, x: np.ndarray, counts: np.ndarray) -> None:
    """Show a histogram computed elsewhere (``core.display.display_histogram``)."""
    histogram.plot.setData(x, counts)
