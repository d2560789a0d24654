"""Defects a user trial found (issue 8, and issue 12's vanishing banners) that the walk over
every action (test_every_action.py) does not reach: the command line, drops, hover, window
sizing, the status line and the banner's life cycle."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QScrollArea

import main
from core.kernels import preset
from core.sources import SyntheticSource
from resources import DEFAULT_SAMPLE, SAMPLES
from ui.app import wait_until_idle

WAIT_MS = 10_000
HUGE = {"weights": [[1e308, 1e308, 0], [0, 0, 0], [0, 0, 0]]}


def settle(window) -> None:
    QApplication.processEvents()
    assert wait_until_idle(window, WAIT_MS)
    QApplication.processEvents()


def wait_frames(qtbot, window, n: int = 3) -> None:
    for _ in range(n):
        with qtbot.waitSignal(window.live.frame_shown, timeout=WAIT_MS):
            pass


# -- 1. a kernel that cannot be used never takes the process down ----------------------------
def test_apply_with_an_overflowing_kernel_exits_2_with_one_line(capsys, tmp_path):
    kernel = tmp_path / "huge.json"
    kernel.write_text(json.dumps(HUGE))
    code = main.main(
        ["apply", str(SAMPLES[DEFAULT_SAMPLE]), "--kernel", str(kernel), "--out", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "too large" in err and "huge.json" in err
    assert "Warning" not in err and not list(tmp_path.glob("*.png"))


def test_the_window_with_an_overflowing_kernel_exits_2_with_one_line(capsys, tmp_path):
    kernel = tmp_path / "huge.json"
    kernel.write_text(json.dumps(HUGE))
    code = main.main(["--kernel", str(kernel), "--screenshot", str(tmp_path / "shot.png")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "too large" in err
    assert not (tmp_path / "shot.png").exists()


# -- 4. banners: closable by hand, cleared by success at the same thing ------------------------
def test_the_banner_can_be_dismissed_by_hand(window):
    window.show_error("Something went wrong.", topic="save")
    assert not window.banner.isHidden()
    window.banner.dismiss_button.click()
    assert window.banner.isHidden()


def test_an_unexpected_error_goes_with_the_next_successful_save(window, tmp_path):
    window.show_error("Unexpected error: AttributeError: boom", topic="unexpected")
    window.request_update()
    settle(window)  # a recompute is not the person acting: it stays
    assert not window.banner.isHidden()
    assert window.save_pane_raw(window.conv_pane, tmp_path / "ok.npy")
    assert window.banner.isHidden()


def test_a_save_failure_outlives_recomputes_but_not_a_good_save(window, tmp_path):
    assert not window.save_pane_raw(window.conv_pane, tmp_path / "missing" / "x.npy")
    assert "Nothing was saved" in window.banner.text()
    window.editor.set_kernel(preset("sobel-x"))
    settle(window)
    assert not window.banner.isHidden()
    assert window.save_pane_png(window.pooled_pane, tmp_path / "y.png")
    assert window.banner.isHidden()


def test_no_camera_note_goes_when_live_mode_starts(qtbot, window):
    window.show_error("No camera found. Try a video file.", level="note", topic="live")
    assert window.live.start(SyntheticSource((80, 60)))
    wait_frames(qtbot, window, 2)
    assert window.banner.isHidden()
    window.live.stop()


def test_a_failed_snapshot_message_stays_while_live_frames_arrive(qtbot, window, tmp_path):
    # Issue 12, item 2: show_processed hid every banner on each new frame (~0.15 s).
    assert window.live.start(SyntheticSource((80, 60)))
    wait_frames(qtbot, window, 2)
    with qtbot.waitSignal(window.saving.snapshot_saved, timeout=10_000) as saved:
        assert window.live.snapshot(tmp_path / "missing")  # written (and failing) on a thread
    assert saved.args == [[]]
    message = window.banner.text()
    assert "Nothing was saved" in message
    wait_frames(qtbot, window, 6)
    assert not window.banner.isHidden() and window.banner.text() == message
    with qtbot.waitSignal(window.saving.snapshot_saved, timeout=10_000) as saved:
        assert window.live.snapshot(tmp_path)
    assert saved.args[0] and window.banner.isHidden()
    window.live.stop()


# -- 5. live mode shows the input on one scale ------------------------------------------------
def test_live_input_histogram_reads_in_the_units_of_its_stats(qtbot, window):
    assert window.live.start(SyntheticSource((80, 60)))
    qtbot.waitUntil(lambda: window.input_pane.stats.text.startswith("min "), timeout=WAIT_MS)
    wait_frames(qtbot, window, 8)
    histogram = window.input_pane.histogram
    assert histogram.getLevels() == pytest.approx((0.0, 1.0))
    x, _ = histogram.plot.getData()
    assert x.min() >= 0.0 and x.max() <= 1.0
    window.live_toolbar.freeze_action.trigger()  # frozen: the histogram comes from the image
    window.input_pane.catch_up()
    x, _ = histogram.plot.getData()
    assert x.max() <= 1.0 and histogram.getLevels() == pytest.approx((0.0, 1.0))
    window.live.stop()


# -- 6. smaller items -----------------------------------------------------------------------
def drop(window, *paths) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPointF(200, 200),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)


def test_a_dropped_video_plays_as_the_live_source(qtbot, window, tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 50.0, (64, 48))
    for i in range(10):
        writer.write(np.full((48, 64, 3), 20 * i, np.uint8))
    writer.release()
    drop(window, path)
    assert window.live.is_running() and window.live.choice.path == path
    wait_frames(qtbot, window, 2)
    assert window.live_toolbar.source_box.currentText() == "Video: clip.avi"
    window.live.stop()


def test_a_dropped_kernel_json_loads_into_the_editor(window, tmp_path):
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"weights": [[0, 1, 0], [1, -4, 1], [0, 1, 0]]}))
    image = window.loaded
    drop(window, path)
    settle(window)
    assert window.editor.kernel().name == "laplacian"
    assert window.loaded is image  # not tried as an image


def test_a_dropped_image_opens(window, tmp_path):
    path = tmp_path / "dropped.png"
    shutil.copy(SAMPLES["Street scene"], path)
    drop(window, path)
    settle(window)
    assert window.loaded.path == path


def test_paste_still_takes_a_plain_image_and_says_when_there_is_nothing(window):
    image = QImage(30, 20, QImage.Format.Format_RGB888)
    image.fill(Qt.GlobalColor.white)
    QGuiApplication.clipboard().setImage(image)
    window.paste_image()
    settle(window)
    assert window.loaded.name == "pasted image" and window.loaded.image.shape[:2] == (20, 30)
    QGuiApplication.clipboard().clear()
    window.paste_image()
    assert "no image or file" in window.banner.text()


def test_the_inspector_text_wraps_inside_its_dock(window):
    window.hover_at(60.5, 60.5, window.conv_pane)
    QApplication.processEvents()
    scroll = window.inspector.findChild(QScrollArea)
    assert scroll.horizontalScrollBar().maximum() == 0  # nothing runs past the dock's edge
    window.clear_hover()
    QApplication.processEvents()
    assert scroll.horizontalScrollBar().maximum() == 0


def test_a_modified_preset_says_so_and_describes_itself(window):
    editor = window.editor
    editor.set_kernel(preset("emboss"))
    assert "bottom-right" in editor.lesson_label.text()
    editor.rotate_button.click()  # 90 degrees counter-clockwise: it now rises to the top-right
    text = editor.lesson_label.text()
    assert text.startswith("Modified emboss") and "bottom-right" not in text
    assert "top-right" in text
    editor.rotate_button.click()
    assert "top-left" in editor.lesson_label.text()
    for _ in range(2):
        editor.rotate_button.click()
    assert editor.kernel().name == "emboss"  # back where it started: the preset's own lesson
    assert "bottom-right" in editor.lesson_label.text()


def test_hovering_the_pooled_pane_shows_the_pooling_window(window):
    window.controls.set_settings(window.controls.settings().__class__(pool_size=3))
    window.request_update()
    settle(window)
    result = window.processed.result
    ph, pw = result.pooled.shape

    def window_at(row, col):  # the 3x3 window, by explicit loops over the activated map
        return [
            [float(result.activated[row * 3 + i, col * 3 + j]) for j in range(3)] for i in range(3)
        ]

    def unique_max(values) -> bool:
        flat = [v for r in values for v in r]
        return max(flat) > 0.01 and flat.count(max(flat)) == 1  # a real edge, not noise

    row, col = next((r, c) for r in range(ph) for c in range(pw) if unique_max(window_at(r, c)))
    values = window_at(row, col)
    best = max((v, (i, j)) for i, r in enumerate(values) for j, v in enumerate(r))
    x, y = (col * 3 + 1.5), (row * 3 + 1.5)  # inside pooled pixel (row, col): no padding offset
    shown = window.hover_at(x, y, window.pooled_pane)
    assert shown["pooled"][0] == (row, col)
    text = window.inspector.text()
    assert text.startswith(f"Max pool pixel [{row}, {col}]")
    assert f"rows {row * 3}-{row * 3 + 2}, columns {col * 3}-{col * 3 + 2}" in text
    assert f"max = {best[0]:.4g}" in text
    assert f"at [{best[1][0]}, {best[1][1]}]" in text
    assert "Convolution pixel" not in text
    # Hovering the convolution pane still explains the convolution.
    window.hover_at(x, y, window.conv_pane)
    assert window.inspector.text().startswith("Convolution pixel")


def test_enlarging_the_window_refits_the_image_until_the_person_zooms(qtbot, window):
    window.resize(1000, 700)
    qtbot.waitUntil(lambda: _filled(window) > 0.9, timeout=WAIT_MS)
    window.resize(1800, 1050)
    qtbot.waitUntil(lambda: _filled(window) > 0.9, timeout=WAIT_MS)
    view = window.input_pane.view
    view.scaleBy((0.5, 0.5))
    view.sigRangeChangedManually.emit(view.state["mouseEnabled"])  # as a wheel or drag does
    window.resize(1200, 800)
    QApplication.processEvents()
    qtbot.wait(50)
    assert _filled(window) > 1.5, "the person's zoom was undone"
    window.fit_view()
    assert 0.9 < _filled(window) <= 1.0


def _filled(window) -> float:
    """How much of the input pane's view the image fills, along its tighter side (1 = fitted)."""
    (x0, x1), (y0, y1) = window.input_pane.view.viewRange()
    h, w = window.loaded.image.shape[:2]
    return max(h / (y1 - y0), w / (x1 - x0))


