"""The main window end to end: results, pane geometry, linking, hover, saving, settings, errors.

Every expected value is computed independently (scipy, explicit loops, hand-derived geometry),
never by the code under test. No sleeps: the tests wait for the window's own ``idle`` signal.
"""

from __future__ import annotations

import errno
import json
import os
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QRectF, QSettings, Qt
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import QApplication
from scipy.signal import correlate2d

from core.display import apply_colormap
from core.explain import explain_pixel
from core.kernels import DEFAULT_PRESET, Kernel, preset
from resources import SAMPLES
from ui.app import wait_until_idle
from ui.main_window import MainWindow

DIGIT = SAMPLES["Handwritten 7 (28x28)"]


# -- helpers ---------------------------------------------------------------------------------
def settle(window: MainWindow) -> None:
    """Wait until the newest request's result is shown."""
    assert wait_until_idle(window, 10_000), "timed out waiting for the window to be idle"


def sample_gray(path=SAMPLES["Boxes and lines"]) -> np.ndarray:
    """The sample as float64 gray in [0, 1], read without the app's loader."""
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.float64) / 255.0


def reference_conv(image: np.ndarray, weights: np.ndarray, pad: int) -> np.ndarray:
    """Cross-correlation of the zero-padded image: what a Conv2D layer computes."""
    padded = np.pad(image, pad) if pad else image
    return correlate2d(padded, weights, mode="valid")


def max_pool(x: np.ndarray, size: int) -> np.ndarray:
    h, w = x.shape[0] // size, x.shape[1] // size
    out = np.empty((h, w))
    for i in range(h):
        for j in range(w):
            out[i, j] = x[i * size : (i + 1) * size, j * size : (j + 1) * size].max()
    return out


def item_rect(pane) -> QRectF:
    """Where the pane's ImageItem is drawn, in the view's (input-pixel) coordinates."""
    image = pane.image
    return image.mapRectToParent(image.boundingRect())


def assert_rect(rect: QRectF, x: float, y: float, w: float, h: float) -> None:
    got = (rect.x(), rect.y(), rect.width(), rect.height())
    assert got == pytest.approx((x, y, w, h), abs=1e-9), got


def edit_cell(window: MainWindow, row: int, col: int, text: str) -> None:
    """Type ``text`` into a kernel cell, as the grid's item editor would commit it."""
    model = window.editor._view.model()
    assert model.setData(model.index(row, col), text, Qt.ItemDataRole.EditRole)


def ranges(window: MainWindow) -> list:
    return [np.array(p.view.viewRange()) for p in window.panes]


# -- building and computing -------------------------------------------------------------------
def test_window_builds_and_shows_the_default_sample(window):
    assert window.loaded is not None and window.loaded.name == "boxes-and-lines.png"
    assert window.input_pane.title.text == "Input 200x200"
    assert "3x3" in window.conv_pane.title.text and "200x200" in window.conv_pane.title.text
    assert window.pooled_pane.title.text.endswith("100x100")
    assert "pool 2x2" in window.pooled_pane.title.text
    assert window.processed.result.conv.shape == (200, 200)
    assert window.processed.result.pooled.shape == (100, 100)
    assert not window.banner.isVisible()
    assert window.windowTitle() == "ConvScope - boxes-and-lines.png"


def test_signed_output_is_drawn_with_symmetric_levels_centred_on_zero(window, qtbot):
    conv = window.processed.result.conv
    extreme = float(np.abs(conv).max())
    for levels in (window.conv_pane.image.getLevels(), window.conv_pane.levels()):
        assert np.allclose(levels, (-extreme, extreme), rtol=1e-5)
    # The histogram's level region catches up a moment later and agrees.
    qtbot.waitUntil(
        lambda: np.allclose(window.conv_pane.histogram.getLevels(), (-extreme, extreme), rtol=1e-5),
        timeout=2000,
    )


def test_editing_a_cell_recomputes_against_an_independent_reference(window):
    edit_cell(window, 1, 1, "2.5")
    settle(window)
    weights = np.array([[1, 1, 1], [0, 2.5, 0], [-1, -1, -1]], dtype=np.float64)
    assert np.array_equal(window.editor.kernel().weights, weights)
    expected = reference_conv(sample_gray(), weights, pad=1)
    conv = window.processed.result.conv
    np.testing.assert_allclose(conv, expected, atol=1e-5)
    # The pane shows exactly that map (200x200 needs no reduction), over the input pixels.
    np.testing.assert_allclose(window.conv_pane.image.image, expected, atol=1e-5)
    assert_rect(item_rect(window.conv_pane), 0, 0, 200, 200)
    pooled = max_pool(np.maximum(expected, 0), 2)
    np.testing.assert_allclose(window.pooled_pane.image.image, pooled, atol=1e-5)
    lo, hi = window.conv_pane.levels()
    assert lo <= expected.min() + 1e-6 and hi >= expected.max() - 1e-6


