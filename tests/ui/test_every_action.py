"""Every action the window offers, triggered the way Qt does for a click.

The window's actions are found, not listed: the menu bar (recursively), the toolbars, each
pane's right-click menu and the kernel editor's buttons. Each is triggered with
``QAction.trigger()`` / ``QAbstractButton.click()``, with every dialog answered by a fixture
(a path, a path with a typed extension, or cancelled; an unexpected dialog fails), while a
``sys.excepthook`` catcher fails on any exception that escapes a slot. Actions in ``EXPECTED``
must have their effect (a file of the right shape and dtype, a changed kernel, a banner that
shows and clears); any other action, e.g. one added tomorrow, must at least run without an
exception and leave the window alive; a window such an action opens has each of its buttons
clicked the same way (a dialog nobody described is cancelled) before it is closed. The docks,
the Train window and the Import model dialog are walked in ``test_every_surface``.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDialog,
    QFileDialog,
    QInputDialog,
    QMenu,
    QMessageBox,
    QTextBrowser,
    QToolBar,
    QToolButton,
    QWidget,
)

from core.kernels import Kernel, load_kernel, preset
from core.network import load_network, save_network
from core.network.presets import FIELD_EXAMPLE, KERAS_EXAMPLE, build_preset, list_presets
from resources import DEFAULT_SAMPLE, SAMPLES
from ui.app import wait_until_idle
from ui.main_window import MainWindow

WAIT_MS = 10_000
TIFF = "Float32 TIFF (*.tif *.tiff)"
NPY = "NumPy array (*.npy)"
PNG = "PNG image (*.png)"


# What a person's Cancel returns, per kind of dialog (message boxes: the Cancel button).
CANCELLED: dict[str, object] = {
    "save": ("", ""),
    "open": ("", ""),
    "folder": "",
    "getText": ("", False),
    "getItem": ("", False),
    "getInt": (0, False),
    "getDouble": (0.0, False),
}


# -- fixtures: dialogs answered, exceptions caught --------------------------------------------
class Dialogs:
    """Answers for the static dialogs, in order per kind; a dialog with no answer fails."""

    def __init__(self) -> None:
        self._answers: dict[str, list[object]] = {}
        self.asked: list[tuple[str, str]] = []

    def answer(self, kind: str, value: object) -> None:
        """Queue ``value`` for the next dialog of ``kind`` ("save", "open", "folder", ...)."""
        self._answers.setdefault(kind, []).append(value)

    def pending(self) -> dict[str, list[object]]:
        return {k: v for k, v in self._answers.items() if v}

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.asked if k == kind)

    @contextlib.contextmanager
    def cancelling(self) -> Iterator[None]:
        """Within: a dialog with no answer queued is cancelled (a button nobody described)."""
        self._cancel = True
        try:
            yield
        finally:
            self._cancel = False

    def _next(self, kind: str, title: str) -> object:
        self.asked.append((kind, title))
        queue = self._answers.get(kind)
        if not queue:
            if getattr(self, "_cancel", False):
                return CANCELLED.get(kind, QMessageBox.StandardButton.Cancel)
            raise AssertionError(f"unexpected {kind} dialog {title!r}")
        return queue.pop(0)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def file_dialog(kind):
            def ask(parent=None, caption="", directory="", filters="", *args, **kwargs):
                path, chosen = self._next(kind, caption)  # type: ignore[misc]
                return path, chosen

            return staticmethod(ask)

        monkeypatch.setattr(QFileDialog, "getSaveFileName", file_dialog("save"))
        monkeypatch.setattr(QFileDialog, "getOpenFileName", file_dialog("open"))
        monkeypatch.setattr(
            QFileDialog,
            "getExistingDirectory",
            staticmethod(lambda parent=None, caption="", *a, **k: self._next("folder", caption)),
        )
        for name in ("warning", "critical", "information", "question"):
            monkeypatch.setattr(
                QMessageBox,
                name,
                staticmethod(lambda parent, title, *a, n=name, **k: self._next(n, title)),
            )
        for name in ("getText", "getItem", "getInt", "getDouble"):
            monkeypatch.setattr(
                QInputDialog,
                name,
                staticmethod(lambda parent, title, *a, n=name, **k: self._next(n, title)),
            )

        def modal(dialog, *_args):  # a modal dialog nobody answers would hang the test
            raise AssertionError(f"unexpected modal dialog {dialog.windowTitle()!r}")

        monkeypatch.setattr(QDialog, "exec", modal)


@contextlib.contextmanager
def caught_exceptions() -> Iterator[list[str]]:
    """Collect every exception that escapes a slot (Qt hands them to sys.excepthook)."""
    caught: list[str] = []
    previous = sys.excepthook
    sys.excepthook = lambda kind, exc, _tb: caught.append(f"{kind.__name__}: {exc}")
    try:
        yield caught
    finally:
        sys.excepthook = previous


@dataclass
class Context:
    window: MainWindow
    dialogs: Dialogs
    qtbot: object
    tmp: Path
    checked: list[str] = field(default_factory=list)

    def settle(self) -> None:
        QApplication.processEvents()
        assert wait_until_idle(self.window, WAIT_MS), "the window never became idle"
        QApplication.processEvents()

    def wait_frames(self, n: int = 3) -> None:
        for _ in range(n):
            with self.qtbot.waitSignal(self.window.live.frame_shown, timeout=WAIT_MS):
                pass

    def start_live(self) -> None:
        if not self.window.live.is_running():
            self.window.live_toolbar.start_action.trigger()
        assert self.window.live.is_running(), self.window.banner.text()
        self.wait_frames(2)

    def stop_live(self) -> None:
        if self.window.live.is_running():
            self.window.live_toolbar.start_action.trigger()
        assert not self.window.live.is_running()
        self.settle()


@pytest.fixture
def dialogs(monkeypatch) -> Dialogs:
    answers = Dialogs()
    answers.install(monkeypatch)
    return answers


@pytest.fixture
def context(qtbot, settings, dialogs, tmp_path) -> Iterator[Context]:
    """An *interactive* window (it asks for paths, like the real app) on the default sample."""
    window = MainWindow(settings, interactive=True)
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    qtbot.waitExposed(window)
    window.open_path(SAMPLES[DEFAULT_SAMPLE])
    assert wait_until_idle(window, WAIT_MS) and window.processed is not None
    out = tmp_path / "out"
    out.mkdir()
    yield Context(window, dialogs, qtbot, out)
    window.live.stop()
    window.close()
    window.shutdown()


# -- finding every action ----------------------------------------------------------------------
def _clean(text: str) -> str:
    return text.replace("&", "").split("\t")[0]


def _menu_actions(menu: QMenu, prefix: str) -> Iterator[tuple[str, QAction]]:
    for action in menu.actions():
        if action.isSeparator() or not action.isVisible():
            continue
        label = f"{prefix}/{_clean(action.text())}"
        if action.menu() is not None:
            yield from _menu_actions(action.menu(), label)
        else:
            yield label, action


def discover(window: MainWindow) -> list[tuple[str, QAction | QAbstractButton]]:
    """Every action a person can click, each once, labelled by where it is first found."""
    found: list[tuple[str, QAction | QAbstractButton]] = []
    seen: set[int] = set()

    def add(items) -> None:
        for label, item in items:
            if id(item) not in seen:
                seen.add(id(item))
                found.append((label, item))

    for top in window.menuBar().actions():
        if top.menu() is not None:
            add(_menu_actions(top.menu(), _clean(top.text())))
    for toolbar in window.findChildren(QToolBar):
        add(
            (f"Toolbar {toolbar.windowTitle()}/{_clean(a.text())}", a)
            for a in toolbar.actions()
            if not a.isSeparator()
            and toolbar.widgetForAction(a) is not None
            and a.text()  # widget actions (combo boxes, badges) have no text of their own
        )
    names = {window.input_pane: "Input", window.conv_pane: "Convolution"}
    for pane in window.panes:
        add(_menu_actions(pane.view.menu, f"{names.get(pane, 'Pooled')} pane"))
    add(
        (f"Editor/{_clean(b.text())}", b)
        for b in window.editor.findChildren(QAbstractButton)
        if b.text() and b.isVisible()
    )
    return found


def discover_widget(root: QWidget, prefix: str) -> list[tuple[str, QAction | QAbstractButton]]:
    """Every button with text under ``root`` (a dock, a window, a dialog), each once.

    A tool button with a menu is replaced by its menu's actions, recursively (clicking it would
    pop the menu up, modal); a tool button showing an action by that action.
    """
    found: list[tuple[str, QAction | QAbstractButton]] = []
    seen: set[int] = set()

    def add(label: str, item: QAction | QAbstractButton) -> None:
        if id(item) not in seen:
            seen.add(id(item))
            found.append((label, item))

    for button in root.findChildren(QAbstractButton):
        text = _clean(button.text())
        if isinstance(button, QToolButton) and button.menu() is not None:
            for label, action in _menu_actions(button.menu(), f"{prefix}/{text}"):
                add(label, action)
        elif isinstance(button, QToolButton) and button.defaultAction() is not None:
            add(f"{prefix}/{_clean(button.defaultAction().text())}", button.defaultAction())
        elif text:
            add(f"{prefix}/{text}", button)
    return found


def click(item: QAction | QAbstractButton) -> None:
    if isinstance(item, QAction):
        item.trigger()
    else:
        item.click()


# -- expected effects --------------------------------------------------------------------------
def _data(ctx: Context, pane: str) -> np.ndarray:
    result = ctx.window.processed.result
    return result.conv if pane == "Convolution" else result.pooled


def _check_save_raw(pane: str) -> Callable[[Context, object], None]:
    def check(ctx: Context, item) -> None:
        expected = _data(ctx, pane)
        stem = ctx.tmp / f"{pane}-raw-{len(ctx.checked)}"
        # A typed known extension wins over the selected filter (not "x.npy.tif").
        ctx.dialogs.answer("save", (f"{stem}.npy", TIFF))
        click(item)
        saved = np.load(f"{stem}.npy")
        assert saved.dtype == np.float32 and saved.shape == expected.shape
        np.testing.assert_array_equal(saved, expected)  # this pane's array, not the other's
        assert not Path(f"{stem}.npy.tif").exists()
        # No extension typed: the chosen type's.
        ctx.dialogs.answer("save", (str(stem), TIFF))
        click(item)
        tiff = cv2.imread(f"{stem}.tif", cv2.IMREAD_UNCHANGED)
        assert tiff is not None and tiff.dtype == np.float32 and tiff.shape == expected.shape
        np.testing.assert_array_equal(tiff, expected)
        # Cancelled: nothing written.
        before = sorted(ctx.tmp.iterdir())
        ctx.dialogs.answer("save", ("", ""))
        click(item)
        assert sorted(ctx.tmp.iterdir()) == before

    return check


def _check_save_png(pane: str) -> Callable[[Context, object], None]:
    def check(ctx: Context, item) -> None:
        expected = _data(ctx, pane)
        path = ctx.tmp / f"{pane}-shown-{len(ctx.checked)}.png"
        ctx.dialogs.answer("save", (str(path), PNG))
        click(item)
        png = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert png is not None, ctx.window.banner.text()
        assert png.dtype == np.uint8 and png.shape == (*expected.shape, 3)
        assert ctx.window.banner.isHidden(), ctx.window.banner.text()

    return check


def _check_save_failure_then_success(ctx: Context, item) -> None:
    """A failed save's banner stays until a save succeeds (then it goes by itself)."""
    ctx.dialogs.answer("save", (str(ctx.tmp / "missing" / "x.npy"), NPY))
    click(item)
    assert not ctx.window.banner.isHidden() and "Nothing was saved" in ctx.window.banner.text()
    ctx.window.request_update()
    ctx.settle()  # a recompute does not clear it: it was not about computing
    assert not ctx.window.banner.isHidden()
    _check_save_raw("Pooled")(ctx, item)
    assert ctx.window.banner.isHidden()


