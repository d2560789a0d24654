"""What drawing a network's grids costs: worker side (layer_grid) and GUI side (setImage).

Run with ``python -m bench.network_views`` from the project root. For a bank of 32 3x3 filters
+ ReLU + 2x2 max pool on the 28x28 digit and on a 640x480 frame, it prints the median time of
:func:`core.network.views.layer_grids` for every layer (whole maps, and sampled so no cell
exceeds 320 or 160 pixels), then of ``NetworkView.show_outputs`` (the GUI thread's share:
setting the images), offscreen.

Not part of the test run: it prints figures and never fails.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np

if __package__ in (None, ""):  # run as a script: make `core` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.network import ActivationLayer, Network, PoolLayer, run_network
from core.network.editing import random_conv
from core.network.views import layer_grids

REPEATS = 15


def median_ms(function) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    from PySide6.QtWidgets import QApplication

    from ui.network.network_view import NetworkView

    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(0)
    network = Network(
        (
            random_conv(32, 1, 3, name="conv1", rng=rng),
            ActivationLayer("relu", name="relu1"),
            PoolLayer("max", 2, name="pool1"),
        )
    )
    frames = {
        "28x28": rng.random((28, 28), dtype=np.float32),
        "640x480": rng.random((480, 640), dtype=np.float32),
    }
    view = NetworkView()
    view.resize(1500, 700)
    view.show()
    for label, frame in frames.items():
        outputs = run_network(frame, network)
        for max_side in (None, 320, 160):
            grids = layer_grids(outputs, max_side=max_side)
            draw = median_ms(lambda o=outputs, m=max_side: layer_grids(o, max_side=m))
            view.show_outputs(outputs, grids)
            app.processEvents()

            def show(o=outputs, g=grids) -> None:
                view.show_outputs(o, g)
                app.processEvents()  # the repaint is part of the GUI's cost

            shown = median_ms(show)
            pixels = sum(g.rgb.shape[0] * g.rgb.shape[1] for g in grids) / 1e6
            print(
                f"grids {label} 32 filters max_side={max_side}: layer_grids_ms={draw:.2f} "
                f"show_outputs_ms={shown:.2f} grid_megapixels={pixels:.2f}"
            )
    view.close()


if __name__ == "__main__":
    main()
