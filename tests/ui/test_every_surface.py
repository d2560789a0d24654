"""Every button and action of the newer surfaces, found by walking their widgets.

``test_every_action`` walks the main window's menus, toolbars, pane menus and kernel editor.
This walks what it does not reach: the docks (the Network dock's layer stack buttons and their
menus, its map view's buttons), the Train window the Network menu opens (both tabs) and the
Import model dialog. Every ``QAbstractButton`` with text under each surface is found (a
button with a menu is replaced by its menu's actions, recursively; a tool button showing an
action by that action) and clicked the way Qt does, with dialogs answered; no exception may
escape and the window must stay alive. The important ones must have their effect
(``_dock_expected``, ``TRAIN_EXPECTED``); a button added tomorrow gets the generic check (a
dialog it opens is cancelled).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QWidget

from core.network import ConvLayer, load_network, save_network
from core.network.presets import FIELD_EXAMPLE, KERAS_EXAMPLE, build_preset
from core.nn.data import Dataset, load_bundled
from tests.ui import test_every_action
from tests.ui.test_every_action import (
    WAIT_MS,
    Context,
    _check_generic,
    caught_exceptions,
    click,
    discover,
    discover_widget,
)

# The interactive window with its dialogs answered: the same fixtures as the main walk.
context = test_every_action.context
dialogs = test_every_action.dialogs

MODEL = Path(__file__).parents[1] / "core" / "models" / "fixtures"
TRAIN_MENU = "Network/Train a digit classifier..."
IMPORT_MENU = "File/Import model..."
Item = object


def _close_other_windows(ctx: Context, keep: tuple[QWidget, ...] = ()) -> None:
    for widget in QApplication.topLevelWidgets():
        if widget is not ctx.window and widget not in keep and widget.isVisible():
            widget.close()


def walk(
    ctx: Context,
    found: list[tuple[str, Item]],
    expected: dict[str, Callable[[Context, Item], None]],
    alive: Callable[[], bool],
    keep: tuple[QWidget, ...] = (),
) -> list[str]:
    """Click each found item (its check from ``expected``, else the generic one)."""
    failures: list[str] = []
    with caught_exceptions() as escaped:
        for label, item in found:
            try:
                if label in expected:
                    expected[label](ctx, item)
                elif item.isEnabled():
                    with ctx.dialogs.cancelling():  # a dialog nobody described: cancelled
                        click(item)
                    ctx.settle()
                    _close_other_windows(ctx, keep)
                assert ctx.window.isVisible() and alive(), "the window is gone"
                ctx.settle()
            except Exception as exc:  # one broken button must not hide the others
                failures.append(f"{label}: {type(exc).__name__}: {exc}")
            if escaped:
                failures.append(f"{label}: exception escaped: {escaped[:]}")
                escaped.clear()
            ctx.checked.append(label)
    return failures


# -- the Network dock ---------------------------------------------------------------------------
def _stack(ctx: Context):
    return ctx.window.network_dock.stack


def _names(network) -> list[str]:
    return [layer.name for layer in network.layers]


def _start_from(ctx: Context, name: str = KERAS_EXAMPLE, select: int | None = 0) -> None:
    ctx.window.network.show_preset(name)
    ctx.settle()
    if select is not None:
        _stack(ctx).select(select)


def _check_remove_undo_redo(ctx: Context, item) -> None:
    """Remove removes the selected layer, Undo brings it back, Redo removes it again."""
    stack = _stack(ctx)
    _start_from(ctx, select=1)
    before = _names(stack.network())
    click(item)
    ctx.settle()
    assert _names(stack.network()) == before[:1] + before[2:]
    assert ctx.window.workbench.network.result.network is stack.network()  # it was rerun
    undo, redo = stack.undo_action, stack.redo_action
    click(undo)
    ctx.settle()
    assert _names(stack.network()) == before
    click(redo)
    ctx.settle()
    assert _names(stack.network()) == before[:1] + before[2:]
    click(undo)
    ctx.settle()


def _check_undo(ctx: Context, item) -> None:
    stack = _stack(ctx)
    _start_from(ctx, FIELD_EXAMPLE, select=None)
    field = _names(stack.network())
    _start_from(ctx, KERAS_EXAMPLE, select=None)
    click(item)
    assert _names(stack.network()) == field


def _check_redo(ctx: Context, item) -> None:
    stack = _stack(ctx)
    _start_from(ctx, FIELD_EXAMPLE, select=None)
    _start_from(ctx, KERAS_EXAMPLE, select=None)
    keras = _names(stack.network())
    click(stack.undo_action)
    click(item)
    assert _names(stack.network()) == keras


def _check_move(delta: int) -> Callable[[Context, Item], None]:
    def check(ctx: Context, item) -> None:
        stack = _stack(ctx)
        _start_from(ctx, select=None)
        before = _names(stack.network())
        # ReLU then pool (or pool then ReLU) can swap without breaking the network.
        index = before.index(next(n for n in before if "relu" in n.lower()))
        stack.select(index)
        click(item)
        ctx.settle()
        after = _names(stack.network())
        moved = list(before)
        moved[index], moved[index + delta] = moved[index + delta], moved[index]
        assert after == moved, (before, after, stack.status.text())

    return check


def _check_dock_save(ctx: Context, item) -> None:
    stack = _stack(ctx)
    _start_from(ctx)
    path = ctx.tmp / "dock-saved"
    ctx.dialogs.answer("save", (str(path), ""))
    click(item)
    saved = load_network(path.with_suffix(".json"))
    assert _names(saved) == _names(stack.network())
    np.testing.assert_array_equal(saved.layers[0].weights, stack.network().layers[0].weights)
    before = sorted(ctx.tmp.iterdir())
    ctx.dialogs.answer("save", ("", ""))  # cancelled: nothing written
    click(item)
    assert sorted(ctx.tmp.iterdir()) == before


def _check_dock_open(ctx: Context, item) -> None:
    stack = _stack(ctx)
    _start_from(ctx, KERAS_EXAMPLE, select=None)
    before = stack.network()
    ctx.dialogs.answer("open", ("", ""))
    click(item)
    assert stack.network() is before
    path = ctx.tmp / "dock-open.json"
    save_network(build_preset(FIELD_EXAMPLE), path)
    ctx.dialogs.answer("open", (str(path), ""))
    click(item)
    ctx.settle()
    assert _names(stack.network()) == _names(build_preset(FIELD_EXAMPLE))
    assert ctx.window.workbench.network.result.network is stack.network()


def _check_add(ctx: Context, item) -> None:
    stack = _stack(ctx)
    _start_from(ctx, select=0)
    before = len(stack.network())
    click(item)
    ctx.settle()
    assert len(stack.network()) == before + 1, stack.status.text()
    assert ctx.window.workbench.network.result.network is stack.network()


def _check_start_from(ctx: Context, item) -> None:
    _start_from(ctx, select=None)
    click(item)
    ctx.settle()
    name = item.text()
    assert _names(_stack(ctx).network()) == _names(build_preset(name))


def _check_rerandomize(ctx: Context, item) -> None:
    stack = _stack(ctx)
    _start_from(ctx, select=0)
    before = stack.network().layers[0].weights.copy()
    click(item)
    ctx.settle()
    after = stack.network().layers[0].weights
    assert after.shape == before.shape and not np.array_equal(after, before)


def _dock_expected(found: list[tuple[str, Item]]) -> dict[str, Callable[[Context, Item], None]]:
    expected: dict[str, Callable[[Context, Item], None]] = {
        "Network dock/Remove": _check_remove_undo_redo,
        "Network dock/Undo": _check_undo,
        "Network dock/Redo": _check_redo,
        "Network dock/Up": _check_move(-1),
        "Network dock/Down": _check_move(1),
        "Network dock/Save…": _check_dock_save,
        "Network dock/Open…": _check_dock_open,
        "Network dock/Re-randomise (He)": _check_rerandomize,
    }
    for label, _ in found:  # whole families, found by where they live
        if label.startswith("Network dock/Add/"):
            expected[label] = _check_add
        elif label.startswith("Network dock/Start from/"):
            expected[label] = _check_start_from
    return expected


def _dock_surfaces(window) -> list[tuple[str, QWidget]]:
    """Every dock of the window, the Network dock by its short name."""
    return [
        ("Network dock" if frame.widget() is window.network_dock else frame.windowTitle(), frame)
        for frame in window.findChildren(QDockWidget)
    ]


def test_every_dock_button_does_what_it_says(context):
    found = [
        pair
        for prefix, frame in _dock_surfaces(context.window)
        for pair in discover_widget(frame, prefix)
    ]
    labels = [label for label, _ in found]
    expected = _dock_expected(found)
    assert set(expected) <= set(labels), set(expected) - set(labels)
    assert "Network dock/Fit" in labels
    assert sum(label.startswith("Network dock/Add/") for label in labels) >= 4, labels
    assert sum(label.startswith("Network dock/Start from/") for label in labels) >= 2, labels
    failures = walk(context, found, expected, alive=lambda: True)
    assert context.dialogs.pending() == {}, "answers left unused: a dialog never opened"
    assert failures == [], "\n".join(failures)


# -- the Train window ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny() -> tuple[Dataset, Dataset]:
    train, test = load_bundled()
    return (
        Dataset(train.images[:300], train.labels[:300], "tiny train"),
        Dataset(test.images[:100], test.labels[:100], "tiny test"),
    )


@pytest.fixture
def tiny_training(monkeypatch, tiny) -> None:
    """The Train window the menu opens trains on a few hundred digits (an epoch in ~0.1 s)."""
    import ui.training
    from ui.training import TrainWindow

    class TinyTrainWindow(TrainWindow):
        def __init__(self, parent=None, network_provider=None, data_loader=None) -> None:
            super().__init__(parent, network_provider, lambda spec, should_stop: tiny)

    monkeypatch.setattr(ui.training, "TrainWindow", TinyTrainWindow)


def _train_window(ctx: Context):
    return ctx.window.network.train_window


def _check_start(ctx: Context, item) -> None:
    view = _train_window(ctx).train_view
    view.controls.epochs.setValue(1)
    click(item)
    ctx.qtbot.waitUntil(lambda: view.last_outcome is not None, timeout=WAIT_MS)
    assert view.last_outcome.kind == "finished", view.last_outcome.message
    assert len(view.history.examples) > 0 and np.isfinite(view.history.loss).all()


def _check_use_filters(ctx: Context, item) -> None:
    from ui.training.train_view import feature_layers

    view = _train_window(ctx).train_view
    click(item)
    ctx.settle()
    sent = feature_layers(view.network)
    dock = ctx.window.network_dock.network()
    assert _names(dock) == _names(sent)
    conv = next(layer for layer in dock.layers if isinstance(layer, ConvLayer))
    np.testing.assert_array_equal(conv.weights, sent.layers[0].weights)
    assert not ctx.window.network_frame.isHidden()


def _check_save_model(ctx: Context, item) -> None:
    view = _train_window(ctx).train_view
    ctx.dialogs.answer("save", (str(ctx.tmp / "model"), ""))
    click(item)
    saved = load_network(ctx.tmp / "model.json")
    assert _names(saved) == _names(view.network)
    ctx.dialogs.answer("save", ("", ""))
    click(item)


def _check_load_model(ctx: Context, item) -> None:
    view = _train_window(ctx).train_view
    bad = ctx.tmp / "not-a-model.json"
    bad.write_text("{", encoding="utf-8")
    before = view.network
    ctx.dialogs.answer("open", (str(bad), ""))
    click(item)
    assert view.network is before and "cannot be used" in view.controls.message.text()
    path = ctx.tmp / "to-load.json"
    save_network(before, path)
    ctx.dialogs.answer("open", (str(path), ""))
    click(item)
    assert view.network is not before and _names(view.network) == _names(before)


def _check_curves(suffix: str) -> Callable[[Context, Item], None]:
    def check(ctx: Context, item) -> None:
        path = ctx.tmp / f"curves-{len(ctx.checked)}"
        ctx.dialogs.answer("save", (str(path), ""))
        click(item)
        written = path.with_suffix(suffix)
        if suffix == ".csv":
            rows = written.read_text(encoding="utf-8").splitlines()
            assert len(rows) > 2, rows  # a header and the points of the run
        else:
            image = cv2.imread(str(written))
            assert image is not None and image.shape[0] > 50

    return check


def _check_open_digit(ctx: Context, item) -> None:
    why = _train_window(ctx).why_view
    digit = np.zeros((28, 28), np.uint8)
    digit[5:23, 12:16] = 255  # a "1"
    path = ctx.tmp / "one.png"
    cv2.imwrite(str(path), digit)
    ctx.dialogs.answer("open", (str(path), ""))
    click(item)
    ctx.settle()
    assert "one.png" in why.source_label.text()


TRAIN_EXPECTED: dict[str, Callable[[Context, Item], None]] = {
    "Train/Start": _check_start,
    "Train/Use these filters": _check_use_filters,
    "Train/Save model…": _check_save_model,
    "Train/Load model…": _check_load_model,
    "Train/Curves as CSV…": _check_curves(".csv"),
    "Train/Curves as PNG…": _check_curves(".png"),
    "Train/Open image…": _check_open_digit,
}


def test_every_train_window_button_does_what_it_says(context, tiny_training):
    menu = dict(discover(context.window))
    click(menu[TRAIN_MENU])
    train = _train_window(context)
    assert train is not None and train.isVisible()
    found = discover_widget(train, "Train")
    labels = [label for label, _ in found]
    assert set(TRAIN_EXPECTED) <= set(labels), set(TRAIN_EXPECTED) - set(labels)
    for expected in ("Pause", "Stop", "New weights", "Clear", "Undo stroke", "Test example"):
        assert f"Train/{expected}" in labels, labels
    # Start first, its results next: New weights and Load model start a new curve.
    first = ["Train/Start", "Train/Curves as CSV…", "Train/Curves as PNG…"]
    found.sort(key=lambda pair: first.index(pair[0]) if pair[0] in first else len(first))
    failures = walk(context, found, TRAIN_EXPECTED, alive=train.isVisible, keep=(train,))
    # Pause and Stop are enabled only while a run goes: click them during a long one.
    view = train.train_view
    view.controls.epochs.setValue(view.controls.epochs.maximum())
    previous = view.last_outcome
    with caught_exceptions() as escaped:
        view.controls.start_button.click()
        assert view.controls.pause_button.isEnabled() and view.worker.is_running()
        view.controls.pause_button.click()
        assert view.worker.paused
        view.controls.stop_button.click()
        context.qtbot.waitUntil(lambda: view.last_outcome is not previous, timeout=WAIT_MS)
        assert view.last_outcome.kind == "stopped", view.last_outcome.message
        context.qtbot.waitUntil(lambda: not view.worker.is_running(), timeout=WAIT_MS)
        context.settle()
    assert escaped == [] and train.isVisible()
    assert context.dialogs.pending() == {}, "answers left unused: a dialog never opened"
    assert failures == [], "\n".join(failures)


# -- the Import model dialog --------------------------------------------------------------------
@pytest.fixture
def import_clicks(monkeypatch, context) -> Iterator[list[tuple[int, Callable]]]:
    """``ImportModelDialog.exec`` shows the dialog, waits for its pictures and clicks its
    button number ``index`` of the queued ``(index, before)`` (``before(dialog, button)`` runs
    first); a button that leaves the dialog open is followed by the person cancelling."""
    from ui.model_import import ImportModelDialog

    queue: list[tuple[int, Callable]] = []

    def exec_(dialog):
        dialog.show()
        context.qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=WAIT_MS)
        index, before = queue.pop(0)
        button = discover_widget(dialog, "Import")[index][1]
        before(dialog, button)
        if button.isEnabled():
            click(button)
        if dialog.isVisible():  # a button that does not close it: the person cancels
            dialog.reject()
        return dialog.result()

    monkeypatch.setattr(ImportModelDialog, "exec", exec_)
    yield queue


def test_every_import_model_button_does_what_it_says(context, import_clicks):
    """Each button of the dialog, found in it, clicked in a dialog of its own."""
    model = MODEL / "model.onnx"
    item = dict(discover(context.window))[IMPORT_MENU]
    dock, workbench = context.window.network_dock, context.window.workbench
    count: list[int] = []
    import_clicks.append((0, lambda d, _b: count.append(len(discover_widget(d, "Import")))))
    context.dialogs.answer("open", (str(model), ""))
    before = dock.network()
    with caught_exceptions() as escaped:
        click(item)  # the first button (whatever it is) of a first dialog
        context.settle()
        clicked: dict[str, object] = {}
        roles: list[str] = []
        for index in range(count[0]):
            before = dock.network()

            def remember(dialog, button):
                role = {dialog.layer_button: "layer", dialog.chain_button: "chain"}
                clicked.update(role=role.get(button, "other"), button=button.text())
                clicked.update(layer=dialog.selected_layer(), chain=dialog.chain())
                clicked.update(cancel=button is dialog.cancel_button)

            import_clicks.append((index, remember))
            context.dialogs.answer("open", (str(model), ""))
            click(item)
            context.settle()
            after = dock.network()
            label = clicked["button"]
            roles.append(clicked["role"])
            assert context.window.isVisible() and escaped == [], (label, escaped)
            if clicked["role"] == "layer":  # "Import this layer": that conv layer, run
                assert len(after.layers) == 1, label
                np.testing.assert_array_equal(after.layers[0].weights, clicked["layer"].weights)
                assert workbench.network.result.network is after
            elif clicked["role"] == "chain":  # the chain: every layer of it
                assert _names(after) == _names(clicked["chain"]), label
                assert workbench.network.result.network is after
            elif clicked["cancel"]:
                assert after is before, label
        assert {"layer", "chain"} <= set(roles), roles
    assert import_clicks == [] and context.dialogs.pending() == {}


def test_a_new_dock_button_is_found_and_clicked(context):
    from PySide6.QtWidgets import QPushButton

    called = []
    button = QPushButton("Brand new thing", context.window.network_dock.view)
    button.clicked.connect(lambda checked=False: called.append(checked))
    found = dict(
        pair
        for prefix, frame in _dock_surfaces(context.window)
        for pair in discover_widget(frame, prefix)
    )
    assert found["Network dock/Brand new thing"] is button
    with caught_exceptions() as escaped:
        _check_generic(context, button)
    assert called == [False] and escaped == []


def test_a_window_a_new_action_opens_has_its_buttons_clicked(context):
    from PySide6.QtWidgets import QFileDialog, QPushButton, QVBoxLayout

    clicked, asked = [], []
    opened: list[QWidget] = []

    def open_window(checked=False) -> None:
        window = QWidget(context.window, Qt.WindowType.Window)
        window.setWindowTitle("Brand new window")
        save = QPushButton("Save it…", window)
        save.clicked.connect(
            lambda checked=False: asked.append(QFileDialog.getSaveFileName(window, "Save it"))
        )
        other = QPushButton("Do it", window)
        other.clicked.connect(lambda checked=False: clicked.append(checked))
        QVBoxLayout(window).addWidget(save)
        window.layout().addWidget(other)
        window.show()
        opened.append(window)

    action = context.window.menuBar().actions()[0].menu().addAction("Brand new window")
    action.triggered.connect(open_window)
    found = dict(discover(context.window))
    with caught_exceptions() as escaped:
        _check_generic(context, found["File/Brand new window"])
    assert escaped == [] and clicked == [False]
    assert asked == [("", "")]  # the person cancelled the dialog nobody described
    assert not opened[0].isVisible()  # and the window was closed
