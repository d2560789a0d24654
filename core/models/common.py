"""What every model reader shares: the error type, a layer's summary, and conversions to
``core.network`` layers that turn the engine's complaints into messages naming the file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.network import ConvLayer, Layer, Network, NetworkError
from core.network.layers import MAX_CHANNELS, MAX_KERNEL_SIDE


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


def _as_numbers(path: Path, info: ModelLayerInfo, values: np.ndarray) -> np.ndarray:
    """Numbers NumPy can compute with; bfloat16/float8 (``ml_dtypes``, as the safetensors and
    onnx readers return them) widened to float32, exactly."""
    values = np.asarray(values)
    if values.dtype.kind in "fiu":
        return values
    if values.dtype.name.startswith(("bfloat16", "float8")):
        return values.astype(np.float32)
    raise ModelError(f"{where(path, info.name)}: weights of type {values.dtype} aren't numbers")


def conv_layer(
    path: Path,
    info: ModelLayerInfo,
    weights: np.ndarray,
    bias: np.ndarray | None,
) -> ConvLayer:
    """A ConvLayer from weights already in (out, in, kh, kw) layout, or ModelError saying why.

    The engine rejects NaN, infinities and absurd sizes; its message is kept and the file named.
    """
    weights = _as_numbers(path, info, weights)
    bias = None if bias is None else _as_numbers(path, info, bias)
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
    """The layer called ``name``, or ModelError listing the names there are.

    Also refuses, before anything is read, a layer the engine could never take (a kernel
    wider than 63, more than 2048 channels), so a huge tensor is not read to be refused.
    """
    infos = list(infos)
    for info in infos:
        if info.name == name:
            out_c, in_c, kh, kw = info.shape
            if max(kh, kw) > MAX_KERNEL_SIDE or max(out_c, in_c) > MAX_CHANNELS:
                raise ModelError(
                    f"{where(path, name)}: a {out_c} x {in_c} x {kh} x {kw} bank is larger than "
                    f"ConvScope takes (kernels up to {MAX_KERNEL_SIDE}x{MAX_KERNEL_SIDE}, up to "
                    f"{MAX_CHANNELS} channels)"
                )
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
