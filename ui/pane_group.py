"""The input, convolution and pooled panes as one linked group: a view of the workbench.

The group links every pane to the input pane (one aspect-locked master, pyqtgraph#1348),
draws what the :class:`~ui.workbench.Workbench` publishes (a new input, a result, outputs
cleared) and keeps the image fitted while the panes resize, until the person zooms or pans.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from core.display import resolve_colormap
from core.inputs import LoadedImage
from core.network.display import NetworkResult
from core.preview import PaneView, Processed
from ui.panes import ImagePane
from ui.workbench import Workbench

__all__ = ["PaneGroup"]

_ACTIVATION_LABELS = {
    "none": "",
    "relu": "ReLU",
    "abs": "|x|",
    "leaky_relu": "leaky ReLU",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
}
_TIPS = {
    "input": "The input image. The dashed box is the receptive field of the hovered output "
    "pixel: the input pixels it was computed from.",
    "conv": "The convolution output (before the activation): each pixel is the sum of the "
    "kernel's weights times the input under it. Red: positive match, blue: negative.",
    "network": "A map of the network in the Network dock, shown large over the input pixels "
    "it came from. Network > Show the kernel's convolution brings the kernel's output back.",
    "pooled": "The pooled output (after the activation): one value per window, so the map "
    "shrinks but features stay where they were.",
}


class PaneGroup(QObject):
    """The three linked panes of the single-layer workbench.

    Parameters
    ----------
    workbench : Workbench
        The state the panes show.
    """

    def __init__(self, workbench: Workbench, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._workbench = workbench
        self.input_pane = ImagePane("Input")
        self.conv_pane = ImagePane("Convolution")
        self.pooled_pane = ImagePane("Pooled")
        self.panes = (self.input_pane, self.conv_pane, self.pooled_pane)
        self.outputs = (self.conv_pane, self.pooled_pane)
        master = self.input_pane.view
        for pane in self.outputs:
            pane.view.setXLink(master)
            pane.view.setYLink(master)
        self.input_pane.set_colormap("gray")
        for pane, key in zip(self.panes, ("input", "conv", "pooled"), strict=True):
            pane.setToolTip(_TIPS[key])
        # Refit the image when the panes grow or shrink, until the person zooms or pans.
        self._auto_fit = True
        self._refit_timer = QTimer(self)
        self._refit_timer.setSingleShot(True)
        self._refit_timer.timeout.connect(self._refit)
        self.input_pane.view.sigResized.connect(self._on_view_resized)
        for pane in self.panes:
            pane.view.sigRangeChangedManually.connect(self._on_range_changed_by_hand)
        workbench.input_changed.connect(self._on_input_changed)
        workbench.result_changed.connect(self.show_processed)
        workbench.outputs_cleared.connect(self.clear_outputs)
        #: The network run whose selected map the convolution pane shows, or None (the
        #: kernel's convolution).
        self.network_map: NetworkResult | None = None
        workbench.network.result_changed.connect(self.show_network_map)
        workbench.network.selection_changed.connect(self.show_network_map)
        workbench.network.cleared.connect(lambda _why: self.show_network_map(None))

    # -- drawing -----------------------------------------------------------------------------
    def _on_input_changed(self, loaded: LoadedImage, same_size: bool) -> None:
        view = loaded.view
        h, w = loaded.image.shape[:2]
        self.input_pane.set_data(view.data, (0, 0, w, h), view.levels, view.histogram, view.drawn)
        self.input_pane.set_title(f"Input {w}x{h}")
        self.input_pane.set_stats(view.stats_text)
        if not same_size or not self.view_contains_image():
            self.fit_view()  # a same-size image keeps the zoom: easy to compare two

    def show_processed(self, processed: Processed) -> None:
        """Titles and views of a result in the convolution and pooled panes."""
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
        activation = _ACTIVATION_LABELS[s.activation]
        if geom.pooled is not None:
            ph, pw = geom.pooled.shape
            p = s.pool_size
            title = f"{s.pool_mode.capitalize()} pool {p}x{p}"
            if s.effective_pool_stride != p:
                title += f" stride {s.effective_pool_stride}"
            title += f" of {activation}" if activation else ""
            self.pooled_pane.set_title(f"{title} -> {pw}x{ph}")
        else:
            self.pooled_pane.set_title(f"{activation or 'Output'} (no pooling) -> {cw}x{ch}")
        self.show_views(processed)

    def show_views(self, processed: Processed) -> None:
        """The result's float maps in the output panes, at the window's colours and levels."""
        geom = processed.result.geometry
        if self.network_map is None:  # else the pane shows the network's selected map
            self.show_view(self.conv_pane, processed.conv, geom.conv.rect)
        self.show_view(self.pooled_pane, processed.pooled, (geom.pooled or geom.conv).rect)

    def show_network_map(self, result: NetworkResult | None) -> None:
        """The network map the person selected, large in the convolution pane and placed over
        the input pixels it came from; None (or no selection) brings the kernel's back."""
        if result is None or result.selected_view is None or result.request.selected is None:
            had_map, self.network_map = self.network_map is not None, None
            if had_map:  # the kernel's convolution again
                self.conv_pane.setToolTip(_TIPS["conv"])
                processed = self._workbench.processed
                if processed is not None:
                    self.show_processed(processed)
                else:
                    self.conv_pane.set_data(None)
                    self.conv_pane.set_title("Convolution")
            return
        if self.network_map is None:
            self.conv_pane.setToolTip(_TIPS["network"])
        self.network_map = result
        index, channel = result.request.selected
        output = result.outputs[index]
        h, w, count = output.map.shape
        channel = min(max(channel, 0), count - 1)
        self.conv_pane.set_title(f"{output.name} · map {channel} of {count} · {w}x{h}")
        self.show_view(self.conv_pane, result.selected_view, output.geometry.rect)

    def show_view(self, pane: ImagePane, view: PaneView, rect) -> None:
        mode = self._workbench.levels_mode()
        # Fixed levels are the pane's, kept even while it had nothing to show.
        levels = pane.levels() if mode == "fixed" and pane.has_levels() else view.levels
        if view.data.ndim == 2:
            pane.set_colormap(resolve_colormap(self._workbench.colormap_name(), view.signed))
        else:  # per-channel maps are drawn as RGB, each channel a grey ramp through the levels
            pane.set_colormap("gray")
        pane.set_data(view.data, rect, levels, view.histogram, view.drawn)
        pane.set_stats(view.stats_text)

    def clear_outputs(self, state: str) -> None:
        for pane, name in ((self.conv_pane, "Convolution"), (self.pooled_pane, "Pooled")):
            pane.set_data(None)
            pane.set_title(f"{name}: {state}")

    # -- view range --------------------------------------------------------------------------
    def _image_size(self) -> tuple[int, int] | None:
        loaded = self._workbench.loaded
        return None if loaded is None else loaded.image.shape[:2]

    def fit_view(self) -> None:
        """Zoom every pane to the whole input, and keep it fitted while the panes resize."""
        self._auto_fit = True
        size = self._image_size()
        if size is not None:
            h, w = size
            self.input_pane.view.setRange(xRange=(0, w), yRange=(0, h), padding=0.02)

    def view_contains_image(self) -> bool:
        size = self._image_size()
        if size is None:
            return False
        (x0, x1), (y0, y1) = self.input_pane.view.viewRange()
        h, w = size
        return x0 < w and x1 > 0 and y0 < h and y1 > 0

    def _on_view_resized(self, *_args) -> None:
        if self._auto_fit:
            self._refit_timer.start(0)  # once the layout has settled

    def _on_range_changed_by_hand(self, *_args) -> None:
        self._auto_fit = False  # the person's zoom stays; Ctrl+0 fits (and follows) again

    def _refit(self) -> None:
        if self._auto_fit:
            self.fit_view()
