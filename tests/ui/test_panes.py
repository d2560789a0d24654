"""Tests for the image panes: fast drawing, histograms from the worker, catching up later."""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage

from core.display import apply_colormap, colormap_lut, display_histogram
from ui.panes import CatchUpQueue, ImagePane
from ui.pg_internals import FastImageItem

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def _rgb(qimage: QImage) -> np.ndarray:
    image = qimage.convertToFormat(QImage.Format.Format_RGB888)
    buffer = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    rows = buffer.reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


@pytest.fixture
def signed_map() -> np.ndarray:
    return np.random.default_rng(3).normal(0.0, 1.0, (300, 400)).astype(np.float32)


@pytest.fixture
def pane(qtbot):
    widget = ImagePane("Test")
    qtbot.addWidget(widget)
    widget.resize(500, 400)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_fast_render_draws_what_pyqtgraph_draws(qapp, signed_map, monkeypatch):
    lut = colormap_lut("coolwarm")
    item = FastImageItem(axisOrder="row-major")
    item.setImage(signed_map, levels=(-1.5, 2.0), autoLevels=False)
    item.setLookupTable(lut)
    fallbacks = []
    monkeypatch.setattr(pg.ImageItem, "render", lambda self: fallbacks.append(self))
    item.render()
    monkeypatch.undo()
    assert fallbacks == []  # drawn by the OpenCV path
    fast = _rgb(item.qimage)
    pg.ImageItem.render(item)  # pyqtgraph's own path, as the reference
    reference = _rgb(item.qimage)
    # Identical except, at most, values exactly on a bin edge (none in random data).
    assert np.mean(np.all(fast == reference, axis=2)) > 0.999
    # And what "Save as displayed" writes (core.display) looks the same.
    saved = apply_colormap(signed_map, lut, (-1.5, 2.0))
    assert np.mean(np.all(fast == saved, axis=2)) > 0.999


def test_values_far_outside_the_levels_get_the_end_colours(qapp, signed_map):
    data = signed_map.copy()
    data[0, :3] = (1e12, -1e12, np.inf)  # e.g. fixed levels, then a kernel scaled up a lot
    lut = colormap_lut("coolwarm")
    item = FastImageItem(axisOrder="row-major")
    item.setImage(data, levels=(-1.0, 1.0), autoLevels=False)
    item.setLookupTable(lut)
    item.render()
    top, bottom = tuple(lut[255]), tuple(lut[0])
    assert _rgb(item.qimage)[0, :3].tolist() == [list(top), list(bottom), list(top)]


def test_nan_is_drawn_in_the_first_colour_as_saved(qapp, signed_map):
    data = signed_map.copy()
    data[10, 20] = np.nan
    lut = colormap_lut("coolwarm")
    item = FastImageItem(axisOrder="row-major")
    item.setImage(data, levels=(-1.0, 1.0), autoLevels=False)
    item.setLookupTable(lut)
    item.render()
    drawn = _rgb(item.qimage)
    assert drawn[10, 20].tolist() == lut[0].tolist()
    np.testing.assert_array_equal(drawn, apply_colormap(data, lut, (-1.0, 1.0)))


def test_histogram_from_the_worker_is_used_until_the_next_image(qapp, signed_map):
    item = FastImageItem(axisOrder="row-major")
    item.setImage(signed_map, levels=(-1.0, 1.0), autoLevels=False)
    given = display_histogram(signed_map)
    item.set_histogram(given)
    assert item.getHistogram() is given
    item.setLevels((-2.0, 2.0))  # same image: still valid
    assert item.getHistogram() is given
    item.setImage(signed_map * 2, autoLevels=False)
    x, _counts = item.getHistogram()
    assert x is not given[0]
    assert x[-1] > given[0][-1] * 1.5  # computed for the new, wider data


