"""Image panes: a titled, aspect-locked pyqtgraph view with histogram, hover marker and stats.

Every pane draws in *input-pixel coordinates*: an output map is placed with
``ImageItem.setRect`` (offset by the padding, scaled by the strides), so linked panes show
each feature over the input pixels it came from.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from core.display import colormap_lut
from ui.pg_internals import FastImageItem, ThrottledHistogram

# Few stops: the gradient editor draws a tick per stop, 256 would be a picket fence.
_GRADIENT_STOPS = 17


def make_colormap(name: str) -> pg.ColorMap:
    lut = colormap_lut(name)
    idx = np.linspace(0, len(lut) - 1, _GRADIENT_STOPS).round().astype(int)
    return pg.ColorMap(np.linspace(0.0, 1.0, _GRADIENT_STOPS), lut[idx], name=name)


#: A pane's histogram, gradient bar and stats line follow a new image this much later, at most
#: once per interval: computing and repainting them costs about as much as drawing the image
#: (~10 ms a pane), and an edit's result should reach the screen first.
CATCH_UP_DELAY_MS = 40


class CatchUpQueue(QObject):
    """Deferred pane work, run ``delay_ms`` after it was first asked for, one task per pass of
    the event loop.

    A result changes two or three panes at once. Run back to back, their catch-up work would
    keep the GUI thread busy for all of it in one go (~40 ms under load); one at a time, the
    event loop handles input and timers in between. Asking again for a task still waiting
    changes nothing, so a busy pane catches up at most once per ``delay_ms``.
    """

    def __init__(self, delay_ms: int = CATCH_UP_DELAY_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._delay = delay_ms / 1000
        self._due: dict[Callable[[], None], float] = {}  # in order of request, so of due time
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._run_next)

    def request(self, task: Callable[[], None]) -> None:
        if task not in self._due:
            self._due[task] = time.monotonic() + self._delay
            self._arm()

    def discard(self, task: Callable[[], None]) -> None:
        if self._due.pop(task, None) is not None:
            self._timer.stop()  # it was armed for this task, maybe: arm for the next one
            self._arm()

    def _arm(self) -> None:
        if self._due and not self._timer.isActive():
            wait = next(iter(self._due.values())) - time.monotonic()
            self._timer.start(max(0, math.ceil(wait * 1000)))

    def _run_next(self) -> None:
        if self._due:
            task = next(iter(self._due))
            del self._due[task]
            owner = getattr(task, "__self__", None)
            if owner is None or shiboken6.isValid(owner):  # its pane may be gone by now
                task()
        self._arm()


_queue: CatchUpQueue | None = None


def catch_up_queue() -> CatchUpQueue:
    """The application's one queue: panes of every window take turns."""
    global _queue
    if _queue is None or not shiboken6.isValid(_queue):
        _queue = CatchUpQueue(parent=QCoreApplication.instance())
    return _queue


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
        self._trim_menu()
        self.setMinimumSize(220, 170)  # below this a pane is a sliver nobody can read
        self.image = FastImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.marker = _outline("#ffd43b", 1.5)
        self.field = _outline("#00e5ff", 2.0, Qt.PenStyle.DashLine)
        self.view.addItem(self.marker)
        self.view.addItem(self.field)
        self.histogram: pg.HistogramLUTItem | None = None
        if histogram:
            self.histogram = ThrottledHistogram(
                self.image, fillHistogram=True, on_pending=self._schedule_catch_up
            )
            self.histogram.setMaximumWidth(110)
            # Tick labels change width with every new image ("-2" after "0.5"); an axis that
            # shrank and grew with them would re-lay the pane out, and the whole pane would
            # repaint each time the histogram catches up. It only grows.
            self.histogram.axis.setStyle(autoReduceTextSpace=False)
            self.histogram.gradient.showTicks(False)
            self.addItem(self.histogram, row=1, col=1)
            self.histogram.sigLevelChangeFinished.connect(self._on_levels_dragged)
            self.histogram.gradient_picked.connect(self._on_gradient_picked)
        # The colormap last set by set_colormap; None once the person picks another gradient.
        self._colormap_name: str | None = None
        self.stats = self.addLabel("", row=2, col=0, colspan=2, size="9pt", color="#b8b8b8")
        self.readout = ""
        self._menu_actions: list[QAction] = []
        self._stats_text = ""
        self._setting_levels = False
        # Live mode: set_stats only stores the text and flush_stats() shows it, a few times a
        # second; a label changing per frame widens the repaint to the whole pane.
        self.defer_stats = False
        self._rendered_levels: tuple[float, float] | None = None  # see set_rendered
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)

    def _trim_menu(self) -> None:
        """Keep only what helps here in the right-click menu: pyqtgraph's axis ranges, mouse
        mode and export dialog are for plots (and the window's own saves do it better)."""
        menu = self.view.menu
        for action in menu.actions():
            action.setVisible(action is menu.viewAll)
        menu.viewAll.setText("Fit image")
        self.scene().contextMenu = []  # the scene's "Export..."

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
        """Colour a single-channel image with the colormap ``name`` (its exact 256 colours)."""
        # Results call this for every frame in live mode, so only a real change pays.
        if name == self._colormap_name:
            return
        self.image.setLookupTable(colormap_lut(name))
        if self.histogram is not None:
            self.histogram.show_colormap(make_colormap(name))
        self._colormap_name = name

    def set_data(
        self,
        data: np.ndarray | None,
        rect: tuple[float, float, float, float] | None = None,
        levels: tuple[float, float] | None = None,
        histogram: tuple[np.ndarray, np.ndarray] | None = None,
        drawn: tuple[tuple[float, float], np.ndarray] | None = None,
    ) -> None:
        """Show ``data`` (already reduced for display) covering ``rect`` in input coordinates.

        ``histogram`` (``core.display.display_histogram``) and ``drawn`` (the levels some
        pixels were drawn at, and those uint8 LUT indices or RGB) save the GUI thread that
        work, if a worker has done it; the pixels are used only while the levels are theirs.
        """
        self._rendered_levels = None
        if data is None:
            self.image.clear()
            self._stats_text = ""
            self.stats.setText(self.readout)
            if self.histogram is not None:
                self.histogram.imageChanged()  # its curve goes too, when the pane catches up
            return
        self._setting_levels = True
        try:
            # The histogram's level region follows the image's levels when it catches up
            # (ThrottledHistogram): moving it now would repaint the histogram and its axis
            # on the path of every new image.
            self.image.setImage(data, levels=levels, autoLevels=False)
            if levels is not None:
                # setImage applies levels that were set while the item had no image (pyqtgraph
                # keeps them "deferred") after ours; setting ours again wins.
                self.image.setLevels(levels)
        finally:
            self._setting_levels = False
        if histogram is not None:  # the histogram catches up later (CatchUpQueue)
            self.image.set_histogram(histogram)
        if drawn is not None:
            self.image.set_pixels(*drawn)  # used at the next paint if the levels are these
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

    def has_levels(self) -> bool:
        """Whether the pane has levels of its own yet (it keeps them while it shows nothing)."""
        return self._rendered_levels is not None or self.image.getLevels() is not None

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
            self._schedule_catch_up()

    def flush_stats(self) -> None:
        """Show the latest stats text now (see ``defer_stats``)."""
        self._refresh_stats()

    def _schedule_catch_up(self) -> None:
        catch_up_queue().request(self.catch_up)

    def catch_up(self) -> None:
        """Bring the histogram, gradient bar and stats line up to date with the image now
        (they follow a new image a little later on their own)."""
        catch_up_queue().discard(self.catch_up)
        if self.histogram is not None:
            self.histogram.flush()
        if not self.defer_stats:
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

    def _on_gradient_picked(self) -> None:
        self._colormap_name = None  # the next set_colormap applies, even the same name

    def _on_levels_dragged(self) -> None:
        if not self._setting_levels:
            self.levels_edited.emit()
