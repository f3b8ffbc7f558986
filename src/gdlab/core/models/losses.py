"""Per-sample losses on the model's raw outputs, and their gradients.

Each loss maps raw outputs ``Z`` (n × k) and targets ``y`` to the weighted mean loss
``Σᵢ wᵢ ℓᵢ`` (the weights ``w`` are normalised to sum to 1 by the caller) and the
gradient ``∂/∂Z`` of that mean, which the model back-propagates.

* ``squared_error``: ℓ = ½ (z − y)²                       ∂ℓ/∂z = z − y
* ``huber(ε)``:       ℓ = ½ r² if |r| ≤ ε else ε(|r| − ½ε)  ∂ℓ/∂z = clip(r, −ε, ε)
* ``log_loss`` (binary, one logit z, y ∈ {0, 1}):  ℓ = log(1 + eᶻ) − y z, computed as
  ``logaddexp(0, z)``; ∂ℓ/∂z = σ(z) − y
* ``log_loss`` (multinomial, K logits): ℓ = logsumexp(z) − z_y with the max subtracted;
  ∂ℓ/∂z = softmax(z) − onehot(y)
"""

from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) without overflow for large |z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax with the max subtracted."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax (logsumexp with the max subtracted)."""
    s = z - z.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


class SquaredError:
    """½ (ŷ − y)² per sample (as scikit-learn's SGD)."""

    name = "squared_error"

    def value_grad(self, Z: np.ndarray, y: np.ndarray, w: np.ndarray, grad: bool = True):
        r = Z - y.reshape(Z.shape)
        loss = 0.5 * float(w @ np.einsum("ij,ij->i", r, r))
        if not grad:
            return loss, None
        r *= w[:, None]
        return loss, r


class Huber:
    """Huber loss with threshold ``epsilon``: quadratic within ε, linear beyond."""

    name = "huber"

    def __init__(self, epsilon: float = 1.0):
        self.epsilon = float(epsilon)

    def value_grad(self, Z: np.ndarray, y: np.ndarray, w: np.ndarray, grad: bool = True):
        eps = self.epsilon
        r = Z - y.reshape(Z.shape)
        a = np.abs(r)
        per = np.where(a <= eps, 0.5 * r * r, eps * (a - 0.5 * eps)).sum(axis=1)
        loss = float(w @ per)
        if not grad:
            return loss, None
        np.clip(r, -eps, eps, out=r)
        r *= w[:, None]
        return loss, r


class BinaryLogLoss:
    """Binary cross-entropy on one logit: log(1 + eᶻ) − y z."""

    name = "log_loss"

    def value_grad(self, Z: np.ndarray, y: np.ndarray, w: np.ndarray, grad: bool = True):
        z = Z[:, 0]
        yy = y.astype(Z.dtype, copy=False)
        per = np.logaddexp(0.0, z) - yy * z
        loss = float(w @ per)
        if not grad:
            return loss, None
        g = sigmoid(z) - yy
        g *= w
        return loss, g[:, None]


class MultinomialLogLoss:
    """Multinomial cross-entropy: logsumexp(z) − z_y (y holds class indices)."""

    name = "log_loss"

    def value_grad(self, Z: np.ndarray, y: np.ndarray, w: np.ndarray, grad: bool = True):
        idx = y.astype(np.intp, copy=False)
        rows = np.arange(Z.shape[0])
        logp = log_softmax(Z)
        loss = -float(w @ logp[rows, idx])
        if not grad:
            return loss, None
        g = np.exp(logp, out=logp)
        g[rows, idx] -= 1.0
        g *= w[:, None]
        return loss, g


def make_loss(name: str, n_outputs: int, epsilon: float = 1.0):
    """The loss object for a name and the number of raw outputs."""
    if name == "squared_error":
        return SquaredError()
    if name == "huber":
        return Huber(epsilon)
    if name == "log_loss":
        return BinaryLogLoss() if n_outputs == 1 else MultinomialLogLoss()
    raise ValueError(f"loss {name!r} is unknown; use squared_error, huber or log_loss")
