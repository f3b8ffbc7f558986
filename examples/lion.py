"""Example plug-in optimisers for gdlab: Lion and signSGD / Signum, in a user's own file.

Name them by import path in params.yaml — no edit to gdlab::

    optimizer:
      name: "examples.lion:lion"       # this file, relative to the project root
      learning_rate: 0.001             # Lion wants a 3-10x smaller step than Adam
      params: {b1: 0.9, b2: 0.99, weight_decay: 0.0}

An optimiser is a factory returning a :class:`~gdlab.core.optim.GradientTransformation`,
a pair of functions (optax's shape, numpy buffers):

* ``init(params) -> state``: ``params`` is a list of numpy arrays, one per parameter tensor;
* ``update(grads, state, params, learning_rate) -> (updates, state)``: the updates are *added*
  to the parameters, so the last step is usually ``scale_by_learning_rate()`` (``u ← −γ u``).
  ``grads`` may be overwritten in place and returned; ``learning_rate`` is the scheduled
  value of the current epoch.

Keep the state plain (tuples and lists of numpy arrays): the fitted model is saved with skops,
which trusts only numpy, scikit-learn and gdlab types. See docs/plugins.md.
"""

from __future__ import annotations

import numpy as np

from gdlab.core.optim import (
    GradientTransformation,
    chain,
    decoupled_weight_decay,
    scale_by_learning_rate,
)


def scale_by_lion(b1: float = 0.9, b2: float = 0.99) -> GradientTransformation:
    r"""The direction of Lion (Chen et al. 2023, "Symbolic Discovery of Optimization
    Algorithms", Algorithm 2).

    .. code-block:: text

        c ← β₁ m + (1 − β₁) g          (interpolation, used for this step)
        u ← sign(c)
        m ← β₂ m + (1 − β₂) g          (momentum, kept for the next step)
    """
    if not (0.0 <= b1 <= 1.0 and 0.0 <= b2 <= 1.0):
        raise ValueError(f"lion: b1 and b2 must lie in [0, 1], got {b1}, {b2}")

    def init(params):
        return ([np.zeros_like(p) for p in params],)

    def update(grads, state, params, learning_rate):
        (momentum,) = state
        for g, m in zip(grads, momentum, strict=True):
            c = b1 * m + (1.0 - b1) * g
            m *= b2
            m += (1.0 - b2) * g
            np.sign(c, out=g)
        return grads, (momentum,)

    return GradientTransformation(init, update)


def lion(b1: float = 0.9, b2: float = 0.99, weight_decay: float = 0.0) -> GradientTransformation:
    r"""Lion: sign of an interpolated momentum, decoupled weight decay.

    .. code-block:: text

        θ ← θ − γ λ θ                             (weight_decay λ, decoupled)
        c ← β₁ m + (1 − β₁) g ;  θ ← θ − γ sign(c)
        m ← β₂ m + (1 − β₂) g
    """
    return chain(
        decoupled_weight_decay(weight_decay), scale_by_lion(b1, b2), scale_by_learning_rate()
    )


def sign_sgd(momentum: float = 0.0) -> GradientTransformation:
    r"""signSGD (Bernstein et al. 2018); with ``momentum`` β > 0 it is Signum.

    .. code-block:: text

        m ← β m + (1 − β) g   (m = g when β = 0)
        θ ← θ − γ sign(m)
    """
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"sign_sgd: momentum must lie in [0, 1), got {momentum}")
    return chain(scale_by_lion(b1=momentum, b2=momentum), scale_by_learning_rate())
