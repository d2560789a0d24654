"""The batch command, ``convscope apply``, end to end: files written, exit codes, messages.

In-process through ``main.main([...])`` (fast, with capsys) and once as a real subprocess.
Reference outputs are computed independently: scipy's correlate2d, ReLU, an explicit max pool.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.signal import correlate2d

import main
from resources import SAMPLES

ROOT = Path(__file__).resolve().parents[2]
BOXES = SAMPLES["Boxes and lines"]
STREET = SAMPLES["Street scene"]
DIGIT = SAMPLES["Handwritten 7 (28x28)"]
HORIZONTAL = np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]], dtype=np.float64)


def apply(capsys, *args, **options) -> tuple[int, str]:
    """Run ``convscope apply ARGS --OPTION VALUE...`` in-process; return (status, stderr)."""
    argv = ["apply", *map(str, args)]
    for option, value in options.items():
        argv += [f"--{option}", str(value)]
    status = main.main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, err


def read_raw(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        return np.load(path)
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if image.ndim == 3 else image


def reference(image: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """'same' zero-padded cross-correlation, then ReLU and a 2x2 max pool, channel by channel."""
    if image.ndim == 3:
        pairs = [reference(image[:, :, c], weights) for c in range(image.shape[2])]
        return np.stack([p[0] for p in pairs], -1), np.stack([p[1] for p in pairs], -1)
    kh, kw = weights.shape
    padded = np.pad(image, (((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2)))
    conv = correlate2d(padded, weights, mode="valid")
    relu = np.maximum(conv, 0)
    h, w = relu.shape[0] // 2, relu.shape[1] // 2
    pooled = np.empty((h, w))
    for i in range(h):
        for j in range(w):
            pooled[i, j] = relu[2 * i : 2 * i + 2, 2 * j : 2 * j + 2].max()
    return conv, pooled


def unit(path: Path) -> np.ndarray:
    """An 8-bit sample as float64 in [0, 1], RGB order for colour files."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.float64) / 255.0
    return image[:, :, ::-1] if image.ndim == 3 else image


@pytest.mark.parametrize("fmt", ["npy", "tiff"])
def test_raw_outputs_equal_an_independent_reference(capsys, tmp_path, fmt):
    status, err = apply(capsys, BOXES, kernel="horizontal-lines", out=tmp_path, format=fmt)
    assert status == 0, err
    assert err == ""
    conv, pooled = reference(unit(BOXES), HORIZONTAL)
    got_conv = read_raw(tmp_path / f"boxes-and-lines_conv.{fmt}")
    got_pooled = read_raw(tmp_path / f"boxes-and-lines_pooled.{fmt}")
    assert got_conv.dtype == np.float32 and got_conv.shape == (200, 200)
    assert got_pooled.shape == (100, 100)
    np.testing.assert_allclose(got_conv, conv, atol=1e-5)
    np.testing.assert_allclose(got_pooled, pooled, atol=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"boxes-and-lines_conv.{fmt}", f"boxes-and-lines_pooled.{fmt}",
    ]  # fmt: skip


def test_png_outputs_are_images_of_the_right_size(capsys, tmp_path):
    status, err = apply(capsys, BOXES, DIGIT, kernel="sobel-x", out=tmp_path)
    assert status == 0, err
    for stem, conv_shape, pooled_shape in (
        ("boxes-and-lines", (200, 200), (100, 100)),
        ("digit-7", (28, 28), (14, 14)),
    ):
        conv = cv2.imread(str(tmp_path / f"{stem}_conv.png"), cv2.IMREAD_UNCHANGED)
        pooled = cv2.imread(str(tmp_path / f"{stem}_pooled.png"), cv2.IMREAD_UNCHANGED)
        assert conv is not None and conv.dtype == np.uint8
        assert conv.shape[:2] == conv_shape
        assert pooled.shape[:2] == pooled_shape


