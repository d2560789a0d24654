"""Image panes: a titled, aspect-locked pyqtgraph view with histogram, hover marker and stats.

Every pane draws in *input-pixel coordinates*: an output map is placed with
``ImageItem.setRect`` (offset by the padding, scaled by the strides), so linked panes show
each feature over the input pixels it came from.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from core.display import colormap_lut

# Few stops: the gradient editor draws a tick per stop, 256 would be a picket fence.
_GRADIENT_STOPS = 17


def make_colormap(name: str) -> pg.ColorMap:
    lut = colormap_lut(name)
    idx = np.linspace(0, len(lut) - 1, _GRADIENT_STOPS).round().astype(int)
    return pg.ColorMap(np.linspace(0.0, 1.0, _GRADIENT_STOPS), lut[idx], name=name)


#: A pane's histogram follows a new image this much later, at most once per interval: computing
#: and repainting it costs about as much as drawing the image (~10 ms a pane), and an edit's
#: result should reach the screen first.
HISTOGRAM_DELAY_MS = 40


class _ThrottledHistogram(pg.HistogramLUTItem):
    """A HistogramLUTItem that reacts to a new image (histogram curve, level region) a little
    later and at most once per ``HISTOGRAM_DELAY_MS``, instead of inside every ``setImage``."""

    _timer: QTimer | None = None  # None while the base constructor runs (it calls imageChanged)
    _pending = False
    _pending_auto_level = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(HISTOGRAM_DELAY_MS)
        self._timer.timeout.connect(self.flush)

    def imageChanged(self, autoLevel: bool = False, autoRange: bool = False) -> None:
        if self._timer is None:
            super().imageChanged(autoLevel, autoRange)
            return
        self._pending = True
        self._pending_auto_level = self._pending_auto_level or bool(autoLevel)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Bring a pending histogram update forward to now (e.g. before a screenshot)."""
        if not self._pending:
            return
        self._timer.stop()
        auto_level, self._pending, self._pending_auto_level = self._pending_auto_level, False, False
        item = self.imageItem()
        if item is None or item.image is None or item.getLevels() is None:
            return  # cleared, or live mode took the histogram over meanwhile (no levels)
        blocked = self.blockSignals(True)  # a programmatic change, not the person's drag
        try:
            super().imageChanged(autoLevel=auto_level)
        finally:
            self.blockSignals(blocked)


def _outline(color: str, width: float = 2.0, style=Qt.PenStyle.SolidLine) -> QGraphicsRectItem:
    item = QGraphicsRectItem()
    pen = QPen(QColor(color))
    pen.setCosmetic(True)  # the same thickness at every zoom
    pen.setWidthF(width)
    pen.setStyle(style)
    item.setPen(pen)
    item.setZValue(10)
    item.hide()
    return item


