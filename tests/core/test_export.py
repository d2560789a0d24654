"""core.export: 'Export all' writes every file or none."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

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


def test_a_full_disk_names_the_file_asked_for_once(tmp_path, outputs, monkeypatch):
    def full(*_args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(SaveError) as caught:
        _export(tmp_path, outputs)
    monkeypatch.undo()
    wanted = tmp_path / "x_input.png"
    assert str(caught.value) == f"Cannot save {wanted}: disk full (no space left on device)"
    assert caught.value.path == wanted
    assert list(tmp_path.iterdir()) == []


def test_staging_files_of_a_killed_export_are_removed_by_the_next(tmp_path, outputs):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid = int(dead.stdout)  # a process that has exited: its pid names no live process
    stale = [
        tmp_path / f".x_conv.png.convscope-{dead_pid}-partial.png",
        tmp_path / f".x_conv.tif.convscope-{dead_pid}-k2j4_x.tmp",
    ]
    live = tmp_path / f".y.png.convscope-{os.getpid()}-partial.png"  # ours, in progress
    other = tmp_path / ".y.png.partial.png"  # not named by us: never touched
    for path in [*stale, live, other]:
        path.write_bytes(b"half a file")
    _export(tmp_path, outputs)
    names = {p.name for p in tmp_path.iterdir()}
    assert not names & {p.name for p in stale}
    assert {live.name, other.name} <= names
    assert not any("convscope-" in n for n in names - {live.name})
