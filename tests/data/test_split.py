"""The train/test split is seeded, stratified for classification, and refuses impossible sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold

from gdlab.data import DataError, split_indices
from gdlab.data.guards import check_split_classes
from gdlab.data.split import check_folds, full_batch_warning
from gdlab.data.table import RawTable

Y = np.array([0] * 80 + [1] * 20)


def test_split_is_seeded_disjoint_and_complete():
    train, test = split_indices(100, Y, test_size=0.2, seed=7, stratify=True)
    again = split_indices(100, Y, test_size=0.2, seed=7, stratify=True)
    other = split_indices(100, Y, test_size=0.2, seed=8, stratify=True)
    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])
    assert not np.array_equal(test, other[1])
    assert len(test) == 20 and np.array_equal(np.sort(np.r_[train, test]), np.arange(100))


def test_split_is_stratified():
    for seed in range(5):
        _, test = split_indices(100, Y, test_size=0.2, seed=seed, stratify=True)
        assert np.bincount(Y[test]).tolist() == [16, 4]


def test_regression_split_is_not_stratified():
    train, test = split_indices(10, None, test_size=0.3, seed=0)
    assert (len(train), len(test)) == (7, 3)


def test_test_split_too_small_for_the_classes():
    y = np.repeat(np.arange(5), 4)
    with pytest.raises(DataError, match="data.test_size: .* cannot hold all 5 classes"):
        split_indices(20, y, test_size=0.1, seed=0, stratify=True)


def test_no_training_rows_left():
    with pytest.raises(DataError, match="data.test_size"):
        split_indices(2, None, test_size=0.9, seed=0)


def test_folds_need_rows_per_class():
    with pytest.raises(DataError, match="cv.folds: stratified 5-fold CV needs 5"):
        check_folds(np.array([0] * 10 + [1] * 3), 5, stratified=True)
    with pytest.raises(DataError, match="cv.folds: 5 folds need at least 5"):
        check_folds(np.arange(3.0), 5, stratified=False)
    check_folds(np.array([0] * 5 + [1] * 5), 5, stratified=True)


def test_folds_refusal_names_classes_by_label_and_advises_what_helps():
    y = np.array([0] * 10 + [1] * 3 + [2] * 4)
    with pytest.raises(DataError) as info:
        check_folds(y, 5, stratified=True, classes=["low", "mid", "high"])
    assert str(info.value) == (
        "cv.folds: stratified 5-fold CV needs 5 training rows per class, the training split "
        "holds fewer of classes 'mid' (3), 'high' (4); lower cv.folds to at most 3 or collect "
        "more rows of those classes"
    )
    # a class with a single training row: no number of folds stratifies it
    with pytest.raises(DataError) as info:
        check_folds(np.array([0] * 10 + [1]), 2, stratified=True, classes=["no", "yes"])
    assert str(info.value).endswith("holds fewer of class 'yes' (1); collect more rows of "
                                    "that class")


def test_a_test_class_the_training_split_never_saw_is_named_with_its_rows_and_what_helps():
    # the advice was "raise data.min_rows_per_class", which refuses such classes instead of
    # splitting them; the split is stratified, so only a smaller test share or more rows help
    y = np.array([0] * 19 + [1] * 19 + [2, 2])
    train, test = split_indices(40, y, test_size=0.9, seed=42, stratify=True)
    assert 2 not in y[train]  # the stratified split leaves class 2 no training row
    table = RawTable(pd.DataFrame({"x": np.arange(40), "y": y}), "y", "csv", first_line=2)
    with pytest.raises(DataError) as info:
        check_split_classes(table, y[train], y[test], test, ["a", "b", "c"])
    assert str(info.value) == (
        "data.test_size: the test split holds every row of class 'c' (2 rows) of 'y', so the "
        "training split never saw it (rows 38, 39 (file lines 40, 41)): the split is stratified "
        "and trains on 4 of 40 rows (about 10% of each class), less than one row of that class; "
        "lower data.test_size, add rows of that class, or drop its rows from the data"
    )
    assert "min_rows_per_class" not in str(info.value)
    # at a smaller test share the same rows split with every class in training
    train, test = split_indices(40, y, test_size=0.4, seed=42, stratify=True)
    check_split_classes(table, y[train], y[test], test, ["a", "b", "c"])


def test_several_unseen_classes_are_each_named_with_their_row_counts():
    y_train, y_test = np.array([0, 0, 1]), np.array([0, 1, 2, 3, 3, 3])
    table = RawTable(pd.DataFrame({"y": np.r_[y_train, y_test]}), "y", "csv")
    with pytest.raises(DataError, match=r"every row of classes 2 \(1 row\), 3 \(3 rows\) of 'y', "
                       r"so the training split never saw them \(rows 5, 6, 7, 8\).*add rows of "
                       r"those classes, or drop their rows"):
        check_split_classes(table, y_train, y_test, np.arange(3, 9), None)


@pytest.mark.parametrize(("n_train", "folds"), [(100, 5), (103, 5), (7, 3), (3200, 5)])
def test_full_batch_warning_at_the_smallest_training_part_of_a_fold(n_train, folds):
    # the rows the smallest training part of a KFold split holds (sklearn's own folds)
    fewest = min(len(tr) for tr, _ in KFold(folds).split(np.zeros(n_train)))
    assert full_batch_warning(fewest - 1, n_train, folds) is None
    assert full_batch_warning(None, n_train, folds) is None
    warning = full_batch_warning(fewest, n_train, folds)
    assert warning.startswith(f"train.batch_size: {fewest} is not below the {fewest} rows a CV")
    assert "every epoch is one full batch" in warning


def test_validate_warns_of_a_batch_size_that_is_a_full_batch(tmp_path):
    from tests.reliability.harness import make_project

    project = make_project(tmp_path / "p", {"train": {"batch_size": 10_000}})
    result = project.stage("validate")
    assert result.code == 0, result.err
    assert "validate: warning: train.batch_size: 10000 is not below the" in result.err
    quiet = make_project(tmp_path / "q").stage("validate")
    assert quiet.code == 0 and "warning" not in quiet.err


def _split_before_copies(n_rows, y, *, test_size, seed, stratify):
    """split_indices as it was before copies were kept together (its checks left out)."""
    from sklearn.model_selection import train_test_split

    n_test = int(np.ceil(test_size * n_rows))
    labels = np.asarray(y) if stratify else None
    train, test = train_test_split(
        np.arange(n_rows), test_size=n_test, random_state=seed, stratify=labels
    )
    return np.sort(train), np.sort(test)


@pytest.mark.parametrize("stratify", [False, True])
@pytest.mark.parametrize("n_rows,test_size", [(37, 0.2), (100, 0.25), (503, 0.33)])
def test_without_copies_the_split_is_the_one_before_index_for_index(n_rows, test_size, stratify):
    """Users' results, tests and benchmarks depend on the split of data without copies."""
    from gdlab.data.copies import copy_groups

    rng = np.random.default_rng(n_rows)
    X = rng.normal(size=(n_rows, 3))
    y = np.arange(n_rows) % 3 if stratify else X[:, 0] + rng.normal(size=n_rows)
    for seed in range(6):
        before = _split_before_copies(n_rows, y, test_size=test_size, seed=seed, stratify=stratify)
        for groups in (None, np.arange(n_rows), copy_groups(X, y)):
            train, test = split_indices(n_rows, y, test_size=test_size, seed=seed,
                                        stratify=stratify, groups=groups)
            assert train.dtype == before[0].dtype and test.dtype == before[1].dtype
            assert np.array_equal(train, before[0]) and np.array_equal(test, before[1])


