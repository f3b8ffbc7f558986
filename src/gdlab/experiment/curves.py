"""Per-epoch curves of several fits on one epoch axis: stacking and mean ± std.

Fits stop at different epochs (the ``tol`` rule). A fit that stopped keeps its last value
from then on (it *is* that model), so the mean's last point is the mean of the final values;
a fit that diverged is not held (NaN after its last finite epoch). Every mean over folds goes
through :func:`stack_curves` (train's bands, compare's variant curves, tune's trial curves):
a plain NaN-aware mean of unpadded curves would, once the shorter folds stopped, be the
longest fold alone. The learning rate and gradient norm bands pass ``hold=False`` on purpose
(a stopped fit has no learning rate or gradient any more).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np


def stack_curves(
    curves: Sequence[Sequence[float | None]], *, hold: Sequence[bool] | None = None
) -> np.ndarray:
    """(n_curves, n_epochs) array: missing values NaN; a curve that ended is held at its last
    value when ``hold[i]`` (default: every curve)."""
    length = max((len(c) for c in curves), default=0)
    out = np.full((len(curves), length), np.nan)
    for i, curve in enumerate(curves):
        values = np.array([np.nan if v is None else float(v) for v in curve], dtype=float)
        out[i, : len(values)] = values
        if (hold is None or hold[i]) and len(values) and np.isfinite(values[-1]):
            out[i, len(values) :] = values[-1]
    return out


def band(stacked: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per epoch: mean, std (ddof 0) and number of curves with a value (NaN-aware)."""
    counts = np.isfinite(stacked).sum(axis=0)
    if not stacked.size:
        return np.array([]), np.array([]), counts
    with warnings.catch_warnings():  # an epoch no curve reached: NaN, silently
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(stacked, axis=0), np.nanstd(stacked, axis=0), counts


def fold_mean(curves: Sequence[Sequence[float | None]]) -> list[float | None]:
    """Per epoch, the mean over ``curves`` with each stopped curve held at its last value;
    ``None`` at an epoch no curve has a value for. Its length is the longest curve's and its
    last point the mean of the curves' last values."""
    mean = band(stack_curves(curves))[0]
    return [float(v) if np.isfinite(v) else None for v in mean]


def first_at_or_below(curve: np.ndarray, target: float) -> int | None:
    """Index of the first finite value ``<= target``; None when the curve never gets there."""
    hits = np.flatnonzero(np.isfinite(curve) & (curve <= target))
    return int(hits[0]) if hits.size else None
