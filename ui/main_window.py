"""The main window: docks, menus, toolbar and status line around the workbench's views.

The window is the composition root and nothing more. State and engines live in
:class:`~ui.workbench.Workbench` (input, result, the still-image workers) and
:class:`~ui.live.LiveController` (the streaming engine); the panes
(:class:`~ui.pane_group.PaneGroup`), hover (:class:`~ui.hover.HoverController`), saves
(:class:`~ui.saving.SaveActions`) and remembered settings
(:class:`~ui.settings_store.SettingsStore`) each have their own module. The window wires them
together and shows their messages; its public methods are the actions its menus trigger.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QGridLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from core.images import IMAGE_EXTENSIONS
from core.inputs import LoadedImage
from core.preview import Processed
from resources import DEFAULT_SAMPLE, SAMPLES
from ui.banner import Banner
from ui.controls import ControlPanel
from ui.drops import open_mime
from ui.hover import HoverController
from ui.inspector import Inspector
from ui.kernel_editor import KernelEditor
from ui.live import LiveController, LiveToolbar
from ui.menus import build_menus, rebuild_recent_menu
from ui.messages import Messages
from ui.network_actions import NetworkActions
from ui.network_dock import NetworkDock
from ui.pane_group import PaneGroup
from ui.panes import ImagePane
from ui.restore import restore_session
from ui.saving import SaveActions
from ui.settings_store import SettingsStore
from ui.workbench import Workbench

IMAGE_FILTER = f"Images ({' '.join(f'*{suffix}' for suffix in sorted(IMAGE_EXTENSIONS))})"
BUSY_DELAY_MS = 100  # quick updates should not flash a progress bar
_EDITOR_TITLE = "<b>Kernel</b> &mdash; the weights slid over the input"


class MainWindow(QMainWindow):
    """ConvScope's main window.

    Signals
    -------
    idle()
        Emitted whenever no load or computation is pending and the newest result is shown.
    result_shown(object)
        The :class:`Processed` that the panes now show.
    """

    idle = Signal()
    result_shown = Signal(object)

    def __init__(self, settings: QSettings | None = None, *, interactive: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("ConvScope")
        self.setAcceptDrops(True)
        self.interactive = interactive  # False in tests: no modal dialogs
        self.store = SettingsStore(settings)
        self.messages = Messages(self)
        self.editor = KernelEditor(interactive=False)  # its failures go to the banner
        self.controls = ControlPanel()
        self.inspector = Inspector()
        # The state owner first, then its views: they draw in the order they subscribed.
        self.workbench = Workbench(self.editor, self.controls, self.messages, self)
        self.pane_group = PaneGroup(self.workbench, self)
        self.input_pane, self.conv_pane, self.pooled_pane = self.pane_group.panes
        self.panes = self.pane_group.panes
        self.hover = HoverController(self.workbench, self.pane_group, self.inspector, self)
        self.saving = SaveActions(
            self.workbench, self.pane_group, self.store, self.messages, dialog_parent=self
        )
        self.live = LiveController(
            self.workbench,
            self.pane_group,
            self.messages,
            self.store,
            self.saving,
            dialog_parent=self,
            interactive=interactive,
        )
        self.loader, self.worker = self.workbench.loader, self.workbench.worker
        self.network_dock = NetworkDock(self.workbench)

        self._build_layout()
        self.network = NetworkActions(
            self.workbench,
            self.network_dock,
            self.network_frame,
            self.editor,
            self.store,
            self.messages,
            self,
        )
        self.network.editing_changed.connect(self._on_editing_changed)
        # Live mode runs the network being explored on its frames; each frame's run is drawn
        # in the dock and (a selected map) the convolution pane, as a still image's is.
        engine = self.workbench.network
        engine.network_set.connect(lambda: self.live.set_network(engine.network, engine.selected))
        self.live.network_shown.connect(self.network_dock.show_result)
        self.live.network_shown.connect(self.pane_group.show_network_map)
        self._add_pane_menus()
        self.recent_menu = build_menus(self)
        self.live_toolbar = LiveToolbar(self.live, self, self.workbench, self.store)
        self.addToolBar(self.live_toolbar)
        self.setMinimumSize(960, 640)  # smaller, and the lower panes collapse to slivers

        self.messages.error.connect(self._on_error)
        self.messages.status.connect(self.show_status)
        self.messages.resolved.connect(self.banner.resolve)
        self.editor.message.connect(self.show_status)
        self.editor.failed.connect(lambda text: self.show_error(text, topic="kernel"))
        self.editor.file_done.connect(lambda: self.banner.resolve("kernel"))
        for pane in self.pane_group.outputs:  # the input's contrast is its own
            pane.levels_edited.connect(self.workbench.levels_edited)
        self.network_dock.view.unitHovered.connect(self.hover.hover_unit)
        self.live.network_shown.connect(self.hover.show_live_network)
        self.network_dock.view.hoverLeft.connect(self.hover.clear)
        self.workbench.input_changed.connect(self._on_input_changed)
        self.workbench.result_changed.connect(self._on_result_changed)
        self.workbench.outputs_cleared.connect(lambda _state: self.timing.setText(""))
        self.workbench.idle.connect(self.idle)
        network = self.workbench.network
        for worker in (self.loader, self.worker, network.worker, network.view_worker):
            worker.busy_changed.connect(self._on_busy_changed)
        self._restore_settings()

    # -- construction ----------------------------------------------------------------------
    def _add_pane_menus(self) -> None:
        for pane in self.pane_group.outputs:
            pane.add_menu_action(
                "Save raw...",
                lambda checked=False, p=pane: self.save_pane_raw(p),
                "Save the exact float32 values (TIFF or .npy).",
            )
            pane.add_menu_action(
                "Save as displayed...",
                lambda checked=False, p=pane: self.save_pane_png(p),
                "Save what you see, colormap and levels applied (PNG).",
            )

    def _build_layout(self) -> None:
        self.banner = Banner()
        grid = QGridLayout()
        grid.setSpacing(4)
        editor_box = QWidget()
        editor_layout = QVBoxLayout(editor_box)
        editor_layout.setContentsMargins(0, 0, 0, 0)
        self.editor_title = QLabel(_EDITOR_TITLE)
        editor_layout.addWidget(self.editor_title)
        editor_layout.addWidget(self.editor, 1)
        grid.addWidget(self.input_pane, 0, 0)
        grid.addWidget(editor_box, 0, 1)
        grid.addWidget(self.conv_pane, 1, 0)
        grid.addWidget(self.pooled_pane, 1, 1)
        for i in range(2):
            grid.setRowStretch(i, 1)
            grid.setColumnStretch(i, 1)
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(self.banner)
        outer.addLayout(grid, 1)
        self.setCentralWidget(central)

        docks = []
        for title, name, widget in (
            ("Layer and display", "controls", self.controls),
            ("Inspector: one output pixel", "inspector", self.inspector),
        ):
            dock = QDockWidget(title, self)
            dock.setObjectName(name)
            dock.setWidget(widget)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            docks.append(dock)
        self.resizeDocks(docks, [430, 400], Qt.Orientation.Vertical)
        self.resizeDocks(docks[:1], [330], Qt.Orientation.Horizontal)
        # The network being explored, under the panes (a selected map shows large in the
        # convolution pane, over its input pixels); hidden until a network is chosen.
        frame = QDockWidget(
            "Network: every layer's maps (click a map to show it large, a filter to edit it)", self
        )
        frame.setObjectName("network")
        frame.setWidget(self.network_dock)
        frame.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        # The right-hand docks keep the window's full height; the network goes under the panes.
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, frame)
        self.resizeDocks([frame], [420], Qt.Orientation.Vertical)
        frame.hide()
        toggle = frame.toggleViewAction()
        toggle.setText("Show the network dock")
        tip = "Every layer's maps of the network being explored; click a map or a filter."
        toggle.setToolTip(tip)
        toggle.setStatusTip(tip)
        self.network_frame = frame

        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.setToolTip("Working in the background; the window stays usable.")
        # Keep its place while hidden: showing it must not re-lay out (and repaint) the window.
        policy = self.busy.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.busy.setSizePolicy(policy)
        self.busy.hide()
        self.timing = QLabel()
        self.statusBar().addPermanentWidget(self.timing)
        self.statusBar().addPermanentWidget(self.busy)
        self._busy_timer = QTimer(self)
        self._busy_timer.setSingleShot(True)
        self._busy_timer.setInterval(BUSY_DELAY_MS)
        self._busy_timer.timeout.connect(self.busy.show)
        self.statusBar().messageChanged.connect(self._on_status_message)

    # -- the workbench's state, for the window's users (read-only) ---------------------------
    @property
    def loaded(self) -> LoadedImage | None:
        return self.workbench.loaded

    @property
    def processed(self) -> Processed | None:
        return self.workbench.processed

    def is_idle(self) -> bool:
        return self.workbench.is_idle()

    # -- actions ---------------------------------------------------------------------------
    def open_path(self, path: str | Path) -> None:
        """Load ``path`` in the background; a failure leaves the current image in place."""
        self.workbench.open_path(path)

    def open_array(self, name: str, image: np.ndarray) -> None:
        self.workbench.open_array(name, image)

    def open_default(self) -> None:
        self.open_path(SAMPLES[DEFAULT_SAMPLE])

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open image", self.store.last_folder(), IMAGE_FILTER
        )
        if path:
            self.open_path(path)

    def paste_image(self) -> None:
        """The clipboard's image, or the file a file manager copied (image, kernel or video)."""
        if not open_mime(self, QGuiApplication.clipboard().mimeData(), "pasted image"):
            self.show_error("The clipboard holds no image or file.", topic="input")

    def request_update(self) -> None:
        """Recompute with the current kernel and settings (on the active engine)."""
        self.workbench.request_update()

    def save_pane_raw(self, pane: ImagePane, path: str | Path | None = None) -> bool:
        return self.saving.save_pane_raw(pane, path)

    def save_pane_png(self, pane: ImagePane, path: str | Path | None = None) -> bool:
        return self.saving.save_pane_png(pane, path)

    def displayed_rgb(self, pane: ImagePane, data: np.ndarray) -> np.ndarray:
        return self.saving.displayed_rgb(pane, data)

    def export_dialog(self) -> None:
        if self.live.is_running():
            self.live.snapshot()  # Ctrl+S while live: the frame on screen, named by its index
        else:
            self.saving.export_dialog()

    def export_to(self, folder: str | Path) -> list[Path]:
        """Export all into ``folder`` and wait for it (scripts and tests; the menu's export
        does not wait): the files written, [] if it failed or did not start. The writing
        runs on a thread (``SaveActions.export_to``) while events keep being processed."""
        self.saving.wait_for_saves()  # the next `exported` is this export's
        written: list[Path] = []
        ended: list[bool] = []
        loop = QEventLoop()

        def done(files: list[Path]) -> None:
            written.extend(files)
            ended.append(True)
            loop.quit()

        self.saving.exported.connect(done)
        try:
            self.saving.export_to(folder)
            if not ended:  # else it was refused at once (nothing to export)
                loop.exec()
        finally:
            self.saving.exported.disconnect(done)
        return written

    def load_kernel_dialog(self) -> None:
        path = self.editor.load_dialog(self.store.last_folder())
        if path is not None:
            self.store.remember_folder(path.parent)

    def save_kernel_dialog(self) -> None:
        path = self.editor.save_dialog(self.store.last_folder())
        if path is not None:
            self.store.remember_folder(path.parent)

    def fit_view(self) -> None:
        self.pane_group.fit_view()

    def view_contains_image(self) -> bool:
        return self.pane_group.view_contains_image()

    def hover_at(self, x: float, y: float, source: ImagePane | None = None) -> dict:
        """Show the values and receptive field at input coordinates (see HoverController)."""
        return self.hover.hover_at(x, y, source)

    def clear_hover(self) -> None:
        self.hover.clear()

    def last_folder(self) -> str:
        return self.store.last_folder()

    def remember_folder(self, folder: Path) -> None:
        self.store.remember_folder(folder)

    # -- the workbench's signals -------------------------------------------------------------
    def _on_input_changed(self, loaded: LoadedImage, _same_size: bool) -> None:
        self.setWindowTitle(f"ConvScope - {loaded.name}")
        if loaded.path is not None:
            self.store.remember_file(loaded.path)
            rebuild_recent_menu(self, self.recent_menu, self.store.recent_files())

    def _on_result_changed(self, processed: Processed) -> None:
        # The panes have drawn it (they subscribed first); hover follows the new values.
        self.timing.setText(f"computed in {processed.seconds * 1000:.0f} ms")
        self.hover.refresh()
        self.result_shown.emit(processed)

    def _on_editing_changed(self, label: str) -> None:
        self.editor_title.setText(
            f"<b>Kernel</b> &mdash; editing the network's <b>{label}</b>: edits change its maps"
            if label
            else _EDITOR_TITLE
        )

    def _on_busy_changed(self, busy: bool) -> None:
        if busy:
            if not self._busy_timer.isActive() and not self.busy.isVisible():
                self._busy_timer.start()
        elif self.workbench.is_idle():
            self._busy_timer.stop()
            self.busy.hide()

    # -- messages --------------------------------------------------------------------------
    def _fitted_status(self, text: str) -> str:
        """``text`` elided to end before the live figures and timing on the right (QStatusBar
        would cut it off mid-word right against them)."""
        bar = self.statusBar()
        if not bar.isVisible():
            return text  # nothing to measure against yet
        children = bar.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
        right = min((w.x() for w in children if w.isVisible() and w.x() > 0), default=bar.width())
        room = right - 24  # the bar's own left margin, and a gap before the figures
        metrics = bar.fontMetrics()
        if room <= 0 or metrics.horizontalAdvance(text) <= room:
            return text
        return metrics.elidedText(text, Qt.TextElideMode.ElideRight, room)

    def _on_status_message(self, text: str) -> None:
        # Status tips (hovered actions) arrive here without a timeout; ours are fitted already.
        fitted = self._fitted_status(text) if text else text
        if fitted != text:
            self.statusBar().showMessage(fitted)  # its messageChanged finds it fits

    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(self._fitted_status(text), 8000)

    def show_error(self, text: str, level: str = "error", topic: str = "other") -> None:
        """A visible, non-modal message; the current image and results stay as they are.

        It stays until dismissed or until ``topic`` next succeeds (see :class:`Banner`).
        """
        self.banner.show_message(text, level, topic)
        self.show_status(text)

    def _on_error(self, text: str, level: str, topic: str) -> None:
        self.show_error(text, level, topic)

    # -- drag and drop ---------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        # An image opens, a kernel JSON loads into the editor, a video plays live.
        if open_mime(self, event.mimeData(), "dropped image"):
            event.acceptProposedAction()

    # -- settings --------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        """Geometry, kernel and options from last time; a stored value never stops the start
        (see :mod:`ui.restore`): what could not be used is reset, with a one-line note."""
        reset = restore_session(self, self.store, self.editor, self.controls)
        try:
            network = self.store.network()
        except Exception:  # a bad stored network: the example one stays, with a note
            self.store.remove("network")
            reset.append("network")
            network = None
        if network is not None:
            self.network_dock.set_network(network, "Last session's network")
        if not self.network_frame.isHidden():
            self.network.show_dock()
        rebuild_recent_menu(self, self.recent_menu, self.store.recent_files())
        if reset:
            self.show_error(
                f"Saved settings could not be used and were reset to defaults: {', '.join(reset)}.",
                level="note",
            )

    def save_settings(self) -> None:
        self.store.save(
            self.saveGeometry(),
            self.saveState(),
            self.editor.kernel(),
            self.controls.settings(),
            self.controls.colormap_name(),
            self.controls.levels_mode(),
        )
        explored = self.workbench.network.network is not None
        self.store.remember_network(self.network_dock.network() if explored else None)
        self.network.remember_layout()

    # -- shutdown --------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop live mode (threads, recording), the Train window and every worker
        (idempotent)."""
        self.live.shutdown()
        self.network.shutdown()
        self.saving.wait_for_saves()  # an export being written is finished, not cut short
        self._busy_timer.stop()
        self.workbench.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_settings()
        self.shutdown()
        super().closeEvent(event)
