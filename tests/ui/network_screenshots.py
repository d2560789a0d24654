"""Render the network widgets offscreen with real networks and save PNGs to look at.

    python -m tests.ui.network_screenshots [OUT_DIR]     (default: /tmp/netview-shots)
    python -m tests.ui.network_screenshots --demo [IMAGE]  (both widgets wired, by hand)

Networks: 8 filters + ReLU + pool + conv 16 + pool, on the digit and on the street scene
(grey), and the line-detector bank on the street scene. Also used by the UI tests as the
source of a real network run (:func:`example_run`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np

from core.images import load_image, to_grayscale
from core.network import ActivationLayer, Network, PoolLayer, run_network
from core.network.editing import bank_conv, random_conv
from core.network.views import layer_grids
from resources import RESOURCES

VIEW_MAX_SIDE = 320  # larger cells are sampled: a column shows no more than this


def two_layer_network(seed: int = 7, padding: str = "same") -> Network:
    rng = np.random.default_rng(seed)
    return Network(
        (
            random_conv(8, 1, 3, padding=padding, name="conv1", rng=rng),
            ActivationLayer("relu", name="relu1"),
            PoolLayer("max", 2, name="pool1"),
            random_conv(16, 8, 3, padding=padding, name="conv2", rng=rng),
            PoolLayer("max", 2, name="pool2"),
        ),
        name="two layers",
    )


def lines_network() -> Network:
    return Network(
        (
            bank_conv("lines-4", 1, name="lines"),
            ActivationLayer("relu", name="relu1"),
            PoolLayer("max", 2, name="pool1"),
        ),
        name="lines",
    )


def example_run(image_name: str = "digit-7.png", network: Network | None = None):
    """(image, network, outputs, grids) of a network run on a bundled image (grey)."""
    image = to_grayscale(load_image(RESOURCES / image_name))
    network = network if network is not None else two_layer_network()
    outputs = run_network(image, network)
    return image, network, outputs, layer_grids(outputs, max_side=VIEW_MAX_SIDE)


def main(out_dir: str = "/tmp/netview-shots") -> None:
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication

    from ui.network.layer_stack import LayerStackEditor
    from ui.network.network_view import NetworkView

    app = QApplication.instance() or QApplication([])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = {
        "digit-two-layers": ("digit-7.png", two_layer_network(padding="valid")),
        "street-two-layers": ("street-scene.png", two_layer_network()),
        "street-lines": ("street-scene.png", lines_network()),
    }
    for name, (image_name, network) in runs.items():
        image, network, outputs, grids = example_run(image_name, network)
        view = NetworkView()
        view.resize(1500, 700)
        view.show()
        view.show_outputs(outputs, grids)
        app.processEvents()
        # Hover a unit of the last layer that reads several maps (a conv after the first),
        # else of the last layer, and mark a selected map, as a user would see them.
        convs = [i for i, o in enumerate(outputs) if i > 0 and o.layer.kind == "conv"]
        hovered = convs[-1] if convs else len(outputs) - 1
        h, w = outputs[hovered].map.shape[:2]
        point = view.map_point(hovered, 3, h // 2, w // 2)
        view._on_mouse_moved(QPointF(point))
        view.set_selected_map(0, 2)
        app.processEvents()
        view.grab().save(str(out / f"view-{name}.png"))
        view.close()

        editor = LayerStackEditor(network)
        editor.set_input(image.shape[:2], 1)
        editor.resize(560, 560)
        editor.show()
        editor.select(3 if len(network) > 3 else 0)
        app.processEvents()
        editor.grab().save(str(out / f"stack-{name}.png"))
        editor.close()
    print(f"screenshots in {out}")


def demo(image_name: str = "digit-7.png") -> None:
    """A window with both widgets wired as the main window will wire them (synchronously here;
    the window runs the network and draws the grids in its worker), to try them by hand."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QSplitter

    from ui.network.layer_stack import LayerStackEditor
    from ui.network.network_view import NetworkView

    app = QApplication.instance() or QApplication([])
    image = to_grayscale(load_image(RESOURCES / image_name))
    window = QSplitter(Qt.Orientation.Horizontal)
    window.setWindowTitle("ConvScope network demo")
    editor = LayerStackEditor(two_layer_network(padding="valid"))
    editor.set_input(image.shape[:2], 1)
    view = NetworkView()
    window.addWidget(editor)
    window.addWidget(view)
    window.setSizes([520, 1300])

    def run(network: Network) -> None:
        try:
            outputs = run_network(image, network)
        except ValueError as exc:  # NetworkError: the editor already flagged the layer
            view.clear()
            view.readout.setText(str(exc))
            return
        view.show_outputs(outputs, layer_grids(outputs, max_side=VIEW_MAX_SIDE))

    editor.networkChanged.connect(run)
    view.mapClicked.connect(lambda layer, channel: view.set_selected_map(layer, channel))
    view.filterClicked.connect(lambda layer, out: editor.select(layer))
    run(editor.network())
    window.resize(1820, 900)
    window.show()
    app.exec()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--demo"]:
        demo(*sys.argv[2:3])
    else:
        main(*sys.argv[1:2])
