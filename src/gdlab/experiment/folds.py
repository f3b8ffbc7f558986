"""Cross-validation folds as index arrays: seeded, stratified for classification.

Folds never copy the data: each is a pair of integer index arrays into the training split.
Rows given one group (the copies of a row, :func:`gdlab.data.copies.copy_groups`) are always on
the same side of every fold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from gdlab.data.copies import distinct_rows, rows_of


@dataclass(frozen=True)
class Fold:
    """One fold: ``index`` (1-based, as shown to people) and its train/validation row indices."""

    index: int
    n_folds: int
    train_idx: np.ndarray
    val_idx: np.ndarray


def make_folds(
    y: np.ndarray, n_folds: int, *, task: str, seed: int, groups: np.ndarray | None = None
) -> list[Fold]:
    """Split ``len(y)`` rows into ``n_folds`` shuffled folds (stratified when ``task`` is
    ``"classification"``). The same seed gives the same folds.

    ``groups``: a label per row (e.g. :func:`gdlab.data.copies.copy_groups` of the training
    rows); the folds are then drawn over each group's first row and every other row follows
    its group, so no row is validated on a fold that trained on a copy of it. Without repeated
    labels the folds are those of the rows themselves, index for index."""
    if n_folds < 2:
        raise ValueError(f"cv.folds must be at least 2, got {n_folds}")
    y = np.asarray(y)
    if groups is None:
        first = member = np.arange(len(y))
    else:
        if len(groups) != len(y):
            raise ValueError(f"make_folds: {len(groups)} groups for {len(y)} rows")
        first, member = distinct_rows(groups)
    if len(first) < n_folds:
        rows = "distinct training rows" if len(first) < len(y) else "training rows"
        raise ValueError(f"cv.folds={n_folds} is more than the {len(first)} {rows}")
    if task == "classification":
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    placeholder = np.zeros((len(first), 1), dtype=np.int8)  # folds depend on y and n only
    folds = []
    for i, (_, val) in enumerate(splitter.split(placeholder, y[first])):
        val_idx, train_idx = rows_of(val, member)
        folds.append(Fold(i + 1, n_folds, train_idx.astype(np.intp), val_idx.astype(np.intp)))
    return folds