def test_the_window_has_a_minimum_size_that_keeps_every_pane_readable(window):
    window.resize(800, 500)
    QApplication.processEvents()
    assert window.width() >= 960 and window.height() >= 640
    for pane in window.panes:
        assert pane.height() >= 170 and pane.width() >= 220


def test_a_long_status_message_ends_before_the_live_figures(qtbot, window):
    window.resize(1150, 800)
    assert window.live.start(SyntheticSource((80, 60)))
    stats = window.live_toolbar.stats_label
    qtbot.waitUntil(lambda: stats.isVisible() and stats.text() != "", timeout=WAIT_MS)
    QApplication.processEvents()
    long = "Save the frame on screen: input, kernel and both outputs, " * 3
    window.statusBar().showMessage(long)  # as a hovered action's status tip arrives
    shown = window.statusBar().currentMessage()
    assert shown.endswith("\u2026") and len(shown) < len(long)
    width = window.statusBar().fontMetrics().horizontalAdvance(shown)
    assert width < stats.x()
    window.live.stop()


def test_the_pane_menu_holds_only_what_helps(window):
    for pane, saves in ((window.conv_pane, True), (window.input_pane, False)):
        visible = [
            a.text() for a in pane.view.menu.actions() if a.isVisible() and not a.isSeparator()
        ]
        expected = ["Fit image", "Save raw...", "Save as displayed..."] if saves else ["Fit image"]
        assert visible == expected
        assert pane.scene().contextMenu == []  # no pyqtgraph "Export..."


def test_saves_from_the_conv_pane_menu_write_the_convolution(window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    action = next(a for a in window.conv_pane.view.menu.actions() if a.text() == "Save raw...")
    monkeypatch.setattr(
        QFileDialog,
        "getSaveFileName",
        staticmethod(lambda *a, **k: (str(tmp_path / "c.npy"), "NumPy array (*.npy)")),
    )
    action.trigger()
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), window.processed.result.conv)
