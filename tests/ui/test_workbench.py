"""The workbench owns the state and routes every edit to the single active engine.

Edits are made the way a person makes them (the editor's spin box, the controls' combo box);
the still engine's compute worker is watched through its ``submit``.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.kernels import preset
from core.sources import SyntheticSource
from ui.app import wait_until_idle

WAIT_MS = 10_000


@pytest.fixture
def submissions(window, monkeypatch):
    """The requests the still-image compute worker receives from now on."""
    sent = []
    submit = window.worker.submit

    def spy(payload):
        sent.append(payload)
        return submit(payload)

    monkeypatch.setattr(window.worker, "submit", spy)
    return sent


def _frames(window):
    got = []
    window.live.frame_shown.connect(got.append)
    return got


def test_without_live_an_edit_recomputes_the_still_image(qtbot, window, submissions):
    window.editor.bias_spin.setValue(0.25)
    assert len(submissions) == 1
    assert submissions[0].kernel.bias == 0.25
    assert wait_until_idle(window, WAIT_MS)
    assert window.processed.result.kernel.bias == 0.25
    assert window.workbench.processed is window.processed  # the window only reads the state


def test_while_streaming_edits_go_to_the_live_engine_only(qtbot, window, submissions):
    frames = _frames(window)
    assert window.live.start(SyntheticSource((64, 48)))
    qtbot.waitUntil(lambda: len(frames) >= 2, timeout=WAIT_MS)
    window.editor.set_kernel(preset("sobel-x"))
    window.controls.activation.setCurrentIndex(window.controls.activation.findData("abs"))
    assert submissions == []  # nothing computed twice: the still engine stays idle
    count = len(frames)
    qtbot.waitUntil(
        lambda: (
            len(frames) > count + 1
            and frames[-1].params.settings.activation == "abs"
            and np.array_equal(frames[-1].params.kernel.weights, preset("sobel-x").weights)
        ),
        timeout=WAIT_MS,
    )
    # Every frame shown is the workbench's input and result: views read one state.
    assert window.workbench.loaded.image is frames[-1].working
    assert window.workbench.processed is frames[-1].processed
    window.live.stop()


def test_while_frozen_an_edit_recomputes_the_frozen_frame_and_reaches_live(
    qtbot, window, submissions
):
    frames = _frames(window)
    assert window.live.start(SyntheticSource((64, 48)))
    qtbot.waitUntil(lambda: len(frames) >= 2, timeout=WAIT_MS)
    window.live.set_frozen(True)
    frozen = window.workbench.loaded
    window.editor.bias_spin.setValue(0.5)
    assert len(submissions) == 1
    assert submissions[0].image is frozen.for_mode(window.controls.settings().color)
    qtbot.waitUntil(lambda: window.processed.result.kernel.bias == 0.5, timeout=WAIT_MS)
    assert window.workbench.loaded is frozen  # still the frozen frame
    count = len(frames)
    window.live.set_frozen(False)  # the next frames carry the edit too
    qtbot.waitUntil(lambda: len(frames) > count, timeout=WAIT_MS)
    assert frames[-1].params.kernel.bias == 0.5
    window.live.stop()


def test_opening_an_image_stops_live_and_computes_it(qtbot, window, submissions, tmp_path):
    import cv2

    path = tmp_path / "still.png"
    cv2.imwrite(str(path), np.full((30, 40, 3), 128, np.uint8))
    assert window.live.start(SyntheticSource((64, 48)))
    window.open_path(path)
    qtbot.waitUntil(lambda: not window.live.is_running(), timeout=WAIT_MS)
    assert wait_until_idle(window, WAIT_MS)
    assert window.loaded.path == path
    assert window.processed.result.image.shape == (30, 40)
    assert len(submissions) >= 1
