"""Kernel arithmetic the editor needs, with no Qt: parsing typed weights, resizing around the
anchor, He-initialised random weights, what a kernel's sum means and which preset it is.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from core.kernels import MAX_WEIGHT, PRESET_NAMES, Kernel, preset

__all__ = [
    "WEIGHT_LIMIT",
    "as_fraction",
    "describe_weights",
    "format_candidates",
    "format_full",
    "he_random_weights",
    "identify",
    "origin_of",
    "parse_number",
    "preset_lesson",
    "resize_centred",
    "sum_meaning",
]

WEIGHT_LIMIT = MAX_WEIGHT
"""Largest magnitude accepted for a typed weight: the same rule as for a loaded file."""

_PRESET_KERNELS = {name: preset(name) for name in PRESET_NAMES}
_PRESET_LESSONS = {name: kernel.lesson for name, kernel in _PRESET_KERNELS.items()}


def preset_lesson(name: str) -> str | None:
    """The one-line lesson of preset ``name`` (None if it is not a preset)."""
    return _PRESET_LESSONS.get(name)


def parse_number(text: str) -> float:
    """Parse a weight typed by a student: a plain number or a fraction such as ``1/9``.

    Raises
    ------
    ValueError
        If the text is not a finite number within ``WEIGHT_LIMIT``; the message says why.
    """
    cleaned = text.strip().replace("\u2212", "-").replace(",", ".")
    if not cleaned:
        raise ValueError("a weight cannot be empty")
    numerator, slash, denominator = cleaned.partition("/")
    try:
        value = float(numerator)
        if slash:
            divisor = float(denominator)
            if divisor == 0:
                raise ValueError("division by zero")
            value /= divisor
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{text.strip()!r} is not a finite number")
    if abs(value) > WEIGHT_LIMIT:
        raise ValueError(f"{text.strip()} is too large (at most {WEIGHT_LIMIT:g} in magnitude)")
    return value


def resize_centred(weights: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Resize a weight grid to ``rows x cols``, keeping the overlap around the anchor cell.

    The anchor (``(kh // 2, kw // 2)``, where OpenCV places a kernel's centre) stays on the
    anchor, so growing 3x3 to 5x5 pads a ring of zeros and shrinking crops the border.
    """
    old_rows, old_cols = weights.shape
    result = np.zeros((rows, cols), dtype=np.float64)
    dr, dc = rows // 2 - old_rows // 2, cols // 2 - old_cols // 2
    src_r0, src_c0 = max(0, -dr), max(0, -dc)
    dst_r0, dst_c0 = max(0, dr), max(0, dc)
    height = min(old_rows - src_r0, rows - dst_r0)
    width = min(old_cols - src_c0, cols - dst_c0)
    if height > 0 and width > 0:
        result[dst_r0 : dst_r0 + height, dst_c0 : dst_c0 + width] = weights[
            src_r0 : src_r0 + height, src_c0 : src_c0 + width
        ]
    return result


def sum_meaning(total: float) -> str:
    """One line saying what a kernel whose effective weights sum to ``total`` does."""
    if abs(total) < 1e-9:
        return "responds only to change: flat areas give 0"
    if abs(total - 1.0) < 1e-9:
        return "keeps the overall brightness"
    if total > 1.0:
        return f"brightens flat areas {total:.3g}x"
    if total > 0.0:
        return f"darkens flat areas to {total:.3g}x"
    return "inverts brightness: flat areas turn negative"


def format_full(value: float) -> str:
    return f"{value:.12g}"


def format_candidates(value: float) -> list[str]:
    """Ever shorter spellings of ``value`` for a cell, most precise first."""
    if value == int(value) and abs(value) < 1e6:
        return [str(int(value))]
    candidates = [f"{value:.{digits}g}" for digits in (4, 3, 2)]
    short = candidates[-1].replace("0.", ".", 1) if "e" not in candidates[-1] else candidates[-1]
    candidates.append(short)
    return list(dict.fromkeys(candidates))


def as_fraction(value: float) -> str | None:
    """``1/16`` for 0.0625 and the like, so a blur's scale reads as the teacher writes it."""
    if value == 0 or abs(value) >= 1:
        return None
    inverse = 1.0 / abs(value)
    whole = round(inverse)
    if whole < 2 or whole > 100000 or abs(inverse - whole) > 1e-9 * inverse:
        return None
    return f"{'-' if value < 0 else ''}1/{whole}"


def identify(kernel: Kernel) -> Kernel:
    """Name a kernel after the preset it equals (with its lesson), or 'custom' if it left one."""
    for name, candidate in _PRESET_KERNELS.items():
        if (
            candidate.shape == kernel.shape
            and np.array_equal(candidate.weights, kernel.weights)
            and math.isclose(candidate.scale, kernel.scale, rel_tol=1e-12)
        ):
            if kernel.name in ("custom", *PRESET_NAMES):
                return replace(kernel, name=name, lesson=candidate.lesson)
            return kernel
    origin = kernel.name if kernel.name in _PRESET_LESSONS else origin_of(kernel.lesson)
    if origin is not None:  # edited away from a preset: its lesson no longer holds
        return replace(
            kernel, name="custom", lesson=f"Modified {origin}: {describe_weights(kernel)}"
        )
    return kernel


def origin_of(lesson: str) -> str | None:
    """The preset a kernel's lesson came from (its own, or a "Modified NAME: ..." one)."""
    for name, text in _PRESET_LESSONS.items():
        if lesson == text or lesson.startswith(f"Modified {name}:"):
            return name
    return None


_DIRECTIONS = ("right", "bottom-right", "bottom", "bottom-left", "left", "top-left", "top")


def describe_weights(kernel: Kernel) -> str:
    """One sentence saying what ``kernel`` now responds to: the direction its weights rise
    towards (their first moment about the centre), else what their sum does."""
    weights = kernel.weights * kernel.scale
    rows, cols = np.indices(weights.shape, dtype=np.float64)
    dy = float((weights * (rows - (weights.shape[0] - 1) / 2)).sum())
    dx = float((weights * (cols - (weights.shape[1] - 1) / 2)).sum())
    if math.hypot(dx, dy) > 0.25 * float(np.abs(weights).sum()):
        sector = round(math.degrees(math.atan2(dy, dx)) / 45) % 8  # y grows downwards
        direction = "top-right" if sector == 7 else _DIRECTIONS[sector]
        return f"bright where brightness rises towards the {direction}."
    return f"its weights sum to {kernel.sum:.3g}, so it {sum_meaning(kernel.sum)}."


# --------------------------------------------------------------------------------------------
# Undo command
# --------------------------------------------------------------------------------------------


def he_random_weights(shape: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Random weights as a CNN filter starts before training (He initialisation).

    Normal with standard deviation ``sqrt(2 / fan_in)``, fan-in being the number of weights,
    rounded to 2 decimals so the cells stay readable.

    Returns
    -------
    (weights, std)
    """
    rows, cols = shape
    std = math.sqrt(2.0 / (rows * cols))
    return np.round(rng.normal(0.0, std, size=(rows, cols)), 2), std
