"""How long saving freezes the window: the longest GUI event-loop stall during a save.

Run with ``python -m bench.export_stall`` from the project root. The real MainWindow
(offscreen, 1600x1000) opens the 640x480 street scene and explores the Keras example
(Conv2D(32, 3x3) + ReLU + MaxPooling2D, Network menu); a QTimer ticks every 5 ms while
File > Export all (dialog answered), the convolution pane's "Save as displayed" and a live
snapshot (with the network, one frame frozen on screen) run, and the longest gap between two
ticks is printed, with the wall time until the save is done. A stall near 5 ms means the
window kept drawing and answering clicks.

Not part of the test run: it prints figures and never fails.
"""

from __future__ import annotations

import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

if __package__ in (None, ""):  # run as a script: make `core` and `ui` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 5
TICK_MS = 5


def measure(app, start, done) -> tuple[float, float]:
    """(longest gap between 5 ms ticks, wall time) while ``start()`` runs and until ``done()``."""
    from PySide6.QtCore import QTimer

    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    for _ in range(5):  # the timer is ticking before the save starts
        app.processEvents()
        time.sleep(TICK_MS / 1000)
    ticks.append(time.perf_counter())
    begin = time.perf_counter()
    start()
    while not done():
        app.processEvents()
        time.sleep(0.001)
    end = time.perf_counter()
    for _ in range(5):
        app.processEvents()
        time.sleep(TICK_MS / 1000)
    timer.stop()
    ticks.append(time.perf_counter())
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    return max(gaps) * 1000, (end - begin) * 1000


def main() -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QApplication, QFileDialog

    from core.network.presets import KERAS_EXAMPLE
    from core.sources import SyntheticSource
    from ui.app import wait_until_idle
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    settings = QSettings(tempfile.mktemp(suffix=".ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings, interactive=False)
    window.resize(1600, 1000)
    window.show()
    window.open_path(ROOT / "resources" / "street-scene.png")
    wait_until_idle(window, 30_000)

    def action(text: str) -> QAction:
        return next(a for a in window.findChildren(QAction) if a.text().replace("&", "") == text)

    action(f"Example: {KERAS_EXAMPLE}").trigger()  # may open the example's own image
    wait_until_idle(window, 30_000)
    window.open_path(ROOT / "resources" / "street-scene.png")
    wait_until_idle(window, 30_000)
    app.processEvents()
    result = window.workbench.network.result
    assert result is not None, window.banner.text()
    print(
        f"street scene {window.loaded.image.shape[1]}x{window.loaded.image.shape[0]}, "
        f"{KERAS_EXAMPLE}: {len(result.outputs)} layers"
    )
    folder = Path(tempfile.mkdtemp(prefix="convscope-export-"))
    QFileDialog.getExistingDirectory = staticmethod(lambda *a, **k: str(folder))
    export = action("Export all...")
    exported = getattr(window.saving, "exported", None)  # absent before export went threaded

    def run_export() -> None:
        state["done"] = exported is None
        export.trigger()

    state = {"done": False}
    if exported is not None:
        exported.connect(lambda _files: state.update(done=True))
    stalls, walls = [], []
    for _ in range(REPEATS):
        stall, wall = measure(app, run_export, lambda: state["done"])
        stalls.append(stall)
        walls.append(wall)
    files = len(list(folder.iterdir()))
    print(
        f"Export all ({files} files): longest stall median {statistics.median(stalls):.0f} ms "
        f"(max {max(stalls):.0f}), until written median {statistics.median(walls):.0f} ms"
    )

    png = folder / "pane.png"
    stalls = [
        measure(app, lambda: window.save_pane_png(window.conv_pane, png), lambda: True)[0]
        for _ in range(REPEATS)
    ]
    print(
        f"Save as displayed (convolution pane): longest stall median "
        f"{statistics.median(stalls):.0f} ms"
    )

    live = window.live
    shown: list = []
    live.network_shown.connect(shown.append)
    live.start(SyntheticSource((640, 480)))
    deadline = time.perf_counter() + 20
    while len(shown) < 3 and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.005)
    if shown:
        idle = []
        for _ in range(REPEATS):  # as long as a snapshot takes to write
            until = time.perf_counter() + 1.5
            idle.append(measure(app, lambda: None, lambda u=until: time.perf_counter() > u)[0])
        print(
            f"frames streaming for 1.5 s, no save: longest stall median "
            f"{statistics.median(idle):.0f} ms (max {max(idle):.0f})"
        )
        snaps = Path(tempfile.mkdtemp(prefix="convscope-snap-"))
        saved_signal = getattr(window.saving, "snapshot_saved", None)  # absent when synchronous
        snap = {"done": False}
        if saved_signal is not None:
            saved_signal.connect(lambda _files: snap.update(done=True))

        def run_snapshot() -> None:
            snap["done"] = saved_signal is None
            live.snapshot(snaps)

        stalls, walls = [], []
        for _ in range(REPEATS):
            stall, wall = measure(app, run_snapshot, lambda: snap["done"])
            stalls.append(stall)
            walls.append(wall)
        print(
            f"live snapshot with the network ({len(list(snaps.iterdir()))} files), frames "
            f"streaming: longest stall median {statistics.median(stalls):.0f} ms "
            f"(max {max(stalls):.0f}), until written median {statistics.median(walls):.0f} ms"
        )
    else:
        print("live snapshot: no live network frame arrived (skipped)")
    live.stop()
    window.close()
    window.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
