"""``convscope layers MODEL`` and ``convscope apply ... --model MODEL [--layer NAME]``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import main
from core.images import save_raw

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(main.__file__).parent
INPUT = np.load(FIXTURES / "input.npy")


@pytest.fixture
def photo(tmp_path) -> Path:
    """The fixtures' input as a float TIFF: load_image keeps values already in [0, 1]."""
    path = tmp_path / "photo.tiff"
    save_raw(path, INPUT)
    return path


def run(capsys, *args) -> tuple[int, str, str]:
    status = main.main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize(
    "filename", ["keras_model.keras", "torch_state_dict.pt", "model.onnx", "torch.safetensors"]
)
def test_layers_prints_one_line_per_conv_layer(capsys, filename):
    status, out, err = run(capsys, "layers", FIXTURES / filename)
    assert status == 0 and err == ""
    assert out.splitlines() == ["conv1: 4 x 3 x 3 x 3", "conv2: 2 x 4 x 3 x 3"]


def test_layers_on_a_bad_file_exits_2(capsys, tmp_path):
    path = tmp_path / "half.onnx"
    path.write_bytes((FIXTURES / "model.onnx").read_bytes()[:700])
    status, out, err = run(capsys, "layers", path)
    assert status == 2 and out == ""
    assert err.startswith("convscope: half.onnx: ") and "Traceback" not in err


def test_layers_whole_module_says_what_to_do(capsys):
    status, _, err = run(capsys, "layers", FIXTURES / "torch_whole_module.pt")
    assert status == 2 and "state_dict()" in err


@pytest.mark.parametrize(
    ("filename", "names", "reference"),
    [
        (
            "model.onnx",
            ["conv1", "Relu", "pool1.MaxPool", "conv2", "Relu_1"],
            "torch_chain_output.npy",
        ),
        (
            "keras_model.keras",
            ["conv1", "conv1_relu", "pool1", "conv2", "relu2"],
            "keras_chain_output.npy",
        ),
    ],
)
def test_apply_model_runs_the_chain(capsys, tmp_path, photo, filename, names, reference):
    out = tmp_path / "out"
    status, _, err = run(
        capsys, "apply", photo, "--model", FIXTURES / filename, "--out", out, "--format", "npy"
    )
    assert status == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted(f"photo_{n}.npy" for n in names)
    # The framework computed this itself when the fixtures were made.
    last = np.load(out / f"photo_{names[-1]}.npy")
    np.testing.assert_allclose(last, np.load(FIXTURES / reference), rtol=1e-5, atol=1e-5)
    assert np.load(out / f"photo_{names[0]}.npy").shape == (8, 8, 4)
    assert np.load(out / f"photo_{names[2]}.npy").shape == (4, 4, 4)


@pytest.mark.parametrize(
    "filename", ["torch_state_dict.pt", "torch_legacy.pt", "torch.safetensors", "weights.npz"]
)
def test_apply_one_layer_matches_torch(capsys, tmp_path, photo, filename):
    out = tmp_path / "out"
    status, _, err = run(
        capsys, "apply", photo, "--model", FIXTURES / filename, "--layer", "conv1",
        "--out", out, "--format", "npy",
    )  # fmt: skip
    assert status == 0, err
    assert [p.name for p in out.iterdir()] == ["photo_conv1.npy"]
    np.testing.assert_allclose(
        np.load(out / "photo_conv1.npy"),
        np.load(FIXTURES / "torch_conv1_output.npy"),
        rtol=1e-5,
        atol=1e-5,
    )


def test_tiff_has_one_page_per_channel_and_png_a_grid(capsys, tmp_path, photo):
    out = tmp_path / "out"
    model = FIXTURES / "torch_state_dict.pt"
    for fmt in ("tiff", "png"):
        status, _, err = run(
            capsys, "apply", photo, "--model", model, "--layer", "conv1", "--out", out,
            "--format", fmt,
        )  # fmt: skip
        assert status == 0, err
    ok, pages = cv2.imreadmulti(str(out / "photo_conv1.tiff"), flags=cv2.IMREAD_UNCHANGED)
    assert ok and len(pages) == 4
    np.testing.assert_allclose(
        np.stack(pages, axis=-1), np.load(FIXTURES / "torch_conv1_output.npy"), atol=1e-5
    )
    # The PNG is the engine's labelled grid of torch's own output (the same grid as --network).
    from core.network.views import labelled_grid

    png = cv2.cvtColor(cv2.imread(str(out / "photo_conv1.png")), cv2.COLOR_BGR2RGB)
    expected = labelled_grid(np.load(FIXTURES / "torch_conv1_output.npy"), title="conv1")[0]
    assert png.shape == expected.shape
    assert np.abs(png.astype(int) - expected).max() <= 1


