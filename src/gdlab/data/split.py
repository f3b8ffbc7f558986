"""The seeded train/test split (stratified for classification) and the checks it needs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from gdlab.data.errors import SHOWN_CLASSES, DataError, listed


def split_indices(
    n_rows: int,
    y: np.ndarray | None = None,
    *,
    test_size: float,
    seed: int,
    stratify: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(train, test)``, each sorted; stratified on ``y`` when ``stratify``."""
    n_test = math.ceil(test_size * n_rows)
    n_train = n_rows - n_test
    if n_train < 1 or n_test < 1:
        raise DataError(
            f"data.test_size: {test_size} of {n_rows} rows leaves {n_train} "
            f"training and {n_test} test rows; both need at least one"
        )
    labels = None
    if stratify:
        labels = np.asarray(y)
        n_classes = len(np.unique(labels))
        if min(n_train, n_test) < n_classes:
            raise DataError(
                f"data.test_size: a stratified split of {n_rows} rows into "
                f"{n_train} training and {n_test} test rows cannot hold all "
                f"{n_classes} classes in both; change data.test_size or add rows"
            )
    try:
        train, test = train_test_split(
            np.arange(n_rows), test_size=n_test, random_state=seed, stratify=labels
        )
    except ValueError as exc:
        raise DataError(f"data.test_size: cannot split {n_rows} rows: {exc}") from None
    return np.sort(train), np.sort(test)


def check_folds(
    y_train: np.ndarray, folds: int, *, stratified: bool, classes: list[Any] | None = None
) -> None:
    """Refuse training rows too few for ``cv.folds`` folds (per class when stratified).
    ``classes[i]``: the label of class code ``i``, by which the message names a class."""
    if len(y_train) < folds:
        raise DataError(
            f"cv.folds: {folds} folds need at least {folds} training rows, "
            f"the split leaves {len(y_train)}"
        )
    if stratified:
        labels, counts = np.unique(y_train, return_counts=True)
        few = [(int(lab), int(c)) for lab, c in zip(labels, counts, strict=True) if c < folds]
        if few:
            shown = listed(
                [f"{classes[lab] if classes else lab!r} ({c})" for lab, c in few], SHOWN_CLASSES
            )
            which = f"class {shown}" if len(few) == 1 else f"classes {shown}"
            those = "that class" if len(few) == 1 else "those classes"
            fewest = int(counts.min())  # the rarest class's training rows: the most folds
            lower = f"lower cv.folds to at most {fewest} or " if fewest >= 2 else ""
            raise DataError(
                f"cv.folds: stratified {folds}-fold CV needs {folds} training rows per class, "
                f"the training split holds fewer of {which}; {lower}collect more rows of "
                f"{those}"
            )


def full_batch_warning(batch_size: int | None, n_train: int, folds: int) -> str | None:
    """A warning when ``train.batch_size`` holds a whole CV fold's training rows (the fewest
    any fold trains on): every epoch is then one full batch, silently, as with ``null``."""
    fold_rows = n_train - math.ceil(n_train / folds)
    if batch_size is None or batch_size < fold_rows:
        return None
    return (
        f"train.batch_size: {batch_size} is not below the {fold_rows} rows a CV fold trains on "
        f"({n_train} in the training split, cv.folds {folds}): every epoch is one full batch, "
        "as with batch_size: null; lower it for mini-batches"
    )
