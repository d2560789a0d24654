"""The inspector: the arithmetic behind the hovered convolution pixel."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from core.explain import PixelExplanation

MAX_GRID = 7  # larger kernels are summarised: a 15x15 table of products helps nobody


def _grid(title: str, values: np.ndarray) -> str:
    cells = "".join(
        "<tr>" + "".join(f"<td align='right'>{v:.3g}</td>" for v in row) + "</tr>" for row in values
    )
    return (
        f"<td valign='top'><b>{title}</b><table cellspacing='0' cellpadding='2' "
        f"style='font-family: monospace; font-size: 9pt'>{cells}</table></td>"
    )


def explanation_html(exp: PixelExplanation) -> str:
    """HTML for the inspector: input values x weights = products, then the sum."""
    values, products = exp.values, exp.products
    channel_note = ""
    if values.ndim == 3:
        channel_note = " (red channel shown)"
        values, products = values[:, :, 0], products[:, :, 0]
    kh, kw = exp.weights.shape
    head = f"<b>Convolution pixel [{exp.row}, {exp.col}]</b>{channel_note}<br>"
    output = np.atleast_1d(exp.output)
    out_text = ", ".join(f"{v:.4g}" for v in output)
    if max(kh, kw) <= MAX_GRID:
        body = (
            "<table><tr>"
            + _grid("input", values)
            + "<td valign='middle'>&times;</td>"
            + _grid("weights", exp.weights)
            + "<td valign='middle'>=</td>"
            + _grid("products", products)
            + "</tr></table>"
        )
    else:
        body = f"{kh}x{kw} kernel: the {kh * kw} products are too many to list.<br>"
    bias = f" + bias {exp.bias:.4g}" if exp.bias else ""
    if output.size == 1:
        sum_text = f"sum of {exp.products.size} products{bias} = <b>{out_text}</b>"
    else:
        sum_text = f"one sum per channel{bias} = <b>{out_text}</b>"
    return f"{head}{body}{sum_text}"


class Inspector(QWidget):
    """Shows, for the hovered convolution pixel, the lecture's sum of multiplications."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.label.setToolTip(
            "Each output pixel is the sum of the input values under the kernel, each multiplied "
            "by its weight, plus the bias. Hover over any pane to see it."
        )
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self.clear()

    def clear(self) -> None:
        self.label.setText("<i>Hover over a pane to see how one output pixel is computed.</i>")

    def show_explanation(self, exp: PixelExplanation) -> None:
        self.label.setText(explanation_html(exp))
