"""Bad model files: each gives a ModelError with a clear message, and nothing else happens."""

from __future__ import annotations

import io
import json
import pickle
import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from safetensors.numpy import save_file

from core.models import ModelError, list_conv_layers, read_conv_layer, read_network

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = [
    "keras_model.keras",
    "keras3_legacy.h5",
    "keras.weights.h5",
    "tf_keras2_legacy.h5",
    "torch_state_dict.pt",
    "torch_legacy.pt",
    "torch_checkpoint.pth",
    "torch.safetensors",
    "model.onnx",
    "model_dynamo.onnx",
    "weights.npz",
    "conv1_weight.npy",
]


def read_everything(path: Path) -> None:
    for info in list_conv_layers(path):
        read_conv_layer(path, info.name)
    read_network(path)


@pytest.mark.parametrize("filename", GOOD)
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_file(tmp_path, filename, keep):
    data = (FIXTURES / filename).read_bytes()
    path = tmp_path / filename
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelError, match=filename.replace(".", r"\.")):
        read_everything(path)


@pytest.mark.parametrize(
    ("filename", "start", "message"),
    [
        ("keras_model.keras", -22, "damaged zip"),  # the zip's end-of-directory record
        ("torch_state_dict.pt", -22, "damaged zip"),
        ("weights.npz", -22, "damaged zip"),
        ("keras3_legacy.h5", 8, "not a readable HDF5"),  # the HDF5 superblock
        ("model.onnx", 0, "not a readable ONNX"),
        ("torch.safetensors", 0, "not a readable safetensors"),
    ],
)
def test_corrupt_file(tmp_path, filename, start, message):
    data = bytearray((FIXTURES / filename).read_bytes())
    start = start % len(data)
    data[start : start + 22] = b"\xff" * len(data[start : start + 22])
    path = tmp_path / filename
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=message):
        read_everything(path)


def test_empty_missing_and_folder(tmp_path):
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        list_conv_layers(tmp_path / "empty.pt")
    with pytest.raises(ModelError, match="no such file"):
        list_conv_layers(tmp_path / "missing.onnx")
    with pytest.raises(ModelError, match="folder"):
        list_conv_layers(tmp_path)


def test_unknown_extension(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("conv1: 3x3")
    with pytest.raises(ModelError, match=r"unknown model format '\.txt'.*\.keras.*\.onnx"):
        list_conv_layers(path)


def test_zip_that_is_no_model(tmp_path):
    path = tmp_path / "photos.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.txt", "hello")
    with pytest.raises(ModelError, match="not a model"):
        list_conv_layers(path)


# ---------------------------------------------------------------- no conv layer


def _onnx_without_conv(path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])],
    )
    onnx.save(helper.make_model(graph), path)


def _h5_dense_only(path: Path) -> None:
    with h5py.File(path, "w") as f:
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [b"fc"]
        g = group.create_group("fc")
        g.attrs["weight_names"] = [b"fc/kernel:0", b"fc/bias:0"]
        g.create_dataset("fc/kernel:0", data=np.ones((4, 2), np.float32))
        g.create_dataset("fc/bias:0", data=np.ones(2, np.float32))


@pytest.mark.parametrize(
    ("filename", "make"),
    [
        ("dense.npz", lambda p: np.savez(p, fc=np.ones((3, 4), np.float32))),
        ("dense.safetensors", lambda p: save_file({"fc.weight": np.ones((3, 4), np.float32)}, p)),
        ("relu.onnx", _onnx_without_conv),
        ("dense.h5", _h5_dense_only),
    ],
)
def test_model_without_conv_layer(tmp_path, filename, make):
    path = tmp_path / filename
    make(path)
    with pytest.raises(ModelError, match="no 2-D convolution layer"):
        list_conv_layers(path)


# ---------------------------------------------------------------- NaN weights


def _nan_weights() -> np.ndarray:
    weights = np.ones((2, 1, 3, 3), np.float32)
    weights[1, 0, 1, 1] = np.nan
    return weights


@pytest.mark.parametrize(
    ("filename", "make"),
    [
        ("nan.npz", lambda p: np.savez(p, **{"conv.weight": _nan_weights()})),
        ("nan.npy", lambda p: np.save(p, _nan_weights())),
        ("nan.safetensors", lambda p: save_file({"conv.weight": _nan_weights()}, p)),
    ],
)
def test_nan_weights_are_refused_when_read(tmp_path, filename, make):
    path = tmp_path / filename
    make(path)
    name = list_conv_layers(path)[0].name  # listing reads no weights: it works
    with pytest.raises(ModelError, match=rf"{filename}: layer '{name}'.*NaN"):
        read_conv_layer(path, name)


