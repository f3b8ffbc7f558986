"""The contract every model family follows, and the objective built on it.

A model is an object with

* ``init_params(n_features, n_outputs, rng, dtype) -> list[ndarray]``
* ``forward(params, X) -> (Z, cache)``: raw outputs ``Z`` (n × n_outputs) and whatever
  ``backward`` needs
* ``backward(params, cache, dZ, grads) -> None``: write ∂loss/∂params into ``grads``
  (one buffer per parameter) given ``dZ`` = ∂loss/∂Z
* ``penalized(params) -> list[bool]``: which tensors are weights (penalised), not intercepts

A user's own model (``model="package.module:factory"``) implements the same four methods.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from gdlab.core.models.penalty import add_penalty


class Model(Protocol):
    """The four methods of a model family (see the module docstring)."""

    def init_params(
        self, n_features: int, n_outputs: int, rng: np.random.Generator, dtype: np.dtype
    ) -> list[np.ndarray]: ...

    def forward(self, params: list[np.ndarray], X: np.ndarray) -> tuple[np.ndarray, object]: ...

    def backward(
        self, params: list[np.ndarray], cache: object, dZ: np.ndarray, grads: list[np.ndarray]
    ) -> None: ...

    def penalized(self, params: list[np.ndarray]) -> list[bool]: ...


def objective(
    model: Model,
    loss,
    params: list[np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    alpha: float = 0.0,
    l1_ratio: float = 0.0,
    grads: list[np.ndarray] | None = None,
) -> float:
    """Weighted mean loss plus penalty at ``params``; fills ``grads`` when given.

    ``w`` are the sample weights scaled to sum to one over the full batch (a mini-batch's
    sum to one in expectation: wᵢ / (|B|·w̄), see :mod:`gdlab.core.loop`).
    """
    Z, cache = model.forward(params, X)
    value, dZ = loss.value_grad(Z, y, w, grad=grads is not None)
    if grads is not None:
        model.backward(params, cache, dZ, grads)
    mask = model.penalized(params)
    return value + add_penalty(params, mask, alpha, l1_ratio, grads)