def test_gray_images_feed_an_rgb_first_layer(capsys, tmp_path):
    gray = tmp_path / "gray.png"
    cv2.imwrite(str(gray), np.full((6, 6), 255, np.uint8))
    out = tmp_path / "out"
    status, _, err = run(
        capsys, "apply", gray, "--model", FIXTURES / "model.onnx", "--out", out, "--format", "npy"
    )
    assert status == 0, err
    weights = np.load(FIXTURES / "weights.npz")
    # An all-ones RGB input: the centre pixel sums every weight, plus the bias.
    centre = np.load(out / "gray_conv1.npy")[3, 3]
    expected = weights["conv1.weight"].sum(axis=(1, 2, 3)) + weights["conv1.bias"]
    np.testing.assert_allclose(centre, expected, rtol=1e-5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "{torch}"], "choose one layer with --layer NAME"),
        (["--model", "{torch}", "--layer", "conv9"], "no conv layer named 'conv9'"),
        (["--model", "{torch}", "--layer", "conv2"], "takes 4 channels"),
        (["--model", "{whole}"], "state_dict()"),
        (["--model", "{missing}"], "no such file"),
        (["--model", "{torch}", "--kernel", "outline"], "not allowed with argument"),
        (["--layer", "conv1", "--kernel", "outline"], "--layer needs --model"),
        ([], "one of the arguments --kernel --network --model is required"),
    ],
)
def test_apply_model_usage_errors_exit_2(capsys, tmp_path, photo, args, message):
    names = {
        "{torch}": FIXTURES / "torch_state_dict.pt",
        "{whole}": FIXTURES / "torch_whole_module.pt",
        "{missing}": tmp_path / "missing.pt",
    }
    args = [names.get(a, a) for a in args]
    out = tmp_path / "out"
    status, _, err = run(capsys, "apply", photo, *args, "--out", out)
    assert status == 2
    assert message in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


def test_a_bad_image_among_good_ones_exits_1(capsys, tmp_path, photo):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"junk")
    out = tmp_path / "out"
    model = FIXTURES / "keras_model.keras"
    status, _, err = run(capsys, "apply", photo, broken, "--model", model, "--out", out)
    assert status == 1
    assert "broken.png" in err
    assert len(list(out.iterdir())) == 5


def test_subprocess_end_to_end(tmp_path, photo):
    model = tmp_path / "my model.pth"
    shutil.copy(FIXTURES / "torch_checkpoint.pth", model)
    done = subprocess.run(
        [sys.executable, "main.py", "layers", str(model)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["model.conv1: 4 x 3 x 3 x 3", "model.conv2: 2 x 4 x 3 x 3"]
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "main.py", "apply", str(photo), "--model", str(model),
         "--layer", "model.conv1", "--out", str(out), "--format", "npy"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(
        np.load(out / "photo_model.conv1.npy"),
        np.load(FIXTURES / "torch_conv1_output.npy"),
        atol=1e-5,
    )


def test_kernel_options_do_not_apply_to_a_model(capsys, tmp_path, photo):
    model = FIXTURES / "model.onnx"
    status, _, err = run(
        capsys, "apply", photo, "--model", model, "--stride=2", "--pool", "none", "--out", tmp_path
    )
    assert status == 2
    assert "--pool, --stride only apply with --kernel" in err


def test_layer_names_that_clash_as_file_names_do_not_overwrite(tmp_path, photo):
    from core.batch import process_file_network
    from core.network import ActivationLayer, ConvLayer, Network

    network = Network(
        (
            ConvLayer(np.ones((1, 3, 1, 1), np.float32), name="block/conv"),
            ActivationLayer("relu", name="block_conv"),
            ActivationLayer("abs", name="BLOCK_CONV"),
        )
    )
    paths = process_file_network(photo, network, tmp_path, "npy")
    assert [p.name for p in paths] == [
        "photo_block_conv.npy",
        "photo_block_conv-2.npy",
        "photo_BLOCK_CONV-3.npy",
    ]
    assert all(p.exists() for p in paths)
