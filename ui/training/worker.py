"""The training thread: one ``core.nn.train`` generator, driven from a Python thread.

Pause means the thread stops asking the generator for events (its clock stops too); stop
means it closes the generator between two batches and ends. Everything the window shows
crosses back through queued signals, bundled at most about ten times a second: the batches'
losses since the last bundle, the newest copy of the weights and the pictures drawn from them
(in this thread, so the GUI thread only sets images).
"""

from __future__ import annotations

import math
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.network import Network, NetworkError
from core.network.views import GridImage
from core.nn.data import DataError, Dataset
from core.nn.train_data import Cancelled
from core.nn.train_views import (
    confusion_picture,
    filter_scale,
    filter_thumbnails,
    first_conv,
    first_layer_maps,
)
from core.nn.training import EpochEnd, Evaluation, Failed, Finished, Progress, TrainConfig, train

#: The training thread's nice value (0 is normal, 19 lowest).
TRAINING_NICE = int(os.environ.get("CONVSCOPE_TRAINING_NICE", "10"))
#: Least time between two bundles of progress sent to the GUI (about 10 redraws a second).
UPDATE_INTERVAL = 0.1

DataLoader = Callable[[str, Callable[[], bool]], tuple[Dataset, Dataset]]


@dataclass(frozen=True, eq=False)
class TrainRequest:
    """What to train: immutable, handed to the thread once."""

    network: Network
    data_spec: str  # "mnist", "synthetic" or a folder
    config: TrainConfig
    load: DataLoader
    filter_scale: float | None = None  # keep the colour scale of an earlier run


@dataclass(frozen=True, eq=False)
class Pictures:
    """The first layer drawn for the view: filters on the run's fixed scale, and the maps of
    the chosen example (None when the network has no conv layer)."""

    filters: GridImage | None
    scale: float | None
    maps: GridImage | None
    maps_name: str = ""


@dataclass(frozen=True, eq=False)
class Update:
    """Batches since the last update (``examples``, ``loss``, ``accuracy`` per batch)."""

    examples: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    epoch: int
    fraction: float
    examples_per_s: float
    seconds_left: float
    network: Network | None
    pictures: Pictures | None


@dataclass(frozen=True, eq=False)
class EpochResult:
    epoch: int
    examples: int
    test: Evaluation
    confusion_rgb: np.ndarray
    network: Network


@dataclass(frozen=True, eq=False)
class Outcome:
    """How a run ended: ``kind`` is "finished", "stopped", "failed" (NaN or overflow: the
    message says so), or "error" (unusable data or network). ``network`` holds the last
    good weights (None if training never started)."""

    kind: str
    message: str
    network: Network | None
    examples: int = 0
    seconds: float = 0.0


@dataclass
class _Pending:
    examples: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)


