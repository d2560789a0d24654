"""What the window offers for networks: examples, files, model import, training, filter editing.

:class:`NetworkActions` holds the window's network actions (the menus call them) and the link
between a clicked filter and the kernel editor: the filter's weights load into the editor, and
every later edit there is written back into the network (``LayerStackEditor.set_filter``), so
the maps follow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDockWidget, QFileDialog, QWidget

from core.kernels import Kernel, KernelError
from core.network import ConvLayer, Network, NetworkError, load_network
from core.network.presets import FIELD_EXAMPLE, KERAS_EXAMPLE, build_preset, list_presets
from core.pipeline import kernel_network
from resources import DIGIT_SAMPLE, SAMPLES
from ui.kernel_editor import KernelEditor
from ui.messages import Messages
from ui.model_import import ask_import_model
from ui.network.layer_stack import FILE_FILTER
from ui.network_dock import NetworkDock
from ui.settings_store import SettingsStore
from ui.workbench import Workbench

__all__ = ["NetworkActions"]


class NetworkActions(QObject):
    """The window's network actions and the filter <-> kernel editor link.

    Parameters
    ----------
    workbench, dock, editor, store, messages
        The state, the network dock (and its ``QDockWidget`` ``frame``), the kernel editor,
        the remembered folders and the message bus.
    dialog_parent
        Parent of the file dialogs and the Train window.

    Signals
    -------
    editing_changed(str)
        What the kernel editor now edits: "" for the single kernel, else the filter's name.
    """

    editing_changed = Signal(str)

    def __init__(
        self,
        workbench: Workbench,
        dock: NetworkDock,
        frame: QDockWidget,
        editor: KernelEditor,
        store: SettingsStore,
        messages: Messages,
        dialog_parent: QWidget,
    ) -> None:
        super().__init__(dialog_parent)
        self._workbench = workbench
        self._dock = dock
        self._frame = frame
        self._editor = editor
        self._store = store
        self._messages = messages
        self._parent = dialog_parent
        #: (layer index, out channel, in channel) of the filter the kernel editor edits.
        self._editing: tuple[int, int, int] | None = None
        self.train_window = None
        dock.view.filterSliceClicked.connect(self.edit_filter)
        dock.stack.message.connect(messages.show_status)
        editor.kernel_changed.connect(self._on_kernel_edited)
        frame.toggleViewAction().toggled.connect(self._on_dock_toggled)
        #: (dock height, layer stack width) to show the dock with: last session's, then the
        #: person's last drag this session (None: a share of the window, see _apply_layout).
        self._layout = store.network_layout()
        frame.toggleViewAction().toggled.connect(self._on_dock_visibility)

    @property
    def editing_filter(self) -> tuple[int, int, int] | None:
        """(layer index, out channel, in channel) of the filter the kernel editor edits, or
        None (it edits the single kernel)."""
        return self._editing

    def _set_editing(self, target: tuple[int, int, int] | None, label: str = "") -> None:
        if target != self._editing:
            self._editing = target
            self.editing_changed.emit(label if target is not None else "")

    # -- the dock ----------------------------------------------------------------------------
    def show_dock(self) -> None:
        """Show the network dock and run its network on the input."""
        self._frame.show()
        self._on_dock_toggled(True)

    def dock_layout(self) -> tuple[int, int] | None:
        """(dock height, layer stack width) now if the dock is shown, else the one it will be
        shown with (None: the default share of the window)."""
        if self._frame.isHidden():
            return self._layout
        return self._frame.height(), self._dock.splitter.sizes()[0]

    def remember_layout(self) -> None:
        """Keep the dock's size, as the person dragged it, for the next session."""
        layout = self.dock_layout()
        if layout is not None:
            self._store.remember_network_layout(*layout)

    def _on_dock_visibility(self, shown: bool) -> None:
        if shown:
            self._apply_layout()
        elif self._frame.height() > 0:
            self._layout = (self._frame.height(), self._dock.splitter.sizes()[0])

    def _apply_layout(self) -> None:
        """Give the dock its remembered height, else 45% of the window: 32 maps and every
        layer's row must be readable, and the panes above keep over half (GUIDE: a network
        is read like CNN Explainer's columns)."""
        window = self._frame.parentWidget()
        if self._layout is not None:
            height, stack_width = self._layout
        else:
            height, stack_width = int(0.45 * window.height()), 340
        if self._frame.isFloating():
            self._frame.resize(self._frame.width(), height)
        else:
            window.resizeDocks([self._frame], [height], Qt.Orientation.Vertical)
        total = sum(self._dock.splitter.sizes()) or self._dock.width()
        self._dock.splitter.setSizes([stack_width, max(1, total - stack_width)])

    def _on_dock_toggled(self, shown: bool) -> None:
        engine = self._workbench.network
        if shown and engine.network is not self._dock.network():
            engine.set_network(self._dock.network())

    def use_network(self, network: Network, text: str) -> bool:
        """Explore ``network`` in the dock (one undoable step) and show it."""
        self._set_editing(None)  # its filters are another network's
        if not self._dock.set_network(network, text):
            return False
        self.show_dock()
        return True

    # -- examples ----------------------------------------------------------------------------
    @staticmethod
    def presets() -> list[tuple[str, str]]:
        """(name, lesson) of the example networks, in menu order: the lecture's two demos
        first, then the filter banks."""
        demos = (KERAS_EXAMPLE, FIELD_EXAMPLE)
        listed = list_presets()
        return [p for p in listed if p[0] in demos] + [p for p in listed if p[0] not in demos]

    def show_preset(self, name: str) -> bool:
        """Explore the example network ``name``; its lesson goes to the status line."""
        try:
            network = build_preset(name)
        except NetworkError as exc:
            self._messages.show_error(str(exc), topic="network")
            return False
        if not self.use_network(network, f"Example {name}"):
            return False
        self._show_on_its_image(name)
        lesson = dict(list_presets()).get(name, "")
        self._messages.show_status(f"{name}: {lesson}")
        return True

    def _show_on_its_image(self, name: str) -> None:
        """The Keras demo is the lecture's 28x28 digit: on a bundled sample, switch to the digit
        (so 26x26x32 -> 13x13x32 shows in one click); a person's own image is never replaced."""
        loaded = self._workbench.loaded
        digit = SAMPLES[DIGIT_SAMPLE]
        if (
            name == KERAS_EXAMPLE
            and loaded is not None
            and loaded.path in SAMPLES.values()
            and loaded.path != digit
        ):  # (a live frame has no path: live mode keeps its source)
            self._workbench.open_path(digit)

    def from_kernel(self) -> bool:
        """The single-kernel workbench as a network: conv, activation and pool of today."""
        loaded = self._workbench.loaded
        try:
            settings = self._workbench.settings()
        except ValueError as exc:
            self._messages.show_error(str(exc), topic="network")
            return False
        channels = 3 if loaded is not None and settings.color != "gray" else 1
        if loaded is not None and loaded.image.ndim == 2:
            channels = 1
        network = kernel_network(self._workbench.kernel(), settings, channels)
        return self.use_network(network, "From the current kernel")

    def show_kernel_output(self) -> None:
        """Back to the single kernel: the convolution pane shows its output again (no network
        map selected) and the kernel editor stops editing a network filter."""
        self._set_editing(None)
        self._dock.select_map(None, None)

    # -- files -------------------------------------------------------------------------------
    def open_file(self, path: str | Path) -> bool:
        """Open a network JSON into the dock; a bad file changes nothing (message)."""
        try:
            network = load_network(path)
        except NetworkError as exc:
            self._messages.show_error(
                f"Could not open network {Path(path).name}: {exc}", topic="network"
            )
            return False
        self._store.remember_folder(Path(path).parent)
        return self.use_network(network, f"Open {Path(path).name}")

    def open_dialog(self) -> bool:
        path, _ = QFileDialog.getOpenFileName(
            self._parent, "Open network", self._store.last_folder(), FILE_FILTER
        )
        return bool(path) and self.open_file(path)

    def save_file(self, path: str | Path) -> bool:
        """Write the dock's network as JSON (atomically); a failure is reported."""
        if not self._dock.stack.save_file(path):
            self._messages.show_error(self._dock.stack.document.save_error, topic="network")
            return False
        self._store.remember_folder(Path(path).parent)
        self._messages.show_status(f"Saved the network to {Path(path).name}")
        return True

    def save_dialog(self) -> bool:
        suggestion = str(
            Path(self._store.last_folder() or ".") / self._dock.stack.document.suggested_file_name()
        )
        path, _ = QFileDialog.getSaveFileName(self._parent, "Save network", suggestion, FILE_FILTER)
        if not path:
            return False
        if not Path(path).suffix:
            path += ".json"
        return self.save_file(path)

    def import_model(self, path: str | Path | None = None) -> bool:
        """Import layers of a model file (asks for it unless given) into the dock."""
        network = ask_import_model(self._parent, path, self._store.last_folder())
        if network is None:
            return False
        if path is not None:
            self._store.remember_folder(Path(path).parent)
        return self.use_network(network, "Import model")

    # -- training ----------------------------------------------------------------------------
    def open_train(self) -> QWidget:
        """The Train window, training the dock's network; "Use these filters" comes back."""
        from ui.training import TrainWindow  # heavy (the digits, the trainer): on demand

        if self.train_window is None:
            window = TrainWindow(self._parent, network_provider=self._dock.network)
            window.useFilters.connect(
                lambda network: self.use_network(network, "Filters learned in Train")
            )
            self.train_window = window
        self.train_window.show()
        return self.train_window

    def shutdown(self) -> None:
        """Stop the Train window's thread (idempotent)."""
        if self.train_window is not None:
            self.train_window.shutdown()
            self.train_window.close()
            self.train_window = None

    # -- a filter in the kernel editor -------------------------------------------------------
    def edit_filter(self, layer_index: int, out_channel: int, in_channel: int) -> bool:
        """Load one filter slice into the kernel editor; edits there go back to the network."""
        network = self._dock.network()
        layer = network.layers[layer_index] if 0 <= layer_index < len(network) else None
        if not isinstance(layer, ConvLayer):
            return False
        weights = np.asarray(layer.weights[out_channel, in_channel], dtype=np.float64)
        slice_text = f" (input channel {in_channel})" if layer.in_channels > 1 else ""
        try:
            kernel = Kernel(
                weights,
                bias=float(layer.bias[out_channel]),
                name=f"{layer.name} filter {out_channel}{slice_text}",
            )
        except KernelError as exc:
            self._messages.show_error(f"Cannot edit this filter: {exc}", topic="network")
            return False
        self._set_editing(None)  # loading it is not an edit of it
        self._editor.set_kernel(kernel)
        self._set_editing((layer_index, out_channel, in_channel), kernel.name)
        self._messages.show_status(
            f"Editing {layer.name} filter {out_channel}{slice_text} in the kernel editor: "
            "your edits change the network."
        )
        return True

    def _on_kernel_edited(self, kernel: Kernel) -> None:
        if self._editing is None:
            return
        layer_index, out_channel, in_channel = self._editing
        # A bias belongs to the whole filter: only a single-slice filter takes the editor's.
        network = self._dock.network()
        layer = network.layers[layer_index] if layer_index < len(network) else None
        bias = kernel.bias if isinstance(layer, ConvLayer) and layer.in_channels == 1 else None
        if not self._dock.stack.set_filter(
            layer_index, out_channel, in_channel, kernel.effective, bias
        ):
            self._set_editing(None)  # refused (a size the layer does not take): stop
