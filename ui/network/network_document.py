"""The network being edited: one immutable :class:`Network`, its undo history and its input.

Every edit (add, remove, move, configure, a filter from the kernel editor, load, an example)
is one command on the ``QUndoStack`` that swaps the old network for the new one and emits
``networkChanged(network)`` once. The network logic itself (refitting channels, resizing
kernels, summaries) is Qt-free, in :mod:`core.network.editing`; this object adds the history
and the rule for refusing: an edit that cannot be built, or that would no longer run on the
current input where the network did, leaves everything as it was and ``message`` says why.

Views (the layer stack, later the window) observe it; it knows nothing about widgets.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from core.images import SaveError
from core.network import ActivationLayer, ConvLayer, Network, NetworkError, PoolLayer, editing
from core.network.files import load_network, save_network
from core.network.presets import KERAS_EXAMPLE, PRESETS

DEFAULT_INPUT = ((28, 28), 1)  # until the window says what the input is: the lecture's digit
NEW_CONV_FILTERS = 8
NEW_CONV_SIZE = 3
ADD_KINDS = ("conv", "bank", "activation", "pool")


class _NetworkCommand(QUndoCommand):
    """Swap the document's network; merges a burst of edits with the same merge key."""

    MERGE_ID = 1901

    def __init__(self, document, new, text, select, merge_key=None) -> None:
        super().__init__(text)
        self._document = document
        self.old, self.new = document.network(), new
        self.old_select, self.new_select = document.selected, select
        self.merge_key = merge_key

    def id(self) -> int:
        return self.MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other) -> bool:  # Qt API name
        if other.merge_key is None or other.merge_key != self.merge_key:
            return False
        self.new, self.new_select = other.new, other.new_select
        return True

    def redo(self) -> None:
        self._document._show(self.new, self.new_select)

    def undo(self) -> None:
        self._document._show(self.old, self.old_select)


