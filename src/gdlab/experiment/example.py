"""The input example logged with the model: realistic feature values that are no training row."""

from __future__ import annotations

from typing import Any

import numpy as np

from gdlab.experiment.training import as_frame

EXAMPLE_QUANTILES = (0.25, 0.5, 0.75)
"""The rows of :func:`input_example`: each feature's quartiles and median."""
EXAMPLE_SAMPLE = 10_000
"""Training rows the example's quantiles are taken over (a memory map is not read whole)."""
ONE_HOT_SEPARATOR = "="
"""What prepare puts between a categorical column's name and its level (``city=Paris``)."""


def one_hot_groups(sample: np.ndarray, feature_names: list[str] | None) -> list[list[int]]:
    """Column indices of each one-hot group: two or more columns named ``<column>=<level>``
    for one column, holding only 0 and 1 (or missing), at most one 1 per row. Told from the
    names and values alone: columns of such names that fail the test (a user's own ``a=b``
    counts beside prepare's dummies) are no group, and keep their quartiles."""
    groups: dict[str, list[int]] = {}
    for j, name in enumerate(feature_names or []):
        column, separator, _ = str(name).partition(ONE_HOT_SEPARATOR)
        if separator:
            groups.setdefault(column, []).append(j)
    found = []
    for columns in groups.values():
        values = np.nan_to_num(sample[:, columns])
        if len(columns) > 1 and np.isin(values, (0.0, 1.0)).all() and (values.sum(1) <= 1).all():
            found.append(columns)
    return found


def input_example(X: np.ndarray, feature_names: list[str] | None) -> Any:
    """An input example for the logged model that is no training row: row k holds every
    feature's ``EXAMPLE_QUANTILES[k]`` over the first ``EXAMPLE_SAMPLE`` rows of ``X`` (the
    nearest value the column holds, so an integer feature keeps valid values; missing values
    left out; 0.0 for a column with none), and in each one-hot group (:func:`one_hot_groups`)
    exactly one level, its k-th most frequent (quartiles taken column by column would set every
    level to 0, or several to 1: no category, or several at once). MLflow stores the example with
    the model (``input_example.json``, ``serving_input_example.json``) wherever it is registered
    or served, so real rows there would copy people's records beyond the training data."""
    sample = np.asarray(X[:EXAMPLE_SAMPLE], dtype=np.float64)
    rows = np.zeros((len(EXAMPLE_QUANTILES), sample.shape[1]))
    present = ~np.isnan(sample).all(axis=0)
    if present.any():
        rows[:, present] = np.nanquantile(
            sample[:, present], EXAMPLE_QUANTILES, axis=0, method="nearest"
        )
    for columns in one_hot_groups(sample, feature_names):
        counts = np.nan_to_num(sample[:, columns]).sum(axis=0)
        by_frequency = np.argsort(-counts, kind="stable")  # ties: the columns' order
        rows[:, columns] = 0.0
        for k in range(len(rows)):
            rows[k, columns[by_frequency[k % len(columns)]]] = 1.0
    return as_frame(rows.astype(np.asarray(X[:0]).dtype), feature_names)
