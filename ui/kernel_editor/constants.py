"""The editor's step sizes and cell sizes, shared by its grid and its controls."""

from __future__ import annotations

WHEEL_STEP = 0.1
"""Change of a weight per wheel notch or per drag step (Shift: x10, Ctrl: x0.1)."""
DRAG_PIXELS_PER_STEP = 5
"""Vertical mouse travel, in pixels, for one ``WHEEL_STEP`` while dragging on a cell."""
MERGE_WINDOW_SECONDS = 1.0
"""Wheel notches (or spin-box steps) closer together than this merge into one undo step."""

MIN_CELL = 24
MAX_CELL = 120

STEP_HELP = (
    f"Scroll over a cell: \u00b1{WHEEL_STEP:g} per notch (Shift \u00b1{WHEEL_STEP * 10:g}, "
    f"Ctrl \u00b1{WHEEL_STEP / 10:g}). Drag up/down on a cell to nudge it continuously. "
    "Type a number to set it (fractions like 1/9 work); Delete sets it to 0."
)
