"""NumPy files: ``.npy`` (one kernel bank) and ``.npz`` (named arrays), never unpickled.

Arrays are in the engine's layout: (out, in, kh, kw); an (out, kh, kw) array is a bank of
single-channel kernels and a (kh, kw) array one kernel. An ``.npy`` is one layer named after
the file. In an ``.npz`` every 4-D array is a layer, and ``NAME.bias`` (or ``NAME_bias``)
its bias, with ``.weight``/``_weight`` dropped from the name (``conv1.weight`` -> ``conv1``).
Headers are read without the data, and only the chosen layer's arrays are loaded.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from core.models.common import (
    ModelError,
    ModelLayerInfo,
    conv_layer,
    find_info,
    require_conv_layers,
)
from core.network import ConvLayer, Network

NPY_MAGIC = b"\x93NUMPY"


def _header(path: Path, f: BinaryIO) -> tuple[tuple[int, ...], np.dtype]:
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    except (ValueError, OSError, EOFError) as exc:
        raise ModelError(f"{path.name}: not a readable .npy array: {exc}") from None
    return tuple(shape), dtype


def _as_engine_shape(shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    if len(shape) == 4:
        return shape  # type: ignore[return-value]
    if len(shape) == 3:
        return (shape[0], 1, shape[1], shape[2])
    if len(shape) == 2:
        return (1, 1, shape[0], shape[1])
    return None


def _load(path: Path, f: BinaryIO) -> np.ndarray:
    try:
        return np.load(f, allow_pickle=False)
    except ValueError as exc:  # an object array needs pickle: refused
        raise ModelError(f"{path.name}: cannot load the array without unpickling: {exc}") from None
    except (OSError, EOFError) as exc:
        raise ModelError(f"{path.name}: truncated or damaged array: {exc}") from None


def _strip(key: str) -> str:
    for suffix in (".weight", "_weight"):
        if key.endswith(suffix):
            return key[: -len(suffix)]
    return key


def _npz_members(
    path: Path, archive: zipfile.ZipFile
) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    members = {}
    for member in archive.namelist():
        if not member.endswith(".npy"):
            continue
        with archive.open(member) as f:
            members[member[: -len(".npy")]] = _header(path, f)
    return members


def _npz_convs(
    path: Path, archive: zipfile.ZipFile
) -> list[tuple[ModelLayerInfo, str, str | None]]:
    members = _npz_members(path, archive)
    out = []
    for key, (shape, _) in members.items():
        if len(shape) != 4:
            continue
        name = _strip(key)
        bias = next(
            (
                b
                for b in (f"{name}.bias", f"{name}_bias")
                if members.get(b, ((),))[0] == (shape[0],)
            ),
            None,
        )
        out.append((ModelLayerInfo(name, shape, bias is not None), key, bias))  # type: ignore[arg-type]
    return out


def _zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(f"{path.name}: damaged .npz (zip) archive: {exc}") from None


def _is_npy(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(len(NPY_MAGIC)) == NPY_MAGIC


def list_layers(path: Path) -> list[ModelLayerInfo]:
    if _is_npy(path):
        with open(path, "rb") as f:
            shape, _ = _header(path, f)
        engine_shape = _as_engine_shape(shape)
        if engine_shape is None:
            raise ModelError(
                f"{path.name}: a {len(shape)}-D array is not a kernel bank (expected "
                "(out, in, kh, kw), (out, kh, kw) or (kh, kw))"
            )
        return [ModelLayerInfo(path.stem, engine_shape, has_bias=False)]
    with _zip(path) as archive:
        try:
            return require_conv_layers(path, [c[0] for c in _npz_convs(path, archive)])
        except zipfile.BadZipFile as exc:
            raise ModelError(f"{path.name}: damaged .npz (zip) archive: {exc}") from None


def read_layer(path: Path, name: str) -> ConvLayer:
    if _is_npy(path):
        info = find_info(path, list_layers(path), name)
        with open(path, "rb") as f:
            array = _load(path, f)
        return conv_layer(path, info, array.reshape(info.shape), None)
    with _zip(path) as archive:
        try:
            convs = _npz_convs(path, archive)
            info = find_info(path, (c[0] for c in convs), name)
            _, key, bias_key = next(c for c in convs if c[0] is info)
            with archive.open(f"{key}.npy") as f:
                weights = _load(path, f)
            bias = None
            if bias_key is not None:
                with archive.open(f"{bias_key}.npy") as f:
                    bias = _load(path, f)
        except zipfile.BadZipFile as exc:
            raise ModelError(f"{path.name}: damaged .npz (zip) archive: {exc}") from None
        return conv_layer(path, info, weights, bias)


def read_network(path: Path) -> Network | None:
    """None: NumPy files hold weights only, not how the layers connect."""
    list_layers(path)
    return None
