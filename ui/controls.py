"""The control panel: every choice of the layer (padding ... pooling) and of the display."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.display import DIVERGING, SEQUENTIAL
from core.ops import ACTIVATIONS, BORDERS
from core.pipeline import COLOR_MODES, POOL_CHOICES, PipelineSettings

LEVEL_MODES = ("auto", "robust", "fixed")

_TIPS = {
    "padding": "How the border is handled: 'same' pads so the output keeps the input's size "
    "(divided by the stride), 'valid' only keeps positions where the whole kernel fits, "
    "'full' keeps every position where it touches the image, or a fixed number of pixels.",
    "pad_pixels": "Pixels of padding added on every side of the input.",
    "border": "What the padding is filled with: zeros (what CNNs use), a mirror of the image, "
    "the edge pixel repeated, or the opposite side of the image (wrap).",
    "stride": "Step between two kernel positions: stride 2 computes every other output, "
    "halving the map's size.",
    "dilation": "Spacing between the kernel's taps: dilation 2 spreads a 3x3 kernel over 5x5 "
    "pixels, seeing wider without more weights.",
    "flip": "Flip the kernel by 180 degrees before sliding it: mathematical convolution. "
    "CNN layers do not flip (they compute cross-correlation).",
    "activation": "The non-linearity applied to every convolution output before pooling; "
    "ReLU keeps positive matches and zeroes the rest.",
    "pool_mode": "Pooling keeps one number per window: the strongest (max), the mean (avg) or "
    "the weakest (min) response, shrinking the map while keeping where features are.",
    "pool_size": "Side of the pooling window, in convolution-output pixels.",
    "pool_stride": "Step between pooling windows; equal to the size by default so windows tile.",
    "color": "Grayscale: one map from the luminance. Per channel: the kernel filters R, G and B "
    "separately. One RGB kernel: like a Conv2D unit, the three responses are summed.",
    "colormap": "Colours used to draw the maps. 'auto' uses a diverging map centred on 0 for "
    "signed data and a sequential one otherwise.",
    "levels": "Which values map to the ends of the colormap: the full range (auto), the 1st-99th "
    "percentiles (robust, ignores outliers), or fixed where you set them on the histogram.",
}
_PER_CHANNEL_COLORMAP_TIP = (
    "Per-channel maps are drawn in colour: red shows how strongly the R channel responds, "
    "and so on, each through the levels (grey is 0 for signed maps); a colormap applies to a "
    "single map."
)
_COLOR_LABELS = {
    "gray": "Grayscale",
    "per-channel": "Per channel (R, G, B)",
    "rgb": "One RGB kernel",
}


def _combo(items, tip: str, labels: dict[str, str] | None = None) -> QComboBox:
    box = QComboBox()
    for item in items:
        box.addItem((labels or {}).get(item, item), item)
    box.setToolTip(tip)
    return box


def _spin(lo: int, hi: int, value: int, tip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(lo, hi)
    spin.setValue(value)
    spin.setToolTip(tip)
    return spin


def _select(box: QComboBox, value) -> None:
    index = box.findData(value)
    if index >= 0:
        box.setCurrentIndex(index)


class ControlPanel(QWidget):
    """Layer and display options. ``changed`` fires on every edit."""

    changed = Signal()
    display_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.padding = _combo(("same", "valid", "full", "pixels"), _TIPS["padding"])
        self.pad_pixels = _spin(0, 64, 1, _TIPS["pad_pixels"])
        self.pad_pixels.setEnabled(False)
        self.border = _combo(BORDERS, _TIPS["border"])
        self.stride = _spin(1, 16, 1, _TIPS["stride"])
        self.dilation = _spin(1, 16, 1, _TIPS["dilation"])
        self.flip = QCheckBox("Flip kernel (true convolution)")
        self.flip.setToolTip(_TIPS["flip"])
        self.activation = _combo(ACTIVATIONS, _TIPS["activation"])
        self.pool_mode = _combo(POOL_CHOICES, _TIPS["pool_mode"])
        self.pool_size = _spin(1, 16, 2, _TIPS["pool_size"])
        self.pool_stride = _spin(0, 16, 0, _TIPS["pool_stride"])
        self.pool_stride.setSpecialValueText("= size")
        self.color = _combo(COLOR_MODES, _TIPS["color"], _COLOR_LABELS)
        self.colormap = _combo(("auto", *DIVERGING, *SEQUENTIAL), _TIPS["colormap"])
        self.levels = _combo(LEVEL_MODES, _TIPS["levels"])

        padding_row = QHBoxLayout()
        padding_row.addWidget(self.padding, 1)
        padding_row.addWidget(self.pad_pixels)
        layer = QFormLayout()
        layer.addRow("Padding", padding_row)
        layer.addRow("Border", self.border)
        layer.addRow("Stride", self.stride)
        layer.addRow("Dilation", self.dilation)
        layer.addRow(self.flip)
        layer.addRow("Activation", self.activation)
        layer.addRow("Pooling", self.pool_mode)
        layer.addRow("Pool size", self.pool_size)
        layer.addRow("Pool stride", self.pool_stride)
        layer.addRow("Colour", self.color)
        layer_box = QGroupBox("Layer")
        layer_box.setLayout(layer)

        display = QFormLayout()
        display.addRow("Colormap", self.colormap)
        display.addRow("Levels", self.levels)
        display_box = QGroupBox("Display")
        display_box.setLayout(display)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(layer_box)
        layout.addWidget(display_box)
        layout.addStretch(1)

        self.set_settings(PipelineSettings())
        for box in (self.padding, self.border, self.activation, self.pool_mode, self.color):
            box.currentIndexChanged.connect(self._on_layer_edited)
        for spin in (self.pad_pixels, self.stride, self.dilation, self.pool_size, self.pool_stride):
            spin.valueChanged.connect(self._on_layer_edited)
        self.flip.toggled.connect(self._on_layer_edited)
        self.colormap.currentIndexChanged.connect(self.display_changed)
        self.levels.currentIndexChanged.connect(self.display_changed)

    def settings(self) -> PipelineSettings:
        padding = self.padding.currentData()
        return PipelineSettings(
            padding=self.pad_pixels.value() if padding == "pixels" else padding,
            border=self.border.currentData(),
            stride=self.stride.value(),
            dilation=self.dilation.value(),
            flip=self.flip.isChecked(),
            activation=self.activation.currentData(),
            pool_mode=self.pool_mode.currentData(),
            pool_size=self.pool_size.value(),
            pool_stride=self.pool_stride.value() or None,
            color=self.color.currentData(),
        )

    def set_settings(self, settings: PipelineSettings) -> None:
        """Show ``settings`` without emitting one ``changed`` per widget."""
        self.blockSignals(True)
        try:
            if isinstance(settings.padding, int):
                _select(self.padding, "pixels")
                self.pad_pixels.setValue(settings.padding)
            else:
                _select(self.padding, settings.padding)
            _select(self.border, settings.border)
            self.stride.setValue(settings.stride)
            self.dilation.setValue(settings.dilation)
            self.flip.setChecked(settings.flip)
            _select(self.activation, settings.activation)
            _select(self.pool_mode, settings.pool_mode)
            self.pool_size.setValue(settings.pool_size)
            self.pool_stride.setValue(settings.pool_stride or 0)
            _select(self.color, settings.color)
        finally:
            self.blockSignals(False)
        self._sync_enabled()

    def colormap_name(self) -> str:
        return self.colormap.currentData()

    def levels_mode(self) -> str:
        return self.levels.currentData()

    def set_levels_mode(self, mode: str) -> None:
        _select(self.levels, mode)

    def _sync_enabled(self) -> None:
        self.pad_pixels.setEnabled(self.padding.currentData() == "pixels")
        pooling = self.pool_mode.currentData() != "none"
        self.pool_size.setEnabled(pooling)
        self.pool_stride.setEnabled(pooling)
        per_channel = self.color.currentData() == "per-channel"
        self.colormap.setEnabled(not per_channel)
        self.colormap.setToolTip(_PER_CHANNEL_COLORMAP_TIP if per_channel else _TIPS["colormap"])

    def _on_layer_edited(self, *_args) -> None:
        if self.signalsBlocked():
            return
        self._sync_enabled()
        self.changed.emit()
