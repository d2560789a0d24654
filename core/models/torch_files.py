"""PyTorch ``state_dict`` files (``torch.save``), read without PyTorch and without running code.

A ``.pt``/``.pth`` file is a pickle, read by the allow-list unpickler of ``torch_pickle``:
tensors come out as lazy references to their storages, and only the storages of the layer
asked for are read (one zip member each, or one slice of a legacy file).

Two layouts: the zip written since PyTorch 1.6 (``<name>/data.pkl`` + ``<name>/data/<key>``
raw storages) and the legacy stream (magic number, protocol, system info, the pickle, the
storage keys, then each storage as an 8-byte element count and its bytes).
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np

from core.models.common import (
    ModelError,
    ModelLayerInfo,
    conv_layer,
    find_info,
    require_conv_layers,
)
from core.models.torch_pickle import MAX_PICKLE_BYTES, LazyTensor, Storage, unpickle
from core.network import ConvLayer, Network

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

# ---------------------------------------------------------------- the two layouts


class _Archive:
    """Reads storages on demand from the zip or the legacy file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offsets: dict[str, int] = {}  # legacy files: key -> byte offset of its data
        try:
            self.zip = zipfile.ZipFile(path) if zipfile.is_zipfile(path) else None
        except (zipfile.BadZipFile, OSError) as exc:
            raise ModelError(f"{path.name}: damaged zip archive: {exc}") from None
        try:
            self.tree = self._read_zip() if self.zip is not None else self._read_legacy()
        except RecursionError:
            self.close()
            raise ModelError(f"{path.name}: damaged PyTorch pickle (nested too deeply)") from None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()

    def _read_zip(self) -> object:
        assert self.zip is not None
        names = self.zip.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if any(n.split("/")[1:2] == ["code"] or n.endswith("/constants.pkl") for n in names):
            raise ModelError(
                f"{self.path.name}: is a TorchScript model (torch.jit.save), not a state_dict; "
                "save its weights with torch.save(model.state_dict(), 'weights.pt')"
            )
        if len(pickles) != 1:
            raise ModelError(f"{self.path.name}: a zip without the data.pkl of torch.save")
        self.prefix = pickles[0][: -len("data.pkl")]
        info = self.zip.getinfo(pickles[0])
        if info.file_size > MAX_PICKLE_BYTES:
            raise ModelError(f"{self.path.name}: its pickle is too large for a state_dict")
        try:
            data = self.zip.read(pickles[0])
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ModelError(f"{self.path.name}: damaged zip archive: {exc}") from None
        byteorder = f"{self.prefix}byteorder"
        self.big_endian = byteorder in names and self.zip.read(byteorder).strip() == b"big"
        return unpickle(self.path, data)

    def _read_legacy(self) -> object:
        self.big_endian = False
        try:
            with open(self.path, "rb") as f:
                magic = unpickle(self.path, f)
                if magic != LEGACY_MAGIC:
                    raise ModelError(
                        f"{self.path.name}: not a PyTorch file (neither a torch.save zip nor "
                        "the legacy format)"
                    )
                unpickle(self.path, f)  # protocol version
                system = unpickle(self.path, f)
                if isinstance(system, dict) and system.get("little_endian") is False:
                    self.big_endian = True
                tree = unpickle(self.path, f)
                keys = unpickle(self.path, f)
                if not isinstance(keys, list):
                    raise ModelError(f"{self.path.name}: damaged legacy PyTorch file")
                storages = {s.key: s for s in _storages(tree)}
                for key in keys:  # note where each storage starts; read none of them
                    header = f.read(8)
                    if len(header) != 8:
                        raise ModelError(f"{self.path.name}: truncated legacy PyTorch file")
                    self.offsets[str(key)] = f.tell()
                    numel = struct.unpack("<q", header)[0]
                    if numel < 0 or str(key) not in storages:
                        raise ModelError(f"{self.path.name}: damaged legacy PyTorch file")
                    f.seek(numel * _itemsize(storages[str(key)]), io.SEEK_CUR)
        except OSError as exc:
            raise ModelError(f"{self.path.name}: cannot read: {exc.strerror or exc}") from None
        return tree

    def read(self, tensor: LazyTensor) -> np.ndarray:
        storage = tensor.storage
        item = _itemsize(storage)
        try:
            if self.zip is not None:  # no more than the storage holds, whatever the member says
                with self.zip.open(f"{self.prefix}data/{storage.key}") as member:
                    raw = member.read(storage.numel * item)
            else:
                with open(self.path, "rb") as f:
                    f.seek(self.offsets[storage.key])
                    raw = f.read(storage.numel * item)
        except (KeyError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ModelError(f"{self.path.name}: a tensor's data is missing: {exc}") from None
        if len(raw) < storage.numel * item:
            raise ModelError(f"{self.path.name}: truncated tensor data")
        if storage.dtype == "bfloat16":
            halves = np.frombuffer(raw, dtype=">u2" if self.big_endian else "<u2")
            flat = (halves.astype(np.uint32) << 16).view(np.float32)
        else:
            dtype = np.dtype(storage.dtype).newbyteorder(">" if self.big_endian else "<")
            flat = np.frombuffer(raw, dtype=dtype, count=storage.numel)
        needed = (
            tensor.offset
            + sum((n - 1) * s for n, s in zip(tensor.shape, tensor.strides, strict=True))
            + 1
        )
        if tensor.offset < 0 or needed > flat.size or min(tensor.strides, default=0) < 0:
            raise ModelError(f"{self.path.name}: a tensor lies outside its storage")
        view = np.lib.stride_tricks.as_strided(
            flat[tensor.offset :],
            shape=tensor.shape,
            strides=tuple(s * flat.itemsize for s in tensor.strides),
            writeable=False,
        )
        return np.array(view, dtype=view.dtype.newbyteorder("="))


def _itemsize(storage: Storage) -> int:
    return 2 if storage.dtype == "bfloat16" else np.dtype(storage.dtype).itemsize


def _storages(tree: object):
    if isinstance(tree, LazyTensor):
        yield tree.storage
    elif isinstance(tree, dict):
        for value in tree.values():
            yield from _storages(value)
    elif isinstance(tree, list | tuple):
        for value in tree:
            yield from _storages(value)


def _tensors(tree: object, prefix: str = "") -> dict[str, LazyTensor]:
    """Every tensor by its dotted key; a checkpoint's nested dicts give ``model.conv1.weight``."""
    out: dict[str, LazyTensor] = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            name = f"{prefix}{key}"
            if isinstance(value, LazyTensor):
                out[name] = value
            elif isinstance(value, dict):
                out.update(_tensors(value, f"{name}."))
    return out


def _convs(path: Path, tree: object) -> list[tuple[ModelLayerInfo, LazyTensor, LazyTensor | None]]:
    if isinstance(tree, LazyTensor):  # torch.save(conv.weight): one bank, named after the file
        tree = {path.stem: tree}
    if not isinstance(tree, dict):
        raise ModelError(f"{path.name}: holds a {type(tree).__name__}, not a state_dict")
    tensors = _tensors(tree)
    out = []
    for key, tensor in tensors.items():
        if len(tensor.shape) != 4:
            continue
        name = key[: -len(".weight")] if key.endswith(".weight") else key
        bias = tensors.get(f"{name}.bias")
        if bias is not None and bias.shape != (tensor.shape[0],):
            bias = None
        shape = tuple(int(n) for n in tensor.shape)
        out.append((ModelLayerInfo(name, shape, bias is not None), tensor, bias))  # type: ignore[arg-type]
    return out


# ---------------------------------------------------------------- public


def list_layers(path: Path) -> list[ModelLayerInfo]:
    archive = _Archive(path)
    try:
        return require_conv_layers(path, [info for info, _, _ in _convs(path, archive.tree)])
    finally:
        archive.close()


def read_layer(path: Path, name: str) -> ConvLayer:
    archive = _Archive(path)
    try:
        convs = _convs(path, archive.tree)
        info = find_info(path, (c[0] for c in convs), name)
        _, weight, bias = next(c for c in convs if c[0] is info)
        return conv_layer(
            path, info, archive.read(weight), None if bias is None else archive.read(bias)
        )
    finally:
        archive.close()


def read_network(path: Path) -> Network | None:
    """None: a state_dict holds weights only, not how the layers connect."""
    list_layers(path)
    return None