def test_padding_stride_and_pool_update_titles_shapes_and_placement(window):
    controls = window.controls
    controls.padding.setCurrentIndex(controls.padding.findData("valid"))
    settle(window)
    result = window.processed.result
    assert result.conv.shape == (198, 198) and result.pooled.shape == (99, 99)
    assert "valid" in window.conv_pane.title.text and "198x198" in window.conv_pane.title.text
    assert window.pooled_pane.title.text.endswith("99x99")
    # 'valid' 3x3: output (0, 0) is centred on input pixel (1, 1).
    assert_rect(item_rect(window.conv_pane), 1, 1, 198, 198)
    # A 2x2 max-pool of that sees a 4x4 input field; its pixel is 2 input pixels wide.
    assert_rect(item_rect(window.pooled_pane), 1, 1, 198, 198)

    controls.stride.setValue(2)
    settle(window)
    result = window.processed.result
    assert result.conv.shape == (99, 99) and result.pooled.shape == (49, 49)
    assert "stride 2" in window.conv_pane.title.text and "99x99" in window.conv_pane.title.text
    assert window.pooled_pane.title.text.endswith("49x49")
    np.testing.assert_allclose(
        result.conv,
        reference_conv(sample_gray(), preset(DEFAULT_PRESET).weights, 0)[::2, ::2],
        atol=1e-5,
    )
    # Each conv pixel covers 2 input pixels; output 0's 3x3 field is centred on 1.5.
    assert_rect(item_rect(window.conv_pane), 0.5, 0.5, 198, 198)
    # Pool 2 of stride 2: 4 input pixels a step, a 5x5 field starting at 0 -> centred on 2.5.
    assert_rect(item_rect(window.pooled_pane), 0.5, 0.5, 196, 196)

    controls.stride.setValue(1)
    controls.padding.setCurrentIndex(controls.padding.findData("same"))
    controls.pool_size.setValue(4)
    settle(window)
    assert window.processed.result.pooled.shape == (50, 50)
    assert "pool 4x4" in window.pooled_pane.title.text
    assert window.pooled_pane.title.text.endswith("50x50")
    assert_rect(item_rect(window.pooled_pane), 0, 0, 200, 200)

    controls.pool_mode.setCurrentIndex(controls.pool_mode.findData("none"))
    settle(window)
    result = window.processed.result
    assert result.pooled is None
    assert "no pooling" in window.pooled_pane.title.text
    assert window.pooled_pane.title.text.endswith("200x200")
    np.testing.assert_allclose(window.pooled_pane.image.image, np.maximum(result.conv, 0))
    assert_rect(item_rect(window.pooled_pane), 0, 0, 200, 200)


# -- linked views ---------------------------------------------------------------------------
def _spin(times: int = 5) -> None:
    for _ in range(times):
        QApplication.processEvents()


def _assert_follow(window: MainWindow) -> None:
    """Every pane shows the same input region (x may differ by the panes' width difference)."""
    master = np.array(window.input_pane.view.viewRange())
    width = master[0, 1] - master[0, 0]
    for pane in (window.conv_pane, window.pooled_pane):
        other = np.array(pane.view.viewRange())
        np.testing.assert_allclose(other[1], master[1], atol=1e-6)  # same rows shown
        np.testing.assert_allclose(other[0], master[0], atol=0.02 * width)


def test_zoom_and_pan_in_one_pane_moves_the_others_without_runaway(window):
    _spin()
    before = ranges(window)
    window.conv_pane.view.scaleBy((0.5, 0.5))
    _spin()
    after = ranges(window)
    for old, new in zip(before, after, strict=True):
        assert (new[1, 1] - new[1, 0]) == pytest.approx((old[1, 1] - old[1, 0]) / 2, rel=0.02)
    _assert_follow(window)

    window.pooled_pane.view.translateBy(x=20, y=10)
    _spin()
    moved = ranges(window)
    for old, new in zip(after, moved, strict=True):
        assert new[1] == pytest.approx(old[1] + 10, abs=1e-6)
    _assert_follow(window)

    for _ in range(4):
        window.input_pane.view.scaleBy((0.8, 0.8))
        window.conv_pane.view.scaleBy((1.1, 1.1))
    _spin()
    settled = ranges(window)
    _spin(10)  # no view keeps adjusting the others on its own (pyqtgraph#1348)
    for a, b in zip(settled, ranges(window), strict=True):
        np.testing.assert_array_equal(a, b)
    _assert_follow(window)

    window.fit_view()
    _spin()
    (x0, x1), (y0, y1) = window.input_pane.view.viewRange()
    assert x0 <= 0 and y0 <= 0 and x1 >= 200 and y1 >= 200


