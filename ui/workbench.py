"""The one owner of the window's state and of the single active engine (the presenter).

:class:`Workbench` holds the loaded input and the newest result, reads the kernel and the layer
settings from their editors, and decides where an edit goes: to the still-image engine (two
latest-wins workers: loading, computing) or to the live engine while it streams. Views (the
pane group, the hover controller, the main window's labels) observe its signals; nothing else
writes its state. The live controller hands it each frame through :meth:`set_live_input` and
:meth:`show_result`, exactly as the still engine does.

Only the result's *type* is engine specific: ``result_changed`` carries the single layer's
:class:`core.preview.Processed`; the network engine (:attr:`Workbench.network`, a
:class:`~ui.network_engine.NetworkEngine`) runs the network being explored on the same input
and publishes a :class:`core.network.display.NetworkResult` through its own
``result_changed``, which the network dock and the convolution pane (a selected map) observe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.images import ImageError
from core.inputs import LoadedImage, ProcessRequest, load_input, run_request
from core.kernels import Kernel
from core.pipeline import PipelineSettings
from core.preview import Processed
from ui.controls import ControlPanel
from ui.kernel_editor import KernelEditor
from ui.messages import Messages
from ui.network_engine import NetworkEngine
from ui.worker import LatestWinsWorker

__all__ = ["LiveEngine", "Workbench"]


class LiveEngine(Protocol):
    """What the workbench needs of a streaming engine (``ui.live.LiveController``)."""

    def is_running(self) -> bool: ...
    def is_streaming(self) -> bool: ...
    def params_changed(self) -> None: ...
    def stop(self, message: str = "", *, error: bool = False) -> None: ...


class Workbench(QObject):
    """Input, kernel, layer settings, result and the active engine, in one place.

    Parameters
    ----------
    editor : KernelEditor
        Where the kernel is edited (the workbench reads ``kernel()`` and hears
        ``kernel_changed``).
    controls : ControlPanel
        Where the layer and display settings are edited.
    messages : Messages
        Where it reports failures and progress.

    Signals
    -------
    input_changed(object, bool)
        A new :class:`~core.inputs.LoadedImage` was opened; True if it has the previous one's
        size (outputs on screen still line up with it).
    result_changed(object)
        A new result to show (still image or live frame), or the current one to redraw with
        new display choices.
    outputs_cleared(str)
        There is no current result (a new image of another size, or a failure); the text says
        why ("computing...", "not computed").
    idle()
        No load or computation is pending and the newest result is shown.
    """

    input_changed = Signal(object, bool)
    result_changed = Signal(object)
    outputs_cleared = Signal(str)
    idle = Signal()

    def __init__(
        self,
        editor: KernelEditor,
        controls: ControlPanel,
        messages: Messages,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._editor = editor
        self._controls = controls
        self._messages = messages
        self._loaded: LoadedImage | None = None
        self._processed: Processed | None = None
        self._live: LiveEngine | None = None

        self.loader = LatestWinsWorker(load_input, name="loader", user_errors=(ImageError,))
        self.worker = LatestWinsWorker(run_request, name="compute", user_errors=(ValueError,))
        self.loader.finished.connect(self._on_image_loaded)
        self.loader.failed.connect(self._on_load_failed)
        self.worker.finished.connect(self._on_processed)
        self.worker.failed.connect(self._on_process_failed)
        # The network being explored runs beside the single layer, on the same input.
        self.network = NetworkEngine(messages, self)
        self.network.result_changed.connect(self._emit_idle_if_done)
        self.network.selection_changed.connect(self._emit_idle_if_done)
        self.network.cleared.connect(self._emit_idle_if_done)
        # The only listener of the edit signals: it routes each edit to the active engine.
        editor.kernel_changed.connect(self._on_layer_edited)
        controls.changed.connect(self._on_layer_edited)
        controls.display_changed.connect(self._on_display_changed)

    # -- state (read-only outside) -----------------------------------------------------------
    @property
    def loaded(self) -> LoadedImage | None:
        """The input on screen (an opened image or the live frame shown), or None."""
        return self._loaded

    @property
    def processed(self) -> Processed | None:
        """The result on screen for :attr:`loaded`, or None (nothing may read stale outputs)."""
        return self._processed

    def kernel(self) -> Kernel:
        return self._editor.kernel()

    def settings(self) -> PipelineSettings:
        """The layer settings; raises ValueError (with a message) for an impossible choice."""
        return self._controls.settings()

    def levels_mode(self) -> str:
        """ "auto", "robust" or "fixed" (the panes' own levels)."""
        return self._controls.levels_mode()

    def colormap_name(self) -> str:
        """The colormap choice ("auto": by the data's sign, see ``resolve_colormap``)."""
        return self._controls.colormap_name()

    def computed_levels_mode(self) -> str:
        """How a worker computes levels: "robust", else "auto" (fixed levels are the panes')."""
        return "robust" if self.levels_mode() == "robust" else "auto"

    # -- engines -----------------------------------------------------------------------------
    def attach_live(self, live: LiveEngine) -> None:
        """Make ``live`` the engine edits go to while it streams."""
        self._live = live

    def _live_running(self) -> bool:
        return self._live is not None and self._live.is_running()

    def _live_streaming(self) -> bool:
        return self._live is not None and self._live.is_streaming()

    # -- inputs ------------------------------------------------------------------------------
    def open_path(self, path: str | Path) -> None:
        """Load ``path`` in the background; a failure leaves the current image in place."""
        self._messages.show_status(f"Opening {Path(path).name}...")
        self.loader.submit(Path(path))

    def open_array(self, name: str, image: np.ndarray) -> None:
        """Use ``image`` (clipboard, drop) as the input, prepared in the background."""
        self.loader.submit((name, image))

    def set_live_input(self, loaded: LoadedImage) -> None:
        """The live frame now on screen is the input (its pane is drawn by the live engine)."""
        self._loaded = loaded
        # The network's maps (and a selected map in the convolution pane) were the still
        # image's: they must not stay over the frames.
        self.network.set_input(None)

    def _on_image_loaded(self, _job, loaded: LoadedImage) -> None:
        previous = self._loaded
        self._loaded = loaded
        # The outputs describe the previous image: nothing may read them with this one
        # (hover, saves, export). They stay on screen until replaced only if they line up.
        self._processed = None
        self._messages.resolve("input")
        h, w = loaded.image.shape[:2]
        same_size = previous is not None and previous.image.shape[:2] == (h, w)
        self.input_changed.emit(loaded, same_size)
        if not same_size:  # else they would sit over the wrong pixels until replaced
            self.outputs_cleared.emit("computing...")
        if loaded.note:
            self._messages.show_error(loaded.note, level="note", topic="input")
        self._messages.show_status(f"Opened {loaded.name} ({w}x{h})")
        if self._live_running():  # the opened image replaces live mode
            self._live.stop("Live mode stopped: an image was opened.")
        self.network.set_input(loaded.image, self.computed_levels_mode())
        self.request_update()

    def _on_load_failed(self, _job, message: str) -> None:
        self._messages.show_error(message, topic="input")
        self._emit_idle_if_done()

    # -- computing ---------------------------------------------------------------------------
    def request_update(self) -> None:
        """Run the current kernel and settings on the active engine.

        While live frames stream, the next frame picks them up; otherwise (no live mode, or
        frozen on a frame) the still engine recomputes the input on screen.
        """
        if self._live_running():
            self._live.params_changed()
            if self._live_streaming():
                return
        self._compute_still()

    def _compute_still(self) -> None:
        if self._loaded is None:
            return
        try:
            settings = self.settings()
        except ValueError as exc:
            self._messages.show_error(str(exc), topic="compute")
            return
        self.worker.submit(
            ProcessRequest(
                self._loaded.for_mode(settings.color),
                self.kernel(),
                settings,
                self.computed_levels_mode(),
            )
        )

    def _on_processed(self, job, processed: Processed) -> None:
        if self._loaded is None or not self._loaded.owns(job.payload.image):
            self._emit_idle_if_done()  # computed for an input no longer shown (live moved on)
            return
        self.show_result(processed)

    def show_result(self, processed: Processed) -> None:
        """Make ``processed`` the current result and show it (both engines' entry point)."""
        self._processed = processed
        self._messages.resolve("compute")  # not a save's or a recording's failure: still true
        self.result_changed.emit(processed)
        self._emit_idle_if_done()

    def _on_process_failed(self, _job, message: str) -> None:
        # The outputs on screen were made with other settings (or another image): showing,
        # reading or exporting them as this layer's would mislead.
        self._processed = None
        self.outputs_cleared.emit("not computed")
        self._messages.show_error(f"Cannot compute this layer: {message}", topic="compute")
        self._emit_idle_if_done()

    # -- edits, routed to the active engine --------------------------------------------------
    def _on_layer_edited(self, *_args) -> None:
        self.request_update()

    def _on_display_changed(self) -> None:
        if self._live_running():
            self._live.params_changed()
            if self._live_streaming():
                return  # the next frame is drawn with them
        if self._processed is None:
            return
        if self.levels_mode() != "fixed":
            self._compute_still()  # levels are computed in the worker
        else:
            self.show_result(self._processed)  # redrawn with the new colours

    def levels_edited(self) -> None:
        """The person dragged an output pane's levels: they are fixed from now on."""
        levels_box = self._controls.levels
        levels_box.blockSignals(True)
        try:
            self._controls.set_levels_mode("fixed")
        finally:
            levels_box.blockSignals(False)
        if self._live_running():
            self._live.params_changed()

    # -- busy and idle -----------------------------------------------------------------------
    def is_idle(self) -> bool:
        return not (self.loader.is_busy() or self.worker.is_busy() or self.network.is_busy())

    def _emit_idle_if_done(self, *_args) -> None:
        if self.is_idle():
            self.idle.emit()

    def shutdown(self) -> None:
        """Stop every worker (idempotent)."""
        self.loader.stop()
        self.worker.stop()
        self.network.shutdown()