def test_nan_in_keras_weights(tmp_path):
    path = tmp_path / "nan.weights.h5"
    shutil.copy(FIXTURES / "keras.weights.h5", path)
    with h5py.File(path, "r+") as f:
        kernel = f["layers/conv2d_1/vars/0"]
        kernel[0, 0, 0, 0] = np.nan
    read_conv_layer(path, "conv1")  # the other layer is still fine
    with pytest.raises(ModelError, match=r"conv2.*NaN"):
        read_conv_layer(path, "conv2")


# ---------------------------------------------------------------- pickles


class _Payload:
    """Unpickling this runs code: it creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


def _torch_zip(path: Path, pickled: bytes, extra: dict[str, bytes] | None = None) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("evil/data.pkl", pickled)
        archive.writestr("evil/version", "3\n")
        for name, data in (extra or {}).items():
            archive.writestr(f"evil/{name}", data)


def test_the_payload_is_live(tmp_path):
    """Control for the next test: plain pickle really does run this payload."""
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps({"conv.weight": _Payload(marker)}))
    assert marker.exists()


@pytest.mark.parametrize("layout", ["zip", "legacy"])
def test_a_malicious_pickle_runs_nothing(tmp_path, layout):
    marker = tmp_path / "pwned"
    pickled = pickle.dumps({"conv.weight": _Payload(marker)}, protocol=2)
    path = tmp_path / "weights.pt"
    if layout == "zip":
        _torch_zip(path, pickled)
    else:
        path.write_bytes(pickled)
    with pytest.raises(
        ModelError, match=r"refused: the file asks to call (__builtin__|builtins)\.exec"
    ):
        list_conv_layers(path)
    assert not marker.exists()


def test_a_whole_pickled_module_is_refused_with_advice():
    with pytest.raises(ModelError, match=r"whole pickled PyTorch model.*state_dict\(\)"):
        list_conv_layers(FIXTURES / "torch_whole_module.pt")


def test_torchscript_is_refused_with_advice(tmp_path):
    path = tmp_path / "scripted.pt"
    _torch_zip(path, pickle.dumps({}), {"code/__torch__.py": b"", "constants.pkl": b""})
    with pytest.raises(ModelError, match=r"TorchScript.*state_dict\(\)"):
        list_conv_layers(path)


def test_a_pickle_that_is_no_state_dict(tmp_path):
    path = tmp_path / "list.pt"
    _torch_zip(path, pickle.dumps([1, 2, 3]))
    with pytest.raises(ModelError, match="holds a list, not a state_dict"):
        list_conv_layers(path)


def test_npy_holding_objects_is_not_unpickled(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ModelError):
        read_everything(path)


def test_keras_config_that_is_not_json(tmp_path):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(FIXTURES / "keras_model.keras") as src, zipfile.ZipFile(path, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, b"{not json" if name == "config.json" else src.read(name))
    with pytest.raises(ModelError, match="not valid JSON"):
        list_conv_layers(path)


def _rewrite_keras_config(tmp_path: Path, edit, class_name: str = "Sequential") -> Path:
    path = tmp_path / "edited.keras"
    with zipfile.ZipFile(FIXTURES / "keras_model.keras") as src, zipfile.ZipFile(path, "w") as dst:
        config = json.loads(src.read("config.json"))
        edit(config["config"]["layers"])
        config["class_name"] = class_name
        for name in src.namelist():
            data = json.dumps(config).encode() if name == "config.json" else src.read(name)
            dst.writestr(name, data)
    return path


def test_keras_functional_branch_ends_the_chain(tmp_path):
    """A Functional config where conv2 reads the input, not pool1: not a plain chain."""

    def edit(layers):
        previous = None
        for layer in layers:
            source = "input_layer" if layer["config"]["name"] == "conv2" else previous
            if source is not None:
                history = {"keras_history": [source, 0, 0]}
                layer["inbound_nodes"] = [{"args": [{"config": history}], "kwargs": {}}]
            previous = layer["config"]["name"]

    network = read_network(_rewrite_keras_config(tmp_path, edit, "Functional"))
    assert [layer.name for layer in network] == ["conv1", "conv1_relu", "pool1"]


def test_error_messages_carry_no_traceback_text(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(io.BytesIO(b"\x08\x07junk" * 10).getvalue())
    with pytest.raises(ModelError) as info:
        list_conv_layers(path)
    assert "Traceback" not in str(info.value)
    assert str(info.value).startswith("junk.onnx: ")


def test_a_pickle_cannot_set_attributes_of_the_allowed_functions(tmp_path):
    """BUILD on an allowed global (here the tensor rebuild function) is refused."""
    from core.models import torch_pickle

    # GLOBAL torch._utils _rebuild_tensor_v2; EMPTY_DICT; 'x' -> 1; BUILD; STOP
    pickled = b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n}X\x01\x00\x00\x00xK\x01sb."
    path = tmp_path / "sneaky.pt"
    _torch_zip(path, pickled)
    with pytest.raises(ModelError, match="refused: the file sets attributes of a function"):
        list_conv_layers(path)
    assert not hasattr(torch_pickle._rebuild_tensor, "x")


def test_onnx_external_weights_missing(tmp_path):
    path = tmp_path / "model_dynamo.onnx"
    shutil.copy(FIXTURES / "model_dynamo.onnx", path)
    assert len(list_conv_layers(path)) == 2  # the graph alone lists the layers
    with pytest.raises(ModelError, match=r"model_dynamo\.onnx\.data', which is missing"):
        read_conv_layer(path, "conv1")


def test_onnx_external_weights_outside_the_folder_are_refused(tmp_path):
    (tmp_path / "secret.bin").write_bytes(np.ones(9, np.float32).tobytes())
    weight = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1, 1, 3, 3])
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "../secret.bin"), ("offset", "0"), ("length", "36")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 6, 6])],
        initializer=[weight],
    )
    (tmp_path / "inner").mkdir()
    path = tmp_path / "inner" / "model.onnx"
    onnx.save(helper.make_model(graph), path)
    with pytest.raises(ModelError, match="points outside the model's folder"):
        read_conv_layer(path, "conv1")


@pytest.mark.parametrize(
    ("scale", "names"),
    [
        (1 / 255, ["conv1", "conv1_relu", "pool1", "conv2", "relu2"]),  # images are 0..1 already
        (2.0, None),  # any other scaling: the chain cannot start
    ],
)
def test_keras_rescaling_at_the_start(tmp_path, scale, names):
    def edit(layers):
        rescaling = {"class_name": "Rescaling", "config": {"name": "rescale", "scale": scale}}
        layers.insert(1, rescaling)

    network = read_network(_rewrite_keras_config(tmp_path, edit))
    assert (network and [layer.name for layer in network]) == names


def test_keras_conv_with_an_unknown_activation_ends_the_chain_after_it(tmp_path):
    def edit(layers):
        layers[1]["config"]["activation"] = "gelu"

    network = read_network(_rewrite_keras_config(tmp_path, edit))
    assert [layer.name for layer in network] == ["conv1"]


def test_a_bank_too_large_for_the_engine_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "wide.npz"
    np.savez(path, **{"conv.weight": np.zeros((4, 1, 65, 65), np.float32)})
    assert list_conv_layers(path)[0].shape == (4, 1, 65, 65)

    def no_reading(*args, **kwargs):
        raise AssertionError("the weights were read")

    monkeypatch.setattr(np, "load", no_reading)
    with pytest.raises(ModelError, match=r"larger than ConvScope takes \(kernels up to 63x63"):
        read_conv_layer(path, "conv")


SIZE = b"(K\x04K\x03K\x03K\x03t"  # conv1.weight's size (4, 3, 3, 3) in the fixture's pickle
STRIDE = b"(K\x1bK\tK\x03K\x01t"  # and its stride (27, 9, 3, 1)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (SIZE, b"(K\x09K\x03K\x03K\x03t", "outside its storage"),  # 243 of 108 values
        (STRIDE, b"(K\x1bK\tK\x03t", "impossible shape"),  # a stride per axis but one
        (STRIDE, b"(K\x1bK\tK\x03J\xff\xff\xff\xfft", "impossible shape"),  # stride -1
    ],
)
def test_a_tensor_outside_its_storage_is_refused(tmp_path, old, new, message):
    """The fixture's own pickle with conv1.weight's shape edited, so it no longer fits."""
    path = tmp_path / "edited.pt"
    with (
        zipfile.ZipFile(FIXTURES / "torch_state_dict.pt") as src,
        zipfile.ZipFile(path, "w") as dst,
    ):
        for name in src.namelist():
            data = src.read(name)
            if name.endswith("data.pkl"):
                assert data.count(old) >= 1
                data = data.replace(old, new, 1)
            dst.writestr(name, data)
    with pytest.raises(ModelError, match=message):
        read_conv_layer(path, "conv1")
