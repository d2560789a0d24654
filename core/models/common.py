"""What every model reader shares: the error type, a layer's summary, and conversions to
``core.network`` layers that turn the engine's complaints into messages naming the file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.network import ConvLayer, Layer, Network, NetworkError


class ModelError(ValueError):
    """A model file that cannot be read or used; the message names the file and says why."""


@dataclass(frozen=True)
class ModelLayerInfo:
    """One conv layer of a model file, described without reading its weights.

    ``shape`` is in the engine's layout, (out_channels, in_channels, kh, kw). ``stride``,
    ``padding`` and ``dilation`` come from the file where it describes them (Keras config,
    ONNX attributes); weight-only files (state dicts, safetensors, NumPy) give the engine's
    defaults, stride 1 and "same" padding.
    """

    name: str
    shape: tuple[int, int, int, int]
    has_bias: bool = True
    stride: int = 1
    padding: str | int = "same"
    dilation: int = 1

    def describe(self) -> str:
        """``NAME: out x in x kh x kw``, as ``convscope layers`` prints it."""
        return f"{self.name}: {' x '.join(str(n) for n in self.shape)}"


def where(path: Path, name: str | None = None) -> str:
    return f"{path.name}: layer {name!r}" if name is not None else path.name


def conv_layer(
    path: Path,
    info: ModelLayerInfo,
    weights: np.ndarray,
    bias: np.ndarray | None,
) -> ConvLayer:
    """A ConvLayer from weights already in (out, in, kh, kw) layout, or ModelError saying why.

    The engine rejects NaN, infinities and absurd sizes; its message is kept and the file named.
    """
    weights = np.asarray(weights)
    kinds = {weights.dtype.kind} | ({np.asarray(bias).dtype.kind} if bias is not None else set())
    if not kinds <= set("fiu"):
        raise ModelError(
            f"{where(path, info.name)}: weights of type {weights.dtype} aren't numbers"
        )
    if tuple(weights.shape) != info.shape:
        raise ModelError(
            f"{where(path, info.name)}: weights have shape {weights.shape}, expected {info.shape}"
        )
    try:
        return ConvLayer(
            weights=weights,
            bias=bias,
            stride=info.stride,
            padding=info.padding,
            dilation=info.dilation,
            name=info.name,
        )
    except NetworkError as exc:
        raise ModelError(f"{path.name}: {exc}") from None


def find_info(path: Path, infos: Iterable[ModelLayerInfo], name: str) -> ModelLayerInfo:
    """The layer called ``name``, or ModelError listing the names there are."""
    infos = list(infos)
    for info in infos:
        if info.name == name:
            return info
    names = ", ".join(info.name for info in infos) or "none"
    raise ModelError(f"{path.name}: no conv layer named {name!r} (its conv layers: {names})")


def require_conv_layers(path: Path, infos: list[ModelLayerInfo]) -> list[ModelLayerInfo]:
    if not infos:
        raise ModelError(f"{path.name}: the model has no 2-D convolution layer")
    return infos


def chain_network(path: Path, layers: list[Layer]) -> Network | None:
    """The imported chain as a Network (None when it has no conv layer), or ModelError."""
    if not any(isinstance(layer, ConvLayer) for layer in layers):
        return None
    try:
        return Network(tuple(layers), name=path.stem)
    except NetworkError as exc:
        raise ModelError(f"{path.name}: its first layers do not form a network: {exc}") from None
