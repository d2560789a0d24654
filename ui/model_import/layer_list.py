"""The dialog's list of a model's conv layers, and the words it uses for layers and pictures."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from core.models import ModelLayerInfo
from core.network import ActivationLayer, ConvLayer, Layer, PoolLayer
from core.network.filter_thumbnails import FilterThumbnails

#: " x " with the multiplication sign (escaped: ruff's RUF001 takes the sign for an x).
TIMES = " \N{MULTIPLICATION SIGN} "
COLUMNS = ("Layer", f"Shape (out{TIMES}in{TIMES}kh{TIMES}kw)", "Stride", "Padding")
_GUESS_TIP = (
    "The file holds weights only: stride and padding are ConvScope's defaults, not the "
    "model's. Change them in the network view if the model used others."
)


def shape_text(shape: Sequence[int]) -> str:
    """The shape as "4 (times) 3 (times) 3 (times) 3", with the multiplication sign."""
    return TIMES.join(str(n) for n in shape)


def make_layer_table(infos: Sequence[ModelLayerInfo], weights_only: bool) -> QTableWidget:
    """One row per conv layer: name, shape, stride, padding; one row selectable at a time.

    With ``weights_only``, stride and padding are ConvScope's guesses: drawn in italics, with
    a tooltip saying so.
    """
    table = QTableWidget(len(infos), len(COLUMNS))
    table.setHorizontalHeaderLabels(COLUMNS)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.setAlternatingRowColors(True)
    for row, info in enumerate(infos):
        cells = (info.name, shape_text(info.shape), str(info.stride), str(info.padding))
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if column > 0:
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            if weights_only and column >= 2:
                font = item.font()
                font.setItalic(True)
                item.setFont(font)
                item.setToolTip(_GUESS_TIP)
            table.setItem(row, column, item)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setToolTip(
        f"Shape in ConvScope's layout: filters (out){TIMES}input channels (in){TIMES}"
        f"kernel height{TIMES}kernel width"
    )
    # Wide enough to show every column without scrolling, unless names are very long.
    table.resizeColumnsToContents()
    scroll_bar = table.verticalScrollBar().sizeHint().width()
    width = header.length() + 2 * table.frameWidth() + scroll_bar + 4
    table.setMinimumWidth(min(max(width, 300), 480))
    return table


def describe_layer(layer: Layer) -> str:
    """A few words for one layer of the chain, e.g. ``conv1 (4 filters)``, ``max pool 2``."""
    if isinstance(layer, ConvLayer):
        return f"{layer.name} ({layer.weights.shape[0]} filters)"
    if isinstance(layer, ActivationLayer):
        return layer.function
    if isinstance(layer, PoolLayer):
        return f"{layer.mode} pool {layer.size}"
    return layer.name


def thumbnail_caption(thumbnails: FilterThumbnails) -> str:
    """How to read the picture: the colours, the colour cells, what was left out."""
    layout = thumbnails.layout
    out_c, in_c, _, _ = thumbnails.shape
    parts = ["Blue negative, white 0, red positive; one scale for the whole layer."]
    if layout.colour:
        parts.append("RGB: the filter's three input channels as red, green and blue (grey = 0).")
    elif in_c > 1:
        parts.append("Each row of cells is one filter, one cell per input channel.")
    cut = []
    if layout.filters < out_c:
        cut.append(f"the first {layout.filters} of {out_c} filters")
    if layout.channels < in_c:
        cut.append(f"input channels 0 to {layout.channels - 1} of {in_c}")
    if cut:
        parts.append("Showing " + " and ".join(cut) + ".")
    return " ".join(parts)
