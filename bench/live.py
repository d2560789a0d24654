"""Live mode end to end: frames per second drawn, latency, drops and memory, against a bare loop.

Run from the project root::

    python -m bench.live --size 1280x720 --frames 3000

It drives the real main window offscreen at 1600x1000 with an unthrottled synthetic source
through the default pipeline (grayscale, the default 3x3 kernel, ReLU, 2x2 max pooling, every
pane visible). Live mode reads an unthrottled source on demand (one frame prepared per frame
processed), so "dropped" counts frames that were shown but replaced before Qt painted them.
A frame counts as displayed when the paint of all three panes that shows it has ended; its
latency runs from its capture timestamp to the end of that paint.

In the same run a *bare loop* does the same work in one thread with no live machinery: grab a
synthetic frame, convert it to float, grayscale, convolve, ReLU, pool, three
``ImageItem.setImage`` with fixed levels in an identical window, and a synchronous paint of
what changed. The ratio of the two frame rates says what the threads buy (two cores let
capture, processing and painting overlap) or cost. Live mode does more per frame than the bare
loop (each frame's levels and stats, histograms, hover and bookkeeping) and pays for the GIL:
its processing thread only runs Python between the GUI thread's paints.

Resident memory growth (VmRSS) is measured over the live run, after a short warm-up.

``--bank 32`` runs a whole network on every frame as well: 32 3x3 filters + ReLU + 2x2 max
pooling (the ``keras-conv32-maxpool`` preset; ``--bank N`` for another count: a seeded
random bank of N with the same ReLU and pooling), drawn in a network view docked in the window
(the window's own if it has one, else one added here and fed by ``LiveController.network_shown``).
A frame then counts as displayed once the network view has painted it too. The bare loop has
no network: it is skipped.

Not part of the test run: it prints figures and never fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

if __package__ in (None, ""):  # run as a script: make `core` and `ui` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from core.pipeline import run_pipeline
from core.sources import SyntheticSource

WINDOW_SIZE = (1600, 1000)
WARMUP_FRAMES = 60
BARE_MAX_FRAMES = 1000


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT") from None
    if width < 8 or height < 8:
        raise argparse.ArgumentTypeError("size must be at least 8x8")
    return width, height


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc; NaN elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


class PaintProbe:
    """Counts a frame as displayed when each of the three panes has finished painting it.

    ImagePane.paintEvent is wrapped at class level (bench only) so the time taken is the end of
    the paint; a frame replaced before all three panes painted it was never displayed.
    """

    def __init__(self, panes) -> None:
        self.panes = tuple(panes)
        self.awaiting: dict[object, list] = {}
        self.latencies: list[float] = []
        self.displayed_at: list[float] = []
        self.on_displayed = None

    def expect(self, timestamp: float) -> None:
        entry = [timestamp, len(self.panes)]
        for pane in self.panes:
            self.awaiting[pane] = entry

    def painted(self, pane) -> None:
        entry = self.awaiting.pop(pane, None)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            now = time.perf_counter()
            self.latencies.append(now - entry[0])
            self.displayed_at.append(now)
            if self.on_displayed is not None:
                self.on_displayed(len(self.latencies))


_probes: list[PaintProbe] = []


def _install_paint_hook() -> None:
    """Every pyqtgraph view (the panes, the network view) reports the end of its paints."""
    import pyqtgraph as pg

    original = pg.GraphicsView.paintEvent

    def paintEvent(self, event):
        original(self, event)
        for probe in _probes:
            probe.painted(self)

    pg.GraphicsView.paintEvent = paintEvent


def _bank_network(count: int):
    from core.network import ActivationLayer, ConvLayer, Network, PoolLayer
    from core.network.presets import KERAS_EXAMPLE, build_preset, he_bank

    if count == 32:
        return build_preset(KERAS_EXAMPLE)  # 32 3x3 filters, valid padding, ReLU, 2x2 max
    conv = ConvLayer(he_bank(count), name="conv1", padding="valid")
    return Network((conv, ActivationLayer("relu", name="relu1"), PoolLayer("max", 2, name="pool1")))


def _network_view(window):
    """The window's network view, or one docked here and fed by the live controller."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDockWidget

    from ui.network.network_view import NetworkView

    if hasattr(window, "network_dock"):  # the window's own dock: the path a person takes
        return window.network_dock.view
    view = window.findChild(NetworkView)
    if view is not None:
        return view
    view = NetworkView()
    dock = QDockWidget("Network", window)
    dock.setWidget(view)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.live.network_shown.connect(
        lambda result: view.show_outputs(result.outputs, result.grids, result.filters)
    )
    return view


