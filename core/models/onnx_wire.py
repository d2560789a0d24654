"""Parse an ONNX file without its tensors' bytes, so a large model costs its graph, not its size.

``onnx.load`` reads the whole file and protobuf then copies every tensor into the parsed
message: a 400 MB model peaked at 800 MB to read one 1 KB layer. Protobuf's wire format is
simple enough to walk instead: the file is memory-mapped, the ``raw_data`` field of each graph
initializer is skipped (its offset and length noted), and everything else, small, is parsed by
the ``onnx`` package as usual. A layer's bytes are read when that layer is asked for.
"""

from __future__ import annotations

import mmap
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError

from core.models.common import ModelError

# Field numbers from onnx.proto (stable since ONNX 1.0).
MODEL_GRAPH = 7
GRAPH_INITIALIZER = 5
TENSOR_RAW_DATA = 9
LENGTH_DELIMITED = 2


class _Truncated(Exception):
    pass


def _varint(buf: mmap.mmap, pos: int, end: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= end or shift > 63:
            raise _Truncated
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(buf: mmap.mmap, start: int, end: int):
    """(field number, wire type, value start, value end, field start) of each field."""
    pos = start
    while pos < end:
        field_start = pos
        key, pos = _varint(buf, pos, end)
        field, wire = key >> 3, key & 7
        value_start = pos
        if wire == 0:
            _, pos = _varint(buf, pos, end)
        elif wire == 1:
            pos += 8
        elif wire == LENGTH_DELIMITED:
            length, pos = _varint(buf, pos, end)
            value_start = pos
            pos += length
        elif wire == 5:
            pos += 4
        else:
            raise _Truncated  # groups (3, 4) are not used by ONNX; 6, 7 do not exist
        if pos > end or field == 0:
            raise _Truncated
        yield field, wire, value_start, pos, field_start


def load_without_tensor_data(path: Path) -> tuple[onnx.ModelProto, dict[str, tuple[int, int]]]:
    """The model with its initializers' ``raw_data`` left out, and where each one's lies.

    Returns
    -------
    model, ranges
        ``ranges[name] = (offset, length)`` of initializer ``name``'s raw bytes in the file.
    """
    ranges: dict[str, tuple[int, int]] = {}
    model_parts, graph_parts = bytearray(), bytearray()
    initializers: list[onnx.TensorProto] = []
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            for field, wire, start, end, field_start in _fields(buf, 0, len(buf)):
                if field != MODEL_GRAPH or wire != LENGTH_DELIMITED:
                    model_parts += buf[field_start:end]
                    continue
                for g_field, g_wire, g_start, g_end, g_field_start in _fields(buf, start, end):
                    if g_field != GRAPH_INITIALIZER or g_wire != LENGTH_DELIMITED:
                        graph_parts += buf[g_field_start:g_end]
                        continue
                    parts, raw = bytearray(), None
                    for t_field, t_wire, t_start, t_end, t_field_start in _fields(
                        buf, g_start, g_end
                    ):
                        if t_field == TENSOR_RAW_DATA and t_wire == LENGTH_DELIMITED:
                            raw = (t_start, t_end - t_start)
                        else:
                            parts += buf[t_field_start:t_end]
                    tensor = onnx.TensorProto()
                    tensor.ParseFromString(bytes(parts))
                    initializers.append(tensor)
                    if raw is not None:
                        ranges[tensor.name] = raw
        model = onnx.ModelProto()
        model.ParseFromString(bytes(model_parts))
        graph = onnx.GraphProto()
        graph.ParseFromString(bytes(graph_parts))
        graph.initializer.extend(initializers)
        model.graph.CopyFrom(graph)
    except _Truncated:
        raise ModelError(
            f"{path.name}: not a readable ONNX model (it is truncated or damaged)"
        ) from None
    except (DecodeError, ValueError, OSError) as exc:
        raise ModelError(f"{path.name}: not a readable ONNX model: {exc}") from None
    return model, ranges


def read_range(path: Path, offset: int, length: int) -> bytes:
    """``length`` bytes at ``offset`` of the file, or ModelError."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(length)
    except OSError as exc:
        raise ModelError(f"{path.name}: cannot read: {exc.strerror or exc}") from None
    if len(data) != length:
        raise ModelError(f"{path.name}: truncated tensor data")
    return data
