"""Cross-validation folds as index arrays: seeded, stratified for classification.

Folds never copy the data: each is a pair of integer index arrays into the training split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold


@dataclass(frozen=True)
class Fold:
    """One fold: ``index`` (1-based, as shown to people) and its train/validation row indices."""

    index: int
    n_folds: int
    train_idx: np.ndarray
    val_idx: np.ndarray


def make_folds(y: np.ndarray, n_folds: int, *, task: str, seed: int) -> list[Fold]:
    """Split ``len(y)`` rows into ``n_folds`` shuffled folds (stratified when ``task`` is
    ``"classification"``). The same seed gives the same folds."""
    if n_folds < 2:
        raise ValueError(f"cv.folds must be at least 2, got {n_folds}")
    y = np.asarray(y)
    if len(y) < n_folds:
        raise ValueError(f"cv.folds={n_folds} is more than the {len(y)} training rows")
    if task == "classification":
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    placeholder = np.zeros((len(y), 1), dtype=np.int8)  # folds depend on y and n only
    return [
        Fold(i + 1, n_folds, train.astype(np.intp), val.astype(np.intp))
        for i, (train, val) in enumerate(splitter.split(placeholder, y))
    ]
