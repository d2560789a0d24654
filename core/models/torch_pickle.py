"""The allow-list unpickler of PyTorch state dicts: tensors as lazy references, no code run.

Unpickling can call any importable function, so ``torch.save``'s pickle is read by an
unpickler that allows only ordered dicts, the tensor/parameter rebuild functions and the
storage types (the idea of PyTorch's own ``weights_only=True`` loader), and refuses the rest.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from core.models.common import ModelError

MAX_PICKLE_BYTES = 64 * 1024 * 1024  # a state dict's pickle is small; its tensors are not in it

STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16",  # no NumPy type: widened to float32 by hand
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


@dataclass(frozen=True)
class StorageType:
    name: str

    @property
    def dtype(self) -> np.dtype | str:
        return STORAGE_DTYPES[self.name]


@dataclass(frozen=True)
class Storage:
    key: str
    dtype: np.dtype | str
    numel: int


@dataclass(frozen=True)
class LazyTensor:
    """A tensor not read yet: where its values lie in which storage."""

    storage: Storage
    offset: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored) -> LazyTensor:
    if not isinstance(storage, Storage):
        raise pickle.UnpicklingError("a tensor without a storage")
    numbers = (storage_offset, *size, *stride)
    if len(size) != len(stride) or not all(type(n) is int and n >= 0 for n in numbers):
        raise pickle.UnpicklingError("a tensor with an impossible shape")
    return LazyTensor(storage, storage_offset, tuple(size), tuple(stride))


def _rebuild_parameter(data, *_ignored):
    return data


_ALLOWED: dict[tuple[str, str], Callable | type] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
}


class RefusedGlobal(pickle.UnpicklingError):
    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"{module}.{name}")
        self.module, self.name = module, name


class _StateDictUnpickler(pickle._Unpickler):
    """Builds dicts and lazy tensors; refuses every global not on the allow-list.

    The pure-Python unpickler (``pickle._Unpickler``, in the standard library since Python 3.0)
    because its opcode table can be narrowed: BUILD, which sets attributes on an object, would
    otherwise let a file set attributes on the allowed functions. A state dict pickle is small
    (its tensors are stored beside it), so the slower unpickler costs nothing noticeable.
    """

    dispatch: ClassVar[dict] = dict(pickle._Unpickler.dispatch)

    def _load_build(self) -> None:
        state = self.stack.pop()
        target = self.stack[-1]
        # torch.save gives the state dict its ``_metadata`` (module versions) through BUILD;
        # it is not needed here and is dropped. BUILD on anything else is refused.
        if type(target) is not collections.OrderedDict or not isinstance(state, dict):
            raise pickle.UnpicklingError(
                f"refused: the file sets attributes of a {type(target).__name__}"
            )

    dispatch[pickle.BUILD[0]] = _load_build

    def find_class(self, module: str, name: str):
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageType(name)
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(module, name) from None

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel[, view_metadata])
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        storage_type = pid[1]
        if not isinstance(storage_type, StorageType):
            raise pickle.UnpicklingError("a storage of unknown type")
        return Storage(str(pid[2]), storage_type.dtype, int(pid[4]))


def unpickle(path: Path, data: bytes | io.BufferedReader) -> object:
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        return _StateDictUnpickler(stream).load()
    except RefusedGlobal as exc:
        raw = data if isinstance(data, bytes) else _head(path)
        if exc.module.startswith("torch.nn") or b"torch.nn.modules" in raw:
            raise ModelError(
                f"{path.name}: holds a whole pickled PyTorch model, which ConvScope does not "
                "load (unpickling it could run any code). In PyTorch, save its weights "
                "instead: torch.save(model.state_dict(), 'weights.pt')"
            ) from None
        raise ModelError(
            f"{path.name}: refused: the file asks to call {exc.module}.{exc.name}, which a "
            "state_dict never needs (ConvScope reads plain state_dicts only, so that a file "
            "cannot run code)"
        ) from None
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        AttributeError,
        struct.error,
        RecursionError,
    ) as exc:
        raise ModelError(f"{path.name}: damaged PyTorch pickle: {exc}") from None


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(MAX_PICKLE_BYTES)
