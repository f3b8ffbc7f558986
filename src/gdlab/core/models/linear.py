"""Linear models: Z = X W + b (linear regression, logistic and softmax regression).

Parameters are ``[W, b]`` with ``W`` of shape (n_features, n_outputs), initialised to zero.

    ∂L/∂W = Xᵀ ∂L/∂Z        ∂L/∂b = 1ᵀ ∂L/∂Z
"""

from __future__ import annotations

import numpy as np


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
        np.matmul(X.T, dZ, out=grads[0])
        np.sum(dZ, axis=0, out=grads[1])

    def penalized(self, params):
        return [True, False]
