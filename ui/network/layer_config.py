"""The layer stack's settings panel: the selected layer's configuration as controls.

The panel keeps no network: ``show_layer`` fills the controls, and every change a user makes
becomes one ``changeRequested(field, value)``; the editor builds the new layer (or refuses it
with a message) and shows it again, so the controls never disagree with the network.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QWidget,
)

from core.network.layers import (
    MAX_CHANNELS,
    MAX_KERNEL_SIDE,
    MAX_STEP,
    NETWORK_ACTIVATIONS,
    ActivationLayer,
    ConvLayer,
    Layer,
    PoolLayer,
)
from core.ops import BORDERS, PADDINGS, POOL_MODES

PIXELS = "pixels"  # the padding choice that enables the pixel count


def _spin(low: int, high: int, tip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setKeyboardTracking(False)  # typing "32" is one change, not "3" then "32"
    spin.setToolTip(tip)
    return spin


def _combo(items, tip: str) -> QComboBox:
    combo = QComboBox()
    combo.addItems(list(items))
    combo.setToolTip(tip)
    return combo


class LayerConfigPanel(QStackedWidget):
    """One page per layer kind (conv, activation, pool, other) for the selected layer."""

    changeRequested = Signal(str, object)
    rerandomizeRequested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._filling = False
        self.empty_page = QLabel("Select a layer to configure it.")
        self.empty_page.setWordWrap(True)
        self.addWidget(self.empty_page)
        self._build_conv_page()
        self._build_activation_page()
        self._build_pool_page()
        self.other_page = QLabel("Flatten and dense layers come from network files.")
        self.other_page.setWordWrap(True)
        self.addWidget(self.other_page)

    # Pages

    def _name_edit(self) -> QLineEdit:
        edit = QLineEdit()
        edit.setToolTip("The layer's name: unique in the network, used in file names on export.")
        edit.editingFinished.connect(lambda e=edit: self._emit("name", e.text().strip()))
        return edit

    def _build_conv_page(self) -> None:
        page = QWidget()
        form = QFormLayout(page)
        self.conv_name = self._name_edit()
        self.filters = _spin(1, MAX_CHANNELS, "How many filters (output channels) the layer has.")
        self.kernel_size = _spin(1, MAX_KERNEL_SIDE, "Each filter's side in pixels (k x k).")
        self.stride = _spin(1, MAX_STEP, "Pixels the filter moves between outputs.")
        self.padding = _combo(
            (*PADDINGS, PIXELS),
            "same: output as large as the input (/ stride); valid: only where the filter fits; "
            "full: every overlap; pixels: a fixed border.",
        )
        self.padding_pixels = _spin(0, MAX_STEP, "Padding in pixels on every side.")
        self.dilation = _spin(1, MAX_STEP, "Gaps between the filter's taps (1 = none).")
        self.border = _combo(BORDERS, "What the padding holds: zeros or copies of the image.")
        self.rerandomize = QPushButton("Re-randomise (He)")
        self.rerandomize.setToolTip("New random weights, std sqrt(2 / fan-in): untrained filters.")
        padding_row = QHBoxLayout()
        padding_row.addWidget(self.padding, 1)
        padding_row.addWidget(self.padding_pixels)
        form.addRow("Name", self.conv_name)
        form.addRow("Filters", self.filters)
        form.addRow("Kernel size", self.kernel_size)
        form.addRow("Stride", self.stride)
        form.addRow("Padding", padding_row)
        form.addRow("Dilation", self.dilation)
        form.addRow("Border", self.border)
        form.addRow(self.rerandomize)
        self.filters.valueChanged.connect(lambda v: self._emit("filters", v))
        self.kernel_size.valueChanged.connect(lambda v: self._emit("kernel_size", v))
        self.stride.valueChanged.connect(lambda v: self._emit("stride", v))
        self.dilation.valueChanged.connect(lambda v: self._emit("dilation", v))
        self.padding.currentTextChanged.connect(self._on_padding_changed)
        self.padding_pixels.valueChanged.connect(lambda v: self._emit("padding", v))
        self.border.currentTextChanged.connect(lambda t: self._emit("border", t))
        self.rerandomize.clicked.connect(lambda checked=False: self.rerandomizeRequested.emit())
        self.conv_page = page
        self.addWidget(page)

    def _build_activation_page(self) -> None:
        page = QWidget()
        form = QFormLayout(page)
        self.activation_name = self._name_edit()
        self.function = _combo(NETWORK_ACTIVATIONS, "The function applied to every value.")
        form.addRow("Name", self.activation_name)
        form.addRow("Function", self.function)
        self.function.currentTextChanged.connect(lambda t: self._emit("function", t))
        self.activation_page = page
        self.addWidget(page)

    def _build_pool_page(self) -> None:
        page = QWidget()
        form = QFormLayout(page)
        self.pool_name = self._name_edit()
        self.pool_mode = _combo(POOL_MODES, "Keep the largest, the mean or the smallest value.")
        self.pool_size = _spin(1, MAX_STEP, "Window side in pixels.")
        self.pool_stride = _spin(1, MAX_STEP, "Pixels between windows (= size: no overlap).")
        form.addRow("Name", self.pool_name)
        form.addRow("Mode", self.pool_mode)
        form.addRow("Size", self.pool_size)
        form.addRow("Stride", self.pool_stride)
        self.pool_mode.currentTextChanged.connect(lambda t: self._emit("mode", t))
        self.pool_size.valueChanged.connect(lambda v: self._emit("size", v))
        self.pool_stride.valueChanged.connect(lambda v: self._emit("stride", v))
        self.pool_page = page
        self.addWidget(page)

    # Filling and emitting

    def _emit(self, field: str, value: object) -> None:
        if not self._filling:
            self.changeRequested.emit(field, value)

    def _on_padding_changed(self, text: str) -> None:
        self.padding_pixels.setEnabled(text == PIXELS)
        self._emit("padding", self.padding_pixels.value() if text == PIXELS else text)

    def show_layer(self, layer: Layer | None) -> None:
        """Fill the controls from ``layer`` (None: nothing selected) without emitting."""
        self._filling = True
        try:
            if isinstance(layer, ConvLayer):
                self.conv_name.setText(layer.name)
                self.filters.setValue(layer.out_channels)
                self.kernel_size.setValue(max(layer.kernel_size))
                self.stride.setValue(layer.stride)
                pixels = isinstance(layer.padding, int)
                self.padding.setCurrentText(PIXELS if pixels else layer.padding)
                self.padding_pixels.setEnabled(pixels)
                self.padding_pixels.setValue(layer.padding if pixels else 0)
                self.dilation.setValue(layer.dilation)
                self.border.setCurrentText(layer.border)
                self.setCurrentWidget(self.conv_page)
            elif isinstance(layer, ActivationLayer):
                self.activation_name.setText(layer.name)
                self.function.setCurrentText(layer.function)
                self.setCurrentWidget(self.activation_page)
            elif isinstance(layer, PoolLayer):
                self.pool_name.setText(layer.name)
                self.pool_mode.setCurrentText(layer.mode)
                self.pool_size.setValue(layer.size)
                self.pool_stride.setValue(layer.stride)
                self.setCurrentWidget(self.pool_page)
            elif layer is None:
                self.setCurrentWidget(self.empty_page)
            else:
                self.setCurrentWidget(self.other_page)
        finally:
            self._filling = False
