"""core.export: 'Export all' writes every file or none."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core import export
from core.export import export_all
from core.images import SaveError
from core.kernels import preset


@pytest.fixture
def outputs() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    raw = np.arange(12, dtype=np.float32).reshape(3, 4) - 5.0
    shown = np.zeros((3, 4, 3), np.uint8)
    return {"conv": (raw, shown), "pooled": (raw[:2, :2].copy(), shown[:2, :2].copy())}


def _export(folder, outputs):
    image = np.full((3, 4), 0.5, np.float32)
    return export_all(folder, "x", image=image, kernel=preset("identity"), outputs=outputs)


def test_writes_every_file_with_the_raw_values(tmp_path, outputs):
    written = _export(tmp_path, outputs)
    names = ["x_input.png", "x_kernel.json", "x_conv.tif", "x_conv.png"]
    assert [p.name for p in written] == [*names, "x_pooled.tif", "x_pooled.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    raw = cv2.imread(str(tmp_path / "x_conv.tif"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(raw, outputs["conv"][0])
    assert cv2.imread(str(tmp_path / "x_input.png"), cv2.IMREAD_UNCHANGED)[0, 0] == 128


def test_a_failure_midway_leaves_the_folder_as_it_was(tmp_path, outputs, monkeypatch):
    earlier = tmp_path / "x_input.png"
    earlier.write_bytes(b"an earlier export")
    real_save_raw = export.save_raw

    def disk_full_at_pooled(path, array):
        if "pooled" in path.name:
            raise SaveError(path, "disk full")
        real_save_raw(path, array)

    monkeypatch.setattr(export, "save_raw", disk_full_at_pooled)
    with pytest.raises(SaveError, match="disk full"):
        _export(tmp_path, outputs)
    assert [p.name for p in tmp_path.iterdir()] == ["x_input.png"]
    assert earlier.read_bytes() == b"an earlier export"


def test_a_folder_in_the_way_is_reported_before_anything_is_written(tmp_path, outputs):
    (tmp_path / "x_conv.png").mkdir()
    with pytest.raises(SaveError, match="in the way"):
        _export(tmp_path, outputs)
    assert [p.name for p in tmp_path.iterdir()] == ["x_conv.png"]
