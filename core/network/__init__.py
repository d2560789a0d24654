"""Networks: an ordered list of conv, activation, pool, flatten and dense layers.

The contract the window, the batch command and outside checks rely on::

    network = load_network("net.json")        # or Network((ConvLayer(w), PoolLayer()))
    outputs = run_network(image, network)     # one LayerOutput per layer
    outputs[i].map                            # float32 (H, W, C), or (N,) after flatten
    outputs[i].geometry                       # PaneGeometry (None for vectors)
    network.save("copy.json")
"""

from core.network.files import load_network, network_from_dict, save_network
from core.network.geometry import PaneGeometry
from core.network.layers import (
    ActivationLayer,
    ConvLayer,
    DenseLayer,
    FlattenLayer,
    Layer,
    Network,
    NetworkError,
    PoolLayer,
)
from core.network.run import LayerOutput, network_geometry, run_layer, run_network

__all__ = [
    "ActivationLayer",
    "ConvLayer",
    "DenseLayer",
    "FlattenLayer",
    "Layer",
    "LayerOutput",
    "Network",
    "NetworkError",
    "PaneGeometry",
    "PoolLayer",
    "load_network",
    "network_from_dict",
    "network_geometry",
    "run_layer",
    "run_network",
    "save_network",
]
