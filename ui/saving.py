"""Saving what the window shows: a pane raw (float32 TIFF/.npy) or as displayed (PNG), and
"Export all" (input, kernel, every output both ways, and every layer of the network being
explored) into a folder.

Every write is atomic (``core.images``/``core.export``); a failure says so in the banner and
leaves nothing half-written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from core.display import apply_colormap, colormap_lut, is_signed, resolve_colormap
from core.export import export_all
from core.images import SaveError, save_png, save_raw
from core.inputs import LoadedImage
from core.live.snapshot import write_network_snapshot
from core.network.display import NetworkResult
from core.preview import Processed
from ui.background_save import BackgroundSave
from ui.messages import Messages
from ui.pane_group import PaneGroup
from ui.panes import ImagePane
from ui.settings_store import SettingsStore
from ui.workbench import Workbench

__all__ = ["SaveActions", "ask_save_path"]


def ask_save_path(parent: QWidget, title: str, suggestion: str, filters: str) -> str:
    """Ask where to save ("" if cancelled).

    A typed extension of any offered file type wins ("x.npy" with the TIFF filter selected is
    a .npy); a name without one gets the chosen type's first extension ("scan.v2" too).
    """
    path, chosen = QFileDialog.getSaveFileName(parent, title, suggestion, filters)
    known = re.findall(r"\*(\.\w+)", filters)
    offered = re.findall(r"\*(\.\w+)", chosen or filters) or known
    if path and offered and Path(path).suffix.lower() not in known:
        path += offered[0]
    return path


class SaveActions(QObject):
    """The window's saves, for whatever result the workbench holds.

    Signals
    -------
    exported(list)
        An "Export all" ended: the files written ([] if it failed; the banner says why).
    snapshot_saved(list)
        A live snapshot ended: the files written (those of the frame even if its network's
        layers failed; [] if nothing was saved).

    Parameters
    ----------
    workbench : Workbench
        The input and result to save.
    panes : PaneGroup
        Which pane shows which output, and with which colours and levels.
    store : SettingsStore
        The folder dialogs start in (and remember).
    messages : Messages
        Where success and failure are reported.
    dialog_parent : QWidget
        Parent of the file dialogs.
    """

    exported = Signal(list)
    snapshot_saved = Signal(list)

    def __init__(
        self,
        workbench: Workbench,
        panes: PaneGroup,
        store: SettingsStore,
        messages: Messages,
        dialog_parent: QWidget,
    ) -> None:
        super().__init__(dialog_parent)
        self._workbench = workbench
        self._panes = panes
        self._store = store
        self._messages = messages
        self._parent = dialog_parent
        self._snapshot_folder: str | None = None  # asked once, then reused
        # Export all writes on a thread: a network's layers took ~1 s in the GUI thread.
        self._background = BackgroundSave(self)
        self._background.busy_changed.connect(self._on_busy)

    def _pane_data(self, pane: ImagePane) -> tuple[np.ndarray, str] | None:
        processed = self._workbench.processed
        if processed is None:
            self._messages.show_error("There is no output to save yet.", topic="save")
            return None
        outputs = processed.outputs()
        label, data = outputs[0] if pane is self._panes.conv_pane else outputs[1]
        return data, label

    def displayed_rgb(self, pane: ImagePane, data: np.ndarray) -> np.ndarray:
        """Full-resolution RGB of ``data`` with the pane's current colours and levels (a
        gradient picked from its histogram's menu included)."""
        return apply_colormap(data, *self._colours(pane, data))

    def _colours(self, pane: ImagePane, data: np.ndarray) -> tuple[np.ndarray, tuple]:
        """The LUT and levels ``pane`` draws ``data`` with (copies: the pane may change)."""
        lut = pane.image.lookup_table()
        if lut is None:  # colour maps (no LUT), or a pane that has not drawn yet
            lut = colormap_lut(resolve_colormap(self._workbench.colormap_name(), is_signed(data)))
        return np.array(lut, copy=True), tuple(pane.levels())

    def _stem(self) -> str:
        loaded = self._workbench.loaded
        return Path(loaded.name).stem if loaded is not None else "convscope"

    def save_pane_raw(self, pane: ImagePane, path: str | Path | None = None) -> bool:
        """Save the exact float32 values ``pane`` shows (TIFF or .npy); asks where if no path."""
        found = self._pane_data(pane)
        if found is None:
            return False
        data, label = found
        if path is None:
            path = ask_save_path(
                self._parent,
                "Save raw values",
                str(Path(self._store.last_folder()) / f"{self._stem()}_{label}.tif"),
                "Float32 TIFF (*.tif *.tiff);;NumPy array (*.npy)",
            )
            if not path:
                return False
        return self._save(lambda: save_raw(path, data), path)

    def save_pane_png(self, pane: ImagePane, path: str | Path | None = None) -> bool:
        """Save ``pane`` as displayed (PNG); asks where if no path."""
        found = self._pane_data(pane)
        if found is None:
            return False
        data, label = found
        if path is None:
            path = ask_save_path(
                self._parent,
                "Save as displayed",
                str(Path(self._store.last_folder()) / f"{self._stem()}_{label}.png"),
                "PNG image (*.png)",
            )
            if not path:
                return False
        return self._save(lambda: save_png(path, self.displayed_rgb(pane, data)), path)

    def export_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self._parent, "Export all into folder", self._store.last_folder()
        )
        if folder:
            self.export_to(folder)

    def export_to(self, folder: str | Path) -> None:
        """Input, kernel JSON, every output raw and as displayed, and every layer of the
        network on screen, into ``folder``: written on a thread, after any save still being
        written; ``exported`` reports the files ([] on failure, the banner says why)."""
        write = self._export_job(folder, self._workbench.loaded, self._workbench.processed)
        if write is None:
            self.exported.emit([])
            return

        def done(written: list[Path] | None, error: str) -> None:
            if error:
                self._messages.show_error(f"Nothing was saved: {error}", topic="save")
            else:
                self._saved(Path(folder))
            self.exported.emit(written or [])

        self._messages.show_status(f"Exporting to {folder}...")
        self._background.start(write, done)

    def _on_busy(self, busy: bool) -> None:
        if busy:
            QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
        else:
            QApplication.restoreOverrideCursor()

    def is_saving(self) -> bool:
        """True while an export or snapshot is being written."""
        return self._background.is_busy()

    def wait_for_saves(self) -> None:
        """Finish the exports and snapshots being written (the window is closing)."""
        self._background.wait()

    def _export_job(
        self,
        folder: str | Path,
        loaded: LoadedImage | None,
        processed: Processed | None,
        stem: str | None = None,
    ) -> Callable[[], list[Path]] | None:
        """The write of an export of ``loaded`` and ``processed``, safe to run on any thread:
        the panes' colours and levels are read now, in the GUI thread. None (and a message)
        when there is nothing to export."""
        if processed is None or loaded is None:
            self._messages.show_error("There is nothing to export yet.", topic="save")
            return None
        stem = stem if stem is not None else Path(loaded.name).stem
        panes = (self._panes.conv_pane, self._panes.pooled_pane)
        outputs = [
            (label, data, *self._colours(pane, data))
            for pane, (label, data) in zip(panes, processed.outputs(), strict=True)
        ]
        # The network being explored, if its maps are of this input (not a snapshot's frame).
        network = self._workbench.network.result
        if network is not None and network.request.image is not loaded.image:
            network = None
        image, kernel = loaded.image, processed.result.kernel

        def write() -> list[Path]:
            return export_all(
                folder,
                stem,
                image=image,
                kernel=kernel,
                outputs={
                    label: (data, apply_colormap(data, lut, levels))
                    for label, data, lut, levels in outputs
                },
                network=None if network is None else network.network,
                network_outputs=() if network is None else network.outputs,
            )

        return write

    def snapshot(
        self,
        loaded: LoadedImage | None,
        processed: Processed | None,
        frame_index: int | None,
        folder: str | Path | None = None,
        *,
        ask: bool = True,
        network: NetworkResult | None = None,
    ) -> bool:
        """Export one live frame (``loaded`` and ``processed``, and every layer of the frame's
        ``network`` run) into a snapshot folder, on a thread; ``snapshot_saved`` reports the
        files. False if nothing was started (no frame, no folder).

        Parameters
        ----------
        frame_index : int or None
            The source's index of the frame, which file names carry (None: not a live frame).
        folder : str or Path, optional
            Target folder; by default the one asked for last time (asked once, and again if it
            went away), or asked now when ``ask``.
        network : NetworkResult, optional
            The frame's network run: its layers (``core.live.snapshot``) go beside the frame.
        """
        if loaded is None or processed is None:
            self._messages.show_error("There is no frame to save yet.", topic="save")
            return False
        if folder is None and self._snapshot_folder and Path(self._snapshot_folder).is_dir():
            folder = self._snapshot_folder
        if folder is None:
            if not ask:
                return False
            folder = QFileDialog.getExistingDirectory(
                self._parent, "Save snapshots into folder", self._store.last_folder()
            )
            if not folder:
                return False
        self._snapshot_folder = str(folder)
        stem = "-".join(Path(loaded.name).stem.split()) or "live"
        if frame_index is not None:
            stem += f"_frame{frame_index:06d}"
        export = self._export_job(folder, loaded, processed, stem)
        if export is None:
            return False

        def write() -> tuple[list[Path], str]:
            written = export()
            if network is None:
                return written, ""
            # Beside the frame and the single layer: every layer of the network, and the network.
            try:
                written += write_network_snapshot(network, folder, stem)
            except (SaveError, OSError) as exc:
                return written, str(exc)
            return written, ""

        def done(outcome: tuple[list[Path], str] | None, error: str) -> None:
            written, network_error = outcome or ([], "")
            if error:
                self._messages.show_error(f"Nothing was saved: {error}", topic="save")
            elif network_error:
                self._messages.show_error(
                    f"The network's layers were not saved: {network_error}", topic="save"
                )
            else:
                self._saved(Path(folder))
                if network is not None:
                    self._messages.show_status(f"Saved {len(written)} files to {folder}")
            self.snapshot_saved.emit(written)

        self._messages.show_status(f"Saving a snapshot to {folder}...")
        self._background.start(write, done)
        return True

    def _save(self, write: Callable[[], object], target: str | Path) -> bool:
        try:
            write()
        except (SaveError, OSError) as exc:
            self._messages.show_error(f"Nothing was saved: {exc}", topic="save")
            return False
        self._saved(Path(target))
        return True

    def _saved(self, target: Path) -> None:
        self._store.remember_folder(target if target.is_dir() else target.parent)
        self._messages.resolve("save")
        self._messages.show_status(f"Saved {target}")
