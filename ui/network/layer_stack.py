"""The layer stack: list, add, remove, reorder and configure a network's layers.

The editor holds one immutable :class:`Network`. Every user action (a button, a menu entry,
a drag, one settings change) becomes one command on a ``QUndoStack`` that swaps the old
network for the new one and emits ``networkChanged(network)`` once. The network logic itself
(refitting channels, resizing kernels, summaries) is Qt-free, in :mod:`core.network.editing`.
An edit that cannot be built, or that would no longer run on the current input, is refused:
the network stays as it was and ``message`` says why.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.images import SaveError
from core.network import ActivationLayer, ConvLayer, Network, NetworkError, PoolLayer, editing
from core.network.files import load_network, save_network
from ui.network.layer_config import LayerConfigPanel
from ui.network.layer_table import LayerTableModel

FILE_FILTER = "ConvScope network (*.json);;All files (*)"
DEFAULT_INPUT = ((28, 28), 1)  # until the window says what the input is: the lecture's digit
NEW_CONV_FILTERS = 8
NEW_CONV_SIZE = 3


def _default_network(rng: np.random.Generator) -> Network:
    return editing.example_network("Keras Conv2D(32, 3x3) + MaxPooling2D", 1, rng)


class _NetworkCommand(QUndoCommand):
    """Swap the editor's network; merges a burst of changes to one setting of one layer."""

    MERGE_ID = 1901

    def __init__(self, editor, old, new, text, select, merge_key=None) -> None:
        super().__init__(text)
        self._editor = editor
        self.old, self.new = old, new
        self.old_select = editor.selected_index()
        self.new_select = select
        self.merge_key = merge_key

    def id(self) -> int:
        return self.MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other) -> bool:
        if other.merge_key is None or other.merge_key != self.merge_key:
            return False
        self.new, self.new_select = other.new, other.new_select
        return True

    def redo(self) -> None:
        self._editor._show(self.new, self.new_select)

    def undo(self) -> None:
        self._editor._show(self.old, self.old_select)