def _make_window(settings_path: Path):
    from ui.main_window import MainWindow

    settings = QSettings(str(settings_path), QSettings.Format.IniFormat)
    settings.clear()  # the default pipeline, whatever this machine's person last chose
    window = MainWindow(settings, interactive=False)
    window.resize(*WINDOW_SIZE)
    window.show()
    return window


def _spin_until(predicate, timeout_s: float) -> bool:
    app = QApplication.instance()
    deadline = time.perf_counter() + timeout_s
    while not predicate():
        if time.perf_counter() > deadline:
            return False
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    return True


def run_live(window, size: tuple[int, int], frames: int, bank: int | None = None) -> dict:
    panes = list(window.panes)
    if bank is not None:
        panes.append(_network_view(window).graphics)
        if hasattr(window, "network"):  # Network dock shown, live runs its network
            window.network.use_network(_bank_network(bank), "bench")
        else:
            window.live.set_network(_bank_network(bank))
    probe = PaintProbe(panes)
    _probes.append(probe)
    window.live.frame_shown.connect(lambda result: probe.expect(result.frame.timestamp))
    loop = QEventLoop()
    marks: dict[str, float] = {}
    target = WARMUP_FRAMES + frames

    def on_displayed(count: int) -> None:
        if count == WARMUP_FRAMES:
            marks["rss0"] = rss_mb()
            marks["t0"] = time.perf_counter()
            marks["dropped0"] = window.live.stats().dropped
            marks["shown0"] = window.live.stats().shown
        elif count == WARMUP_FRAMES + frames // 2:
            marks["rss_half"] = rss_mb()
        elif count == target:
            loop.quit()

    probe.on_displayed = on_displayed
    timeout = QTimer()
    timeout.setSingleShot(True)
    timeout.timeout.connect(loop.quit)
    timeout.start(int(1000 * (120 + frames / 5)))
    if not window.live.start(SyntheticSource(size, fps=None)):
        raise SystemExit(f"live mode did not start: {window.banner.text()}")
    loop.exec()
    stats = window.live.stats()
    window.live.stop()
    _probes.remove(probe)
    done = len(probe.latencies) - WARMUP_FRAMES
    if done <= 0 or "t0" not in marks:
        raise SystemExit("live mode displayed too few frames (timed out)")
    elapsed = probe.displayed_at[-1] - marks["t0"]
    latencies = np.array(probe.latencies[WARMUP_FRAMES:]) * 1000.0
    shown = stats.shown - marks["shown0"]
    return {
        "fps": done / elapsed,
        "p50": float(np.percentile(latencies, 50)),
        "p95": float(np.percentile(latencies, 95)),
        # Captured but never processed, plus shown but replaced before it was painted.
        "dropped": int(stats.dropped - marks["dropped0"] + max(0, shown - done)),
        "rss_growth": rss_mb() - marks["rss0"],
        # A leak keeps growing; the allocator's high-water mark settles in the first half.
        "rss_growth_late": rss_mb() - marks.get("rss_half", marks["rss0"]),
        "process_ms": stats.process_ms,
        "capture_fps": stats.capture_fps,
    }