def _check_open_image(ctx: Context, item) -> None:
    picked = ctx.tmp / "picked.png"
    shutil.copy(SAMPLES[DEFAULT_SAMPLE], picked)
    before = ctx.window.loaded
    ctx.dialogs.answer("open", ("", ""))
    click(item)
    ctx.settle()
    assert ctx.window.loaded is before
    ctx.dialogs.answer("open", (str(picked), ""))
    click(item)
    ctx.settle()
    assert ctx.window.loaded.path == picked


def _check_paste(ctx: Context, item) -> None:
    # A file copied in a file manager arrives as a file URL.
    copied = ctx.tmp / "copied.png"
    shutil.copy(SAMPLES[DEFAULT_SAMPLE], copied)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(copied))])
    QGuiApplication.clipboard().setMimeData(mime)
    click(item)
    ctx.settle()
    assert ctx.window.loaded.path == copied
    QGuiApplication.clipboard().clear()


def _check_export(ctx: Context, item) -> None:
    folder = ctx.tmp / "export"
    folder.mkdir()
    ctx.dialogs.answer("folder", "")
    click(item)
    assert list(folder.iterdir()) == []
    ctx.dialogs.answer("folder", str(folder))
    with ctx.qtbot.waitSignal(ctx.window.saving.exported, timeout=WAIT_MS):  # written on a thread
        click(item)
    stem = Path(ctx.window.loaded.name).stem
    conv = cv2.imread(str(folder / f"{stem}_conv.tif"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(conv, ctx.window.processed.result.conv)
    assert (folder / f"{stem}_kernel.json").exists() and (folder / f"{stem}_input.png").exists()


def _kernel_file(path: Path, weights) -> Path:
    path.write_text(json.dumps({"weights": weights}), encoding="utf-8")
    return path


def _check_load_kernel(ctx: Context, item) -> None:
    window = ctx.window
    before = window.editor.kernel()
    huge = _kernel_file(ctx.tmp / "huge.json", [[1e308, 1e308, 0], [0, 0, 0], [0, 0, 0]])
    ctx.dialogs.answer("open", (str(huge), ""))
    click(item)  # once a segfault: Kernel.sum overflowed in fsum
    ctx.settle()
    assert window.editor.kernel() == before
    assert not window.banner.isHidden() and "too large" in window.banner.text()
    good = _kernel_file(ctx.tmp / "good.json", [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    ctx.dialogs.answer("open", (str(good), ""))
    click(item)
    ctx.settle()
    np.testing.assert_array_equal(window.editor.kernel().weights, preset("laplacian").weights)
    assert window.processed.result.kernel == window.editor.kernel()
    assert window.banner.isHidden()  # the failure it reported is resolved


def _check_save_kernel(ctx: Context, item) -> None:
    ctx.window.editor.set_kernel(preset("sobel-y"))
    ctx.dialogs.answer("save", (str(ctx.tmp / "mine"), "Kernel JSON (*.json)"))
    click(item)
    assert load_kernel(ctx.tmp / "mine.json") == ctx.window.editor.kernel()


def _check_undo_redo(ctx: Context, undo, redo) -> None:
    editor = ctx.window.editor
    editor.set_kernel(preset("identity"))
    editor.set_kernel(preset("outline"))
    click(undo)
    assert editor.kernel().name == "identity"
    click(redo)
    assert editor.kernel().name == "outline"


def _check_fit(ctx: Context, item) -> None:
    window = ctx.window
    window.input_pane.view.scaleBy((0.1, 0.1))
    click(item)
    QApplication.processEvents()
    (x0, x1), (y0, y1) = window.input_pane.view.viewRange()
    h, w = window.loaded.image.shape[:2]
    assert x0 <= 0 and y0 <= 0 and x1 >= w and y1 >= h


def _check_auto_levels(ctx: Context, item) -> None:
    ctx.window.controls.set_levels_mode("fixed")
    click(item)
    assert ctx.window.controls.levels_mode() == "auto"


def _check_help(ctx: Context, item) -> None:
    click(item)
    shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible()]
    assert len(shown) == 1
    text = shown[0].findChild(QTextBrowser).toPlainText()
    assert "Live mode" in text and "Snapshot" in text
    shown[0].close()


def _check_live(ctx: Context, item) -> None:
    click(item)
    assert ctx.window.live.is_running(), ctx.window.banner.text()
    ctx.wait_frames(2)
    click(item)
    assert not ctx.window.live.is_running()
    ctx.settle()


def _check_synthetic(ctx: Context, item) -> None:
    box = ctx.window.live_toolbar.source_box
    box.setCurrentIndex(box.findData(0))  # Camera 0, as a person picks it (not started)
    assert ctx.window.live.choice.kind == "camera"
    click(item)
    assert ctx.window.live.choice.kind == "synthetic"


def _write_video(path: Path, frames: int = 12) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 100.0, (64, 48))
    for i in range(frames):
        image = np.zeros((48, 64, 3), np.uint8)
        image[10:30, 2 + 3 * i : 12 + 3 * i] = 255
        writer.write(image)
    writer.release()
    return path


def _check_open_video(ctx: Context, item) -> None:
    window, box = ctx.window, ctx.window.live_toolbar.source_box
    good = _write_video(ctx.tmp / "good.avi")
    ctx.dialogs.answer("open", (str(good), ""))
    click(item)
    assert window.live.is_running() and window.live.choice.path == good
    ctx.wait_frames(2)
    broken = ctx.tmp / "broken.avi"
    broken.write_bytes(b"not a video")
    for running in (True, False):  # switching from the working video, or starting on it
        if not running:
            ctx.stop_live()
        ctx.dialogs.answer("open", (str(broken), ""))
        click(item)
        ctx.settle()
        assert not window.live.is_running()
        assert not window.banner.isHidden() and "could not start" in window.banner.text()
        # The working video stays the choice and the entry; the broken one is not kept.
        assert window.live.choice.path == good
        assert box.currentText() == "Video: good.avi"
        if running:
            window.live.start_choice()
            assert window.live.is_running()
    ctx.dialogs.answer("open", (str(good), ""))
    click(item)
    assert window.live.is_running()
    assert window.banner.isHidden()  # live started: the failure to start is resolved
    ctx.stop_live()


def _check_find_cameras(ctx: Context, item) -> None:
    with ctx.qtbot.waitSignal(ctx.window.live.cameras_found, timeout=WAIT_MS):
        click(item)


def _check_freeze(ctx: Context, item) -> None:
    ctx.start_live()
    click(item)
    assert ctx.window.live.is_frozen()
    click(item)
    assert not ctx.window.live.is_frozen()
    ctx.stop_live()


def _check_step(ctx: Context, item) -> None:
    ctx.start_live()
    ctx.window.live_toolbar.freeze_action.trigger()
    with ctx.qtbot.waitSignal(ctx.window.live.frame_shown, timeout=WAIT_MS):
        click(item)
    assert ctx.window.live.is_frozen()
    ctx.stop_live()


def _check_snapshot(ctx: Context, item) -> None:
    folder = ctx.tmp / "snaps"
    folder.mkdir()
    ctx.start_live()
    ctx.dialogs.answer("folder", str(folder))
    asked = ctx.dialogs.count("folder")
    with ctx.qtbot.waitSignal(ctx.window.saving.snapshot_saved, timeout=WAIT_MS):
        click(item)  # written on a thread
    ctx.wait_frames(2)
    with ctx.qtbot.waitSignal(ctx.window.saving.snapshot_saved, timeout=WAIT_MS):
        click(item)  # the folder was asked for once: not again
    assert ctx.dialogs.count("folder") == asked + 1
    ctx.stop_live()
    conv = sorted(folder.glob("*_conv.tif"))
    assert len(conv) == 2, sorted(p.name for p in folder.iterdir())
    assert all("_frame" in p.name for p in conv)


def _check_record(ctx: Context, item) -> None:
    window = ctx.window
    ctx.start_live()
    # A refused recording: its message stays while frames keep coming.
    ctx.dialogs.answer("save", (str(ctx.tmp / "missing" / "rec.avi"), ""))
    click(item)
    assert not window.live.is_recording()
    assert not window.banner.isHidden()
    message = window.banner.text()
    ctx.wait_frames(5)
    assert not window.banner.isHidden() and window.banner.text() == message
    path = ctx.tmp / "rec.avi"
    ctx.dialogs.answer("save", (str(path), ""))
    click(item)
    assert window.live.is_recording()
    assert window.banner.isHidden()  # recording works now: the refusal is resolved
    ctx.wait_frames(4)
    click(item)
    assert not window.live.is_recording()
    ctx.stop_live()
    assert path.stat().st_size > 0


def _check_quit(ctx: Context, item) -> None:
    click(item)
    QApplication.processEvents()
    assert not ctx.window.isVisible()
    assert ctx.window.store.qsettings.value("kernel")  # closing remembered the kernel


def _check_editor(change: Callable[[Kernel], Kernel | None], setup: str | None = None):
    """The editor button turns ``setup`` (a preset) into ``change(setup)`` (None: any other)."""

    def check(ctx: Context, item) -> None:
        editor = ctx.window.editor
        if setup is not None:
            editor.set_kernel(preset(setup))
        before = editor.kernel()
        click(item)
        expected = change(before)
        if expected is None:
            assert editor.kernel().shape == before.shape and editor.kernel() != before
        else:
            np.testing.assert_allclose(editor.kernel().effective, expected.effective)
        ctx.settle()
        assert ctx.window.processed.result.kernel == editor.kernel()  # it was recomputed

    return check


def _check_editor_load(ctx: Context, item) -> None:
    good = _kernel_file(ctx.tmp / "editor.json", [[1, 2], [3, 4]])
    ctx.dialogs.answer("open", (str(good), ""))
    click(item)
    np.testing.assert_array_equal(ctx.window.editor.kernel().weights, [[1, 2], [3, 4]])


def _check_editor_save(ctx: Context, item) -> None:
    ctx.dialogs.answer("save", (str(ctx.tmp / "editor-saved.json"), ""))
    click(item)
    assert load_kernel(ctx.tmp / "editor-saved.json") == ctx.window.editor.kernel()


def _with_undo(ctx: Context, item) -> None:
    redo = next(b for label, b in discover(ctx.window) if label == "Editor/Redo")
    _check_undo_redo(ctx, item, redo)


def _with_redo(ctx: Context, item) -> None:
    undo = next(b for label, b in discover(ctx.window) if label == "Editor/Undo")
    _check_undo_redo(ctx, undo, item)


def _menu_undo(ctx: Context, item) -> None:
    _check_undo_redo(ctx, item, ctx.window.editor.redo_action)


def _menu_redo(ctx: Context, item) -> None:
    _check_undo_redo(ctx, ctx.window.editor.undo_action, item)


def _check_open_network(ctx: Context, item) -> None:
    window = ctx.window
    before = window.network_dock.network()
    ctx.dialogs.answer("open", ("", ""))
    click(item)
    assert window.network_dock.network() is before
    bad = ctx.tmp / "bad-network.json"
    bad.write_text('{"layers": [{"type": "conv", "weights": "nope"}]}', encoding="utf-8")
    ctx.dialogs.answer("open", (str(bad), ""))
    click(item)
    assert window.network_dock.network() is before
    assert not window.banner.isHidden() and "bad-network.json" in window.banner.text()
    good = ctx.tmp / "good-network.json"
    save_network(build_preset(FIELD_EXAMPLE), good)
    ctx.dialogs.answer("open", (str(good), ""))
    click(item)
    ctx.settle()
    opened = window.network_dock.network()
    assert [layer.name for layer in opened.layers] == [
        layer.name for layer in build_preset(FIELD_EXAMPLE).layers
    ]
    assert not window.network_frame.isHidden()
    result = window.workbench.network.result
    assert result is not None and result.network is opened


def _check_save_network(ctx: Context, item) -> None:
    window = ctx.window
    window.network.show_preset(KERAS_EXAMPLE)
    ctx.dialogs.answer("save", (str(ctx.tmp / "mine-network"), "ConvScope network (*.json)"))
    click(item)
    saved = load_network(ctx.tmp / "mine-network.json")
    np.testing.assert_array_equal(
        saved.layers[0].weights, window.network_dock.network().layers[0].weights
    )


def _check_import_model(ctx: Context, item) -> None:
    from core.models import read_network
    from ui.model_import import ImportModelDialog

    model = Path(__file__).parents[1] / "core" / "models" / "fixtures" / "model.onnx"

    def exec_(dialog):  # the person waits for the pictures, then imports the chain
        dialog.show()
        ctx.qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=WAIT_MS)
        dialog.chain_button.click()
        return dialog.result()

    ctx.dialogs.answer("open", (str(model), ""))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ImportModelDialog, "exec", exec_)
        click(item)
    ctx.settle()
    imported = ctx.window.network_dock.network()
    expected = read_network(model)
    assert [layer.name for layer in imported.layers] == [layer.name for layer in expected.layers]
    np.testing.assert_array_equal(imported.layers[0].weights, expected.layers[0].weights)
    assert not ctx.window.network_frame.isHidden()