def test_display_histogram_agrees_with_pyqtgraph(qapp, signed_map):
    item = pg.ImageItem(axisOrder="row-major")
    item.setImage(signed_map, levels=(-1.0, 1.0), autoLevels=False)
    ref_x, ref_counts = item.getHistogram()
    x, counts = display_histogram(signed_map)
    assert counts.sum() == ref_counts.sum()  # the same sample of values
    assert x[0] == pytest.approx(ref_x[0], abs=1e-5)
    # Same distribution (pyqtgraph has 499 bins here, we have 500): compare the CDFs.
    for value in (-1.0, 0.0, 0.5, 1.5):
        ours = counts[x < value].sum() / counts.sum()
        theirs = ref_counts[ref_x < value].sum() / ref_counts.sum()
        assert ours == pytest.approx(theirs, abs=0.01)


def test_catch_up_queue_lets_other_events_run_between_tasks(qtbot):
    queue = CatchUpQueue(delay_ms=0)
    ticks = 0

    def tick() -> None:
        nonlocal ticks
        ticks += 1

    ticker = QTimer()
    ticker.setInterval(0)
    ticker.timeout.connect(tick)
    ran: list[tuple[str, int]] = []
    tasks = {name: (lambda name=name: ran.append((name, ticks))) for name in "abcd"}
    ticker.start()
    for name in "abcd":
        queue.request(tasks[name])
    queue.request(tasks["a"])  # already waiting: not twice
    queue.discard(tasks["c"])
    qtbot.waitUntil(lambda: len(ran) == 3)
    ticker.stop()
    assert [name for name, _ in ran] == ["a", "b", "d"]
    seen = [at for _, at in ran]
    assert seen[0] < seen[1] < seen[2]  # the ticker got a turn between any two tasks


def test_catch_up_skips_a_pane_deleted_meanwhile(qtbot, signed_map):
    queue = CatchUpQueue(delay_ms=0)
    doomed = ImagePane("Doomed")
    doomed.set_data(signed_map, (0, 0, 400, 300), (-1.0, 1.0))  # a histogram to catch up...
    doomed.set_stats("min 0")  # ...and a stats line
    survivor = ImagePane("Survivor")
    qtbot.addWidget(survivor)
    ran = []
    survivor.catch_up = lambda: ran.append("survivor")  # type: ignore[method-assign]
    queue.request(doomed.catch_up)
    queue.request(survivor.catch_up)
    doomed.deleteLater()
    qtbot.waitUntil(lambda: ran == ["survivor"])  # and no "C++ object already deleted"


def test_a_task_never_runs_before_its_delay(qtbot):
    queue = CatchUpQueue(delay_ms=60)
    ran: dict[str, float] = {}

    def first() -> None:
        ran["first"] = time.monotonic()

    def second() -> None:
        ran["second"] = time.monotonic()

    queue.request(first)
    qtbot.wait(20)
    queue.discard(first)  # the timer was armed for it
    asked = time.monotonic()
    queue.request(second)
    qtbot.waitUntil(lambda: "second" in ran, timeout=2000)
    assert "first" not in ran
    assert ran["second"] - asked >= 0.055  # Qt's coarse timers may be up to 5% early


def test_histogram_catching_up_does_not_redraw_the_image(pane, signed_map, monkeypatch):
    pane.set_colormap("coolwarm")
    pane.set_data(signed_map, (0, 0, 400, 300), (-2.0, 2.0), display_histogram(signed_map))
    pane.grab()  # draws the image once
    renders = []
    original = pane.image.render
    monkeypatch.setattr(pane.image, "render", lambda: (renders.append(1), original())[1])
    pane.catch_up()
    assert pane.histogram.getLevels() == pytest.approx((-2.0, 2.0))
    assert pane.histogram.plot.yData is not None and pane.histogram.plot.yData.sum() > 0
    pane.grab()
    assert renders == []


