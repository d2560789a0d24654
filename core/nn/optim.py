"""Optimizers that update a model's parameter arrays in place: Adam and SGD with momentum."""

from __future__ import annotations

import numpy as np


class SGD:
    """Stochastic gradient descent with (heavy-ball) momentum, as ``torch.optim.SGD``:
    ``v = momentum * v + g``; ``p -= lr * v``."""

    def __init__(self, params: list[np.ndarray], lr: float = 0.05, momentum: float = 0.9) -> None:
        self.params, self.lr, self.momentum = params, lr, momentum
        self.velocity = [np.zeros_like(p) for p in params]

    def step(self, grads: list[np.ndarray]) -> None:
        for p, g, v in zip(self.params, grads, self.velocity, strict=True):
            v *= self.momentum
            v += g
            p -= self.lr * v


class Adam:
    """Adam (Kingma and Ba, 2015) with bias correction, as ``torch.optim.Adam``."""

    def __init__(
        self,
        params: list[np.ndarray],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        b1, b2 = self.betas
        step = self.lr * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            # eps scaled as in the bias-corrected form: p -= lr * m_hat / (sqrt(v_hat) + eps)
            p -= (step * m / (np.sqrt(v) + self.eps * np.sqrt(1 - b2**self.t))).astype(p.dtype)


OPTIMIZERS = ("adam", "sgd")


def make_optimizer(name: str, params: list[np.ndarray], lr: float):
    """``adam`` or ``sgd`` (momentum 0.9) over ``params`` with learning rate ``lr``."""
    if name == "adam":
        return Adam(params, lr=lr)
    if name == "sgd":
        return SGD(params, lr=lr)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {name!r}")
