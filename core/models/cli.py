"""The command line of model import: ``convscope layers MODEL`` and ``apply --model``.

``main.py`` parses ``apply``'s arguments and hands ``--model`` runs here; exit codes are
main's: 0 all written, 1 some inputs failed, 2 bad usage or an unusable model file.

``model_process`` turns the model (or one layer) into a network and runs it through the same
per-input writer as ``apply --network``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from core.command_line import EXIT_OK, EXIT_USAGE
from core.models import ModelError, list_conv_layers, read_conv_layer, read_network
from core.network import Network, NetworkError


def layers_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convscope layers",
        description="List the 2-D conv layers of a model file, one per line: "
        "NAME: out x in x kh x kw. Reads Keras (.keras, .h5, .weights.h5), PyTorch state_dict "
        "(.pt, .pth), ONNX (.onnx), safetensors and NumPy (.npy, .npz) files.",
    )
    parser.add_argument("model", type=Path, metavar="MODEL", help="a model file")
    return parser


def run_layers(argv: Sequence[str]) -> int:
    """``convscope layers MODEL``: print each conv layer; exit 2 on an unusable file."""
    try:
        args = layers_parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        infos = list_conv_layers(args.model)
    except ModelError as exc:
        print(f"convscope: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for info in infos:
        print(info.describe())
    return EXIT_OK


def model_network(model: Path, layer: str | None) -> Network:
    """The network ``apply --model`` runs: the chosen layer alone, or the imported chain.

    Raises
    ------
    ModelError
        The file cannot be used, the layer does not exist, or no layer was chosen in a file
        that holds weights only.
    """
    if layer is not None:
        conv = read_conv_layer(model, layer)
        try:
            return Network((conv,), name=f"{model.stem}:{layer}")
        except NetworkError as exc:
            raise ModelError(f"{model.name}: {exc}") from None
    network = read_network(model)
    if network is None:
        names = ", ".join(info.name for info in list_conv_layers(model))
        raise ModelError(
            f"{model.name}: has no first layers ConvScope can run as a chain (the file holds "
            "weights only, or the model does not start with plain conv, activation and pool "
            f"layers); choose one layer with --layer NAME (its conv layers: {names})"
        )
    return network


def model_process(args: argparse.Namespace) -> Callable[..., object] | None:
    """process(path, out_dir=, fmt=, stem=) for ``apply --model``, or None after saying why not.

    The same shape as main's ``--kernel`` and ``--network`` processes, so that one batch loop
    runs all three.
    """
    from core.batch import process_file_network

    try:
        network = model_network(Path(args.model), args.layer)
    except ModelError as exc:
        print(f"convscope: unusable model: {exc}", file=sys.stderr)
        return None
    if network.in_channels not in (None, 1, 3):
        print(
            f"convscope: unusable model: {Path(args.model).name}: its first layer takes "
            f"{network.in_channels} channels, and images give 1 (gray) or 3 (RGB); choose a "
            "first layer with --layer",
            file=sys.stderr,
        )
        return None
    return partial(process_file_network, network=network)