def test_colormap_is_exact_at_once_and_the_bar_follows(pane, signed_map, qapp):
    pane.set_data(signed_map, (0, 0, 400, 300), (-2.0, 2.0))
    pane.set_colormap("coolwarm")
    expected = colormap_lut("coolwarm")
    assert np.array_equal(pane.image.lut, expected)
    pane.catch_up()
    # The bar, as painted: red at the top (high values), blue at the bottom.
    bar = pane.histogram.gradient.gradRect  # the coloured strip
    rect = pane.mapFromScene(bar.mapRectToScene(bar.boundingRect())).boundingRect()
    image = pane.grab().toImage()
    x = rect.center().x()
    top = image.pixelColor(x, rect.top() + rect.height() // 10)
    bottom = image.pixelColor(x, rect.bottom() - rect.height() // 10)
    assert top.red() > top.blue() + 60 and bottom.blue() > bottom.red() + 60
    # Showing it on the bar, or resizing the bar, leaves the image its exact colours.
    pane.resize(520, 380)
    qapp.processEvents()
    assert np.array_equal(pane.image.lut, expected)


def test_a_gradient_picked_by_hand_is_not_undone_by_a_pending_colormap(pane, signed_map):
    pane.set_data(signed_map, (0, 0, 400, 300), (-2.0, 2.0))
    pane.set_colormap("coolwarm")  # the bar would show it when the pane catches up
    gradient = pane.histogram.gradient
    gradient.loadPreset("viridis")  # the person's pick, from the bar's menu
    picked = gradient.getLookupTable(256, alpha=False)
    pane.catch_up()
    assert np.array_equal(gradient.getLookupTable(256, alpha=False), picked)  # the bar
    lut = pane.image.lut(signed_map, 256) if callable(pane.image.lut) else pane.image.lut
    assert np.array_equal(lut, picked)  # and the image


def test_tick_labels_of_a_new_image_do_not_re_lay_the_pane_out(pane, qapp):
    def show(low: float, high: float) -> None:
        data = np.linspace(low, high, 400 * 300, dtype=np.float32).reshape(300, 400)
        pane.set_data(data, (0, 0, 400, 300), (low, high))
        pane.catch_up()
        pane.grab()  # tick labels are laid out when painted...
        qapp.processEvents()  # ...and a change of their width re-lays the pane out here

    show(-123456.0, 654321.0)  # wide tick labels
    geometry = pane.view.geometry()
    show(0.0, 1.0)  # narrow ones
    assert pane.view.geometry() == geometry


def test_pixels_drawn_by_the_worker_are_used_at_their_levels_only(qapp, signed_map, monkeypatch):
    from ui import pg_internals

    lut = colormap_lut("coolwarm")
    item = FastImageItem(axisOrder="row-major")
    item.setImage(signed_map, levels=(-1.0, 1.0), autoLevels=False)
    item.setLookupTable(lut)
    prepared = np.zeros(signed_map.shape, np.uint8)  # not what the data says: a marker
    item.set_pixels((-1.0, 1.0), prepared)
    made_here = []
    monkeypatch.setattr(pg_internals, "lut_index", lambda *a: made_here.append(1) or a[0] * 0)
    item.render()
    assert made_here == []
    assert np.all(_rgb(item.qimage) == lut[0])  # the prepared pixels, not the data
    item.setLevels((-2.0, 2.0))  # the person's levels: drawn here
    item.render()
    assert made_here == [1]
    item.setImage(signed_map * 2, autoLevels=False)  # a new image: the pixels are gone
    item.setLevels((-1.0, 1.0))
    item.render()
    assert made_here == [1, 1]


def test_colour_pixels_drawn_by_the_worker(qapp, monkeypatch):
    rgb = np.random.default_rng(5).random((30, 40, 3)).astype(np.float32)
    item = FastImageItem(axisOrder="row-major")
    item.setImage(rgb, levels=(0.0, 1.0), autoLevels=False)
    drawn = apply_colormap(rgb, colormap_lut("gray"), (0.0, 1.0))
    item.set_pixels((0.0, 1.0), drawn)
    monkeypatch.setattr(pg.ImageItem, "render", lambda self: pytest.fail("pyqtgraph drew it"))
    item.render()
    np.testing.assert_array_equal(_rgb(item.qimage), drawn)
