"""The Network dock's room at the window's default size: a sensible share of the height, every
layer's row of the example networks without scrolling, a size the person dragged remembered."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication

from core.network.presets import FIELD_EXAMPLE, KERAS_EXAMPLE
from resources import RESOURCES
from ui.app import wait_until_idle

DIGIT = RESOURCES / "digit-7.png"


def _example(window, name: str) -> None:
    matches = [a for a in window.findChildren(QAction) if a.text() == f"Example: {name}"]
    assert len(matches) == 1
    matches[0].trigger()
    QApplication.processEvents()
    assert wait_until_idle(window, 10_000)
    QApplication.processEvents()


def _table_fits(window) -> None:
    table = window.network_dock.stack.table
    rows = window.network_dock.stack.model.rowCount()
    assert table.verticalScrollBar().maximum() == 0  # nothing to scroll to
    last = table.visualRect(table.model().index(rows - 1, 2))
    assert last.bottom() <= table.viewport().height()  # the last row is whole on screen
    # One line a row: the Kind text fits its column (nothing wraps or is elided).
    metrics = table.fontMetrics()
    for row in range(rows):
        text = table.model().index(row, 2).data()
        assert metrics.horizontalAdvance(text) < table.columnWidth(2), text


def test_the_dock_takes_a_share_of_the_window_and_the_table_shows_every_layer(make_window):
    window = make_window(DIGIT)
    assert (window.width(), window.height()) == (1600, 1000)
    _example(window, KERAS_EXAMPLE)
    frame = window.network_frame
    assert 0.35 * window.height() <= frame.height() <= 0.55 * window.height()
    assert window.input_pane.height() >= 150  # the panes above stay readable
    _table_fits(window)
    _example(window, FIELD_EXAMPLE)
    assert window.network_dock.stack.model.rowCount() == 6
    _table_fits(window)


def test_a_dragged_dock_size_is_remembered_for_the_next_session(make_window, tmp_path):
    settings = QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)
    window = make_window(DIGIT, settings)
    _example(window, KERAS_EXAMPLE)
    # As a drag of the separators does: the dock 330 px high, the layer stack 400 px wide.
    window.resizeDocks([window.network_frame], [330], Qt.Orientation.Vertical)
    splitter = window.network_dock.splitter
    splitter.setSizes([400, sum(splitter.sizes()) - 400])
    QApplication.processEvents()
    height = window.network_frame.height()
    assert abs(height - 330) <= 8
    window.save_settings()
    again = make_window(DIGIT, QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat))
    again.network_frame.hide()  # as after a session that closed the dock: sizes come from
    QApplication.processEvents()  # the remembered layout, not the restored window state
    _example(again, KERAS_EXAMPLE)
    assert abs(again.network_frame.height() - height) <= 8
    assert abs(again.network_dock.splitter.sizes()[0] - 400) <= 8


def test_a_junk_stored_layout_is_ignored(settings):
    from ui.settings_store import SETTINGS_KEYS, SettingsStore

    assert "network_layout" in SETTINGS_KEYS  # kept when unknown keys are dropped
    store = SettingsStore(settings)
    assert store.network_layout() is None
    store.remember_network_layout(420, 330)
    assert store.network_layout() == (420, 330)
    for junk in ("[1e9, 3]", "{}", "[420]", "not json", '["420", 330]', "[-5, 330]"):
        settings.setValue("network_layout", junk)
        assert store.network_layout() is None, junk
