"""The network engine: newest request wins, stale results never land, failures clear."""

from __future__ import annotations

import numpy as np

from core.network import Network, PoolLayer, run_network
from core.network.presets import KERAS_EXAMPLE, build_preset
from ui.messages import Messages
from ui.network_engine import NetworkEngine


def _engine(qtbot):
    messages = Messages()
    engine = NetworkEngine(messages)
    errors: list[str] = []
    messages.error.connect(lambda text, *_: errors.append(text))
    return engine, errors


def _wait(qtbot, engine) -> None:
    qtbot.waitUntil(lambda: not engine.is_busy(), timeout=10_000)


def test_only_the_newest_input_and_network_land(qtbot):
    engine, errors = _engine(qtbot)
    shown = []
    engine.result_changed.connect(shown.append)
    rng = np.random.default_rng(0)
    images = [rng.random((40, 40), dtype=np.float32) for _ in range(4)]
    engine.set_network(build_preset(KERAS_EXAMPLE))
    for image in images:  # a burst: each replaces the one before
        engine.set_input(image)
    last = build_preset("lines-4")
    engine.set_network(last)
    _wait(qtbot, engine)
    try:
        assert shown, "no result arrived"
        assert all(r.request.image is images[-1] and r.network is last for r in shown[-1:])
        assert engine.result.network is last and engine.result.request.image is images[-1]
        expected = run_network(images[-1], last)
        np.testing.assert_allclose(engine.result.outputs[-1].map, expected[-1].map, atol=1e-6)
        assert errors == []
    finally:
        engine.shutdown()


def test_a_network_that_cannot_run_clears_and_reports(qtbot):
    engine, errors = _engine(qtbot)
    cleared = []
    engine.cleared.connect(cleared.append)
    engine.set_input(np.zeros((8, 8), np.float32))
    deep = Network(tuple(PoolLayer(size=2, name=f"p{i}") for i in range(5)))
    engine.set_network(deep)
    _wait(qtbot, engine)
    try:
        assert engine.result is None and cleared == ["not computed"]
        assert errors and errors[0].startswith("Cannot run the network")
    finally:
        engine.shutdown()


def test_selecting_a_map_reuses_the_run(qtbot):
    engine, _ = _engine(qtbot)
    image = np.random.default_rng(1).random((28, 28), dtype=np.float32)
    engine.set_network(build_preset(KERAS_EXAMPLE))
    engine.set_input(image)
    _wait(qtbot, engine)
    first = engine.result
    selections = []
    engine.selection_changed.connect(selections.append)
    engine.select((2, 7))
    _wait(qtbot, engine)
    try:
        assert len(selections) == 1 and engine.result.outputs is first.outputs  # not re-run
        view = engine.result.selected_view
        np.testing.assert_array_equal(view.data, first.outputs[2].map[:, :, 7])
    finally:
        engine.shutdown()


def test_live_frames_clear_the_still_images_network_once(qtbot):
    engine, _ = _engine(qtbot)
    cleared = []
    engine.cleared.connect(cleared.append)
    engine.set_network(build_preset(KERAS_EXAMPLE))
    engine.set_input(np.zeros((28, 28), np.float32))
    _wait(qtbot, engine)
    try:
        assert engine.result is not None
        for _ in range(3):  # one call per live frame
            engine.set_input(None)
        assert engine.result is None and cleared == ["no still image"]
    finally:
        engine.shutdown()
