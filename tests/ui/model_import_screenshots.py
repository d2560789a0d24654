"""Render the Import model dialog offscreen and save PNGs to look at, or open it for real.

    python -m tests.ui.model_import_screenshots [OUT_DIR]   (default: /tmp/import-shots)
    python -m tests.ui.model_import_screenshots --demo [MODEL | --big]   (a real window;
        without MODEL the file dialog asks; --big opens the 64-filter model below)

Besides the small fixtures of tests/core/models/fixtures, it writes a larger model to look at:
an ONNX graph whose first layer is 64 colour 7x7 filters (Gabor-like stripes and colour
blobs, as a trained first layer tends to look), then ReLU, 2x2 max pool, a 32 x 64 x 3x3
conv and a flatten; and a safetensors file of 32 one-channel 5x5 filters.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

if "--demo" not in sys.argv:  # the demo is a real window (e.g. on Xvfb)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

FIXTURES = Path(__file__).parents[1] / "core" / "models" / "fixtures"


def gabor_bank(count: int, channels: int, side: int, seed: int = 3) -> np.ndarray:
    """``count`` filters (count, channels, side, side): oriented stripes, some in colour."""
    rng = np.random.default_rng(seed)
    half = side // 2
    y, x = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float32)
    bank = np.empty((count, channels, side, side), np.float32)
    for o in range(count):
        theta = rng.uniform(0, np.pi)
        wavelength = rng.uniform(2.5, 6.0)
        sigma = rng.uniform(1.2, 2.5)
        along = x * np.cos(theta) + y * np.sin(theta)
        envelope = np.exp(-(x**2 + y**2) / (2 * sigma**2))
        pattern = envelope * np.cos(2 * np.pi * along / wavelength + rng.uniform(0, np.pi))
        if o % 3 == 2:  # a colour-opponent blob instead of stripes
            pattern = envelope
            mix = rng.standard_normal(channels)
        else:
            mix = np.ones(channels) + 0.3 * rng.standard_normal(channels)
        bank[o] = mix[:, None, None] * pattern * rng.uniform(0.3, 1.0)
    return bank


def write_demo_onnx(path: Path) -> Path:
    """A conv 64x3x7x7 (stride 2) -> ReLU -> max pool 2 -> conv 32x64x3x3 -> ReLU -> flatten."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(5)
    conv1 = gabor_bank(64, 3, 7)
    conv2 = (rng.standard_normal((32, 64, 3, 3)) * 0.1).astype(np.float32)
    inits = [
        numpy_helper.from_array(conv1, "conv1.weight"),
        numpy_helper.from_array(np.zeros(64, np.float32), "conv1.bias"),
        numpy_helper.from_array(conv2, "conv2.weight"),
        numpy_helper.from_array((rng.standard_normal(32) * 0.1).astype(np.float32), "conv2.bias"),
    ]
    nodes = [
        helper.make_node(
            "Conv",
            ["x", "conv1.weight", "conv1.bias"],
            ["c1"],
            name="conv1",
            kernel_shape=[7, 7],
            strides=[2, 2],
            pads=[3, 3, 3, 3],
        ),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node(
            "MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]
        ),
        helper.make_node(
            "Conv",
            ["p1", "conv2.weight", "conv2.bias"],
            ["c2"],
            name="conv2",
            kernel_shape=[3, 3],
            pads=[1, 1, 1, 1],
        ),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("Flatten", ["r2"], ["y"], name="flatten"),
    ]
    graph = helper.make_graph(
        nodes,
        "demo",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32 * 16 * 16])],
        inits,
    )
    onnx.save(helper.make_model(graph), path)
    return path


def write_demo_safetensors(path: Path) -> Path:
    """32 one-channel 5x5 filters (a digit network's first layer, say)."""
    from safetensors.numpy import save_file

    save_file({"features.0.weight": gabor_bank(32, 1, 5, seed=11)}, str(path))
    return path


def _settle(app, dialog, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while dialog.is_busy() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()


def screenshots(out: Path) -> list[Path]:
    from PySide6.QtWidgets import QApplication

    from ui.model_import import ImportModelDialog

    app = QApplication.instance() or QApplication([])
    out.mkdir(parents=True, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory() as scratch:
        onnx_path = write_demo_onnx(Path(scratch) / "gabor_first_layers.onnx")
        safetensors_path = write_demo_safetensors(Path(scratch) / "digits.safetensors")
        nan_path = Path(scratch) / "with_nan.npz"
        broken = gabor_bank(8, 3, 5)
        broken[2, 1, 2, 2] = np.nan
        np.savez(nan_path, **{"stem.weight": gabor_bank(8, 3, 5), "broken.weight": broken})
        cases = [
            ("torch_rgb_conv1", FIXTURES / "torch_state_dict.pt", 0),
            ("keras_chain_conv2", FIXTURES / "keras_model.keras", 1),
            ("onnx_64_rgb_filters", onnx_path, 0),
            ("onnx_conv2_cut", onnx_path, 1),
            ("safetensors_32_grey", safetensors_path, 0),
            ("npz_layer_with_nan", nan_path, 1),
        ]
        for name, path, row in cases:
            dialog = ImportModelDialog(path)
            dialog.show()
            dialog.table.selectRow(row)
            _settle(app, dialog)
            target = out / f"{name}.png"
            dialog.grab().save(str(target))
            made.append(target)
            dialog.reject()
    return made


def demo(model: str | None) -> int:
    """The dialog in a real window (for Xvfb and xdotool); prints what was imported."""
    from PySide6.QtWidgets import QApplication

    from ui.model_import import ask_import_model

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as scratch:
        if model == "--big":
            model = str(write_demo_onnx(Path(scratch) / "gabor_first_layers.onnx"))
        network = ask_import_model(None, model, folder=FIXTURES)
    if network is None:
        print("imported: nothing")
    else:
        print("imported:", network.name, [layer.name for layer in network.layers])
    app.processEvents()
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--demo":
        sys.exit(demo(sys.argv[2] if len(sys.argv) > 2 else None))
    for shot in screenshots(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/import-shots")):
        print(shot)
