"""Every reader against files written by the real frameworks (see fixtures/make_fixtures.py).

The truth is ``fixtures/weights.npz``: the weights the script gave every framework before it
saved. Outputs are checked against what torch and Keras computed themselves at generation
time, and against scipy's correlate2d.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy.signal import correlate2d

from core.models import (
    ModelError,
    list_conv_layers,
    read_conv_layer,
    read_network,
)
from core.network import ActivationLayer, ConvLayer, Network, PoolLayer, run_network

FIXTURES = Path(__file__).parent / "fixtures"
WEIGHTS = dict(np.load(FIXTURES / "weights.npz"))
INPUT = np.load(FIXTURES / "input.npy")

# File -> the names its two conv layers have.
MODELS = {
    "keras_model.keras": ("conv1", "conv2"),
    "keras3_legacy.h5": ("conv1", "conv2"),
    "keras.weights.h5": ("conv1", "conv2"),
    "tf_keras2_legacy.h5": ("conv1", "conv2"),
    "torch_state_dict.pt": ("conv1", "conv2"),
    "torch_legacy.pt": ("conv1", "conv2"),
    "torch_checkpoint.pth": ("model.conv1", "model.conv2"),
    "torch.safetensors": ("conv1", "conv2"),
    "model.onnx": ("conv1", "conv2"),
    "model_dynamo.onnx": ("conv1", "conv2"),
    "weights.npz": ("conv1", "conv2"),
}
STRUCTURED = [
    "keras_model.keras",
    "keras3_legacy.h5",
    "tf_keras2_legacy.h5",
    "model.onnx",
    "model_dynamo.onnx",
]


@pytest.mark.parametrize("filename", MODELS)
def test_lists_the_conv_layers_in_engine_layout(filename):
    infos = list_conv_layers(FIXTURES / filename)
    assert [(i.name, i.shape, i.has_bias) for i in infos] == [
        (MODELS[filename][0], (4, 3, 3, 3), True),
        (MODELS[filename][1], (2, 4, 3, 3), True),
    ]
    assert infos[0].describe() == f"{MODELS[filename][0]}: 4 x 3 x 3 x 3"


@pytest.mark.parametrize("filename", MODELS)
@pytest.mark.parametrize("index", [0, 1])
def test_reads_the_weights_exactly_and_unflipped(filename, index):
    name = MODELS[filename][index]
    layer = read_conv_layer(FIXTURES / filename, name)
    key = f"conv{index + 1}"
    assert isinstance(layer, ConvLayer)
    assert layer.name == name
    np.testing.assert_array_equal(layer.weights, WEIGHTS[f"{key}.weight"])
    np.testing.assert_array_equal(layer.bias, WEIGHTS[f"{key}.bias"])


def test_npy_is_one_layer_named_after_the_file():
    infos = list_conv_layers(FIXTURES / "conv1_weight.npy")
    assert [(i.name, i.shape, i.has_bias) for i in infos] == [("conv1_weight", (4, 3, 3, 3), False)]
    layer = read_conv_layer(FIXTURES / "conv1_weight.npy", "conv1_weight")
    np.testing.assert_array_equal(layer.weights, WEIGHTS["conv1.weight"])
    np.testing.assert_array_equal(layer.bias, np.zeros(4, np.float32))


@pytest.mark.parametrize(("shape", "expected"), [((5, 7), (1, 1, 5, 7)), ((2, 3, 3), (2, 1, 3, 3))])
def test_npy_with_fewer_dimensions_is_single_channel_kernels(tmp_path, shape, expected):
    values = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    np.save(tmp_path / "k.npy", values)
    assert list_conv_layers(tmp_path / "k.npy")[0].shape == expected
    np.testing.assert_array_equal(
        read_conv_layer(tmp_path / "k.npy", "k").weights, values.reshape(expected)
    )


def _scipy_conv(image: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Same-padded cross-correlation, written out with scipy, one output channel at a time."""
    out = np.zeros((*image.shape[:2], weights.shape[0]), np.float64)
    for o in range(weights.shape[0]):
        for c in range(weights.shape[1]):
            out[:, :, o] += correlate2d(image[:, :, c], weights[o, c], mode="same")
        out[:, :, o] += bias[o]
    return out


