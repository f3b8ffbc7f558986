"""Linear models: Z = X W + b (linear regression, logistic and softmax regression).

``X`` may be a scipy.sparse CSR matrix (see :mod:`gdlab.core.sparse`).

Parameters are ``[W, b]`` with ``W`` of shape (n_features, n_outputs), initialised to zero.

    ∂L/∂W = Xᵀ ∂L/∂Z        ∂L/∂b = 1ᵀ ∂L/∂Z
"""

from __future__ import annotations

import numpy as np

from gdlab.core.sparse import t_matmul_into


class LinearModel:
    """Affine map of the features; the loss decides regression or classification."""

    def init_params(self, n_features, n_outputs, rng, dtype):
        return [np.zeros((n_features, n_outputs), dtype=dtype), np.zeros(n_outputs, dtype=dtype)]

    def forward(self, params, X):
        W, b = params
        Z = X @ W
        Z += b
        return Z, X

    def backward(self, params, cache, dZ, grads):
        X = cache
        t_matmul_into(X, dZ, grads[0])  # X may be scipy.sparse (CSR)
        np.sum(dZ, axis=0, out=grads[1])

    def penalized(self, params):
        return [True, False]
