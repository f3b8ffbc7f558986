"""Checks that need the whole picture: numbers too large to train on, and a split whose test
rows hold a class the training rows never show.

Both raise :class:`DataError` naming the key to change, the column or class and the rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from gdlab.data.errors import DataError
from gdlab.data.table import RawTable

MAX_ABS_VALUE = 1e150
"""Largest magnitude accepted: training squares values (losses, variances, gradient norms), and
the square of anything above ~1.3e154 overflows float64 to inf."""


def check_magnitude(
    table: RawTable, features: pd.DataFrame, target: pd.Series | None = None
) -> None:
    """Refuse feature (or regression target) values whose squares overflow float64."""
    columns = [(str(c), features[c].to_numpy(dtype=np.float64)) for c in features.columns]
    if target is not None and target.dtype.kind == "f":
        columns.append((str(table.target), target.to_numpy(dtype=np.float64)))
    for name, values in columns:
        with np.errstate(invalid="ignore"):
            big = np.abs(values) > MAX_ABS_VALUE
        if big.any():
            rows = [int(i) for i in np.flatnonzero(big)]
            peak = float(np.nanmax(np.abs(values)))
            raise DataError(
                f"column {name!r} has values as large as {peak:.3g} at {table.where(rows)}: "
                f"above {MAX_ABS_VALUE:.0e} training overflows float64 (the squares are "
                "infinite); rescale the column (e.g. change its unit or take a log) or drop it"
            )


def check_split_classes(
    table: RawTable,
    y_train: np.ndarray,
    y_test: np.ndarray,
    test_rows: np.ndarray,
    classes: list[Any] | None,
) -> None:
    """Refuse a split whose test rows hold a class code absent from the training rows: the
    model could never predict it and test metrics would be undefined."""
    unseen = np.setdiff1d(np.unique(y_test), np.unique(y_train))
    if len(unseen) == 0:
        return
    names = [classes[int(c)] if classes else c for c in unseen]
    rows = [int(test_rows[i]) for i in np.flatnonzero(np.isin(y_test, unseen))]
    raise DataError(
        f"data.test_size: the test split holds class(es) {', '.join(map(repr, names))} of "
        f"{table.target!r} that the training split never saw ({table.where(rows)}); lower "
        "data.test_size, raise data.min_rows_per_class or add rows of those classes"
    )
