"""safetensors files: named tensors behind a JSON header, read with ``safetensors.numpy``.

The format has no code in it and ``safe_open`` maps the file, so listing layers reads only the
header and reading a layer reads only its tensors. Layout: PyTorch's (out, in, kh, kw), unless
the header's metadata says the file came from TensorFlow/Keras/Flax ("format": "tf", "flax",
...), whose kernels are (kh, kw, in, out).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open

from core.models.common import (
    ModelError,
    ModelLayerInfo,
    conv_layer,
    find_info,
    require_conv_layers,
)
from core.network import ConvLayer, Network

_CHANNELS_LAST_FORMATS = {"tf", "keras", "flax", "jax"}


@contextmanager
def _open(path: Path) -> Iterator[object]:
    try:
        with safe_open(str(path), framework="numpy") as f:
            yield f
    except ModelError:
        raise
    except (SafetensorError, OSError, ValueError, TypeError) as exc:
        raise ModelError(
            f"{path.name}: not a readable safetensors file (is it truncated or damaged?): {exc}"
        ) from None


def _convs(f) -> list[tuple[ModelLayerInfo, str, str | None, bool]]:
    metadata = f.metadata() or {}
    channels_last = str(metadata.get("format", "pt")).lower() in _CHANNELS_LAST_FORMATS
    keys = list(f.keys())
    shapes = {key: tuple(f.get_slice(key).get_shape()) for key in keys}
    out = []
    for key in keys:
        shape = shapes[key]
        if len(shape) != 4:
            continue
        if channels_last:
            shape = (shape[3], shape[2], shape[0], shape[1])
        name = key[: -len(".weight")] if key.endswith(".weight") else key
        bias = next(
            (b for b in (f"{name}.bias", f"{name}/bias") if shapes.get(b) == (shape[0],)), None
        )
        out.append((ModelLayerInfo(name, shape, bias is not None), key, bias, channels_last))
    return out


def _tensor(path: Path, f, key: str) -> np.ndarray:
    try:
        return f.get_tensor(key)
    except (SafetensorError, TypeError, ValueError) as exc:
        # e.g. bfloat16, which NumPy has no type for
        raise ModelError(f"{path.name}: cannot read tensor {key!r}: {exc}") from None


def list_layers(path: Path) -> list[ModelLayerInfo]:
    with _open(path) as f:
        return require_conv_layers(path, [c[0] for c in _convs(f)])


def read_layer(path: Path, name: str) -> ConvLayer:
    with _open(path) as f:
        convs = _convs(f)
        info = find_info(path, (c[0] for c in convs), name)
        _, key, bias_key, channels_last = next(c for c in convs if c[0] is info)
        weights = _tensor(path, f, key)
        if channels_last:
            weights = weights.transpose(3, 2, 0, 1)
        bias = None if bias_key is None else _tensor(path, f, bias_key)
        return conv_layer(path, info, weights, bias)


def read_network(path: Path) -> Network | None:
    """None: safetensors holds weights only, not how the layers connect."""
    list_layers(path)
    return None
