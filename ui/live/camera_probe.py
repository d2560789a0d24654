"""Looking for cameras in a background thread (opening a missing index can take seconds)."""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Signal, Slot

from core.live.session import JOIN_TIMEOUT
from core.sources import probe_cameras

__all__ = ["CameraProbe"]

_log = logging.getLogger(__name__)


class CameraProbe(QObject):
    """Probes camera indices off the GUI thread, one probe at a time.

    Signals
    -------
    found(object)
        The list of camera indices that opened (in the GUI thread).
    """

    found = Signal(object)
    _done = Signal(object)  # from the probe thread; queued to the GUI thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._done.connect(self._on_done)

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Start a probe; False if one is already running."""
        if self.is_running():
            return False

        def run() -> None:
            try:
                found = probe_cameras()
            except Exception:  # a broken driver must not kill the app
                _log.exception("camera probe failed")
                found = []
            self._done.emit(found)

        self._thread = threading.Thread(target=run, name="convscope-camera-probe", daemon=False)
        self._thread.start()
        return True

    def shutdown(self) -> None:
        """Wait for a probe in progress (idempotent)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(JOIN_TIMEOUT)

    @Slot(object)
    def _on_done(self, found: list[int]) -> None:
        self.shutdown()  # it has emitted its last word: a short join
        self.found.emit(found)
