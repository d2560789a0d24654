"""Fault figures for issue 12: what survives a full disk, a ``kill -9`` and a normal stop.

Run with ``python -m bench.faults`` (or ``python bench/faults.py``) from the project root.

Recording, for each container offered (.avi, .mp4): a child process records the synthetic
scene (320x240, paced to ~30 fps, as live mode would) and prints its counters; then

* disk full: into a small tmpfs (``--tmpfs-kb``; mounting needs root) until the disk fills,
  or, without root, under an ``RLIMIT_FSIZE`` cap of the same size (the kernel refuses the
  writes with EFBIG instead of ENOSPC);
* already full: the same disk with no space left, before the recording starts;
* kill -9: ``SIGKILL`` at a random moment after 1-3 s of recording;
* normal stop: 90 frames, then ``close()``.

For each it prints the frames the recorder counted as written, the frames OpenCV/FFmpeg can
read back from the file, and the file size.

Batch: ``convscope apply`` on large inputs killed with ``SIGKILL`` at a random moment,
``--runs`` times, counting the staging files left each time; then one complete run into the
same folder, and the staging files left after it. Then a run into a full and into a
read-only folder (real tmpfs mounts, root only): its exit status and what it printed.

Not part of the test run: it prints figures and never fails.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: make `core` importable
    sys.path.insert(0, str(ROOT))

CHILD = """
import resource, signal, sys, time
sys.path.insert(0, {root!r})
from core.recording import RecordingError, VideoRecorder
from core.sources import SyntheticSource
path, frames, fsize = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if fsize:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
source = SyntheticSource((320, 240))
try:
    recorder = VideoRecorder(path, fps=30.0)
except RecordingError as exc:
    print("refused", exc, flush=True)
    sys.exit(0)
for i in range(frames):
    recorder.submit(source.render(i))
    print("submitted", recorder.submitted, "written", recorder.written, flush=True)
    if recorder.error is not None:
        break
    time.sleep(1 / 30)
recorder.close(timeout=30)
print("submitted", recorder.submitted, "written", recorder.written, flush=True)
print("error", recorder.error, flush=True)
"""


def readable_frames(path: Path) -> int:
    if not path.exists():
        return 0
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.isOpened() and capture.read()[0]:
        count += 1
    capture.release()
    return count


@contextlib.contextmanager
def small_disk(kb: int) -> Iterator[tuple[Path, int]]:
    """A folder on a ``kb`` KB tmpfs, or (no root) a plain folder and an RLIMIT_FSIZE cap."""
    folder = Path(tempfile.mkdtemp(prefix="convscope-faults-"))
    mounted = False
    if os.geteuid() == 0:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={kb}k", "tmpfs", str(folder)],
            capture_output=True,
        )
        mounted = done.returncode == 0
    try:
        yield folder, 0 if mounted else kb * 1024
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=False)
        for child in folder.glob("*"):
            child.unlink()
        folder.rmdir()


def record(path: Path, frames: int, fsize: int = 0, kill_after: float | None = None) -> dict:
    """Run the recording child; returns its last counters (and what it said)."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(root=str(ROOT)), str(path), str(frames), str(fsize)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    state = {"submitted": 0, "written": 0, "said": ""}
    start = time.monotonic()
    assert child.stdout is not None
    for line in child.stdout:
        words = line.split()
        if words[0] == "submitted":
            state["submitted"], state["written"] = int(words[1]), int(words[3])
        else:
            state["said"] = line.strip()
        if kill_after is not None and time.monotonic() - start > kill_after:
            child.send_signal(signal.SIGKILL)
            break
    child.communicate(timeout=60)
    return state


def report(label: str, path: Path, state: dict) -> None:
    readable = readable_frames(path)
    size = path.stat().st_size if path.exists() else None
    counted = state["written"]
    verdict = "ok" if readable >= counted else "OVERSTATED"
    lost = state["submitted"] - readable
    print(
        f"  {label:<22} counted {counted:>4}  readable {readable:>4}  handed over "
        f"{state['submitted']:>4} (not in file {lost:>3})  file "
        f"{'none' if size is None else f'{size:,} B'}  {verdict}"
    )
    if state["said"]:
        print(f"  {'':<22} {state['said'][:110]}")


def bench_recording(kb: int, kills: int) -> None:
    for suffix in (".avi", ".mp4"):
        print(f"recording {suffix}")
        with small_disk(kb) as (folder, fsize):
            path = folder / f"full{suffix}"
            how = "tmpfs" if not fsize else "RLIMIT_FSIZE"
            report(f"disk full ({kb} KB {how})", path, record(path, 100_000, fsize))
            if not fsize:  # the disk is full now: a second recording must refuse to start
                late = folder / f"late{suffix}"
                state = record(late, 30)
                report("already full", late, state)
                print(f"  {'':<22} files on the disk: {sorted(p.name for p in folder.iterdir())}")
        with tempfile.TemporaryDirectory() as scratch:
            for k in range(kills):
                path = Path(scratch) / f"killed{k}{suffix}"
                state = record(path, 100_000, kill_after=random.uniform(1.0, 3.0))
                report(f"kill -9 #{k + 1}", path, state)
            path = Path(scratch) / f"normal{suffix}"
            report("normal stop (90)", path, record(path, 90))


