"""Live mode: a camera, a video file or a synthetic scene filtered at interactive frame rates.

Three threads, each holding at most one item for the next, so nothing can queue up:

``capture``  (:class:`core.sources.CaptureThread`) overwrites one latest-frame slot.
``process``  (:class:`core.live.FrameProcessor`) takes the newest frame only once the GUI
             has taken the previous result, runs the layer on it and leaves the result in
             its own one-item slot, then wakes the GUI with a queued signal.
GUI          (:class:`LiveController`) takes the result and draws it: the input frame and
             its outputs come from the same :class:`LiveResult`, so the panes always show
             one frame.

A frame overwritten before anyone took it counts as dropped; nothing is ever buffered. A source
that is not paced (an unthrottled synthetic scene, a video without a frame rate) is read on
demand instead, one frame per frame processed. The kernel and layer settings travel to the
processing thread as one immutable :class:`LiveParams`, replaced whenever the workbench
routes an edit here (:meth:`LiveController.params_changed`), so it applies to the next frame.

The GUI thread does as little as possible per frame, because it also holds the GIL while Qt
paints: the processing thread converts the frame, runs the layer, measures levels and stats,
and renders the output maps through their colormap, so the GUI only hands finished pictures
to Qt (the input frame as captured, uint8 without levels). Histograms and stats lines follow
a few times a second. Freezing (or stopping) puts the panes back into workbench mode on the
frame on screen: float maps, live histograms, edits recompute.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QWidget

from core.live import (
    STATUS_INTERVAL_MS,
    VIDEO_EXTENSIONS,
    Failure,
    LiveParams,
    LiveResult,
    LiveStats,
    SourceChoice,
    choice_for,
    recordable_panes,
)
from core.live.session import LiveSession
from core.network import Network
from core.recording import VideoRecorder
from core.sources import CameraSource, FrameSource, SourceError
from ui.live.camera_probe import CameraProbe
from ui.live.frame_view import LiveFrameView
from ui.live.histograms import LiveHistograms
from ui.live.recording import LiveRecording
from ui.messages import Messages
from ui.pane_group import PaneGroup
from ui.saving import SaveActions
from ui.settings_store import SettingsStore
from ui.workbench import Workbench

__all__ = ["LiveController"]


class LiveController(QObject):
    """Runs live mode: the workbench's streaming engine.

    Owns a :class:`~core.live.session.LiveSession` (capture and processing threads) from start
    to stop, and an optional recorder. Each frame is drawn by a :class:`LiveFrameView`: it
    becomes the workbench's input and result, so the panes, hover and saves treat it like a
    still image and every workbench control keeps working live.

    Parameters
    ----------
    workbench : Workbench
        The state it feeds (and reads the kernel and settings from); edits arrive through
        :meth:`params_changed`.
    panes : PaneGroup
        The panes it draws frames into.
    messages, store, saving
        Reports, remembered folders, and the export a snapshot uses.
    dialog_parent : QWidget
        Parent of its dialogs.
    interactive : bool
        False in tests: no modal dialogs.

    Signals
    -------
    frame_shown(object)
        The :class:`LiveResult` now on screen.
    running_changed(bool)
        Live mode started or stopped.
    frozen_changed(bool)
        The display froze or resumed.
    recording_changed(bool)
        Recording started or stopped.
    stats_changed(object)
        A new :class:`LiveStats`, a few times a second while live.
    cameras_found(object)
        The list of camera indices a probe found.
    choice_changed()
        :attr:`choice` went back to the last source that started (a video failed to open).
    network_shown(object)
        The :class:`~core.network.display.NetworkResult` of the frame now on screen (every
        frame while a network is set with :meth:`set_network`): the network dock draws it.
    recordable_changed()
        :meth:`recordable_panes` changed (a network was set or removed).
    """

    frame_shown = Signal(object)
    running_changed = Signal(bool)
    frozen_changed = Signal(bool)
    recording_changed = Signal(bool)
    stats_changed = Signal(object)
    cameras_found = Signal(object)
    choice_changed = Signal()  # the choice went back to the last one that worked
    network_shown = Signal(object)
    recordable_changed = Signal()
    # Internal, emitted from the processing / capture threads; queued to the GUI thread.
    _result_ready = Signal()
    _capture_ended = Signal(int, object)

    def __init__(
        self,
        workbench: Workbench,
        panes: PaneGroup,
        messages: Messages,
        store: SettingsStore,
        saving: SaveActions,
        dialog_parent: QWidget,
        *,
        interactive: bool = True,
    ) -> None:
        super().__init__(dialog_parent)
        self._workbench = workbench
        self._panes = panes
        self._messages = messages
        self._store = store
        self._saving = saving
        self._parent = dialog_parent
        self.interactive = interactive  # False in tests: no modal dialogs
        self._histograms = LiveHistograms(panes)
        self._view = LiveFrameView(workbench, panes, self._histograms)
        self._probe = CameraProbe(self)
        self.choice = SourceChoice()
        self._good_choice = self.choice  # the last choice that started
        self._session_id = 0
        self._session: LiveSession | None = None
        self._recording = LiveRecording(messages)
        self._params: LiveParams | None = None
        self._network: Network | None = None
        self._selected: tuple[int, int] | None = None
        self._last_network_failure = ""
        self._current: LiveResult | None = None
        self._frozen = False
        self._last_failure = ""
        self._dropped_before = 0  # the last session's drops, shown after it stopped

        self._result_ready.connect(self._on_result_ready)
        self._capture_ended.connect(self._on_capture_ended)
        self._probe.found.connect(self._on_cameras_found)
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(STATUS_INTERVAL_MS)
        self._status_timer.timeout.connect(self._on_status_timer)
        # Edits reach it through the workbench (params_changed), which routes them.
        workbench.attach_live(self)

    # -- state ---------------------------------------------------------------------------------
    def is_running(self) -> bool:
        """True from :meth:`start` to :meth:`stop`, frozen or not."""
        return self._session is not None

    def is_streaming(self) -> bool:
        """True while frames flow to the panes (running and not frozen)."""
        return self._session is not None and not self._frozen

    def is_frozen(self) -> bool:
        """True while the display holds one frame (see :meth:`set_frozen`)."""
        return self._frozen

    def is_recording(self) -> bool:
        """True between :meth:`start_recording` and :meth:`stop_recording`."""
        return self._recording.recorder is not None

    @property
    def source(self) -> FrameSource | None:
        """The running source, or None."""
        return self._session.source if self._session is not None else None

    @property
    def current(self) -> LiveResult | None:
        """The live result on screen (kept after stop), or None."""
        return self._current

    @property
    def recorder(self) -> VideoRecorder | None:
        """The recorder writing the current recording, or None."""
        return self._recording.recorder

    @property
    def network(self) -> Network | None:
        """The network run on every frame (see :meth:`set_network`), or None."""
        return self._network

    def set_network(self, network: Network | None, selected: tuple[int, int] | None = None) -> None:
        """Run ``network`` on every frame from the next one on (None: the single layer only),
        with map ``selected`` = (layer index, channel) given as a pane view.

        The hook the window's network engine calls when the network or the selected map
        changes; the results come back through :attr:`network_shown`.
        """
        before = self.recordable_panes()
        self._network = network
        self._selected = selected if network is not None else None
        panes = self.recordable_panes()
        if self._recording.pane not in panes:
            # The recorded layer went with its network: a video has one picture.
            if self.is_recording():
                self.stop_recording()
            self._recording.pane = "conv"
        self.params_changed()
        if panes != before:
            self.recordable_changed.emit()

    def recordable_panes(self) -> dict[str, str]:
        """Recording key -> label: the three panes, and each layer while a network runs."""
        return recordable_panes(self._network)

    @property
    def record_pane(self) -> str:
        """The pane recorded (or to record next), a key of ``RECORDABLE_PANES``."""
        return self._recording.pane

    @record_pane.setter
    def record_pane(self, pane: str) -> None:
        self._recording.pane = pane

    def stats(self) -> LiveStats:
        """Current counters; see :class:`LiveStats`."""
        session, recorder, view = self._session, self._recording.recorder, self._view
        return LiveStats(
            source=view.source_name,
            frame_index=self._current.frame.index if self._current is not None else -1,
            shown=view.shown,
            dropped=session.dropped if session is not None else self._dropped_before,
            capture_fps=session.capture_fps if session is not None else 0.0,
            display_fps=view.display_fps(),
            process_ms=view.process_ms,
            frozen=self._frozen,
            recording=recorder is not None,
            recorded=recorder.written if recorder is not None else 0,
            record_dropped=recorder.dropped if recorder is not None else 0,
        )

    # -- start / stop --------------------------------------------------------------------------
    def start(self, source: FrameSource | None = None) -> bool:
        """Start live mode on ``source`` (default: a new source for :attr:`choice`).

        The source is opened here, so a missing camera or an unreadable file is reported at
        once (in the window's banner) and the window stays as it was.

        Returns
        -------
        bool
            True if live mode is running.
        """
        if self.is_running():
            self.stop()
        params = self._make_params()
        if params is None:
            return False  # the window already says which setting is wrong
        try:
            if source is None:
                source = self.choice.make_source()
            source.open()
        except SourceError as exc:
            if source is not None:
                source.close()
            self._messages.show_error(f"Live mode could not start: {exc}", topic="live")
            if self.choice.kind == "file" and self.choice != self._good_choice:
                # A broken video must not replace the source that worked in the toolbar.
                self.choice = self._good_choice
                self.choice_changed.emit()
            return False
        self._session_id += 1
        session_id = self._session_id
        self.choice = self._good_choice = choice_for(source, self.choice)  # what runs
        self._messages.resolve("live")
        self._params = params
        self._last_failure = ""
        self._dropped_before = 0
        view = self._view
        view.reset()
        view.source_name = source.name
        # Keep the person's zoom when the new frames are as large as the image they replace.
        size = source.frame_size
        loaded = self._workbench.loaded
        shown = loaded.image.shape[:2] if loaded is not None else None
        view.fit_pending = size is None or shown != (size[1], size[0])
        self._session = LiveSession(
            source,
            params,
            on_ready=self._result_ready.emit,
            on_ended=lambda error, s=session_id: self._capture_ended.emit(s, error),
        )
        self._histograms.detach()
        self._session.start()
        self._status_timer.start()
        self._messages.show_status(f"Live: {source.name}")
        self.running_changed.emit(True)
        self._emit_stats()
        return True

    def start_choice(self) -> bool:
        """Start on the source chosen in the toolbar, asking for a video file if needed."""
        if self.choice.kind == "file" and self.choice.path is None:
            if not self.choose_video_file():
                return False
        return self.start()

    def toggle(self) -> None:
        """Stop if running, else start on the chosen source (the Space key)."""
        if self.is_running():
            self.stop()
        else:
            self.start_choice()

    def stop(self, message: str = "", *, error: bool = False) -> None:
        """Stop live mode; the last frame and its outputs stay on screen.

        Every thread is joined and a recording is finalized before this returns.

        Parameters
        ----------
        message : str
            Shown in the banner (``error=True``) or the status bar.
        error : bool
            The stop is a failure the person must see.
        """
        session = self._session
        if session is None:
            return
        recording = self.stop_recording()
        if recording is not None and not message:
            message = f"Live mode stopped; the recording is in {recording}."
        self._dropped_before = session.dropped
        self._session = None
        session.stop()
        self._status_timer.stop()
        self._histograms.attach(self._workbench.loaded, self._workbench.processed)
        was_frozen, self._frozen = self._frozen, False
        if was_frozen:
            self.frozen_changed.emit(False)
        current, loaded = self._current, self._workbench.loaded
        if (
            not error
            and current is not None
            and loaded is not None
            and loaded.image is current.working
            and current.params is not self._params
        ):
            # An edit the last frame missed: show it on that frame (live has stopped, so the
            # workbench computes it as a still image).
            self._workbench.request_update()
        if error:
            self._messages.show_error(message, topic="live")
        else:
            self._messages.show_status(
                message or "Live mode stopped; the last frame stays for study."
            )
        self.running_changed.emit(False)
        self._emit_stats()

    def shutdown(self) -> None:
        """Stop everything (idempotent): live mode, recording, a camera probe in progress."""
        self._status_timer.stop()
        self.stop()
        self._probe.shutdown()

    # -- freeze and step -----------------------------------------------------------------------
    def set_frozen(self, frozen: bool) -> None:
        """Hold the frame on screen (True) or resume (False); capture keeps running.

        While frozen the window behaves like the image workbench on that frame: kernel and
        layer edits recompute it.
        """
        session = self._session
        if session is None or frozen == self._frozen:
            return
        self._frozen = frozen
        session.set_paused(frozen)
        if frozen:
            # A still frame: panes behave as in the workbench.
            self._histograms.attach(self._workbench.loaded, self._workbench.processed)
        else:
            self._view.shown_times.clear()
            self._histograms.detach()
        self.frozen_changed.emit(frozen)
        self._emit_stats()

    def step(self) -> None:
        """While frozen, show the newest frame once (and stay frozen)."""
        if self._session is not None and self._frozen:
            self._session.step()

    # -- recording -----------------------------------------------------------------------------
    def start_recording(self, path: str | Path, pane: str | None = None) -> bool:
        """Record ``pane`` ("input", "conv", "pooled", or a network layer's grid while a
        network runs: a key of :meth:`recordable_panes`; default :attr:`record_pane`) as
        displayed to ``path`` (.avi or .mp4), one video frame per frame shown.

        Returns
        -------
        bool
            True if recording started.
        """
        messages = self._messages
        if not self.is_running():
            messages.show_error("Start live mode before recording.", topic="record")
            return False
        pane = pane or self.record_pane
        panes = self.recordable_panes()
        if pane not in panes:
            raise ValueError(f"pane must be one of {', '.join(panes)}, not {pane!r}")
        self.stop_recording()
        # The video plays at the rate frames are shown (it has one frame per frame shown), so
        # it runs in real time; the source's own rate before anything was measured.
        source = self.source
        shown_fps = self._view.display_fps()
        nominal = source.nominal_fps if source is not None else None
        fps = round(shown_fps, 1) if shown_fps >= 1.0 else (nominal or 30.0)
        if not self._recording.start(path, pane, fps, panes):
            return False
        self.params_changed()  # frames are rendered for the recording from now on
        self.recording_changed.emit(True)
        self._emit_stats()
        return True

    def stop_recording(self, message: str = "") -> Path | None:
        """Finalize the recording; returns its path, or None if nothing was recording."""
        path = self._recording.stop(message, on_detached=self.params_changed)
        if path is None:
            return None
        self.recording_changed.emit(False)
        self._emit_stats()
        return path

    # -- snapshot ------------------------------------------------------------------------------
    def snapshot(self, folder: str | Path | None = None) -> bool:
        """Save the frame on screen like "Export all": input, kernel, outputs raw and as shown,
        and with a network every layer of the frame's run and the network file.

        The frame is the one on screen when this is called, even if live mode moves on while
        the folder dialog is open or the files are written (on a thread:
        ``SaveActions.snapshot_saved`` reports them). File names carry the frame index.

        Parameters
        ----------
        folder : str or Path, optional
            Target folder; by default ask (once, then reuse).

        Returns
        -------
        bool
            True if the snapshot is being written (False if cancelled or nothing to save).
        """
        loaded, current = self._workbench.loaded, self._current
        on_screen = current is not None and loaded is not None and loaded.image is current.working
        frame_index = current.frame.index if on_screen else None
        network = current.network if on_screen and current is not None else None
        return self._saving.snapshot(
            loaded,
            self._workbench.processed,
            frame_index,
            folder,
            ask=self.interactive,
            network=network,
        )

    # -- sources -------------------------------------------------------------------------------
    def set_choice(self, choice: SourceChoice, *, restart: bool = True) -> None:
        """Use ``choice`` from now on; a running session switches to it (``restart``)."""
        previous, self.choice = self.choice, choice
        source = self.source
        if isinstance(source, CameraSource) and choice.kind == "camera":
            source.mirror = choice.mirror  # read per frame by the capture thread: no restart
            if replace(previous, mirror=choice.mirror) == choice:
                return
        if restart and self.is_running() and choice != previous:
            self.start_choice()

    def ask_video_file(self) -> Path | None:
        """Ask for a video file (interactive windows only); None if cancelled."""
        if not self.interactive:
            return None
        path, _ = QFileDialog.getOpenFileName(
            self._parent,
            "Open video file",
            self._store.last_folder(),
            f"Videos ({' '.join('*' + e for e in VIDEO_EXTENSIONS)});;All files (*)",
        )
        if not path:
            return None
        self._store.remember_folder(Path(path).parent)
        return Path(path)

    def choose_video_file(self) -> bool:
        """Ask for a video file and choose it (a running session switches to it); True if
        one was chosen."""
        path = self.ask_video_file()
        if path is None:
            return False
        self.set_choice(replace(self.choice, kind="file", path=path))
        return True

    def use_video(self, path: str | Path) -> bool:
        """Play the video file ``path`` live now (e.g. one dropped on the window).

        Returns
        -------
        bool
            True if it plays; if it cannot be opened, the banner says why and the source
            that worked before stays chosen.
        """
        self._store.remember_folder(Path(path).parent)
        self.set_choice(replace(self.choice, kind="file", path=Path(path)), restart=False)
        return self.start()

    def find_cameras(self) -> None:
        """Probe camera indices in a background thread; ``cameras_found`` reports them."""
        if self._probe.start():
            self._messages.show_status("Looking for cameras...")

    # -- slots ---------------------------------------------------------------------------------
    @Slot()
    def _on_result_ready(self) -> None:
        session = self._session
        if session is None:
            return  # stopped meanwhile
        taken = session.take()
        if taken is None:
            return  # a late wake-up from an earlier session
        item, stepped = taken
        if self._frozen and not stepped:
            return  # was in flight when the display froze: the frozen frame stays
        if isinstance(item, Failure):
            if item.message != self._last_failure:
                self._last_failure = item.message
                self._messages.show_error(
                    f"Cannot compute this layer: {item.message}", topic="compute"
                )
            return
        self._last_failure = ""
        self._show(item)

    def _show(self, result: LiveResult) -> None:
        self._view.show(result)
        self._current = result
        if result.record is not None and (problem := self._recording.submit(result.record)):
            self.stop_recording()
            self._messages.show_error(f"Recording stopped: {problem}", level="note", topic="record")
        self._show_network(result)
        self.frame_shown.emit(result)

    def _show_network(self, result: LiveResult) -> None:
        if result.network_error is not None:
            if result.network_error != self._last_network_failure:
                self._last_network_failure = result.network_error
                self._messages.show_error(
                    f"Cannot run the network: {result.network_error}", topic="network"
                )
            return
        if result.network is None:
            return
        if self._last_network_failure:
            self._last_network_failure = ""
            self._messages.resolve("network")
        self.network_shown.emit(result.network)

    @Slot(int, object)
    def _on_capture_ended(self, session: int, error: SourceError | None) -> None:
        if session != self._session_id or not self.is_running():
            return  # an earlier session's thread, or a stop we asked for
        name = self._view.source_name
        if error is not None:
            self.stop(
                f"Live mode stopped: {error}. The last frame stays; press Space to try again.",
                error=True,
            )
        else:
            self.stop(f"{name} ended; live mode stopped.")

    def _on_cameras_found(self, found: list[int]) -> None:
        if found:
            self._messages.show_status("Cameras found: " + ", ".join(f"Camera {i}" for i in found))
        else:
            self._messages.show_error(
                "No camera found. Try a video file or the synthetic scene.",
                level="note",
                topic="live",
            )
        self.cameras_found.emit(found)

    def params_changed(self) -> None:
        """The kernel, layer or display settings changed: the next frame uses them (called by
        the workbench, which routes every edit)."""
        params = self._make_params()
        if params is None:
            return
        self._params = params
        if self._session is not None:
            self._session.set_params(params)

    @Slot()
    def _on_status_timer(self) -> None:
        if self._recording.failed():
            self.stop_recording()
        self._emit_stats()

    # -- helpers -------------------------------------------------------------------------------
    def _emit_stats(self) -> None:
        self.stats_changed.emit(self.stats())

    def _make_params(self) -> LiveParams | None:
        workbench = self._workbench
        try:
            settings = workbench.settings()
        except ValueError as exc:
            self._messages.show_error(str(exc), topic="compute")
            return None
        mode = workbench.levels_mode()
        fixed = None
        if mode == "fixed":
            conv, pooled = self._panes.outputs
            fixed = (self._histograms.fixed_levels(conv), self._histograms.fixed_levels(pooled))
        return LiveParams(
            kernel=workbench.kernel(),
            settings=settings,
            levels_mode="robust" if mode == "robust" else "auto",
            record=self.record_pane if self._recording.recorder is not None else None,
            colormap=workbench.colormap_name(),
            fixed_levels=fixed,
            network=self._network,
            selected=self._selected,
        )
