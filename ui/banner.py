"""The window's message banner: a failure stays until it is dismissed or the thing succeeds.

Each message carries a *topic* (what the person was doing: "save", "live", ...). Success at
that topic resolves it; nothing else does, so a refused recording's message is not wiped by
the next live frame (which only resolves "compute").
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

#: Topics whose success also clears an "unexpected" error: the person did something and it
#: worked. Not "compute", which succeeds on every live frame without the person acting.
_ACTS = frozenset({"input", "save", "live", "record", "kernel"})

_COLORS = {"error": "#5c1d1d", "note": "#4a4216"}


class Banner(QLabel):
    """A coloured, word-wrapped message above the panes, with a Dismiss button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.topic = ""
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.setToolTip("Hide this message; nothing else changes.")
        self.dismiss_button.clicked.connect(self.dismiss)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 4, 0)
        row.addWidget(self.dismiss_button)
        row.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.hide()

    def show_message(self, text: str, level: str = "error", topic: str = "other") -> None:
        """Show ``text`` as an "error" or a "note" about ``topic`` until resolved or dismissed."""
        self.setStyleSheet(
            f"background:{_COLORS.get(level, _COLORS['error'])}; color:#fff4e0; "
            "padding:6px 90px 6px 6px; border-radius:3px;"
        )
        self.setProperty("kind", level)
        self.topic = topic
        self.setText(text)
        self.show()

    def resolve(self, topic: str) -> None:
        """``topic`` just succeeded: hide a message about it (or an unexpected error)."""
        if self.isHidden():
            return
        if self.topic == topic or (self.topic == "unexpected" and topic in _ACTS):
            self.dismiss()

    def dismiss(self) -> None:
        self.hide()
        self.topic = ""