def _lower_priority() -> None:
    """Give this thread a lower scheduling priority than the GUI's (Linux: a thread has its
    own nice value), so on a busy machine the event loop gets the CPU first."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), TRAINING_NICE)
    except (AttributeError, OSError):
        pass  # not on Linux, or not allowed: training still runs, only at equal priority


class TrainingWorker(QObject):
    """Runs one training at a time in a Python thread.

    Signals (received in the GUI thread)
    ------------------------------------
    dataReady(train_set, test_set)
        The data is loaded; training begins.
    updated(Update)
        At most every :data:`UPDATE_INTERVAL` seconds while training.
    epochEnded(EpochResult)
        After each epoch's test.
    ended(Outcome)
        The run is over (its thread is ending; :meth:`join` returns at once after this).
    """

    dataReady = Signal(object, object)
    updated = Signal(object)
    epochEnded = Signal(object)
    ended = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._running = threading.Event()  # cleared while paused
        self._example: np.ndarray | None = None  # the digit whose maps are drawn
        self.paused = False

    # -- control, from the GUI thread ------------------------------------------------------

    def start(self, request: TrainRequest) -> None:
        if self.is_running():
            raise RuntimeError("a training run is already going on")
        self.join()
        self._stop.clear()
        self._running.set()
        self.paused = False
        self._thread = threading.Thread(
            target=self._run, args=(request,), name="convscope-training", daemon=True
        )
        self._thread.start()

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def set_example(self, digit: np.ndarray | None) -> None:
        """The 28x28 digit whose first-layer maps the updates carry (read by the thread)."""
        self._example = None if digit is None else np.array(digit)

    def pause(self) -> None:
        self.paused = True
        self._running.clear()

    def resume(self) -> None:
        self.paused = False
        self._running.set()

    def stop(self) -> None:
        """Ask the run to end after the batch in progress and wait until its thread ended."""
        self._stop.set()
        self._running.set()  # a paused thread wakes up to see the stop
        self.join()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    # -- the thread ------------------------------------------------------------------------

    def _pictures(self, network: Network, scale: float | None) -> Pictures:
        found = first_conv(network)
        if found is None:
            return Pictures(None, None, None)
        _, layer = found
        scale = filter_scale(layer, scale)
        maps, name = None, ""
        example = self._example
        if example is not None:
            drawn = first_layer_maps(network, example)
            if drawn is not None:
                maps, name = drawn[1], drawn[0].name
        return Pictures(filter_thumbnails(layer, scale), scale, maps, name)

    def _run(self, request: TrainRequest) -> None:
        _lower_priority()
        last_good: Network | None = request.network
        examples, seconds = 0, 0.0
        try:
            train_set, test_set = request.load(request.data_spec, self._stop.is_set)
            self.dataReady.emit(train_set, test_set)
            scale = request.filter_scale
            pictures = self._pictures(request.network, scale)
            scale = pictures.scale
            pending = _Pending()
            last_sent = -math.inf
            latest: Progress | None = None
            latest_network: Network | None = None
            events = train(request.network, train_set, test_set, request.config)
            try:
                for event in events:
                    if isinstance(event, Progress):
                        latest = event
                        examples, seconds = event.examples, event.seconds
                        pending.examples.append(event.examples)
                        pending.loss.append(event.loss)
                        pending.accuracy.append(event.accuracy)
                        if event.network is not None:
                            latest_network = last_good = event.network
                        if time.perf_counter() - last_sent >= UPDATE_INTERVAL:
                            scale = self._send(pending, latest, latest_network, scale)
                            pending, latest_network = _Pending(), None
                            last_sent = time.perf_counter()
                    elif isinstance(event, EpochEnd):
                        if pending.examples:
                            scale = self._send(pending, latest, latest_network, scale)
                            pending, latest_network = _Pending(), None
                        last_good = event.network
                        self.epochEnded.emit(
                            EpochResult(
                                event.epoch,
                                event.examples,
                                event.test,
                                confusion_picture(event.test.confusion),
                                event.network,
                            )
                        )
                    elif isinstance(event, Finished):
                        last_good = event.network
                        if pending.examples:
                            self._send(pending, latest, latest_network, scale)
                        self._end("finished", "", last_good, event.examples, event.seconds)
                        return
                    elif isinstance(event, Failed):
                        self._end("failed", event.message, event.network, examples, seconds)
                        return
                    if self._stop.is_set():
                        break
                    if not self._running.is_set():  # paused: hold the generator here
                        self._running.wait()
                        if self._stop.is_set():
                            break
            finally:
                events.close()  # in this thread: a generator cannot be closed from another
            if pending.examples:
                self._send(pending, latest, latest_network, scale)
            self._end("stopped", "", last_good, examples, seconds)
        except Cancelled:
            self._end("stopped", "", last_good, examples, seconds)
        except (DataError, NetworkError, ValueError) as exc:
            self._end("error", str(exc), last_good, examples, seconds)
        except Exception as exc:  # never let a traceback end the thread silently
            traceback.print_exc()
            self._end("error", f"unexpected error: {type(exc).__name__}: {exc}", last_good)

    def _send(self, pending: _Pending, latest, network: Network | None, scale):
        pictures = None
        if network is not None:
            pictures = self._pictures(network, scale)
            scale = pictures.scale
        self.updated.emit(
            Update(
                np.asarray(pending.examples),
                np.asarray(pending.loss),
                np.asarray(pending.accuracy),
                latest.epoch,
                latest.fraction,
                latest.examples_per_s,
                latest.seconds_left,
                network,
                pictures,
            )
        )
        return scale

    def _end(self, kind, message, network, examples: int = 0, seconds: float = 0.0) -> None:
        self.ended.emit(Outcome(kind, message, network, examples, seconds))


__all__ = ["EpochResult", "Outcome", "Pictures", "TrainRequest", "TrainingWorker", "Update"]
