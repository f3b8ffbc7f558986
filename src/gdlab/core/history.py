"""The stored form of a training history: per-epoch lists as float arrays.

A fitted model keeps its per-epoch history (``history_``, ``loss_curve_`` and the loop's own
copy) as lists of floats, with ``None`` where a value was not measured (``val_loss`` without
a validation set). Saved as lists, skops writes every number as its own JSON node (a 100-epoch
model took 0.5 MB and a third of a second to save); as arrays it writes one small binary block
per curve. Every stored value is finite (the divergence guard stops training at the first
non-finite one), so NaN can stand for ``None`` without ambiguity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np


def pack_curve(values: Sequence[float | None]) -> np.ndarray:
    """A float64 array of ``values`` with NaN for ``None``."""
    return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)


def unpack_curve(values: np.ndarray | Sequence[float | None]) -> list[float | None]:
    """The list :func:`pack_curve` was made from (lists pass through unchanged)."""
    if not isinstance(values, np.ndarray):
        return list(values)
    return [None if math.isnan(v) else v for v in values.tolist()]


def pack_history(history: Mapping[str, Sequence[float | None]]) -> dict[str, np.ndarray]:
    """Each curve of ``history`` as :func:`pack_curve` makes it."""
    return {key: pack_curve(values) for key, values in history.items()}


def unpack_history(history: Mapping[str, np.ndarray | Sequence]) -> dict[str, list]:
    """The inverse of :func:`pack_history`."""
    return {key: unpack_curve(values) for key, values in history.items()}
