"""The main window's menu bar (File, Edit, View, Network, Help); Live is the live toolbar's.

Every entry calls a public method of the window (or of the object it names), so the menus can
be read as the list of what the window offers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from resources import SAMPLES
from ui.help import show_help

if TYPE_CHECKING:  # the window builds its menus with this module: no import at run time
    from ui.main_window import MainWindow

__all__ = ["add_action", "build_menus", "rebuild_recent_menu"]


def add_action(
    window: MainWindow,
    menu: QMenu,
    text: str,
    slot: Callable,
    shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
    tip: str = "",
) -> QAction:
    """An action owned by ``window``, added to ``menu`` (``slot`` receives ``checked``)."""
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.setStatusTip(tip)
    action.setToolTip(tip)
    action.triggered.connect(slot)
    menu.addAction(action)
    return action


def build_menus(window: MainWindow) -> QMenu:
    """Fill ``window``'s menu bar; returns the "Open recent" menu (rebuilt as files open)."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    add_action(
        window,
        file_menu,
        "&Open image...",
        window.open_dialog,
        QKeySequence.StandardKey.Open,
        "Open an image file.",
    )
    samples = file_menu.addMenu("Open &sample")
    for name, path in SAMPLES.items():
        add_action(
            window,
            samples,
            name,
            lambda _=False, p=path: window.open_path(p),
            tip=f"Open the bundled sample image '{name}'.",
        )
    recent_menu = file_menu.addMenu("Open &recent")
    add_action(
        window,
        file_menu,
        "&Paste image",
        window.paste_image,
        QKeySequence.StandardKey.Paste,
        "Use the image on the clipboard as the input.",
    )
    file_menu.addSeparator()
    add_action(
        window,
        file_menu,
        "&Export all...",
        window.export_dialog,
        QKeySequence.StandardKey.Save,
        "Write the input, the kernel and both outputs (raw and as displayed) into a folder.",
    )
    save_menu = file_menu.addMenu("Save output")
    raw_tip = "The exact float32 values (TIFF or .npy), for analysis."
    shown_tip = "A PNG of the map as it is drawn: its colormap and levels."
    for label, pane in (("Convolution", window.conv_pane), ("Pooled", window.pooled_pane)):
        add_action(
            window,
            save_menu,
            f"{label} raw...",
            lambda _=False, p=pane: window.save_pane_raw(p),
            None,
            raw_tip,
        )
        add_action(
            window,
            save_menu,
            f"{label} as displayed...",
            lambda _=False, p=pane: window.save_pane_png(p),
            None,
            shown_tip,
        )
    file_menu.addSeparator()
    add_action(
        window,
        file_menu,
        "Load &kernel...",
        window.load_kernel_dialog,
        None,
        "Load kernel weights from a JSON file.",
    )
    add_action(
        window,
        file_menu,
        "Save k&ernel...",
        window.save_kernel_dialog,
        None,
        "Save the kernel's weights to a JSON file.",
    )
    file_menu.addSeparator()
    network = window.network
    add_action(
        window,
        file_menu,
        "Open &network...",
        network.open_dialog,
        None,
        "Open a network JSON file into the Network dock.",
    )
    add_action(
        window,
        file_menu,
        "Save net&work...",
        network.save_dialog,
        None,
        "Save the Network dock's network as JSON (weights included).",
    )
    add_action(
        window,
        file_menu,
        "&Import model...",
        lambda _=False: network.import_model(),
        None,
        "Import conv layers from a Keras, PyTorch, ONNX, safetensors or NumPy model file.",
    )
    file_menu.addSeparator()
    add_action(
        window,
        file_menu,
        "&Quit",
        window.close,
        QKeySequence.StandardKey.Quit,
        "Close ConvScope; the kernel, options and window layout are remembered.",
    )

    edit_menu = bar.addMenu("&Edit")
    edit_menu.addAction(window.editor.undo_action)
    edit_menu.addAction(window.editor.redo_action)

    view_menu = bar.addMenu("&View")
    add_action(
        window,
        view_menu,
        "&Fit image",
        window.fit_view,
        "Ctrl+0",
        "Zoom all panes to show the whole image.",
    )
    add_action(
        window,
        view_menu,
        "&Auto levels",
        lambda _=False: window.controls.set_levels_mode("auto"),
        None,
        "Map each pane's full value range onto its colormap again.",
    )

    _build_network_menu(window, bar.addMenu("&Network"))

    help_menu = bar.addMenu("&Help")
    add_action(
        window,
        help_menu,
        "&How ConvScope works",
        lambda _=False: show_help(window),
        QKeySequence.StandardKey.HelpContents,
        "Convolution, activation and pooling explained with the lecture's examples.",
    )
    return recent_menu


def _build_network_menu(window: MainWindow, menu: QMenu) -> None:
    """Example networks (each with its lesson), the kernel as a network, training."""
    network = window.network
    menu.setToolTipsVisible(True)
    for index, (name, lesson) in enumerate(network.presets()):
        if index == 2:
            menu.addSeparator()  # the lecture's demos, then the filter banks
        add_action(
            window,
            menu,
            f"Example: {name}",
            lambda _=False, n=name: network.show_preset(n),
            None,
            lesson,
        )
    menu.addSeparator()
    add_action(
        window,
        menu,
        "From the current &kernel",
        lambda _=False: network.from_kernel(),
        None,
        "The single kernel as a network: its conv, activation and pool, ready to grow.",
    )
    add_action(
        window,
        menu,
        "Show the kernel's &convolution",
        lambda _=False: network.show_kernel_output(),
        None,
        "Back to the single kernel: its output in the convolution pane, and the editor "
        "edits it (not a network filter).",
    )
    menu.addAction(window.network_frame.toggleViewAction())
    menu.addSeparator()
    add_action(
        window,
        menu,
        "&Train a digit classifier...",
        lambda _=False: network.open_train(),
        None,
        "Train the network on handwritten digits; use the learned filters here.",
    )


def rebuild_recent_menu(window: MainWindow, menu: QMenu, recent: list[str]) -> None:
    """List ``recent`` files in ``menu``, each opening in ``window``."""
    menu.clear()
    for path in recent:
        add_action(window, menu, path, lambda _=False, p=path: window.open_path(p))
    menu.setEnabled(bool(recent))
