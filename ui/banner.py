"""The window's message banner: a failure stays until it is dismissed or the thing succeeds.

Each message carries a *topic* (what the person was doing: "save", "live", ...). Success at
that topic resolves it; nothing else does, so a refused recording's message is not wiped by
the next live frame (which only resolves "compute").
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

#: Topics whose success also clears an "unexpected" error: the person did something and it
#: worked. Not "compute", which succeeds on every live frame without the person acting.
_ACTS = frozenset({"input", "save", "live", "record", "kernel"})

_COLORS = {"error": "#5c1d1d", "note": "#4a4216"}


class Banner(QFrame):
    """A coloured, word-wrapped message above the panes, with a Dismiss button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.topic = ""
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.setToolTip("Hide this message; nothing else changes.")
        self.dismiss_button.clicked.connect(self.dismiss)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 4, 4)
        row.addWidget(self.label, 1)
        row.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def text(self) -> str:
        return self.label.text()

    def show_message(self, text: str, level: str = "error", topic: str = "other") -> None:
        """Show ``text`` as an "error" or a "note" about ``topic`` until resolved or dismissed."""
        color = _COLORS.get(level, _COLORS["error"])
        self.setStyleSheet(
            f"QFrame#banner {{ background:{color}; border-radius:3px; }}"
            " QLabel { color:#fff4e0; }"
        )
        self.setProperty("kind", level)
        self.topic = topic
        self.label.setText(text)
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
