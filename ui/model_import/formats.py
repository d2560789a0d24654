"""What to call a model file in the dialog, and whether its format can describe a network.

Only wording: which reader opens the file, and whether it is readable at all, is decided
by ``core.models`` when the file is read.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.models import MODEL_EXTENSIONS

#: The file dialog's filter: every extension ``core.models`` reads, then everything.
MODEL_FILE_FILTER = (
    "Model files (" + " ".join(f"*{ext}" for ext in MODEL_EXTENSIONS) + ");;All files (*)"
)

# name ending -> (format shown to the user, whether that format holds weights only)
_FORMATS: tuple[tuple[str, str, bool], ...] = (
    (".weights.h5", "Keras weights (.weights.h5)", True),
    (".keras", "Keras model (.keras)", False),
    (".h5", "Keras HDF5 model (.h5)", False),
    (".hdf5", "Keras HDF5 model (.hdf5)", False),
    (".pt", "PyTorch state dict (.pt)", True),
    (".pth", "PyTorch state dict (.pth)", True),
    (".bin", "PyTorch state dict (.bin)", True),
    (".onnx", "ONNX model (.onnx)", False),
    (".safetensors", "safetensors weights (.safetensors)", True),
    (".npy", "NumPy array (.npy)", True),
    (".npz", "NumPy archive (.npz)", True),
)


def format_label(path: str | os.PathLike[str]) -> str:
    """The format a file's name announces, e.g. ``"ONNX model (.onnx)"``."""
    name = Path(path).name.lower()
    for ending, label, _ in _FORMATS:
        if name.endswith(ending):
            return label
    return f"unknown format ({Path(path).suffix or 'no extension'})"


def holds_weights_only(path: str | os.PathLike[str]) -> bool:
    """True for formats that store tensors but not how the layers connect (state dicts,
    safetensors, NumPy, Keras ``.weights.h5``): stride and padding there are guesses."""
    name = Path(path).name.lower()
    return any(name.endswith(ending) and weights for ending, _, weights in _FORMATS)
