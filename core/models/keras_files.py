"""Keras models: ``.keras`` (a zip of config.json + model.weights.h5), legacy ``.h5`` from
Keras 3 and tf.keras 2, and ``.weights.h5``.

Kernels are stored (kh, kw, in, out) and become (out, in, kh, kw) by a transpose, never a
flip: Keras computes cross-correlation, as the engine does. h5py reads a dataset only when
it is sliced, so listing layers or reading one layer of a large file reads only that layer.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from core.models.common import (
    ModelError,
    ModelLayerInfo,
    chain_network,
    conv_layer,
    find_info,
    require_conv_layers,
)
from core.network import ActivationLayer, ConvLayer, Layer, Network, PoolLayer

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
# Keras class-based group names of layers that hold a 4-D kernel but are not a plain Conv2D.
_NOT_CONV2D = re.compile(r"(depthwise|separable|transpose|deconv)", re.IGNORECASE)
_ACTIVATIONS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh"}
_IDENTITY_LAYERS = {"InputLayer", "Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout"}


@dataclass
class _Conv:
    info: ModelLayerInfo
    kernel: h5py.Dataset
    bias: h5py.Dataset | None


@dataclass
class _Model:
    path: Path
    config: dict | None
    convs: list[_Conv]


def _h5_error(path: Path, exc: Exception) -> ModelError:
    return ModelError(f"{path.name}: not a readable HDF5 file (is it truncated or damaged?): {exc}")


@contextmanager
def _open(path: Path) -> Iterator[_Model]:
    """The model's config (if any) and its conv kernels as lazy h5py datasets."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
                if "model.weights.h5" not in names:
                    raise ModelError(f"{path.name}: a .keras file must hold model.weights.h5")
                config = (
                    _json(path, archive.read("config.json")) if "config.json" in names else None
                )
                with archive.open("model.weights.h5") as member, h5py.File(member, "r") as f:
                    yield _Model(path, config, _keras3_convs(path, f, config))
            return
        with h5py.File(path, "r") as f:
            config = None
            if "model_config" in f.attrs:
                config = _json(path, f.attrs["model_config"])
            if "model_weights" in f or "layer_names" in f.attrs:
                convs = _legacy_convs(path, f, config)
            else:
                convs = _keras3_convs(path, f, config)
            yield _Model(path, config, convs)
    except ModelError:
        raise
    except zipfile.BadZipFile as exc:
        raise ModelError(f"{path.name}: damaged zip archive: {exc}") from None
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise _h5_error(path, exc) from None


def _json(path: Path, raw: bytes | str) -> dict:
    try:
        config = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ModelError(f"{path.name}: its model config is not valid JSON") from None
    return config if isinstance(config, dict) else {}


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# ---------------------------------------------------------------- config (structure)


def _config_layers(config: dict | None) -> list[dict]:
    """The top-level layers of a Sequential/Functional config, in order."""
    if not config:
        return []
    inner = config.get("config", {})
    layers = inner.get("layers") if isinstance(inner, dict) else None
    return [layer for layer in layers or [] if isinstance(layer, dict)]


def _layer_name(layer: dict) -> str:
    cfg = layer.get("config", {})
    return str(cfg.get("name", layer.get("name", ""))) if isinstance(cfg, dict) else ""


def _all_classes(config: dict | None) -> dict[str, str]:
    """Every layer's class by name, nested models included."""
    out: dict[str, str] = {}
    for layer in _config_layers(config):
        out[_layer_name(layer)] = str(layer.get("class_name"))
        out.update(_all_classes(layer))
    return out


def _conv_info(name: str, shape: tuple[int, ...], has_bias: bool, cfg: dict) -> ModelLayerInfo:
    kh, kw, c_in, c_out = shape
    strides = cfg.get("strides", [1, 1])
    dilation = cfg.get("dilation_rate", [1, 1])
    # Without a config (a bare .weights.h5) nothing says how the layer pads: the engine's
    # default, "same", keeps the map the size of the input.
    padding = cfg.get("padding", "valid") if cfg else "same"
    return ModelLayerInfo(
        name=name,
        shape=(c_out, c_in, kh, kw),
        has_bias=has_bias,
        # Non-square strides/dilations are kept out of the chain (see _chain); the info
        # shows the first value.
        stride=int(strides[0]) if isinstance(strides, list) else int(strides),
        padding=padding if padding in ("same", "valid") else "valid",
        dilation=int(dilation[0]) if isinstance(dilation, list) else int(dilation),
    )


# ---------------------------------------------------------------- weights


