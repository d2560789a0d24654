"""The training window: the Train view and the ask-why canvas in two tabs.

    window = TrainWindow(network_provider=lambda: document.network())
    window.useFilters.connect(document.set_network)   # "Use these filters"
    window.show()

Closing it stops a run and waits for the training thread, so no thread outlives it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QMainWindow, QTabWidget, QWidget

from core.network import Network, NetworkError
from ui.training.train_view import TrainView
from ui.training.why_view import DigitCanvasView
from ui.training.worker import DataLoader


class TrainWindow(QMainWindow):
    """Train a small CNN on digits and ask it why.

    Parameters
    ----------
    parent
        Owner widget (the main window), or None.
    network_provider
        Returns the layer stack's network (offered as a third choice of network), or None.
    data_loader
        ``load(spec, should_stop) -> (train_set, test_set)`` for ``spec`` "mnist",
        "synthetic" or a folder, run in the training thread; default
        :func:`core.nn.train_data.load_data`. Tests pass a small data set here.

    Signals
    -------
    useFilters(Network)
        "Use these filters": the learned layers before the classifier head.
    modelSaved(Path)
        The model was saved to that file.
    """

    useFilters = Signal(object)
    modelSaved = Signal(Path)

    def __init__(
        self,
        parent: QWidget | None = None,
        network_provider: Callable[[], Network | None] | None = None,
        data_loader: DataLoader | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("ConvScope: train a digit network")
        self.train_view = TrainView(network_provider=network_provider, data_loader=data_loader)
        self.why_view = DigitCanvasView()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.train_view, "Train")
        self.tabs.addTab(self.why_view, "Ask the model why")
        self.setCentralWidget(self.tabs)
        self.train_view.useFilters.connect(self.useFilters)
        self.train_view.modelSaved.connect(self.modelSaved)
        self.train_view.networkChanged.connect(self._on_network_changed)
        self.train_view.exampleChosen.connect(self._on_example_chosen)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self._why_network: Network | None = None
        self.resize(1500, 950)

    def shutdown(self) -> None:
        """Stop a run and wait for its thread; safe to call more than once."""
        self.train_view.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    def _on_network_changed(self, network: Network) -> None:
        # The ask-why view follows the model only while it is shown (it recomputes on a new
        # model, which is wasted work behind the Train tab).
        if self.tabs.currentWidget() is self.why_view:
            self._give_why_view(network)

    def _give_why_view(self, network: Network) -> None:
        if network is self._why_network:
            return
        self._why_network = network
        try:
            self.why_view.set_network(network)
        except NetworkError as exc:
            self.why_view.set_network(None)
            self.why_view.source_label.setText(str(exc))

    def _on_tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.why_view:
            self._give_why_view(self.train_view.network)

    def _on_example_chosen(self, index: int) -> None:
        test_set = self.train_view.test_set
        if test_set is None:
            return
        self.why_view.set_examples(test_set)
        self.tabs.setCurrentWidget(self.why_view)
        self.why_view.show_test_example(index)


__all__ = ["TrainWindow"]