def _check_preset(ctx: Context, label: str, item) -> None:
    name = label.removeprefix("Network/Example: ")
    click(item)
    ctx.settle()
    window = ctx.window
    expected = build_preset(name)
    shown = window.workbench.network.result
    assert not window.network_frame.isHidden()
    assert [layer.name for layer in shown.network.layers] == [lay.name for lay in expected.layers]
    assert window.network_dock.view.layer_count() == len(expected.layers)
    assert item.toolTip() == dict(list_presets())[name]


def _check_from_kernel(ctx: Context, item) -> None:
    window = ctx.window
    window.editor.set_kernel(preset("sobel-x"))
    ctx.settle()
    click(item)
    ctx.settle()
    result = window.workbench.network.result
    conv = result.network.layers[0]
    np.testing.assert_array_equal(conv.weights[0, 0], preset("sobel-x").effective)
    # The one-layer network computes what the single-kernel workbench shows.
    np.testing.assert_allclose(
        result.outputs[0].map[:, :, 0], window.processed.result.conv, atol=1e-5
    )


def _check_show_kernel_output(ctx: Context, item) -> None:
    window = ctx.window
    window.network.show_preset(KERAS_EXAMPLE)
    ctx.settle()
    window.network_dock.select_map(0, 3)
    ctx.settle()
    assert window.pane_group.network_map is not None
    click(item)
    ctx.settle()
    assert window.pane_group.network_map is None
    assert window.conv_pane.title.text.startswith("Convolution")
    assert "before the activation" in window.conv_pane.toolTip()