class LayerStackEditor(QWidget):
    """List, add, remove, reorder and configure the layers of a network.

    Signals
    -------
    networkChanged(Network)
        After every user action that changed the network (also on undo and redo).
    message(str)
        What an action did or why it was refused; also shown in the editor's status line.
    """

    networkChanged = Signal(object)
    message = Signal(str)

    def __init__(
        self,
        network: Network | None = None,
        parent: QWidget | None = None,
        *,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__(parent)
        self._rng = rng if rng is not None else np.random.default_rng()
        self._network = network if network is not None else _default_network(self._rng)
        self._input_shape, self._input_channels = DEFAULT_INPUT
        self._last_dir = ""
        self.undo_stack = QUndoStack(self)
        self._build()
        self._show(self._network, 0)

    # ------------------------------------------------------------------ public API

    def network(self) -> Network:
        """The network as it stands."""
        return self._network

    def set_network(self, network: Network, text: str = "Replace network") -> None:
        """Replace the whole network as one undoable action (emits ``networkChanged``)."""
        self._push(network, text, 0)

    def set_input(self, shape: tuple[int, int], channels: int) -> None:
        """Tell the editor the input's (H, W) and channels: shapes and fields follow it, and
        edits that would not run on it are refused. Not an edit: emits nothing."""
        self._input_shape, self._input_channels = (int(shape[0]), int(shape[1])), int(channels)
        self._refresh_table()

    def input_shape(self) -> tuple[tuple[int, int], int]:
        """The input's (H, W) and channels, as last given to :meth:`set_input`."""
        return self._input_shape, self._input_channels

    def fit_to_input(self) -> bool:
        """Refit every conv layer to the channels that reach it from the current input (say
        after the window switched from grey to colour), as one undoable action; False if
        nothing needed refitting."""
        network, notes = editing.fit_channels(self._network.layers, self._input_channels, self._rng)
        if not notes:
            return False
        network = Network(network.layers, name=self._network.name)
        return self._push(
            network, "Fit to the input's channels", self.selected_index(), notes=notes
        )

    def set_filter(
        self,
        layer_index: int,
        out_channel: int,
        in_channel: int,
        kernel: np.ndarray,
        bias: float | None = None,
    ) -> bool:
        """Replace one filter slice (and optionally its bias) of a conv layer, as the kernel
        editor does when a filter is edited there. Consecutive edits of the same slice merge
        into one undo step (a drag in the editor). False (and a message) if refused."""
        layer = self._network.layers[layer_index] if 0 <= layer_index < len(self._network) else None
        if not isinstance(layer, ConvLayer):
            self._say(f"Layer {layer_index + 1} is not a conv layer: it has no filters.")
            return False
        kernel = np.asarray(kernel, dtype=np.float32)
        if kernel.shape != layer.kernel_size:
            kh, kw = layer.kernel_size
            self._say(
                f"{layer.name}'s filters are {kh}x{kw}; change the layer's kernel size to use a "
                f"{kernel.shape[0]}x{kernel.shape[1]} kernel."
            )
            return False
        if not (0 <= out_channel < layer.out_channels and 0 <= in_channel < layer.in_channels):
            self._say(f"{layer.name} has no filter {out_channel} for input channel {in_channel}.")
            return False
        weights = np.array(layer.weights)
        weights[out_channel, in_channel] = kernel
        biases = np.array(layer.bias)
        if bias is not None:
            biases[out_channel] = bias
        text = f"Edit {layer.name} filter {out_channel}"
        return self._attempt(
            lambda: editing.replace_layer(
                self._network,
                layer_index,
                replace(layer, weights=weights, bias=biases),
                self._input_channels,
                self._rng,
            ),
            text,
            layer_index,
            merge_key=("filter", layer_index, out_channel, in_channel),
        )

    def selected_index(self) -> int | None:
        """Row of the selected layer, or None."""
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def select(self, index: int | None) -> None:
        """Select layer ``index`` (None: clear the selection) and show its settings."""
        selection = self.table.selectionModel()
        if index is None or not 0 <= index < len(self._network):
            selection.clearSelection()
            return
        selection.select(
            self.model.index(index, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.setCurrentIndex(self.model.index(index, 1))

    def load_file(self, path: str | Path) -> bool:
        """Load a network file as one undoable action; False (and a message) if unusable."""
        try:
            network = load_network(path)
        except NetworkError as exc:
            self._say(f"Could not load {Path(path).name}: {exc}")
            return False
        self._last_dir = str(Path(path).parent)
        self._push(network, f"Load {Path(path).name}", 0, check_fit=False)
        self._say(f"Loaded {Path(path).name}: {len(network)} layers." + self._fit_warning())
        return True

    def save_file(self, path: str | Path) -> bool:
        """Write the network (atomically); False (and a message) if it could not be written."""
        try:
            save_network(self._network, path)
        except (OSError, SaveError, NetworkError) as exc:
            self._say(f"Could not save {Path(path).name}: {exc}")
            return False
        self._last_dir = str(Path(path).parent)
        self._say(f"Saved {Path(path).name}.")
        return True

    def load_dialog(self) -> bool:
        """Ask for a network file and load it."""
        path, _ = QFileDialog.getOpenFileName(self, "Open network", self._last_dir, FILE_FILTER)
        return bool(path) and self.load_file(path)

    def save_dialog(self) -> bool:
        """Ask where to save the network and save it."""
        suggestion = str(Path(self._last_dir or ".") / f"{self._safe_stem()}.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save network", suggestion, FILE_FILTER)
        if not path:
            return False
        if not Path(path).suffix:
            path += ".json"
        return self.save_file(path)

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        self.model = LayerTableModel(self)
        self.model.moveRequested.connect(self._on_move_requested)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setDragEnabled(True)
        self.table.setAcceptDrops(True)
        self.table.setDropIndicatorShown(True)
        self.table.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.table.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.table.setDragDropOverwriteMode(False)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)

        self.config = LayerConfigPanel()
        self.config.changeRequested.connect(self._on_change_requested)
        self.config.rerandomizeRequested.connect(self._on_rerandomize)

        self.add_button = self._tool_button("Add", "Add a layer after the selected one.")
        self.add_button.setMenu(self._add_menu())
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.remove_button = self._tool_button("Remove", "Remove the selected layer (Delete).")
        self.remove_button.clicked.connect(lambda checked=False: self._on_remove())
        self.up_button = self._tool_button("Up", "Move the selected layer up (or drag it).")
        self.up_button.clicked.connect(lambda checked=False: self._on_move_by(-1))
        self.down_button = self._tool_button("Down", "Move the selected layer down (or drag it).")
        self.down_button.clicked.connect(lambda checked=False: self._on_move_by(1))
        self.open_button = self._tool_button("Open…", "Open a network file (JSON).")
        self.open_button.clicked.connect(lambda checked=False: self.load_dialog())
        self.save_button = self._tool_button("Save…", "Save the network as a JSON file.")
        self.save_button.clicked.connect(lambda checked=False: self.save_dialog())
        self.preset_button = self._tool_button("Start from", "Replace the network by an example.")
        self.preset_button.setMenu(self._preset_menu())
        self.preset_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)

        # Plain actions, not createUndoAction: its text grows with the command's ("Undo Set
        # conv1 filters") and the button would be elided; the command text goes in the tooltip.
        self.undo_action = QAction("Undo", self)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.triggered.connect(lambda checked=False: self.undo_stack.undo())
        self.undo_stack.canUndoChanged.connect(self.undo_action.setEnabled)
        self.undo_stack.undoTextChanged.connect(
            lambda text: self.undo_action.setToolTip(f"Undo {text}" if text else "Nothing to undo")
        )
        self.redo_action = QAction("Redo", self)
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.redo_action.triggered.connect(lambda checked=False: self.undo_stack.redo())
        self.undo_stack.canRedoChanged.connect(self.redo_action.setEnabled)
        self.undo_stack.redoTextChanged.connect(
            lambda text: self.redo_action.setToolTip(f"Redo {text}" if text else "Nothing to redo")
        )
        self.undo_action.setEnabled(False)
        self.redo_action.setEnabled(False)
        self.remove_action = QAction("Remove layer", self)
        self.remove_action.setShortcut(QKeySequence.StandardKey.Delete)
        self.remove_action.triggered.connect(lambda checked=False: self._on_remove())
        for action in (self.undo_action, self.redo_action, self.remove_action):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)
        self.undo_button = QToolButton()
        self.undo_button.setDefaultAction(self.undo_action)
        self.redo_button = QToolButton()
        self.redo_button.setDefaultAction(self.redo_action)

        buttons = QHBoxLayout()
        for button in (
            self.add_button,
            self.remove_button,
            self.up_button,
            self.down_button,
            self.undo_button,
            self.redo_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        files = QHBoxLayout()
        for button in (self.preset_button, self.open_button, self.save_button):
            files.addWidget(button)
        files.addStretch(1)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.config)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(files)
        layout.addLayout(buttons)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)

    def _tool_button(self, text: str, tip: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        return button

    def _add_menu(self) -> QMenu:
        menu = QMenu(self)
        self.add_conv_action = menu.addAction(
            f"Conv: {NEW_CONV_FILTERS} random {NEW_CONV_SIZE}x{NEW_CONV_SIZE} filters (He)"
        )
        self.add_conv_action.triggered.connect(lambda checked=False: self._on_add("conv"))
        banks = menu.addMenu("Conv from a filter bank")
        self.add_bank_actions = {}
        for bank in editing.FILTER_BANKS:
            action = banks.addAction(bank)
            action.triggered.connect(lambda checked=False, b=bank: self._on_add("bank", b))
            self.add_bank_actions[bank] = action
        self.add_activation_action = menu.addAction("Activation (ReLU)")
        self.add_activation_action.triggered.connect(
            lambda checked=False: self._on_add("activation")
        )
        self.add_pool_action = menu.addAction("Max pool 2x2")
        self.add_pool_action.triggered.connect(lambda checked=False: self._on_add("pool"))
        return menu

    def _preset_menu(self) -> QMenu:
        menu = QMenu(self)
        self.preset_actions = {}
        for name, lesson in editing.EXAMPLE_NETWORKS.items():
            action = menu.addAction(name)
            action.setToolTip(lesson)
            action.triggered.connect(lambda checked=False, n=name: self._on_preset(n))
            self.preset_actions[name] = action
        menu.setToolTipsVisible(True)
        return menu

    # ------------------------------------------------------------------ state

    def _show(self, network: Network, select: int | None) -> None:
        """Make ``network`` current (from a command): table, selection, one signal."""
        changed = network is not self._network
        self._network = network
        self._refresh_table()
        self.select(select if select is not None else None)
        self._on_selection_changed()
        if changed:
            self.networkChanged.emit(network)

    def _refresh_table(self) -> None:
        selected = self.selected_index()
        rows = editing.summarize(self._network, self._input_shape, self._input_channels)
        self.model.set_rows(rows)
        if selected is not None:
            self.select(min(selected, len(rows) - 1))

    def _problems(self, network: Network) -> list[str]:
        rows = editing.summarize(network, self._input_shape, self._input_channels)
        return [f"{row.name}: {row.problem}" for row in rows if row.problem]

    def _fit_warning(self) -> str:
        problems = self._problems(self._network)
        if not problems:
            return ""
        h, w = self._input_shape
        return f" It does not run on the current {h}x{w} input: {problems[0]}."

    def _push(
        self,
        network: Network,
        text: str,
        select: int | None,
        *,
        notes: list[str] | None = None,
        merge_key: object = None,
        check_fit: bool = True,
    ) -> bool:
        """One user action: refuse it if the result would not run where the old one did."""
        if check_fit and not self._problems(self._network):
            problems = self._problems(network)
            if problems:
                h, w = self._input_shape
                self._say(f"{text} refused: on this {h}x{w} input, {problems[0]}.")
                self.config.show_layer(self._selected_layer())  # controls back to the network
                return False
        self.undo_stack.push(_NetworkCommand(self, self._network, network, text, select, merge_key))
        if notes:
            self._say(f"{text}: " + "; ".join(notes) + ".")
        return True

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.message.emit(text)

    def _selected_layer(self):
        index = self.selected_index()
        return None if index is None else self._network.layers[index]

    def _safe_stem(self) -> str:
        stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in self._network.name)
        return stem.strip("-") or "network"

    def _attempt(self, build, text: str, select, *, merge_key=None) -> bool:
        """Run ``build`` (-> (network, notes)); a NetworkError refuses the action."""
        try:
            network, notes = build()
        except NetworkError as exc:
            self._say(f"{text} refused: {exc}")
            self.config.show_layer(self._selected_layer())
            return False
        return self._push(network, text, select, notes=notes, merge_key=merge_key)

    # ------------------------------------------------------------------ slots

    def _on_selection_changed(self, *args) -> None:
        index = self.selected_index()
        self.config.show_layer(self._selected_layer())
        has = index is not None
        self.remove_button.setEnabled(has and len(self._network) > 1)
        self.up_button.setEnabled(has and index > 0)
        self.down_button.setEnabled(has and index < len(self._network) - 1)

    def _new_layer(self, kind: str, position: int, bank: str | None):
        names = [layer.name for layer in self._network.layers]
        channels = editing.channels_at(self._network, position, self._input_channels)
        if kind == "conv":
            return editing.random_conv(
                NEW_CONV_FILTERS,
                channels,
                NEW_CONV_SIZE,
                name=editing.unique_name("conv", names),
                rng=self._rng,
            )
        if kind == "bank":
            return editing.bank_conv(bank, channels, name=editing.unique_name("conv", names))
        if kind == "activation":
            return ActivationLayer("relu", name=editing.unique_name("relu", names))
        return PoolLayer("max", 2, name=editing.unique_name("pool", names))

    def _on_add(self, kind: str, bank: str | None = None) -> None:
        index = self.selected_index()
        position = len(self._network) if index is None else index + 1

        def build():
            layer = self._new_layer(kind, position, bank)
            return editing.insert_layer(
                self._network, position, layer, self._input_channels, self._rng
            )

        self._attempt(build, f"Add {kind if kind != 'bank' else bank}", position)

    def _on_remove(self) -> None:
        index = self.selected_index()
        if index is None:
            self._say("Select the layer to remove first.")
            return
        name = self._network.layers[index].name
        self._attempt(
            lambda: editing.remove_layer(self._network, index, self._input_channels, self._rng),
            f"Remove {name}",
            min(index, len(self._network) - 2),
        )

    def _on_move_by(self, delta: int) -> None:
        index = self.selected_index()
        if index is not None:
            self._on_move_requested(index, index + delta)

    def _on_move_requested(self, index: int, to: int) -> None:
        if not (0 <= index < len(self._network) and 0 <= to < len(self._network)) or to == index:
            return
        name = self._network.layers[index].name
        self._attempt(
            lambda: editing.move_layer(self._network, index, to, self._input_channels, self._rng),
            f"Move {name}",
            to,
        )

    def _on_change_requested(self, field: str, value: object) -> None:
        index = self.selected_index()
        if index is None:
            return
        layer = self._network.layers[index]
        if field == "name" and value == layer.name:
            return  # the name box lost focus without a change: not an edit

        def build():
            changed = editing.reconfigure(layer, field, value, self._rng)
            return editing.replace_layer(
                self._network, index, changed, self._input_channels, self._rng
            )

        label = field.replace("_", " ")
        self._attempt(build, f"Set {layer.name} {label}", index, merge_key=(index, field))

    def _on_rerandomize(self) -> None:
        index = self.selected_index()
        layer = self._selected_layer()
        if not isinstance(layer, ConvLayer):
            return
        self._attempt(
            lambda: editing.replace_layer(
                self._network,
                index,
                editing.rerandomized(layer, self._rng),
                self._input_channels,
                self._rng,
            ),
            f"Re-randomise {layer.name}",
            index,
        )

    def _on_preset(self, name: str) -> None:
        try:
            network = editing.example_network(name, self._input_channels, self._rng)
        except NetworkError as exc:
            self._say(f"Start from {name} refused: {exc}")
            return
        self._push(network, f"Start from {name}", 0, check_fit=False)
        self._say(f"{name}: {editing.EXAMPLE_NETWORKS[name]}" + self._fit_warning())
