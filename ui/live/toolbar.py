"""The live-mode toolbar, menu and status line of the main window.

Widgets only: every action calls :class:`ui.live.controller.LiveController`, and the
controller's signals keep the widgets in step (a source that fails mid-stream unchecks the
Live button too).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QStyle,
    QToolBar,
    QWidget,
)

from core.live import SIZES, LiveStats, SourceChoice
from ui.live.controller import LiveController
from ui.settings_store import SettingsStore
from ui.workbench import Workbench

__all__ = ["LiveToolbar"]

_BADGE = "color:white; font-weight:bold; padding:1px 6px; border-radius:3px; background:{};"
_LIVE_COLOR, _FROZEN_COLOR, _REC_COLOR = "#c62828", "#8d6e00", "#d50000"
# Source box entries that are not a camera.
_SYNTHETIC, _FILE = "synthetic", "file"


class LiveToolbar(QToolBar):
    """Start/stop, source, size, mirror, freeze/step, snapshot and recording controls.

    Also adds a "Live" menu to the window's menu bar (same actions, so the shortcuts work
    wherever the focus is) and the live statistics to its status bar.

    Parameters
    ----------
    controller : LiveController
        The live mode these widgets drive.
    window : QMainWindow
        The window to install the toolbar, menu and status line in.
    workbench : Workbench
        Whether there is a result to snapshot.
    store : SettingsStore
        The folder the recording dialog starts in.
    """

    def __init__(
        self,
        controller: LiveController,
        window: QMainWindow,
        workbench: Workbench,
        store: SettingsStore,
    ) -> None:
        super().__init__("Live", window)
        self.setObjectName("live_toolbar")  # saveState/restoreState key
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.controller = controller
        self._window = window
        self._workbench = workbench
        self._store = store
        icon = window.style().standardIcon
        SP = QStyle.StandardPixmap

        self.start_action = self._make_action(
            "&Live",
            self._on_start_triggered,
            "Space",
            "Start or stop filtering the chosen source live (Space).",
            checkable=True,
        )
        self.start_action.setIcon(icon(SP.SP_MediaPlay))
        self.live_badge = QLabel("LIVE")
        self.live_badge.setToolTip("Live mode is running: the panes follow the source.")
        self.live_badge.setStyleSheet(_BADGE.format(_LIVE_COLOR))

        self.source_box = QComboBox()
        self.source_box.setToolTip(
            "Where live frames come from: a moving synthetic test scene, "
            "a video file (it loops) or a camera."
        )
        self.source_box.addItem("Synthetic scene", _SYNTHETIC)
        self.source_box.addItem("Video file...", _FILE)
        self._set_cameras([0])  # most machines with a camera have index 0; Find lists the rest
        self.size_box = QComboBox()
        self.size_box.setToolTip(
            "Size of the synthetic scene, or the resolution asked of the "
            "camera (it may pick the nearest it supports)."
        )
        self.mirror_box = QCheckBox("Mirror")
        self.mirror_box.setToolTip("Flip camera frames left-right, like looking in a mirror.")
        self.mirror_box.setChecked(controller.choice.mirror)
        self.find_action = self._make_action(
            "Find cameras",
            controller.find_cameras,
            None,
            "Look for connected cameras and list them in the source box.",
        )
        self.find_action.setIcon(icon(SP.SP_BrowserReload))

        self.freeze_action = self._make_action(
            "&Freeze",
            self._on_freeze_triggered,
            "F",
            "Hold the current frame to study it; kernel edits then recompute it (F).",
            checkable=True,
        )
        self.freeze_action.setIcon(icon(SP.SP_MediaPause))
        self.step_action = self._make_action(
            "&Step", controller.step, "N", "While frozen, show the newest frame once (N)."
        )
        self.step_action.setIcon(icon(SP.SP_MediaSkipForward))
        # Ctrl+S belongs to "Export all", which saves a snapshot while live; a second action
        # with the same shortcut would make both ambiguous, so this one only shows the hint.
        self.snapshot_action = self._make_action(
            "S&napshot\tCtrl+S",
            lambda: controller.snapshot(),
            None,
            "Save the frame on screen: input, kernel and both outputs, raw and as displayed, "
            "into a folder asked for once (Ctrl+S while live).",
        )
        self.snapshot_action.setIcon(icon(SP.SP_DialogSaveButton))
        self.snapshot_action.setIconText("Snapshot")
        self.record_action = self._make_action(
            "&Record",
            self._on_record_triggered,
            "Ctrl+R",
            "Record the chosen pane, as displayed, to a video file (Ctrl+R).",
            checkable=True,
        )
        self.record_action.setIcon(_dot_icon(_REC_COLOR))
        self.record_box = QComboBox()
        self.record_box.setToolTip("The pane a recording shows, with its colormap and levels.")
        self._fill_record_box()
        self.rec_badge = QLabel("\u25cf REC")
        self.rec_badge.setToolTip("Recording: every frame shown is written to the video file.")
        self.rec_badge.setStyleSheet(_BADGE.format(_REC_COLOR))

        self.addAction(self.start_action)
        # A toolbar shows or hides its widgets through their actions, not QWidget.setVisible.
        self._live_badge_action = self.addWidget(self.live_badge)
        self._live_badge_action.setVisible(False)
        self.addSeparator()
        self.addWidget(_caption("Source"))
        self.addWidget(self.source_box)
        self.addWidget(self.size_box)
        self.addWidget(self.mirror_box)
        self.addAction(self.find_action)
        self.addSeparator()
        self.addAction(self.freeze_action)
        self.addAction(self.step_action)
        self.addSeparator()
        self.addAction(self.snapshot_action)
        self.addAction(self.record_action)
        self.addWidget(self.record_box)
        self._rec_badge_action = self.addWidget(self.rec_badge)
        self._rec_badge_action.setVisible(False)

        self.stats_label = QLabel()
        self.stats_label.setToolTip(
            "Live statistics: frames captured and drawn per second, processing time per frame, "
            "and frames dropped because the pipeline was still busy with a newer one."
        )
        window.statusBar().insertPermanentWidget(0, self.stats_label)
        self.stats_label.hide()
        self.menu = self._build_menu(window)

        self._sync_size_box()
        self.source_box.currentIndexChanged.connect(self._on_source_changed)
        self.size_box.currentIndexChanged.connect(self._on_size_changed)
        self.mirror_box.toggled.connect(self._on_mirror_toggled)
        self.record_box.currentIndexChanged.connect(self._on_record_pane_changed)
        controller.running_changed.connect(self._on_running_changed)
        controller.frozen_changed.connect(self._on_frozen_changed)
        controller.recording_changed.connect(self._on_recording_changed)
        controller.stats_changed.connect(self._on_stats_changed)
        controller.cameras_found.connect(self._on_cameras_found)
        controller.choice_changed.connect(self._show_choice)
        controller.recordable_changed.connect(self._fill_record_box)
        self._sync_enabled()

    # -- construction ------------------------------------------------------------------------
    def _make_action(
        self, text: str, slot, shortcut: str | None, tip: str, checkable: bool = False
    ) -> QAction:
        action = QAction(text, self._window)
        action.setCheckable(checkable)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        return action

    def _build_menu(self, window: QMainWindow) -> QMenu:
        menu = QMenu("Li&ve", window)
        menu.setToolTipsVisible(True)
        open_video = self._make_action(
            "Open &video file...",
            self._on_open_video,
            None,
            "Choose a video file to filter live; it loops.",
        )
        synthetic = self._make_action(
            "Synthetic &scene",
            lambda: self._select_source(_SYNTHETIC),
            None,
            "Use the moving synthetic test scene as the live source.",
        )
        for item in (
            self.start_action,
            None,
            synthetic,
            open_video,
            self.find_action,
            None,
            self.freeze_action,
            self.step_action,
            None,
            self.snapshot_action,
            self.record_action,
        ):
            if item is None:
                menu.addSeparator()
            else:
                menu.addAction(item)
        bar = window.menuBar()
        help_menu = next((a for a in bar.actions() if a.text().replace("&", "") == "Help"), None)
        if help_menu is not None:
            bar.insertMenu(help_menu, menu)
        else:
            bar.addMenu(menu)
        return menu

    # -- source widgets ------------------------------------------------------------------------
    def _set_cameras(self, indices: list[int]) -> None:
        box = self.source_box
        current = box.currentData()
        box.blockSignals(True)
        try:
            for i in reversed(range(box.count())):
                if isinstance(box.itemData(i), int):
                    box.removeItem(i)
            for index in indices:
                box.addItem(f"Camera {index}", index)
            found = box.findData(current)
            box.setCurrentIndex(found if found >= 0 else 0)
        finally:
            box.blockSignals(False)

    def _sync_size_box(self) -> None:
        choice = self.controller.choice
        box = self.size_box
        box.blockSignals(True)
        try:
            box.clear()
            if choice.kind == "camera":
                box.addItem("Camera default", "")
            for width, height in SIZES:
                box.addItem(f"{width}x{height}", f"{width}x{height}")
            found = box.findData(_size_text(choice.size))
            if found < 0 and choice.size is not None:  # a size started from code
                box.addItem(_size_text(choice.size), _size_text(choice.size))
                found = box.count() - 1
            box.setCurrentIndex(max(found, 0))
        finally:
            box.blockSignals(False)
        self._sync_enabled()

    def _sync_enabled(self) -> None:
        controller = self.controller
        kind = controller.choice.kind
        running = controller.is_running()
        self.size_box.setEnabled(kind != _FILE)
        self.mirror_box.setEnabled(kind == "camera")
        self.freeze_action.setEnabled(running)
        self.step_action.setEnabled(running and controller.is_frozen())
        self.snapshot_action.setEnabled(self._workbench.processed is not None)
        self.record_action.setEnabled(running or controller.is_recording())

    def _select_source(self, data) -> None:
        index = self.source_box.findData(data)
        if index >= 0:
            self.source_box.setCurrentIndex(index)

    def _on_source_changed(self, _index: int) -> None:
        controller = self.controller
        data = self.source_box.currentData()
        choice = controller.choice
        if data == _FILE:
            if not controller.choose_video_file():
                self._show_choice()  # cancelled: back to what was chosen before
                return
            choice = controller.choice
        elif data == _SYNTHETIC:
            choice = SourceChoice(
                "synthetic", choice.camera, choice.path, choice.size or (640, 480), choice.mirror
            )
        else:
            choice = SourceChoice("camera", int(data), choice.path, choice.size, choice.mirror)
        controller.set_choice(choice, restart=True)
        self._show_choice()

    def _show_choice(self) -> None:
        """Make the source box and size box show the controller's choice."""
        choice = self.controller.choice
        box = self.source_box
        box.blockSignals(True)
        try:
            file_index = box.findData(_FILE)
            label = f"Video: {choice.path.name}" if choice.path is not None else "Video file..."
            box.setItemText(file_index, label)
            data = {"synthetic": _SYNTHETIC, "file": _FILE}.get(choice.kind, choice.camera)
            found = box.findData(data)
            if found < 0:  # a camera not in the list yet
                box.addItem(f"Camera {choice.camera}", choice.camera)
                found = box.count() - 1
            box.setCurrentIndex(found)
        finally:
            box.blockSignals(False)
        self._sync_size_box()

    def _on_open_video(self) -> None:
        path = self.controller.ask_video_file()
        if path is not None:
            # Plays it now; a file that cannot be opened leaves live mode stopped with the
            # reason in the banner, and the source that worked chosen (not restarted over it).
            self.controller.use_video(path)
            self._show_choice()

    def _on_size_changed(self, _index: int) -> None:
        size = _parse_size(self.size_box.currentData())
        choice = self.controller.choice
        if choice.kind == "synthetic" and size is None:
            return
        self.controller.set_choice(
            SourceChoice(choice.kind, choice.camera, choice.path, size, choice.mirror), restart=True
        )

    def _on_mirror_toggled(self, checked: bool) -> None:
        choice = self.controller.choice
        self.controller.set_choice(
            SourceChoice(choice.kind, choice.camera, choice.path, choice.size, checked),
            restart=False,
        )

    def _on_cameras_found(self, indices: list[int]) -> None:
        self._set_cameras(indices)
        self._show_choice()

    # -- actions -------------------------------------------------------------------------------
    def _on_start_triggered(self, _checked: bool = False) -> None:
        self.controller.toggle()
        self.start_action.setChecked(self.controller.is_running())  # a failed start unchecks

    def _on_freeze_triggered(self, checked: bool) -> None:
        self.controller.set_frozen(checked)
        self.freeze_action.setChecked(self.controller.is_frozen())

    def _fill_record_box(self) -> None:
        """The panes, and each network layer's grid while a network runs."""
        box = self.record_box
        box.blockSignals(True)
        try:
            box.clear()
            for key, label in self.controller.recordable_panes().items():
                box.addItem(label, key)
            box.setCurrentIndex(max(0, box.findData(self.controller.record_pane)))
        finally:
            box.blockSignals(False)

    def _on_record_pane_changed(self, _index: int) -> None:
        pane = self.record_box.currentData()
        controller = self.controller
        if controller.is_recording() and pane != controller.record_pane:
            # A video has one picture size: a new pane means a new file.
            controller.stop_recording()
        controller.record_pane = pane

    def _on_record_triggered(self, checked: bool) -> None:
        controller = self.controller
        if not checked:
            controller.stop_recording()
        elif controller.interactive:
            pane = self.record_box.currentData()
            stamp = QDateTime.currentDateTime().toString("yyyyMMdd-HHmmss")
            name = pane.replace(":", "")  # "layer:2" -> "layer2"
            default = Path(self._store.last_folder()) / f"convscope-{name}-{stamp}.avi"
            path, _ = QFileDialog.getSaveFileName(
                self._window,
                "Record to video file",
                str(default),
                "Motion-JPEG video (*.avi);;H.264 video (*.mp4)",
            )
            if path:
                self._store.remember_folder(Path(path).parent)
                controller.start_recording(path, pane)
        self.record_action.setChecked(controller.is_recording())

    # -- controller signals --------------------------------------------------------------------
    def _on_running_changed(self, running: bool) -> None:
        self.start_action.setChecked(running)
        if running:
            self._show_choice()  # the source may have been started by code, not these boxes
        icon = QStyle.StandardPixmap.SP_MediaStop if running else QStyle.StandardPixmap.SP_MediaPlay
        self.start_action.setIcon(self._window.style().standardIcon(icon))
        self._live_badge_action.setVisible(running)
        self.stats_label.setVisible(running)
        self._sync_enabled()

    def _on_frozen_changed(self, frozen: bool) -> None:
        self.freeze_action.setChecked(frozen)
        self.live_badge.setText("FROZEN" if frozen else "LIVE")
        self.live_badge.setStyleSheet(_BADGE.format(_FROZEN_COLOR if frozen else _LIVE_COLOR))
        self._sync_enabled()

    def _on_recording_changed(self, recording: bool) -> None:
        self.record_action.setChecked(recording)
        if recording:  # it may have been started for another pane than the box shows
            self.record_box.blockSignals(True)
            self.record_box.setCurrentIndex(self.record_box.findData(self.controller.record_pane))
            self.record_box.blockSignals(False)
        self._rec_badge_action.setVisible(recording)
        self._sync_enabled()

    def _on_stats_changed(self, stats: LiveStats) -> None:
        self.stats_label.setText(stats.text)
        self.snapshot_action.setEnabled(self._workbench.processed is not None)


def _dot_icon(color: str) -> QIcon:
    """A filled circle, the usual "record" symbol (Qt's standard icons have none)."""
    pixmap = QPixmap(32, 32)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(color))
    painter.drawEllipse(5, 5, 22, 22)
    painter.end()
    return QIcon(pixmap)


def _size_text(size: tuple[int, int] | None) -> str:
    # Item data holds text: Qt would hand a tuple back as a list, which findData never matches.
    return "" if size is None else f"{size[0]}x{size[1]}"


def _parse_size(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    width, height = text.split("x")
    return int(width), int(height)


def _caption(text: str) -> QWidget:
    label = QLabel(f" {text} ")
    label.setToolTip("Where live frames come from.")
    return label
