"""scipy.sparse input: which models take it and the little arithmetic it needs.

The built-in models (``"linear"``, ``"mlp"``) train and predict on a CSR ``X`` without ever
densifying it: the forward pass is ``X @ W`` (sparse @ dense: a dense n × n_outputs result)
and the weight gradient ``Xᵀ ∂L/∂Z`` (:func:`t_matmul_into`); a mini-batch is the batch's
rows of the CSR matrix (``X[idx]``, still sparse). Other sparse formats (CSC, COO, ...) are
converted to CSR by scikit-learn's ``validate_data`` (as scikit-learn's own estimators do).

Sparse input always trains on the generic numpy loop: the compiled kernels
(:mod:`gdlab.core.fast`) and the row views (:meth:`BaseGD._fit_view`) read dense rows only.
A ``partial_fit`` whose first call ran compiled (dense X) cannot take sparse X later (its
optimiser state lives in the kernels' layout): :func:`check_state` says so. A plug-in model
(``"package.module:factory"``) gets dense X only: :func:`accept_sparse` refuses sparse X
naming what works.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.sparse import issparse

__all__ = ["SPARSE_MODELS", "accept_sparse", "check_state", "issparse", "supports_sparse",
           "t_matmul_into"]

SPARSE_MODELS = ("linear", "mlp")
"""The ``model`` values that train and predict on scipy.sparse X."""


def supports_sparse(model: Any) -> bool:
    """True for a built-in model, given by name (the ``model`` parameter) or as the
    fitted model object."""
    from gdlab.core.models import MLP, LinearModel

    if isinstance(model, str):
        return model in SPARSE_MODELS
    return type(model) in (LinearModel, MLP)


def accept_sparse(model: Any, X: Any) -> list[str] | bool:
    """``validate_data``'s ``accept_sparse`` for ``model``: ``["csr"]`` (other formats are
    converted to CSR) for the built-in models; a plug-in model refuses sparse ``X`` with a
    TypeError naming what works."""
    if supports_sparse(model):
        return ["csr"]
    if issparse(X):
        name = model if isinstance(model, str) else type(model).__name__
        raise TypeError(
            f"sparse X ({type(X).__name__}) is supported for model='linear' or 'mlp', not "
            f"model={name!r} (a plug-in model's forward/backward get dense arrays): pass a dense X "
            "(X.toarray(), or OneHotEncoder(sparse_output=False) in a pipeline)"
        )
    return False


def t_matmul_into(X: Any, dZ: np.ndarray, out: np.ndarray) -> None:
    """``out ← Xᵀ dZ`` for a dense or scipy.sparse ``X`` (sparse matrices take no ``out=``:
    the product Xᵀ dZ is dense, n_features × n_outputs, and is copied into ``out``)."""
    if issparse(X):
        out[...] = X.T @ dZ
    else:
        np.matmul(X.T, dZ, out=out)


def check_state(owner: str, opt_state: Any, X: Any) -> None:
    """Refuse sparse ``X`` for a ``partial_fit`` call continuing a state that trains in the
    compiled kernels (started on dense X), which read dense rows only."""
    from gdlab.core.fast import FastOptState

    if issparse(X) and isinstance(opt_state, FastOptState):
        raise TypeError(
            f"{owner}.partial_fit: sparse X ({type(X).__name__}) after a first call on dense "
            "X: that call started the compiled (numba) training state, which reads dense rows "
            "only. Pass this chunk dense (X.toarray()), or give the first call sparse X (or "
            "set GDLAB_JIT=0) so every call trains on the numpy path, which takes both"
        )