# -- latest request wins --------------------------------------------------------------------
def test_superseded_request_never_reaches_the_window(window, monkeypatch):
    gate, started = threading.Event(), threading.Event()
    computed: list[Kernel] = []
    compute = window.worker._compute

    def gated(request):
        computed.append(request.kernel)
        if len(computed) == 1:
            started.set()
            gate.wait(10)
        return compute(request)

    monkeypatch.setattr(window.worker, "_compute", gated)
    shown: list[Kernel] = []
    window.result_shown.connect(lambda processed: shown.append(processed.result.kernel))

    first = preset("vertical-lines")
    middle = preset("sobel-x")
    last = preset("outline")
    window.editor.set_kernel(first)
    assert started.wait(5), "the first job never started"
    window.editor.set_kernel(middle)  # waits behind the first...
    window.editor.set_kernel(last)  # ...and is replaced before it starts
    gate.set()
    settle(window)

    assert [k.name for k in computed] == ["vertical-lines", "outline"]
    assert [k.name for k in shown] == ["outline"]
    assert window.processed.result.kernel.name == "outline"
    expected = reference_conv(sample_gray(), last.weights, pad=1)
    np.testing.assert_allclose(window.conv_pane.image.image, expected, atol=1e-5)


# -- hover ----------------------------------------------------------------------------------
def _has_colour(widget, rgb: tuple[int, int, int], tolerance: int = 40) -> bool:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    pixels = np.frombuffer(image.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    pixels = pixels[:, : w * 3].reshape(h, w, 3).astype(int)
    return bool((np.abs(pixels - np.array(rgb)).max(axis=2) < tolerance).any())


def test_hover_reports_every_pane_and_the_receptive_fields(window):
    controls = window.controls
    controls.padding.setCurrentIndex(controls.padding.findData("valid"))
    settle(window)
    result = window.processed.result
    image = sample_gray()
    conv = reference_conv(image, preset(DEFAULT_PRESET).weights, pad=0)
    pooled = max_pool(np.maximum(conv, 0), 2)
    # A strong response, away from the corner.
    i, j = np.unravel_index(np.argmax(np.abs(conv[40:, 40:])), (158, 158))
    i, j = int(i) + 40, int(j) + 40

    # Conv (i, j) is drawn over input pixel (i + 1, j + 1): hover its centre.
    shown = window.hover_at(j + 1.5, i + 1.5, window.conv_pane)
    assert shown["input"][0] == (i + 1, j + 1)
    assert shown["input"][1] == pytest.approx(image[i + 1, j + 1], abs=1e-6)
    assert shown["conv"][0] == (i, j)
    assert shown["conv"][1] == pytest.approx(conv[i, j], abs=1e-5)
    assert shown["pooled"][0] == (i // 2, j // 2)
    assert shown["pooled"][1] == pytest.approx(pooled[i // 2, j // 2], abs=1e-5)
    assert shown["field"] == (i, j, 3, 3)  # (top, left, height, width) over the input

    # The overlays: a dashed field on the input, markers on the outputs.
    field = window.input_pane.field
    assert field.isVisible()
    assert_rect(field.rect(), j, i, 3, 3)
    assert window.conv_pane.marker.isVisible()
    assert_rect(window.conv_pane.marker.rect(), j + 1, i + 1, 1, 1)
    assert window.pooled_pane.marker.isVisible()
    assert_rect(window.pooled_pane.marker.rect(), 1 + 2 * (j // 2), 1 + 2 * (i // 2), 2, 2)
    assert f"[{i}, {j}]" in window.conv_pane.stats.text

    # The inspector's sum of products is the convolution value.
    explanation = explain_pixel(result, i, j)
    assert float(explanation.output) == pytest.approx(float(result.conv[i, j]), abs=1e-5)
    assert float(explanation.products.sum()) == pytest.approx(conv[i, j], abs=1e-5)
    assert f"Convolution pixel [{i}, {j}]" in window.inspector.text()

    # Zoomed in around the hovered pixel, the overlays are really drawn in their colours.
    window.input_pane.view.setRange(xRange=(j - 30, j + 30), yRange=(i - 30, i + 30), padding=0)
    _spin()
    assert _has_colour(window.input_pane, (0x00, 0xE5, 0xFF))  # receptive field
    assert _has_colour(window.pooled_pane, (0xFF, 0xD4, 0x3B))  # marker

    # Hovering the pooled pane: the field of a pooled pixel covers 4x4 input pixels.
    pi, pj = i // 2, j // 2
    shown = window.hover_at(1 + 2 * pj + 0.5, 1 + 2 * pi + 0.5, window.pooled_pane)
    assert shown["pooled"][0] == (pi, pj)
    assert shown["field"] == (2 * pi, 2 * pj, 4, 4)
    assert_rect(window.input_pane.field.rect(), 2 * pj, 2 * pi, 4, 4)

    # Outside the image: nothing is reported, overlays hide.
    shown = window.hover_at(-20, -20, window.conv_pane)
    assert shown == {}
    assert not window.input_pane.field.isVisible()
    assert not window.conv_pane.marker.isVisible()
    window.clear_hover()
    assert window.conv_pane.readout == ""
    _spin()
    assert not _has_colour(window.input_pane, (0x00, 0xE5, 0xFF))
    assert not _has_colour(window.pooled_pane, (0xFF, 0xD4, 0x3B))


# -- undo -----------------------------------------------------------------------------------
def test_undo_and_redo_bring_the_results_back(window):
    original = window.processed.result.conv.copy()
    edit_cell(window, 0, 0, "-3")
    settle(window)
    edited = window.processed.result.conv.copy()
    assert not np.allclose(edited, original)

    assert window.editor.undo_action.isEnabled()
    window.editor.undo_action.trigger()
    settle(window)
    np.testing.assert_array_equal(window.processed.result.conv, original)
    np.testing.assert_array_equal(window.conv_pane.image.image, original)

    window.editor.redo_action.trigger()
    settle(window)
    np.testing.assert_array_equal(window.processed.result.conv, edited)


# -- errors ---------------------------------------------------------------------------------
def test_broken_image_shows_a_banner_and_keeps_the_previous_image(window, tmp_path):
    before = window.processed
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a PNG")
    window.open_path(broken)
    settle(window)
    assert window.banner.isVisible()
    assert "broken.png" in window.banner.text()
    assert window.loaded.name == "boxes-and-lines.png"
    assert window.input_pane.title.text == "Input 200x200"
    assert window.processed is before

    window.open_path(tmp_path / "missing.png")
    settle(window)
    assert "missing.png" in window.banner.text()
    assert window.loaded.name == "boxes-and-lines.png"


def test_uncomputable_layer_shows_a_banner_then_recovers(make_window, tmp_path):
    window = make_window(DIGIT)
    assert window.input_pane.title.text == "Input 28x28"
    controls = window.controls
    window.editor.set_kernel(Kernel(np.ones((15, 15)), name="box-15"))
    controls.padding.setCurrentIndex(controls.padding.findData("valid"))
    controls.pool_size.setValue(16)
    settle(window)
    assert window.banner.isVisible()
    assert window.banner.text().startswith("Cannot compute this layer")
    assert "16x16" in window.banner.text()
    # The previous result was made with other settings: it is neither shown, nor hovered,
    # nor exported as this layer's.
    assert window.processed is None
    assert window.conv_pane.image.image is None and window.pooled_pane.image.image is None
    assert window.conv_pane.title.text == "Convolution: not computed"
    window.conv_pane.catch_up()  # the histogram follows a moment later
    assert window.conv_pane.histogram.plot.yData is None or not len(
        window.conv_pane.histogram.plot.yData
    )
    shown = window.hover_at(10.5, 12.5, window.conv_pane)
    assert set(shown) == {"input"} and window.conv_pane.readout == ""
    export = tmp_path / "export"
    export.mkdir()
    assert window.export_to(export) == [] and list(export.iterdir()) == []

    controls.dilation.setValue(3)  # 43x43 taps: does not fit in 28x28 at all
    settle(window)
    assert window.banner.isVisible() and "does not fit" in window.banner.text()

    controls.dilation.setValue(1)
    controls.pool_size.setValue(2)
    settle(window)
    assert not window.banner.isVisible()
    result = window.processed.result
    assert result.conv.shape == (14, 14) and result.pooled.shape == (7, 7)
    expected = reference_conv(sample_gray(DIGIT), np.ones((15, 15)), pad=0)
    np.testing.assert_allclose(result.conv, expected, atol=1e-4)
    # The point still hovered shows the new result's value.
    assert window.conv_pane.readout.startswith("[5, 3] = ")


def test_hover_follows_a_recompute_and_a_new_image(make_window):
    window = make_window(DIGIT)
    image = sample_gray(DIGIT)
    window.editor.set_kernel(preset("identity"))
    settle(window)
    window.hover_at(14.5, 12.5, window.conv_pane)
    assert float(window.conv_pane.readout.split("= ")[1]) == pytest.approx(image[12, 14], abs=1e-4)
    window.editor.set_kernel(Kernel(2 * preset("identity").weights))  # the pointer stays put
    settle(window)
    value = float(window.conv_pane.readout.split("= ")[1])
    assert value == pytest.approx(2 * image[12, 14], abs=1e-4)
    assert window.inspector.text().endswith(f"= {2 * image[12, 14]:.4g}")
    # Another image: the readouts are the new image's, never the old result's.
    window.open_path(SAMPLES["Boxes and lines"])
    settle(window)
    boxes = sample_gray()
    assert window.input_pane.readout == f"[12, 14] = {boxes[12, 14]:.4g}"
    assert float(window.conv_pane.readout.split("= ")[1]) == pytest.approx(
        2 * boxes[12, 14], abs=1e-4
    )


def test_a_new_image_of_another_size_is_fitted_to_the_view(make_window):
    window = make_window()  # 200x200
    window.input_pane.view.setRange(xRange=(0, 50), yRange=(0, 50), padding=0)
    window.open_path(DIGIT)  # 28x28, inside the zoomed area but tiny in it
    settle(window)
    (x0, x1), (y0, y1) = window.input_pane.view.viewRange()
    assert x1 - x0 < 40 and y1 - y0 < 40 and x0 < 1 and y0 < 1


# -- saving ---------------------------------------------------------------------------------
def _read_tiff(path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_save_raw_and_as_displayed(window, tmp_path):
    result = window.processed.result
    assert window.save_pane_raw(window.conv_pane, tmp_path / "conv.tif")
    assert window.save_pane_raw(window.pooled_pane, tmp_path / "pooled.npy")
    conv_tif = _read_tiff(tmp_path / "conv.tif")
    assert conv_tif.dtype == np.float32
    np.testing.assert_array_equal(conv_tif, result.conv)
    np.testing.assert_array_equal(np.load(tmp_path / "pooled.npy"), result.pooled)

    assert window.save_pane_png(window.conv_pane, tmp_path / "conv.png")
    assert window.save_pane_png(window.pooled_pane, tmp_path / "pooled.png")
    conv_png = cv2.imread(str(tmp_path / "conv.png"), cv2.IMREAD_UNCHANGED)
    pooled_png = cv2.imread(str(tmp_path / "pooled.png"), cv2.IMREAD_UNCHANGED)
    assert conv_png.shape == (200, 200, 3) and conv_png.dtype == np.uint8
    assert pooled_png.shape == (100, 100, 3)
    # Diverging map for signed conv output: the strongest positive and negative pixels differ.
    hi, lo = (
        np.unravel_index(result.conv.argmax(), (200, 200)),
        np.unravel_index(result.conv.argmin(), (200, 200)),
    )
    assert not np.array_equal(conv_png[hi], conv_png[lo])
    assert not window.banner.isVisible()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "conv.png", "conv.tif", "pooled.npy", "pooled.png", "settings.ini",
    ]  # fmt: skip


def test_export_all_writes_every_file(window, tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    written = window.export_to(folder)
    stem = "boxes-and-lines"
    expected = {
        f"{stem}_input.png", f"{stem}_kernel.json", f"{stem}_conv.tif", f"{stem}_conv.png",
        f"{stem}_pooled.tif", f"{stem}_pooled.png",
    }  # fmt: skip
    assert {p.name for p in written} == expected
    assert {p.name for p in folder.iterdir()} == expected
    result = window.processed.result
    np.testing.assert_array_equal(_read_tiff(folder / f"{stem}_pooled.tif"), result.pooled)
    kernel = json.loads((folder / f"{stem}_kernel.json").read_text())
    assert kernel["weights"] == preset(DEFAULT_PRESET).weights.tolist()
    input_png = cv2.imread(str(folder / f"{stem}_input.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(input_png, cv2.imread(str(SAMPLES["Boxes and lines"]), -1))


def test_saving_into_a_missing_folder_reports_and_writes_nothing(window, tmp_path):
    target = tmp_path / "no-such-folder" / "conv.tif"
    assert not window.save_pane_raw(window.conv_pane, target)
    assert window.banner.isVisible()
    assert "no-such-folder" in window.banner.text() and "folder does not exist" in (
        window.banner.text()
    )
    assert not target.parent.exists()
    assert not window.save_pane_png(window.pooled_pane, target.with_suffix(".png"))
    assert window.export_to(tmp_path / "no-such-folder") == []
    assert not target.parent.exists()


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_disk_full_leaves_no_partial_file(window, tmp_path, monkeypatch, failing):
    folder = tmp_path / "out"
    folder.mkdir()
    old = folder / "conv.npy"
    old.write_bytes(b"previous contents")

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, failing, full)
    assert not window.save_pane_raw(window.conv_pane, old)
    assert not window.save_pane_raw(window.conv_pane, folder / "conv.tif")
    assert not window.save_pane_png(window.pooled_pane, folder / "pooled.png")
    assert window.export_to(folder) == []
    monkeypatch.undo()

    assert "disk full" in window.banner.text()
    assert window.banner.isVisible()
    assert [p.name for p in folder.iterdir()] == ["conv.npy"]  # no temporary file left over
    assert old.read_bytes() == b"previous contents"
    # And once there is space again, saving works.
    assert window.save_pane_raw(window.conv_pane, old)
    np.testing.assert_array_equal(np.load(old), window.processed.result.conv)


def test_a_full_disk_message_names_the_file_asked_for_once(window, tmp_path, monkeypatch):
    folder = tmp_path / "out"
    folder.mkdir()
    messages = []
    window.editor.message.connect(messages.append)

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    assert window.export_to(folder) == []
    wanted = folder / "boxes-and-lines_input.png"
    reason = "disk full (no space left on device)"
    assert window.banner.text() == f"Nothing was saved: Cannot save {wanted}: {reason}"
    kernel_file = folder / "k.json"
    assert not window.editor.save_file(kernel_file)
    monkeypatch.undo()
    assert messages == [f"Cannot save {kernel_file}: {reason}"]
    assert list(folder.iterdir()) == []


# -- settings -------------------------------------------------------------------------------
def test_settings_restore_kernel_and_options(make_window, settings):
    window = make_window()
    edit_cell(window, 2, 2, "4")
    controls = window.controls
    controls.padding.setCurrentIndex(controls.padding.findData("valid"))
    controls.stride.setValue(2)
    controls.pool_mode.setCurrentIndex(controls.pool_mode.findData("avg"))
    controls.color.setCurrentIndex(controls.color.findData("rgb"))
    controls.colormap.setCurrentIndex(controls.colormap.findData("viridis"))
    settle(window)
    kernel = window.editor.kernel()
    layer = controls.settings()
    window.close()

    reread = QSettings(settings.fileName(), QSettings.Format.IniFormat)
    again = make_window(settings_=reread)
    assert again.editor.kernel() == kernel
    assert again.editor.kernel().weights[2, 2] == 4
    assert again.controls.settings() == layer
    assert again.controls.colormap_name() == "viridis"
    assert again.processed.result.settings == layer
    assert again.processed.result.conv.shape == (99, 99)


CORRUPT_INI = """[General]
kernel=garbage{
options=[1, 2
geometry=@ByteArray(xyz)
window_state=@ByteArray(\\0\\0\\0)
recent_files=not, json
last_folder=1, 2
"""


@pytest.mark.parametrize(
    "options",
    [
        None,
        '"{\\"layer\\": {\\"padding\\": \\"valid\\", \\"stride\\": \\"abc\\"}}"',
        '"{\\"layer\\": {\\"border\\": \\"nope\\"}, \\"colormap\\": 5}"',
        '"{\\"layer\\": [], \\"levels\\": 3}"',
        '"{\\"layer\\": {\\"no_such_option\\": 1}}"',
    ],
)
def test_corrupt_settings_fall_back_to_defaults(make_window, tmp_path, options):
    path = tmp_path / "corrupt.ini"
    text = CORRUPT_INI
    if options is not None:
        text = text.replace("options=[1, 2", f"options={options}")
    path.write_text(text)
    window = make_window(settings_=QSettings(str(path), QSettings.Format.IniFormat))
    assert window.editor.kernel() == preset(DEFAULT_PRESET)
    assert window.controls.settings().padding == "same"
    assert window.controls.settings().stride == 1
    assert window.controls.settings().border == "zero"
    assert window.processed.result.conv.shape == (200, 200)
    # One line says what was reset (the banner may have been hidden by then; its text stays).
    note = window.banner.text()
    assert note.startswith("Saved settings could not be used and were reset to defaults: ")
    assert "kernel" in note and "\n" not in note


def reopened(make_window, path: Path) -> MainWindow:
    return make_window(settings_=QSettings(str(path), QSettings.Format.IniFormat))


@pytest.mark.parametrize("weights", ["1e308", "1e200", "Infinity", "NaN"])
def test_a_stored_kernel_with_huge_weights_never_stops_the_start(make_window, tmp_path, weights):
    path = tmp_path / "huge.ini"
    kernel = {"name": "huge", "weights": [[weights] * 3] * 3, "scale": 1e300, "bias": 0}
    text = json.dumps(kernel).replace(f'"{weights}"', weights)
    path.write_text("[General]\nkernel=" + json.dumps(text) + "\n")
    window = reopened(make_window, path)
    assert window.editor.kernel() == preset(DEFAULT_PRESET)
    assert window.processed.result.conv.shape == (200, 200)
    assert window.banner.text().endswith("reset to defaults: kernel.")
    window.close()  # writes the settings back: the next start is clean and silent
    again = reopened(make_window, path)
    assert again.editor.kernel() == preset(DEFAULT_PRESET)
    assert "reset" not in again.banner.text()


def test_whatever_setting_the_kernel_raises_is_caught(make_window, settings, monkeypatch):
    # Independent of how core.kernels validates: the editor itself refuses the stored kernel.
    from ui.kernel_editor import KernelEditor

    settings.setValue("kernel", json.dumps(preset("sobel-x").to_dict()))
    real = KernelEditor.set_kernel

    def refuse_sobel(self, kernel, *args, **kwargs):
        if kernel.name == "sobel-x":
            raise OverflowError("intermediate overflow in fsum")
        return real(self, kernel, *args, **kwargs)

    monkeypatch.setattr(KernelEditor, "set_kernel", refuse_sobel)
    window = make_window()
    assert window.editor.kernel() == preset(DEFAULT_PRESET)
    assert "reset to defaults: kernel." in window.banner.text()


def test_unknown_keys_are_dropped_not_written_back(make_window, tmp_path):
    path = tmp_path / "junk.ini"
    junk = "".join(f"junk{i}={'x' * 1000}\n" for i in range(500))
    path.write_text("[General]\n" + junk + "[Other]\nmore=1\n")
    size_before = path.stat().st_size
    window = reopened(make_window, path)
    window.close()
    reread = QSettings(str(path), QSettings.Format.IniFormat)
    assert set(reread.allKeys()) <= {
        "geometry", "window_state", "kernel", "options", "recent_files", "last_folder"
    }  # fmt: skip
    assert path.stat().st_size < size_before / 20


def test_recent_files_junk_is_trimmed(make_window, settings):
    settings.setValue("recent_files", json.dumps(["a.png", 5, None, "x" * 10_000] + ["b"] * 50))
    window = make_window(load=False)
    assert window.store.recent_files() == ["a.png", *["b"] * 7]
    assert json.loads(settings.value("recent_files")) == ["a.png", *["b"] * 7]


@pytest.mark.parametrize("where", ["tiny", "off-screen", "garbage"])
def test_implausible_stored_geometry_gives_the_default_window(qtbot, settings, where):
    from PySide6.QtCore import QByteArray
    from PySide6.QtWidgets import QWidget

    probe = QWidget()
    if where == "tiny":
        probe.resize(120, 90)
    else:
        probe.resize(1600, 1000)
        probe.move(60_000, 60_000)
    geometry = probe.saveGeometry() if where != "garbage" else QByteArray(b"not a geometry")
    probe.deleteLater()
    settings.setValue("geometry", geometry)
    window = MainWindow(settings, interactive=False)  # not the fixture: it resizes the window
    qtbot.addWidget(window)
    try:
        # Usable whatever was stored: on a screen and at least MIN_WINDOW. (Qt itself moves an
        # off-screen window back and grows one below the layout's minimum size; what remains
        # too small is reset.)
        frame = window.frameGeometry()
        assert any(sc.availableGeometry().intersects(frame) for sc in QApplication.screens())
        assert window.width() >= 640 and window.height() >= 400
        if where == "garbage":
            assert (window.width(), window.height()) == (1600, 1000)
            assert "reset to defaults: geometry." in window.banner.text()
    finally:
        window.shutdown()


def test_per_channel_maps_say_the_colormap_does_not_apply(window):
    controls = window.controls
    window.open_path(SAMPLES["Street scene"])  # colour
    settle(window)
    assert controls.colormap.isEnabled()
    controls.color.setCurrentIndex(controls.color.findData("per-channel"))
    settle(window)
    assert window.processed.result.conv.ndim == 3
    assert not controls.colormap.isEnabled()
    assert "Per-channel maps are drawn in colour" in controls.colormap.toolTip()
    window.conv_pane.catch_up()
    bar = window.conv_pane.histogram.gradient.getLookupTable(256, alpha=False)
    assert np.all(bar[:, 0] == bar[:, 1]) and np.all(bar[:, 1] == bar[:, 2])  # a grey ramp
    controls.color.setCurrentIndex(controls.color.findData("gray"))
    settle(window)
    assert controls.colormap.isEnabled()


def test_every_control_and_menu_entry_explains_itself(window):
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QMenu

    controls = [
        w
        for kind in (QAbstractButton, QComboBox, QAbstractSpinBox)
        for w in window.findChildren(kind)
        if not w.objectName().startswith("qt_")  # Qt's own (dock, corner, overflow buttons)
        and not isinstance(w.parent(), QAbstractSpinBox)
    ]
    assert len(controls) > 25
    assert [w for w in controls if not w.toolTip()] == []

    def entries(menu: QMenu):
        for action in menu.actions():
            if action.menu() is not None:
                yield from entries(action.menu())
            elif not action.isSeparator() and menu is not window.recent_menu:
                yield action

    actions = [a for m in window.menuBar().findChildren(QMenu) for a in entries(m)]
    assert len(actions) > 15
    assert [a.text() for a in actions if not a.toolTip() or a.toolTip() == a.text()] == []


def test_dragging_the_input_levels_leaves_the_outputs_levels_mode(window):
    window.input_pane.levels_edited.emit()
    assert window.controls.levels_mode() == "auto"
    window.conv_pane.levels_edited.emit()
    assert window.controls.levels_mode() == "fixed"


def test_a_name_typed_without_extension_gets_the_chosen_type(window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    answer = (str(tmp_path / "mine"), "NumPy array (*.npy)")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: answer)
    assert window.save_pane_raw(window.conv_pane)
    np.testing.assert_array_equal(np.load(tmp_path / "mine.npy"), window.processed.result.conv)
    answer = (str(tmp_path / "shown"), "PNG image (*.png)")
    assert window.save_pane_png(window.pooled_pane)
    assert (tmp_path / "shown.png").exists()


def test_kernel_files_from_the_file_menu(window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    folder = tmp_path / "kernels"
    folder.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a: (str(folder / "mine"), ""))
    window.save_kernel_dialog()
    saved = json.loads((folder / "mine.json").read_text())
    assert saved["weights"] == window.editor.kernel().weights.tolist()
    assert window.last_folder() == str(folder)
    window.editor.set_kernel(preset("identity"))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a: (str(folder / "mine.json"), ""))
    window.load_kernel_dialog()
    assert window.editor.kernel().weights.tolist() == saved["weights"]


def _drawn_rgb(pane) -> np.ndarray:
    """The pane's image as it is drawn (its QImage), as RGB."""
    pane.grab()  # renders the item if it has not been yet
    image = pane.image.qimage.convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    rows = np.frombuffer(image.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return rows[:, : w * 3].reshape(h, w, 3).copy()


def test_fixed_levels_colour_every_new_result_and_survive_a_new_image(window, tmp_path):
    window.conv_pane.histogram.setLevels(-0.2, 0.2)  # the person's drag
    assert window.controls.levels_mode() == "fixed"
    window.editor.set_kernel(preset("sharpen"))
    settle(window)
    pane, view = window.conv_pane, window.processed.conv
    assert pane.levels() == pytest.approx((-0.2, 0.2))
    expected = apply_colormap(view.data, pane.image.lookup_table(), (-0.2, 0.2))
    np.testing.assert_array_equal(_drawn_rgb(pane), expected)
    # What is saved as displayed is what is drawn.
    assert window.save_pane_png(pane, tmp_path / "shown.png")
    saved = cv2.cvtColor(cv2.imread(str(tmp_path / "shown.png")), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(saved, expected)
    # An image of another size clears the outputs for a moment; the levels stay fixed.
    window.open_path(DIGIT)
    settle(window)
    assert window.controls.levels_mode() == "fixed"
    assert window.conv_pane.levels() == pytest.approx((-0.2, 0.2))
    expected = apply_colormap(window.processed.conv.data, pane.image.lookup_table(), (-0.2, 0.2))
    np.testing.assert_array_equal(_drawn_rgb(pane), expected)


def test_a_gradient_picked_on_the_bar_is_what_is_saved(window, tmp_path):
    pane = window.pooled_pane
    pane.histogram.gradient.loadPreset("viridis")
    drawn = _drawn_rgb(pane)
    assert window.save_pane_png(pane, tmp_path / "picked.png")
    saved = cv2.cvtColor(cv2.imread(str(tmp_path / "picked.png")), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(saved, drawn)  # the pooled map is shown 1:1 here


def test_outputs_not_computed_show_no_old_numbers(make_window):
    window = make_window(DIGIT)
    controls = window.controls
    controls.padding.setCurrentIndex(controls.padding.findData("valid"))
    controls.dilation.setValue(16)
    settle(window)
    window.hover_at(3.5, 4.5, window.conv_pane)
    window.conv_pane.catch_up()
    assert window.conv_pane.title.text == "Convolution: not computed"
    assert "min" not in window.conv_pane.stats.text and "max" not in window.conv_pane.stats.text
    assert window.timing.text() == ""


def test_saves_do_not_start_in_the_bundled_samples_folder(window, monkeypatch):
    """Opening a sample (File > Open sample) must not make save dialogs suggest the package."""
    from PySide6.QtWidgets import QFileDialog

    from resources import RESOURCES

    sample_action = next(a for a in window.findChildren(QAction) if a.text() == "Street scene")
    sample_action.trigger()
    assert wait_until_idle(window, 10_000)
    asked = []
    monkeypatch.setattr(
        QFileDialog,
        "getSaveFileName",
        lambda _parent, _title, path, *a: asked.append(path) or ("", ""),
    )
    save_raw = next(a for a in window.conv_pane.view.menu.actions() if a.text() == "Save raw...")
    save_raw.trigger()
    assert asked and Path(asked[0]).name == "street-scene_conv.tif"
    assert Path(asked[0]).parent != RESOURCES
