"""ConvScope entry point: the window by default, ``apply`` for batch work.

convscope [IMAGE] [--kernel PRESET|FILE.json] [--screenshot PATH]
convscope apply INPUT... --kernel PRESET|FILE.json --out DIR [options]
convscope apply INPUT... --network PRESET|NET.json --out DIR [--format png|tiff|npy]
convscope apply INPUT... --model MODEL [--layer NAME] --out DIR [--format png|tiff|npy]
convscope layers MODEL
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from core.command_line import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, positive_int

# Options that shape the single kernel's layer; a network file or preset carries its own.
KERNEL_ONLY_OPTIONS = (
    "--padding", "--border", "--stride", "--dilation", "--activation", "--pool", "--color",
)  # fmt: skip


def _padding(text: str) -> str | int:
    if text in ("same", "valid", "full"):
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not 'same', 'valid', 'full' or a number of pixels"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError("padding must be >= 0")
    return value


def _pool(text: str) -> tuple[str, int]:
    if text == "none":
        return "none", 2
    mode, _, size = text.partition(":")
    if mode not in ("max", "avg", "min") or not size:
        raise argparse.ArgumentTypeError(f"{text!r}: use none, max:N, avg:N or min:N")
    return mode, positive_int(size)


def batch_parser() -> argparse.ArgumentParser:
    from core.ops import ACTIVATIONS, BORDERS

    parser = argparse.ArgumentParser(
        prog="convscope apply",
        description="Convolve (and pool) image files with one kernel or a network and write the "
        "results. With --kernel: DIR/<stem>_conv.<ext> (the convolution, before the activation) "
        "and DIR/<stem>_pooled.<ext> (the pooled activation; <stem>_activated with --pool "
        "none). With --network: DIR/<stem>_<layer name>.<ext> for every layer.",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--kernel", help="a preset name or a kernel JSON file")
    what.add_argument(
        "--network",
        help="a network preset (e.g. keras-conv32-maxpool, two-layer-field, random-16) or a "
        "network JSON file; the other layer options do not apply",
    )
    what.add_argument(
        "--model",
        type=Path,
        help="a model file (Keras, PyTorch, ONNX, safetensors, NumPy): runs its first "
        "conv/activation/pool layers, or the one named by --layer",
    )
    parser.add_argument("--layer", metavar="NAME", help="with --model: run this conv layer only")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.add_argument(
        "--format",
        choices=("png", "tiff", "npy"),
        default="png",
        help="png: as displayed (colormap; a labelled grid per network layer); tiff/npy: raw "
        "float32 values ((H, W, C) stacks for networks; TIFF: one page per channel)",
    )
    parser.add_argument("--padding", type=_padding, default="same", help="same|valid|full|N")
    parser.add_argument("--border", choices=BORDERS, default="zero")
    parser.add_argument("--stride", type=positive_int, default=1)
    parser.add_argument("--dilation", type=positive_int, default=1)
    parser.add_argument("--activation", choices=ACTIVATIONS, default="relu")
    parser.add_argument("--pool", type=_pool, default=("max", 2), help="none|max:N|avg:N|min:N")
    parser.add_argument(
        "--color",
        choices=("gray", "rgb"),
        default="gray",
        help="gray: one grayscale map; rgb: filter R, G and B separately",
    )
    return parser


def _kernel_process(args: argparse.Namespace) -> Callable[..., object] | None:
    """process(path, out_dir=, fmt=, stem=) for --kernel, or None after saying why not."""
    from core.batch import process_file
    from core.kernels import KernelError, resolve_kernel
    from core.pipeline import PipelineSettings

    try:
        kernel = resolve_kernel(args.kernel)
    except KernelError as exc:
        print(f"convscope: unusable kernel: {exc}", file=sys.stderr)
        return None
    pool_mode, pool_size = args.pool
    settings = PipelineSettings(
        padding=args.padding,
        border=args.border,
        stride=args.stride,
        dilation=args.dilation,
        activation=args.activation,
        pool_mode=pool_mode,
        pool_size=pool_size,
        color="per-channel" if args.color == "rgb" else "gray",
    )
    return partial(process_file, kernel=kernel, settings=settings)


def _network_process(args: argparse.Namespace) -> Callable[..., object] | None:
    """process(path, out_dir=, fmt=, stem=) for --network, or None after saying why not."""
    from core.batch import process_file_network
    from core.network import NetworkError
    from core.network.presets import resolve_network

    try:
        network = resolve_network(args.network)
    except NetworkError as exc:
        print(f"convscope: unusable network: {exc}", file=sys.stderr)
        return None
    return partial(process_file_network, network=network)


def run_batch(argv: Sequence[str]) -> int:
    parser = batch_parser()
    args = parser.parse_args(argv)  # exits with status 2 on a usage error

    from core.batch import BatchError, expand_inputs

    if args.layer is not None and args.model is None:
        print("convscope: --layer needs --model", file=sys.stderr)
        return EXIT_USAGE
    given = sorted({a.split("=")[0] for a in argv} & set(KERNEL_ONLY_OPTIONS))
    if given and args.kernel is None:
        print(
            f"convscope: {', '.join(given)} only apply with --kernel (a network or a model "
            "brings its own layers)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.model is not None:
        from core.models.cli import model_process

        process = model_process(args)
    elif args.network:
        process = _network_process(args)
    else:
        process = _kernel_process(args)
    if process is None:
        return EXIT_USAGE
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"convscope: cannot create output folder {args.out}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    from core.batch import OutputFolderError, prepare_output_folder

    try:
        removed = prepare_output_folder(args.out)
    except OutputFolderError as exc:
        print(f"convscope: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if removed:
        files = "file" if len(removed) == 1 else "files"
        print(
            f"convscope: removed {len(removed)} temporary {files} an interrupted run left in "
            f"{args.out}",
            file=sys.stderr,
        )

    items = list(expand_inputs(args.inputs))
    show_progress = len(items) > 5
    failures = 0
    used_stems: set[str] = set()
    for n, item in enumerate(items, 1):
        if show_progress:
            print(f"[{n}/{len(items)}] {item.path}", file=sys.stderr)
        if item.problem:
            print(f"convscope: {item.path}: {item.problem}", file=sys.stderr)
            failures += 1
            continue
        stem, k = item.path.stem, 2
        while stem in used_stems:  # two inputs named alike must not overwrite each other
            stem, k = f"{item.path.stem}-{k}", k + 1
        used_stems.add(stem)
        try:
            process(item.path, out_dir=args.out, fmt=args.format, stem=stem)
        except BatchError as exc:
            print(f"convscope: {exc}", file=sys.stderr)
            failures += 1
        except OutputFolderError as exc:  # e.g. the disk filled up: no later input can succeed
            print(f"convscope: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:  # Ctrl+C: the file being written was already cleaned up
            print(f"convscope: interrupted at {item.path}", file=sys.stderr)
            return 130  # the shell's code for a command stopped by Ctrl+C (128 + SIGINT)
    if show_progress:
        print(
            f"done: {len(items) - failures} of {len(items)} inputs written to {args.out}",
            file=sys.stderr,
        )
    return EXIT_SOME_FAILED if failures else EXIT_OK


def gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convscope",
        description="See what a convolutional neural network sees. "
        "Run 'convscope apply --help' for the batch command.",
    )
    parser.add_argument("image", nargs="?", type=Path, help="image to open (default: a sample)")
    parser.add_argument("--image", dest="image_opt", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--kernel", help="a preset name or a kernel JSON file to start with")
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="PATH",
        help="render the window offscreen at 1600x1000 to PATH (PNG) and exit",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Our own messages name the file and the reason; OpenCV's decoder warnings only add noise.
    # (Read by OpenCV when it is first imported, which happens below.)
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["apply"]:
            return run_batch(argv[1:])
        if argv[:1] == ["layers"]:
            from core.models.cli import run_layers

            return run_layers(argv[1:])
        if argv[:1] in (["train"], ["evaluate"], ["predict"]):
            from core.nn.cli import COMMANDS

            return COMMANDS[argv[0]](argv[1:])
        args = gui_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    args.image = args.image_opt or args.image
    from ui.app import run_app

    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())