def _transformed(fn) -> Callable[[Kernel], Kernel]:
    return lambda k: k.with_weights(fn(k.weights))


EXPECTED: dict[str, Callable[[Context, object], None]] = {
    "File/Open image...": _check_open_image,
    "File/Paste image": _check_paste,
    "File/Export all...": _check_export,
    "File/Save output/Convolution raw...": _check_save_raw("Convolution"),
    "File/Save output/Convolution as displayed...": _check_save_png("Convolution"),
    "File/Save output/Pooled raw...": _check_save_failure_then_success,
    "File/Save output/Pooled as displayed...": _check_save_png("Pooled"),
    "File/Load kernel...": _check_load_kernel,
    "File/Save kernel...": _check_save_kernel,
    "File/Quit": _check_quit,
    "File/Open network...": _check_open_network,
    "File/Save network...": _check_save_network,
    "File/Import model...": _check_import_model,
    "Network/From the current kernel": _check_from_kernel,
    "Network/Show the kernel's convolution": _check_show_kernel_output,
    "Edit/Undo": _menu_undo,
    "Edit/Redo": _menu_redo,
    "View/Fit image": _check_fit,
    "View/Auto levels": _check_auto_levels,
    "Live/Live": _check_live,
    "Live/Synthetic scene": _check_synthetic,
    "Live/Open video file...": _check_open_video,
    "Live/Find cameras": _check_find_cameras,
    "Live/Freeze": _check_freeze,
    "Live/Step": _check_step,
    "Live/Snapshot": _check_snapshot,
    "Live/Record": _check_record,
    "Help/How ConvScope works": _check_help,
    "Convolution pane/Save raw...": _check_save_raw("Convolution"),
    "Convolution pane/Save as displayed...": _check_save_png("Convolution"),
    "Convolution pane/Fit image": _check_fit,
    "Pooled pane/Save raw...": _check_save_raw("Pooled"),
    "Pooled pane/Save as displayed...": _check_save_png("Pooled"),
    "Editor/Normalize": _check_editor(lambda k: k.normalized()[0], "box-blur-3"),
    "Editor/Clear": _check_editor(lambda k: k.with_weights(np.zeros(k.shape)), "sobel-x"),
    "Editor/Flip 180°": _check_editor(_transformed(lambda w: w[::-1, ::-1]), "emboss"),
    "Editor/Rotate 90°": _check_editor(_transformed(np.rot90), "sobel-x"),
    "Editor/Transpose": _check_editor(_transformed(np.transpose), "sobel-x"),
    "Editor/Randomize": _check_editor(lambda k: None),
    "Editor/Undo": _with_undo,
    "Editor/Redo": _with_redo,
    "Editor/Load…": _check_editor_load,
    "Editor/Save…": _check_editor_save,
}
# Whole families, found by where they live: each opens what it names.
PREFIXES = ("File/Open sample/", "File/Open recent/", "Network/Example: ")


