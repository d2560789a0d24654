"""Receptive fields fold layer by layer: hand computations, and which pixels really matter."""

from __future__ import annotations

import numpy as np
import pytest

from core.network import (
    ActivationLayer,
    ConvLayer,
    Network,
    PoolLayer,
    network_geometry,
    run_network,
)


def ones(out_c, in_c, k):
    return np.ones((out_c, in_c, k, k), np.float32)


def test_lecture_conv3_pool2_conv3_pool2_fields_are_3_4_8_10():
    network = Network(
        (
            ConvLayer(ones(4, 1, 3), padding="valid", name="c1"),
            PoolLayer("max", 2, name="p1"),
            ConvLayer(ones(8, 4, 3), padding="valid", name="c2"),
            PoolLayer("max", 2, name="p2"),
        )
    )
    geometry = network_geometry((28, 28), network)
    assert [g.field for g in geometry] == [(3, 3), (4, 4), (8, 8), (10, 10)]
    assert [g.step for g in geometry] == [1, 2, 2, 4]
    assert [g.shape for g in geometry] == [(26, 26), (13, 13), (11, 11), (5, 5)]
    assert all(g.field_origin == (0, 0) for g in geometry)  # valid padding: nothing outside


@pytest.mark.parametrize(
    ("layers", "fields", "steps", "origins"),
    [
        # stride 2 then a 3x3: the second sees 3 + (3 - 1) * 2 = 7
        ([("conv", 3, 2, 1, "valid"), ("conv", 3, 1, 1, "valid")], [3, 7], [2, 2], [0, 0]),
        # dilation 2: a 3x3 spans 5; then a pool of 2 at step 1: 6
        ([("conv", 3, 1, 2, "valid"), ("pool", 2, 2)], [5, 6], [1, 2], [0, 0]),
        # 'same' at stride 2 on 40 pads (0, 1) (Keras: the odd one after); the next pads 1 step
        ([("conv", 3, 2, 1, "same"), ("conv", 3, 1, 1, "same")], [3, 7], [2, 2], [0, -2]),
        # explicit padding of 2 and a 5x5
        ([("conv", 5, 1, 1, 2)], [5], [1], [-2]),
        # 'full': pads k - 1
        ([("conv", 3, 1, 1, "full"), ("pool", 3, 1)], [3, 5], [1, 1], [-2, -2]),
        # overlapping pool (size 3, stride 2) after a stride-2 conv
        ([("conv", 3, 2, 1, "valid"), ("pool", 3, 2), ("conv", 1, 1, 1, "valid")],
         [3, 7, 7], [2, 4, 4], [0, 0, 0]),
    ],
)  # fmt: skip
def test_fields_steps_and_origins_by_hand(layers, fields, steps, origins):
    built, channels = [], 1
    for i, spec in enumerate(layers):
        if spec[0] == "conv":
            _, k, stride, dilation, padding = spec
            built.append(
                ConvLayer(ones(2, channels, k), None, stride, padding, dilation, name=f"l{i}")
            )
            channels = 2
        else:
            built.append(PoolLayer("max", spec[1], spec[2], name=f"l{i}"))
    geometry = network_geometry((40, 40), Network(tuple(built)))
    assert [g.field[0] for g in geometry] == fields
    assert [g.step for g in geometry] == steps
    assert [g.field_origin[0] for g in geometry] == origins
    outs = run_network(np.zeros((40, 40), np.float32), Network(tuple(built)))
    assert [o.map.shape[:2] for o in outs] == [g.shape for g in geometry]


def test_activation_keeps_the_geometry_before_it():
    network = Network((ConvLayer(ones(1, 1, 3), name="c"), ActivationLayer(name="a")))
    conv, act = network_geometry((10, 10), network)
    assert conv == act


def test_fields_are_the_pixels_each_unit_depends_on():
    """Perturb each input pixel: exactly the pixels inside a unit's field change it.

    A linear network with positive weights (avg pools, no activation) lets every pixel of the
    field through, so the field computed by folding must equal the dependence measured.
    """
    rng = np.random.default_rng(0)
    network = Network(
        (
            ConvLayer(rng.uniform(0.5, 1, (2, 1, 3, 4)).astype(np.float32), None, 1, "same",
                      1, name="c1"),
            PoolLayer("avg", 2, name="p1"),
            ConvLayer(rng.uniform(0.5, 1, (2, 2, 3, 3)).astype(np.float32), None, 2, "valid", 2,
                      name="c2"),
            PoolLayer("avg", 2, 1, name="p2"),
        )
    )  # fmt: skip
    image = rng.uniform(size=(23, 21)).astype(np.float32)
    base = [o.map.copy() for o in run_network(image, network)]
    changed = [np.zeros((*b.shape[:2], *image.shape), bool) for b in base]
    for y in range(image.shape[0]):
        for x in range(image.shape[1]):
            poked = image.copy()
            poked[y, x] += 1
            for i, out in enumerate(run_network(poked, network)):
                changed[i][:, :, y, x] = np.abs(out.map - base[i]).max(axis=2) > 1e-4
    for i, geometry in enumerate(network_geometry(image.shape, network)):
        for row in range(geometry.shape[0]):
            for col in range(geometry.shape[1]):
                top, left, h, w = geometry.receptive_field(row, col)
                expected = np.zeros(image.shape, bool)
                expected[max(top, 0) : top + h, max(left, 0) : left + w] = True
                np.testing.assert_array_equal(changed[i][row, col], expected)
