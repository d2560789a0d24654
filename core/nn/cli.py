"""The ``train``, ``evaluate`` and ``predict`` commands (``convscope train ...``).

Each ``run_*`` takes the arguments after the command name and returns the exit status:
0 done, 1 some inputs failed (or training diverged), 2 a usage error or an unusable model or
data. Progress goes to stderr; the result lines to stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from core.command_line import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    positive_float,
    positive_int,
    print_error,
)


def train_parser() -> argparse.ArgumentParser:
    from core.nn.optim import OPTIMIZERS
    from core.nn.presets import PRESETS

    parser = argparse.ArgumentParser(
        prog="convscope train",
        description="Train a small CNN on digits and save it as a network file. The test "
        "accuracy is measured on the bundled MNIST test images.",
    )
    parser.add_argument(
        "--data",
        default="mnist",
        help="mnist (the bundled subset), synthetic (drawn digits), or a folder holding an "
        "MNIST idx pair or class subfolders 0/ .. 9/",
    )
    parser.add_argument(
        "--network",
        default="default",
        help=f"a preset ({', '.join(PRESETS)}) or a network JSON file (without dense layers, "
        "a classifier head is added)",
    )
    parser.add_argument(
        "--epochs", type=positive_int, help="default 1, or as many as --seconds allows"
    )
    parser.add_argument("--seconds", type=positive_float, help="stop after this much training time")
    parser.add_argument("--batch", type=positive_int, default=64)
    parser.add_argument("--lr", type=positive_float, default=0.002, help="learning rate")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, type=Path, metavar="MODEL.json")
    return parser


def _network_for_training(spec: str, seed: int):
    from core.network import load_network
    from core.nn.presets import PRESETS, as_classifier, preset_network

    if spec in PRESETS:
        return preset_network(spec, seed)
    return as_classifier(load_network(spec), seed=seed)


def run_train(argv: Sequence[str]) -> int:
    args = train_parser().parse_args(argv)  # exits with status 2 on a usage error

    from core.batch import OutputFolderError, prepare_output_folder
    from core.images import SaveError
    from core.network import NetworkError, save_network
    from core.nn.data import DataError, load_training_data
    from core.nn.training import EpochEnd, Failed, Finished, Progress, TrainConfig, train

    try:
        network = _network_for_training(args.network, args.seed)
        train_set, test_set = load_training_data(args.data, args.seed)
    except (NetworkError, DataError) as exc:
        print_error(f"unusable {'data' if isinstance(exc, DataError) else 'network'}: {exc}")
        return EXIT_USAGE
    try:  # a model that cannot be saved is found now, not after minutes of training
        prepare_output_folder(Path(args.out).resolve().parent)
    except OutputFolderError as exc:
        print_error(str(exc))
        return EXIT_USAGE
    if args.epochs is None:
        args.epochs = 1 if args.seconds is None else 1_000_000
    config = TrainConfig(
        epochs=args.epochs,
        seconds=args.seconds,
        batch_size=args.batch,
        lr=args.lr,
        optimizer=args.optimizer,
        seed=args.seed,
        weights_every=float("inf"),  # the command only needs the final weights
    )
    print(f"training {network.name} on {train_set.name} ({len(train_set)} images)", file=sys.stderr)
    last_print = 0.0
    result, status = None, EXIT_OK
    try:
        for event in train(network, train_set, test_set, config):
            if isinstance(event, Progress) and time.monotonic() - last_print >= 1.0:
                last_print = time.monotonic()
                print(
                    f"epoch {event.epoch + 1} {event.fraction:4.0%} "
                    f"loss {event.loss:.3f} {event.examples_per_s:,.0f} examples/s",
                    file=sys.stderr,
                )
            elif isinstance(event, EpochEnd):
                print(
                    f"epoch {event.epoch + 1}: test accuracy {event.test.accuracy:.4f}",
                    file=sys.stderr,
                )
            elif isinstance(event, Finished):
                result = event
            elif isinstance(event, Failed):
                print_error(event.message)
                result, status = event, EXIT_SOME_FAILED
    except NetworkError as exc:  # found on the first batch: the network does not fit digits
        print_error(f"unusable network: {exc}")
        return EXIT_USAGE
    assert result is not None
    try:
        save_network(result.network, args.out)
    except (SaveError, OSError) as exc:
        print_error(str(exc))
        return EXIT_USAGE
    print(f"saved {args.out}", file=sys.stderr)
    if isinstance(result, Finished):
        print(
            f"trained: examples={result.examples} seconds={result.seconds:.1f} "
            f"test_accuracy={result.test.accuracy:.4f}"
        )
    return status


def _load_model(path: str):
    """The network of a model file, checked to classify 28x28 digits; NetworkError if not."""
    import numpy as np

    from core.network import NetworkError, load_network
    from core.nn.model import Model

    model = Model(load_network(path))
    logits, _, _ = model.forward(np.zeros((1, 28, 28, 1), np.float32))
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise NetworkError("the network must end in a dense layer giving one score per class")
    return model


def run_evaluate(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="convscope evaluate", description="Accuracy of a trained model on digit data."
    )
    parser.add_argument("model", metavar="MODEL.json")
    parser.add_argument(
        "--data", default="mnist", help="mnist (bundled test images) or a data folder"
    )
    args = parser.parse_args(argv)

    from core.network import NetworkError
    from core.nn.data import DataError, load_evaluation_data
    from core.nn.training import evaluate

    try:
        model = _load_model(args.model)
    except NetworkError as exc:
        print_error(f"unusable model: {exc}")
        return EXIT_USAGE
    try:
        data = load_evaluation_data(args.data)
    except DataError as exc:
        print_error(f"unusable data: {exc}")
        return EXIT_USAGE
    result = evaluate(model, data)
    print(f"accuracy={result.accuracy:.4f} n={len(data)}")
    return EXIT_OK


def run_predict(argv: Sequence[str]) -> int:
    from core.nn.digits import POLARITIES

    parser = argparse.ArgumentParser(
        prog="convscope predict",
        description="Classify digit pictures (any size; prepared as MNIST was: ink cropped, "
        "fitted in 20x20, centred by mass in 28x28).",
    )
    parser.add_argument("model", metavar="MODEL.json")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    parser.add_argument("--polarity", choices=POLARITIES, default="auto")
    args = parser.parse_args(argv)

    from core.batch import expand_inputs
    from core.images import load_image
    from core.network import NetworkError
    from core.nn.why import ask_why

    try:
        model = _load_model(args.model)
    except NetworkError as exc:
        print_error(f"unusable model: {exc}")
        return EXIT_USAGE
    failures = 0
    for item in expand_inputs(args.images):
        try:
            if item.problem:
                raise ValueError(item.problem)
            why = ask_why(model, load_image(item.path), polarity=args.polarity)
        except ValueError as exc:  # ImageError is a ValueError
            print_error(f"{item.path}: {getattr(exc, 'reason', exc)}")
            failures += 1
            continue
        p = float(why.probabilities[why.predicted])
        print(f"{item.path}: {why.predicted} p={p:.3f}")
    return EXIT_SOME_FAILED if failures else EXIT_OK


COMMANDS = {"train": run_train, "evaluate": run_evaluate, "predict": run_predict}
