"""Checks that need the whole picture: numbers too large to train on, and a split whose test
rows hold a class the training rows never show.

Both raise :class:`DataError` naming the key to change, the column or class and the rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from gdlab.data.errors import SHOWN_CLASSES, DataError, listed
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
    model could never predict it and test metrics would be undefined.

    The split is stratified, so this happens only when ``data.test_size`` leaves a class fewer
    than one training row; the message names those classes with their row counts and advises
    what helps (raising ``data.min_rows_per_class`` would refuse the classes, not split them).
    """
    unseen, counts = np.unique(y_test[~np.isin(y_test, y_train)], return_counts=True)
    if len(unseen) == 0:
        return
    one = len(unseen) == 1
    shown = listed(
        [
            f"{classes[int(c)] if classes else c!r} ({n} row{'s' if n > 1 else ''})"
            for c, n in zip(unseen.tolist(), counts.tolist(), strict=True)
        ],
        SHOWN_CLASSES,
    )
    those = "that class" if one else "those classes"
    rows = [int(test_rows[i]) for i in np.flatnonzero(np.isin(y_test, unseen))]
    n_rows = len(y_train) + len(y_test)
    raise DataError(
        f"data.test_size: the test split holds every row of {'class' if one else 'classes'} "
        f"{shown} of {table.target!r}, so the training split never saw "
        f"{'it' if one else 'them'} ({table.where(rows)}): the split is stratified and trains "
        f"on {len(y_train)} of {n_rows} rows (about {len(y_train) / n_rows:.0%} of each class), "
        f"less than one row of {those}; lower data.test_size, add rows of {those}, or drop "
        f"{'its' if one else 'their'} rows from the data"
    )
