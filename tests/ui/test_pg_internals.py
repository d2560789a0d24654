"""The pyqtgraph internals ``ui.pg_internals`` relies on still exist and behave as relied upon.

pyqtgraph is pinned to 0.14.x; an upgrade that renames or drops one of these fails here, by
name, instead of silently drawing nothing (or raising) in front of a person.
"""

from __future__ import annotations

import inspect

import numpy as np
import pyqtgraph as pg
import pytest
from pyqtgraph import functions_qimage
from PySide6.QtGui import QImage

from core.display import colormap_lut
from ui.pg_internals import (
    FastImageItem,
    ThrottledHistogram,
    attach_histogram,
    detach_histogram,
    set_histogram_curve,
)


@pytest.fixture
def float_map():
    return np.linspace(-1.0, 1.0, 40 * 30, dtype=np.float32).reshape(30, 40)


def test_image_item_render_leaves_the_state_our_render_sets(qapp, float_map):
    item = pg.ImageItem(axisOrder="row-major")
    for name in ("qimage", "_renderRequired", "_unrenderable", "lut", "levels", "image"):
        assert hasattr(item, name), f"pg.ImageItem lost {name!r}"
    assert {"axisOrder", "autoDownsample"} <= set(vars(item)), "ImageItem options moved"
    item.setImage(float_map, levels=(-1.0, 1.0), autoLevels=False)
    assert item._renderRequired is True  # a new image asks for a render ...
    item.render()
    # ... and render() leaves exactly these behind, which FastImageItem.render imitates.
    assert isinstance(item.qimage, QImage)
    assert item._renderRequired is False
    assert item._unrenderable is False


def test_image_item_draws_the_qimage_without_rendering_when_not_required(qapp, float_map):
    item = pg.ImageItem(axisOrder="row-major")
    item.setImage(float_map, levels=(-1.0, 1.0), autoLevels=False)
    calls = []
    original = item.render
    item.render = lambda: (calls.append(1), original())
    marker = QImage(40, 30, QImage.Format.Format_RGB32)
    marker.fill(0xFF123456)
    item.qimage, item._renderRequired, item._unrenderable = marker, False, False
    pixmap = item.getPixmap()  # the path paint() takes too
    assert calls == []  # what our render set is used as it is
    assert pixmap.toImage().pixel(0, 0) == marker.pixel(0, 0)
    item._renderRequired = True
    item.getPixmap()
    assert calls == [1]


def test_try_make_qimage_takes_lut_indices_and_rgb(qapp):
    lut = colormap_lut("coolwarm")
    indices = np.arange(256, dtype=np.uint8).reshape(16, 16)
    qimage = functions_qimage.try_make_qimage(indices, levels=None, lut=lut)
    assert isinstance(qimage, QImage) and (qimage.width(), qimage.height()) == (16, 16)
    rgb = np.zeros((8, 10, 3), np.uint8)
    rgb[..., 0] = 200
    qimage = functions_qimage.try_make_qimage(rgb, levels=None, lut=None)
    assert isinstance(qimage, QImage) and qimage.pixelColor(3, 3).red() == 200


def test_fast_image_item_draws_what_pyqtgraph_draws(qapp, float_map):
    lut = colormap_lut("coolwarm")
    ours, theirs = FastImageItem(axisOrder="row-major"), pg.ImageItem(axisOrder="row-major")
    for item in (ours, theirs):
        item.setImage(float_map, levels=(-1.0, 1.0), autoLevels=False)
        item.setLookupTable(lut)
        item.render()
    assert ours._renderRequired is False and ours._unrenderable is False
    a = ours.qimage.convertToFormat(QImage.Format.Format_RGB888)
    b = theirs.qimage.convertToFormat(QImage.Format.Format_RGB888)
    assert (a.width(), a.height()) == (b.width(), b.height()) == (40, 30)
    for x, y in ((0, 0), (39, 29), (20, 15), (5, 25)):
        ca, cb = a.pixelColor(x, y), b.pixelColor(x, y)
        # Same LUT and levels; the two round a value to an index a little differently.
        assert abs(ca.red() - cb.red()) <= 3 and abs(ca.blue() - cb.blue()) <= 3


def test_histogram_lut_item_hooks_we_override_or_use_exist(qapp):
    base = pg.HistogramLUTItem
    for name in ("gradientChanged", "imageChanged", "regionChanged", "regionChanging"):
        assert callable(getattr(base, name, None)), f"HistogramLUTItem lost {name}()"
    params = inspect.signature(base.imageChanged).parameters
    assert {"autoLevel", "autoRange"} <= set(params)
    item = pg.ImageItem(axisOrder="row-major")
    histogram = base(item)
    assert histogram.imageItem() is item  # a weakref, called to get the item
    for name in ("lut", "plot", "gradient", "sigLookupTableChanged", "sigLevelChangeFinished"):
        assert hasattr(histogram, name), f"HistogramLUTItem lost {name!r}"
    assert hasattr(histogram.gradient, "sigGradientChangeFinished")
    assert callable(histogram.plot.setData)


def test_detach_and_attach_rewire_the_histogram_as_set_image_item_did(qapp, float_map):
    item = pg.ImageItem(axisOrder="row-major")
    histogram = pg.HistogramLUTItem(item)
    item.setImage(float_map, autoLevels=False, levels=(0.0, 1.0))
    _, y0 = histogram.plot.getData()
    assert y0 is not None and len(y0) > 0  # attached: a new image fills the histogram

    # Detaching disconnects the very slot setImageItem connected (a missing connection
    # would warn, and warnings are errors here) and leaves a dead image reference.
    detach_histogram(histogram, item)
    assert histogram.imageItem() is None
    set_histogram_curve(histogram, np.array([0.0, 1.0]), np.array([5.0, 7.0]))
    item.setImage(float_map * 0.5, autoLevels=False, levels=(0.0, 1.0))
    _, y = histogram.plot.getData()
    assert list(y) == [5.0, 7.0]  # the new image did not recompute it

    attach_histogram(histogram, item)
    assert histogram.imageItem() is item
    item.setImage(float_map * 0.25, autoLevels=False, levels=(0.0, 1.0))
    _, y = histogram.plot.getData()
    assert len(y) > 2  # following the image again


def test_throttled_histogram_defers_until_flushed(qapp, float_map):
    pending = []
    item = FastImageItem(axisOrder="row-major")
    histogram = ThrottledHistogram(item, on_pending=lambda: pending.append(1))
    item.setImage(float_map, autoLevels=False, levels=(-1.0, 1.0))
    assert pending  # the overridden imageChanged only schedules
    empty = histogram.plot.getData()[1]
    assert empty is None or len(empty) == 0
    histogram.flush()
    assert len(histogram.plot.getData()[1]) > 0


def test_no_other_ui_module_touches_these_internals():
    import re
    from pathlib import Path

    import ui.pg_internals

    private = re.compile(
        r"_renderRequired|_unrenderable|\.imageItem\b|functions_qimage|\.qimage\b"
        r"|sigImageChanged\.(dis)?connect|\.plot\.setData"
    )
    root = Path(ui.pg_internals.__file__).parent
    offenders = [
        f"{path.relative_to(root.parent)}:{n}"
        for path in root.rglob("*.py")
        if path.name != "pg_internals.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if private.search(line)
    ]
    assert offenders == [], "pyqtgraph internals outside ui/pg_internals.py: " + ", ".join(
        offenders
    )