def bench_batch(runs: int, inputs: int) -> None:
    print(f"batch: {runs} runs killed with SIGKILL, {inputs} inputs of 2000x2000 noise")
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as scratch:
        src, out = Path(scratch) / "in", Path(scratch) / "out"
        src.mkdir()
        out.mkdir()
        for i in range(inputs):
            cv2.imwrite(
                str(src / f"noise{i:02d}.png"), rng.integers(0, 256, (2000, 2000), np.uint8)
            )
        argv = [sys.executable, str(ROOT / "main.py"), "apply", str(src), "--kernel", "outline"]
        argv += ["--out", str(out), "--format", "tiff"]

        def staging() -> list[Path]:
            return [p for p in out.iterdir() if ".convscope-" in p.name]

        for run in range(runs):
            child = subprocess.Popen(
                argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            delay = random.uniform(1.0, 3.0)
            time.sleep(delay)
            child.send_signal(signal.SIGKILL)
            _, err = child.communicate()
            cleaned = [line for line in err.splitlines() if "removed" in line]
            left = staging()
            size = sum(p.stat().st_size for p in left)
            note = f"; it {cleaned[0][len('convscope: ') :]}" if cleaned else ""
            print(
                f"  run {run + 1:>2}: killed at {delay:.1f} s, staging files left {len(left)}"
                f" ({size / 1e6:.1f} MB){note}"
            )
        total = len(staging())
        done = subprocess.run(argv, capture_output=True, text=True)
        note = [line for line in done.stderr.splitlines() if "removed" in line]
        print(f"  before the re-run: {total} staging files in the folder")
        print(f"  re-run: exit {done.returncode}; {note[0] if note else 'no cleanup note'}")
        files = len(list(out.iterdir()))
        print(
            f"  after the re-run: {len(staging())} staging files; "
            f"{files} files in all ({2 * inputs} outputs expected)"
        )


def bench_output_folder() -> None:
    """Exit status and message of a batch run into a full and into a read-only folder."""
    print("batch into an output folder that takes no file (real mounts: needs root)")
    if os.geteuid() != 0:
        print("  skipped: not root")
        return
    with tempfile.TemporaryDirectory() as scratch:
        src = Path(scratch) / "in"
        src.mkdir()
        rng = np.random.default_rng(0)
        for i in range(6):
            cv2.imwrite(str(src / f"noise{i}.png"), rng.integers(0, 256, (600, 600), np.uint8))
        cases = (("full", "size=64k"), ("fills up", "size=3m"), ("read-only", "ro,size=64k"))
        for label, options in cases:
            out = Path(scratch) / label.replace(" ", "-")
            out.mkdir()
            if label == "full":  # mount, then fill it to the last block
                subprocess.run(
                    ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(out)], check=True
                )
                with contextlib.suppress(OSError), open(out / "filler", "wb") as filler:
                    while True:
                        filler.write(b"\0" * 4096)
                        filler.flush()
            else:
                subprocess.run(
                    ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(out)], check=True
                )
            try:
                argv = [sys.executable, str(ROOT / "main.py"), "apply", str(src)]
                argv += ["--kernel", "outline", "--out", str(out), "--format", "tiff"]
                done = subprocess.run(argv, capture_output=True, text=True)
                lines = [x for x in done.stderr.splitlines() if not x.startswith("[")]
                left = sorted(p.name for p in out.iterdir() if p.name != "filler")
                staging = [name for name in left if ".convscope-" in name]
                print(f"  {label:<10} exit {done.returncode}; {len(lines)} line(s): {lines}")
                print(f"  {'':<10} {len(left)} files left in it, {len(staging)} staging: {left}")
            finally:
                subprocess.run(["umount", str(out)], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tmpfs-kb", type=int, default=2048, help="size of the full disk")
    parser.add_argument("--kills", type=int, default=3, help="kill -9 trials per container")
    parser.add_argument("--runs", type=int, default=10, help="killed batch runs")
    parser.add_argument("--inputs", type=int, default=40, help="batch inputs")
    parser.add_argument("--only", choices=("recording", "batch", "folder"))
    args = parser.parse_args()
    random.seed(1)
    if args.only in (None, "recording"):
        bench_recording(args.tmpfs_kb, args.kills)
    if args.only in (None, "batch"):
        bench_batch(args.runs, args.inputs)
    if args.only in (None, "folder"):
        bench_output_folder()


if __name__ == "__main__":
    main()
