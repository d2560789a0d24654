"""Bringing back last session's window, kernel and options at start.

A stored value never stops the start: keys this version does not write are removed (a corrupt
file must not grow by being written back), and every value that cannot be used is replaced by
its default and removed; :func:`restore_session` returns what was reset, for a one-line note.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow

from core.kernels import DEFAULT_PRESET, preset
from core.pipeline import PipelineSettings
from ui.controls import ControlPanel
from ui.kernel_editor import KernelEditor
from ui.settings_store import SettingsStore

__all__ = ["DEFAULT_SIZE", "MIN_WINDOW", "restore_session"]

DEFAULT_SIZE = (1600, 1000)
#: A restored window smaller than this is not plausible (the layout needs more).
MIN_WINDOW = (640, 400)


def restore_session(
    window: QMainWindow, store: SettingsStore, editor: KernelEditor, controls: ControlPanel
) -> list[str]:
    """Restore geometry, dock state, kernel and options; the names of what was reset."""
    reset: list[str] = []
    try:
        store.drop_unknown_keys()
        for key, restore in (
            ("geometry", lambda: _restore_geometry(window, store)),
            ("window_state", lambda: _restore_window_state(window, store)),
            ("kernel", lambda: _restore_kernel(editor, store)),
            ("options", lambda: _restore_options(controls, store)),
        ):
            try:
                usable = restore()
            except Exception:  # whatever a stored value can raise, e.g. overflow
                usable = False
            if not usable:
                reset.append(key.replace("_", " "))
                store.remove(key)
        store.rewrite_recent_files()
    except Exception as exc:  # unforeseen: start with defaults rather than not at all
        store.clear()
        window.resize(*DEFAULT_SIZE)
        editor.set_kernel(preset(DEFAULT_PRESET), record_undo=False)
        controls.set_settings(PipelineSettings())
        reset = [f"everything ({type(exc).__name__})"]
    return reset


def _restore_geometry(window: QMainWindow, store: SettingsStore) -> bool:
    geometry = store.geometry()
    if geometry is None:
        window.resize(*DEFAULT_SIZE)
        return True
    if not isinstance(geometry, QByteArray) or not window.restoreGeometry(geometry):
        window.resize(*DEFAULT_SIZE)
        return False
    # A window smaller than its layout needs, or entirely off every screen, is unusable.
    frame = window.frameGeometry()
    on_screen = any(
        screen.availableGeometry().intersects(frame) for screen in QGuiApplication.screens()
    )
    if window.width() < MIN_WINDOW[0] or window.height() < MIN_WINDOW[1] or not on_screen:
        window.setWindowState(Qt.WindowState.WindowNoState)
        window.resize(*DEFAULT_SIZE)
        return False
    return True


def _restore_window_state(window: QMainWindow, store: SettingsStore) -> bool:
    state = store.window_state()
    return state is None or (isinstance(state, QByteArray) and window.restoreState(state))


def _restore_kernel(editor: KernelEditor, store: SettingsStore) -> bool:
    try:
        kernel = store.kernel()
        editor.set_kernel(
            kernel if kernel is not None else preset(DEFAULT_PRESET), record_undo=False
        )
    except Exception:
        editor.set_kernel(preset(DEFAULT_PRESET), record_undo=False)
        return False
    return True


def _restore_options(controls: ControlPanel, store: SettingsStore) -> bool:
    try:
        options = store.options()
        if options is None:
            controls.set_settings(PipelineSettings())
            return True
        layer, colormap, levels = options
        controls.set_settings(layer)
        box = controls.colormap
        if colormap in [box.itemData(i) for i in range(box.count())]:
            box.setCurrentIndex(box.findData(colormap))
        controls.set_levels_mode(levels)
    except Exception:
        # Defaults, also for any widget set before the error.
        controls.set_settings(PipelineSettings())
        return False
    return True
