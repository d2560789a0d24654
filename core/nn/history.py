"""The curves of a training session: per-batch loss and accuracy, test accuracy per epoch.

The Train view appends to it (in the GUI thread, from the worker's throttled updates), plots
it and exports it as CSV. Runs continue one another: a second Start on the same model goes on
counting examples where the first stopped, so the curves stay one line.
"""

from __future__ import annotations

import io

import numpy as np

#: Batches averaged for the smoothed curves (a 64-image batch's loss is noisy).
SMOOTHING = 25
#: Most points a curve is drawn with (pyqtgraph's cost grows with them; a plot is ~600 px).
PLOT_POINTS = 400


class TrainingHistory:
    """Growing arrays of (examples seen, loss, accuracy) per batch and the test accuracies."""

    def __init__(self) -> None:
        self._examples: list[int] = []
        self._loss: list[float] = []
        self._accuracy: list[float] = []
        self.test_examples: list[int] = []
        self.test_accuracy: list[float] = []
        self.offset = 0  # examples seen in earlier runs on the same model

    def __len__(self) -> int:
        return len(self._examples)

    def start_run(self) -> None:
        """A new run continues the curves after the examples already seen."""
        self.offset = self._examples[-1] if self._examples else 0

    def add_steps(self, examples: np.ndarray, loss: np.ndarray, accuracy: np.ndarray) -> None:
        """Batches of the current run (``examples`` counted from the run's start)."""
        self._examples.extend(int(e) + self.offset for e in examples)
        self._loss.extend(float(v) for v in loss)
        self._accuracy.extend(float(v) for v in accuracy)

    def add_test(self, examples: int, accuracy: float) -> None:
        self.test_examples.append(int(examples) + self.offset)
        self.test_accuracy.append(float(accuracy))

    @property
    def examples(self) -> np.ndarray:
        return np.asarray(self._examples, np.float64)

    @property
    def loss(self) -> np.ndarray:
        return np.asarray(self._loss, np.float64)

    @property
    def accuracy(self) -> np.ndarray:
        return np.asarray(self._accuracy, np.float64)

    def smoothed(self, values: np.ndarray, window: int = SMOOTHING) -> np.ndarray:
        """Trailing mean over ``window`` batches (fewer at the start)."""
        if len(values) == 0:
            return values
        sums = np.cumsum(np.insert(values, 0, 0.0))
        idx = np.arange(1, len(values) + 1)
        start = np.maximum(idx - window, 0)
        return (sums[idx] - sums[start]) / (idx - start)

    def for_plot(self, values: np.ndarray, max_points: int = PLOT_POINTS):
        """(examples, values) with at most ``max_points`` points: means of equal runs of
        batches, so a long run costs the plot no more to draw than a short one."""
        x = self.examples
        n = len(values)
        if n <= max_points:
            return x, values
        bins = np.linspace(0, n, max_points + 1).astype(np.intp)
        counts = np.diff(bins)
        return (
            np.add.reduceat(x, bins[:-1]) / counts,
            np.add.reduceat(values, bins[:-1]) / counts,
        )

    def to_csv(self) -> str:
        """One row per batch: ``examples,loss,accuracy,loss_smoothed,accuracy_smoothed,
        test_accuracy`` (the last filled on the batch where an epoch's test was measured)."""
        out = io.StringIO()
        out.write("examples,loss,accuracy,loss_smoothed,accuracy_smoothed,test_accuracy\n")
        loss, accuracy = self.loss, self.accuracy
        loss_s, accuracy_s = self.smoothed(loss), self.smoothed(accuracy)
        tests = dict(zip(self.test_examples, self.test_accuracy, strict=True))
        for i, examples in enumerate(self._examples):
            test = tests.pop(examples, None)
            out.write(
                f"{examples},{loss[i]:.6g},{accuracy[i]:.6g},{loss_s[i]:.6g},"
                f"{accuracy_s[i]:.6g},{'' if test is None else f'{test:.6g}'}\n"
            )
        return out.getvalue()


__all__ = ["PLOT_POINTS", "SMOOTHING", "TrainingHistory"]