def _natural(key: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", key)]


def _keras3_convs(path: Path, f: h5py.File | h5py.Group, config: dict | None) -> list[_Conv]:
    """Keras 3 weights: ``.../<layer>/vars/0`` (kernel) and ``vars/1`` (bias)."""
    found: list[tuple[str, h5py.Group]] = []

    def visit(key: str, item: object) -> None:
        if key.endswith("vars") and isinstance(item, h5py.Group) and "0" in item:
            kernel = item["0"]
            if isinstance(kernel, h5py.Dataset) and kernel.ndim == 4:
                found.append((key[: -len("/vars")] if "/" in key else "", item))

    f.visititems(visit)
    classes = _all_classes(config)
    by_name = {_layer_name(layer): layer.get("config", {}) for layer in _walk(config)}
    # Older Keras 3 files do not record the layer's own name in vars: its group is named
    # after the class (conv2d, conv2d_1, ...) in creation order, which is the config order.
    unnamed = [key for key, vars_ in found if "name" not in vars_.attrs]
    conv_names = [name for name, cls in classes.items() if cls == "Conv2D"]
    fallback = {}
    if unnamed and len(unnamed) == len(found) and len(conv_names) == len(found):
        fallback = dict(zip(sorted(unnamed, key=_natural), conv_names, strict=True))
    convs = []
    for key, vars_ in found:
        name = _text(vars_.attrs["name"]) if "name" in vars_.attrs else fallback.get(key, key)
        if any(conv.info.name == name for conv in convs):
            name = key  # the same name in two nested models: the group path tells them apart
        cls = classes.get(name)
        if (cls is not None and cls != "Conv2D") or (cls is None and _NOT_CONV2D.search(key)):
            continue
        bias = vars_["1"] if "1" in vars_ and vars_["1"].ndim == 1 else None
        cfg = by_name.get(name, {})
        info = _conv_info(
            name, vars_["0"].shape, bias is not None, cfg if isinstance(cfg, dict) else {}
        )
        convs.append(_Conv(info, vars_["0"], bias))
    order = {name: i for i, name in enumerate(by_name)}
    convs.sort(key=lambda c: (order.get(c.info.name, len(order)), _natural(c.info.name)))
    return convs


def _walk(config: dict | None) -> Iterator[dict]:
    for layer in _config_layers(config):
        yield layer
        yield from _walk(layer)


def _legacy_convs(path: Path, f: h5py.File, config: dict | None) -> list[_Conv]:
    """Legacy HDF5: layers listed by ``layer_names``, their datasets by ``weight_names``."""
    root = f["model_weights"] if "model_weights" in f else f
    if "layer_names" not in root.attrs:
        raise ModelError(f"{path.name}: a legacy Keras HDF5 file without a layer_names list")
    classes = _all_classes(config)
    by_name = {_layer_name(layer): layer.get("config", {}) for layer in _walk(config)}
    convs = []
    for layer_name in (_text(n) for n in root.attrs["layer_names"]):
        group = root[layer_name]
        weight_names = [_text(n) for n in group.attrs.get("weight_names", [])]
        # A nested model is one group holding the weights of several layers: group them
        # by the path before the weight's own name ("block/conv2d/kernel:0").
        by_owner: dict[str, list[str]] = {}
        for weight_name in weight_names:
            by_owner.setdefault(weight_name.rpartition("/")[0], []).append(weight_name)
        for owner, names in by_owner.items():
            kernels = [n for n in names if group[n].ndim == 4]
            if len(kernels) != 1:
                continue
            # "conv1/kernel:0", "model/conv1/kernel", "block/inner_conv/kernel": the layer is
            # the last part of the owner path.
            name = owner.rpartition("/")[2] or layer_name
            if any(conv.info.name == name for conv in convs):
                name = f"{layer_name}/{owner}"  # the same name in two nested models
            cls = classes.get(name)
            if (cls is not None and cls != "Conv2D") or (cls is None and _NOT_CONV2D.search(name)):
                continue
            biases = [n for n in names if group[n].ndim == 1 and "bias" in n.rpartition("/")[2]]
            bias = group[biases[0]] if biases else None
            cfg = by_name.get(name, {})
            info = _conv_info(
                name,
                group[kernels[0]].shape,
                bias is not None,
                cfg if isinstance(cfg, dict) else {},
            )
            convs.append(_Conv(info, group[kernels[0]], bias))
    return convs


def _read(path: Path, conv: _Conv) -> ConvLayer:
    kernel = np.asarray(conv.kernel[()]).transpose(3, 2, 0, 1)  # (kh,kw,in,out) -> (out,in,kh,kw)
    bias = None if conv.bias is None else np.asarray(conv.bias[()])
    return conv_layer(path, conv.info, kernel, bias)


# ---------------------------------------------------------------- public


def list_layers(path: Path) -> list[ModelLayerInfo]:
    with _open(path) as model:
        return require_conv_layers(path, [conv.info for conv in model.convs])


def read_layer(path: Path, name: str) -> ConvLayer:
    with _open(path) as model:
        info = find_info(path, (conv.info for conv in model.convs), name)
        return _read(path, next(c for c in model.convs if c.info is info))


def read_network(path: Path) -> Network | None:
    """The plain chain of Conv2D/activation/pool layers the config starts with."""
    with _open(path) as model:
        require_conv_layers(path, [conv.info for conv in model.convs])
        if model.config is None:
            return None
        return chain_network(path, _chain(path, model))


def _single(value: object) -> int | None:
    """An int from 3 or [3, 3]; None when the two axes differ (not square)."""
    if isinstance(value, list | tuple):
        if len(value) != 2 or value[0] != value[1]:
            return None
        value = value[0]
    return int(value) if isinstance(value, int) else None


def _chain(path: Path, model: _Model) -> list[Layer]:
    convs = {conv.info.name: conv for conv in model.convs}
    layers: list[Layer] = []
    previous: str | None = None
    for layer in _config_layers(model.config):
        cls, cfg, name = layer.get("class_name"), layer.get("config", {}), _layer_name(layer)
        if not isinstance(cfg, dict) or not _follows(layer, previous):
            break
        previous = name
        if cls in _IDENTITY_LAYERS:
            continue
        if cls == "Rescaling" and not layers and _is_unit_rescaling(cfg):
            continue  # 0..255 -> 0..1: ConvScope's images already are 0..1
        if cls == "Conv2D":
            if (
                name not in convs
                or _single(cfg.get("strides", 1)) is None
                or _single(cfg.get("dilation_rate", 1)) is None
                or cfg.get("groups", 1) != 1
                or cfg.get("padding") not in ("same", "valid")
            ):
                break
            layers.append(_read(path, convs[name]))
            activation = cfg.get("activation", "linear")
            if activation in (None, "linear"):
                continue
            if activation not in _ACTIVATIONS:
                break  # the conv is right; what follows would not be
            layers.append(ActivationLayer(_ACTIVATIONS[activation], name=f"{name}_{activation}"))
        elif cls == "Activation" and cfg.get("activation") in _ACTIVATIONS:
            layers.append(ActivationLayer(_ACTIVATIONS[cfg["activation"]], name=name))
        elif cls == "Activation" and cfg.get("activation") == "linear":
            continue
        elif cls == "ReLU" and not cfg.get("max_value") and not cfg.get("threshold"):
            if cfg.get("negative_slope", 0) not in (0, 0.0):
                break
            layers.append(ActivationLayer("relu", name=name))
        elif cls in ("MaxPooling2D", "AveragePooling2D"):
            size = _single(cfg.get("pool_size", 2))
            stride = _single(cfg.get("strides") or cfg.get("pool_size", 2))
            if size is None or stride is None or cfg.get("padding", "valid") != "valid":
                break
            mode = "max" if cls == "MaxPooling2D" else "avg"
            layers.append(PoolLayer(mode=mode, size=size, stride=stride, name=name))
        else:
            break  # Flatten, Dense, BatchNormalization, ...: the chain ends here
    return layers


def _is_unit_rescaling(cfg: dict) -> bool:
    scale, offset = cfg.get("scale"), cfg.get("offset", 0.0)
    return (
        isinstance(scale, int | float)
        and abs(scale * 255 - 1) < 1e-6
        and isinstance(offset, int | float)
        and offset == 0
    )


def _follows(layer: dict, previous: str | None) -> bool:
    """True when ``layer`` takes only ``previous``'s output (always true in a Sequential)."""
    nodes = layer.get("inbound_nodes")
    if not nodes or previous is None:
        return True  # Sequential configs have no inbound nodes
    sources: set[str] = set()

    def collect(item: object) -> None:
        if isinstance(item, dict):
            history = item.get("keras_history")
            if isinstance(history, list) and history:
                sources.add(str(history[0]))
            for value in item.values():
                collect(value)
        elif isinstance(item, list):
            # tf.keras 2: [[["conv1", 0, 0, {}]]]
            if len(item) >= 3 and isinstance(item[0], str) and isinstance(item[1], int):
                sources.add(item[0])
            else:
                for value in item:
                    collect(value)

    collect(nodes)
    return sources == {previous}
