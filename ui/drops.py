"""Files that arrive by drag and drop or the clipboard: each goes where its kind belongs.

An image opens as the input, a kernel JSON loads into the editor, a network JSON into the
Network dock, a model file (Keras, PyTorch, ONNX, ...) opens the import dialog, a video plays
live.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QMimeData
from PySide6.QtGui import QImage

from core.live import VIDEO_EXTENSIONS
from core.models import is_model_file

if TYPE_CHECKING:
    from ui.main_window import MainWindow


def local_files(mime: QMimeData) -> list[Path]:
    """The local files named in ``mime`` (a file manager's copy or drag), in order."""
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def open_file(window: MainWindow, path: Path) -> str:
    """Send ``path`` where its kind belongs; returns that kind ("network", "kernel", "video",
    "model", "image").

    Anything not a kernel or a video is tried as an image: the loader names the file and the
    reason if it is not one.
    """
    suffix = path.suffix.lower()
    if suffix == ".json" and is_network_json(path):
        window.network.open_file(path)
        return "network"
    if suffix == ".json":
        if window.editor.load_file(path):
            window.remember_folder(path.parent)
        return "kernel"
    if suffix in VIDEO_EXTENSIONS:
        window.live.use_video(path)
        return "video"
    if is_model_file(path):
        window.network.import_model(path)
        return "model"
    window.open_path(path)
    return "image"


def is_network_json(path: Path) -> bool:
    """True for a JSON file that holds a network (a "layers" list), not a kernel; a file
    that cannot be read is left to the kernel loader, which says why."""
    try:
        if path.stat().st_size > 64 * 1024 * 1024:
            return False
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and isinstance(data.get("layers"), list)


def open_mime(window: MainWindow, mime: QMimeData | None, name: str) -> bool:
    """Open the first local file in ``mime``, else its image (called ``name``); False if it
    holds neither. An empty clipboard gives no mime data at all (None)."""
    if mime is None:
        return False
    files = local_files(mime)
    if files:
        open_file(window, files[0])
        return True
    if mime.hasImage():
        image = QImage(mime.imageData())
        if not image.isNull():
            window.open_array(name, qimage_to_array(image))
            return True
    return False


def qimage_to_array(qimage: QImage) -> np.ndarray:
    """RGB float32 [0, 1] copy of a QImage (clipboard, drops)."""
    rgb = qimage.convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    buffer = np.frombuffer(rgb.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return buffer[:, : w * 3].reshape(h, w, 3).astype(np.float32) / 255.0
