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

import collections
import logging
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QWidget

from core.inputs import LoadedImage
from core.live import (
    RECORDABLE_PANES,
    STATUS_INTERVAL_MS,
    VIDEO_EXTENSIONS,
    Failure,
    FrameProcessor,
    LiveParams,
    LiveResult,
    LiveStats,
    OnDemandSource,
    SourceChoice,
    choice_for,
)
from core.recording import RecordingError, VideoRecorder
from core.sources import CameraSource, CaptureThread, FrameSource, SourceError, probe_cameras
from ui.live.histograms import LiveHistograms
from ui.messages import Messages
from ui.pane_group import PaneGroup
from ui.saving import SaveActions
from ui.settings_store import SettingsStore
from ui.workbench import Workbench

__all__ = ["LiveController"]

_log = logging.getLogger(__name__)

# Longest wait for a thread to end on stop; a camera read stuck longer than this is abandoned.
_JOIN_TIMEOUT = 5.0
# CPython hands the GIL to a waiting thread only every "switch interval" (5 ms by default).
# The processing thread drops the GIL in every numpy/OpenCV call and must win it back from the
# GUI thread, which holds it through pyqtgraph's Python paint code: at 5 ms per hand-off a
# 4 ms frame took 15 ms. While live, hand-offs happen every 0.5 ms instead.
LIVE_SWITCH_INTERVAL = 0.0005