def test_rgb_colour_gives_three_channel_raw_outputs(capsys, tmp_path):
    status, err = apply(
        capsys, STREET, kernel="horizontal-lines", out=tmp_path, format="npy", color="rgb"
    )
    assert status == 0, err
    conv = np.load(tmp_path / "street-scene_conv.npy")
    pooled = np.load(tmp_path / "street-scene_pooled.npy")
    assert conv.shape == (480, 640, 3) and pooled.shape == (240, 320, 3)
    ref_conv, ref_pooled = reference(unit(STREET), HORIZONTAL)
    np.testing.assert_allclose(conv, ref_conv, atol=1e-5)
    np.testing.assert_allclose(pooled, ref_pooled, atol=1e-5)

    status, err = apply(
        capsys, STREET, kernel="horizontal-lines", out=tmp_path, format="tiff", color="rgb"
    )
    assert status == 0, err
    np.testing.assert_allclose(read_raw(tmp_path / "street-scene_conv.tiff"), conv, atol=1e-6)


def test_options_reach_the_pipeline(capsys, tmp_path):
    status, err = apply(
        capsys,
        BOXES,
        kernel="horizontal-lines",
        out=tmp_path,
        format="npy",
        padding="valid",
        stride="2",
        pool="avg:3",
    )
    assert status == 0, err
    conv = np.load(tmp_path / "boxes-and-lines_conv.npy")
    expected = correlate2d(unit(BOXES), HORIZONTAL, mode="valid")[::2, ::2]
    np.testing.assert_allclose(conv, expected, atol=1e-5)
    pooled = np.load(tmp_path / "boxes-and-lines_pooled.npy")
    assert pooled.shape == (33, 33)
    np.testing.assert_allclose(pooled[0, 0], np.maximum(expected[:3, :3], 0).mean(), atol=1e-6)

    status, err = apply(
        capsys,
        BOXES,
        kernel="horizontal-lines",
        out=tmp_path,
        format="npy",
        pool="none",
        activation="abs",
    )
    assert status == 0, err
    activated = np.load(tmp_path / "boxes-and-lines_activated.npy")
    np.testing.assert_allclose(activated, np.abs(reference(unit(BOXES), HORIZONTAL)[0]), atol=1e-5)


def test_kernel_json_file(capsys, tmp_path):
    kernel = tmp_path / "k.json"
    kernel.write_text(json.dumps({"weights": [[0, 0, 0], [0, 2, 0], [0, 0, 0]], "bias": -1}))
    out = tmp_path / "out"
    status, err = apply(
        capsys, DIGIT, kernel=kernel, out=out, format="npy", pool="none", activation="none"
    )
    assert status == 0, err
    np.testing.assert_allclose(
        np.load(out / "digit-7_activated.npy"), 2 * unit(DIGIT) - 1, atol=1e-6
    )


