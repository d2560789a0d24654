"""The network file: JSON written and read by ``Network.save`` and ``load_network``.

    {"format": "convscope-network", "version": 1, "name": "...", "layers": [
      {"type": "conv", "name": "conv1", "weights": [[[[...]]]], "bias": [...], "stride": 1,
       "padding": "valid", "dilation": 1, "border": "zero"},
      {"type": "activation", "name": "relu1", "function": "relu"},
      {"type": "pool", "name": "pool1", "mode": "max", "size": 2, "stride": 2},
      {"type": "flatten", "name": "flat"},
      {"type": "dense", "name": "fc", "weights": [[...]], "bias": [...]}]}

Optional fields take the defaults of the layer classes (bias zeros, stride 1, padding
"same", dilation 1, border "zero", pool stride = size); a missing name becomes
``<type><index>``. Every problem raises :class:`NetworkError` naming the layer and the reason.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from core.network.layers import (
    FORMAT,
    LAYER_FIELDS,
    VERSION,
    ConvLayer,
    DenseLayer,
    Layer,
    Network,
    NetworkError,
)

MAX_FILE_BYTES = 512 * 1024 * 1024  # JSON of 50 M parameters; beyond, refuse before reading


def layer_from_dict(data: object, index: int) -> Layer:
    if not isinstance(data, dict):
        raise NetworkError(f"layer {index + 1}: must be a JSON object, not {type(data).__name__}")
    kind = data.get("type")
    if kind not in LAYER_FIELDS:
        raise NetworkError(
            f"layer {index + 1}: unknown type {kind!r} (use {', '.join(LAYER_FIELDS)})"
        )
    cls, fields = LAYER_FIELDS[kind]
    name = data.get("name", f"{kind}{index + 1}")
    if not isinstance(name, str) or not name.strip():
        raise NetworkError(f"layer {index + 1}: name must be a non-empty string")
    unknown = set(data) - {"type", "name", *fields}
    if unknown:
        raise NetworkError(f"layer {name!r}: unknown field(s) {', '.join(sorted(unknown))}")
    if cls in (ConvLayer, DenseLayer) and "weights" not in data:
        raise NetworkError(f"layer {name!r}: a {kind} layer needs weights")
    try:
        return cls(name=name, **{key: data[key] for key in fields if key in data})
    except NetworkError:
        raise
    except (TypeError, ValueError) as exc:  # a value of the wrong type deep in a field
        raise NetworkError(f"layer {name!r}: {exc}") from None


def network_from_dict(data: object) -> Network:
    if not isinstance(data, dict):
        raise NetworkError("a network file must hold a JSON object")
    if data.get("format") != FORMAT:
        raise NetworkError(f'not a ConvScope network ("format" should be {FORMAT!r})')
    if data.get("version") != VERSION:
        raise NetworkError(f"unsupported network file version {data.get('version')!r}")
    layers = data.get("layers")
    if not isinstance(layers, list):
        raise NetworkError('"layers" must be a list')
    name = data.get("name", "network")
    if not isinstance(name, str):
        raise NetworkError('"name" must be a string')
    return Network(tuple(layer_from_dict(item, i) for i, item in enumerate(layers)), name=name)


def _reject_constant(token: str) -> float:
    raise NetworkError(f"the file holds {token}, which is not a usable weight")


def load_network(path: str | os.PathLike[str]) -> Network:
    """Read a network file, or raise :class:`NetworkError` saying what is wrong with it."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise NetworkError(f"{path.name}: the file is too large for a network")
        text = path.read_text(encoding="utf-8")
    except NetworkError:
        raise
    except UnicodeDecodeError:
        raise NetworkError(f"{path.name}: not a text (JSON) file") from None
    except OSError as exc:
        raise NetworkError(f"{path.name}: cannot read it ({exc.strerror or exc})") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise NetworkError(f"{path.name}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise NetworkError(f"{path.name}: nested too deeply to be a network") from None
    network = network_from_dict(data)
    if network.name == "network" and "name" not in data:
        network = Network(network.layers, name=path.stem)
    return network


def save_network(network: Network, path: str | os.PathLike[str]) -> None:
    """Write ``network`` to ``path`` as JSON; a failed write leaves any old file intact."""
    network.save(path)
