"""The layer stack: list, add, remove, reorder and configure a network's layers.

A view of a :class:`~ui.network.network_document.NetworkDocument` (which holds the network,
its undo history and the input, and refuses edits that cannot work): a table of the layers
(name, kind, output shape, parameters, receptive field) that rows can be dragged in, the
selected layer's settings, buttons and menus to add, remove, move, open, save and start from
an example. Every user action is one edit: one ``networkChanged`` and one undo step.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QScrollArea,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.network import Network
from core.network.presets import FILTER_BANKS, list_presets
from ui.network.layer_config import LayerConfigPanel
from ui.network.layer_table import LayerTableModel
from ui.network.network_document import NEW_CONV_FILTERS, NEW_CONV_SIZE, NetworkDocument

_TABLE_ROWS = 12  # rows the table asks room for; a longer network scrolls

FILE_FILTER = "ConvScope network (*.json);;All files (*)"


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
        document: NetworkDocument | None = None,
    ) -> None:
        super().__init__(parent)
        #: The state this editor shows and edits; the window may share it with other views.
        if document is None:
            document = NetworkDocument(network, self, rng=rng)
        self.document = document
        self.undo_stack = self.document.undo_stack
        self._build()
        self.document.networkChanged.connect(self._on_network_changed)
        self.document.networkChanged.connect(self.networkChanged)
        self.document.message.connect(self._on_message)
        self.document.selectRequested.connect(self._on_select_requested)
        self.document.inputChanged.connect(self._refresh_table)
        self._refresh_table()
        self.select(0)

    # ------------------------------------------------------------------ public API

    def network(self) -> Network:
        """The network as it stands."""
        return self.document.network()

    def set_network(
        self, network: Network, text: str = "Replace network", *, check_fit: bool = True
    ) -> bool:
        """Replace the whole network as one undoable action (emits ``networkChanged``); see
        :meth:`NetworkDocument.set_network`."""
        return self.document.set_network(network, text, check_fit=check_fit)

    def set_input(self, shape: tuple[int, int], channels: int) -> None:
        """Tell the editor the input's (H, W) and channels: shapes and fields follow it, and
        edits that would not run on it are refused. Not an edit: emits nothing."""
        self.document.set_input(shape, channels)

    def input_shape(self) -> tuple[tuple[int, int], int]:
        """The input's (H, W) and channels, as last given to :meth:`set_input`."""
        return self.document.input_shape()

    def fit_to_input(self) -> bool:
        """Refit conv layers to the input's channels (one undoable action); False if none
        needed it. See :meth:`NetworkDocument.fit_to_input`."""
        return self.document.fit_to_input()

    def set_filter(
        self,
        layer_index: int,
        out_channel: int,
        in_channel: int,
        kernel: np.ndarray,
        bias: float | None = None,
    ) -> bool:
        """One filter slice from the kernel editor; see :meth:`NetworkDocument.set_filter`."""
        return self.document.set_filter(layer_index, out_channel, in_channel, kernel, bias)

    def selected_index(self) -> int | None:
        """Row of the selected layer, or None."""
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def select(self, index: int | None) -> None:
        """Select layer ``index`` (None: clear the selection) and show its settings."""
        selection = self.table.selectionModel()
        if index is None or not 0 <= index < len(self.network()):
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
        return self.document.load(path)

    def save_file(self, path: str | Path) -> bool:
        """Write the network (atomically); False (and a message) if it could not be written."""
        return self.document.save(path)

    def load_dialog(self) -> bool:
        """Ask for a network file and load it."""
        path, _ = QFileDialog.getOpenFileName(
            self, "Open network", self.document.last_dir, FILE_FILTER
        )
        return bool(path) and self.load_file(path)

    def save_dialog(self) -> bool:
        """Ask where to save the network and save it."""
        folder = Path(self.document.last_dir or ".")
        suggestion = str(folder / self.document.suggested_file_name())
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
        # Compact one-line rows: every layer of the examples fits without scrolling.
        self.table.setWordWrap(False)
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.table.fontMetrics().height() + 6)
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
        self.undo_action.triggered.connect(lambda checked=False: self._on_undo_redo(undo=True))
        self.undo_stack.canUndoChanged.connect(self.undo_action.setEnabled)
        # Bound methods, not lambdas: the document may outlive this editor, and Qt drops a
        # connection to a method of a deleted QObject but would still call a lambda.
        self.undo_stack.undoTextChanged.connect(self._on_undo_text_changed)
        self.redo_action = QAction("Redo", self)
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.redo_action.triggered.connect(lambda checked=False: self._on_undo_redo(undo=False))
        self.undo_stack.canRedoChanged.connect(self.redo_action.setEnabled)
        self.undo_stack.redoTextChanged.connect(self._on_redo_text_changed)
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
        # The settings scroll when the dock is short, so the table keeps every row visible.
        config_scroll = QScrollArea()
        config_scroll.setWidget(self.config)
        config_scroll.setWidgetResizable(True)
        config_scroll.setFrameShape(QFrame.Shape.NoFrame)
        splitter.addWidget(config_scroll)
        splitter.setChildrenCollapsible(False)
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
        banks.setToolTipsVisible(True)
        self.add_bank_actions = {}
        for bank, lesson in FILTER_BANKS.items():
            action = banks.addAction(bank)
            action.setToolTip(lesson)
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
        for name, lesson in list_presets():
            action = menu.addAction(name)
            action.setToolTip(lesson)
            action.triggered.connect(lambda checked=False, n=name: self._on_preset(n))
            self.preset_actions[name] = action
        menu.setToolTipsVisible(True)
        return menu

    # ------------------------------------------------------------------ slots

    def _refresh_table(self) -> None:
        selected = self.selected_index()
        rows = self.document.summaries()
        self.model.set_rows(rows)  # a reset clears the selection: restore it
        self._fit_table_height(len(rows))
        if selected is not None:
            self.select(min(selected, len(rows) - 1))
        self._update_buttons()

    def _fit_table_height(self, count: int) -> None:
        """Ask for room for every row (up to a dozen): the settings below scroll instead."""
        shown = max(3, min(count, _TABLE_ROWS))
        header = self.table.horizontalHeader().sizeHint().height()
        rows = shown * self.table.verticalHeader().defaultSectionSize()
        height = header + rows + 2 * self.table.frameWidth() + 2
        self.table.setMinimumHeight(height)
        self.table.setMaximumHeight(height)  # more would be empty: the settings get the rest

    def _on_network_changed(self, network: Network) -> None:
        self._refresh_table()
        self.config.show_layer(self._selected_layer())

    def _on_select_requested(self, index: int) -> None:
        self.select(None if index < 0 else index)
        self.config.show_layer(self._selected_layer())  # even if the row did not change

    def _on_message(self, text: str) -> None:
        self.status.setText(text)
        self.message.emit(text)
        # A refused edit leaves the controls showing what was refused: show the network.
        self.config.show_layer(self._selected_layer())

    def _selected_layer(self):
        index = self.selected_index()
        return None if index is None else self.network().layers[index]

    def _update_buttons(self) -> None:
        index = self.selected_index()
        count = len(self.network())
        has = index is not None
        self.remove_button.setEnabled(has and count > 1)
        self.up_button.setEnabled(has and index > 0)
        self.down_button.setEnabled(has and index < count - 1)

    def _on_selection_changed(self, *args) -> None:
        self.document.selected = self.selected_index()
        self.config.show_layer(self._selected_layer())
        self._update_buttons()

    def _on_undo_text_changed(self, text: str) -> None:
        self.undo_action.setToolTip(f"Undo {text}" if text else "Nothing to undo")

    def _on_redo_text_changed(self, text: str) -> None:
        self.redo_action.setToolTip(f"Redo {text}" if text else "Nothing to redo")

    def _on_undo_redo(self, undo: bool) -> None:
        stack = self.undo_stack
        if undo and stack.canUndo():
            text = stack.undoText()
            stack.undo()
            self._on_message(f"Undone: {text}.")  # replaces the note of the edit undone
        elif not undo and stack.canRedo():
            text = stack.redoText()
            stack.redo()
            self._on_message(f"Redone: {text}.")

    def _on_add(self, kind: str, bank: str | None = None) -> None:
        index = self.selected_index()
        self.document.add(kind, len(self.network()) if index is None else index + 1, bank)

    def _on_remove(self) -> None:
        index = self.selected_index()
        if index is None:
            self._on_message("Select the layer to remove first.")
            return
        self.document.remove(index)

    def _on_move_by(self, delta: int) -> None:
        index = self.selected_index()
        if index is not None:
            self.document.move(index, index + delta)

    def _on_move_requested(self, index: int, to: int) -> None:
        self.document.move(index, to)

    def _on_change_requested(self, field: str, value: object) -> None:
        index = self.selected_index()
        if index is not None and not self.document.configure(index, field, value):
            self.config.show_layer(self._selected_layer())

    def _on_rerandomize(self) -> None:
        index = self.selected_index()
        if index is not None:
            self.document.rerandomize(index)

    def _on_preset(self, name: str) -> None:
        self.document.start_from(name)
