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
