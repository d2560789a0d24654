"""Conv layers from other people's model files: Keras, PyTorch, ONNX, safetensors, NumPy.

The contract the window and the command line use::

    infos = list_conv_layers("model.keras")      # [ModelLayerInfo(name, shape, ...), ...]
    layer = read_conv_layer("model.keras", infos[0].name)   # a core.network.ConvLayer
    network = read_network("model.keras")        # the first conv/activation/pool layers, or None

Weights come out in the engine's layout (out, in, kh, kw), never flipped: every one of these
frameworks computes cross-correlation, as the engine does. Every problem is a
:class:`ModelError` whose message names the file. No reader runs code from the file, and none
needs TensorFlow or PyTorch.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from types import ModuleType

from core.models.common import ModelError, ModelLayerInfo
from core.network import ConvLayer, Network

#: File name endings ConvScope opens as models (for file dialogs and drag-and-drop).
MODEL_EXTENSIONS = (
    ".keras",
    ".h5",
    ".hdf5",
    ".pt",
    ".pth",
    ".bin",
    ".onnx",
    ".safetensors",
    ".npy",
    ".npz",
)

__all__ = [
    "MODEL_EXTENSIONS",
    "ModelError",
    "ModelLayerInfo",
    "is_model_file",
    "list_conv_layers",
    "read_conv_layer",
    "read_network",
]


def is_model_file(path: str | os.PathLike[str]) -> bool:
    """True when the name ends like a model file (the content is checked when it is read)."""
    return str(path).lower().endswith(MODEL_EXTENSIONS)


def _reader(path: Path) -> ModuleType:
    """The reader for ``path``: by its first bytes where they tell, else by its extension."""
    from core.models import (
        keras_files,
        numpy_files,
        onnx_files,
        safetensors_files,
        torch_files,
    )

    if not path.exists():
        raise ModelError(f"{path.name}: no such file")
    if path.is_dir():
        raise ModelError(f"{path.name}: is a folder, not a model file")
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise ModelError(f"{path.name}: cannot read: {exc.strerror or exc}") from None
    if not head:
        raise ModelError(f"{path.name}: the file is empty")
    suffix = path.suffix.lower()
    if head.startswith(keras_files.HDF5_MAGIC):
        return keras_files
    if head.startswith(numpy_files.NPY_MAGIC):
        return numpy_files
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise ModelError(
                f"{path.name}: damaged zip archive (is it truncated?): {exc}"
            ) from None
        if "model.weights.h5" in names:
            return keras_files
        if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
            return torch_files
        if names and all(n.endswith(".npy") for n in names):
            return numpy_files
        raise ModelError(f"{path.name}: a zip archive that is not a model ConvScope knows")
    by_suffix = {
        ".keras": keras_files,
        ".h5": keras_files,
        ".hdf5": keras_files,
        ".pt": torch_files,
        ".pth": torch_files,
        ".bin": torch_files,
        ".onnx": onnx_files,
        ".safetensors": safetensors_files,
        ".npy": numpy_files,
        ".npz": numpy_files,
    }
    if path.name.lower().endswith(".weights.h5") or suffix in by_suffix:
        return by_suffix.get(suffix, keras_files)
    raise ModelError(
        f"{path.name}: unknown model format {suffix or '(no extension)'!r}; ConvScope reads "
        + ", ".join(MODEL_EXTENSIONS)
    )


def list_conv_layers(path: str | os.PathLike[str]) -> list[ModelLayerInfo]:
    """The 2-D conv layers of a model file, in the model's order, without reading weights.

    Raises
    ------
    ModelError
        Unreadable, damaged or refused file, or a model without a conv layer.
    """
    path = Path(path)
    return _reader(path).list_layers(path)


def read_conv_layer(path: str | os.PathLike[str], name: str) -> ConvLayer:
    """One conv layer's weights (out, in, kh, kw) and bias as a ConvLayer named ``name``.

    Only that layer's tensors are read where the format allows (all but ONNX).

    Raises
    ------
    ModelError
        As :func:`list_conv_layers`, or no conv layer called ``name``, or weights the engine
        refuses (NaN, infinity, too large).
    """
    path = Path(path)
    return _reader(path).read_layer(path, name)


def read_network(path: str | os.PathLike[str]) -> Network | None:
    """The model's first layers as a Network, where the file describes its structure.

    The Keras config and the ONNX graph do: the conv/activation/pool layers up to the first
    layer the engine cannot run (dense, flatten, batch norm, a branch...) become a Network.
    Weight-only files (state dicts, safetensors, NumPy) give None.

    Raises
    ------
    ModelError
        As :func:`list_conv_layers`.
    """
    path = Path(path)
    return _reader(path).read_network(path)
