"""The network engine: the workbench's network run on the input on screen, off the GUI thread.

It sits beside the still-image engine (:class:`~ui.workbench.Workbench` owns both): one
:class:`~ui.worker.LatestWinsWorker` running :func:`core.network.display.compute_network`.
A newer request replaces a pending one and only the newest result is delivered, and a result
computed for an input no longer on screen is dropped, so stale maps never land. A failure
clears the network's outputs and reports through :class:`~ui.messages.Messages`.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.network import Network, NetworkError
from core.network.display import (
    NetworkRequest,
    NetworkResult,
    compute_network,
    with_selection,
)
from ui.messages import Messages
from ui.worker import LatestWinsWorker

__all__ = ["GRID_CELL_SIDE", "NetworkEngine"]

#: Largest side of one map in the dock's grids: a column is a few hundred pixels wide, and a
#: 640x480x32 layer tiled whole is 3204x3366 pixels to draw and hand to Qt. A map clicked to
#: be shown large is drawn whole, and hover reads every unit of the run either way.
GRID_CELL_SIDE = 256


class NetworkEngine(QObject):
    """The network being explored, its selected map and its newest result.

    Signals
    -------
    result_changed(NetworkResult)
        A new result for the input on screen and the current network.
    selection_changed(NetworkResult)
        The same run with another map selected (only its pane view is new).
    cleared(str)
        There is no result (no network, or it cannot run on this input); the text says why.
    network_set()
        The network or the selected map changed (live mode runs them on its frames).
    """

    result_changed = Signal(object)
    selection_changed = Signal(object)
    cleared = Signal(str)
    network_set = Signal()

    def __init__(self, messages: Messages, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._messages = messages
        self._network: Network | None = None
        self._selected: tuple[int, int] | None = None
        self._image: np.ndarray | None = None
        self._levels_mode = "auto"
        self._result: NetworkResult | None = None
        self.worker = LatestWinsWorker(
            compute_network, name="network", user_errors=(NetworkError, ValueError)
        )
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        # A click on a map reuses the run on screen: only the clicked map's view is made.
        self.view_worker = LatestWinsWorker(
            lambda job: with_selection(*job), name="network view", user_errors=(ValueError,)
        )
        self.view_worker.finished.connect(self._on_view_done)

    # -- state -------------------------------------------------------------------------------
    @property
    def network(self) -> Network | None:
        return self._network

    @property
    def selected(self) -> tuple[int, int] | None:
        """(layer index, channel) of the map shown large, or None."""
        return self._selected

    @property
    def result(self) -> NetworkResult | None:
        """The newest result for the input on screen and the current network, or None."""
        return self._result

    # -- requests ----------------------------------------------------------------------------
    def set_network(self, network: Network | None) -> None:
        """Explore ``network`` (None: no network); recomputed on the current input."""
        self._network = network
        if network is None:
            self._selected = None
            self._result = None
            self.cleared.emit("no network")
            self.network_set.emit()
            return
        if self._selected is not None and self._selected[0] >= len(network):
            self._selected = None
        self.network_set.emit()
        self._submit()

    def select(self, selected: tuple[int, int] | None) -> None:
        """Show map ``selected`` = (layer index, channel) large (None: none)."""
        self._selected = selected
        self.network_set.emit()
        if self._result is not None and not self.worker.is_busy():
            self.view_worker.submit((self._result, selected))
        else:  # the next run selects it
            self._submit()

    def set_input(self, image: np.ndarray | None, levels_mode: str = "auto") -> None:
        """The input on screen changed (float32 [0, 1]); the network runs on it. None: no
        still input (live frames stream): the network's outputs are cleared, once."""
        if image is None and self._image is None:
            return
        self._image = image
        self._levels_mode = levels_mode
        self._result = None  # it describes another input: nothing may read it now
        if image is None:
            self.cleared.emit("no still image")
            return
        self._submit()

    def _submit(self) -> None:
        if self._network is None or self._image is None:
            return
        self.worker.submit(
            NetworkRequest(
                self._image,
                self._network,
                selected=self._selected,
                max_side=GRID_CELL_SIDE,
                levels_mode=self._levels_mode,
            )
        )

    # -- results -----------------------------------------------------------------------------
    def _current(self, request: NetworkRequest) -> bool:
        return request.image is self._image and request.network is self._network

    def _on_finished(self, job, result: NetworkResult) -> None:
        if not self._current(job.payload):
            return  # computed for an input or a network no longer shown
        self._result = result
        self._messages.resolve("network")
        self.result_changed.emit(result)

    def _on_view_done(self, job, result: NetworkResult) -> None:
        base, selected = job.payload
        if base is not self._result or selected != self._selected:
            return  # a newer run or another click replaced it
        self._result = result
        self.selection_changed.emit(result)

    def _on_failed(self, job, message: str) -> None:
        if not self._current(job.payload):
            return
        self._result = None
        self.cleared.emit("not computed")
        self._messages.show_error(f"Cannot run the network: {message}", topic="network")

    def is_busy(self) -> bool:
        return self.worker.is_busy() or self.view_worker.is_busy()

    def shutdown(self) -> None:
        self.worker.stop()
        self.view_worker.stop()
