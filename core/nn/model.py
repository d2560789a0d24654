"""A network with mutable weights that runs forward and backward on batches.

:class:`Model` is built from an immutable :class:`core.network.Network`, holds its weights as
a list of arrays the optimizers update in place, and gives back a new ``Network`` (a copy of
the weights) whenever asked, so training results can cross threads safely.
"""

from __future__ import annotations

import numpy as np

import core.nn.ops as ops
from core.network import (
    ActivationLayer,
    ConvLayer,
    DenseLayer,
    FlattenLayer,
    Network,
    NetworkError,
    PoolLayer,
)


class Model:
    """Weights of ``network`` as mutable arrays plus batch forward/backward.

    Parameters
    ----------
    network
        Layers and starting weights.
    dtype
        float32 for training; float64 for gradient checks.

    Attributes
    ----------
    params
        Weights and biases of every conv and dense layer, in layer order (weights, bias).
    """

    def __init__(self, network: Network, dtype: type = np.float32) -> None:
        self.network = network
        self.dtype = np.dtype(dtype)
        self.params: list[np.ndarray] = []
        self._param_index: dict[int, int] = {}  # layer index -> index of its weights in params
        for i, layer in enumerate(network.layers):
            if isinstance(layer, ConvLayer | DenseLayer):
                self._param_index[i] = len(self.params)
                self.params.append(np.array(layer.weights, dtype=self.dtype))
                self.params.append(np.array(layer.bias, dtype=self.dtype))
        layers = network.layers
        # A trailing softmax belongs to the loss: training works on the logits before it.
        self.ends_in_softmax = (
            isinstance(layers[-1], ActivationLayer) and layers[-1].function == "softmax"
        )
        self._logit_layers = len(layers) - 1 if self.ends_in_softmax else len(layers)

    # --- plans -----------------------------------------------------------------------------

    def _plan(self, stop: int, fuse: bool) -> list[int]:
        """Layer indices in execution order. With ``fuse``, a ReLU followed by a max-pool runs
        after the pool instead (the same result, since ReLU is monotonic, on 1/4 the values)."""
        layers = self.network.layers
        order: list[int] = []
        i = 0
        while i < stop:
            layer = layers[i]
            if (
                fuse
                and i + 1 < stop
                and isinstance(layer, ActivationLayer)
                and layer.function == "relu"
                and isinstance(layers[i + 1], PoolLayer)
                and layers[i + 1].mode == "max"
            ):
                order += [i + 1, i]
                i += 2
            else:
                order.append(i)
                i += 1
        return order

    # --- forward / backward ----------------------------------------------------------------

    def forward(
        self, x: np.ndarray, *, fuse: bool = True, keep: bool = False
    ) -> tuple[np.ndarray, list, list[np.ndarray]]:
        """Run the layers up to the logits on a batch ``x`` (B, H, W, C).

        Returns
        -------
        logits, caches, maps
            ``caches`` feed :meth:`backward`; ``maps`` holds every layer's output in layer
            order when ``keep`` is true (then use ``fuse=False`` so each map is that layer's).
        """
        x = np.asarray(x, dtype=self.dtype)
        caches: list = []
        maps: list[np.ndarray] = [None] * self._logit_layers  # type: ignore[list-item]
        for i in self._plan(self._logit_layers, fuse):
            x, cache = self._layer_forward(i, x)
            caches.append((i, cache))
            if keep:
                maps[i] = x
        return x, caches, maps

    def _layer_forward(self, i: int, x: np.ndarray):
        layer = self.network.layers[i]
        where = f"layer {layer.name!r}"
        if isinstance(layer, ConvLayer | PoolLayer) and x.ndim != 4:
            raise NetworkError(f"{where}: needs a map, but the layer before gives a vector")
        if isinstance(layer, ConvLayer):
            if x.shape[3] != layer.in_channels:
                raise NetworkError(
                    f"{where}: takes {layer.in_channels} input channel(s), but its input has "
                    f"{x.shape[3]}"
                )
            spec = ops.conv_spec(
                x.shape[1:3],
                layer.kernel_size,
                layer.stride,
                layer.padding,
                layer.dilation,
                layer.border,
            )
            if min(spec.out_shape) < 1:
                raise NetworkError(f"{where}: the map before it is too small for its kernel")
            p = self._param_index[i]
            return ops.conv_forward(x, self.params[p], self.params[p + 1], spec)
        if isinstance(layer, PoolLayer):
            if min(x.shape[1:3]) < layer.size:
                raise NetworkError(
                    f"{where}: a {layer.size}x{layer.size} window does not fit in the "
                    f"{x.shape[1]}x{x.shape[2]} map before it"
                )
            return ops.pool_forward(x, layer.size, layer.stride, layer.mode)
        if isinstance(layer, ActivationLayer):
            return ops.activation_forward(x, layer.function)
        if isinstance(layer, FlattenLayer):
            return x.reshape(x.shape[0], -1), x.shape
        if isinstance(layer, DenseLayer):
            if x.ndim != 2 or x.shape[1] != layer.in_features:
                raise NetworkError(
                    f"{where}: takes {layer.in_features} inputs, but gets "
                    f"{int(np.prod(x.shape[1:]))} (is the input the size the network was made for?)"
                )
            p = self._param_index[i]
            return ops.dense_forward(x, self.params[p], self.params[p + 1])
        raise NetworkError(f"{where}: unknown layer type")

    def backward(
        self,
        grad: np.ndarray,
        caches: list,
        *,
        input_grad: bool = False,
        output_grads: dict[int, np.ndarray] | None = None,
    ) -> tuple[list[np.ndarray], np.ndarray | None]:
        """Gradients of the loss w.r.t. every parameter (in :attr:`params` order) and, if
        ``input_grad``, w.r.t. the input, from the gradient w.r.t. the logits.

        ``output_grads``, if given, receives the gradient w.r.t. each layer's output, by
        layer index (meaningful per layer with ``fuse=False``).
        """
        grads: list[np.ndarray] = [None] * len(self.params)  # type: ignore[list-item]
        first = caches[0][0] if caches else 0
        for i, cache in reversed(caches):
            layer = self.network.layers[i]
            if output_grads is not None:
                output_grads[i] = grad
            # The first layer's input gradient is not needed to train (it is the image).
            need = input_grad or i != first
            if isinstance(layer, ConvLayer | DenseLayer):
                backward = ops.conv_backward if isinstance(layer, ConvLayer) else ops.dense_backward
                grad, gw, gb = backward(grad, cache, need)
                p = self._param_index[i]
                grads[p], grads[p + 1] = gw, gb
            elif isinstance(layer, PoolLayer):
                grad = ops.pool_backward(grad, cache)
            elif isinstance(layer, ActivationLayer):
                grad = ops.activation_backward(grad, cache)
            elif isinstance(layer, FlattenLayer):
                grad = grad.reshape(cache)
        return grads, (grad if input_grad else None)

    def loss_and_gradients(
        self, x: np.ndarray, labels: np.ndarray
    ) -> tuple[float, list[np.ndarray], np.ndarray]:
        """Mean cross-entropy on a batch, the parameters' gradients and the logits."""
        logits, caches, _ = self.forward(x)
        self._check_classes(logits)
        loss, grad, _ = ops.cross_entropy(logits, labels)
        grads, _ = self.backward(grad, caches)
        return loss, grads, logits

    def predict(self, x: np.ndarray, batch: int = 500) -> np.ndarray:
        """Class probabilities (N, K) for images ``x`` (N, H, W, C), in batches."""
        out = []
        for start in range(0, len(x), batch):
            logits, _, _ = self.forward(x[start : start + batch])
            out.append(ops.softmax(logits))
        return np.concatenate(out) if out else np.zeros((0, 0), self.dtype)

    def _check_classes(self, logits: np.ndarray) -> None:
        if logits.ndim != 2:
            raise NetworkError(
                "the network must end in a dense layer giving one score per class "
                "(add flatten and dense layers)"
            )

    # --- weights out -----------------------------------------------------------------------

    def to_network(self) -> Network:
        """A new immutable :class:`Network` holding a copy of the current weights."""
        layers = list(self.network.layers)
        for i, p in self._param_index.items():
            layer = layers[i]
            layers[i] = _with_weights(layer, self.params[p], self.params[p + 1])
        return Network(tuple(layers), name=self.network.name)

    def copy_params(self) -> list[np.ndarray]:
        return [p.copy() for p in self.params]


def _with_weights(layer, weights: np.ndarray, bias: np.ndarray):
    if isinstance(layer, ConvLayer):
        return ConvLayer(
            weights,
            bias,
            stride=layer.stride,
            padding=layer.padding,
            dilation=layer.dilation,
            border=layer.border,
            name=layer.name,
        )
    return DenseLayer(weights, bias, name=layer.name)
