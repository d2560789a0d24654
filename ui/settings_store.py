"""What ConvScope remembers between sessions (QSettings): folders, recent files, the kernel,
the layer and display options, the window's geometry. Anything unreadable reads as "nothing
saved", never as an error."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from core.kernels import DEFAULT_PRESET, Kernel, kernel_from_dict, preset
from core.pipeline import PipelineSettings

__all__ = ["MAX_RECENT", "SettingsStore"]

MAX_RECENT = 8


class SettingsStore:
    """Typed access to the application's QSettings.

    Parameters
    ----------
    settings : QSettings, optional
        Where to read and write; the application's default settings if omitted (tests pass
        a scratch INI file).
    """

    def __init__(self, settings: QSettings | None = None) -> None:
        self.qsettings = settings if settings is not None else QSettings()

    # -- folders and recent files ------------------------------------------------------------
    def last_folder(self) -> str:
        """The folder of the last file opened or saved (the home folder if it went away)."""
        folder = self.qsettings.value("last_folder", "", type=str)
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    def remember_folder(self, folder: Path) -> None:
        self.qsettings.setValue("last_folder", str(folder))

    def remember_file(self, path: Path) -> None:
        """``path`` was opened: first in the recent files, and its folder the last folder."""
        self.remember_folder(path.parent)
        recent = [str(path)] + [p for p in self.recent_files() if p != str(path)]
        self.qsettings.setValue("recent_files", json.dumps(recent[:MAX_RECENT]))

    def recent_files(self) -> list[str]:
        try:
            recent = json.loads(self.qsettings.value("recent_files", "[]", type=str))
        except (ValueError, TypeError):
            return []
        return [p for p in recent if isinstance(p, str)] if isinstance(recent, list) else []

    # -- the session -------------------------------------------------------------------------
    def window_geometry(self) -> tuple[QByteArray | None, QByteArray | None]:
        """``(geometry, state)`` saved by the window, each None if absent or unreadable."""
        geometry, state = self.qsettings.value("geometry"), self.qsettings.value("window_state")
        return (
            geometry if isinstance(geometry, QByteArray) else None,
            state if isinstance(state, QByteArray) else None,
        )

    def kernel(self) -> Kernel:
        """The kernel of last time, or the default preset."""
        try:
            return kernel_from_dict(json.loads(self.qsettings.value("kernel", "", type=str)))
        except (ValueError, TypeError):
            return preset(DEFAULT_PRESET)  # no or corrupt saved kernel

    def options(self) -> tuple[PipelineSettings, str, str]:
        """``(layer settings, colormap, levels mode)`` of last time.

        Raises
        ------
        ValueError, TypeError, KeyError, AttributeError
            Nothing (readable) was saved; the caller falls back to its defaults.
        """
        options = json.loads(self.qsettings.value("options", "", type=str))
        return (
            PipelineSettings(**options["layer"]),
            options["colormap"],
            options.get("levels", "auto"),
        )

    def save(
        self,
        geometry: QByteArray,
        state: QByteArray,
        kernel: Kernel,
        layer: PipelineSettings,
        colormap: str,
        levels: str,
    ) -> None:
        s = self.qsettings
        s.setValue("geometry", geometry)
        s.setValue("window_state", state)
        s.setValue("kernel", json.dumps(kernel.to_dict()))
        s.setValue(
            "options",
            json.dumps(
                {
                    "layer": {k: getattr(layer, k) for k in layer.__dataclass_fields__},
                    "colormap": colormap,
                    "levels": levels,
                }
            ),
        )
        s.sync()
