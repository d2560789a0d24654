"""Preset filter banks and example networks: the shapes of the lecture and what each bank finds."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.kernels import preset
from core.network import ConvLayer, NetworkError, network_geometry, run_network
from core.network.presets import (
    FIELD_EXAMPLE,
    KERAS_EXAMPLE,
    build_preset,
    gabor_bank,
    he_bank,
    is_preset,
    line_bank,
    list_presets,
)


def test_every_preset_builds_and_has_a_one_line_lesson():
    names = [name for name, _ in list_presets()]
    assert {"lines-4", "lines-8", "edges", "gabor", KERAS_EXAMPLE, FIELD_EXAMPLE} <= set(names)
    for name, lesson in list_presets():
        assert lesson and "\n" not in lesson and lesson.endswith(".")
        assert name == name.lower() and " " not in name  # typed on a command line
        network = build_preset(name)
        assert network.name == name
        assert is_preset(name)
        outs = run_network(np.random.default_rng(0).uniform(size=(40, 40)), network)
        assert all(np.isfinite(o.map).all() for o in outs)


def test_keras_example_gives_the_lecture_shapes():
    outs = run_network(np.zeros((28, 28), np.float32), build_preset(KERAS_EXAMPLE))
    assert [o.map.shape for o in outs] == [(26, 26, 32), (26, 26, 32), (13, 13, 32)]
    weights = outs[0].layer.weights
    assert weights.shape == (32, 1, 3, 3)
    assert len({w.tobytes() for w in weights}) == 32  # 32 different filters
    np.testing.assert_array_equal(build_preset(KERAS_EXAMPLE).layers[0].weights, weights)


def test_two_layer_example_shows_the_field_growing():
    network = build_preset(FIELD_EXAMPLE)
    geometry = network_geometry((28, 28), network)
    spatial = [g for g, layer in zip(geometry, network, strict=True) if layer.kind != "activation"]
    assert [g.field[0] for g in spatial] == [3, 4, 8, 10]


def line_image(angle_deg: float, size: int = 21) -> np.ndarray:
    image = np.zeros((size, size), np.float32)
    c, t = size // 2, np.deg2rad(angle_deg)
    dx, dy = np.cos(t) * size, -np.sin(t) * size  # image rows grow downwards
    p1 = (round(c - dx), round(c - dy))
    p2 = (round(c + dx), round(c + dy))
    cv2.line(image, p1, p2, 1.0, 1)
    return image


@pytest.mark.parametrize("count", [4, 8])
def test_line_detectors_answer_most_to_their_own_orientation(count):
    bank = line_bank(count)
    assert bank.shape[:2] == (count, 1)
    np.testing.assert_allclose(bank.sum(axis=(1, 2, 3)), 0, atol=1e-5)  # flat areas give 0
    for k in range(count):
        angle = 180 * k / count
        if count == 8 and angle % 45:  # a 1-pixel line at 22.5 degrees is a staircase
            continue
        maps = run_network(line_image(angle), _single(ConvLayer(bank)))[0].map
        # strongest response anywhere away from the line's ends (the lecture's 3x3 kernels
        # answer beside the line, the 5x5 ridges on it)
        response = np.abs(maps[6:-6, 6:-6]).max(axis=(0, 1))
        assert int(np.argmax(response)) == k, (angle, response)


def _single(layer):
    from core.network import Network

    return Network((layer,))


def test_lines_4_are_the_lecture_kernels():
    names = ("horizontal-lines", "diagonal-45", "vertical-lines", "diagonal-135")
    for weights, name in zip(line_bank(4)[:, 0], names, strict=True):
        np.testing.assert_array_equal(weights, preset(name).effective)


def test_gabor_bank_orientations_and_scales():
    bank = gabor_bank(orientations=4, wavelengths=(4.0, 8.0))
    assert bank.shape[:2] == (8, 1)
    np.testing.assert_allclose(bank.sum(axis=(1, 2, 3)), 0, atol=1e-5)
    size = 64
    ys, xs = np.mgrid[:size, :size]
    for k in range(4):
        theta = np.pi * k / 4
        # a grating of wavelength 4 whose stripes the k-th filter of the first scale matches
        grating = np.cos(2 * np.pi * (xs * np.cos(theta) + ys * np.sin(theta)) / 4.0)
        maps = run_network(grating.astype(np.float32), _single(ConvLayer(bank)))[0].map
        energy = np.abs(maps[16:-16, 16:-16]).mean(axis=(0, 1))
        assert int(np.argmax(energy)) == k, energy


def test_he_banks_are_seeded_and_scaled():
    a, b = he_bank(2000, in_channels=2), he_bank(2000, in_channels=2)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2000, 2, 3, 3)
    assert abs(a.std() / np.sqrt(2 / 18) - 1) < 0.03
    assert abs(a.mean()) < 0.02
    assert build_preset("random-7").layers[0].weights.shape == (7, 1, 3, 3)


@pytest.mark.parametrize("name", ["random-0", "random-99999", "nope", "Lines-4"])
def test_unknown_presets_say_so(name):
    with pytest.raises(NetworkError, match=name):
        build_preset(name)
