"""One compute thread where the latest request wins.

The GUI submits immutable requests; a newer request replaces one still waiting, and a result
is delivered only if no newer request was submitted meanwhile, so a superseded computation can
never paint over a fresh one (napari's layer slicer and Orange's task runner do the same).
Results and errors cross back to the GUI thread only through queued signals.
"""

from __future__ import annotations

import itertools
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot


@dataclass(frozen=True, eq=False)
class Job:
    """A numbered unit of work; ``payload`` must not be mutated once submitted."""

    id: int
    payload: Any


class LatestWinsWorker(QObject):
    """Runs ``compute(payload)`` on a background thread, newest request first and only.

    Signals (delivered in the GUI thread):
    ``finished(job, result)`` for the newest job only; ``failed(job, message)`` when it raised;
    ``busy_changed(bool)`` when work starts or the queue drains.
    """

    finished = Signal(object, object)
    failed = Signal(object, str)
    busy_changed = Signal(bool)
    # Internal: emitted from the compute thread, received (queued) in the GUI thread.
    _done = Signal(object, object, str)

    def __init__(
        self,
        compute: Callable[[Any], Any],
        name: str = "compute",
        user_errors: tuple[type[BaseException], ...] = (ValueError,),
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._compute = compute
        self._user_errors = user_errors
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._pending: Job | None = None
        self._latest_id = 0
        self._running = False
        self._stopping = False
        self.superseded = 0  # requests replaced before they started (frames dropped in live mode)
        self._done.connect(self._on_done)
        self._thread = threading.Thread(target=self._loop, name=f"convscope-{name}", daemon=True)
        self._thread.start()

    @property
    def latest_id(self) -> int:
        return self._latest_id

    def submit(self, payload: Any) -> Job:
        """Queue ``payload``, replacing any request that has not started yet."""
        with self._cond:
            job = Job(next(self._ids), payload)
            if self._pending is not None:
                self.superseded += 1
            self._pending = job
            self._latest_id = job.id
            was_idle = not self._running
            self._running = True
            self._cond.notify()
        if was_idle:
            self.busy_changed.emit(True)
        return job

    def is_busy(self) -> bool:
        with self._cond:
            return self._running

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread after the job in progress (idempotent); pending work is dropped."""
        with self._cond:
            self._stopping = True
            self._pending = None
            self._cond.notify()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                job, self._pending = self._pending, None
            try:
                result, error = self._compute(job.payload), ""
            except self._user_errors as exc:
                result, error = None, str(exc)
            except Exception as exc:  # a bug: still a message in the window, never a crash
                traceback.print_exc()
                result, error = None, f"Unexpected error: {type(exc).__name__}: {exc}"
            with self._cond:
                if self._stopping:
                    return
            # Still busy until the GUI thread has received the newest result (_on_done): an
            # "idle" worker whose result is still queued would let callers act on a stale one.
            self._done.emit(job, result, error)

    @Slot(object, object, str)
    def _on_done(self, job: Job, result: Any, error: str) -> None:
        if self._stopping:  # queued before stop(): nobody wants it any more
            return
        with self._cond:
            newest = job.id == self._latest_id  # otherwise a newer request exists: stale
            if newest:  # nothing was submitted since: all work is done
                self._running = False
        if newest:
            if error:
                self.failed.emit(job, error)
            else:
                self.finished.emit(job, result)
        if not self.is_busy():
            self.busy_changed.emit(False)
