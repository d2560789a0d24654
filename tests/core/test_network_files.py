"""The network file (issue 9's JSON format): exact round trips, defaults, and every bad file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.network import (
    ActivationLayer,
    ConvLayer,
    DenseLayer,
    FlattenLayer,
    Network,
    NetworkError,
    PoolLayer,
    load_network,
    run_network,
)


def rand(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def write(tmp_path, data, name="net.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def conv(**fields):
    return {"type": "conv", "name": "conv1", "weights": np.ones((2, 1, 3, 3)).tolist(), **fields}


def net(*layers):
    return {"format": "convscope-network", "version": 1, "layers": list(layers)}


def test_round_trip_is_exact(tmp_path):
    network = Network(
        (
            ConvLayer(rand((4, 3, 3, 5), 1), rand(4, 2), 2, "valid", 2, "reflect", name="c1"),
            ActivationLayer("leaky_relu", name="a1"),
            PoolLayer("avg", 3, 2, name="p1"),
            ConvLayer(rand((2, 4, 1, 1), 3), padding=3, border="wrap", name="c2"),
            FlattenLayer(name="flat"),
            DenseLayer(rand((5, 7), 4), rand(5, 5), name="fc"),
            ActivationLayer("softmax", name="out"),
        ),
        name="every layer",
    )
    path = tmp_path / "net.json"
    network.save(path)
    loaded = load_network(path)
    assert loaded.name == "every layer"
    assert [layer.name for layer in loaded] == [layer.name for layer in network]
    for a, b in zip(network, loaded, strict=True):
        assert type(a) is type(b)
        for key in ("stride", "padding", "dilation", "border", "mode", "size", "function"):
            assert getattr(a, key, None) == getattr(b, key, None)
        for key in ("weights", "bias"):
            if hasattr(a, key):
                assert getattr(b, key).dtype == np.float32
                np.testing.assert_array_equal(getattr(a, key), getattr(b, key))  # bit-exact
    # and the file is the issue's format
    data = json.loads(path.read_text())
    assert data["format"] == "convscope-network" and data["version"] == 1
    assert data["layers"][0] == {
        "type": "conv",
        "name": "c1",
        "weights": network.layers[0].weights.tolist(),
        "bias": network.layers[0].bias.tolist(),
        "stride": 2,
        "padding": "valid",
        "dilation": 2,
        "border": "reflect",
    }
    assert data["layers"][2] == {
        "type": "pool",
        "name": "p1",
        "mode": "avg",
        "size": 3,
        "stride": 2,
    }


def test_issue_example_file_loads(tmp_path):
    weights = np.arange(18, dtype=float).reshape(2, 1, 3, 3) - 9
    path = write(
        tmp_path,
        net(
            {"type": "conv", "name": "conv1", "weights": weights.tolist(), "bias": [0.5, -1],
             "stride": 1, "padding": "valid", "dilation": 1, "border": "zero"},
            {"type": "activation", "name": "relu1", "function": "relu"},
            {"type": "pool", "name": "pool1", "mode": "max", "size": 2, "stride": 2},
        ),
    )  # fmt: skip
    network = load_network(path)
    outs = run_network(np.ones((28, 28), np.float32), network)
    assert [o.map.shape for o in outs] == [(26, 26, 2), (26, 26, 2), (13, 13, 2)]
    # all-ones input: each map is the sum of its weights plus its bias
    np.testing.assert_allclose(outs[0].map[5, 5], weights.sum(axis=(1, 2, 3)) + np.array([0.5, -1]))


def test_missing_optional_fields_take_defaults(tmp_path):
    path = write(
        tmp_path,
        net(
            {"type": "conv", "weights": [[[[1.0]]]]},
            {"type": "activation"},
            {"type": "pool", "size": 3},
        ),
        name="plain.json",
    )
    network = load_network(path)
    c, a, p = network.layers
    np.testing.assert_array_equal(c.bias, [0.0])
    assert (c.stride, c.padding, c.dilation, c.border) == (1, "same", 1, "zero")
    assert a.function == "relu"
    assert (p.mode, p.size, p.stride) == ("max", 3, 3)  # stride = size
    assert [layer.name for layer in network] == ["conv1", "activation2", "pool3"]
    assert network.name == "plain"  # a file without a name is named after itself


BAD_FILES = [
    ("not json {", "not valid JSON"),
    ('{"format": "convscope-network", "version": 1, "layers": [NaN]}', "NaN"),
    (json.dumps({"format": "other", "version": 1, "layers": []}), "not a ConvScope network"),
    (json.dumps({**net(), "version": 7}), "version"),
    (json.dumps(net()), "at least one layer"),
    (json.dumps(net({"type": "dropout", "name": "d"})), "layer 1: unknown type 'dropout'"),
    (json.dumps(net(conv(weights=[[[[1, 2], [3]]]]))), "'conv1': weights.*ragged"),
    (json.dumps(net(conv(weights=[[1, 2], [3, 4]]))), "'conv1': weights must have 4"),
    (json.dumps(net(conv(weights="abc"))), "'conv1': weights"),
    (json.dumps(net(conv(bias=[1, 2, 3]))), "'conv1': bias must have 2"),
    (json.dumps(net(conv(), conv(name="conv2"))), "'conv2': takes 1 input channels.*gives 2"),
    (json.dumps(net(conv(weights=np.ones((1, 1, 64, 64)).tolist()))), "'conv1'.*too large"),
    (json.dumps(net(conv(weights=np.ones((3000, 1, 1, 1)).tolist()))), "'conv1'.*too many"),
    (json.dumps(net(conv(stride=1000))), "'conv1': stride must be between"),
    (json.dumps(net(conv(dilation=0))), "'conv1': dilation must be between"),
    (json.dumps(net(conv(padding="half"))), "'conv1': padding"),
    (json.dumps(net(conv(padding=-1))), "'conv1': padding"),
    (json.dumps(net(conv(border="mirror"))), "'conv1': border"),
    (json.dumps(net(conv(weights=[[[[1e30]]]]))), "'conv1': weights reach"),
    (json.dumps(net(conv(extra=1))), "'conv1': unknown field"),
    (json.dumps(net({"type": "conv", "name": "w"})), "'w': a conv layer needs weights"),
    (json.dumps(net({"type": "activation", "name": "a", "function": "gelu"})), "'a': function"),
    (json.dumps(net({"type": "pool", "name": "p", "mode": "median"})), "'p': mode"),
    (json.dumps(net({"type": "pool", "name": "p", "size": 0})), "'p': size must be between"),
    (json.dumps(net({"type": "pool", "name": "p", "size": 2.5})), "'p': size must be an integer"),
    (json.dumps(net(conv(), conv())), "'conv1': every layer needs its own"),
    (json.dumps(net({"type": "flatten", "name": "f"}, conv())), "'conv1'.*cannot follow"),
    (json.dumps(net({"type": "dense", "name": "d", "weights": [[1]]})), "'d'.*flatten"),
    (json.dumps([1, 2]), "JSON object"),
    (json.dumps(net("conv")), "layer 1: must be a JSON object"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_bad_files_raise_network_error_saying_why(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(NetworkError, match=message):
        load_network(path)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_weights_are_refused(tmp_path, token):
    text = json.dumps(net(conv())).replace("[[[1.0", f"[[[{token}", 1)
    assert token in text
    with pytest.raises(NetworkError, match=token):
        load_network(write(tmp_path, text))


def test_nan_from_python_values_is_refused():
    weights = np.ones((1, 1, 3, 3))
    weights[0, 0, 1, 1] = np.nan
    with pytest.raises(NetworkError, match=r"'c'.*NaN"):
        ConvLayer(weights, name="c")


def test_unreadable_and_binary_files(tmp_path):
    with pytest.raises(NetworkError, match="cannot read"):
        load_network(tmp_path / "missing.json")
    binary = tmp_path / "image.json"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    with pytest.raises(NetworkError, match="not a text"):
        load_network(binary)


def test_a_save_that_cannot_happen_raises_and_leaves_nothing(tmp_path):
    folder = tmp_path / "blocker"
    folder.mkdir()
    with pytest.raises(OSError):
        Network((PoolLayer(),)).save(folder)  # a folder cannot be replaced by a file
    assert folder.is_dir() and not any(folder.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]  # no temp file left
