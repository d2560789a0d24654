"""Import a conv layer, or the first layers, of a Keras, PyTorch, ONNX, safetensors or NumPy
model file (issue 10, section 2).

::

    network = ask_import_model(window)          # asks for the file, then shows the dialog
    network = ask_import_model(window, path)    # a dropped file: straight to the dialog

Both return the chosen ``core.network.Network``, or None when the user cancels or the file
cannot be read (after a message box saying why). :class:`ImportModelDialog` is the dialog
itself, for callers that manage it.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

from core.models import ModelError
from core.network import Network
from ui.model_import.dialog import ImportModelDialog
from ui.model_import.formats import MODEL_FILE_FILTER

__all__ = ["MODEL_FILE_FILTER", "ImportModelDialog", "ask_import_model"]

_TITLE = "Import model"


def ask_import_model(
    parent: QWidget | None,
    path: str | os.PathLike[str] | None = None,
    folder: str | os.PathLike[str] = "",
) -> Network | None:
    """Let the user pick a model file (unless ``path`` is given) and a layer of it to import.

    Parameters
    ----------
    parent : QWidget or None
        Parent of the file dialog, the import dialog and any message box.
    path : str or os.PathLike, optional
        The model file; when None a file dialog asks for it (filtered to model extensions).
    folder : str or os.PathLike
        Where the file dialog starts.

    Returns
    -------
    Network or None
        The imported network: one conv layer, or the chain of first layers. None when the
        user cancels either dialog or the file cannot be read; a file that cannot be read
        gets a warning box saying why. Never raises for a bad file.
    """
    if path is None:
        chosen, _ = QFileDialog.getOpenFileName(parent, _TITLE, str(folder), MODEL_FILE_FILTER)
        if not chosen:
            return None
        path = chosen
    try:
        dialog = ImportModelDialog(path, parent)
    except ModelError as exc:
        QMessageBox.warning(parent, _TITLE, f"Cannot import this model.\n\n{exc}")
        return None
    except Exception as exc:  # a reader bug must not take the window down with it
        QMessageBox.warning(
            parent,
            _TITLE,
            f"Cannot import this model.\n\n{Path(path).name}: unexpected error while reading "
            f"it ({type(exc).__name__}: {exc})",
        )
        return None
    try:
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        return dialog.chosen_network() if accepted else None
    finally:
        dialog.stop()
        dialog.deleteLater()
