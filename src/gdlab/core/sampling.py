"""The order in which an epoch visits the training rows.

Every engine path (the compiled kernels and the numpy loop) takes its per-epoch row order
from :func:`epoch_order`, so both see the same mini-batches for the same ``random_state``.
Each epoch draws one 63-bit seed from the run's ``numpy.random.Generator`` and shuffles
``range(n)`` with it into a reused buffer.
"""

from __future__ import annotations

import importlib.util

import numpy as np

_HAS_NUMBA = importlib.util.find_spec("numba") is not None


def epoch_order(rng: np.random.Generator, n: int, out: np.ndarray | None = None) -> np.ndarray:
    """A uniformly random permutation of ``range(n)`` (int64), written into ``out`` if given.

    Draws exactly one number from ``rng``; the permutation is a function of that number
    only (compiled Fisher–Yates; without numba, or beyond 2**32 rows, numpy's own shuffle
    seeded with it, a different but equally uniform permutation)."""
    seed = int(rng.integers(0, 2**63 - 1))
    if out is None:
        out = np.empty(n, dtype=np.int64)
    if _HAS_NUMBA and n <= (1 << 32):
        from gdlab.core.fast.shuffle import shuffled_range

        shuffled_range(seed, out)
    else:
        out[:] = np.random.default_rng(seed).permutation(n)
    return out
