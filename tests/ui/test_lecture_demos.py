"""The lecture's demos are a click away from start-up, on the picture they are about."""

from __future__ import annotations

import shutil

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication

from core.network.presets import FIELD_EXAMPLE, KERAS_EXAMPLE
from resources import DIGIT_SAMPLE, SAMPLES
from ui.app import wait_until_idle


def _trigger(window, text: str) -> None:
    matches = [a for a in window.findChildren(QAction) if a.text().replace("&", "") == text]
    assert len(matches) == 1, text
    matches[0].trigger()
    for _ in range(3):  # the digit loads, then the network runs on it
        QApplication.processEvents()
        assert wait_until_idle(window, 10_000)


def test_the_keras_demo_from_start_up_runs_on_the_digit(make_window):
    window = make_window()  # start-up: the default sample, boxes and lines
    assert window.loaded.path != SAMPLES[DIGIT_SAMPLE]
    _trigger(window, f"Example: {KERAS_EXAMPLE}")
    assert window.loaded.path == SAMPLES[DIGIT_SAMPLE]
    shapes = [o.map.shape for o in window.workbench.network.result.outputs]
    assert shapes == [(26, 26, 32), (26, 26, 32), (13, 13, 32)]


def test_a_persons_own_image_is_never_replaced_by_a_demo(make_window, tmp_path):
    own = tmp_path / "mine.png"
    shutil.copy(SAMPLES["Street scene"], own)
    window = make_window(own)
    _trigger(window, f"Example: {KERAS_EXAMPLE}")
    assert window.loaded.path == own
    assert window.workbench.network.result.outputs[0].map.shape[:2] == (478, 638)


def test_other_demos_keep_the_sample_on_screen(make_window):
    window = make_window()
    _trigger(window, f"Example: {FIELD_EXAMPLE}")
    assert window.loaded.path == SAMPLES["Boxes and lines"]


def test_a_failed_network_save_names_the_file_once_and_the_reason(
    make_window, tmp_path, monkeypatch
):
    import errno
    import os

    from PySide6.QtWidgets import QFileDialog

    window = make_window()
    _trigger(window, f"Example: {FIELD_EXAMPLE}")
    folder = tmp_path / "nets"
    folder.mkdir()
    target = folder / "net.json"

    def disk_full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    _trigger(window, "Save network...")
    text = window.banner.text()
    assert text.count("net.json") == 1 and str(folder) not in text
    assert "disk full" in text
    assert list(folder.iterdir()) == []  # no file, no staging file
