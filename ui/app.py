"""Starting the application: QApplication, the main window, screenshot mode, clean exit."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

SCREENSHOT_SIZE = (1600, 1000)


def run_app(args: argparse.Namespace) -> int:
    """Open the window (or render it to ``args.screenshot``) and return the exit status."""
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # must precede QApplication
    import shiboken6
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from core.kernels import KernelError, resolve_kernel
    from resources import DEFAULT_SAMPLE, SAMPLES
    from ui.main_window import MainWindow

    kernel = None
    if args.kernel:
        try:
            kernel = resolve_kernel(args.kernel)
        except KernelError as exc:
            print(f"convscope: unusable kernel: {exc}", file=sys.stderr)
            return 2
    image = Path(args.image) if args.image else SAMPLES[DEFAULT_SAMPLE]

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("ConvScope")
    app.setApplicationName("ConvScope")
    scratch = None
    if args.screenshot:
        # A screenshot must not depend on (or change) the person's saved window state, nor
        # leave a settings file beside the picture: fresh settings in a scratch folder.
        scratch = tempfile.mkdtemp(prefix="convscope-screenshot-")
        settings = QSettings(str(Path(scratch) / "settings.ini"), QSettings.Format.IniFormat)
    else:
        settings = QSettings()
    window = MainWindow(settings)
    previous_hook = sys.excepthook
    sys.excepthook = _make_excepthook(window)
    if kernel is not None:
        window.editor.set_kernel(kernel, record_undo=False)
    try:
        if args.screenshot:
            return _screenshot(window, image, Path(args.screenshot))
        window.show()
        window.open_path(image)
        app.exec()
        return 0
    finally:
        window.shutdown()
        sys.excepthook = previous_hook
        # Destroy the window now, while Python is whole: left to PySide's clean-up at exit, a
        # shown window's pyqtgraph items call back into half-finalized Python and segfault.
        shiboken6.delete(window)
        if scratch is not None:
            shiboken6.delete(settings)  # writes its file, if it has not yet: before removal
            shutil.rmtree(scratch, ignore_errors=True)


def wait_until_idle(window, timeout_ms: int = 60_000) -> bool:
    """Spin the event loop until the window has shown its newest result (or timed out)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    window.idle.connect(loop.quit)
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    timer.start(timeout_ms)
    if not window.is_idle() or window.processed is None:
        loop.exec()
    window.idle.disconnect(loop.quit)
    return timer.isActive()


def _screenshot(window, image: Path, path: Path) -> int:
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    window.open_path(image)
    ok = wait_until_idle(window)
    if window.loaded is None or window.processed is None or not ok:
        print(f"convscope: could not render {image}: {window.banner.text()}", file=sys.stderr)
        window.close()
        return 1
    # Hover a point a little off-centre so the picture shows the marker, field and inspector.
    h, w = window.loaded.image.shape[:2]
    window.hover_at(w * 0.37 + 0.5, h * 0.42 + 0.5, window.conv_pane)
    from PySide6.QtWidgets import QApplication

    for pane in window.panes:  # histograms and stats follow a new image later: now, please
        pane.catch_up()
    QApplication.processEvents()
    saved = window.grab().save(str(path))
    window.close()
    if not saved:
        print(f"convscope: could not write {path}", file=sys.stderr)
        return 1
    return 0


def _make_excepthook(window):
    """Unexpected errors in slots become a message in the window instead of a crash."""

    def hook(exc_type, exc, tb) -> None:
        traceback.print_exception(exc_type, exc, tb)
        try:
            window.show_error(f"Unexpected error: {exc_type.__name__}: {exc}", topic="unexpected")
        except RuntimeError:
            pass  # the window is already gone

    return hook
