"""The "Network" dock: the layer stack editor beside every layer's maps, a view of the workbench.

The editor (:class:`~ui.network.LayerStackEditor`) owns the network's undoable edits; each
change goes to the workbench's network engine, whose results the map view
(:class:`~ui.network.network_view.NetworkView`) draws. A click on a map selects it (the
engine renders it for the convolution pane); filters and hover are the window's business
(``filterSliceClicked``, ``unitHovered`` are re-exported through :attr:`view`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy, QSplitter, QVBoxLayout, QWidget

from core.inputs import LoadedImage
from core.network import Network
from core.network.display import NetworkResult
from ui.network.layer_stack import LayerStackEditor
from ui.network.network_view import NetworkView
from ui.workbench import Workbench

__all__ = ["NetworkDock"]


class NetworkDock(QWidget):
    """Layer stack (left) and maps (right) of the network being explored.

    Parameters
    ----------
    workbench : Workbench
        Runs the network (``workbench.network``) on the input on screen.
    """

    def __init__(self, workbench: Workbench, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._workbench = workbench
        self._engine = workbench.network
        self.stack = LayerStackEditor()
        self.view = NetworkView()
        # A long readout must not widen the dock (the whole window would re-lay out on hover).
        self.view.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.stack)
        splitter.addWidget(self.view)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([340, 1000])  # the maps get the room
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)
        self.stack.networkChanged.connect(self._engine.set_network)
        self.stack.networkChanged.connect(lambda _network: self._sync_input())
        self.view.mapClicked.connect(self.select_map)
        self._engine.result_changed.connect(self._on_result)
        self._engine.cleared.connect(lambda _why: self.view.clear())
        workbench.input_changed.connect(self._on_input_changed)

    def network(self) -> Network:
        """The network in the editor (the one being explored)."""
        return self.stack.network()

    def set_network(self, network: Network, text: str = "Replace network") -> bool:
        """Replace the network (one undoable step) and explore it; False if refused."""
        if not self.stack.set_network(network, text, check_fit=False):
            return False
        if self._engine.network is not self.stack.network():  # an identical one emits nothing
            self._engine.set_network(self.stack.network())
        return True

    def select_map(self, layer_index: int | None, channel: int | None = None) -> None:
        """Show map ``channel`` of layer ``layer_index`` large in the convolution pane (None:
        the kernel's own output again)."""
        selected = None if layer_index is None or channel is None else (layer_index, channel)
        self._engine.select(selected)
        self.view.set_selected_map(layer_index, channel)

    def _on_input_changed(self, _loaded: LoadedImage, _same_size: bool) -> None:
        self._sync_input()

    def _sync_input(self) -> None:
        """Tell the layer list the input the network sees: a gray image feeds a 3-channel
        network as three equal channels, a colour one a 1-channel network as gray
        (``core.network.outputs.prepare_image``), so neither is flagged as unable to run."""
        loaded = self._workbench.loaded
        if loaded is None:
            return
        h, w = loaded.image.shape[:2]
        channels = 1 if loaded.image.ndim == 2 else loaded.image.shape[2]
        wanted = self.stack.network().in_channels
        if channels in (1, 3) and wanted in (1, 3):
            channels = wanted
        if self.stack.input_shape() != ((h, w), channels):
            self.stack.set_input((h, w), channels)

    def show_result(self, result: NetworkResult) -> None:
        """Draw ``result`` (a live frame's run: ``LiveController.network_shown``)."""
        self._on_result(result)

    def _on_result(self, result: NetworkResult) -> None:
        self.view.show_outputs(result.outputs, result.grids, result.filters)
        selected = self._engine.selected
        self.view.set_selected_map(*(selected if selected is not None else (None, None)))
