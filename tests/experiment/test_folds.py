"""Folds are seeded index arrays covering every row once, stratified for classification."""

import numpy as np
import pytest

from gdlab.experiment import make_folds


def test_folds_partition_rows_and_are_seeded():
    y = np.arange(53, dtype=float)
    folds = make_folds(y, 5, task="regression", seed=3)
    assert [f.index for f in folds] == [1, 2, 3, 4, 5]
    assert all(f.n_folds == 5 for f in folds)
    val = np.sort(np.concatenate([f.val_idx for f in folds]))
    np.testing.assert_array_equal(val, np.arange(53))
    for f in folds:
        assert np.intersect1d(f.train_idx, f.val_idx).size == 0
        assert f.train_idx.size + f.val_idx.size == 53
    again = make_folds(y, 5, task="regression", seed=3)
    other = make_folds(y, 5, task="regression", seed=4)
    assert all(np.array_equal(a.val_idx, b.val_idx) for a, b in zip(folds, again, strict=True))
    assert not all(np.array_equal(a.val_idx, b.val_idx) for a, b in zip(folds, other, strict=True))


def test_classification_folds_are_stratified():
    y = np.array(["a"] * 80 + ["b"] * 20)
    for fold in make_folds(y, 4, task="classification", seed=0):
        assert (y[fold.val_idx] == "b").sum() == 5


@pytest.mark.parametrize("k", [0, 1])
def test_fewer_than_two_folds_is_refused(k):
    with pytest.raises(ValueError, match="cv.folds"):
        make_folds(np.zeros(10), k, task="regression", seed=0)


def _folds_before_copies(y, n_folds, *, task, seed):
    """make_folds as it was before copies were kept together: (train, val) index pairs."""
    from sklearn.model_selection import KFold, StratifiedKFold

    kind = StratifiedKFold if task == "classification" else KFold
    splitter = kind(n_splits=n_folds, shuffle=True, random_state=seed)
    return [(tr.astype(np.intp), va.astype(np.intp))
            for tr, va in splitter.split(np.zeros((len(y), 1)), y)]


@pytest.mark.parametrize("task", ["regression", "classification"])
@pytest.mark.parametrize("n,k", [(23, 2), (120, 5), (301, 3)])
def test_without_copies_the_folds_are_the_ones_before_index_for_index(task, n, k):
    """Users' results, tests and benchmarks depend on the folds of data without copies."""
    from gdlab.data.copies import copy_groups

    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, 4))
    y = np.arange(n) % 3 if task == "classification" else X[:, 0]
    for seed in range(4):
        before = _folds_before_copies(y, k, task=task, seed=seed)
        for groups in (None, np.arange(n), copy_groups(X, y)):
            now = make_folds(y, k, task=task, seed=seed, groups=groups)
            assert len(now) == len(before)
            for fold, (train, val) in zip(now, before, strict=True):
                assert fold.train_idx.dtype == train.dtype and fold.val_idx.dtype == val.dtype
                assert np.array_equal(fold.train_idx, train)
                assert np.array_equal(fold.val_idx, val)


def _copied_data(task, n_distinct=200, seed=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_distinct, 3))
    y = (X[:, 0] > 0).astype(np.int64) if task == "classification" else X @ [1.0, 2.0, 0.5]
    rows = rng.permutation(np.repeat(np.arange(n_distinct), rng.integers(1, 4, n_distinct)))
    return X[rows], y[rows], rows


def assert_copies_kept_together(folds, rows):
    val = np.sort(np.concatenate([f.val_idx for f in folds]))
    assert np.array_equal(val, np.arange(len(rows)))  # every row validated once
    for fold in folds:
        assert np.array_equal(np.sort(np.r_[fold.train_idx, fold.val_idx]), np.arange(len(rows)))
        assert not np.intersect1d(rows[fold.train_idx], rows[fold.val_idx]).size


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_folds_keep_every_copy_of_a_row_on_its_rows_side(task):
    from gdlab.data.copies import copy_groups

    X, y, rows = _copied_data(task)
    folds = make_folds(y, 5, task=task, seed=0, groups=copy_groups(X, y))
    assert_copies_kept_together(folds, rows)
    # without the groups, copies sat on both sides of a fold (the leak this prevents)
    plain = make_folds(y, 5, task=task, seed=0)
    assert any(np.intersect1d(rows[f.train_idx], rows[f.val_idx]).size for f in plain)
    if task == "classification":  # stratified over the distinct rows: each fold validates
        y_distinct = np.zeros(rows.max() + 1, dtype=np.int64)  # a fifth of each class's
        y_distinct[rows] = y
        per_class = np.bincount(y_distinct)
        for fold in folds:
            counts = np.bincount(y_distinct[np.unique(rows[fold.val_idx])], minlength=2)
            assert np.all(np.abs(counts - per_class / 5) <= 1)


def test_too_few_distinct_rows_for_the_folds_is_refused():
    with pytest.raises(ValueError, match="cv.folds=3 is more than the 2 distinct training rows"):
        make_folds(np.zeros(10), 3, task="regression", seed=0, groups=np.repeat([0, 1], 5))