def _check_opens_named_file(ctx: Context, label: str, item) -> None:
    if label.startswith("Network/Example: "):
        _check_preset(ctx, label, item)
        return
    click(item)
    ctx.settle()
    prefix = next(p for p in PREFIXES if label.startswith(p))
    name = label[len(prefix) :]  # a recent file's path has slashes of its own
    if prefix == "File/Open sample/":
        assert ctx.window.loaded.path == SAMPLES[name]
    else:
        assert str(ctx.window.loaded.path) == name


# Windows with a walk of their own (test_every_surface), with their effects checked there.
WALKED_ELSEWHERE = {"TrainWindow"}


def _new_windows(ctx: Context) -> list[QWidget]:
    return [
        w
        for w in QApplication.topLevelWidgets()
        if w is not ctx.window and w.isVisible() and w.isWindow() and not isinstance(w, QMenu)
    ]


def _walk_window(ctx: Context, window: QWidget) -> None:
    """Click every button of a window an action opened (unanswered dialogs cancelled)."""
    for _label, item in discover_widget(window, window.windowTitle()):
        if window.isVisible() and item.isEnabled():
            with ctx.dialogs.cancelling():
                click(item)
            ctx.settle()
            assert ctx.window.isVisible()


def _check_generic(ctx: Context, item) -> None:
    """An action nobody has described yet: it runs, nothing escapes, the window lives; a
    window it opens has each of its buttons clicked the same way, then is closed."""
    if not item.isEnabled():
        return  # a person cannot click it either
    click(item)
    ctx.settle()
    assert ctx.window.isVisible()
    for widget in _new_windows(ctx):
        if type(widget).__name__ not in WALKED_ELSEWHERE:
            _walk_window(ctx, widget)
    for widget in _new_windows(ctx):
        widget.close()