class LiveController(QObject):
    """Runs live mode: the workbench's streaming engine.

    Owns the capture and processing threads and an optional recorder. Each frame becomes the
    workbench's input and result (:meth:`Workbench.set_live_input`, :meth:`Workbench.show_result`),
    so the panes, hover and saves treat it like a still image and every workbench control keeps
    working live; on top, it hands the panes the pixels rendered in the processing thread.

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
    """

    frame_shown = Signal(object)
    running_changed = Signal(bool)
    frozen_changed = Signal(bool)
    recording_changed = Signal(bool)
    stats_changed = Signal(object)
    cameras_found = Signal(object)
    choice_changed = Signal()  # the choice went back to the last one that worked
    # Internal, emitted from the processing / capture / probe threads; queued to the GUI thread.
    _result_ready = Signal()
    _capture_ended = Signal(int, object)
    _probe_done = Signal(object)

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
        self.choice = SourceChoice()
        self._good_choice = self.choice  # the last choice that started
        self.record_pane = "conv"
        self._session = 0
        self._source: FrameSource | None = None
        self._demand: OnDemandSource | None = None
        self._switch_interval: float | None = None
        self._capture: CaptureThread | None = None
        self._processor: FrameProcessor | None = None
        self._recorder: VideoRecorder | None = None
        self._probe: threading.Thread | None = None
        self._params: LiveParams | None = None
        self._current: LiveResult | None = None
        self._frozen = False
        self._input_size: tuple[int, int] | None = None
        self._last_failure = ""
        self._snapshot_folder: str | None = None
        self._source_name = ""
        self._fit_pending = False
        self._reset_counters()

        self._result_ready.connect(self._on_result_ready)
        self._capture_ended.connect(self._on_capture_ended)
        self._probe_done.connect(self._on_probe_done)
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(STATUS_INTERVAL_MS)
        self._status_timer.timeout.connect(self._on_status_timer)
        # Edits reach it through the workbench (params_changed), which routes them.
        workbench.attach_live(self)

    # -- state ---------------------------------------------------------------------------------
    def is_running(self) -> bool:
        """True from :meth:`start` to :meth:`stop`, frozen or not."""
        return self._processor is not None

    def is_streaming(self) -> bool:
        """True while frames flow to the panes (running and not frozen)."""
        return self._processor is not None and not self._frozen

    def is_frozen(self) -> bool:
        """True while the display holds one frame (see :meth:`set_frozen`)."""
        return self._frozen

    def is_recording(self) -> bool:
        """True between :meth:`start_recording` and :meth:`stop_recording`."""
        return self._recorder is not None

    @property
    def source(self) -> FrameSource | None:
        """The running source, or None."""
        return self._source

    @property
    def current(self) -> LiveResult | None:
        """The live result on screen (kept after stop), or None."""
        return self._current

    @property
    def recorder(self) -> VideoRecorder | None:
        """The recorder writing the current recording, or None."""
        return self._recorder

    def stats(self) -> LiveStats:
        """Current counters; see :class:`LiveStats`."""
        capture, recorder = self._capture, self._recorder
        dropped = self._dropped_before
        capture_fps = 0.0
        if capture is not None:
            frozen_now = capture.dropped - self._freeze_mark if self._frozen else 0
            dropped = capture.dropped - self._frozen_drops - frozen_now
            capture_fps = capture.fps
        times = self._shown_times
        display_fps = 0.0
        if len(times) >= 2 and time.perf_counter() - times[-1] < 1.0:
            display_fps = (len(times) - 1) / (times[-1] - times[0])
        return LiveStats(
            source=self._source.name if self._source is not None else self._source_name,
            frame_index=self._current.frame.index if self._current is not None else -1,
            shown=self._shown,
            dropped=dropped,
            capture_fps=capture_fps,
            display_fps=display_fps,
            process_ms=self._process_ms,
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
        self._session += 1
        session = self._session
        self.choice = self._good_choice = choice_for(source, self.choice)  # what runs
        self._messages.resolve("live")
        self._source = source
        self._source_name = source.name
        self._params = params
        self._reset_counters()
        self._last_failure = ""
        # Keep the person's zoom when the new frames are as large as the image they replace.
        size = source.frame_size
        loaded = self._workbench.loaded
        shown = loaded.image.shape[:2] if loaded is not None else None
        self._fit_pending = size is None or shown != (size[1], size[0])
        read_from = source
        self._demand = None
        if source.pace_fps is None and not isinstance(source, CameraSource):
            read_from = self._demand = OnDemandSource(source)
        self._capture = CaptureThread(
            read_from, on_stopped=lambda error, s=session: self._capture_ended.emit(s, error)
        )
        self._processor = FrameProcessor(
            self._capture,
            params,
            self._result_ready.emit,
            self._demand.want if self._demand is not None else None,
        )
        self._histograms.detach()
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, LIVE_SWITCH_INTERVAL))
        self._capture.start()
        self._processor.start()
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
        processor, capture = self._processor, self._capture
        if processor is None or capture is None:
            return
        recording = self.stop_recording()
        if recording is not None and not message:
            message = f"Live mode stopped; the recording is in {recording}."
        self._dropped_before = self.stats().dropped
        self._processor = None
        self._capture = None
        processor.request_stop()
        if self._demand is not None:
            self._demand.release()
        # Stopping capture first wakes a processor waiting for a frame.
        if not capture.stop(timeout=_JOIN_TIMEOUT):
            _log.warning("capture thread %s did not stop in time", capture.name)
        processor.join(_JOIN_TIMEOUT)
        self._source = None
        self._demand = None
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
            self._switch_interval = None
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
        probe, self._probe = self._probe, None
        if probe is not None:
            probe.join(_JOIN_TIMEOUT)

    # -- freeze and step -----------------------------------------------------------------------
    def set_frozen(self, frozen: bool) -> None:
        """Hold the frame on screen (True) or resume (False); capture keeps running.

        While frozen the window behaves like the image workbench on that frame: kernel and
        layer edits recompute it.
        """
        processor, capture = self._processor, self._capture
        if processor is None or capture is None or frozen == self._frozen:
            return
        self._frozen = frozen
        processor.set_paused(frozen)
        if frozen:
            self._freeze_mark = capture.dropped
            # A still frame: panes behave as in the workbench.
            self._histograms.attach(self._workbench.loaded, self._workbench.processed)
        else:
            self._frozen_drops += capture.dropped - self._freeze_mark
            self._shown_times.clear()
            self._histograms.detach()
        self.frozen_changed.emit(frozen)
        self._emit_stats()

    def step(self) -> None:
        """While frozen, show the newest frame once (and stay frozen)."""
        if self._processor is not None and self._frozen:
            self._processor.step()

    # -- recording -----------------------------------------------------------------------------
    def start_recording(self, path: str | Path, pane: str | None = None) -> bool:
        """Record ``pane`` ("input", "conv" or "pooled"; default :attr:`record_pane`) as
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
        if pane not in RECORDABLE_PANES:
            raise ValueError(f"pane must be one of {', '.join(RECORDABLE_PANES)}, not {pane!r}")
        self.stop_recording()
        # The video plays at the rate frames are shown (it has one frame per frame shown), so
        # it runs in real time; the source's own rate before anything was measured.
        source = self._source
        shown_fps = self.stats().display_fps
        nominal = source.nominal_fps if source is not None else None
        fps = round(shown_fps, 1) if shown_fps >= 1.0 else (nominal or 30.0)
        try:
            recorder = VideoRecorder(path, fps=fps)
        except (RecordingError, ValueError) as exc:
            messages.show_error(str(exc), topic="record")
            return False
        messages.resolve("record")
        self.record_pane = pane
        self._recorder = recorder
        self.params_changed()
        messages.show_status(f"Recording the {RECORDABLE_PANES[pane].lower()} pane to {path}")
        self.recording_changed.emit(True)
        self._emit_stats()
        return True

    def stop_recording(self, message: str = "") -> Path | None:
        """Finalize the recording; returns its path, or None if nothing was recording."""
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return None
        self.params_changed()
        finished = recorder.close(timeout=_JOIN_TIMEOUT)
        messages = self._messages
        if recorder.error is not None:
            messages.show_error(
                f"Recording stopped: {recorder.error}", level="note", topic="record"
            )
        elif not finished:
            messages.show_error(
                f"The recording {recorder.path} may be incomplete: the disk "
                "was too slow to finish it.",
                level="note",
                topic="record",
            )
        elif recorder.written == 0:
            messages.show_status("Nothing was recorded.")
        else:
            dropped = f", {recorder.dropped} dropped" if recorder.dropped else ""
            messages.show_status(
                message or f"Recorded {recorder.written} frames{dropped} to {recorder.path}"
            )
        self.recording_changed.emit(False)
        self._emit_stats()
        return recorder.path

    # -- snapshot ------------------------------------------------------------------------------
    def snapshot(self, folder: str | Path | None = None) -> list[Path]:
        """Save the frame on screen like "Export all": input, kernel, outputs raw and as shown.

        The frame is the one on screen when this is called, even if live mode moves on while
        the folder dialog is open. File names carry the frame index.

        Parameters
        ----------
        folder : str or Path, optional
            Target folder; by default ask (once per session, then reuse).

        Returns
        -------
        list of Path
            The files written (empty if cancelled or failed).
        """
        loaded, processed = self._workbench.loaded, self._workbench.processed
        current = self._current
        if loaded is None or processed is None:
            self._messages.show_error("There is no frame to save yet.", topic="save")
            return []
        if folder is None and self._snapshot_folder and Path(self._snapshot_folder).is_dir():
            folder = self._snapshot_folder  # asked once; a folder that went away is asked again
        if folder is None:
            if not self.interactive:
                return []
            folder = QFileDialog.getExistingDirectory(
                self._parent, "Save snapshots into folder", self._store.last_folder()
            )
            if not folder:
                return []
        self._snapshot_folder = str(folder)
        stem = "-".join(Path(loaded.name).stem.split()) or "live"
        if current is not None and loaded.image is current.working:
            stem += f"_frame{current.frame.index:06d}"
        # This frame, even if live mode has moved on while the folder dialog was open.
        return self._saving.export_to(folder, loaded=loaded, processed=processed, stem=stem)

    # -- sources -------------------------------------------------------------------------------
    def set_choice(self, choice: SourceChoice, *, restart: bool = True) -> None:
        """Use ``choice`` from now on; a running session switches to it (``restart``)."""
        previous, self.choice = self.choice, choice
        source = self._source
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
        if self._probe is not None and self._probe.is_alive():
            return
        self._messages.show_status("Looking for cameras...")

        def run() -> None:
            try:
                found = probe_cameras()
            except Exception:  # a broken driver must not kill the app
                _log.exception("camera probe failed")
                found = []
            self._probe_done.emit(found)

        self._probe = threading.Thread(target=run, name="convscope-camera-probe", daemon=False)
        self._probe.start()

    # -- slots ---------------------------------------------------------------------------------
    @Slot()
    def _on_result_ready(self) -> None:
        processor = self._processor
        if processor is None:
            return  # stopped meanwhile
        taken = processor.take()
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
        panes, histograms = self._panes, self._histograms
        input_pane = panes.input_pane
        frame = result.frame
        height, width = frame.image.shape[:2]
        resized = (width, height) != self._input_size
        self._workbench.set_live_input(
            LoadedImage(self._source_name, None, result.working, result.input_view)
        )
        rect = (0, 0, width, height) if resized else None
        if histograms.detached:
            # uint8 RGB without levels: pyqtgraph hands it to Qt as is, no per-pixel work.
            input_pane.set_data(frame.image, rect, None)
        else:  # a step while frozen: the [0, 1] values, as a still image (histogram included)
            input_pane.set_data(result.working, rect, (0.0, 1.0))
        if resized:
            self._input_size = (width, height)
            size = f"{width}x{height}"
            name = self._source_name
            input_pane.set_title(f"Live: {name}" if size in name else f"Live: {name}  {size}")
            input_pane.set_stats(result.input_view.stats_text)
        if resized and (self._fit_pending or not panes.view_contains_image()):
            self._fit_pending = False
            panes.fit_view()
        # The workbench publishes it like a still result: the panes draw it, hover follows.
        self._workbench.show_result(result.processed)
        if result.rendered is not None and histograms.detached:
            for pane, (rgb, levels) in zip(panes.outputs, result.rendered, strict=True):
                pane.set_rendered(rgb, levels)
            histograms.rendered_shown = True
        if result.histograms is not None and histograms.detached:
            # Histograms, level regions and stats lines a few times a second, changed in the
            # same event as the images so Qt paints them in the same pass.
            histograms.apply(result.histograms)
            input_pane.set_stats(result.input_view.stats_text)
            for pane in panes.panes:
                pane.flush_stats()
        self._current = result
        self._shown += 1
        now = time.perf_counter()
        self._shown_times.append(now)
        while now - self._shown_times[0] > 1.0:
            self._shown_times.popleft()
        self._process_ms = (
            result.seconds * 1000
            if self._shown == 1
            else 0.9 * self._process_ms + 0.1 * result.seconds * 1000
        )
        recorder = self._recorder
        if recorder is not None and result.record is not None:
            try:
                recorder.submit(result.record)  # copies and queues; never waits for the disk
            except (RecordingError, ValueError) as exc:
                self.stop_recording()
                self._messages.show_error(f"Recording stopped: {exc}", level="note", topic="record")
        self.frame_shown.emit(result)

    @Slot(int, object)
    def _on_capture_ended(self, session: int, error: SourceError | None) -> None:
        if session != self._session or not self.is_running():
            return  # an earlier session's thread, or a stop we asked for
        name = self._source_name
        if error is not None:
            self.stop(
                f"Live mode stopped: {error}. The last frame stays; press Space to try again.",
                error=True,
            )
        else:
            self.stop(f"{name} ended; live mode stopped.")

    @Slot(object)
    def _on_probe_done(self, found: list[int]) -> None:
        probe, self._probe = self._probe, None
        if probe is not None:
            probe.join(_JOIN_TIMEOUT)  # it has emitted its last word: a short join
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
        if self._processor is not None:
            self._processor.set_params(params)

    @Slot()
    def _on_status_timer(self) -> None:
        recorder = self._recorder
        if recorder is not None and recorder.error is not None:
            self.stop_recording()
        self._emit_stats()

    # -- helpers -------------------------------------------------------------------------------
    def _reset_counters(self) -> None:
        self._shown = 0
        self._shown_times: collections.deque[float] = collections.deque()
        self._process_ms = 0.0
        self._frozen_drops = 0
        self._freeze_mark = 0
        self._dropped_before = 0
        self._input_size = None

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
            record=self.record_pane if self._recorder is not None else None,
            colormap=workbench.colormap_name(),
            fixed_levels=fixed,
        )
