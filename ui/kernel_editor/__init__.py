"""The kernel editor (a coloured weight grid, presets, tools, undo and files).

Its arithmetic (parsing typed weights, resizing, He-init randomizing, what a sum means) lives in
:mod:`core.kernel_math`; re-exported here because the editor's users and tests speak of it.
"""

from __future__ import annotations

from core.kernel_math import (
    WEIGHT_LIMIT,
    describe_weights,
    parse_number,
    resize_centred,
    sum_meaning,
)
from ui.kernel_editor.colors import weight_colors
from ui.kernel_editor.constants import (
    DRAG_PIXELS_PER_STEP,
    MAX_CELL,
    MERGE_WINDOW_SECONDS,
    MIN_CELL,
    WHEEL_STEP,
)
from ui.kernel_editor.editor import KernelEditor

__all__ = [
    "DRAG_PIXELS_PER_STEP",
    "MAX_CELL",
    "MERGE_WINDOW_SECONDS",
    "MIN_CELL",
    "WEIGHT_LIMIT",
    "WHEEL_STEP",
    "KernelEditor",
    "describe_weights",
    "parse_number",
    "resize_centred",
    "sum_meaning",
    "weight_colors",
]
