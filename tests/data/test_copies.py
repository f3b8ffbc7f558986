"""Rows that are exact copies of another row: one group per set of rows equal in every feature
and in the target, numbered in the order of their first rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gdlab.data.copies import copied_rows, copy_groups, distinct_rows, rows_of


def test_rows_equal_in_features_and_target_share_a_group():
    X = pd.DataFrame({"a": [1.0, 2.0, np.nan, 1.0, 1.0, np.nan, -0.0],
                      "b": [5.0, 6.0, 7.0, 5.0, 5.0, 7.0, 0.0]})
    y = np.array([0, 1, 1, 0, 1, 1, 0])
    # row 3 repeats row 0; row 4 has row 0's features but another target; row 5 repeats
    # row 2 (a missing value counts as equal to a missing value); -0.0 is 0.0
    groups = copy_groups(X, y)
    assert groups.tolist() == [0, 1, 2, 0, 3, 2, 4]
    reference = X.assign(y=y).fillna(-1e300).duplicated()  # pandas' own exact comparison
    assert copied_rows(groups).tolist() == np.flatnonzero(reference).tolist() == [3, 5]


def test_data_without_copies_is_a_group_per_row_in_row_order():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    y = rng.normal(size=500)
    assert np.array_equal(copy_groups(X, y), np.arange(500))
    first, member = distinct_rows(np.arange(500))
    assert np.array_equal(first, np.arange(500)) and np.array_equal(member, np.arange(500))
    assert copied_rows(np.arange(500)).size == 0


def test_distinct_rows_numbers_any_labels_by_their_first_row():
    first, member = distinct_rows(np.array([9, 4, 9, 7, 4]))
    assert first.tolist() == [0, 1, 3] and member.tolist() == [0, 1, 0, 2, 1]
    chosen, rest = rows_of(np.array([0]), member)
    assert chosen.tolist() == [0, 2] and rest.tolist() == [1, 3, 4]
