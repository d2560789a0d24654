"""Saves written off the GUI thread: the window stays responsive while files are written.

"Export all" or a live snapshot with a network writes dozens of PNG grids and raw stacks (a
640x480 input and a 32-filter network: ~1 s), which in the GUI thread froze the window. Each
write runs on a short-lived thread, one after the other in the order asked (nothing asked
for is dropped); its outcome comes back to the GUI thread only through a queued signal, so
no dialog or widget is touched from the thread.
"""

from __future__ import annotations

import threading
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from core.images import SaveError

__all__ = ["BackgroundSave"]

#: ``done(result, error)``: called in the GUI thread; ``error`` is "" on success, else the
#: message (and ``result`` None).
Done = Callable[[Any, str], None]


class BackgroundSave(QObject):
    """Runs ``write()`` calls on a thread, one at a time, first asked first written.

    Signals (delivered in the GUI thread)
    -------------------------------------
    busy_changed(bool)
        Writing started (True) or every write asked for is done (False).
    """

    busy_changed = Signal(bool)
    # Internal: emitted from the writing thread, received (queued) in the GUI thread.
    _finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: deque[tuple[Callable[[], Any], Done]] = deque()
        self._job: _Job | None = None
        self._finished.connect(self._on_finished)

    def is_busy(self) -> bool:
        return self._job is not None

    def start(self, write: Callable[[], Any], done: Done) -> None:
        """Write with ``write()`` on a thread once the writes asked before are done; then
        ``done(result, error)`` in the GUI thread.

        ``write`` must only read data that nobody mutates meanwhile (immutable results,
        copies of the panes' colours and levels).
        """
        self._queue.append((write, done))
        if self._job is None:
            self.busy_changed.emit(True)
            self._next()

    def wait(self) -> None:
        """Finish every write asked for, here and now (the window is closing): nothing a
        person asked to save is cut short. Their ``done`` calls still report."""
        job, self._job = self._job, None
        if job is not None:
            job.thread.join()
            job.done(*job.outcome)
        while self._queue:
            write, done = self._queue.popleft()
            done(*_run(write))
        if job is not None:
            self.busy_changed.emit(False)

    def _next(self) -> None:
        write, done = self._queue.popleft()
        job = _Job(done)

        def run() -> None:
            job.outcome = _run(write)
            self._finished.emit(job)

        job.thread = threading.Thread(target=run, name="convscope-save", daemon=True)
        self._job = job
        job.thread.start()

    @Slot(object)
    def _on_finished(self, job: _Job) -> None:
        if job is not self._job:
            return  # wait() already reported it
        job.thread.join()  # it only had the emit left
        self._job = None
        job.done(*job.outcome)
        if self._queue:
            self._next()
        else:
            self.busy_changed.emit(False)


class _Job:
    """One write in progress: its thread, its outcome (set by the thread), who to tell."""

    def __init__(self, done: Done) -> None:
        self.done = done
        self.thread = threading.Thread()
        self.outcome: tuple[Any, str] = (None, "not run")


def _run(write: Callable[[], Any]) -> tuple[Any, str]:
    try:
        return write(), ""
    except (SaveError, OSError) as exc:
        return None, str(exc)
    except Exception as exc:  # a bug: still a message in the window, never a crash
        traceback.print_exc()
        return None, f"Unexpected error: {type(exc).__name__}: {exc}"
