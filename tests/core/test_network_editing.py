"""Editing a network (Qt-free): summaries against hand computations, refitting, reconfiguring."""

from __future__ import annotations

import numpy as np
import pytest

from core.network import ActivationLayer, ConvLayer, Network, NetworkError, PoolLayer, editing
from core.network.presets import FIELD_EXAMPLE, KERAS_EXAMPLE, build_preset, list_presets


def conv(out_c, in_c, k=3, name="c", **options):
    return ConvLayer(np.ones((out_c, in_c, k, k), np.float32), name=name, **options)


def test_summary_of_the_lecture_networks_matches_hand_computation():
    keras = editing.example_network(KERAS_EXAMPLE, 1)
    rows = editing.summarize(keras, (28, 28), 1)
    assert [r.output_shape for r in rows] == [(26, 26, 32), (26, 26, 32), (13, 13, 32)]
    assert [r.parameters for r in rows] == [32 * 9 + 32, 0, 0]
    two = editing.example_network(FIELD_EXAMPLE, 1)
    rows = editing.summarize(two, (28, 28), 1)
    # Fields by hand: 3; 3 + (2 - 1) = 4; 4 + (3 - 1) * 2 = 8; 8 + (2 - 1) * 2 = 10.
    assert [r.field for r in rows] == [(3, 3), (3, 3), (4, 4), (8, 8), (8, 8), (10, 10)]
    assert [r.output_shape for r in rows][-1] == (5, 5, 8)  # 28-2=26, 13, 11, 5
    assert rows[3].parameters == 8 * 4 * 9 + 8  # 8 filters over the 4 line maps
    assert all(r.problem is None for r in rows)


def test_summary_names_the_first_layer_that_cannot_run():
    network = Network((conv(4, 3, padding="valid"), PoolLayer(size=4, name="p")))
    rows = editing.summarize(network, (10, 10), 1)
    assert rows[0].problem == "takes 3 input channel(s), gets 1"
    assert rows[1].problem == "cannot run: c does not" and rows[1].output_shape is None
    rows = editing.summarize(network, (5, 5), 3)  # 3x3 map, 4x4 pool
    assert rows[0].output_shape == (3, 3, 4) and rows[0].problem is None
    assert rows[1].problem == "the map before it is too small for it"


def test_describe_layer():
    assert editing.describe_layer(conv(8, 3, 5, padding=2, dilation=2, border="wrap")) == (
        "8 filters 5x5x3, stride 1, pad 2, dilation 2, wrap border"
    )
    assert editing.describe_layer(PoolLayer("avg", 3, 2)) == "avg 3x3, stride 2"
    assert editing.describe_layer(ActivationLayer("tanh")) == "tanh"


def test_resize_kernels_keeps_the_anchor_cell():
    weights = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    grown = editing.resize_kernels(weights, 5, 5)
    expected = np.zeros((5, 5))
    expected[1:4, 1:4] = weights[0, 0]
    assert np.array_equal(grown[0, 0], expected)
    assert np.array_equal(editing.resize_kernels(grown, 3, 3), weights)
    assert np.array_equal(editing.resize_kernels(weights, 1, 1)[0, 0], [[4.0]])
    # Even sizes: the anchor (k // 2) stays on the anchor, as OpenCV places a kernel.
    even = editing.resize_kernels(weights, 4, 4)[0, 0]
    assert even[2, 2] == 4.0 and even[1, 1] == 0.0 and even[3, 3] == 8.0


def test_fit_channels_keeps_slices_and_adds_he_random_ones():
    rng = np.random.default_rng(0)
    first = conv(5, 1, name="a")
    second = ConvLayer(np.full((2, 3, 3, 3), 7.0), name="b")
    network, notes = editing.fit_channels([first, second], 1, rng)
    refit = network.layers[1]
    assert refit.weights.shape == (2, 5, 3, 3)
    assert (refit.weights[:, :3] == 7.0).all()
    assert not (refit.weights[:, 3:] == 7.0).any()
    assert notes == ["b now takes 5 input channel(s); its 2 new slice(s) start He-random"]
    network, notes = editing.fit_channels([conv(2, 1, name="a"), second], 1, rng)
    assert network.layers[1].weights.shape == (2, 2, 3, 3) and notes == [
        "b now takes 2 input channel(s)"
    ]


