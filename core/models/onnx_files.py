"""ONNX models (``.onnx``): Conv nodes' weight and bias initializers (OIHW, the engine's
layout) and, where the graph starts as a plain chain, its Conv/Relu/MaxPool/AveragePool order.

Read with the ``onnx`` package, but without the tensors' bytes (see ``onnx_wire``): a layer's
weights are read from the file when that layer is asked for, as are tensors kept as external
data (models over 2 GB).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from core.models.common import (
    ModelError,
    ModelLayerInfo,
    chain_network,
    conv_layer,
    find_info,
    require_conv_layers,
)
from core.models.onnx_wire import load_without_tensor_data, read_range
from core.network import ActivationLayer, ConvLayer, Layer, Network, PoolLayer

_ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh"}
_IDENTITY_OPS = {"Identity", "Dropout"}


@dataclass
class _Conv:
    info: ModelLayerInfo
    node: onnx.NodeProto
    weight: onnx.TensorProto
    bias: onnx.TensorProto | None
    chainable: bool  # square stride/dilation, symmetric pads, one group


def _load(path: Path) -> tuple[onnx.ModelProto, dict[str, tuple[int, int]]]:
    model, ranges = load_without_tensor_data(path)
    if not model.graph.node:
        raise ModelError(f"{path.name}: not a readable ONNX model (its graph is empty)")
    return model, ranges


def _attributes(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _constants(graph: onnx.GraphProto) -> dict[str, onnx.TensorProto]:
    tensors = {t.name: t for t in graph.initializer}
    for node in graph.node:  # some exporters keep weights in Constant nodes...
        if node.op_type == "Constant" and node.output:
            value = _attributes(node).get("value")
            if isinstance(value, onnx.TensorProto):
                tensors[node.output[0]] = value
        # ...or pass them through an Identity (shared weights)
        elif node.op_type == "Identity" and node.input and node.input[0] in tensors:
            tensors[node.output[0]] = tensors[node.input[0]]
    return tensors


def _layer_name(node: onnx.NodeProto, weight_name: str, index: int) -> str:
    """PyTorch's exporters name weights after the module ("conv1.weight" -> "conv1")."""
    if weight_name.endswith(".weight") and not weight_name.startswith("onnx::"):
        return weight_name[: -len(".weight")]
    return _node_name(node, f"conv{index}")


def _node_name(node: onnx.NodeProto, default: str) -> str:
    """PyTorch's "/pool1/MaxPool" as "pool1.MaxPool": no slashes, which would make folders."""
    return node.name.strip("/").replace("/", ".") or default


def _symmetric_padding(attrs: dict) -> str | int | None:
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto == "VALID":
        return "valid"
    if auto == "SAME_UPPER":
        return "same"  # the engine's "same" puts the odd pixel after, as SAME_UPPER does
    if auto != "NOTSET":
        return None
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    if len(pads) != 4 or len(set(pads)) != 1:
        return None
    return int(pads[0]) if pads[0] else "valid"


def _square(values: object, default: int = 1) -> int | None:
    values = list(values) if isinstance(values, list | tuple) else [default, default]
    return int(values[0]) if len(values) == 2 and values[0] == values[1] else None


def _convs(path: Path, model: onnx.ModelProto) -> list[_Conv]:
    tensors = _constants(model.graph)
    convs: list[_Conv] = []
    names: set[str] = set()
    for node in model.graph.node:
        if node.op_type != "Conv" or len(node.input) < 2 or node.input[1] not in tensors:
            continue
        weight = tensors[node.input[1]]
        if len(weight.dims) != 4:
            continue  # Conv1d/Conv3d
        bias = tensors.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        attrs = _attributes(node)
        name = _layer_name(node, node.input[1], len(convs) + 1)
        if name in names:
            name = f"{name}_{len(convs) + 1}"
        names.add(name)
        stride, dilation = _square(attrs.get("strides")), _square(attrs.get("dilations"))
        padding = _symmetric_padding(attrs)
        chainable = (
            stride is not None
            and dilation is not None
            and padding is not None
            and attrs.get("group", 1) == 1
        )
        info = ModelLayerInfo(
            name=name,
            shape=tuple(int(d) for d in weight.dims),  # type: ignore[arg-type]
            has_bias=bias is not None,
            stride=stride or 1,
            padding="valid" if padding is None else padding,
            dilation=dilation or 1,
        )
        convs.append(_Conv(info, node, weight, bias, chainable))
    return convs


