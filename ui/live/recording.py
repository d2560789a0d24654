"""A recording of one pane as displayed: opening the video writer, finalizing it, and saying
how it went (frames written, dropped, an incomplete file, a failure)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.live import RECORDABLE_PANES
from core.live.session import JOIN_TIMEOUT
from core.recording import RecordingError, VideoRecorder
from ui.messages import Messages

__all__ = ["LiveRecording"]


class LiveRecording:
    """At most one :class:`~core.recording.VideoRecorder` at a time, and the pane it records.

    Attributes
    ----------
    pane : str
        The pane recorded (or to record next): a key of ``RECORDABLE_PANES``.
    recorder : VideoRecorder or None
        The recorder writing now, or None.
    """

    def __init__(self, messages: Messages) -> None:
        self._messages = messages
        self.pane = "conv"
        self.recorder: VideoRecorder | None = None

    def start(
        self, path: str | Path, pane: str, fps: float, panes: dict[str, str] | None = None
    ) -> bool:
        """Open a recorder for ``pane`` at ``fps``; False (and a message) if it cannot.

        ``panes`` are the recordable keys and labels (default: the three panes; a network's
        layers while one runs, see ``core.live.recordable_panes``).
        """
        panes = RECORDABLE_PANES if panes is None else panes
        if pane not in panes:
            raise ValueError(f"pane must be one of {', '.join(panes)}, not {pane!r}")
        try:
            recorder = VideoRecorder(path, fps=fps)
        except (RecordingError, ValueError) as exc:
            self._messages.show_error(str(exc), topic="record")
            return False
        self._messages.resolve("record")
        self.pane = pane
        self.recorder = recorder
        label = panes[pane]
        what = label if pane.startswith("layer:") else f"the {label.lower()} pane"
        self._messages.show_status(f"Recording {what} to {path}")
        return True

    def submit(self, frame: np.ndarray) -> str | None:
        """Queue one displayed frame (copied); the reason if the recording had to stop."""
        recorder = self.recorder
        if recorder is None:
            return None
        try:
            recorder.submit(frame)  # copies and queues; never waits for the disk
        except (RecordingError, ValueError) as exc:
            return str(exc)
        return None

    def failed(self) -> bool:
        """Whether the writer thread hit an error (the recording should stop)."""
        return self.recorder is not None and self.recorder.error is not None

    def stop(
        self, message: str = "", on_detached: Callable[[], object] | None = None
    ) -> Path | None:
        """Finalize the recording and say how it went; its path, or None if none ran.

        ``on_detached`` runs once no recorder is attached, before the (possibly slow) close:
        live mode stops rendering frames for the recording there.
        """
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return None
        if on_detached is not None:
            on_detached()
        finished = recorder.close(timeout=JOIN_TIMEOUT)
        messages = self._messages
        if recorder.error is not None:
            messages.show_error(
                f"Recording stopped: {recorder.error}", level="note", topic="record"
            )
        elif not finished:
            messages.show_error(
                f"The recording {recorder.path} may be incomplete: the disk "
                "was too slow to finish it.",
                level="note",
                topic="record",
            )
        elif recorder.written == 0:
            messages.show_status("Nothing was recorded.")
        else:
            dropped = f", {recorder.dropped} dropped" if recorder.dropped else ""
            messages.show_status(
                message or f"Recorded {recorder.written} frames{dropped} to {recorder.path}"
            )
        return recorder.path
