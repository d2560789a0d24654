"""The batch model against the network engine, its whole-network gradients, initialisation
and the presets."""

from __future__ import annotations

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
    run_network,
)
from core.nn import ops
from core.nn.model import Model
from core.nn.presets import FIRST_CONV_SCALE, as_classifier, preset_network
from tests.core.test_nn_ops import numeric_gradient, relative_error


def mixed_network(seed: int = 0) -> Network:
    """Every layer type and most options, with random weights."""
    rng = np.random.default_rng(seed)
    layers = (
        ConvLayer(rng.normal(size=(4, 1, 3, 3)), rng.normal(size=4), padding="same", name="c1"),
        ActivationLayer("leaky_relu", "a1"),
        PoolLayer("max", 2, name="p1"),
        ConvLayer(
            rng.normal(size=(5, 4, 3, 3)) * 0.3,
            stride=2,
            padding="same",
            border="reflect",
            name="c2",
        ),
        ActivationLayer("tanh", "a2"),
        ConvLayer(rng.normal(size=(3, 5, 2, 2)), padding=1, dilation=2, name="c3"),
        ActivationLayer("relu", "a3"),
        PoolLayer("avg", 2, stride=1, name="p2"),
        FlattenLayer("f"),
        DenseLayer(rng.normal(size=(6, 12)) * 0.5, rng.normal(size=6), name="d1"),
        ActivationLayer("sigmoid", "a4"),
        DenseLayer(rng.normal(size=(10, 6)), name="d2"),
        ActivationLayer("softmax", "out"),
    )
    return Network(layers)


def test_batch_forward_matches_run_network_per_image_for_every_layer():
    network = mixed_network()
    images = np.random.default_rng(1).random((3, 12, 12)).astype(np.float32)
    _, _, maps = Model(network).forward(images[..., None], fuse=False, keep=True)
    for n, image in enumerate(images):
        reference = run_network(image, network)
        for i, out in enumerate(reference[:-1]):  # the trailing softmax is the loss's part
            np.testing.assert_allclose(maps[i][n], out.map, rtol=1e-4, atol=1e-5, err_msg=out.name)
        probabilities = Model(network).predict(image[None, :, :, None])[0]
        np.testing.assert_allclose(probabilities, reference[-1].map, rtol=1e-4, atol=1e-6)


def test_fused_relu_after_pool_gives_the_same_logits_and_gradients():
    network = preset_network("default", seed=3)
    model = Model(network, dtype=np.float64)
    x = np.random.default_rng(2).random((4, 28, 28, 1))
    fused, fused_caches, _ = model.forward(x, fuse=True)
    plain, plain_caches, _ = model.forward(x, fuse=False)
    np.testing.assert_allclose(fused, plain, rtol=1e-12)
    assert [i for i, _ in fused_caches] != [i for i, _ in plain_caches]  # it did reorder
    probe = np.random.default_rng(3).normal(size=fused.shape)
    for a, b in zip(
        model.backward(probe, fused_caches)[0], model.backward(probe, plain_caches)[0], strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_whole_network_gradients_match_finite_differences():
    network = mixed_network(seed=4)
    model = Model(network, dtype=np.float64)
    rng = np.random.default_rng(5)
    x = rng.random((2, 12, 12, 1))
    labels = np.array([3, 7])

    def loss():
        return model.loss_and_gradients(x, labels)[0]

    _, grads, _ = model.loss_and_gradients(x, labels)
    for param, grad in zip(model.params, grads, strict=True):
        # A sample of each array's entries keeps the test fast.
        flat, gflat = param.reshape(-1), grad.reshape(-1)
        picks = rng.choice(flat.size, min(flat.size, 12), replace=False)
        numeric = []
        for k in picks:
            old = flat[k]
            flat[k] = old + 1e-6
            plus = loss()
            flat[k] = old - 1e-6
            minus = loss()
            flat[k] = old
            numeric.append((plus - minus) / 2e-6)
        assert relative_error(gflat[picks], np.array(numeric)) < 1e-5


def test_input_gradient_matches_finite_differences():
    model = Model(mixed_network(seed=6), dtype=np.float64)
    x = np.random.default_rng(7).random((1, 12, 12, 1))
    logits, caches, _ = model.forward(x, fuse=False)
    seed = np.zeros_like(logits)
    seed[0, 2] = 1.0
    _, grad = model.backward(seed, caches, input_grad=True)
    numeric = numeric_gradient(lambda: model.forward(x)[0][0, 2], x)
    assert relative_error(grad, numeric) < 1e-5


def test_to_network_copies_the_weights():
    model = Model(preset_network())
    copy = model.to_network()
    model.params[0] += 1.0
    assert not np.allclose(copy.layers[0].weights, model.params[0])
    np.testing.assert_array_equal(Model(copy).params[0] + 1.0, model.params[0])


def test_presets_start_small_first_conv_and_he_elsewhere():
    network = preset_network("default", seed=0)
    conv1, conv2 = network.layer("conv1"), network.layer("conv2")
    he1, he2 = np.sqrt(2 / 9), np.sqrt(2 / 72)
    assert conv1.weights.std() == pytest.approx(FIRST_CONV_SCALE * he1, rel=0.3)
    assert conv2.weights.std() == pytest.approx(he2, rel=0.15)
    assert [layer.kind for layer in network.layers][-3:] == ["flatten", "dense", "activation"]
    assert network.layers[-2].weights.shape == (10, 5 * 5 * 16)
    lecture = preset_network("lecture")
    assert lecture.layer("conv1").weights.shape == (32, 1, 3, 3)
    assert lecture.layers[-2].weights.shape == (10, 13 * 13 * 32)
    # Seeded: the same seed gives the same weights, another seed others.
    np.testing.assert_array_equal(preset_network(seed=0).layers[0].weights, conv1.weights)
    assert not np.array_equal(preset_network(seed=1).layers[0].weights, conv1.weights)


def test_as_classifier_adds_a_head_and_keeps_existing_weights():
    kernel = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    stack = Network((ConvLayer(kernel, name="edges"), PoolLayer("max", 2, name="pool")))
    classifier = as_classifier(stack)
    assert [layer.kind for layer in classifier.layers] == [
        "conv",
        "pool",
        "flatten",
        "dense",
        "activation",
    ]
    np.testing.assert_array_equal(classifier.layers[0].weights, kernel)
    assert classifier.layers[3].weights.shape == (10, 14 * 14 * 1)
    with pytest.raises(NetworkError, match="channels"):
        as_classifier(Network((ConvLayer(np.ones((2, 3, 3, 3))),)))
    wrong = Network((FlattenLayer("f"), DenseLayer(np.ones((4, 784)), name="d")))
    with pytest.raises(NetworkError, match="4 scores"):
        as_classifier(wrong)


def test_model_reports_a_dense_layer_of_the_wrong_size():
    network = Network((FlattenLayer("f"), DenseLayer(np.ones((10, 100)), name="fc")))
    with pytest.raises(NetworkError, match="fc"):
        Model(network).forward(np.zeros((1, 28, 28, 1)))


def test_softmax_helper_matches_direct_formula():
    x = np.random.default_rng(9).normal(size=(3, 10))
    np.testing.assert_allclose(
        ops.softmax(x), np.exp(x) / np.exp(x).sum(axis=1, keepdims=True), rtol=1e-12
    )
