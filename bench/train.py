"""Training speed and accuracy of the default digit network on the bundled MNIST subset.

Run with ``python bench/train.py`` from the project root. Trains the default network
(conv 3x3x8 - relu - pool - conv 3x3x16 - relu - pool - flatten - dense 10) for 60 s of
training time, the way the Train view does (a copy of the weights every 0.1 s), and prints

    train: examples_per_s=... acc_10s=... acc_30s=... acc_60s=... ui_max_stall_ms=...
    why: ms_median=... ms_p95=...

``acc_Ns`` is the accuracy on the 2,000 bundled test images after N seconds of training
(evaluation time excluded). ``why`` times drawing-to-prediction for the canvas: preprocessing
of a 280x280 drawing, forward pass, every layer's maps, saliency and Grad-CAM.
``ui_max_stall_ms`` is the longest gap between two ticks of a 5 ms QTimer while the Train
view (offscreen, 1600x1000) trains the default network on the bundled data and redraws,
epoch ends (confusion matrix, misclassified digits) included; a gap of 5 ms means no stall.

Targets (2-core machine): >= 4,000 examples/s; accuracy >= 0.95 / 0.97 / 0.98; stall <= 50 ms;
why <= 10 ms.
Not part of the test run: it prints figures and never fails.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

if __package__ in (None, ""):  # run as a script: make `core` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.nn.data import load_bundled
from core.nn.presets import preset_network
from core.nn.training import Checkpoint, Failed, Finished, TrainConfig, train
from core.nn.why import ask_why

MARKS = (10.0, 30.0, 60.0)


def bench_training(args: argparse.Namespace) -> tuple[float, dict[float, float]]:
    train_set, test_set = load_bundled()
    config = TrainConfig(
        epochs=1_000_000,
        seconds=args.seconds,
        batch_size=args.batch,
        lr=args.lr,
        seed=args.seed,
        checkpoints=tuple(m for m in MARKS if m <= args.seconds),
        blas_threads=args.blas_threads or None,
    )
    accuracy: dict[float, float] = {}
    examples_per_s = 0.0
    for event in train(preset_network(seed=args.seed), train_set, test_set, config):
        if isinstance(event, Checkpoint):
            accuracy[event.mark] = event.test.accuracy
            print(
                f"  {event.seconds:5.1f} s  {event.examples:7,d} examples  "
                f"test accuracy {event.test.accuracy:.4f}",
                file=sys.stderr,
            )
        elif isinstance(event, Finished):
            examples_per_s = event.examples / event.seconds
        elif isinstance(event, Failed):
            raise SystemExit(event.message)
    return examples_per_s, accuracy


def bench_why(repeats: int = 300) -> list[float]:
    """Milliseconds from a 280x280 drawing to everything the canvas shows."""
    network = preset_network(seed=0)
    drawing = np.full((280, 280), 255, np.uint8)
    cv2.putText(drawing, "7", (60, 230), cv2.FONT_HERSHEY_SIMPLEX, 8, 0, 22, cv2.LINE_AA)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        ask_why(network, drawing)
        times.append((time.perf_counter() - start) * 1e3)
    return times


def _ticks(seconds: float, tick_ms: int, counting) -> list[float]:
    """Gaps (ms) between ticks of a ``tick_ms`` QTimer over ``seconds``, while ``counting()``."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer

    clock = QElapsedTimer()
    gaps: list[float] = []
    last = [0.0]

    def tick() -> None:
        now = clock.nsecsElapsed() / 1e6
        if counting():
            gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(tick_ms)
    timer.timeout.connect(tick)
    loop = QEventLoop()
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    clock.start()
    timer.start()
    loop.exec()
    timer.stop()
    return gaps


def bench_ui_stall(seconds: float, tick_ms: int = 5) -> float:
    """Milliseconds of the longest GUI event-loop gap while the Train view trains.

    Also prints (stderr) the same figure for the idle window first, as a control: on a busy
    shared machine the scheduler alone makes gaps the Train view is not to blame for.
    """
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ui.training import TrainWindow

    app = QApplication.instance() or QApplication([])
    window = TrainWindow()
    window.resize(1600, 1000)
    window.show()
    app.processEvents()
    idle = _ticks(min(seconds, 5.0), tick_ms, lambda: True)
    view = window.train_view
    view.controls.epochs.setValue(1000)
    QTimer.singleShot(0, view.controls.start_button.click)
    # Measured from the first batch on (the data loaded).
    gaps = _ticks(seconds, tick_ms, lambda: view.history.examples.size > 0)
    epochs = len(view.history.test_accuracy)
    window.close()  # stops training and joins its thread
    p99 = statistics.quantiles(gaps, n=100)[98] if len(gaps) > 100 else float("nan")
    print(
        f"  ui: {len(gaps)} ticks, {epochs} epoch ends redrawn; training gap p99 {p99:.1f} ms;"
        f" idle window max gap {max(idle):.1f} ms (the machine's own stalls)",
        file=sys.stderr,
    )
    return max(gaps) if gaps else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=TrainConfig.lr)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="BLAS threads while training (0: leave BLAS alone, its default is every core)",
    )
    parser.add_argument(
        "--ui-seconds", type=float, default=15.0, help="how long to watch the Train view"
    )
    args = parser.parse_args()
    examples_per_s, accuracy = bench_training(args)
    figures = " ".join(
        f"acc_{m:.0f}s={accuracy[m]:.4f}" if m in accuracy else f"acc_{m:.0f}s=n/a" for m in MARKS
    )
    why = bench_why()
    stall = bench_ui_stall(args.ui_seconds)
    print(f"train: examples_per_s={examples_per_s:.0f} {figures} ui_max_stall_ms={stall:.1f}")
    print(
        f"why: ms_median={statistics.median(why):.2f} "
        f"ms_p95={statistics.quantiles(why, n=20)[18]:.2f}"
    )


if __name__ == "__main__":
    main()