def test_folder_input_expands_to_its_images(capsys, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b.PNG"):
        (folder / name).write_bytes(DIGIT.read_bytes())
    (folder / "notes.txt").write_text("not an image")
    (folder / "sub").mkdir()
    (folder / "sub" / "c.png").write_bytes(DIGIT.read_bytes())  # not recursive
    out = tmp_path / "out"
    status, err = apply(capsys, folder, kernel="outline", out=out, format="npy")
    assert status == 0, err
    assert sorted(p.name for p in out.iterdir()) == [
        "a_conv.npy", "a_pooled.npy", "b_conv.npy", "b_pooled.npy",
    ]  # fmt: skip


def test_folder_without_images_is_a_failure(capsys, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("nothing to see")
    out = tmp_path / "out"
    status, err = apply(capsys, empty, BOXES, kernel="outline", out=out)
    assert status == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(empty) in lines[0] and "no image" in lines[0]
    assert (out / "boxes-and-lines_conv.png").exists()


def test_broken_file_among_good_ones(capsys, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    good = [folder / "one.png", folder / "two.png"]
    for path in good:
        path.write_bytes(BOXES.read_bytes())
    broken = folder / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    out = tmp_path / "out"
    status, err = apply(
        capsys,
        good[0],
        broken,
        good[1],
        tmp_path / "missing.png",
        kernel="outline",
        out=out,
        format="tiff",
    )
    assert status == 1
    lines = err.strip().splitlines()
    assert len(lines) == 2, err  # one line per bad input, nothing else
    assert "broken.png" in lines[0] and "missing.png" in lines[1]
    assert sorted(p.name for p in out.iterdir()) == [
        "one_conv.tiff", "one_pooled.tiff", "two_conv.tiff", "two_pooled.tiff",
    ]  # fmt: skip


def test_same_stem_twice_does_not_overwrite(capsys, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "boxes-and-lines.png").write_bytes(DIGIT.read_bytes())
    out = tmp_path / "out"
    status, err = apply(
        capsys, BOXES, other / "boxes-and-lines.png", kernel="outline", out=out, format="npy"
    )
    assert status == 0, err
    assert np.load(out / "boxes-and-lines_conv.npy").shape == (200, 200)
    assert np.load(out / "boxes-and-lines-2_conv.npy").shape == (28, 28)


def test_layer_that_does_not_fit_is_a_per_file_failure(capsys, tmp_path):
    status, err = apply(
        capsys,
        DIGIT,
        BOXES,
        kernel="outline",
        out=tmp_path,
        padding="valid",
        pool="max:16",
        stride="2",
    )
    assert status == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "digit-7.png" in lines[0]
    assert (tmp_path / "boxes-and-lines_pooled.png").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--kernel", "no-such-preset"],
        ["--kernel", "{broken}.json"],
        ["--kernel", "horizontal-lines", "--pool", "big:2"],
        ["--kernel", "horizontal-lines", "--pool", "max:0"],
        ["--kernel", "horizontal-lines", "--pool", "max"],
        ["--kernel", "horizontal-lines", "--padding", "sometimes"],
        ["--kernel", "horizontal-lines", "--padding", "-1"],
        ["--kernel", "horizontal-lines", "--stride", "0"],
        ["--kernel", "horizontal-lines", "--format", "jpeg"],
        ["--kernel", "horizontal-lines", "--color", "per-channel"],
    ],
)
def test_usage_errors_exit_2(capsys, tmp_path, args):
    broken_kernel = tmp_path / "{broken}.json"
    broken_kernel.write_text('{"weights": [[1, 2], [3]]}')
    args = [str(broken_kernel) if a == "{broken}.json" else a for a in args]
    out = tmp_path / "out"
    status, err = apply(capsys, BOXES, *args, out=out)
    assert status == 2
    assert err.strip()
    assert not out.exists() or not any(out.iterdir())


def test_broken_kernel_json_names_the_problem(capsys, tmp_path):
    kernel = tmp_path / "k.json"
    kernel.write_text("{not json")
    status, err = apply(capsys, BOXES, kernel=kernel, out=tmp_path / "out")
    assert status == 2
    assert "k.json" in err and "not valid kernel JSON" in err


def test_progress_lines_with_many_files(capsys, tmp_path):
    inputs = []
    for n in range(7):
        path = tmp_path / f"in{n}.png"
        path.write_bytes(DIGIT.read_bytes())
        inputs.append(path)
    out = tmp_path / "out"
    status, err = apply(capsys, *inputs, kernel="outline", out=out)
    assert status == 0
    lines = err.strip().splitlines()
    assert [line.split("]")[0] + "]" for line in lines[:7]] == [f"[{n}/7]" for n in range(1, 8)]
    assert "in6.png" in lines[6]
    assert lines[-1].startswith("done: 7 of 7")
    assert len(list(out.iterdir())) == 14

    status, err = apply(capsys, *inputs[:5], kernel="outline", out=out)
    assert status == 0 and err == ""  # a handful of files: no progress chatter


def test_subprocess_end_to_end(tmp_path):
    out = tmp_path / "out"
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"junk")
    done = subprocess.run(
        [sys.executable, "main.py", "apply", str(BOXES), str(broken), "--kernel",
         "horizontal-lines", "--out", str(out), "--format", "npy"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "broken.png" in lines[0]
    conv, pooled = reference(unit(BOXES), HORIZONTAL)
    np.testing.assert_allclose(np.load(out / "boxes-and-lines_conv.npy"), conv, atol=1e-5)
    np.testing.assert_allclose(np.load(out / "boxes-and-lines_pooled.npy"), pooled, atol=1e-5)

    done = subprocess.run(
        [sys.executable, "main.py", "apply", str(BOXES), "--kernel", "nope", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "nope" in done.stderr


def test_output_folder_that_cannot_be_made(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should go")
    status, err = apply(capsys, BOXES, kernel="outline", out=blocker / "out")
    assert status == 2
    assert "cannot create output folder" in err and str(blocker) in err


# -- the output folder and staging files ---------------------------------------------------------


def disk_full_after(monkeypatch, syncs: int) -> None:
    """Let ``syncs`` fsync calls through (the write probe is one), then fail like a full disk."""
    real = os.fsync
    count = [0]

    def fsync(fd: int) -> None:
        count[0] += 1
        if count[0] > syncs:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_a_full_output_folder_is_found_before_the_first_input(capsys, tmp_path, monkeypatch):
    disk_full_after(monkeypatch, 0)
    out = tmp_path / "out"
    inputs = [BOXES, STREET, DIGIT] * 4
    status, err = apply(capsys, *inputs, kernel="outline", out=out)
    assert status == 2
    assert err == (
        f"convscope: cannot write to output folder {out}: disk full (no space left on device)\n"
    )
    assert list(out.iterdir()) == []


def test_a_disk_that_fills_mid_run_stops_with_one_line(capsys, tmp_path, monkeypatch):
    disk_full_after(monkeypatch, 1 + 3)  # the probe, then three files fit
    out = tmp_path / "out"
    inputs = [BOXES, DIGIT]
    status, err = apply(capsys, *inputs, kernel="outline", out=out, format="npy")
    assert status == 2
    assert err.splitlines() == [
        f"convscope: cannot write to output folder {out}: disk full (no space left on device)"
    ]
    # What was written is complete; no staging file is left behind.
    assert sorted(p.name for p in out.iterdir()) == [
        "boxes-and-lines_conv.npy", "boxes-and-lines_pooled.npy", "digit-7_conv.npy",
    ]  # fmt: skip


def test_a_disk_that_fills_mid_run_stops_a_network_run_with_one_line(capsys, tmp_path, monkeypatch):
    disk_full_after(monkeypatch, 1 + 1)  # the probe, then one layer's file fits
    out = tmp_path / "out"
    status, err = apply(capsys, BOXES, DIGIT, network="two-layer-field", out=out, format="npy")
    assert status == 2
    assert err.splitlines() == [
        f"convscope: cannot write to output folder {out}: disk full (no space left on device)"
    ]
    assert len(list(out.iterdir())) == 1  # the file that fit, whole; no staging file


def test_a_read_only_output_folder_exits_2(capsys, tmp_path, monkeypatch):
    real_open = open

    def read_only(path, mode="r", *args, **kwargs):
        if "w" in mode and Path(path).parent == out:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_open(path, mode, *args, **kwargs)

    out = tmp_path / "out"
    monkeypatch.setattr("builtins.open", read_only)
    status, err = apply(capsys, BOXES, STREET, kernel="outline", out=out)
    assert status == 2
    assert err == f"convscope: cannot write to output folder {out}: read-only file system\n"


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)  # that process has exited


def test_stale_staging_files_of_ours_are_removed_and_nothing_else(capsys, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    pid = dead_pid()
    stale = [
        out / f".a_conv.png.convscope-{pid}-x1y2z3.tmp",
        out / f".b.tiff.convscope-{pid}-q.tmp",
    ]
    busy = out / f".c_conv.png.convscope-{os.getpid()}-abc.tmp"  # a live process is writing it
    theirs = [out / ".a_conv.png.Xy12ab.tmp", out / "notes.txt"]
    for path in [*stale, busy, *theirs]:
        path.write_bytes(b"x")
    status, err = apply(capsys, BOXES, kernel="outline", out=out)
    assert status == 0
    assert err == f"convscope: removed 2 temporary files an interrupted run left in {out}\n"
    assert not any(p.exists() for p in stale)
    assert busy.exists() and all(p.exists() for p in theirs)


KILL_SCRIPT = """
import os, sys, time
import main
real_fsync, calls = os.fsync, []
def fsync(fd):
    calls.append(fd)
    if len(calls) == 1:  # the write probe
        return real_fsync(fd)
    print("writing", flush=True)
    time.sleep(60)  # the test kills us here, with an output's staging file written
os.fsync = fsync
main.main(sys.argv[1:])
"""


def test_a_run_killed_mid_write_is_cleaned_up_by_the_next(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    argv = ["apply", str(BOXES), "--kernel", "outline", "--out", str(out)]
    child = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, *argv], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "writing\n"
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    left = [p.name for p in out.iterdir()]
    assert len(left) == 1 and ".convscope-" in left[0]  # what a kill -9 leaves
    done = subprocess.run([sys.executable, "main.py", *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "removed 1 temporary file an interrupted run left" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "boxes-and-lines_conv.png", "boxes-and-lines_pooled.png",
    ]  # fmt: skip
