"""A live snapshot's network files: every layer raw and as a labelled grid, and the network.

The frame and the single layer's outputs are written by "Export all" (``ui.saving``); this
adds, beside them, what a network frame holds: per layer ``<stem>_network_<layer>.npy`` (the
raw float32 ``(H, W, C)`` map, or ``(N,)`` for a vector), ``<stem>_network_<layer>.png`` (the
labelled grid of ``core.network.outputs.write_outputs``, every unit at full size), and
``<stem>_network.json`` (the network that made them). The ``network_`` part keeps a layer
named "conv" or "input" from replacing the single layer's files. Every file is written
atomically.
"""

from __future__ import annotations

from pathlib import Path

from core.network.display import NetworkResult
from core.network.files import save_network
from core.network.outputs import write_outputs

__all__ = ["write_network_snapshot"]


def write_network_snapshot(result: NetworkResult, folder: str | Path, stem: str) -> list[Path]:
    """Write every layer of ``result`` (raw ``.npy`` and ``.png`` grid) and its network file.

    Returns
    -------
    list of Path
        The files written, layer by layer (npy files, then png grids, then the network).

    Raises
    ------
    core.images.SaveError or OSError
        A file could not be written (those before it stay).
    """
    folder = Path(folder)
    network_stem = f"{stem}_network"
    written = write_outputs(result.outputs, folder, network_stem, "npy")
    written += write_outputs(result.outputs, folder, network_stem, "png")
    network_path = folder / f"{network_stem}.json"
    save_network(result.network, network_path)
    written.append(network_path)
    return written
