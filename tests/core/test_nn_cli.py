"""``convscope train / evaluate / predict`` through main(), as a user runs them."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from core.network import load_network
from core.nn.data import load_bundled
from main import main


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A model trained by the command for one epoch on 3,000 MNIST images given as a folder
    holding an idx pair (the loader's path) - about half a second."""
    from tests.core.test_nn_data import write_idx

    train_set, _ = load_bundled()
    folder = tmp_path_factory.mktemp("data")
    write_idx(folder / "train-images-idx3-ubyte.gz", train_set.images[:3000], gz=True)
    write_idx(folder / "train-labels-idx1-ubyte", train_set.labels[:3000])
    path = tmp_path_factory.mktemp("model") / "model.json"
    args = ["--data", str(folder), "--epochs", "1", "--batch", "32", "--lr", "0.004"]
    assert main(["train", *args, "--out", str(path)]) == 0
    return path


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_train_contract(tmp_path, capsys):
    out = tmp_path / "quick.json"
    assert main(["train", "--seconds", "0.5", "--lr", "0.003", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    match = re.fullmatch(
        r"trained: examples=(\d+) seconds=([\d.]+) test_accuracy=([\d.]+)", last_line(captured.out)
    )
    assert match, captured.out
    examples, seconds, accuracy = int(match[1]), float(match[2]), float(match[3])
    assert examples > 0 and 0.5 <= seconds < 5 and 0.0 <= accuracy <= 1.0
    assert "examples/s" in captured.err  # progress goes to stderr
    assert [layer.kind for layer in load_network(out).layers][-1] == "activation"


def test_trained_model_evaluates_to_the_reported_accuracy(model, capsys):
    assert main(["evaluate", str(model), "--data", "mnist"]) == 0
    match = re.fullmatch(r"accuracy=([\d.]+) n=2000", last_line(capsys.readouterr().out))
    assert match and float(match[1]) >= 0.85  # measured 0.880


def test_predict_prepares_pictures_like_mnist(model, tmp_path, capsys):
    _, test = load_bundled()
    paths = []
    for k in range(6):  # test digits drawn large, dark on light paper, off-centre
        paper = np.full((200, 170), 235, np.uint8)
        big = cv2.resize(test.images[k], (120, 120), interpolation=cv2.INTER_CUBIC)
        paper[40:160, 40:160] = 235 - (big.astype(np.float32) * 0.9).astype(np.uint8)
        paths.append(tmp_path / f"digit{k}.png")
        cv2.imwrite(str(paths[-1]), paper)
    missing = tmp_path / "missing.png"
    status = main(["predict", str(model), *map(str, paths), str(missing)])
    captured = capsys.readouterr()
    assert status == 1  # one input failed, the others were still classified
    assert "missing.png" in captured.err and "Traceback" not in captured.err
    lines = captured.out.strip().splitlines()
    assert len(lines) == 6
    right = 0
    for path, label, line in zip(paths, test.labels[:6], lines, strict=True):
        match = re.fullmatch(rf"{re.escape(str(path))}: (\d) p=([\d.]+)", line)
        assert match, line
        assert 0 < float(match[2]) <= 1
        right += int(match[1]) == label
    assert right >= 5


def test_bad_model_or_data_exit_2(tmp_path, capsys, model):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["evaluate", str(bad)]) == 2
    assert main(["predict", str(bad), "x.png"]) == 2
    assert main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "m.json")]) == 2
    assert main(["evaluate", str(model), "--data", str(tmp_path / "nowhere")]) == 2
    assert main(["train", "--network", "resnet", "--out", str(tmp_path / "m.json")]) == 2
    assert main(["train", "--lr", "-1", "--out", str(tmp_path / "m.json")]) == 2  # usage
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "unusable model" in err and "unusable data" in err
    assert not (tmp_path / "m.json").exists()


def test_diverging_training_keeps_the_last_good_weights(tmp_path, capsys):
    out = tmp_path / "diverged.json"
    args = ["train", "--optimizer", "sgd", "--lr", "1e6", "--out", str(out)]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "learning rate" in captured.err
    assert "trained:" not in captured.out
    assert load_network(out).layers  # the last good weights were saved


def test_train_from_a_layer_stack_file(tmp_path, capsys):
    from core.network import ConvLayer, Network, PoolLayer

    stack = tmp_path / "stack.json"
    kernel = np.array([[[[1, 0, -1], [2, 0, -2], [1, 0, -1]]]], np.float32)
    Network((ConvLayer(kernel, name="sobel"), PoolLayer("max", 4, name="pool"))).save(stack)
    out = tmp_path / "from-stack.json"
    assert main(["train", "--network", str(stack), "--seconds", "0.3", "--out", str(out)]) == 0
    layers = load_network(out).layers
    assert [layer.kind for layer in layers] == ["conv", "pool", "flatten", "dense", "activation"]
    assert last_line(capsys.readouterr().out).startswith("trained:")


def test_a_model_that_cannot_be_saved_is_refused_before_training(tmp_path, capsys):
    missing = tmp_path / "no-such-folder" / "model.json"
    # 60 s of training would be wasted if the folder were only found missing at the end.
    assert main(["train", "--seconds", "60", "--out", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "cannot write to output folder" in err and "examples/s" not in err
