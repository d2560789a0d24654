"""The editor's diverging colours: blue for negative, near-white for zero, red for positive."""

from __future__ import annotations

from PySide6.QtGui import QColor

# RdBu-like diverging stops: blue for negative, near-white for zero, red for positive.
_STOPS = (
    (33, 102, 172),
    (103, 169, 207),
    (247, 247, 247),
    (239, 138, 98),
    (178, 24, 43),
)

# Text colours are shared objects: the grid pass changes its pen only when the colour object does.
_TEXT_ON_DARK = QColor(255, 255, 255)
_TEXT_ON_LIGHT = QColor(25, 25, 25)
_TEXT_ZERO = QColor(150, 150, 150)  # zeros recede so the pattern of non-zeros stands out


def weight_colors(value: float, max_abs: float) -> tuple[QColor, QColor]:
    """Background and readable text colour for ``value`` on a map symmetric around 0.

    The text colour is one of three shared objects: read it, don't modify it.
    """
    t = 0.0 if max_abs <= 0 else min(1.0, max(-1.0, value / max_abs))
    position = (t + 1.0) * 2.0  # 0..4 across the five stops
    low = min(int(position), len(_STOPS) - 2)
    frac = position - low
    r, g, b = (
        a * (1.0 - frac) + z * frac for a, z in zip(_STOPS[low], _STOPS[low + 1], strict=True)
    )
    background = QColor(round(r), round(g), round(b))
    if value == 0:
        return background, _TEXT_ZERO
    luminance = (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255.0
    return background, _TEXT_ON_DARK if luminance < 0.5 else _TEXT_ON_LIGHT
