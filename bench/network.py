"""How fast ``run_network`` runs a filter bank, against the raw OpenCV floor, in one process.

Run with ``python -m bench.network`` (or ``python bench/network.py``) from the project root.

1. A bank of 32 3x3 filters + ReLU + 2x2 max pool on a 28x28 digit (target: <= 1 ms).
2. The same bank ('same' padding, zero border) on a 640x480 frame, next to the floor: 32
   ``cv2.filter2D`` calls into preallocated planes, each max-pooled into a preallocated
   output (no ReLU, no validation, no bookkeeping). Target: ratio <= 1.25. ``run_network``
   leaves the full-size ReLU map to be computed when read (ReLU commutes with max pooling);
   a second row computes every map now (``lazy=False``) and reads them all, as a batch or
   a window showing all layers does.
3. The two-layer example network (``two-layer-field``) at 640x480.

Engine and floor runs are interleaved (alternating which goes first). Not part of the test
run: it prints figures and never fails.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

import cv2
import numpy as np

if __package__ in (None, ""):  # run as a script: make `core` and `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.core import interleaved_medians, median_time
from core.network import ActivationLayer, ConvLayer, Network, PoolLayer, run_network
from core.network.presets import FIELD_EXAMPLE, KERAS_EXAMPLE, build_preset, keras_bank

DIGIT_TARGET_MS = 1.0
TARGET_RATIO = 1.25


def digit() -> np.ndarray:
    """A 28x28 handwritten-looking 7 in [0, 1], like an MNIST digit."""
    image = np.zeros((28, 28), np.uint8)
    cv2.polylines(image, [np.array([[7, 7], [21, 7], [12, 23]])], False, 255, 2, cv2.LINE_AA)
    return image.astype(np.float32) / 255


def bank_network(padding: str) -> Network:
    return Network(
        (
            ConvLayer(keras_bank(), padding=padding, name="conv"),
            ActivationLayer("relu", name="relu"),
            PoolLayer("max", 2, name="pool"),
        )
    )


class Floor:
    """32 filter2D calls into preallocated planes, each 2x2 max-pooled into its output."""

    def __init__(self, frame: np.ndarray, weights: np.ndarray) -> None:
        h, w = frame.shape
        self.frame = frame
        self.kernels = [np.ascontiguousarray(k) for k in weights[:, 0]]
        self.conv = np.empty((len(weights), h, w), np.float32)
        self.pooled = np.empty((len(weights), h // 2, w // 2), np.float32)

    def __call__(self) -> np.ndarray:
        for o, kernel in enumerate(self.kernels):
            plane = self.conv[o]
            cv2.filter2D(self.frame, -1, kernel, dst=plane, borderType=cv2.BORDER_CONSTANT)
            np.maximum(plane[0::2, 0::2], plane[0::2, 1::2], out=self.pooled[o])
            np.maximum(self.pooled[o], plane[1::2, 0::2], out=self.pooled[o])
            np.maximum(self.pooled[o], plane[1::2, 1::2], out=self.pooled[o])
        return self.pooled


def read_every_map(image: np.ndarray, network: Network) -> None:
    for output in run_network(image, network, lazy=False):
        output.map  # noqa: B018


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40, help="timed runs (default 40)")
    args = parser.parse_args(argv)
    print(
        f"numpy {np.__version__}, OpenCV {cv2.__version__} ({cv2.getNumThreads()} threads), "
        f"median of {args.repeats} runs"
    )

    small = digit()
    keras = build_preset(KERAS_EXAMPLE)
    digit_s = median_time(partial(run_network, small, keras), args.repeats * 10)
    digit_all_s = median_time(partial(read_every_map, small, keras), args.repeats * 10)
    shapes = " -> ".join("x".join(map(str, o.map.shape)) for o in run_network(small, keras))
    print(f"28x28 digit, {KERAS_EXAMPLE} ({shapes}):")
    verdict = "within" if digit_s * 1e3 <= DIGIT_TARGET_MS else "OVER"
    print(
        f"  run_network {digit_s * 1e3:.3f} ms ({verdict} the {DIGIT_TARGET_MS} ms target); "
        f"every map (lazy=False) {digit_all_s * 1e3:.3f} ms"
    )

    rng = np.random.default_rng(0)
    frame = rng.uniform(0, 1, (480, 640)).astype(np.float32)
    network = bank_network("same")
    floor = Floor(frame, network.layers[0].weights)
    engine_pooled = run_network(frame, network)[-1].map
    if not np.allclose(engine_pooled, np.maximum(floor(), 0).transpose(1, 2, 0), atol=1e-5):
        raise SystemExit("the engine and the floor disagree; the comparison is void")
    engine_s, floor_s = interleaved_medians(
        partial(run_network, frame, network), floor, args.repeats
    )
    all_s, floor2_s = interleaved_medians(
        partial(read_every_map, frame, network), floor, args.repeats
    )
    print("640x480, 32 3x3 filters ('same') + ReLU + 2x2 max pool:")
    print(f"  OpenCV floor            {floor_s * 1e3:7.2f} ms")
    ratio = engine_s / floor_s
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(
        f"  run_network             {engine_s * 1e3:7.2f} ms  ratio {ratio:.2f} "
        f"({verdict} the {TARGET_RATIO} target)"
    )
    print(
        f"  every map (lazy=False)  {all_s * 1e3:7.2f} ms  ratio {all_s / floor2_s:.2f} "
        f"(floor {floor2_s * 1e3:.2f} ms in that run)"
    )

    field = build_preset(FIELD_EXAMPLE)
    field_s = median_time(partial(run_network, frame, field), args.repeats)
    field_all_s = median_time(partial(read_every_map, frame, field), args.repeats)
    shapes = " -> ".join("x".join(map(str, o.map.shape)) for o in run_network(frame, field))
    print(f"640x480, {FIELD_EXAMPLE} ({shapes}):")
    print(
        f"  run_network {field_s * 1e3:.2f} ms; every map (lazy=False) {field_all_s * 1e3:.2f} ms"
    )


if __name__ == "__main__":
    main()