def run_bare(window, size: tuple[int, int], frames: int) -> dict:
    """One thread, no live machinery: the same work and the same window, painted per frame."""
    for pane in window.panes:  # ImageItem updates only, as the live path does per frame
        if pane.histogram is not None:
            pane.image.sigImageChanged.disconnect(pane.histogram.imageChanged)
    probe = PaintProbe(window.panes)
    _probes.append(probe)
    kernel = window.editor.kernel()
    settings = window.controls.settings()
    source = SyntheticSource(size, fps=None)
    source.open()
    unit = np.float32(1.0 / 255.0)
    width, height = size
    window.conv_pane.set_colormap("coolwarm")
    window.pooled_pane.set_colormap("gray")
    first = True
    start = 0.0
    for i in range(WARMUP_FRAMES + frames):
        if i == WARMUP_FRAMES:
            start = time.perf_counter()
        frame = source.read()
        working = np.multiply(frame.image, unit, dtype=np.float32)
        result = run_pipeline(working, kernel, settings)  # grayscale, conv, ReLU, pool
        window.input_pane.image.setImage(frame.image, levels=None, autoLevels=False)
        window.conv_pane.image.setImage(result.conv, levels=(-1.0, 1.0), autoLevels=False)
        window.pooled_pane.image.setImage(result.pooled, levels=(0.0, 1.0), autoLevels=False)
        if first:
            geometry = result.geometry
            window.input_pane.image.setRect(0, 0, width, height)
            window.conv_pane.image.setRect(*geometry.conv.rect)
            window.pooled_pane.image.setRect(*geometry.pooled.rect)
            window.input_pane.view.setRange(xRange=(0, width), yRange=(0, height), padding=0.02)
            first = False
        probe.expect(frame.timestamp)
        # Qt paints what changed, now: the same regions the live window repaints per frame.
        # (Repainting whole viewports would make this loop slower than it needs to be.)
        QApplication.processEvents()
    elapsed = time.perf_counter() - start
    source.close()
    _probes.remove(probe)
    latencies = np.array(probe.latencies[WARMUP_FRAMES:]) * 1000.0
    return {
        "fps": frames / elapsed,
        "p50": float(np.percentile(latencies, 50)) if latencies.size else float("nan"),
        "painted": len(probe.latencies) - WARMUP_FRAMES,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=_size, default=(640, 480), help="frame size WxH")
    parser.add_argument("--frames", type=int, default=3000, help="frames to display")
    parser.add_argument(
        "--bare-frames",
        type=int,
        default=None,
        help=f"frames for the bare loop (default: min(frames, {BARE_MAX_FRAMES}))",
    )
    parser.add_argument(
        "--bank",
        type=int,
        default=None,
        metavar="N",
        help="also run a network of N 3x3 filters + ReLU + 2x2 max pool on every frame",
    )
    args = parser.parse_args(argv)
    width, height = args.size
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load:.2f} before the run")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    _install_paint_hook()
    with tempfile.TemporaryDirectory() as tmp:
        live_window = _make_window(Path(tmp) / "live.ini")
        _spin_until(lambda: False, 0.5)  # first layout and paint
        live = run_live(live_window, args.size, args.frames, args.bank)
        live_window.close()
        bare = None
        if args.bank is None:  # the bare loop has no network to compare with
            bare_window = _make_window(Path(tmp) / "bare.ini")
            _spin_until(lambda: False, 0.5)
            bare_frames = args.bare_frames or min(args.frames, BARE_MAX_FRAMES)
            bare = run_bare(bare_window, args.size, bare_frames)
            bare_window.close()
        app.processEvents()
    if bare is not None:
        print(
            f"bare loop {width}x{height}: fps={bare['fps']:.1f} "
            f"latency_p50_ms={bare['p50']:.1f} (painted {bare['painted']} of {bare_frames})"
        )
    else:
        print(f"network: a bank of {args.bank} 3x3 filters + ReLU + 2x2 max pool, every frame")
    print(
        f"live {width}x{height}: capture_fps={live['capture_fps']:.0f} "
        f"processing_ms={live['process_ms']:.1f}"
    )
    if bare is not None:
        ratio = live["fps"] / bare["fps"]
        print(f"ratio displayed_fps / bare_fps = {ratio:.2f}  (target >= 0.8, aim >= 1.0)")
    print(
        f"rss growth over {args.frames} frames = {live['rss_growth']:+.1f} MB  (target <= 20; "
        f"second half {live['rss_growth_late']:+.1f} MB)"
    )
    print(
        f"live {width}x{height}: displayed_fps={live['fps']:.1f} "
        f"latency_p50_ms={live['p50']:.1f} latency_p95_ms={live['p95']:.1f} "
        f"dropped={live['dropped']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
