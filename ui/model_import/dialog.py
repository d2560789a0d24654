"""The Import model dialog: a model file's conv layers, their filters, and what to import.

The layer list comes from ``core.models.list_conv_layers`` (no weights read). A layer's
weights are read only when it is selected, in a background thread (an ONNX file is parsed
whole for every read, and a big one takes seconds), and kept, so importing it reads nothing
again. The chain of first layers (``core.models.read_network``) is read once, in a second
thread, so the layer thumbnails never wait behind it.
"""

from __future__ import annotations

import html
import os
import weakref
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.models import ModelLayerInfo, list_conv_layers, read_conv_layer, read_network
from core.network import ConvLayer, Network
from core.network.filter_thumbnails import FilterThumbnails, filter_thumbnails
from ui.model_import.filter_view import ColourBar, FilterBankView
from ui.model_import.formats import format_label, holds_weights_only
from ui.model_import.layer_list import (
    TIMES,
    describe_layer,
    make_layer_table,
    thumbnail_caption,
)
from ui.worker import Job, LatestWinsWorker

_READOUT_HINT = "Point at a weight to read its value."


# After the view was resized, wait this long for the next resize before drawing again.
_REFIT_DELAY_MS = 120
# Layers read are kept (importing one reads nothing again) up to this many bytes of weights;
# the least recently shown go first. A big model's layers can be hundreds of MB each.
_KEEP_BYTES = 512 * 2**20
# Closing waits this long for a read in progress; a longer one ends on its own, unheard.
_STOP_WAIT_S = 0.5


def _read_layer(
    path: Path, read: dict[str, ConvLayer], name: str, room: tuple[int, int]
) -> tuple[str, ConvLayer, FilterThumbnails, tuple[int, int]]:
    """Worker side: one layer's weights (read once: ``read`` holds those read before) and
    their picture, drawn to fit ``room``."""
    layer = read.get(name)
    if layer is None:
        layer = read_conv_layer(path, name)
    return name, layer, filter_thumbnails(layer, room), room


def _stop_readers(*readers: LatestWinsWorker) -> None:
    for reader in readers:
        reader.stop(_STOP_WAIT_S)