@pytest.mark.parametrize("stratify", [False, True])
def test_every_copy_of_a_row_lands_on_its_rows_side_of_the_split(stratify):
    rng = np.random.default_rng(5)
    n_distinct = 300
    y_distinct = rng.integers(0, 3, n_distinct) if stratify else rng.normal(size=n_distinct)
    repeats = rng.integers(1, 5, n_distinct)  # each distinct row 1-4 times, shuffled
    rows = rng.permutation(np.repeat(np.arange(n_distinct), repeats))
    y = y_distinct[rows]
    train, test = split_indices(len(rows), y, test_size=0.2, seed=1, stratify=stratify,
                                groups=rows)
    assert np.array_equal(np.sort(np.r_[train, test]), np.arange(len(rows)))
    assert not np.intersect1d(rows[train], rows[test]).size  # no row on both sides
    # the split is the one of the distinct rows (in the order of their first rows) alone
    order = rows[np.sort(np.unique(rows, return_index=True)[1])]
    _, test_of_distinct = split_indices(n_distinct, y_distinct[order], test_size=0.2, seed=1,
                                        stratify=stratify)
    assert set(rows[test]) == set(order[test_of_distinct])
    if stratify:  # 20% of each class's distinct rows in the test split, as without copies
        in_test = np.unique(rows[test])
        share = np.bincount(y_distinct[in_test], minlength=3) / np.bincount(y_distinct)
        assert np.allclose(share, 0.2, atol=0.02)


def test_folds_count_a_rows_copies_once():
    y = np.repeat([0, 1], [8, 8])
    groups = np.r_[np.arange(8), np.repeat(8, 5), np.arange(9, 12)]  # class 1: 4 distinct rows
    check_folds(y, 4, stratified=True, groups=groups)
    with pytest.raises(DataError, match=r"fewer of class 1 \(4\) \(counting a row's 4 copies "
                                        r"once\); lower cv.folds to at most 4"):
        check_folds(y, 5, stratified=True, groups=groups)
    with pytest.raises(DataError, match="the split leaves 3 .counting a row's 5 copies once"):
        check_folds(np.zeros(8), 4, stratified=False, groups=np.repeat([0, 1, 2], [6, 1, 1]))
