"""Live mode's counters as one immutable snapshot, for the status line and tests."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LiveStats"]


@dataclass(frozen=True)
class LiveStats:
    """A snapshot of live mode's counters, for the status line and tests.

    Attributes
    ----------
    source : str
        Name of the source.
    frame_index : int
        Source index of the frame on screen (-1 before the first).
    shown : int
        Frames drawn since start.
    dropped : int
        Frames captured but never shown (overwritten while the pipeline was busy), not
        counting frames skipped while frozen.
    capture_fps, display_fps : float
        Smoothed rates of capture and of frames drawn.
    process_ms : float
        Smoothed processing time per frame in the processing thread.
    frozen, recording : bool
        States of live mode.
    recorded, record_dropped : int
        Frames written to the recording and frames the recorder had to drop.
    """

    source: str = ""
    frame_index: int = -1
    shown: int = 0
    dropped: int = 0
    capture_fps: float = 0.0
    display_fps: float = 0.0
    process_ms: float = 0.0
    frozen: bool = False
    recording: bool = False
    recorded: int = 0
    record_dropped: int = 0

    @property
    def text(self) -> str:
        """One status line, e.g. ``capture 60.0 fps | display 59.8 fps | 4.1 ms/frame``."""
        parts = [
            f"capture {self.capture_fps:.1f} fps",
            f"display {self.display_fps:.1f} fps",
            f"processing {self.process_ms:.1f} ms/frame",
            f"dropped {self.dropped}",
            f"frame {max(self.frame_index, 0)}",
        ]
        if self.recording:
            parts.append(
                f"recorded {self.recorded}"
                + (f" ({self.record_dropped} dropped)" if self.record_dropped else "")
            )
        return "  |  ".join(parts)
