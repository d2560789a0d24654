"""Reading one small layer from a large model file: time and memory, per format.

Run with ``python bench/model_import.py`` from the project root. For each format it writes a
model holding a small first conv layer ("first", 8x3x3x3) and one large one ("big", 400 MB of
float32 by default), then, in a fresh interpreter, lists the layers and reads "first", and
prints the wall time and the peak resident memory (Linux VmHWM) above the interpreter's own
baseline. A reader that reads only the chosen layer stays far below the file's size; one that
loads the file costs about its size (plain ``onnx.load`` peaked at twice it).

PyTorch files cannot be written without PyTorch; pass one made by hand with ``--torch PATH``
(a state_dict with a small conv "first" and anything large), e.g. in a scratch venv::

    torch.save({"first.weight": torch.zeros(8, 3, 3, 3),
                "big.weight": torch.zeros(2048, 2048, 5, 5)}, "/tmp/big.pt")

Not part of the test run: it prints figures and never fails.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

MEASURE = """
import sys, time
sys.path.insert(0, {root!r})
import core.models as models
from core.models import list_conv_layers, read_conv_layer
# Import every reader before the baseline, so that only reading is measured.
from core.models import keras_files, numpy_files, onnx_files, safetensors_files, torch_files
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent through fork + exec.
def peak_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
base = peak_kb()
start = time.perf_counter()
names = [info.name for info in list_conv_layers({path!r})]
layer = read_conv_layer({path!r}, "first")
elapsed = time.perf_counter() - start
peak = peak_kb()
print(f"{{elapsed:.3f}} {{(peak - base) / 1024:.1f}} {{len(names)}}")
"""


def big_weights(megabytes: int) -> np.ndarray:
    out_channels = max(1, megabytes * 1024 * 1024 // (2048 * 25 * 4))
    return np.ones((out_channels, 2048, 5, 5), np.float32)


def first_weights() -> np.ndarray:
    return np.arange(8 * 3 * 3 * 3, dtype=np.float32).reshape(8, 3, 3, 3) / 100


def write_safetensors(path: Path, big: np.ndarray) -> None:
    from safetensors.numpy import save_file

    save_file({"first.weight": first_weights(), "big.weight": big}, path)


def write_npz(path: Path, big: np.ndarray) -> None:
    np.savez(path, **{"first.weight": first_weights(), "big.weight": big})


def write_keras_weights(path: Path, big: np.ndarray) -> None:
    import h5py

    with h5py.File(path, "w") as f:
        for key, name, weights in (("conv2d", "first", first_weights()), ("conv2d_1", "big", big)):
            group = f.create_group(f"layers/{key}/vars")
            group.attrs["name"] = name
            group.create_dataset("0", data=weights.transpose(2, 3, 1, 0))


def write_onnx(path: Path, big: np.ndarray) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Conv", ["x", "first.weight"], ["a"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "big",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 8, 8])],
        initializer=[
            numpy_helper.from_array(first_weights(), "first.weight"),
            numpy_helper.from_array(big, "big.weight"),
        ],
    )
    onnx.save(helper.make_model(graph), path)


WRITERS = {
    "model.safetensors": write_safetensors,
    "model.npz": write_npz,
    "model.weights.h5": write_keras_weights,
    "model.onnx": write_onnx,
}


def measure(path: Path) -> tuple[float, float]:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE.format(root=str(ROOT), path=str(path))],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    seconds, megabytes, _ = done.stdout.split()
    return float(seconds), float(megabytes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=400, help="size of the big layer")
    parser.add_argument("--torch", type=Path, help="a large torch.save state_dict to measure too")
    args = parser.parse_args()
    big = big_weights(args.megabytes)
    print(f"big layer {big.shape}, {big.nbytes / 2**20:.0f} MB; reading the small layer only")
    print(f"{'file':<20} {'size MB':>8} {'list+read s':>12} {'peak RSS +MB':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for name, write in WRITERS.items():
            path = Path(tmp) / name
            write(path, big)
            files.append(path)
        del big
        if args.torch is not None:
            files.append(args.torch)
        for path in files:
            seconds, megabytes = measure(path)
            size = path.stat().st_size / 2**20
            print(f"{path.name:<20} {size:>8.0f} {seconds:>12.3f} {megabytes:>13.1f}")


if __name__ == "__main__":
    main()