@pytest.mark.parametrize("filename", MODELS)
def test_imported_layer_computes_what_torch_computed(filename):
    layer = read_conv_layer(FIXTURES / filename, MODELS[filename][0])
    if layer.padding != 1:  # weight-only files get the engine's default, "same"
        assert layer.padding == "same"
    output = run_network(INPUT, Network((layer,)))[0].map
    torch_output = np.load(FIXTURES / "torch_conv1_output.npy")
    np.testing.assert_allclose(output, torch_output, rtol=1e-5, atol=1e-5)
    reference = _scipy_conv(INPUT, WEIGHTS["conv1.weight"], WEIGHTS["conv1.bias"])
    np.testing.assert_allclose(output, reference, rtol=1e-5, atol=1e-5)


def test_weight_only_files_have_no_structure():
    for filename in MODELS:
        if filename not in STRUCTURED:
            assert read_network(FIXTURES / filename) is None, filename


@pytest.mark.parametrize("filename", STRUCTURED)
def test_structured_files_give_the_chain_up_to_the_dense_layer(filename):
    network = read_network(FIXTURES / filename)
    assert [type(layer) for layer in network] == [
        ConvLayer,
        ActivationLayer,
        PoolLayer,
        ConvLayer,
        ActivationLayer,
    ]
    conv1, relu1, pool, conv2, relu2 = network.layers
    np.testing.assert_array_equal(conv1.weights, WEIGHTS["conv1.weight"])
    assert conv1.padding in ("same", 1) and conv1.stride == 1
    assert relu1.function == relu2.function == "relu"
    assert (pool.mode, pool.size, pool.stride) == ("max", 2, 2)
    np.testing.assert_array_equal(conv2.weights, WEIGHTS["conv2.weight"])
    outputs = run_network(INPUT, network)
    # Both frameworks computed this chain themselves when the fixtures were made.
    reference = "torch_chain_output.npy" if ".onnx" in filename else "keras_chain_output.npy"
    np.testing.assert_allclose(outputs[-1].map, np.load(FIXTURES / reference), rtol=1e-5, atol=1e-5)


def test_keras_conv_with_its_own_activation_matches_keras():
    network = read_network(FIXTURES / "keras_model.keras")
    relu_output = run_network(INPUT, network)[1].map
    np.testing.assert_allclose(
        relu_output, np.load(FIXTURES / "keras_conv1_relu_output.npy"), rtol=1e-5, atol=1e-5
    )


def test_torch_and_keras_agree_on_the_chain():
    """Independent check of the fixtures themselves: the two frameworks computed alike."""
    np.testing.assert_allclose(
        np.load(FIXTURES / "torch_chain_output.npy"),
        np.load(FIXTURES / "keras_chain_output.npy"),
        rtol=1e-5,
        atol=1e-5,
    )


def test_safetensors_from_keras_or_flax_are_transposed(tmp_path):
    from safetensors.numpy import save_file

    hwio = np.ascontiguousarray(WEIGHTS["conv1.weight"].transpose(2, 3, 1, 0))
    path = tmp_path / "flax.safetensors"
    save_file({"conv/kernel": hwio, "conv/bias": WEIGHTS["conv1.bias"]}, path, {"format": "flax"})
    assert list_conv_layers(path)[0].shape == (4, 3, 3, 3)
    layer = read_conv_layer(path, "conv/kernel")
    np.testing.assert_array_equal(layer.weights, WEIGHTS["conv1.weight"])