def test_he_weights_have_the_he_spread():
    weights = editing.he_weights(np.random.default_rng(1), 64, 16, 3, 3)
    assert weights.dtype == np.float32
    assert weights.std() == pytest.approx(np.sqrt(2 / (16 * 9)), rel=0.03)
    assert abs(weights.mean()) < 0.01


def test_insert_remove_move_replace():
    network = Network((conv(2, 1, name="a"), ActivationLayer(name="r")), name="n")
    added, _ = editing.insert_layer(network, 1, PoolLayer(name="p"), 1)
    assert [layer.name for layer in added] == ["a", "p", "r"] and added.name == "n"
    moved, _ = editing.move_layer(added, 2, 0, 1)
    assert [layer.name for layer in moved] == ["r", "a", "p"]
    removed, _ = editing.remove_layer(moved, 1, 1)
    assert [layer.name for layer in removed] == ["r", "p"]
    replaced, _ = editing.replace_layer(removed, 0, ActivationLayer("abs", name="r"), 1)
    assert replaced.layers[0].function == "abs"
    with pytest.raises(NetworkError, match="at least one layer"):
        editing.remove_layer(Network((PoolLayer(name="p"),)), 0, 1)
    with pytest.raises(NetworkError, match="own, non-empty name"):
        editing.insert_layer(network, 0, PoolLayer(name="a"), 1)
    with pytest.raises(NetworkError):
        editing.move_layer(network, 0, 5, 1)


def test_reconfigure():
    rng = np.random.default_rng(2)
    layer = ConvLayer(np.ones((3, 2, 3, 3)), bias=[1, 2, 3], name="c")
    fewer = editing.reconfigure(layer, "filters", 2, rng)
    assert fewer.weights.shape == (2, 2, 3, 3) and list(fewer.bias) == [1, 2]
    more = editing.reconfigure(layer, "filters", 5, rng)
    assert list(more.bias) == [1, 2, 3, 0, 0] and (more.weights[:3] == 1).all()
    assert editing.reconfigure(layer, "stride", 2).stride == 2
    with pytest.raises(NetworkError, match="stride must be between"):
        editing.reconfigure(layer, "stride", 0)
    with pytest.raises(NetworkError, match="no setting"):
        editing.reconfigure(layer, "function", "relu")
    with pytest.raises(NetworkError, match="needs a name"):
        editing.reconfigure(layer, "name", "  ")
    pool = PoolLayer("max", 2, name="p")
    assert editing.reconfigure(pool, "size", 3).stride == 3  # the stride followed the size
    assert editing.reconfigure(PoolLayer("max", 2, 1, name="p"), "size", 3).stride == 1
    fresh = editing.rerandomized(layer, rng)
    assert fresh.weights.shape == layer.weights.shape and not fresh.bias.any()


def test_banks_and_names_and_channels():
    bank = editing.bank_conv("edges", 3, name="edges")
    assert bank.weights.shape == (7, 3, 3, 3)
    assert np.array_equal(bank.weights[0, 2], [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    with pytest.raises(NetworkError):
        editing.bank_conv("no such bank", 1)
    assert editing.unique_name("conv", ["conv1", "conv2", "relu1"]) == "conv3"
    network = Network((PoolLayer(name="p"), conv(6, 3, name="a"), conv(2, 6, name="b")))
    assert [editing.channels_at(network, i, 3) for i in range(4)] == [3, 3, 6, 2]
    for name, _lesson in list_presets():
        fitted = editing.example_network(name, 3)
        assert len(fitted) >= 3 and fitted.layers[0].in_channels == 3
        # The preset's own filters are kept for the first channel.
        np.testing.assert_array_equal(
            fitted.layers[0].weights[:, 0], build_preset(name).layers[0].weights[:, 0]
        )
    with pytest.raises(NetworkError):
        editing.example_network("nope")
