"""``convscope apply --network``: every layer written, raw stacks exact, clear failures."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.signal import correlate2d

import main
from core.images import load_image, to_grayscale
from core.network import ConvLayer, Network, PoolLayer, run_network
from core.network.presets import FIELD_EXAMPLE, KERAS_EXAMPLE, build_preset
from core.network.views import labelled_grid
from resources import SAMPLES

BOXES = SAMPLES["Boxes and lines"]
STREET = SAMPLES["Street scene"]
DIGIT = SAMPLES["Handwritten 7 (28x28)"]


def apply(capsys, *argv) -> tuple[int, str]:
    status = main.main(["apply", *map(str, argv)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, err


def read_stack(path: Path) -> np.ndarray:
    ok, pages = cv2.imdecodemulti(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    assert ok
    return np.stack(pages, axis=-1)


def test_keras_preset_writes_every_layer_as_raw_stacks(capsys, tmp_path):
    out = tmp_path / "out"
    status, err = apply(capsys, DIGIT, "--network", KERAS_EXAMPLE, "--out", out, "--format", "npy")
    assert (status, err) == (0, "")
    names = ["conv1", "relu1", "pool1"]
    assert sorted(p.name for p in out.iterdir()) == sorted(f"digit-7_{n}.npy" for n in names)
    network = build_preset(KERAS_EXAMPLE)
    gray = to_grayscale(load_image(DIGIT))
    expected = run_network(gray, network)
    shapes = [(26, 26, 32), (26, 26, 32), (13, 13, 32)]
    for name, shape, output in zip(names, shapes, expected, strict=True):
        saved = np.load(out / f"digit-7_{name}.npy")
        assert saved.dtype == np.float32 and saved.shape == shape
        np.testing.assert_array_equal(saved, output.map)
    # and independently of the engine: filter 9 of conv1 is scipy's valid correlation
    conv = np.load(out / "digit-7_conv1.npy")
    w = network.layers[0].weights[9, 0].astype(np.float64)
    np.testing.assert_allclose(conv[:, :, 9], correlate2d(gray, w, mode="valid"), atol=1e-5)


def test_tiff_holds_one_float32_page_per_channel(capsys, tmp_path):
    out = tmp_path / "out"
    status, _ = apply(capsys, BOXES, "--network", FIELD_EXAMPLE, "--out", out, "--format", "tiff")
    assert status == 0
    names = ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"boxes-and-lines_{n}.tiff" for n in names
    )
    expected = run_network(to_grayscale(load_image(BOXES)), build_preset(FIELD_EXAMPLE))
    for name, output in zip(names, expected, strict=True):
        stack = read_stack(out / f"boxes-and-lines_{name}.tiff")
        assert stack.dtype == np.float32
        np.testing.assert_array_equal(stack, output.map)


def test_png_is_the_labelled_grid(capsys, tmp_path):
    out = tmp_path / "out"
    status, _ = apply(capsys, DIGIT, "--network", "lines-4", "--out", out)
    assert status == 0
    outputs = run_network(to_grayscale(load_image(DIGIT)), build_preset("lines-4"))
    for output in outputs:
        saved = cv2.imread(str(out / f"digit-7_{output.name}.png"))[:, :, ::-1]
        grid, layout = labelled_grid(output.map, title=output.name)
        np.testing.assert_array_equal(saved, grid)
        assert layout.channels == 4


def test_network_file_with_colour_input_and_odd_names(capsys, tmp_path):
    weights = np.random.default_rng(0).normal(size=(2, 3, 3, 3)).astype(np.float32)
    network = Network(
        (ConvLayer(weights, padding="valid", name="rgb/conv"), PoolLayer("avg", 3, name="pool"))
    )
    path = tmp_path / "net.json"
    network.save(path)
    out = tmp_path / "out"
    status, err = apply(capsys, STREET, DIGIT, "--network", path, "--out", out, "--format", "npy")
    assert (status, err) == (0, "")
    colour = load_image(STREET)
    conv = np.load(out / "street-scene_rgb_conv.npy")  # the slash cannot be in a file name
    expected = sum(
        correlate2d(colour[:, :, c], weights[0, c].astype(np.float64), mode="valid")
        for c in range(3)
    )
    np.testing.assert_allclose(conv[:, :, 0], expected, atol=1e-4)
    # a gray digit feeds a 3-channel network as three equal channels
    gray = load_image(DIGIT)
    expected = sum(correlate2d(gray, weights[1, c].astype(np.float64), "valid") for c in range(3))
    np.testing.assert_allclose(np.load(out / "digit-7_rgb_conv.npy")[:, :, 1], expected, atol=1e-4)


def test_vector_layers_are_written_too(capsys, tmp_path):
    data = {
        "format": "convscope-network",
        "version": 1,
        "layers": [
            {"type": "pool", "name": "p", "size": 7},
            {"type": "flatten", "name": "flat"},
            {"type": "dense", "name": "fc", "weights": np.ones((3, 16)).tolist()},
        ],
    }
    path = tmp_path / "vec.json"
    path.write_text(json.dumps(data))
    for fmt in ("npy", "tiff", "png"):
        out = tmp_path / fmt
        status, err = apply(capsys, DIGIT, "--network", path, "--out", out, "--format", fmt)
        assert (status, err) == (0, "")
        assert len(list(out.iterdir())) == 3
    flat = np.load(tmp_path / "npy" / "digit-7_flat.npy")
    assert flat.shape == (16,)
    np.testing.assert_allclose(np.load(tmp_path / "npy" / "digit-7_fc.npy"), [flat.sum()] * 3,
                               rtol=1e-5)  # fmt: skip
    np.testing.assert_array_equal(
        read_stack(tmp_path / "tiff" / "digit-7_flat.tiff")[0, :, 0], flat
    )


def test_a_pool_that_does_not_fit_fails_that_input_only(capsys, tmp_path):
    network = Network((PoolLayer("max", 30, name="huge"),))
    path = tmp_path / "big.json"
    network.save(path)
    out = tmp_path / "out"
    status, err = apply(capsys, DIGIT, BOXES, "--network", path, "--out", out, "--format", "npy")
    assert status == 1
    assert "digit-7.png" in err and "'huge'" in err
    assert [p.name for p in out.iterdir()] == ["boxes-and-lines_huge.npy"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--network", "no-such-net"], "no-such-net"),
        (["--network", "{bad}"], "'conv2': takes 1 input channels, but the layer before gives 2"),
        (["--network", "{missing}"], "cannot read"),
        (["--network", "lines-4", "--kernel", "outline"], "not allowed with"),
        (["--network", "lines-4", "--stride", "2"], "--stride only apply with --kernel"),
        (["--network", "lines-4", "--pool=none"], "--pool only apply with --kernel"),
        (["--network", "lines-4", "--format", "jpeg"], "invalid choice"),
        ([], "one of the arguments --kernel --network --model is required"),
    ],
)
def test_usage_and_network_errors_exit_2_and_write_nothing(capsys, tmp_path, args, message):
    bad = tmp_path / "bad.json"
    layer = {"type": "conv", "name": "conv1", "weights": np.ones((2, 1, 3, 3)).tolist()}
    bad.write_text(json.dumps({"format": "convscope-network", "version": 1,
                               "layers": [layer, {**layer, "name": "conv2"}]}))  # fmt: skip
    args = [
        {"{bad}": str(bad), "{missing}": str(tmp_path / "missing.json")}.get(a, a) for a in args
    ]
    out = tmp_path / "out"
    status, err = apply(capsys, BOXES, *args, "--out", out)
    assert status == 2
    assert message in err
    assert not out.exists()
