"""What the window's network engine costs: the worker job and the time until the dock shows it.

Run with ``python -m bench.network_window`` from the project root. For the Keras example
(Conv2D(32, 3x3) + ReLU + MaxPooling2D) it prints the median time of
:func:`core.network.display.compute_network` (run, grids, filters, the selected map's pane
view; grid cells at most ``GRID_CELL_SIDE`` pixels, as the window asks) on the 28x28 digit
and on a 640x480 frame, then, in the real MainWindow offscreen at
1600x1000, the time from choosing the example in the Network menu (and from clicking a map)
until the result is on screen.

Not part of the test run: it prints figures and never fails.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np

if __package__ in (None, ""):  # run as a script: make `core` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.images import load_image
from core.network.display import NetworkRequest, compute_network
from core.network.presets import KERAS_EXAMPLE, build_preset
from ui.network_engine import GRID_CELL_SIDE

REPEATS = 9
ROOT = Path(__file__).resolve().parents[1]


def median_ms(function, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def worker_figures() -> None:
    network = build_preset(KERAS_EXAMPLE)
    digit = load_image(ROOT / "resources" / "digit-7.png")
    frame = np.random.default_rng(0).random((480, 640), dtype=np.float32)
    for label, image in (("28x28 digit", digit), ("640x480 frame", frame)):
        for selected in (None, (0, 5)):
            request = NetworkRequest(image, network, selected=selected, max_side=GRID_CELL_SIDE)
            ms = median_ms(lambda r=request: compute_network(r))
            what = "with a selected map" if selected else "no selected map"
            print(f"compute_network, Keras example, {label}, {what}: {ms:.1f} ms")


def window_figures(image: Path, label: str) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from ui.app import wait_until_idle
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    settings = QSettings(tempfile.mktemp(suffix=".ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings, interactive=False)
    window.resize(1600, 1000)
    window.show()
    window.open_path(image)
    wait_until_idle(window, 30_000)
    h, w = window.loaded.image.shape[:2]
    label = f"{label} {w}x{h}"
    totals = []
    for i in range(5):
        name = KERAS_EXAMPLE if i % 2 == 0 else "lines-4"
        start = time.perf_counter()
        window.network.show_preset(name)
        wait_until_idle(window, 30_000)
        app.processEvents()
        totals.append((time.perf_counter() - start) * 1000)
    clicks = []
    for channel in range(5):
        start = time.perf_counter()
        window.network_dock.select_map(0, channel)
        wait_until_idle(window, 30_000)
        app.processEvents()
        clicks.append((time.perf_counter() - start) * 1000)
    print(
        f"window, {label}: example chosen -> maps on screen {statistics.median(totals):.0f} ms,"
        f" map clicked -> shown large {statistics.median(clicks):.0f} ms"
    )
    window.close()
    window.shutdown()


def main() -> int:
    worker_figures()
    window_figures(ROOT / "resources" / "digit-7.png", "digit")
    window_figures(ROOT / "resources" / "street-scene.png", "street scene")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
