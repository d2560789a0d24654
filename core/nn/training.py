"""Training as a generator of events, so a worker thread can run it with pause, resume and stop.

    for event in train(network, train_set, test_set, TrainConfig(epochs=2)):
        ...  # Progress after every batch; EpochEnd; Checkpoint; then Finished or Failed

The consumer pauses by not asking for the next event (the clock in the events counts only
time spent training) and stops with ``generator.close()``. Events carry *copies* of the
weights as immutable :class:`core.network.Network` values, never the arrays being trained.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

from core.network import Network, NetworkError
from core.network.layers import MAX_ABS_WEIGHT
from core.nn.data import CLASSES, Dataset
from core.nn.model import Model
from core.nn.optim import OPTIMIZERS, make_optimizer


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Training stops after ``epochs`` epochs or ``seconds`` of training,
    whichever comes first (``seconds=None``: no time limit)."""

    epochs: int = 1
    seconds: float | None = None
    batch_size: int = 64
    lr: float = 0.002
    optimizer: str = "adam"
    #: Cosine decay of the learning rate over the run (to 2% of ``lr`` at the end; the run's
    #: length is its epochs or its seconds, whichever ends first). A constant rate keeps
    #: jittering around the minimum: on the bundled MNIST subset, 60 s of training at a
    #: constant rate ended at 0.9755 test accuracy, with decay at 0.979 (0.9835-0.986 with
    #: the shifts below too).
    decay: bool = True
    #: Shift each training image by up to this many pixels (random, per image and step): more
    #: examples from the same 13,000 (a small subset over-fits within a minute otherwise).
    shift: int = 2
    seed: int = 0
    #: Least time (wall clock) between two Progress events that carry a copy of the weights.
    weights_every: float = 0.1
    #: Training times (seconds) at which to measure test accuracy (Checkpoint events).
    checkpoints: tuple[float, ...] = ()
    #: BLAS threads while a batch is computed (None: leave BLAS alone). One thread is fastest
    #: here: the matrices are small, and OpenBLAS's threads spin against the GUI and anything
    #: else on the machine (bench/train.py on a busy 2-core machine: 7,824 examples/s with
    #: one thread, 622 with OpenBLAS's default of two).
    blas_threads: int | None = 1

    def check(self) -> None:
        """Raise ValueError naming the first unusable setting."""
        if self.epochs < 1:
            raise ValueError("epochs must be at least 1")
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError("seconds must be positive")
        if self.batch_size < 1:
            raise ValueError("batch size must be at least 1")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError("the learning rate must be a positive number")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}")


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Accuracy on a test set, its confusion matrix (rows: true digit, columns: predicted)
    and the indices of the misclassified test images."""

    accuracy: float
    confusion: np.ndarray
    misclassified: np.ndarray
    predictions: np.ndarray


@dataclass(frozen=True, eq=False)
class Progress:
    """After every batch. ``network`` is a copy of the weights, or None between snapshots."""

    step: int
    epoch: int  # 0-based epoch being trained
    examples: int  # examples seen so far
    seconds: float  # training time so far (pauses and evaluations excluded)
    loss: float  # this batch's mean cross-entropy
    accuracy: float  # this batch's accuracy (before the update)
    fraction: float  # of the whole run, in 0..1
    network: Network | None

    @property
    def examples_per_s(self) -> float:
        return self.examples / self.seconds if self.seconds > 0 else 0.0

    @property
    def seconds_left(self) -> float:
        if self.fraction <= 0:
            return math.inf
        return self.seconds * (1 - self.fraction) / self.fraction


@dataclass(frozen=True, eq=False)
class EpochEnd:
    epoch: int
    examples: int
    seconds: float
    mean_loss: float
    test: Evaluation
    network: Network


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """Test accuracy when the training time passed one of ``TrainConfig.checkpoints``."""

    mark: float
    seconds: float
    examples: int
    test: Evaluation
    network: Network


@dataclass(frozen=True, eq=False)
class Finished:
    examples: int
    seconds: float
    test: Evaluation
    network: Network


@dataclass(frozen=True, eq=False)
class Failed:
    """Training could not go on (the loss became NaN or infinite); ``network`` holds the last
    weights that gave a finite loss."""

    message: str
    step: int
    network: Network


Event = Progress | EpochEnd | Checkpoint | Finished | Failed


_THREADPOOLS: ThreadpoolController | None = None


def blas_threads(limit: int | None):
    """A context limiting BLAS to ``limit`` threads (no limit for None); process-wide, so it
    is entered around each computation and never held across a ``yield``."""
    global _THREADPOOLS
    if limit is None:
        return contextlib.nullcontext()
    if _THREADPOOLS is None:
        _THREADPOOLS = ThreadpoolController()
    return _THREADPOOLS.limit(limits=limit, user_api="blas")


def evaluate(
    model_or_network: Model | Network, data: Dataset, threads: int | None = 1
) -> Evaluation:
    """Accuracy, confusion matrix and misclassified indices of a network on ``data``."""
    model = model_or_network if isinstance(model_or_network, Model) else Model(model_or_network)
    with blas_threads(threads), np.errstate(all="ignore"):  # huge weights: NaN, never a crash
        probabilities = model.predict(data.inputs())
    predictions = probabilities.argmax(axis=1)
    confusion = np.zeros((CLASSES, CLASSES), np.int64)
    np.add.at(confusion, (data.labels.astype(np.intp), predictions), 1)
    wrong = np.flatnonzero(predictions != data.labels)
    return Evaluation(
        float(np.mean(predictions == data.labels)), confusion, wrong, predictions.astype(np.uint8)
    )


def train(
    network: Network, train_set: Dataset, test_set: Dataset, config: TrainConfig = TrainConfig()
) -> Iterator[Event]:
    """Train ``network`` (its weights are the starting point) and yield events.

    Raises
    ------
    ValueError
        An unusable config (raised on the first ``next()``).
    NetworkError
        The network does not fit 28x28 one-channel images or does not end in 10 scores.
    """
    config.check()
    model = Model(network)
    optimizer = make_optimizer(config.optimizer, model.params, config.lr)
    rng = np.random.default_rng(config.seed)
    inputs = train_set.inputs()
    labels = train_set.labels.astype(np.intp)
    probe, _, _ = model.forward(inputs[:1])
    if probe.shape != (1, CLASSES):
        raise NetworkError(f"the network must end in {CLASSES} scores, not {probe.shape[1:]}")

    n = len(labels)
    steps_per_epoch = math.ceil(n / config.batch_size)
    marks = sorted(config.checkpoints)
    step = examples = 0
    seconds = 0.0
    last_snapshot = -math.inf
    good = model.copy_params()
    started = time.perf_counter()  # when the generator last resumed training

    def elapsed() -> float:
        return seconds + time.perf_counter() - started

    for epoch in range(config.epochs):
        order = rng.permutation(n)
        loss_sum = 0.0
        for b in range(steps_per_epoch):
            batch = order[b * config.batch_size : (b + 1) * config.batch_size]
            # Overflow is expected when the learning rate is too high; it is caught below.
            with blas_threads(config.blas_threads), np.errstate(all="ignore"):
                x = _shifted(inputs, batch, config.shift, rng)
                loss, grads, logits = model.loss_and_gradients(x, labels[batch])
                finite, in_range = math.isfinite(loss), _in_range(model.params)
                if finite and in_range:  # these weights are usable: keep them, then step
                    good = [p.copy() for p in model.params]
                    optimizer.step(grads)
            if not (finite and in_range):
                what = f"the loss became {loss}" if not finite else "the weights grew too large"
                yield Failed(
                    f"{what} at step {step + 1} (epoch {epoch + 1}): the learning rate "
                    f"{config.lr:g} is probably too high. The last good weights are kept.",
                    step,
                    _network(model, good),
                )
                return
            step += 1
            examples += len(batch)
            done = min(step / (config.epochs * steps_per_epoch), 1.0)
            if config.seconds is not None:
                done = max(done, min(elapsed() / config.seconds, 1.0))
            if config.decay:
                optimizer.lr = decayed_lr(config.lr, done)
            loss_sum += loss
            accuracy = float(np.mean(logits.argmax(axis=1) == labels[batch]))
            now = elapsed()
            snapshot = None
            if time.perf_counter() - last_snapshot >= config.weights_every:
                # None when this update overflowed; the next step reports it.
                snapshot = _network_or_none(model)
                last_snapshot = time.perf_counter()
            seconds = now  # the clock stops while the consumer holds the event
            yield Progress(step, epoch, examples, seconds, loss, accuracy, done, snapshot)
            started = time.perf_counter()
            while marks and elapsed() >= marks[0]:
                seconds, mark = elapsed(), marks.pop(0)
                current = _network_or_none(model) or _network(model, good)
                yield Checkpoint(
                    mark,
                    seconds,
                    examples,
                    evaluate(current, test_set, config.blas_threads),
                    current,
                )
                started = time.perf_counter()
            if config.seconds is not None and elapsed() >= config.seconds:
                break
        seconds = elapsed()  # evaluation time is not training time
        current = _network_or_none(model)
        if current is None:  # the last update overflowed
            yield Failed(
                f"the weights grew too large at step {step}: the learning rate {config.lr:g} "
                "is probably too high. The last good weights are kept.",
                step,
                _network(model, good),
            )
            return
        test = evaluate(current, test_set, config.blas_threads)
        yield EpochEnd(epoch, examples, seconds, loss_sum / max(b + 1, 1), test, current)
        started = time.perf_counter()
        if config.seconds is not None and elapsed() >= config.seconds:
            break
    seconds = elapsed()
    yield Finished(examples, seconds, test, current)


def _network(model: Model, params: list[np.ndarray]) -> Network:
    """``model``'s layers with ``params`` (a saved copy) as weights."""
    saved = model.params
    model.params = params
    try:
        return model.to_network()
    finally:
        model.params = saved