class NetworkDocument(QObject):
    """The network, its undo stack and the input it is edited for.

    Signals
    -------
    networkChanged(Network)
        After every edit, undo and redo: once per user action.
    message(str)
        What an edit did, or why it was refused.
    selectRequested(int)
        The layer a view should select after an edit, undo or redo (-1: none).
    inputChanged()
        :meth:`set_input` changed the input: shapes and fields in a view are stale.
    """

    networkChanged = Signal(object)
    message = Signal(str)
    selectRequested = Signal(int)
    inputChanged = Signal()

    def __init__(
        self,
        network: Network | None = None,
        parent: QObject | None = None,
        *,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__(parent)
        self._rng = rng if rng is not None else np.random.default_rng()
        if network is None:
            network = editing.example_network(KERAS_EXAMPLE, 1, self._rng)
        self._network = network
        self._input_shape, self._input_channels = DEFAULT_INPUT
        #: The layer the user has selected (views keep it current); undo restores it.
        self.selected: int | None = None
        self.last_dir = ""
        self.save_error = ""  # why the last save failed, in words for the person ("" if it did not)
        self.undo_stack = QUndoStack(self)

    # ------------------------------------------------------------------ state

    def network(self) -> Network:
        """The network as it stands."""
        return self._network

    def input_shape(self) -> tuple[tuple[int, int], int]:
        """The input's (H, W) and channels, as last given to :meth:`set_input`."""
        return self._input_shape, self._input_channels

    def set_input(self, shape: tuple[int, int], channels: int) -> None:
        """The input's (H, W) and channels: summaries follow it, and edits that would not run
        on it are refused. Not an edit: emits ``inputChanged`` only."""
        self._input_shape, self._input_channels = (int(shape[0]), int(shape[1])), int(channels)
        self.inputChanged.emit()

    def summaries(self) -> list[editing.LayerSummary]:
        """Each layer's output shape, parameters, receptive field and problem, for the input."""
        return editing.summarize(self._network, self._input_shape, self._input_channels)

    # ------------------------------------------------------------------ edits

    def set_network(
        self, network: Network, text: str = "Replace network", *, check_fit: bool = True
    ) -> bool:
        """Replace the whole network as one undoable edit. ``check_fit=False`` takes it even
        if it cannot run on the input (a file or example the person chose: they see why)."""
        return self._push(network, text, 0, check_fit=check_fit)

    def add(self, kind: str, position: int, bank: str | None = None) -> bool:
        """Insert a new layer at ``position``: ``conv`` (He-random), ``bank`` (a named filter
        bank, see ``core.network.presets.FILTER_BANKS``), ``activation`` (ReLU) or ``pool``
        (max 2x2)."""
        if kind not in ADD_KINDS:
            raise ValueError(f"kind must be one of {ADD_KINDS}, not {kind!r}")

        def build():
            layer = self._new_layer(kind, position, bank)
            return editing.insert_layer(
                self._network, position, layer, self._input_channels, self._rng
            )

        return self._attempt(build, f"Add {bank if kind == 'bank' else kind}", position)

    def remove(self, index: int) -> bool:
        """Remove layer ``index`` (a network keeps at least one layer)."""
        name = self._network.layers[index].name
        return self._attempt(
            lambda: editing.remove_layer(self._network, index, self._input_channels, self._rng),
            f"Remove {name}",
            max(0, min(index, len(self._network) - 2)),
        )

    def move(self, index: int, to: int) -> bool:
        """Move layer ``index`` to position ``to``."""
        if not (0 <= index < len(self._network) and 0 <= to < len(self._network)) or to == index:
            return False
        name = self._network.layers[index].name
        return self._attempt(
            lambda: editing.move_layer(self._network, index, to, self._input_channels, self._rng),
            f"Move {name}",
            to,
        )

    def configure(self, index: int, field: str, value: object) -> bool:
        """Change one setting of layer ``index`` (see ``editing.reconfigure``); a burst of
        changes to the same setting is one undo step."""
        layer = self._network.layers[index]
        if field == "name" and value == layer.name:
            return False  # a name box that lost focus without a change: not an edit

        def build():
            changed = editing.reconfigure(layer, field, value, self._rng)
            return editing.replace_layer(
                self._network, index, changed, self._input_channels, self._rng
            )

        label = field.replace("_", " ")
        return self._attempt(build, f"Set {layer.name} {label}", index, merge_key=(index, field))

    def rerandomize(self, index: int) -> bool:
        """New He-random weights for conv layer ``index``."""
        layer = self._network.layers[index]
        if not isinstance(layer, ConvLayer):
            return False
        return self._attempt(
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
        layers = self._network.layers
        layer = layers[layer_index] if 0 <= layer_index < len(layers) else None
        if not isinstance(layer, ConvLayer):
            self._say(f"Layer {layer_index + 1} is not a conv layer: it has no filters.")
            return False
        kernel = np.asarray(kernel, dtype=np.float32)
        if kernel.shape != layer.kernel_size:
            kh, kw = layer.kernel_size
            self._say(
                f"{layer.name}'s filters are {kh}x{kw}; change the layer's kernel size to use "
                f"a {'x'.join(map(str, kernel.shape))} kernel."
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
        changed = replace(layer, weights=weights, bias=biases)
        return self._attempt(
            lambda: editing.replace_layer(
                self._network, layer_index, changed, self._input_channels, self._rng
            ),
            f"Edit {layer.name} filter {out_channel}",
            layer_index,
            merge_key=("filter", layer_index, out_channel, in_channel),
        )

    def fit_to_input(self) -> bool:
        """Refit every conv layer to the channels that reach it from the input (say after the
        window switched from grey to colour); False if nothing needed refitting."""
        fitted, notes = editing.fit_channels(self._network.layers, self._input_channels, self._rng)
        if not notes:
            return False
        network = Network(fitted.layers, name=self._network.name)
        return self._push(network, "Fit to the input's channels", self.selected, notes=notes)

    def start_from(self, name: str) -> bool:
        """Replace the network by the example ``name`` (see ``core.network.presets``)."""
        try:
            network = editing.example_network(name, self._input_channels, self._rng)
        except NetworkError as exc:
            self._say(f"Start from {name} refused: {exc}")
            return False
        self._push(network, f"Start from {name}", 0, check_fit=False)
        self._say(f"{name}: {PRESETS[name]}" + self._fit_warning())
        return True

    # ------------------------------------------------------------------ files

    def load(self, path: str | Path) -> bool:
        """Load a network file as one undoable edit; False (and a message) if unusable. A
        network that does not run on the current input is kept, with a warning."""
        try:
            network = load_network(path)
        except NetworkError as exc:
            self._say(f"Could not load {Path(path).name}: {exc}")
            return False
        self.last_dir = str(Path(path).parent)
        self._push(network, f"Load {Path(path).name}", 0, check_fit=False)
        self._say(f"Loaded {Path(path).name}: {len(network)} layers." + self._fit_warning())
        return True

    def save(self, path: str | Path) -> bool:
        """Write the network (atomically); False (and a message) if it could not be written."""
        try:
            save_network(self._network, path)
        except (OSError, SaveError, NetworkError) as exc:
            # The file once, then the reason (a SaveError's own text names the path again).
            reason = exc.reason if isinstance(exc, SaveError) else str(exc)
            self.save_error = f"Could not save {Path(path).name}: {reason}"
            self._say(self.save_error)
            return False
        self.save_error = ""
        self.last_dir = str(Path(path).parent)
        self._say(f"Saved {Path(path).name}.")
        return True

    def suggested_file_name(self) -> str:
        """The network's name made safe for a file name, with .json."""
        stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in self._network.name)
        return f"{stem.strip('-') or 'network'}.json"

    # ------------------------------------------------------------------ internals

    def _show(self, network: Network, select: int | None) -> None:
        """Make ``network`` current (from a command): one signal, then the selection."""
        changed = network is not self._network
        self._network = network
        self.selected = select
        if changed:
            self.networkChanged.emit(network)
        self.selectRequested.emit(-1 if select is None else select)

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
        """One edit: refused if the result would not run where the old network did."""
        if check_fit and not self._problems(self._network):
            problems = self._problems(network)
            if problems:
                h, w = self._input_shape
                self._say(f"{text} refused: on this {h}x{w} input, {problems[0]}.")
                return False
        self.undo_stack.push(_NetworkCommand(self, network, text, select, merge_key))
        if notes:
            self._say(f"{text}: " + "; ".join(notes) + ".")
        return True

    def _attempt(self, build, text: str, select, *, merge_key=None) -> bool:
        """Run ``build`` (-> (network, notes)); a NetworkError refuses the edit."""
        try:
            network, notes = build()
        except NetworkError as exc:
            self._say(f"{text} refused: {exc}")
            return False
        return self._push(network, text, select, notes=notes, merge_key=merge_key)

    def _say(self, text: str) -> None:
        self.message.emit(text)

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
