"""Rows that are exact copies of another row (the same features and target), kept together.

A copy of a training row in the test split (or on the other side of a CV fold) is scored as
unseen although the model was fitted on it: the scores are too good. The split
(:func:`gdlab.data.split.split_indices`) and the folds (:func:`gdlab.experiment.make_folds`)
therefore choose among the distinct rows and put every copy on its row's side. Copies are found
by their row hashes (:func:`gdlab.data.fingerprint.row_hashes`: 64 bits a row, so two distinct
rows are taken for copies with a chance of about n²/2⁶⁵).

Without copies every row is its own group, in row order, and the split and folds are the ones
chosen on the rows themselves.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gdlab.data.fingerprint import row_hashes


def distinct_rows(groups: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(first, member)`` of a group label per row: ``first`` the first row of each group, in
    row order; ``member[i]`` the position in ``first`` of row ``i``'s group. Without repeated
    labels both are ``arange(n)``."""
    labels = np.asarray(groups).ravel()
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(first), dtype=np.intp)
    rank[order] = np.arange(len(first), dtype=np.intp)
    return first[order].astype(np.intp), rank[inverse.ravel()]


def copy_groups(X: Any, y: Any) -> np.ndarray:
    """A group number per row of ``(X, y)`` (``X`` a DataFrame or 2-D array, ``y`` the
    target): rows with the same features and target share one. Groups are numbered 0, 1, ...
    in the order of their first rows, so data without copies gets ``arange(n)``."""
    return distinct_rows(row_hashes(X, np.asarray(y)))[1]


def copied_rows(groups: Any) -> np.ndarray:
    """The rows that repeat an earlier row of their group (every row but each group's first),
    in row order."""
    first, member = distinct_rows(groups)
    return np.flatnonzero(np.arange(len(member)) != first[member])


def rows_of(chosen: np.ndarray, member: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, rest)``: the rows (sorted) whose group's position (:func:`distinct_rows`'s
    ``member``) is among ``chosen``, and the other rows (sorted)."""
    picked = np.zeros(int(member.max()) + 1 if len(member) else 0, dtype=bool)
    picked[np.asarray(chosen, dtype=np.intp)] = True
    mask = picked[member]
    return np.flatnonzero(mask), np.flatnonzero(~mask)