# -- the tests --------------------------------------------------------------------------------
def test_every_action_does_what_it_says(context):
    found = discover(context.window)
    labels = [label for label, _ in found]
    assert len(found) > 40, labels
    failures: list[str] = []
    last = [(label, item) for label, item in found if label == "File/Quit"]
    with caught_exceptions() as escaped:
        for label, item in [p for p in found if p[0] != "File/Quit"] + last:
            try:
                if label in EXPECTED:
                    EXPECTED[label](context, item)
                elif label.startswith(PREFIXES):
                    _check_opens_named_file(context, label, item)
                else:
                    _check_generic(context, item)
                if context.window.isVisible():
                    context.settle()
            except Exception as exc:  # one broken action must not hide the others
                failures.append(f"{label}: {type(exc).__name__}: {exc}")
            if escaped:
                failures.append(f"{label}: exception escaped: {escaped[:]}")
                escaped.clear()
            context.checked.append(label)
    assert context.dialogs.pending() == {}, "answers left unused: a dialog never opened"
    assert failures == [], "\n".join(failures)


def test_the_table_of_effects_names_only_actions_that_exist(context):
    # A renamed or removed action must not leave its check silently unused.
    labels = {label for label, _ in discover(context.window)}
    assert set(EXPECTED) - labels == set()
    assert any(label.startswith("File/Open sample/") for label in labels)
    examples = {label for label in labels if label.startswith("Network/Example: ")}
    assert {f"Network/Example: {name}" for name, _ in list_presets()} == examples


def test_a_new_action_is_found_and_triggered(context):
    called = []
    action = context.window.menuBar().actions()[0].menu().addAction("Brand new thing")
    action.triggered.connect(lambda checked=False: called.append(checked))
    found = dict(discover(context.window))
    assert found["File/Brand new thing"] is action
    with caught_exceptions() as escaped:
        _check_generic(context, action)
    assert called == [False] and escaped == []


def test_an_escaping_exception_is_caught(context):
    action = context.window.menuBar().actions()[0].menu().addAction("Broken thing")
    action.triggered.connect(lambda checked=False: 1 / 0)
    with caught_exceptions() as escaped:
        action.trigger()
    assert escaped == ["ZeroDivisionError: division by zero"]
