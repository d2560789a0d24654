"""One save written off the GUI thread: the window stays responsive while files are written.

"Export all" with a network writes dozens of PNG grids and raw stacks (a 640x480 input and a
32-filter network: ~1 s), which in the GUI thread froze the window. The write runs on a short
lived thread; its outcome comes back to the GUI thread only through a queued signal, so no
dialog or widget is touched from the thread. One save at a time: a second one is refused.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from core.images import SaveError

__all__ = ["BackgroundSave"]


class BackgroundSave(QObject):
    """Runs one ``write() -> list[Path]`` at a time on a thread.

    Signals (delivered in the GUI thread)
    -------------------------------------
    busy_changed(bool)
        A write started (True) or ended (False).
    done(list, str)
        The files written and "" on success; [] and the error message on failure.
    """

    busy_changed = Signal(bool)
    done = Signal(object, str)
    # Internal: emitted from the writing thread, received (queued) in the GUI thread.
    _finished = Signal(object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._finished.connect(self._on_finished)

    def is_busy(self) -> bool:
        return self._thread is not None

    def start(self, write: Callable[[], list[Path]]) -> bool:
        """Run ``write`` on a thread; False (nothing started) if a write is still running.

        ``write`` must only read data that nobody mutates meanwhile (immutable results,
        copies of the panes' colours and levels).
        """
        if self._thread is not None:
            return False
        self._thread = threading.Thread(
            target=self._run, args=(write,), name="convscope-save", daemon=True
        )
        self.busy_changed.emit(True)
        self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> None:
        """Block until the running write ends (window close); its result is still delivered
        through the event loop."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self, write: Callable[[], list[Path]]) -> None:
        try:
            written, error = list(write()), ""
        except (SaveError, OSError) as exc:
            written, error = [], str(exc)
        except Exception as exc:  # a bug: still a message in the window, never a crash
            traceback.print_exc()
            written, error = [], f"Unexpected error: {type(exc).__name__}: {exc}"
        self._finished.emit(written, error)

    @Slot(object, str)
    def _on_finished(self, written: list, error: str) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()  # it only had the emit left
        self.busy_changed.emit(False)
        self.done.emit(written, error)
