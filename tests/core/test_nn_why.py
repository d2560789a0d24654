"""Ask the model why: probabilities, maps, saliency and Grad-CAM against independent
computations with the network engine."""

from __future__ import annotations

import numpy as np
import pytest

from core.network import (
    ActivationLayer,
    ConvLayer,
    DenseLayer,
    FlattenLayer,
    Network,
    PoolLayer,
    run_network,
)
from core.nn.presets import preset_network
from core.nn.why import ask_why


def digit(seed: int = 0) -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    image[6:22, 12:16] = 1.0  # a "1"
    image += np.random.default_rng(seed).random((28, 28)).astype(np.float32) * 0.1
    return image


def test_probabilities_and_maps_match_run_network():
    network = preset_network(seed=2)
    image = digit()
    why = ask_why(network, image, preprocess=False)
    reference = run_network(image, network)
    assert [o.name for o in why.outputs] == [o.name for o in reference]
    for mine, theirs in zip(why.outputs, reference, strict=True):
        np.testing.assert_allclose(mine.map, theirs.map, rtol=1e-4, atol=1e-5)
        assert (mine.geometry is None) == (theirs.geometry is None)
        if mine.geometry is not None:
            assert mine.geometry.shape == theirs.geometry.shape
    np.testing.assert_allclose(why.probabilities, reference[-1].map, rtol=1e-4, atol=1e-6)
    assert why.target == why.predicted == int(reference[-1].map.argmax())


def test_saliency_is_the_input_gradient_of_the_class_score():
    network = preset_network(seed=3)
    image = digit(1)
    target = 4
    why = ask_why(network, image, preprocess=False, target=target)
    assert why.target == target

    def score(x):  # the logit: the dense layer's output, computed by the engine
        return float(run_network(x, network)[-2].map[target].astype(np.float64))

    # Finite differences through the engine (float32) at the pixels the saliency ranks highest
    # and a few others. ReLU and max-pool kinks can fall within a step, so only pixels whose
    # forward and backward differences agree (no kink crossed) are compared.
    rng = np.random.default_rng(0)
    order = np.argsort(why.saliency.ravel())[::-1]
    pixels = [divmod(int(k), 28) for k in order[:8]]
    pixels += [tuple(int(v) for v in rng.integers(0, 28, 2)) for _ in range(8)]
    eps, base = 1e-3, score(image)
    numeric = {}
    for r, c in pixels:
        plus, minus = image.copy(), image.copy()
        plus[r, c] += eps
        minus[r, c] -= eps
        forward, backward = (score(plus) - base) / eps, (base - score(minus)) / eps
        if abs(forward - backward) <= 0.01 * abs(forward) + 1e-5:
            numeric[(r, c)] = abs(forward + backward) / 2
    top = pixels[0]
    assert top in numeric and len(numeric) >= 8
    assert why.saliency[top] == 1.0
    for (r, c), value in numeric.items():
        assert why.saliency[r, c] == pytest.approx(value / numeric[top], abs=5e-3)


def test_gradcam_is_the_last_conv_maps_weighted_by_their_mean_gradient():
    # conv (2 channels, 3x3 valid) -> relu -> flatten -> dense: the gradient of a logit with
    # respect to the relu map is the dense row itself, so Grad-CAM can be computed by hand.
    rng = np.random.default_rng(4)
    conv = ConvLayer(rng.normal(size=(2, 1, 3, 3)), rng.normal(size=2) * 0.1, padding="valid")
    dense = rng.normal(size=(10, 26 * 26 * 2))
    network = Network(
        (conv, ActivationLayer("relu", "relu"), FlattenLayer("f"), DenseLayer(dense, name="d"))
    )
    image = digit(2)
    target = 7
    why = ask_why(network, image, preprocess=False, target=target)
    assert why.gradcam_layer == "relu"
    maps = run_network(image, network)[1].map  # (26, 26, 2)
    weights = dense[target].reshape(26, 26, 2).mean(axis=(0, 1))
    cam = np.maximum(maps @ weights, 0)
    expected = cam / cam.max()
    # Unit (r, c) of a valid 3x3 conv is centred on input pixel (r + 1, c + 1).
    np.testing.assert_allclose(why.gradcam[1:27, 1:27], expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(why.gradcam[0, 1:27], expected[0], atol=1e-5)  # edge: replicate


def test_gradcam_follows_pooling_geometry():
    # After a 2x2 pool, unit (r, c) covers input pixels 2r..2r+1: its centre is 2r + 0.5.
    conv = ConvLayer(np.ones((1, 1, 1, 1)), padding="valid", name="c")
    network = Network(
        (
            conv,
            PoolLayer("max", 2, name="p"),
            FlattenLayer("f"),
            DenseLayer(np.ones((10, 196)), name="d"),
        )
    )
    image = np.zeros((28, 28), np.float32)
    image[10:12, 20:22] = 1.0  # exactly one pooled unit, (5, 10), is lit
    why = ask_why(network, image, preprocess=False)
    assert why.gradcam_layer == "c"  # the conv map itself (no activation after it)
    peak = np.unravel_index(np.argmax(why.gradcam), why.gradcam.shape)
    assert why.gradcam[10:12, 20:22].min() == pytest.approx(1.0, abs=0.3)
    assert 10 <= peak[0] <= 11 and 20 <= peak[1] <= 21


def test_ask_why_preprocesses_any_picture():
    paper = np.full((120, 90, 3), 240, np.uint8)
    paper[20:100, 40:52] = 20  # a dark "1" on light paper, in colour
    why = ask_why(preset_network(), paper)
    assert why.digit.shape == (28, 28)
    assert why.digit[14, 14] > 0.5 and why.digit[0, 0] == 0
    assert why.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert why.saliency.shape == why.gradcam.shape == (28, 28)


def test_a_uint8_test_example_is_scaled_to_unit_range():
    network = preset_network(seed=5)
    image = (digit(3) / 1.1 * 255).astype(np.uint8)
    why = ask_why(network, image, preprocess=False)
    np.testing.assert_allclose(why.digit, image / 255.0, atol=1e-6)
    reference = run_network(image / np.float32(255), network)[-1].map
    np.testing.assert_allclose(why.probabilities, reference, rtol=1e-4, atol=1e-6)


def test_no_conv_layer_means_no_gradcam():
    network = Network((FlattenLayer("f"), DenseLayer(np.ones((10, 784)) * 0.01, name="d")))
    why = ask_why(network, digit(), preprocess=False)
    assert why.gradcam is None and why.saliency.shape == (28, 28)
    with pytest.raises(ValueError, match="class 12"):
        ask_why(network, digit(), preprocess=False, target=12)
