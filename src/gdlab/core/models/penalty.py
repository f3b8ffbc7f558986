"""Elastic-net penalty on the weights (never on intercepts).

    R(w) = α (ρ ‖w‖₁ + ½ (1 − ρ) ‖w‖²)        (α = alpha, ρ = l1_ratio)
    ∂R/∂w = α (ρ sign(w) + (1 − ρ) w)         (sign(0) = 0: a subgradient)
"""

from __future__ import annotations

import numpy as np


def add_penalty(
    params: list[np.ndarray],
    mask: list[bool],
    alpha: float,
    l1_ratio: float,
    grads: list[np.ndarray] | None = None,
) -> float:
    """Return R(params) and add ∂R/∂params into ``grads`` (when given) for masked tensors."""
    if not alpha:
        return 0.0
    total = 0.0
    for i, (p, is_weight) in enumerate(zip(params, mask, strict=True)):
        if not is_weight:
            continue
        if l1_ratio:
            total += alpha * l1_ratio * float(np.abs(p).sum())
        if l1_ratio != 1.0:
            total += 0.5 * alpha * (1.0 - l1_ratio) * float(np.vdot(p, p))
        if grads is not None:
            if l1_ratio:
                grads[i] += (alpha * l1_ratio) * np.sign(p)
            if l1_ratio != 1.0:
                grads[i] += (alpha * (1.0 - l1_ratio)) * p
    return total
