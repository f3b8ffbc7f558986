"""The seeded train/test split (stratified for classification) and the checks it needs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from gdlab.data.copies import distinct_rows, rows_of
from gdlab.data.errors import SHOWN_CLASSES, DataError, listed


def _counted(n_distinct: int, n_rows: int, what: str = "rows") -> str:
    """``"40 rows"``, or with copies ``"40 distinct rows (of 50: a row's copies count once)"``."""
    if n_distinct == n_rows:
        return f"{n_rows} {what}"
    return f"{n_distinct} distinct {what} (of {n_rows}: a row's copies count once)"


def split_indices(
    n_rows: int,
    y: np.ndarray | None = None,
    *,
    test_size: float,
    seed: int,
    stratify: bool = False,
    groups: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(train, test)``, each sorted; stratified on ``y`` when ``stratify``.

    ``groups`` (a label per row, e.g. :func:`gdlab.data.copies.copy_groups`): rows of one
    group land on the same side. The split is then drawn over the groups' first rows
    (``data.test_size`` of them in the test split) and every other row follows its group's;
    without repeated labels it is the split of the rows themselves, index for index."""
    if groups is None:
        first = member = np.arange(n_rows)
    else:
        first, member = distinct_rows(groups)
    n_distinct = len(first)
    n_test = math.ceil(test_size * n_distinct)
    n_train = n_distinct - n_test
    rows = _counted(n_distinct, n_rows)
    if n_train < 1 or n_test < 1:
        raise DataError(
            f"data.test_size: {test_size} of {rows} leaves {n_train} "
            f"training and {n_test} test rows; both need at least one"
        )
    labels = None
    if stratify:
        labels = np.asarray(y)[first]
        n_classes = len(np.unique(labels))
        if min(n_train, n_test) < n_classes:
            raise DataError(
                f"data.test_size: a stratified split of {rows} into "
                f"{n_train} training and {n_test} test rows cannot hold all "
                f"{n_classes} classes in both; change data.test_size or add rows"
            )
    try:
        _, test = train_test_split(
            np.arange(n_distinct), test_size=n_test, random_state=seed, stratify=labels
        )
    except ValueError as exc:
        raise DataError(f"data.test_size: cannot split {rows}: {exc}") from None
    test_rows, train_rows = rows_of(test, member)
    return train_rows, test_rows


def check_folds(
    y_train: np.ndarray,
    folds: int,
    *,
    stratified: bool,
    classes: list[Any] | None = None,
    groups: np.ndarray | None = None,
) -> None:
    """Refuse training rows too few for ``cv.folds`` folds (per class when stratified).
    ``classes[i]``: the label of class code ``i``, by which the message names a class.
    ``groups``: a label per training row (its copies share it); the folds keep a group
    together, so only distinct rows count."""
    y_train = np.asarray(y_train)
    copies = ""
    if groups is not None:
        first, _ = distinct_rows(groups)
        if len(first) < len(y_train):
            copies = f" (counting a row's {len(y_train) - len(first)} copies once)"
            y_train = y_train[first]
    if len(y_train) < folds:
        raise DataError(
            f"cv.folds: {folds} folds need at least {folds} training rows, "
            f"the split leaves {len(y_train)}{copies}"
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
                f"the training split holds fewer of {which}{copies}; {lower}collect more rows of "
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
