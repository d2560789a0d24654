"""What ConvScope remembers between sessions (QSettings): folders, recent files, the kernel,
the layer and display options, the window's geometry.

Every stored value is read defensively: anything missing reads as "nothing saved", anything
unusable raises for the caller to reset (see :mod:`ui.restore`), never crashes the start.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QSettings

from core.kernels import Kernel, kernel_from_dict
from core.network import Network, network_from_dict
from core.network.layers import network_to_dict
from core.pipeline import PipelineSettings
from resources import RESOURCES

__all__ = ["MAX_RECENT", "SETTINGS_KEYS", "SettingsStore"]

MAX_RECENT = 8
#: Every key the window stores. Others are removed when the settings are read: a corrupt
#: file's junk must not be written back and grow. A new setting must be added here.
SETTINGS_KEYS = frozenset(
    {
        "geometry",
        "window_state",
        "kernel",
        "options",
        "recent_files",
        "last_folder",
        "network",
        "network_layout",
    }
)
#: A network larger than this (as JSON) is not remembered: settings files stay small.
MAX_NETWORK_TEXT = 4 * 1024 * 1024


class SettingsStore:
    """Typed, defensive access to the application's QSettings.

    Parameters
    ----------
    settings : QSettings, optional
        Where to read and write; the application's default settings if omitted (tests pass
        a scratch INI file).
    """

    def __init__(self, settings: QSettings | None = None) -> None:
        self.qsettings = settings if settings is not None else QSettings()

    def _stored_text(self, key: str, default: str = "") -> str:
        """The stored string under ``key``; ``default`` for a missing or unreadable value."""
        try:
            value = self.qsettings.value(key, default)
        except Exception:  # a value Qt cannot even convert: treat it as missing
            return default
        return value if isinstance(value, str) else default

    def contains(self, key: str) -> bool:
        return self.qsettings.contains(key)

    def remove(self, key: str) -> None:
        self.qsettings.remove(key)

    def clear(self) -> None:
        self.qsettings.clear()

    def drop_unknown_keys(self) -> None:
        """Remove every key this version does not write (a corrupt file must not grow)."""
        for key in self.qsettings.allKeys():
            if key not in SETTINGS_KEYS:
                self.qsettings.remove(key)

    # -- folders and recent files ------------------------------------------------------------
    def last_folder(self) -> str:
        """The folder of the last file opened or saved (the home folder if it went away)."""
        folder = self._stored_text("last_folder")
        try:
            usable = bool(folder) and Path(folder).is_dir()
        except (OSError, ValueError):  # a name too long or with a NUL in it
            usable = False
        return folder if usable else str(Path.home())

    def remember_folder(self, folder: Path) -> None:
        # The bundled samples live inside the installed package: opening one must not make
        # every save dialog start there.
        if Path(folder).resolve() == RESOURCES:
            return
        self.qsettings.setValue("last_folder", str(folder))

    def remember_file(self, path: Path) -> None:
        """``path`` was opened: first in the recent files, and its folder the last folder."""
        self.remember_folder(path.parent)
        recent = [str(path)] + [p for p in self.recent_files() if p != str(path)]
        self.qsettings.setValue("recent_files", json.dumps(recent[:MAX_RECENT]))

    def recent_files(self) -> list[str]:
        """The recent files, newest first (junk entries left out)."""
        try:
            recent = json.loads(self._stored_text("recent_files", "[]"))
        except (ValueError, TypeError, RecursionError):
            return []
        if not isinstance(recent, list):
            return []
        return [p for p in recent if isinstance(p, str) and len(p) < 4096][:MAX_RECENT]

    def rewrite_recent_files(self) -> None:
        """Store the recent files as read (drops the junk a corrupt file held)."""
        recent = self.recent_files()
        if recent or self.qsettings.contains("recent_files"):
            self.qsettings.setValue("recent_files", json.dumps(recent))

    # -- the session -------------------------------------------------------------------------
    def geometry(self) -> object:
        """The stored window geometry as Qt read it (None if absent; anything if corrupt)."""
        return self.qsettings.value("geometry")

    def window_state(self) -> object:
        """The stored dock/toolbar state as Qt read it (None if absent)."""
        return self.qsettings.value("window_state")

    def kernel(self) -> Kernel | None:
        """The kernel of last time, or None if none was saved.

        Raises
        ------
        Exception
            The stored kernel is unusable (corrupt, or values that overflow).
        """
        if not self.qsettings.contains("kernel"):
            return None
        kernel = kernel_from_dict(json.loads(self._stored_text("kernel")))
        with np.errstate(all="ignore"):  # huge weights: the check below says no
            total = float(kernel.weights.sum()) * kernel.scale
        if not (
            np.all(np.isfinite(kernel.weights))
            and math.isfinite(total)
            and math.isfinite(kernel.bias)
        ):
            raise ValueError("kernel values overflow")
        return kernel

    def network(self) -> Network | None:
        """The network explored last time, or None if none was saved.

        Raises
        ------
        Exception
            The stored network is unusable (corrupt JSON, an invalid layer).
        """
        if not self.qsettings.contains("network"):
            return None
        return network_from_dict(json.loads(self._stored_text("network")))

    def remember_network(self, network: Network | None) -> None:
        """Keep ``network`` for next time (None, or one too large to keep: forget it)."""
        text = None if network is None else json.dumps(network_to_dict(network))
        if text is None or len(text) > MAX_NETWORK_TEXT:
            self.qsettings.remove("network")
        else:
            self.qsettings.setValue("network", text)
        self.qsettings.sync()

    def network_layout(self) -> tuple[int, int] | None:
        """``(dock height, layer stack width)`` in pixels as the person left them, or None
        (never stored, or junk: the window's defaults are used)."""
        try:
            layout = json.loads(self._stored_text("network_layout", "null"))
        except (ValueError, TypeError, RecursionError):
            return None
        if not (isinstance(layout, list) and len(layout) == 2):
            return None
        if not all(isinstance(n, int) and 40 <= n <= 20000 for n in layout):
            return None
        return layout[0], layout[1]

    def remember_network_layout(self, height: int, stack_width: int) -> None:
        """Keep the network dock's height and its layer stack's width for next time."""
        self.qsettings.setValue("network_layout", json.dumps([int(height), int(stack_width)]))
        self.qsettings.sync()

    def options(self) -> tuple[PipelineSettings, str, str] | None:
        """``(layer settings, colormap, levels mode)`` of last time, None if none was saved.

        Raises
        ------
        Exception
            The stored options are unusable.
        """
        if not self.qsettings.contains("options"):
            return None
        options = json.loads(self._stored_text("options"))
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
