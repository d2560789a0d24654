"""The image workbench: input -> kernel editor -> convolution -> pooled output.

The window holds state and sends immutable requests to two latest-wins workers (one loads
images, one runs the layer); it applies a result only if it answers the newest request.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QImage, QKeySequence
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

from core.display import apply_colormap, colormap_lut, default_colormap
from core.explain import explain_pixel, explain_pool
from core.export import export_all
from core.images import (
    IMAGE_EXTENSIONS,
    ImageError,
    SaveError,
    load_image,
    save_png,
    save_raw,
    to_grayscale,
)
from core.kernels import DEFAULT_PRESET, Kernel, kernel_from_dict, preset
from core.pipeline import PipelineSettings
from core.preview import (
    PaneView,
    Processed,
    fit_working_size,
    make_view,
    process_for_display,
    tidy,
)
from resources import DEFAULT_SAMPLE, SAMPLES
from ui.banner import Banner
from ui.controls import ControlPanel
from ui.drops import open_mime
from ui.help import show_help
from ui.inspector import Inspector
from ui.kernel_editor import KernelEditor
from ui.live import LiveController
from ui.live_toolbar import LiveToolbar
from ui.panes import ImagePane
from ui.worker import LatestWinsWorker

IMAGE_FILTER = f"Images ({' '.join(f'*{suffix}' for suffix in sorted(IMAGE_EXTENSIONS))})"
MAX_RECENT = 8
#: Every key the window stores. Others are removed when the settings are read: a corrupt
#: file's junk must not be written back and grow. A new setting must be added here.
SETTINGS_KEYS = frozenset(
    {"geometry", "window_state", "kernel", "options", "recent_files", "last_folder"}
)
#: A restored window smaller than this is not plausible (the layout needs more).
MIN_WINDOW = (640, 400)
BUSY_DELAY_MS = 100  # quick updates should not flash a progress bar


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """An input ready to use: full working array, its display view and where it came from."""

    name: str
    path: Path | None
    image: np.ndarray
    view: PaneView
    note: str = ""
    gray: np.ndarray | None = None  # the luminance, computed once: most edits run on it

    def owns(self, array: np.ndarray) -> bool:
        """Whether ``array`` is this input (or its luminance), i.e. a result for it is current."""
        return array is self.image or array is self.gray

    def for_mode(self, color: str) -> np.ndarray:
        """The array to send to the pipeline for this colour mode."""
        return self.gray if color == "gray" and self.gray is not None else self.image


def load_input(source: Path | tuple[str, np.ndarray]) -> LoadedImage:
    """Worker job: read (or take) an image, downscale a huge one, prepare its view."""
    if isinstance(source, tuple):
        name, image, path = source[0], source[1], None
    else:
        name, image, path = source.name, load_image(source), source
    image, note = fit_working_size(image)
    gray = to_grayscale(image)
    for array in (image, gray):
        array.setflags(write=False)  # shared with the compute thread from now on
    # Inputs are drawn as they are, [0, 1] onto black..white.
    return LoadedImage(name, path, image, make_view(image, levels=(0.0, 1.0)), note, gray)


@dataclass(frozen=True, eq=False)
class ProcessRequest:
    image: np.ndarray
    kernel: Kernel
    settings: PipelineSettings
    levels_mode: str


def run_request(request: ProcessRequest) -> Processed:
    return process_for_display(request.image, request.kernel, request.settings, request.levels_mode)


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
        self._qsettings = settings if settings is not None else QSettings()
        self.loaded: LoadedImage | None = None
        self.processed: Processed | None = None
        self._hover_source: ImagePane | None = None
        self._hover_point: tuple[float, float, ImagePane | None] | None = None

        self.input_pane = ImagePane("Input")
        self.conv_pane = ImagePane("Convolution")
        self.pooled_pane = ImagePane("Pooled")
        self.panes = (self.input_pane, self.conv_pane, self.pooled_pane)
        self.editor = KernelEditor(interactive=False)  # its failures go to the banner
        self.controls = ControlPanel()
        self.inspector = Inspector()
        self._link_panes()
        self._build_layout()
        self._build_menus()

        self.loader = LatestWinsWorker(load_input, name="loader", user_errors=(ImageError,))
        self.worker = LatestWinsWorker(run_request, name="compute", user_errors=(ValueError,))
        self.loader.finished.connect(self._on_image_loaded)
        self.loader.failed.connect(self._on_load_failed)
        self.worker.finished.connect(self._on_processed)
        self.worker.failed.connect(self._on_process_failed)
        for w in (self.loader, self.worker):
            w.busy_changed.connect(self._on_busy_changed)

        self.editor.kernel_changed.connect(self._on_kernel_changed)
        self.editor.message.connect(self.show_status)
        self.editor.failed.connect(lambda text: self.show_error(text, topic="kernel"))
        self.editor.file_done.connect(lambda: self.banner.resolve("kernel"))
        self.controls.changed.connect(self.request_update)
        self.controls.display_changed.connect(self._on_display_changed)
        for pane in self.panes:
            pane.hovered.connect(lambda pos, p=pane: self._on_hover(p, pos))
        for pane in (self.conv_pane, self.pooled_pane):  # the input's contrast is its own
            pane.levels_edited.connect(self._on_levels_edited)
        # Refit the image when the panes grow or shrink, until the person zooms or pans.
        self._auto_fit = True
        self._refit_timer = QTimer(self)
        self._refit_timer.setSingleShot(True)
        self._refit_timer.timeout.connect(self._refit)
        self.input_pane.view.sigResized.connect(self._on_view_resized)
        for pane in self.panes:
            pane.view.sigRangeChangedManually.connect(self._on_range_changed_by_hand)
        self.setMinimumSize(960, 640)  # smaller, and the lower panes collapse to slivers
        self.live = LiveController(self)
        self.live_toolbar = LiveToolbar(self.live, self)
        self.addToolBar(self.live_toolbar)
        self._restore_settings()

    # -- construction ----------------------------------------------------------------------
    def _link_panes(self) -> None:
        # Every pane follows the input pane: one master avoids linked aspect-locked views
        # fighting each other (pyqtgraph#1348).
        master = self.input_pane.view
        for pane in (self.conv_pane, self.pooled_pane):
            pane.view.setXLink(master)
            pane.view.setYLink(master)
        self.input_pane.set_colormap("gray")
        tips = {
            self.input_pane: "The input image. The dashed box is the receptive field of the "
            "hovered output pixel: the input pixels it was computed from.",
            self.conv_pane: "The convolution output (before the activation): each pixel is the "
            "sum of the kernel's weights times the input under it. Red: positive match, "
            "blue: negative.",
            self.pooled_pane: "The pooled output (after the activation): one value per window, "
            "so the map shrinks but features stay where they were.",
        }
        for pane, tip in tips.items():
            pane.setToolTip(tip)
        for pane in (self.conv_pane, self.pooled_pane):
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
        editor_title = QLabel("<b>Kernel</b> &mdash; the weights slid over the input")
        editor_layout.addWidget(editor_title)
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

        controls_dock = QDockWidget("Layer and display", self)
        controls_dock.setObjectName("controls")
        controls_dock.setWidget(self.controls)
        controls_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, controls_dock)
        inspector_dock = QDockWidget("Inspector: one output pixel", self)
        inspector_dock.setObjectName("inspector")
        inspector_dock.setWidget(self.inspector)
        inspector_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, inspector_dock)
        self.resizeDocks([controls_dock, inspector_dock], [430, 400], Qt.Orientation.Vertical)
        self.resizeDocks([controls_dock], [330], Qt.Orientation.Horizontal)

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

    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(
            file_menu,
            "&Open image...",
            self.open_dialog,
            QKeySequence.StandardKey.Open,
            "Open an image file.",
        )
        samples = file_menu.addMenu("Open &sample")
        for name, path in SAMPLES.items():
            self._action(
                samples,
                name,
                lambda _=False, p=path: self.open_path(p),
                tip=f"Open the bundled sample image '{name}'.",
            )
        self.recent_menu = file_menu.addMenu("Open &recent")
        self._action(
            file_menu,
            "&Paste image",
            self.paste_image,
            QKeySequence.StandardKey.Paste,
            "Use the image on the clipboard as the input.",
        )
        file_menu.addSeparator()
        self._action(
            file_menu,
            "&Export all...",
            self.export_dialog,
            QKeySequence.StandardKey.Save,
            "Write the input, the kernel and both outputs (raw and as displayed) into a folder.",
        )
        save_menu = file_menu.addMenu("Save output")
        raw_tip = "The exact float32 values (TIFF or .npy), for analysis."
        shown_tip = "A PNG of the map as it is drawn: its colormap and levels."
        self._action(
            save_menu,
            "Convolution raw...",
            lambda: self.save_pane_raw(self.conv_pane),
            None,
            raw_tip,
        )
        self._action(
            save_menu,
            "Convolution as displayed...",
            lambda: self.save_pane_png(self.conv_pane),
            None,
            shown_tip,
        )
        self._action(
            save_menu, "Pooled raw...", lambda: self.save_pane_raw(self.pooled_pane), None, raw_tip
        )
        self._action(
            save_menu,
            "Pooled as displayed...",
            lambda: self.save_pane_png(self.pooled_pane),
            None,
            shown_tip,
        )
        file_menu.addSeparator()
        self._action(
            file_menu,
            "Load &kernel...",
            self.load_kernel_dialog,
            None,
            "Load kernel weights from a JSON file.",
        )
        self._action(
            file_menu,
            "Save k&ernel...",
            self.save_kernel_dialog,
            None,
            "Save the kernel's weights to a JSON file.",
        )
        file_menu.addSeparator()
        self._action(
            file_menu,
            "&Quit",
            self.close,
            QKeySequence.StandardKey.Quit,
            "Close ConvScope; the kernel, options and window layout are remembered.",
        )

        edit_menu = bar.addMenu("&Edit")
        edit_menu.addAction(self.editor.undo_action)
        edit_menu.addAction(self.editor.redo_action)

        view_menu = bar.addMenu("&View")
        self._action(
            view_menu,
            "&Fit image",
            self.fit_view,
            "Ctrl+0",
            "Zoom all panes to show the whole image.",
        )
        self._action(
            view_menu,
            "&Auto levels",
            lambda: self.controls.set_levels_mode("auto"),
            None,
            "Map each pane's full value range onto its colormap again.",
        )

        help_menu = bar.addMenu("&Help")
        self._action(
            help_menu,
            "&How ConvScope works",
            lambda: show_help(self),
            QKeySequence.StandardKey.HelpContents,
            "Convolution, activation and pooling explained with the lecture's examples.",
        )

    # -- opening images --------------------------------------------------------------------
    def open_path(self, path: str | Path) -> None:
        """Load ``path`` in the background; a failure leaves the current image in place."""
        self.show_status(f"Opening {Path(path).name}...")
        self.loader.submit(Path(path))

    def open_array(self, name: str, image: np.ndarray) -> None:
        self.loader.submit((name, image))

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", self.last_folder(), IMAGE_FILTER)
        if path:
            self.open_path(path)

    def paste_image(self) -> None:
        """The clipboard's image, or the file a file manager copied (image, kernel or video)."""
        if not open_mime(self, QGuiApplication.clipboard().mimeData(), "pasted image"):
            self.show_error("The clipboard holds no image or file.", topic="input")

    def _on_image_loaded(self, _job, loaded: LoadedImage) -> None:
        previous = self.loaded
        self.loaded = loaded
        # The outputs describe the previous image: nothing may read them with this one
        # (hover, saves, export). They stay on screen until replaced only if they line up.
        self.processed = None
        self.banner.resolve("input")
        view = loaded.view
        h, w = loaded.image.shape[:2]
        self.input_pane.set_data(view.data, (0, 0, w, h), view.levels, view.histogram, view.drawn)
        self.input_pane.set_title(f"Input {w}x{h}")
        self.input_pane.set_stats(view.stats_text)
        self.setWindowTitle(f"ConvScope - {loaded.name}")
        if loaded.note:
            self.show_error(loaded.note, level="note", topic="input")
        if loaded.path is not None:
            self._remember_file(loaded.path)
        same_size = previous is not None and previous.image.shape[:2] == (h, w)
        if not same_size:  # else they would sit over the wrong pixels until replaced
            self._clear_outputs("computing...")
        self.request_update()
        if not same_size or not self.view_contains_image():
            self.fit_view()  # a same-size image keeps the zoom: easy to compare two
        self.show_status(f"Opened {loaded.name} ({w}x{h})")
        self._refresh_hover()

    def _on_load_failed(self, _job, message: str) -> None:
        self.show_error(message, topic="input")
        self._emit_idle_if_done()

    # -- processing ------------------------------------------------------------------------
    def request_update(self) -> None:
        """Send the current image, kernel and settings to the compute worker."""
        if self.loaded is None:
            return
        if self.live.is_streaming():
            return  # the live pipeline applies the new kernel/settings to the next frame
        try:
            settings = self.controls.settings()
        except ValueError as exc:
            self.show_error(str(exc), topic="compute")
            return
        self.worker.submit(
            ProcessRequest(
                self.loaded.for_mode(settings.color),
                self.editor.kernel(),
                settings,
                self._levels_request_mode(),
            )
        )

    def _levels_request_mode(self) -> str:
        mode = self.controls.levels_mode()
        return "robust" if mode == "robust" else "auto"

    def _on_kernel_changed(self, _kernel) -> None:
        self.request_update()

    def _on_processed(self, job, processed: Processed) -> None:
        if self.loaded is None or not self.loaded.owns(job.payload.image):
            self._emit_idle_if_done()  # computed for an input no longer shown (live moved on)
            return
        self.show_processed(processed)

    def show_processed(self, processed: Processed) -> None:
        """Show a result in the convolution and pooled panes (also live mode's entry point)."""
        self.processed = processed
        result = processed.result
        geom = result.geometry
        s, k = result.settings, result.kernel
        kh, kw = k.shape
        padding = f"pad {s.padding}" if isinstance(s.padding, int) else s.padding
        extras = "".join(
            f" {label} {v}"
            for label, v in (("stride", s.stride), ("dilation", s.dilation))
            if v > 1
        )
        ch, cw = geom.conv.shape
        self.conv_pane.set_title(f"Convolution {kh}x{kw} {padding}{extras} -> {cw}x{ch}")
        activation = {
            "none": "",
            "relu": "ReLU",
            "abs": "|x|",
            "leaky_relu": "leaky ReLU",
            "sigmoid": "sigmoid",
            "tanh": "tanh",
        }[s.activation]
        if geom.pooled is not None:
            ph, pw = geom.pooled.shape
            p = s.pool_size
            title = f"{s.pool_mode.capitalize()} pool {p}x{p}"
            if s.effective_pool_stride != p:
                title += f" stride {s.effective_pool_stride}"
            title += f" of {activation}" if activation else ""
            self.pooled_pane.set_title(f"{title} -> {pw}x{ph}")
            second_geom = geom.pooled
        else:
            self.pooled_pane.set_title(f"{activation or 'Output'} (no pooling) -> {cw}x{ch}")
            second_geom = geom.conv
        self._show_view(self.conv_pane, processed.conv, geom.conv.rect)
        self._show_view(self.pooled_pane, processed.pooled, second_geom.rect)
        self.timing.setText(f"computed in {processed.seconds * 1000:.0f} ms")
        self.banner.resolve("compute")  # not a save's or a recording's failure: still true
        if not self.live.is_streaming():  # while streaming, the pointer's moves refresh it
            self._refresh_hover()
        self.result_shown.emit(processed)
        self._emit_idle_if_done()

    def _show_view(self, pane: ImagePane, view: PaneView, rect) -> None:
        mode = self.controls.levels_mode()
        # Fixed levels are the pane's, kept even while it had nothing to show.
        levels = pane.levels() if mode == "fixed" and pane.has_levels() else view.levels
        cmap = self.controls.colormap_name()
        if view.data.ndim == 2:
            pane.set_colormap(default_colormap(view.signed) if cmap == "auto" else cmap)
        else:  # per-channel maps are drawn as RGB, each channel a grey ramp through the levels
            pane.set_colormap("gray")
        pane.set_data(view.data, rect, levels, view.histogram, view.drawn)
        pane.set_stats(view.stats_text)

    def _on_process_failed(self, _job, message: str) -> None:
        # The outputs on screen were made with other settings (or another image): showing,
        # reading or exporting them as this layer's would mislead.
        self.processed = None
        self._clear_outputs("not computed")
        self._refresh_hover()
        self.show_error(f"Cannot compute this layer: {message}", topic="compute")
        self._emit_idle_if_done()

    def _clear_outputs(self, state: str) -> None:
        for pane, name in ((self.conv_pane, "Convolution"), (self.pooled_pane, "Pooled")):
            pane.set_data(None)
            pane.set_title(f"{name}: {state}")
        self.timing.setText("")

    def _on_display_changed(self) -> None:
        if self.processed is not None and self.controls.levels_mode() != "fixed":
            self.request_update()  # levels are computed in the worker
        elif self.processed is not None:
            self.show_processed(self.processed)

    def _on_levels_edited(self) -> None:
        self.controls.levels.blockSignals(True)
        self.controls.set_levels_mode("fixed")
        self.controls.levels.blockSignals(False)

    def _on_busy_changed(self, busy: bool) -> None:
        if busy:
            if not self._busy_timer.isActive() and not self.busy.isVisible():
                self._busy_timer.start()
        elif not (self.loader.is_busy() or self.worker.is_busy()):
            self._busy_timer.stop()
            self.busy.hide()

    def _emit_idle_if_done(self) -> None:
        if not (self.loader.is_busy() or self.worker.is_busy()):
            self.idle.emit()

    def is_idle(self) -> bool:
        return not (self.loader.is_busy() or self.worker.is_busy())

    # -- view ------------------------------------------------------------------------------
    def fit_view(self) -> None:
        self._auto_fit = True
        if self.loaded is not None:
            h, w = self.loaded.image.shape[:2]
            self.input_pane.view.setRange(xRange=(0, w), yRange=(0, h), padding=0.02)

    def _on_view_resized(self, *_args) -> None:
        if self._auto_fit:
            self._refit_timer.start(0)  # once the layout has settled

    def _on_range_changed_by_hand(self, *_args) -> None:
        self._auto_fit = False  # the person's zoom stays; Ctrl+0 fits (and follows) again

    def _refit(self) -> None:
        if self._auto_fit:
            self.fit_view()

    def view_contains_image(self) -> bool:
        if self.loaded is None:
            return False
        (x0, x1), (y0, y1) = self.input_pane.view.viewRange()
        h, w = self.loaded.image.shape[:2]
        return x0 < w and x1 > 0 and y0 < h and y1 > 0

    # -- hover -----------------------------------------------------------------------------
    def _on_hover(self, source: ImagePane, pos) -> None:
        if pos is None or self.loaded is None:
            if source is self._hover_source:
                self.clear_hover()
            return
        self._hover_source = source
        self.hover_at(pos.x(), pos.y(), source)

    def clear_hover(self) -> None:
        self._hover_source = None
        self._hover_point = None
        for pane in self.panes:
            pane.show_marker(None)
            pane.show_field(None)
            pane.set_readout("")
        self.inspector.clear()

    def hover_at(self, x: float, y: float, source: ImagePane | None = None) -> dict:
        """Show the marker, values and receptive field for input coordinates (x, y).

        Returns what was shown (pane name -> (index, value)), which tests read back.
        """
        self._hover_point = (x, y, source)
        shown: dict = {}
        image = self.loaded.image if self.loaded is not None else None
        if image is None:
            return shown
        r, c = math.floor(y), math.floor(x)
        if 0 <= r < image.shape[0] and 0 <= c < image.shape[1]:
            value = image[r, c]
            self.input_pane.show_marker((c, r, 1, 1))
            self.input_pane.set_readout(f"[{r}, {c}] = {_fmt(value)}")
            shown["input"] = ((r, c), value)
        else:
            self.input_pane.show_marker(None)
            self.input_pane.set_readout("")
        processed = self.processed
        if processed is None:
            for pane in (self.conv_pane, self.pooled_pane):
                pane.show_marker(None)
                pane.set_readout("")
            self.input_pane.show_field(None)
            self.inspector.clear()
            return shown
        result, geom = processed.result, processed.result.geometry
        conv_idx = geom.conv.index_at(x, y)
        magnitude = processed.conv.magnitude
        self._mark(self.conv_pane, geom.conv, conv_idx, result.conv, magnitude, "conv", shown)
        second = geom.pooled or geom.conv
        second_data = result.pooled if result.pooled is not None else result.activated
        pooled_idx = second.index_at(x, y)
        magnitude = processed.pooled.magnitude
        self._mark(self.pooled_pane, second, pooled_idx, second_data, magnitude, "pooled", shown)
        field = None
        if source is self.pooled_pane and pooled_idx is not None:
            field = second.receptive_field(*pooled_idx)
        elif conv_idx is not None:
            field = geom.conv.receptive_field(*conv_idx)
        if field is not None:
            top, left, fh, fw = field
            self.input_pane.show_field((left, top, fw, fh))
            shown["field"] = field
        else:
            self.input_pane.show_field(None)
        if source is self.pooled_pane and result.pooled is not None and pooled_idx is not None:
            # The pooling window and which value won, not the arithmetic of one conv pixel.
            exp = explain_pool(result, *pooled_idx)
            self.inspector.show_pool(exp, processed.pooled.magnitude)
        elif conv_idx is not None:
            self.inspector.show_explanation(explain_pixel(result, *conv_idx))
        return shown

    def _refresh_hover(self) -> None:
        """Show the hovered point's values again: the image or the result under it changed."""
        if self._hover_point is not None:
            self.hover_at(*self._hover_point)

    def _mark(self, pane, geom, idx, data, magnitude, key, shown) -> None:
        if idx is None:
            pane.show_marker(None)
            pane.set_readout("")
            return
        x0, y0 = geom.origin
        row, col = idx
        pane.show_marker((x0 + col * geom.step, y0 + row * geom.step, geom.step, geom.step))
        value = data[row, col]
        pane.set_readout(f"[{row}, {col}] = {_fmt(value, magnitude)}")
        shown[key] = (idx, value)

    # -- saving ----------------------------------------------------------------------------
    def _pane_data(self, pane: ImagePane) -> tuple[np.ndarray, str] | None:
        if self.processed is None:
            self.show_error("There is no output to save yet.", topic="save")
            return None
        result = self.processed.result
        if pane is self.conv_pane:
            return result.conv, "conv"
        if result.pooled is not None:
            return result.pooled, "pooled"
        return result.activated, "activated"

    def displayed_rgb(self, pane: ImagePane, data: np.ndarray) -> np.ndarray:
        """Full-resolution RGB of ``data`` with the pane's current colours and levels (a
        gradient picked from its histogram's menu included)."""
        lut = pane.image.lookup_table()
        if lut is None:  # colour maps (no LUT), or a pane that has not drawn yet
            cmap = self.controls.colormap_name()
            lut = colormap_lut(
                default_colormap(bool(np.nanmin(data) < 0)) if cmap == "auto" else cmap
            )
        return apply_colormap(data, lut, pane.levels())

    def _stem(self) -> str:
        return Path(self.loaded.name).stem if self.loaded is not None else "convscope"

    def save_pane_raw(self, pane: ImagePane, path: str | Path | None = None) -> bool:
        found = self._pane_data(pane)
        if found is None:
            return False
        data, label = found
        if path is None:
            path = _ask_save_path(
                self,
                "Save raw values",
                str(Path(self.last_folder()) / f"{self._stem()}_{label}.tif"),
                "Float32 TIFF (*.tif *.tiff);;NumPy array (*.npy)",
            )
            if not path:
                return False
        return self._save(lambda: save_raw(path, data), path)

    def save_pane_png(self, pane: ImagePane, path: str | Path | None = None) -> bool:
        found = self._pane_data(pane)
        if found is None:
            return False
        data, label = found
        if path is None:
            path = _ask_save_path(
                self,
                "Save as displayed",
                str(Path(self.last_folder()) / f"{self._stem()}_{label}.png"),
                "PNG image (*.png)",
            )
            if not path:
                return False
        return self._save(lambda: save_png(path, self.displayed_rgb(pane, data)), path)

    def load_kernel_dialog(self) -> None:
        path = self.editor.load_dialog(self.last_folder())
        if path is not None:
            self.remember_folder(path.parent)

    def save_kernel_dialog(self) -> None:
        path = self.editor.save_dialog(self.last_folder())
        if path is not None:
            self.remember_folder(path.parent)

    def export_dialog(self) -> None:
        if self.live.is_running():
            self.live.snapshot()  # Ctrl+S while live: the frame on screen, named by its index
            return
        folder = QFileDialog.getExistingDirectory(
            self, "Export all into folder", self.last_folder()
        )
        if folder:
            self.export_to(folder)

    def export_to(self, folder: str | Path) -> list[Path]:
        """Input, kernel JSON, and both outputs raw and as displayed, into ``folder``."""
        if self.processed is None or self.loaded is None:
            self.show_error("There is nothing to export yet.", topic="save")
            return []
        result = self.processed.result
        second, label = self._pane_data(self.pooled_pane)
        written: list[Path] = []

        def run() -> None:
            written.extend(
                export_all(
                    folder,
                    self._stem(),
                    image=self.loaded.image,
                    kernel=result.kernel,
                    outputs={
                        "conv": (result.conv, self.displayed_rgb(self.conv_pane, result.conv)),
                        label: (second, self.displayed_rgb(self.pooled_pane, second)),
                    },
                )
            )

        self._save(run, folder)
        return written

    def _save(self, write, target) -> bool:
        try:
            write()
        except (SaveError, OSError) as exc:
            self.show_error(f"Nothing was saved: {exc}", topic="save")
            return False
        self.remember_folder(Path(target) if Path(target).is_dir() else Path(target).parent)
        self.banner.resolve("save")
        self.show_status(f"Saved {target}")
        return True

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

    # -- drag and drop ---------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        # An image opens, a kernel JSON loads into the editor, a video plays live.
        if open_mime(self, event.mimeData(), "dropped image"):
            event.acceptProposedAction()

    # -- settings --------------------------------------------------------------------------
    def _stored_text(self, key: str, default: str = "") -> str:
        """The stored string under ``key``; ``default`` for a missing or unreadable value."""
        try:
            value = self._qsettings.value(key, default)
        except Exception:  # a value Qt cannot even convert: treat it as missing
            return default
        return value if isinstance(value, str) else default

    def last_folder(self) -> str:
        folder = self._stored_text("last_folder")
        try:
            usable = bool(folder) and Path(folder).is_dir()
        except (OSError, ValueError):  # a name too long or with a NUL in it
            usable = False
        return folder if usable else str(Path.home())

    def remember_folder(self, folder: Path) -> None:
        self._qsettings.setValue("last_folder", str(folder))

    def _remember_file(self, path: Path) -> None:
        self.remember_folder(path.parent)
        recent = [str(path)] + [p for p in self._recent_files() if p != str(path)]
        self._qsettings.setValue("recent_files", json.dumps(recent[:MAX_RECENT]))
        self._rebuild_recent_menu()

    def _recent_files(self) -> list[str]:
        try:
            recent = json.loads(self._stored_text("recent_files", "[]"))
        except (ValueError, TypeError, RecursionError):
            return []
        if not isinstance(recent, list):
            return []
        return [p for p in recent if isinstance(p, str) and len(p) < 4096][:MAX_RECENT]

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self._recent_files():
            self._action(self.recent_menu, path, lambda _=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(self._recent_files()))

    def _restore_settings(self) -> None:
        """Geometry, kernel and options from last time; a stored value never stops the start.

        Keys this version does not write are removed (a corrupt file must not grow by being
        written back), and every value that cannot be used is replaced by the default and
        removed, with a one-line note that names what was reset.
        """
        s = self._qsettings
        reset: list[str] = []
        try:
            for key in s.allKeys():
                if key not in SETTINGS_KEYS:
                    s.remove(key)
            for key, restore in (
                ("geometry", self._restore_geometry),
                ("window_state", self._restore_window_state),
                ("kernel", self._restore_kernel),
                ("options", self._restore_options),
            ):
                try:
                    usable = restore()
                except Exception:  # whatever a stored value can raise, e.g. overflow
                    usable = False
                if not usable:
                    reset.append(key.replace("_", " "))
                    s.remove(key)
            recent = self._recent_files()
            if recent or s.contains("recent_files"):
                s.setValue("recent_files", json.dumps(recent))  # drops the junk
            self._rebuild_recent_menu()
        except Exception as exc:  # unforeseen: start with defaults rather than not at all
            s.clear()
            self.resize(1600, 1000)
            self.editor.set_kernel(preset(DEFAULT_PRESET), record_undo=False)
            self.controls.set_settings(PipelineSettings())
            reset = [f"everything ({type(exc).__name__})"]
        if reset:
            self.show_error(
                f"Saved settings could not be used and were reset to defaults: {', '.join(reset)}.",
                level="note",
            )

    def _restore_geometry(self) -> bool:
        geometry = self._qsettings.value("geometry")
        if geometry is None:
            self.resize(1600, 1000)
            return True
        if not isinstance(geometry, QByteArray) or not self.restoreGeometry(geometry):
            self.resize(1600, 1000)
            return False
        # A window smaller than its layout needs, or entirely off every screen, is unusable.
        frame = self.frameGeometry()
        on_screen = any(
            screen.availableGeometry().intersects(frame) for screen in QGuiApplication.screens()
        )
        if self.width() < MIN_WINDOW[0] or self.height() < MIN_WINDOW[1] or not on_screen:
            self.setWindowState(Qt.WindowState.WindowNoState)
            self.resize(1600, 1000)
            return False
        return True

    def _restore_window_state(self) -> bool:
        state = self._qsettings.value("window_state")
        return state is None or (isinstance(state, QByteArray) and self.restoreState(state))

    def _restore_kernel(self) -> bool:
        if not self._qsettings.contains("kernel"):
            self.editor.set_kernel(preset(DEFAULT_PRESET), record_undo=False)
            return True
        try:
            kernel = kernel_from_dict(json.loads(self._stored_text("kernel")))
            with np.errstate(all="ignore"):  # huge weights: the check below says no
                total = float(kernel.weights.sum()) * kernel.scale
            if not (
                np.all(np.isfinite(kernel.weights))
                and math.isfinite(total)
                and math.isfinite(kernel.bias)
            ):
                raise ValueError("kernel values overflow")
            self.editor.set_kernel(kernel, record_undo=False)
        except Exception:
            self.editor.set_kernel(preset(DEFAULT_PRESET), record_undo=False)
            return False
        return True

    def _restore_options(self) -> bool:
        if not self._qsettings.contains("options"):
            self.controls.set_settings(PipelineSettings())
            return True
        try:
            options = json.loads(self._stored_text("options"))
            self.controls.set_settings(PipelineSettings(**options["layer"]))
            colormaps = [
                self.controls.colormap.itemData(i) for i in range(self.controls.colormap.count())
            ]
            if options["colormap"] in colormaps:
                self.controls.colormap.setCurrentIndex(
                    self.controls.colormap.findData(options["colormap"])
                )
            self.controls.set_levels_mode(options.get("levels", "auto"))
        except Exception:
            # Defaults, also for any widget set before the error.
            self.controls.set_settings(PipelineSettings())
            return False
        return True

    def save_settings(self) -> None:
        s = self._qsettings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("window_state", self.saveState())
        s.setValue("kernel", json.dumps(self.editor.kernel().to_dict()))
        layer = self.controls.settings()
        s.setValue(
            "options",
            json.dumps(
                {
                    "layer": {k: getattr(layer, k) for k in layer.__dataclass_fields__},
                    "colormap": self.controls.colormap_name(),
                    "levels": self.controls.levels_mode(),
                }
            ),
        )
        s.sync()

    # -- shutdown --------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop live mode (threads, recording) and both workers (idempotent)."""
        self.live.shutdown()
        self._busy_timer.stop()
        self.loader.stop()
        self.worker.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_settings()
        self.shutdown()
        super().closeEvent(event)

    def open_default(self) -> None:
        self.open_path(SAMPLES[DEFAULT_SAMPLE])


def _ask_save_path(parent: QWidget, title: str, suggestion: str, filters: str) -> str:
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


def _fmt(value, magnitude: float = 0.0) -> str:
    """A readout value; rounding noise next to the map's ``magnitude`` reads as 0."""
    if np.ndim(value) == 0:
        return f"{tidy(float(value), magnitude):.4g}"
    return "(" + ", ".join(f"{tidy(float(v), magnitude):.3g}" for v in np.ravel(value)) + ")"


def qimage_to_array(qimage: QImage) -> np.ndarray:
    """RGB float32 [0, 1] copy of a QImage (clipboard, drops)."""
    rgb = qimage.convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    buffer = np.frombuffer(rgb.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return buffer[:, : w * 3].reshape(h, w, 3).astype(np.float32) / 255.0
