"""Files that arrive by drag and drop or the clipboard: each goes where its kind belongs.

An image opens as the input, a kernel JSON loads into the editor, a video plays live.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QMimeData
from PySide6.QtGui import QImage

from core.live import VIDEO_EXTENSIONS

if TYPE_CHECKING:
    from ui.main_window import MainWindow


def local_files(mime: QMimeData) -> list[Path]:
    """The local files named in ``mime`` (a file manager's copy or drag), in order."""
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def open_file(window: MainWindow, path: Path) -> str:
    """Send ``path`` where its kind belongs; returns that kind ("kernel", "video", "image").

    Anything not a kernel or a video is tried as an image: the loader names the file and the
    reason if it is not one.
    """
    suffix = path.suffix.lower()
    if suffix == ".json":
        if window.editor.load_file(path):
            window.remember_folder(path.parent)
        return "kernel"
    if suffix in VIDEO_EXTENSIONS:
        window.live.use_video(path)
        return "video"
    window.open_path(path)
    return "image"


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
