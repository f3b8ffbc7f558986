"""One step of plain weighted SGD on a linear model, written out in numpy: the independent
reference the weighted mini-batch and partial_fit tests replay the engine against."""

import numpy as np


def weighted_step(X, y, coef, intercept, scale, *, kind, alpha, lr):
    """The batch rows' losses at ``(coef, intercept)`` and the parameters after one step on
    g = Σ scaleᵢ ∇ℓᵢ + α·coef (``kind``: "regression", half squared error, or "binary",
    log-loss on 0/1 targets)."""
    z = X @ coef + intercept
    if kind == "regression":
        losses, r = 0.5 * (z - y) ** 2, z - y
    else:
        losses = np.logaddexp(0.0, z) - y * z
        r = 1.0 / (1.0 + np.exp(-z)) - y
    g_coef = X.T @ (scale * r) + alpha * coef
    return losses, coef - lr * g_coef, intercept - lr * (scale @ r)