def test_reading_one_torch_layer_reads_only_its_storages(monkeypatch):
    read: list[str] = []
    original = zipfile.ZipFile.open  # ZipFile.read opens too

    def spy(self, name, *args, **kwargs):
        read.append(name if isinstance(name, str) else name.filename)
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    read_conv_layer(FIXTURES / "torch_state_dict.pt", "conv2")
    storages = sorted(name.rpartition("/")[2] for name in read if "/data/" in name)
    # The pickle says conv2.weight and conv2.bias live in storages 2 and 3.
    assert storages == ["2", "3"]
    read.clear()
    list_conv_layers(FIXTURES / "torch_state_dict.pt")
    assert not [name for name in read if "/data/" in name]


def test_reading_one_keras_layer_reads_only_its_datasets(monkeypatch):
    read: list[str] = []
    original = h5py.Dataset.__getitem__

    def spy(self, key):
        read.append(self.name)
        return original(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    read_conv_layer(FIXTURES / "keras3_legacy.h5", "conv2")
    assert sorted(read) == [
        "/model_weights/conv2/tiny/conv2/bias",
        "/model_weights/conv2/tiny/conv2/kernel",
    ]


def test_missing_layer_lists_the_layers_there_are():
    with pytest.raises(ModelError, match=r"no conv layer named 'conv9'.*conv1, conv2"):
        read_conv_layer(FIXTURES / "model.onnx", "conv9")


def test_onnx_without_tensor_bytes_equals_onnx_load():
    """The wire-format walk gives what the onnx package's own loader gives."""
    import onnx
    from onnx import numpy_helper

    from core.models.onnx_wire import load_without_tensor_data, read_range

    path = FIXTURES / "model.onnx"
    full = onnx.load(str(path))
    model, ranges = load_without_tensor_data(path)
    assert [n.SerializeToString() for n in model.graph.node] == [
        n.SerializeToString() for n in full.graph.node
    ]
    assert [i.name for i in model.graph.input] == [i.name for i in full.graph.input]
    assert sorted(ranges) == sorted(t.name for t in full.graph.initializer)
    for tensor in full.graph.initializer:
        stripped = next(t for t in model.graph.initializer if t.name == tensor.name)
        assert not stripped.raw_data and list(stripped.dims) == list(tensor.dims)
        assert read_range(path, *ranges[tensor.name]) == tensor.raw_data
        np.testing.assert_array_equal(numpy_helper.to_array(tensor), WEIGHTS[tensor.name])


def test_reading_one_onnx_layer_reads_only_its_bytes(monkeypatch):
    from core.models import onnx_files

    read: list[int] = []
    original = onnx_files.read_range

    def spy(path, offset, length):
        read.append(length)
        return original(path, offset, length)

    monkeypatch.setattr(onnx_files, "read_range", spy)
    read_conv_layer(FIXTURES / "model.onnx", "conv2")
    assert sorted(read) == [2 * 4, 2 * 4 * 3 * 3 * 4]  # conv2's bias and weights, float32
    read.clear()
    list_conv_layers(FIXTURES / "model.onnx")
    assert read == []


@pytest.mark.parametrize("dtype", ["half", "bf16"])
def test_half_and_bfloat16_weights_read_as_torch_reads_them(dtype):
    path = FIXTURES / f"torch_{dtype}.pt"
    expected = np.load(FIXTURES / "torch_dtypes_expected.npz")[dtype]
    layer = read_conv_layer(path, "conv1")
    np.testing.assert_array_equal(layer.weights, expected)
    assert layer.weights.dtype == np.float32


def test_tensors_sharing_a_storage():
    """Views: a slice and a transpose of one bank, saved beside it, in one storage."""
    bank = WEIGHTS["conv1.weight"]
    path = FIXTURES / "torch_views.pt"
    assert [i.shape for i in list_conv_layers(path)] == [(4, 3, 3, 3), (2, 3, 3, 3), (4, 3, 3, 3)]
    np.testing.assert_array_equal(read_conv_layer(path, "whole").weights, bank)
    np.testing.assert_array_equal(read_conv_layer(path, "slice").weights, bank[1:3])
    np.testing.assert_array_equal(
        read_conv_layer(path, "swapped").weights, bank.transpose(0, 1, 3, 2)
    )


@pytest.mark.parametrize("filename", ["keras_complex.keras", "keras_complex_legacy.h5"])
def test_keras_nested_and_non_conv2d_layers(filename):
    """Depthwise, separable and transposed convs are not listed; a nested model's conv is."""
    path = FIXTURES / filename
    weights = np.load(FIXTURES / "keras_complex_weights.npz")
    infos = list_conv_layers(path)
    assert [(i.name, i.shape, i.stride, i.padding) for i in infos] == [
        ("c1", (6, 3, 3, 3), 2, "same"),
        ("inner", (4, 3, 3, 3), 1, "same"),
    ]
    np.testing.assert_array_equal(read_conv_layer(path, "inner").weights, weights["inner"])
    network = read_network(path)
    # The chain stops at the depthwise conv: strided "same" conv, its ReLU, the average pool.
    assert [layer.name for layer in network] == ["c1", "c1_relu", "avg"]
    outputs = run_network(np.load(FIXTURES / "keras_complex_input.npy"), network)
    np.testing.assert_allclose(
        outputs[-1].map,
        np.load(FIXTURES / "keras_complex_chain_output.npy"),
        rtol=1e-5,
        atol=1e-5,
    )


def test_bfloat16_safetensors_are_widened_exactly(tmp_path):
    import ml_dtypes
    from safetensors.numpy import save_file

    bank = WEIGHTS["conv1.weight"].astype(ml_dtypes.bfloat16)
    save_file({"conv.weight": bank}, tmp_path / "bf16.safetensors")
    layer = read_conv_layer(tmp_path / "bf16.safetensors", "conv")
    # bfloat16 is the top half of a float32: widening puts zeros in the bottom half.
    expected = (bank.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_array_equal(layer.weights, expected)


def test_reading_one_npz_layer_loads_only_its_arrays(monkeypatch):
    from core.models import numpy_files

    loaded: list[str] = []
    original = numpy_files._load

    def spy(path, f):
        loaded.append(f.name)
        return original(path, f)

    monkeypatch.setattr(numpy_files, "_load", spy)
    list_conv_layers(FIXTURES / "weights.npz")  # headers only
    assert loaded == []
    read_conv_layer(FIXTURES / "weights.npz", "conv2")
    assert sorted(loaded) == ["conv2.bias.npy", "conv2.weight.npy"]


def test_reading_one_safetensors_layer_reads_only_its_tensors(monkeypatch):
    from core.models import safetensors_files

    read: list[str] = []
    original = safetensors_files.safe_open

    class Spy:
        def __init__(self, *args, **kwargs):
            self.handle = original(*args, **kwargs)

        def __enter__(self):
            self.inner = self.handle.__enter__()
            return self

        def __exit__(self, *exc):
            return self.handle.__exit__(*exc)

        def get_tensor(self, key):
            read.append(key)
            return self.inner.get_tensor(key)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(safetensors_files, "safe_open", Spy)
    list_conv_layers(FIXTURES / "torch.safetensors")
    assert read == []
    read_conv_layer(FIXTURES / "torch.safetensors", "conv2")
    assert sorted(read) == ["conv2.bias", "conv2.weight"]


def test_a_bare_torch_tensor_is_one_layer_named_after_the_file():
    path = FIXTURES / "torch_tensor.pt"
    assert [(i.name, i.shape) for i in list_conv_layers(path)] == [("torch_tensor", (4, 3, 3, 3))]
    np.testing.assert_array_equal(
        read_conv_layer(path, "torch_tensor").weights, WEIGHTS["conv1.weight"]
    )
