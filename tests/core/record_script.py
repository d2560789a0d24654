"""Run by test_recording.py in a subprocess: record noise frames until told otherwise.

usage: record_script.py PATH kill        record ~forever, printing counts (the test kills us)
       record_script.py PATH fsize BYTES  record 300 frames with the file size capped by the
                                          kernel (RLIMIT_FSIZE), then print the outcome
"""

from __future__ import annotations

import resource
import signal
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.recording import VideoRecorder


def main() -> None:
    path, mode = sys.argv[1], sys.argv[2]
    if mode == "fsize":
        limit = int(sys.argv[3])
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG from write() instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    rng = np.random.default_rng(1)
    # Capped: a queue that holds every frame, so none is dropped and the cap is surely reached.
    recorder = VideoRecorder(path, fps=30.0, queue_size=300 if mode == "fsize" else 64)
    frames = 300 if mode == "fsize" else 10**6
    for _ in range(frames):
        recorder.submit(rng.integers(0, 256, (96, 128, 3), np.uint8))
        print(f"submitted {recorder.submitted} written {recorder.written}", flush=True)
        if mode == "kill":
            time.sleep(0.01)
    recorder.close(timeout=30)
    print(f"error {recorder.error}", flush=True)
    print(f"submitted {recorder.submitted} written {recorder.written}", flush=True)


if __name__ == "__main__":
    main()
