"""One undoable kernel change; a drag or a burst of wheel notches merges into one step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

from core.kernels import Kernel

if TYPE_CHECKING:
    from ui.kernel_editor.editor import KernelEditor

_MERGE_ID = 0x4B45  # any constant: commands with a merge key share it, others return -1


class KernelCommand(QUndoCommand):
    """Replace the editor's kernel; merges with the previous command if the merge keys match."""

    def __init__(
        self, editor: KernelEditor, old: Kernel, new: Kernel, text: str, merge_key: object = None
    ) -> None:
        super().__init__(text)
        self._editor = editor
        self.old = old
        self.new = new
        self.merge_key = merge_key

    def id(self) -> int:
        return _MERGE_ID if self.merge_key is not None else -1

    def redo(self) -> None:
        self._editor._apply(self.new)

    def undo(self) -> None:
        self._editor._break_merge()
        self._editor._apply(self.old)

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, KernelCommand) or other.merge_key != self.merge_key:
            return False
        self.new = other.new
        if self.new == self.old:
            self.setObsolete(True)  # e.g. a drag that came back to where it started
        return True


# --------------------------------------------------------------------------------------------