class ImagePane(pg.GraphicsLayoutWidget):
    """One image in the data flow: title, view, optional histogram/levels, stats line.

    Signals
    -------
    hovered(object)
        ``QPointF`` in input-pixel coordinates under the mouse, or None when it leaves.
    levels_edited()
        The person dragged this pane's histogram levels.
    """

    hovered = Signal(object)
    levels_edited = Signal()

    def __init__(self, title: str, *, histogram: bool = True, parent=None) -> None:
        super().__init__(parent=parent)
        self.setBackground("#1e1f22")
        self.ci.layout.setContentsMargins(2, 2, 2, 2)
        self.ci.layout.setSpacing(2)
        self.title = self.addLabel(title, row=0, col=0, colspan=2, size="10pt", color="#e8e8e8")
        self.view: pg.ViewBox = self.addViewBox(row=1, col=0, lockAspect=True, invertY=True)
        self.view.setMenuEnabled(True)
        self.view.setDefaultPadding(0.02)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.marker = _outline("#ffd43b", 1.5)
        self.field = _outline("#00e5ff", 2.0, Qt.PenStyle.DashLine)
        self.view.addItem(self.marker)
        self.view.addItem(self.field)
        self.histogram: pg.HistogramLUTItem | None = None
        if histogram:
            self.histogram = _ThrottledHistogram(self.image, fillHistogram=True)
            self.histogram.setMaximumWidth(110)
            self.histogram.gradient.showTicks(False)
            self.addItem(self.histogram, row=1, col=1)
            self.histogram.sigLevelChangeFinished.connect(self._on_levels_dragged)
            self.histogram.gradient.sigGradientChanged.connect(self._on_gradient_changed)
        # The colormap last set by set_colormap; None once the person picks another gradient.
        self._colormap_name: str | None = None
        self._setting_colormap = False
        self.stats = self.addLabel("", row=2, col=0, colspan=2, size="9pt", color="#b8b8b8")
        self.readout = ""
        self._menu_actions: list[QAction] = []
        self._stats_text = ""
        self._setting_levels = False
        # Live mode: set_stats only stores the text and flush_stats() shows it, a few times a
        # second; a label changing per frame widens the repaint to the whole pane.
        self.defer_stats = False
        self._stats_timer = QTimer(self)
        self._stats_timer.setSingleShot(True)
        self._stats_timer.setInterval(HISTOGRAM_DELAY_MS)
        self._stats_timer.timeout.connect(self._refresh_stats)
        self._rendered_levels: tuple[float, float] | None = None  # see set_rendered
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)

    # -- content ---------------------------------------------------------------------------
    def set_title(self, text: str) -> None:
        if text != self.title.text:  # setText re-lays out the pane: not 3x per live frame
            self.title.setText(text)

    def add_menu_action(self, text: str, slot, tooltip: str = "") -> QAction:
        """An entry in this pane's right-click menu (e.g. the save actions)."""
        if not self._menu_actions:
            self.view.menu.addSeparator()
        action = QAction(text, self)
        action.setToolTip(tooltip)
        action.triggered.connect(slot)
        self.view.menu.addAction(action)
        self._menu_actions.append(action)
        return action

    def set_colormap(self, name: str) -> None:
        # Rebuilding the gradient editor costs ~7 ms (one tick item per stop); results call this
        # for every frame in live mode, so only a real change pays for it.
        if name == self._colormap_name:
            return
        cmap = make_colormap(name)
        self._setting_colormap = True
        try:
            if self.histogram is not None:
                self.histogram.gradient.setColorMap(cmap)
                self.histogram.gradient.showTicks(False)  # setColorMap adds them back
            else:
                self.image.setLookupTable(cmap.getLookupTable(nPts=256))
        finally:
            self._setting_colormap = False
        self._colormap_name = name

    def set_data(
        self,
        data: np.ndarray | None,
        rect: tuple[float, float, float, float] | None = None,
        levels: tuple[float, float] | None = None,
    ) -> None:
        """Show ``data`` (already reduced for display) covering ``rect`` in input coordinates."""
        self._rendered_levels = None
        if data is None:
            self.image.clear()
            self.stats.setText("")
            return
        self._setting_levels = True
        try:
            # The histogram's level region follows the image's levels when it catches up
            # (_ThrottledHistogram): moving it now would repaint the histogram and its axis
            # on the path of every new image.
            self.image.setImage(data, levels=levels, autoLevels=False)
            if levels is not None:
                # setImage applies levels that were set while the item had no image (pyqtgraph
                # keeps them "deferred") after ours; setting ours again wins.
                self.image.setLevels(levels)
        finally:
            self._setting_levels = False
        if rect is not None:
            self.image.setRect(QRectF(*rect))

    def set_rendered(self, rgb: np.ndarray, levels: tuple[float, float]) -> None:
        """Show pixels already mapped through levels and colormap (uint8 RGB, same size).

        Live mode renders each frame's maps in its worker thread, so the GUI thread only hands
        them to Qt; ``levels`` are the data levels they were rendered with, which
        :meth:`levels` reports until the next :meth:`set_data`.
        """
        self.image.setImage(rgb, levels=None, autoLevels=False)
        self._rendered_levels = (float(levels[0]), float(levels[1]))

    def levels(self) -> tuple[float, float]:
        if self._rendered_levels is not None:
            return self._rendered_levels
        lo, hi = self.image.getLevels() if self.image.getLevels() is not None else (0.0, 1.0)
        return float(np.min(lo)), float(np.max(hi))

    def set_stats(self, text: str) -> None:
        self._stats_text = text
        if not self.defer_stats:
            # Shown a moment later, like the histogram: a label whose text changes re-lays
            # the pane out, which would widen the repaint of a new image to the whole pane.
            self._stats_timer.start()

    def flush_stats(self) -> None:
        """Show the latest stats text now (see ``defer_stats``)."""
        self._stats_timer.stop()
        self._refresh_stats()

    def set_readout(self, text: str) -> None:
        self.readout = text
        self._refresh_stats()

    def _refresh_stats(self) -> None:
        parts = [p for p in (self._stats_text, self.readout) if p]
        text = "   |   ".join(parts)
        if text != self.stats.text:
            self.stats.setText(text)

    # -- overlays --------------------------------------------------------------------------
    def show_marker(self, rect: tuple[float, float, float, float] | None) -> None:
        if rect is None:
            self.marker.hide()
        else:
            self.marker.setRect(QRectF(*rect))
            self.marker.show()

    def show_field(self, rect: tuple[float, float, float, float] | None) -> None:
        if rect is None:
            self.field.hide()
        else:
            self.field.setRect(QRectF(*rect))
            self.field.show()

    # -- slots -----------------------------------------------------------------------------
    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        if self.view.sceneBoundingRect().contains(scene_pos):
            self.hovered.emit(self.view.mapSceneToView(scene_pos))
        else:
            self.hovered.emit(None)

    def leaveEvent(self, event) -> None:
        self.hovered.emit(None)
        super().leaveEvent(event)

    def _on_gradient_changed(self, *_args) -> None:
        if not self._setting_colormap:  # picked from the gradient's own menu
            self._colormap_name = None

    def _on_levels_dragged(self) -> None:
        if not self._setting_levels:
            self.levels_edited.emit()