class ImportModelDialog(QDialog):
    """Choose a conv layer of a model file, or its chain of first layers, to import.

    Parameters
    ----------
    path : str or os.PathLike
        The model file. Its conv layers are listed at once (no weights are read).
    parent : QWidget, optional

    Raises
    ------
    core.models.ModelError
        The file cannot be read, or holds no conv layer (from ``list_conv_layers``).

    The first layer is read when the dialog is first shown. After ``exec()`` returns
    ``QDialog.Accepted``, :meth:`chosen_network` is the imported network. The reading
    threads stop when the dialog is closed (accepted or not) or :meth:`stop` is called.
    """

    def __init__(self, path: str | os.PathLike[str], parent: QWidget | None = None) -> None:
        self.path = Path(path)
        self.infos: list[ModelLayerInfo] = list_conv_layers(self.path)  # may raise ModelError
        super().__init__(parent)
        self.setWindowTitle(f"Import model — {self.path.name}")
        self.setObjectName("ImportModelDialog")
        # Layers read so far (name -> weights), and the picture of each with the room it was
        # drawn for. Written in the GUI thread only; the reading thread only looks up.
        self._read: dict[str, ConvLayer] = {}
        self._layers: dict[str, tuple[ConvLayer, FilterThumbnails, tuple[int, int]]] = {}
        self._errors: dict[str, str] = {}
        self._chain: Network | None = None
        self._chain_done = False
        self._chosen: Network | None = None
        self._stopped = False

        self._build()
        # The threads' functions hold the path and the dict, not the dialog (which may be
        # deleted while a long read ends).
        path, read = self.path, self._read
        self._layer_reader = LatestWinsWorker(
            lambda request: _read_layer(path, read, *request), name="model-layer", parent=self
        )
        self._layer_reader.finished.connect(self._on_layer_read)
        self._layer_reader.failed.connect(self._on_layer_failed)
        self._chain_reader = LatestWinsWorker(
            lambda _: read_network(path), name="model-chain", parent=self
        )
        # Stop the threads even if the dialog is dropped without being closed (a parentless
        # dialog's wrapper going away deletes it, and nothing else would stop them).
        weakref.finalize(self, _stop_readers, self._layer_reader, self._chain_reader)
        self._chain_reader.finished.connect(self._on_chain_read)
        self._chain_reader.failed.connect(self._on_chain_failed)
        self._chain_reader.submit(None)
        self._refit_timer = QTimer(self, singleShot=True, interval=_REFIT_DELAY_MS)
        self._refit_timer.timeout.connect(self._refit)
        self.filter_view.resized.connect(self._refit_timer.start)
        self._shown = False
        self.table.selectRow(0)  # read once the dialog is shown (see showEvent)

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        # Secondary text: the theme's text colour, lighter (readable on light and dark themes).
        text = self.palette().color(QPalette.ColorRole.WindowText)
        self._quiet = f"color: rgba({text.red()}, {text.green()}, {text.blue()}, 170);"
        title = QLabel(self.path.name)
        title.setTextFormat(Qt.TextFormat.PlainText)
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        title.setFont(font)
        title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        count = len(self.infos)
        self.format_label = QLabel(
            f"{format_label(self.path)}  ·  {count} conv layer{'s' * (count != 1)}  ·  "
            f"{self.path.absolute().parent}"
        )
        self.format_label.setTextFormat(Qt.TextFormat.PlainText)
        self.format_label.setToolTip(str(self.path))
        self.format_label.setStyleSheet(self._quiet)

        self.table = make_layer_table(self.infos, holds_weights_only(self.path))
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        # Fixed heights: text that changes with the selection must not move the picture
        # (each move would draw it again for the new room).
        lines = self.fontMetrics().lineSpacing()
        self.layer_title = QLabel()
        self.layer_title.setTextFormat(Qt.TextFormat.RichText)  # the name in bold, escaped
        self.layer_title.setFixedHeight(lines + 4)
        self.filter_view = FilterBankView()
        self.colour_bar = ColourBar()
        self.caption = QLabel()
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setWordWrap(True)
        self.caption.setFixedHeight(2 * lines + 4)
        self.caption.setStyleSheet(self._quiet)
        self.readout = QLabel(_READOUT_HINT)
        self.readout.setTextFormat(Qt.TextFormat.PlainText)
        self.readout.setFixedHeight(lines + 4)
        self.readout.setMinimumWidth(200)
        self.readout.setStyleSheet(self._quiet)
        self.filter_view.hovered.connect(self._on_hovered)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(8, 0, 0, 0)
        right_layout.addWidget(self.layer_title)
        right_layout.addWidget(self.filter_view, 1)
        right_layout.addWidget(self.colour_bar)
        right_layout.addWidget(self.caption)
        right_layout.addWidget(self.readout)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setChildrenCollapsible(False)

        self.chain_label = QLabel("First layers: reading…")
        self.chain_label.setTextFormat(Qt.TextFormat.PlainText)  # names come from the file
        self.chain_label.setWordWrap(True)
        self.chain_label.setFixedHeight(2 * lines + 4)
        self.layer_button = QPushButton("Import this layer")
        self.layer_button.setEnabled(False)
        self.layer_button.clicked.connect(self._on_import_layer)
        self.chain_button = QPushButton("Import the chain of first layers")
        self.chain_button.setEnabled(False)
        self.chain_button.setToolTip("Reading the model's first layers…")
        self.chain_button.clicked.connect(self._on_import_chain)
        buttons = QDialogButtonBox()
        buttons.addButton(self.chain_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.layer_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.format_label)
        layout.addWidget(splitter, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.chain_label, 1)
        bottom.addSpacing(12)
        bottom.addWidget(buttons)
        layout.addLayout(bottom)
        self.resize(1000, 640)
        # Focus in the list (arrow keys walk the layers); Enter then presses the default
        # button, Import this layer, not whichever button happened to have focus.
        self.table.setFocus()
        # Only once the button is in the dialog does setDefault reach the dialog (before,
        # the button box would make its first button the default on show).
        self.layer_button.setDefault(True)
        self.chain_button.setAutoDefault(False)
        self.cancel_button.setAutoDefault(False)

    # ------------------------------------------------------------------ state
    def selected_info(self) -> ModelLayerInfo | None:
        """The layer selected in the list, or None."""
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        return self.infos[min(rows)] if rows else None

    def selected_layer(self) -> ConvLayer | None:
        """The selected layer's weights once read, else None."""
        info = self.selected_info()
        return None if info is None else self._read.get(info.name)

    def is_busy(self) -> bool:
        """True while the selected layer or the chain is being read, or the picture is being
        drawn again for a new size (tests and screenshots wait for False)."""
        info = self.selected_info()
        layer_pending = (
            info is not None and info.name not in self._layers and info.name not in self._errors
        )
        return (
            layer_pending
            or not self._chain_done
            or (self._refit_timer.isActive() and self._needs_refit())
            or self._layer_reader.is_busy()
        )

    def chain(self) -> Network | None:
        """The chain of first layers, once read (None if the file has none)."""
        return self._chain

    def chosen_network(self) -> Network | None:
        """The network the user imported; None until a button imported one (or on cancel)."""
        return self._chosen

    # ------------------------------------------------------------------ slots
    def _on_selection_changed(self) -> None:
        info = self.selected_info()
        if info is None:
            self._show_layer(None)
            return
        if info.name in self._layers or info.name in self._errors:
            if info.name in self._read:  # most recently shown: kept longest
                self._read[info.name] = self._read.pop(info.name)
            self._show_layer(info)
            return
        self._show_layer(info)  # "reading…" until the weights arrive
        if self._shown and not self._stopped:
            self._layer_reader.submit((info.name, self.filter_view.room()))

    def _needs_refit(self) -> bool:
        """True when the shown picture was drawn for another room than the view's."""
        info = self.selected_info()
        entry = None if info is None else self._layers.get(info.name)
        return entry is not None and entry[2] != self.filter_view.room()

    def _refit(self) -> None:
        """Draw the shown layer again for the view's new room (from the weights read)."""
        if self._needs_refit():
            self._layer_reader.submit((self.selected_info().name, self.filter_view.room()))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shown:
            # Read the first layer once the layout has settled, so its picture is drawn
            # once, for the room it really has.
            self._shown = True
            QTimer.singleShot(0, self, self._on_selection_changed)

    def _on_hovered(self, text: str) -> None:
        self.readout.setText(text or _READOUT_HINT)
        self.readout.setStyleSheet("" if text else self._quiet)

    def _on_layer_read(self, job: Job, result) -> None:
        name, layer, thumbnails, room = result
        self._read[name] = layer
        self._layers[name] = (layer, thumbnails, room)
        self._forget_old_layers()
        info = self.selected_info()
        if info is not None and info.name == name:
            self._show_layer(info)

    def _forget_old_layers(self) -> None:
        """Drop the least recently read layers beyond ``_KEEP_BYTES`` (never the newest)."""
        while len(self._read) > 1 and (
            sum(layer.weights.nbytes for layer in self._read.values()) > _KEEP_BYTES
        ):
            oldest = next(iter(self._read))
            del self._read[oldest]
            self._layers.pop(oldest, None)

    def _on_layer_failed(self, job: Job, message: str) -> None:
        self._errors[job.payload[0]] = message
        info = self.selected_info()
        if info is not None and info.name == job.payload[0]:
            self._show_layer(info)

    def _show_layer(self, info: ModelLayerInfo | None) -> None:
        """Show the selected layer's filters, its reading state, or why it cannot be read."""
        self._on_hovered("")
        if info is None:
            self.layer_title.setText("Select a conv layer on the left.")
            self._clear_view("")
            self.layer_button.setEnabled(False)
            self.layer_button.setText("Import this layer")
            return
        out_c, in_c, kh, kw = info.shape
        self.layer_title.setText(
            f"<b>{html.escape(info.name)}</b> — {out_c} filter{'s' * (out_c != 1)} "
            f"of {kh}{TIMES}{kw}, "
            f"{in_c} input channel{'s' * (in_c != 1)}, stride {info.stride}, "
            f"padding {info.padding}"
            + (f", dilation {info.dilation}" if info.dilation != 1 else "")
            + ("" if info.has_bias else ", no bias")
        )
        self.layer_button.setText(f"Import layer {info.name}")
        if info.name in self._errors:
            self._clear_view(f"Cannot read this layer.\n\n{self._errors[info.name]}", error=True)
            self.layer_button.setEnabled(False)
            self.layer_button.setToolTip(self._errors[info.name])
            return
        entry = self._layers.get(info.name)
        if entry is None:
            self._clear_view(f"Reading the weights of {info.name}…")
            self.layer_button.setEnabled(False)
            self.layer_button.setToolTip("The layer's weights are still being read.")
            return
        layer, thumbnails, _ = entry
        self.filter_view.show_thumbnails(thumbnails, layer.weights)
        self.colour_bar.set_scale(thumbnails.levels, thumbnails.colormap)
        self.caption.setText(thumbnail_caption(thumbnails))
        self.layer_button.setEnabled(True)
        self.layer_button.setToolTip(
            f"Import {info.name} alone: a network of one conv layer with these weights."
        )

    def _clear_view(self, message: str, error: bool = False) -> None:
        """No picture: ``message`` in the middle of the view instead."""
        self.filter_view.show_thumbnails(None, message=message, error=error)
        self.colour_bar.set_scale(None, "RdBu_r")
        self.caption.setText("")
        self.readout.setText(" ")

    def _on_chain_read(self, job: Job, network: Network | None) -> None:
        self._chain_done = True
        self._chain = network
        if network is not None:
            steps = " → ".join(describe_layer(layer) for layer in network.layers)
            self.chain_label.setText(f"First layers: {steps}")
            self.chain_button.setText(f"Import the first {len(network.layers)} layers")
            self.chain_button.setToolTip(
                "Import the model's first layers as a network that runs on your images: " + steps
            )
            self.chain_button.setEnabled(True)
            return
        if holds_weights_only(self.path):
            why = (
                f"A {format_label(self.path)} file holds weights only, not how the layers "
                "connect: import one layer at a time."
            )
        else:
            why = (
                "The model does not start with conv, activation and pool layers ConvScope can "
                "run (or the file holds weights only): import one layer at a time."
            )
        self._disable_chain(why)

    def _on_chain_failed(self, job: Job, message: str) -> None:
        self._chain_done = True
        self._disable_chain(f"Cannot read the model's first layers: {message}")

    def _disable_chain(self, why: str) -> None:
        self.chain_label.setText(f"First layers: none to import. {why}")
        self.chain_label.setStyleSheet(self._quiet)
        self.chain_button.setEnabled(False)
        self.chain_button.setToolTip(why)

    def _on_import_layer(self) -> None:
        layer = self.selected_layer()
        if layer is None:
            return
        self._chosen = Network((layer,), name=f"{self.path.stem}:{layer.name}")
        self.accept()

    def _on_import_chain(self) -> None:
        if self._chain is None:
            return
        self._chosen = self._chain
        self.accept()

    # ------------------------------------------------------------------ closing
    def done(self, result: int) -> None:
        self.stop()
        super().done(result)

    def stop(self) -> None:
        """Stop the reading threads (idempotent). A read in progress is waited for half a
        second at most; a longer one finishes in its thread and its result is dropped."""
        if self._stopped:
            return
        self._stopped = True
        self._refit_timer.stop()
        _stop_readers(self._layer_reader, self._chain_reader)