def _network_or_none(model: Model) -> Network | None:
    """A copy of the weights, or None when they left what a network file allows."""
    try:
        return model.to_network()
    except NetworkError:
        return None


def decayed_lr(lr: float, done: float) -> float:
    """Cosine decay from ``lr`` at the start (done=0) to 2% of it at the end (done=1)."""
    return lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * done)))


def _shifted(
    inputs: np.ndarray, batch: np.ndarray, shift: int, rng: np.random.Generator
) -> np.ndarray:
    """``inputs[batch]``, each image moved by its own random (dy, dx) in -shift..shift, with
    zeros coming in at the edges."""
    if shift <= 0:
        return inputs[batch]
    n, h, w = len(batch), inputs.shape[1], inputs.shape[2]
    padded = np.pad(inputs[batch], ((0, 0), (shift, shift), (shift, shift), (0, 0)))
    dy, dx = rng.integers(0, 2 * shift + 1, (2, n))
    rows = dy[:, None] + np.arange(h)  # (n, h)
    cols = dx[:, None] + np.arange(w)  # (n, w)
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def _in_range(params: list[np.ndarray]) -> bool:
    """Finite and small enough for a network file (core.network's MAX_ABS_WEIGHT)."""
    return all(np.abs(p).max(initial=0.0) <= MAX_ABS_WEIGHT for p in params)
