"""What the window says to the person, as signals: anyone may speak, the window shows it.

The state owner, the live controller and the save actions report through one
:class:`Messages`; only the main window knows there is a banner and a status bar.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

__all__ = ["Messages"]


class Messages(QObject):
    """A message bus for the window's banner and status bar.

    Signals
    -------
    error(str, str, str)
        ``(text, level, topic)``: a visible, non-modal message ("error" or "note") that stays
        until dismissed or until ``topic`` next succeeds (see :class:`ui.banner.Banner`).
    status(str)
        A passing status-bar message.
    resolved(str)
        ``topic`` succeeded: a message about its earlier failure can go.
    """

    error = Signal(str, str, str)
    status = Signal(str)
    resolved = Signal(str)

    def show_error(self, text: str, level: str = "error", topic: str = "other") -> None:
        """Say ``text`` in the banner (and the status bar); nothing else changes."""
        self.error.emit(text, level, topic)

    def show_status(self, text: str) -> None:
        """Say ``text`` in the status bar for a few seconds."""
        self.status.emit(text)

    def resolve(self, topic: str) -> None:
        """``topic`` succeeded (see :class:`ui.banner.Banner`)."""
        self.resolved.emit(topic)
