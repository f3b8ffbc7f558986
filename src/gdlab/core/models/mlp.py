"""Multi-layer perceptron with analytic back-propagation.

Parameters are ``[W₁, b₁, …, W_L, b_L]``; hidden layers use ``activation``, the output
layer is affine (the loss applies the link). Weights start Glorot-uniform,
``U(−√(f/(fan_in + fan_out)), +√(…))`` with f = 6 (2 for the logistic activation, as
scikit-learn), seeded by the estimator's ``random_state``; biases start at zero.

    forward:   A₀ = X;  Zₗ = Aₗ₋₁ Wₗ + bₗ;  Aₗ = act(Zₗ) (identity on the last layer)
    backward:  ∂Wₗ = Aₗ₋₁ᵀ ∂Zₗ;  ∂bₗ = 1ᵀ ∂Zₗ;  ∂Zₗ₋₁ = (∂Zₗ Wₗᵀ) ⊙ act′(Zₗ₋₁)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gdlab.core.models.losses import sigmoid
from gdlab.core.sparse import t_matmul_into

ACTIVATIONS = ("relu", "tanh", "logistic")


def _activate(name: str, Z: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.maximum(Z, 0.0)
    if name == "tanh":
        return np.tanh(Z)
    return sigmoid(Z)


def _derivative_inplace(name: str, A: np.ndarray, dA: np.ndarray) -> None:
    """dA ← dA ⊙ act′ expressed through the activation's output A."""
    if name == "relu":
        dA[A <= 0] = 0.0
    elif name == "tanh":
        dA *= 1.0 - A * A
    else:
        dA *= A * (1.0 - A)


class MLP:
    """Fully connected network with ``hidden_layer_sizes`` hidden units."""

    def __init__(self, hidden_layer_sizes: Sequence[int] = (100,), activation: str = "relu"):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation {activation!r} is unknown; use one of {ACTIVATIONS}")
        self.hidden_layer_sizes = tuple(int(h) for h in hidden_layer_sizes)
        if any(h < 1 for h in self.hidden_layer_sizes):
            raise ValueError(f"hidden_layer_sizes must be positive, got {hidden_layer_sizes!r}")
        self.activation = activation

    def init_params(self, n_features, n_outputs, rng, dtype):
        sizes = [n_features, *self.hidden_layer_sizes, n_outputs]
        factor = 2.0 if self.activation == "logistic" else 6.0
        params = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            bound = np.sqrt(factor / (fan_in + fan_out))
            params.append(rng.uniform(-bound, bound, size=(fan_in, fan_out)).astype(dtype))
            params.append(np.zeros(fan_out, dtype=dtype))
        return params

    def forward(self, params, X):
        activations = [X]
        A = X
        n_layers = len(params) // 2
        for layer in range(n_layers):
            W, b = params[2 * layer], params[2 * layer + 1]
            Z = A @ W
            Z += b
            A = Z if layer == n_layers - 1 else _activate(self.activation, Z)
            activations.append(A)
        return A, activations

    def backward(self, params, cache, dZ, grads):
        activations = cache
        n_layers = len(params) // 2
        for layer in range(n_layers - 1, -1, -1):
            A_prev = activations[layer]
            t_matmul_into(A_prev, dZ, grads[2 * layer])  # A₀ = X may be scipy.sparse
            np.sum(dZ, axis=0, out=grads[2 * layer + 1])
            if layer > 0:
                dA = dZ @ params[2 * layer].T
                _derivative_inplace(self.activation, A_prev, dA)
                dZ = dA

    def penalized(self, params):
        return [i % 2 == 0 for i in range(len(params))]
