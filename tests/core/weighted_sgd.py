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


def start_intercept(y, w, *, kind):
    """The engine's starting intercept (``intercept_init``'s default): 0 for regression; for
    "binary" the log-odds of the weighted share p of class 1, each class's share floored at
    0.5 / n (n the rows with weight) as for a class absent from the rows."""
    if kind == "regression":
        return 0.0
    n = np.count_nonzero(w > 0)
    p = w @ y / w.sum()
    return float(np.log(max(p, 0.5 / n)) - np.log(max(1.0 - p, 0.5 / n)))
