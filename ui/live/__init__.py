"""Live mode's Qt half: the controller (the workbench's streaming engine), its toolbar and the
panes' histograms while frames stream. The Qt-free half (frames, threads, sources, counters)
is :mod:`core.live`."""

from __future__ import annotations

from ui.live.controller import LiveController
from ui.live.toolbar import LiveToolbar

__all__ = ["LiveController", "LiveToolbar"]