def _external_location(tensor: onnx.TensorProto) -> str | None:
    for entry in tensor.external_data:
        if entry.key == "location":
            return entry.value
    return None


def _array(path: Path, tensor: onnx.TensorProto, ranges: dict[str, tuple[int, int]]) -> np.ndarray:
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        # Weights beside the model (torch's default exporter writes MODEL.onnx.data): only a
        # file in the model's own folder, never a path that climbs out of it.
        location = _external_location(tensor) or ""
        if not location or Path(location).is_absolute() or ".." in Path(location).parts:
            raise ModelError(
                f"{path.name}: tensor {tensor.name!r} points outside the model's folder "
                f"({location!r}); refused"
            )
        if not (path.parent / location).is_file():
            raise ModelError(
                f"{path.name}: its weights are in {location!r}, which is missing: keep that "
                "file next to the model"
            )
    if not tensor.raw_data and tensor.name in ranges:  # left in the file until now
        loaded = onnx.TensorProto()
        loaded.CopyFrom(tensor)
        loaded.raw_data = read_range(path, *ranges[tensor.name])
        tensor = loaded
    try:
        return numpy_helper.to_array(tensor, base_dir=str(path.parent))
    except (ValueError, TypeError, OSError) as exc:
        raise ModelError(f"{path.name}: cannot read tensor {tensor.name!r}: {exc}") from None


def _read(path: Path, conv: _Conv, ranges: dict[str, tuple[int, int]]) -> ConvLayer:
    bias = None if conv.bias is None else _array(path, conv.bias, ranges)
    return conv_layer(path, conv.info, _array(path, conv.weight, ranges), bias)


# ---------------------------------------------------------------- public


def list_layers(path: Path) -> list[ModelLayerInfo]:
    model, _ = _load(path)
    return require_conv_layers(path, [conv.info for conv in _convs(path, model)])


def read_layer(path: Path, name: str) -> ConvLayer:
    model, ranges = _load(path)
    convs = _convs(path, model)
    info = find_info(path, (conv.info for conv in convs), name)
    return _read(path, next(conv for conv in convs if conv.info is info), ranges)


def read_network(path: Path) -> Network | None:
    """The graph's first nodes while they form a plain Conv/activation/pool chain."""
    model, ranges = _load(path)
    convs = _convs(path, model)
    require_conv_layers(path, [conv.info for conv in convs])
    by_node = {id(conv.node): conv for conv in convs}
    constants = _constants(model.graph)
    inputs = {i.name for i in model.graph.input} - set(constants)
    layers: list[Layer] = []
    current: str | None = None  # the tensor the chain has computed so far
    for index, node in enumerate(model.graph.node):
        if node.op_type == "Constant" or all(name in constants for name in node.input):
            continue  # weights on their way to a layer, not a step of the chain
        if not node.input or (current is None and node.input[0] not in inputs):
            break
        if current is not None and node.input[0] != current:
            break  # a branch, or a node that reads something else: not a plain chain
        attrs = _attributes(node)
        name = _node_name(node, f"{node.op_type.lower()}{index}")
        if node.op_type == "Conv":
            conv = by_node.get(id(node))
            if conv is None or not conv.chainable:
                break
            layers.append(_read(path, conv, ranges))
        elif node.op_type in _ACTIVATIONS:
            layers.append(ActivationLayer(_ACTIVATIONS[node.op_type], name=name))
        elif node.op_type == "LeakyRelu" and np.isclose(attrs.get("alpha", 0.01), 0.01):
            layers.append(ActivationLayer("leaky_relu", name=name))
        elif node.op_type in ("MaxPool", "AveragePool"):
            size = _square(attrs.get("kernel_shape"), 0)
            stride = _square(attrs.get("strides"), size or 1)
            if (
                not size
                or stride is None
                or any(attrs.get("pads", [0]))
                or attrs.get("ceil_mode", 0)
                or _square(attrs.get("dilations")) != 1
            ):
                break
            mode = "max" if node.op_type == "MaxPool" else "avg"
            layers.append(PoolLayer(mode=mode, size=size, stride=stride, name=name))
        elif node.op_type not in _IDENTITY_OPS:
            break  # Flatten, Gemm, BatchNormalization, ...: the chain ends here
        current = node.output[0] if node.output else None
    return chain_network(path, layers)
