"""Kernels: the value type, the lecture's presets, and the JSON file format.

A kernel file looks like::

    {"name": "horizontal-lines", "weights": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
     "scale": 1.0, "bias": 0.0}

``scale`` multiplies every weight (so a blur can be written with integers and ``1/16``) and
``bias`` is added to every output, as in a Conv2D unit. Both are optional.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

MAX_KERNEL_SIZE = 63
"""Largest kernel side accepted from a file or the editor; bigger is almost surely a mistake."""
MAX_WEIGHT = 1e6
"""Largest magnitude of a weight, scale or bias, typed or loaded: bigger is almost surely a typo,
and capping it keeps every sum and product the layer computes finite (63x63 weights of 1e6,
scaled by 1e6, sum to at most ~4e15)."""


class KernelError(ValueError):
    """A kernel (usually a kernel file) that cannot be used; the message says why."""


@dataclass(frozen=True, eq=False)
class Kernel:
    """Weights of one convolution filter, with the scale and bias a Conv2D unit would apply.

    ``weights`` is stored as a read-only float64 (kh, kw) array so a Kernel can be shared
    between threads and kept in undo history without copying.
    """

    weights: np.ndarray
    scale: float = 1.0
    bias: float = 0.0
    name: str = "custom"
    lesson: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        weights = validate_weights(self.weights)
        weights.setflags(write=False)
        object.__setattr__(self, "weights", weights)
        for label in ("scale", "bias"):
            value = getattr(self, label)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise KernelError(f"{label} must be a number, not {value!r}")
            if not math.isfinite(value):
                raise KernelError(f"{label} must be a finite number, not {value}")
            if abs(value) > MAX_WEIGHT:
                raise KernelError(f"{label} {value:g} is too large (at most {MAX_WEIGHT:g})")
            object.__setattr__(self, label, float(value))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Kernel):
            return NotImplemented
        return (
            self.weights.shape == other.weights.shape
            and bool(np.array_equal(self.weights, other.weights))
            and (self.scale, self.bias, self.name) == (other.scale, other.bias, other.name)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable-looking array inside: not hashable

    @property
    def shape(self) -> tuple[int, int]:
        return self.weights.shape  # type: ignore[return-value]

    @property
    def effective(self) -> np.ndarray:
        """The weights actually applied: ``weights * scale`` as float32."""
        return (self.weights * self.scale).astype(np.float32)

    @property
    def sum(self) -> float:
        """Sum of the effective weights: 1 keeps brightness, 0 responds only to change."""
        # fsum: exact, so +-1e6 rows still sum to 0 (a plain float sum can leave noise).
        return math.fsum(self.weights.ravel().tolist()) * self.scale

    def normalized(self) -> tuple[Kernel, str]:
        """Scale so the effective weights sum to 1, and say what happened.

        A kernel whose weights sum to zero (an edge or line detector) cannot be normalized
        that way; it is returned unchanged with a message that says so.
        """
        total = float(self.weights.sum())
        if abs(total) < 1e-12 * max(1.0, float(np.abs(self.weights).sum())):
            return self, (
                "The weights sum to 0 (the kernel responds only to change), "
                "so it was left as it is."
            )
        if abs(1.0 / total) > MAX_WEIGHT:
            return self, (
                f"The weights sum to nearly 0 ({total:.3g}): making them sum to 1 would need a "
                f"scale beyond {MAX_WEIGHT:g}, so the kernel was left as it is."
            )
        return replace(self, scale=1.0 / total), "Scaled so the weights sum to 1."

    def with_weights(self, weights: np.ndarray, name: str = "custom") -> Kernel:
        return replace(self, weights=weights, name=name)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "weights": self.weights.tolist(),
            "scale": self.scale,
            "bias": self.bias,
        }


def validate_weights(weights: object) -> np.ndarray:
    """Turn ``weights`` into a finite float64 (kh, kw) array or raise KernelError saying why."""
    if isinstance(weights, np.ndarray):
        array = weights
    else:
        if not isinstance(weights, (list, tuple)) or not weights:
            raise KernelError("weights must be a non-empty list of rows")
        rows = list(weights)
        if not all(isinstance(row, (list, tuple)) for row in rows):
            raise KernelError("weights must be a list of rows, each a list of numbers")
        widths = {len(row) for row in rows}
        if len(widths) != 1:
            raise KernelError(
                f"rows have different lengths ({sorted(widths)}): the kernel is ragged"
            )
        for row in rows:
            for value in row:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise KernelError(f"weights must be numbers, found {value!r}")
        array = np.array(rows, dtype=np.float64)
    if array.ndim != 2 or array.size == 0:
        raise KernelError(f"weights must form a non-empty 2-D grid, not shape {array.shape}")
    if max(array.shape) > MAX_KERNEL_SIZE:
        raise KernelError(
            f"a {array.shape[0]}x{array.shape[1]} kernel is too large "
            f"(at most {MAX_KERNEL_SIZE}x{MAX_KERNEL_SIZE})"
        )
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise KernelError(f"weights must be real numbers, not {array.dtype}")
    array = np.array(array, dtype=np.float64)  # a private copy the caller cannot mutate
    if not np.isfinite(array).all():
        raise KernelError("weights contain NaN or infinity")
    largest = float(np.abs(array).max())
    if largest > MAX_WEIGHT:
        raise KernelError(
            f"a weight of magnitude {largest:g} is too large (at most {MAX_WEIGHT:g}, "
            "as when typing one)"
        )
    return array


def _binomial(n: int) -> np.ndarray:
    row = np.array([math.comb(n - 1, i) for i in range(n)], dtype=np.float64)
    return np.outer(row, row)


_LINE = [[1, 1, 1], [0, 0, 0], [-1, -1, -1]]
_SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
_PREWITT_X = [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]
_SCHARR_X = [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]]

# name -> (weights, scale, lesson). Integer weights with a scale keep the numbers readable.
_PRESETS: dict[str, tuple[object, float, str]] = {
    "identity": (
        [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
        1.0,
        "A single 1 in the middle copies each pixel: the output is the input.",
    ),
    "horizontal-lines": (
        _LINE,
        1.0,
        "A row of 1s over a row of -1s lights up horizontal lines and edges, "
        "and erases vertical ones.",
    ),
    "vertical-lines": (
        np.transpose(_LINE),
        1.0,
        "A column of 1s beside a column of -1s lights up vertical lines, "
        "and erases horizontal ones.",
    ),
    "sobel-x": (
        _SOBEL_X,
        1.0,
        "Left-to-right brightness change, weighted towards the centre row: finds vertical edges.",
    ),
    "sobel-y": (
        np.transpose(_SOBEL_X),
        1.0,
        "Top-to-bottom brightness change, weighted towards the centre column: "
        "finds horizontal edges.",
    ),
    "prewitt-x": (
        _PREWITT_X,
        1.0,
        "Like Sobel-x with equal row weights: a plain left-right difference.",
    ),
    "prewitt-y": (
        np.transpose(_PREWITT_X),
        1.0,
        "Like Sobel-y with equal weights: a plain top-bottom difference.",
    ),
    "scharr-x": (_SCHARR_X, 1.0, "A Sobel-x tuned so edges at every angle get a fairer response."),
    "scharr-y": (
        np.transpose(_SCHARR_X),
        1.0,
        "A Sobel-y tuned so edges at every angle get a fairer response.",
    ),
    "laplacian": (
        [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
        1.0,
        "Centre against its four neighbours: zero on flat areas, strong on edges of any direction.",
    ),
    "laplacian-8": (
        [[1, 1, 1], [1, -8, 1], [1, 1, 1]],
        1.0,
        "Centre against all eight neighbours: a Laplacian that also sees diagonal detail.",
    ),
    "sharpen": (
        [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
        1.0,
        "The identity plus a Laplacian: edges are exaggerated, so the image looks crisper.",
    ),
    "box-blur-3": (
        np.ones((3, 3)),
        1 / 9,
        "Every output is the mean of a 3x3 window: detail is smoothed away.",
    ),
    "box-blur-5": (np.ones((5, 5)), 1 / 25, "The mean of a 5x5 window: a stronger, blockier blur."),
    "gaussian-3": (
        _binomial(3),
        1 / 16,
        "A weighted mean that trusts the centre most: a gentle, natural blur.",
    ),
    "gaussian-5": (
        _binomial(5),
        1 / 256,
        "A wider Gaussian: smooths more while keeping shapes round.",
    ),
    "gaussian-7": (
        _binomial(7),
        1 / 4096,
        "A 7x7 Gaussian: removes fine texture, keeps the big shapes.",
    ),
    "emboss": (
        [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
        1.0,
        "Bright where brightness rises towards the bottom-right: the image looks carved in relief.",
    ),
    "outline": (
        [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
        1.0,
        "Centre minus its neighbours: flat areas vanish and only outlines remain.",
    ),
    "diagonal-45": (
        [[-1, -1, 2], [-1, 2, -1], [2, -1, -1]],
        1.0,
        "A ridge of 2s from bottom-left to top-right finds lines at 45 degrees.",
    ),
    "diagonal-135": (
        [[2, -1, -1], [-1, 2, -1], [-1, -1, 2]],
        1.0,
        "A ridge of 2s from top-left to bottom-right finds lines at 135 degrees.",
    ),
    "log-5": (
        [
            [0, 0, -1, 0, 0],
            [0, -1, -2, -1, 0],
            [-1, -2, 16, -2, -1],
            [0, -1, -2, -1, 0],
            [0, 0, -1, 0, 0],
        ],
        1.0,
        "Laplacian of Gaussian: blur then Laplacian, so blobs and edges respond "
        "and noise does not.",
    ),
}

PRESET_NAMES: tuple[str, ...] = tuple(_PRESETS)
DEFAULT_PRESET = "horizontal-lines"


def preset(name: str) -> Kernel:
    """The preset kernel called ``name`` (kebab-case, see ``PRESET_NAMES``)."""
    try:
        weights, scale, lesson = _PRESETS[name]
    except KeyError:
        raise KernelError(
            f"no preset called {name!r}; choose one of: {', '.join(PRESET_NAMES)}"
        ) from None
    return Kernel(np.asarray(weights, dtype=np.float64), scale=scale, name=name, lesson=lesson)


def kernel_from_dict(data: object) -> Kernel:
    """Build a Kernel from the parsed JSON of a kernel file."""
    if not isinstance(data, dict):
        raise KernelError("a kernel file must hold a JSON object with a 'weights' field")
    if "weights" not in data:
        raise KernelError("the kernel file has no 'weights' field")
    name = data.get("name", "custom")
    if not isinstance(name, str):
        raise KernelError(f"name must be a string, not {name!r}")
    return Kernel(
        validate_weights(data["weights"]),
        scale=data.get("scale", 1.0),
        bias=data.get("bias", 0.0),
        name=name,
    )


def load_kernel(path: str | Path) -> Kernel:
    """Read a kernel JSON file; every problem raises KernelError naming the file and the reason."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KernelError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KernelError(f"{path}: cannot be read ({exc})") from None
    if not text.strip():
        raise KernelError(f"{path}: the file is empty")
    try:
        # NaN/Infinity are not JSON; reject them here rather than let json accept them.
        data = json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, KernelError) as exc:
        raise KernelError(f"{path}: not valid kernel JSON ({exc})") from None
    try:
        return kernel_from_dict(data)
    except KernelError as exc:
        raise KernelError(f"{path}: {exc}") from None


def _reject_constant(token: str) -> float:
    raise KernelError(f"{token} is not an allowed weight")


def kernel_to_json(kernel: Kernel) -> str:
    return json.dumps(kernel.to_dict(), indent=2) + "\n"


def save_kernel(path: str | Path, kernel: Kernel) -> None:
    """Write ``kernel`` as JSON atomically (a failed save leaves any old file untouched)."""
    from core.images import atomic_write

    atomic_write(path, kernel_to_json(kernel).encode("utf-8"))


def resolve_kernel(spec: str) -> Kernel:
    """A preset name, or else the path of a kernel JSON file (used by the batch command)."""
    if spec in _PRESETS:
        return preset(spec)
    if spec.lower().endswith(".json") or Path(spec).exists():
        return load_kernel(spec)
    raise KernelError(
        f"{spec!r} is neither a preset nor a kernel file; presets: {', '.join(PRESET_NAMES)}"
    )
