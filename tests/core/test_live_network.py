"""Live mode with a network: each frame runs the whole network, its grids are drawn in the
worker (pixel for pixel what ``views.layer_grid`` draws), filters once per network, and the
single-layer path is unchanged without one."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from scipy.signal import correlate2d

from core.images import to_grayscale
from core.kernels import Kernel
from core.live import LiveParams, layer_record_key, process_frame, recordable_panes
from core.live.session import LiveSession
from core.live.snapshot import write_network_snapshot
from core.network import ActivationLayer, ConvLayer, Network, PoolLayer, load_network, run_network
from core.network.display import network_grids
from core.network.presets import build_preset
from core.network.views import layer_grid
from core.pipeline import PipelineSettings
from core.sources import Frame, SyntheticSource


def _frame(rng: np.random.Generator, size=(40, 52), index: int = 3) -> Frame:
    return Frame(rng.integers(0, 256, (*size, 3), dtype=np.uint8), index, 0.0)


def _bank(rng, count: int = 6, in_channels: int = 1) -> Network:
    weights = rng.normal(size=(count, in_channels, 3, 3)).astype(np.float32)
    return Network(
        (
            ConvLayer(weights, rng.normal(size=count).astype(np.float32), name="conv1"),
            ActivationLayer("relu", name="relu1"),
            PoolLayer("max", 2, name="pool1"),
        )
    )


def _params(network=None, **kwargs) -> LiveParams:
    return LiveParams(Kernel(np.ones((3, 3)) / 9.0), PipelineSettings(), network=network, **kwargs)


def test_a_network_frame_holds_every_layer_checked_against_scipy():
    rng = np.random.default_rng(4)
    frame = _frame(rng)
    network = _bank(rng)
    result = process_frame(frame, _params(network, selected=(0, 2)))
    assert result.network_error is None and result.network is not None
    gray = to_grayscale(frame.image.astype(np.float32) / 255.0)
    expected = run_network(gray, network, lazy=False)
    got = result.network.outputs
    assert [o.name for o in got] == ["conv1", "relu1", "pool1"]
    for mine, theirs in zip(got, expected, strict=True):
        assert mine.map.shape == theirs.map.shape and mine.map.dtype == np.float32
        assert np.allclose(mine.map, theirs.map, atol=1e-5)
    # One channel by an independent reference: 'same' padding with zeros, then ReLU, 2x2 max.
    layer = network.layers[0]
    conv = correlate2d(gray.astype(np.float64), layer.weights[4, 0], mode="same") + layer.bias[4]
    assert np.allclose(got[0].map[:, :, 4], conv, atol=1e-4)
    relu = np.maximum(conv, 0)
    pooled = relu.reshape(20, 2, 26, 2).max(axis=(1, 3))
    assert np.allclose(got[2].map[:, :, 4], pooled, atol=1e-4)
    # The selected map's pane view, for the convolution pane.
    assert np.allclose(result.network.selected_view.data, got[0].map[:, :, 2])
    # The single layer still runs (its panes, hover and saves keep working).
    assert result.processed.result.conv.shape[:2] == (40, 52)


def test_live_grids_are_the_views_grids_and_filters_are_drawn_once():
    rng = np.random.default_rng(5)
    network = _bank(rng, count=7)
    first = process_frame(_frame(rng, (130, 250)), _params(network, grid_side=50)).network
    second = process_frame(_frame(rng, (130, 250)), _params(network, grid_side=50)).network
    for output, grid in zip(first.outputs, first.grids, strict=True):
        reference = layer_grid(output.map, max_side=50)
        assert grid.layout == reference.layout and grid.levels == reference.levels
        assert grid.colormap == reference.colormap
        assert np.array_equal(grid.rgb, reference.rgb)
    conv_layout = first.grids[0].layout
    assert conv_layout.count == 7 and conv_layout.step == 5  # ceil(250 / 50)
    assert conv_layout.cell_shape == (26, 50)
    assert first.grids[2].layout.step == 3 and first.grids[2].layout.cell_shape == (22, 42)
    # Filters: a grid for the conv layer only, the same picture for every frame.
    assert first.filters[1] is None and first.filters[2] is None
    assert first.filters[0] is not None and second.filters[0] is first.filters[0]
    # A one-channel bank wraps like its maps: filter k sits where map k does.
    assert first.filters[0].layout.columns == conv_layout.columns
    assert first.filters[0].layout.count == 7


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_grids_of_maps_with_nan_or_inf_match_layer_grid(bad):
    rng = np.random.default_rng(6)
    network = _bank(rng, count=3)
    outputs = run_network(rng.random((20, 24)).astype(np.float32), network, lazy=False)
    outputs[0].map[3, 4, 1] = bad  # the relu grid then comes from its own map too
    outputs[1].map[3, 4, 1] = bad
    for output, grid in zip(outputs, network_grids(outputs, 10), strict=True):
        reference = layer_grid(output.map, max_side=10)
        assert grid.levels == reference.levels
        assert np.array_equal(grid.rgb, reference.rgb)


def test_without_a_network_the_single_layer_path_is_unchanged():
    rng = np.random.default_rng(7)
    frame = _frame(rng)
    plain = process_frame(frame, _params())
    assert plain.network is None and plain.network_error is None
    with_net = process_frame(frame, _params(_bank(rng)))
    assert np.array_equal(plain.processed.result.conv, with_net.processed.result.conv)
    for (a, la), (b, lb) in zip(plain.rendered, with_net.rendered, strict=True):
        assert la == lb and np.array_equal(a, b)


def test_a_network_that_cannot_run_leaves_the_single_layer_and_says_why():
    rng = np.random.default_rng(8)
    network = _bank(rng, in_channels=2)  # neither gray nor RGB
    result = process_frame(_frame(rng), _params(network))
    assert result.network is None
    assert "conv1" in result.network_error and "channel" in result.network_error
    assert result.processed is not None


def test_recording_a_layer_records_its_grid_as_displayed():
    rng = np.random.default_rng(9)
    network = _bank(rng)
    assert recordable_panes(None) == {"input": "Input", "conv": "Convolution", "pooled": "Pooled"}
    panes = recordable_panes(network)
    assert panes[layer_record_key(2)] == "Layer pool1" and len(panes) == 6
    result = process_frame(_frame(rng), _params(network, record=layer_record_key(2)))
    assert result.record is result.network.grids[2].rgb
    assert result.record.dtype == np.uint8 and result.record.shape[2] == 3
    # A layer key without a network (it was removed meanwhile) records nothing.
    assert process_frame(_frame(rng), _params(None, record=layer_record_key(2))).record is None


def test_a_snapshot_writes_every_layer_raw_and_as_a_grid_and_the_network(tmp_path):
    rng = np.random.default_rng(10)
    network = _bank(rng, count=5)
    result = process_frame(_frame(rng), _params(network)).network
    paths = write_network_snapshot(result, tmp_path, "live_frame000003")
    names = sorted(p.name for p in paths)
    assert names == sorted(
        [
            f"live_frame000003_network_{n}.{e}"
            for n in ("conv1", "relu1", "pool1")
            for e in ("npy", "png")
        ]
        + ["live_frame000003_network.json"]
    )
    shapes = {"conv1": (40, 52, 5), "relu1": (40, 52, 5), "pool1": (20, 26, 5)}
    for name, shape in shapes.items():
        raw = np.load(tmp_path / f"live_frame000003_network_{name}.npy")
        assert raw.shape == shape and raw.dtype == np.float32
    assert np.array_equal(
        np.load(tmp_path / "live_frame000003_network_pool1.npy"), result.outputs[2].map
    )
    png = cv2.imread(str(tmp_path / "live_frame000003_network_conv1.png"))
    assert png is not None and png.dtype == np.uint8 and png.shape[0] > 40
    again = load_network(tmp_path / "live_frame000003_network.json")
    assert np.array_equal(again.layers[0].weights, network.layers[0].weights)


def test_network_edits_while_streaming_reach_the_next_frames_and_stop_leaves_no_thread():
    before = set(threading.enumerate())
    rng = np.random.default_rng(11)
    first, second = _bank(rng, count=3), build_preset("two-layer-field")
    ready = threading.Event()
    source = SyntheticSource((64, 48))
    source.open()
    session = LiveSession(source, _params(first), on_ready=ready.set, on_ended=lambda _e: None)
    session.start()
    seen = []
    try:
        while len(seen) < 8:
            assert ready.wait(10.0), "no result within 10 s"
            ready.clear()
            item = session.take()
            if item is None:
                continue
            result, _stepped = item
            seen.append(result.network.network)
            if len(seen) == 3:
                session.set_params(_params(second))
    finally:
        session.stop()
    assert seen[0] is first and seen[-1] is second
    switched = seen.index(second)
    assert all(n is first for n in seen[:switched]) and all(n is second for n in seen[switched:])
    assert switched <= 4  # the frame in flight when the edit came, then the new network
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive()]
