"""Make resources/mnist-subset.npz from the four original MNIST idx files (gzipped).

    python resources/make_mnist_subset.py DIR [--train N] [--test N] [--seed S]

DIR holds train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz
and t10k-labels-idx1-ubyte.gz. Training images come from MNIST's training file only, test
images from its test file only, each a seeded random sample with the same number of every
digit. The result is a compressed uint8 .npz (train_images, train_labels, test_images,
test_labels). MNIST: Yann LeCun and Corinna Cortes, CC BY-SA 3.0 (see MNIST-LICENSE.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.nn.data import DataError, load_idx_pair

OUT = Path(__file__).resolve().parent / "mnist-subset.npz"
MAX_BYTES = 2_500_000


def balanced_sample(labels: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` indices, count/10 of each digit, in random order."""
    per_class = count // 10
    picks = [rng.choice(np.flatnonzero(labels == d), per_class, replace=False) for d in range(10)]
    index = np.concatenate(picks)
    rng.shuffle(index)
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="folder with the four MNIST .gz idx files")
    parser.add_argument("--train", type=int, default=13_000)
    parser.add_argument("--test", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    try:
        train = load_idx_pair(
            args.folder / "train-images-idx3-ubyte.gz", args.folder / "train-labels-idx1-ubyte.gz"
        )
        test = load_idx_pair(
            args.folder / "t10k-images-idx3-ubyte.gz", args.folder / "t10k-labels-idx1-ubyte.gz"
        )
    except DataError as exc:
        print(f"make_mnist_subset: {exc}", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    tr, te = (
        balanced_sample(train.labels, args.train, rng),
        balanced_sample(test.labels, args.test, rng),
    )
    np.savez_compressed(
        args.out,
        train_images=train.images[tr],
        train_labels=train.labels[tr],
        test_images=test.images[te],
        test_labels=test.labels[te],
    )
    size = args.out.stat().st_size
    print(f"{args.out.name}: {len(tr)} train + {len(te)} test images, {size:,} bytes")
    if size > MAX_BYTES:
        print(f"make_mnist_subset: larger than {MAX_BYTES:,} bytes", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
