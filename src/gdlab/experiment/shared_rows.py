"""One float32 copy of a float64 ``X`` that every fold of a float32 estimator trains on.

Folds train on row views of one shared ``X`` (:func:`gdlab.experiment.model.fit_pipeline_rows`)
only when ``X`` already has the estimator's dtype. Prepared data is float64, so with
``train.dtype: float32`` each fold copied its rows (float64, then float32 once more): on
1 000 000 x 50 rows, 3 folds in 2 processes, the train stage's anonymous memory peaked at
1.3 GB against 0.4 GB with float64. :func:`shared_rows` converts ``X`` once, in chunks, to a
:class:`SharedRows` of half its size that all the folds share as views.

The rows are shifted by each column's median (``offset``, of evenly spaced rows) before
they are rounded to float32 when the preprocessing centres them (a StandardScaler with
``with_mean``): rounding a column of values far from zero with a small spread (e.g. years,
2000 +- 5) to float32 first would lose digits that the standardised values keep (float32
keeps ~7 significant digits of the value, not of its deviation from the centre); the median,
unlike the mean, stays with the bulk of a column that holds one extreme cell. Shifted, the
fold's scaler is fitted on the shifted rows and its ``mean_`` moved back by ``offset``, so
the fitted model takes the original rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

FLOAT32_MAX = float(np.finfo(np.float32).max)
OFFSET_SAMPLE = 4_096
"""About how many evenly spaced rows the shift (``offset``) is the column median of."""


@dataclass(frozen=True)
class SharedRows:
    """``values`` (float32): ``X - offset`` rounded; ``offset`` (float64, one per column; None:
    no shift); ``source``: the ``X`` it was made from (for fits that cannot use views)."""

    values: np.ndarray
    offset: np.ndarray | None
    source: np.ndarray


def shared_rows(pipeline: Any, X: Any) -> Any:
    """``X`` as the folds of ``pipeline`` should train on it: a :class:`SharedRows` when its
    estimator is a gdlab estimator of dtype float32, ``X`` a float64 2-D ndarray (a memory
    map included) with only finite values, and the preprocessing one the folds run as row
    views (only a StandardScaler or passthrough); ``X`` itself otherwise (the folds then
    view or copy it as before). ``X`` is read in chunks and never written."""
    from gdlab.core.loop import chunk_rows
    from gdlab.data.preprocessing import row_view_scaler
    from gdlab.estimators.base import BaseGD, dtype_name
    from gdlab.experiment.target import final_estimator

    estimator = final_estimator(pipeline)
    if not (
        isinstance(estimator, BaseGD)
        and dtype_name(estimator.dtype) == "float32"
        and isinstance(X, np.ndarray)
        and X.ndim == 2
        and X.dtype == np.float64
        and X.shape[0] > 0
    ):
        return X
    supported, scaler = row_view_scaler(pipeline.named_steps["preprocess"])
    if not supported:
        return X
    step = chunk_rows(X)
    n = X.shape[0]
    offset = None
    if scaler is not None and scaler.with_mean:
        # the median of evenly spaced rows: near the bulk of each column whatever one
        # extreme cell holds (a mean would move with it, and the rows of a fold that holds
        # that cell out would lose digits to a large shift)
        offset = np.median(X[:: max(1, n // OFFSET_SAMPLE)], axis=0)
        if not np.isfinite(offset).all():
            return X  # the fit's own checks name the rows
    values = np.empty(X.shape, dtype=np.float32)
    for start in range(0, n, step):
        block = X[start : start + step]
        if offset is not None:
            block = block - offset
        if not (np.isfinite(block).all() and np.abs(block).max() <= FLOAT32_MAX):
            return X  # non-finite or beyond float32: the fit refuses them by name
        values[start : start + step] = block
    return SharedRows(values=values, offset=offset, source=X)
