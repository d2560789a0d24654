"""Does the Import model dialog stay responsive while a big layer is read?

Run with ``python bench/import_dialog.py [--megabytes N]`` from the project root (offscreen).
For each format it writes a model with a small first conv layer and a large one ("big",
N MB of float32, 200 by default), opens the dialog, selects "big" as a user would, and
prints: the time from the selection until its thumbnails are shown, and the longest the
GUI thread went without running a 5 ms timer meanwhile (a frozen dialog would show the
whole read there). Also the time ``filter_thumbnails`` alone takes on that bank.

Not part of the test run: it prints figures and never fails.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if __package__ in (None, ""):  # run as a script: make `core` and `ui` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np


def big_bank(megabytes: int) -> np.ndarray:
    out_channels = max(1, megabytes * 1024 * 1024 // (2048 * 25 * 4))
    rng = np.random.default_rng(0)
    return rng.standard_normal((out_channels, 2048, 5, 5), dtype=np.float32)


def first_bank() -> np.ndarray:
    return np.arange(8 * 3 * 3 * 3, dtype=np.float32).reshape(8, 3, 3, 3) / 100


def write_safetensors(path: Path, big: np.ndarray) -> Path:
    from safetensors.numpy import save_file

    save_file({"first.weight": first_bank(), "big.weight": big}, str(path))
    return path


def write_onnx(path: Path, big: np.ndarray) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    first = first_bank()
    nodes = [
        helper.make_node("Conv", ["x", "first"], ["a"], name="first", kernel_shape=[3, 3]),
        helper.make_node("Conv", ["b", "big"], ["c"], name="big", kernel_shape=[5, 5]),
    ]
    graph = helper.make_graph(
        nodes,
        "bench",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(first, "first"), numpy_helper.from_array(big, "big")],
    )
    onnx.save(helper.make_model(graph), path)
    return path


def measure(app, path: Path) -> tuple[float, float]:
    """(seconds until the big layer's thumbnails show, longest GUI stall in seconds)."""
    from PySide6.QtCore import QTimer

    from ui.model_import import ImportModelDialog

    dialog = ImportModelDialog(path)
    names = [info.name for info in dialog.infos]
    dialog.table.selectRow(names.index("first"))  # open on the small layer
    dialog.show()
    while dialog.is_busy():
        app.processEvents()
        time.sleep(0.005)
    ticks: list[float] = []
    timer = QTimer(interval=5)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    row = names.index("big")
    start = time.perf_counter()
    ticks.append(start)
    dialog.table.selectRow(row)
    while dialog.is_busy() or dialog.filter_view.thumbnails is None:
        app.processEvents()
        time.sleep(0.001)
    shown = time.perf_counter() - start
    timer.stop()
    stall = max(b - a for a, b in itertools.pairwise(ticks)) if len(ticks) > 1 else 0
    dialog.reject()
    return shown, stall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    from core.network import ConvLayer
    from core.network.filter_thumbnails import filter_thumbnails

    app = QApplication.instance() or QApplication([])
    big = big_bank(args.megabytes)
    layer = ConvLayer(big)
    start = time.perf_counter()
    filter_thumbnails(layer, (600, 380))
    print(f"filter_thumbnails of a {big.shape} bank: {time.perf_counter() - start:.3f} s")
    with tempfile.TemporaryDirectory() as folder:
        for name, write in (("safetensors", write_safetensors), ("onnx", write_onnx)):
            path = write(Path(folder) / f"big.{name}", big)
            size = path.stat().st_size / 2**20
            shown, stall = measure(app, path)
            print(
                f"{name:12s} {size:6.0f} MB file: big layer shown after {shown:.2f} s, "
                f"longest GUI stall {stall * 1000:.0f} ms"
            )
            path.unlink()


if __name__ == "__main__":
    main()
