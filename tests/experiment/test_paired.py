"""The paired gap of two variants' final losses, fold by fold, against numpy on the same
folds; and when it counts as the best beating the other."""

from __future__ import annotations

import numpy as np
import pytest

from gdlab.experiment.paired import PairedGap, paired_gap


def test_the_gap_is_taken_on_the_shared_folds_by_fold_number():
    best = {1: 1.0, 2: 2.0, 3: 3.0}
    other = {3: 3.5, 1: 1.1, 2: 2.2}
    gap = paired_gap(best, other)
    gaps = np.array([0.1, 0.2, 0.5])
    assert gap.mean == pytest.approx(gaps.mean()) and gap.std == pytest.approx(gaps.std())
    assert (gap.behind, gap.folds) == (3, 3)
    assert gap.beaten  # 0.27 > 0.17


def test_a_gap_with_a_sign_change_or_a_spread_above_its_mean_is_not_a_win():
    assert not paired_gap({1: 1.0, 2: 1.0}, {1: 1.5, 2: 0.9}).beaten  # behind on fold 2
    carried = paired_gap({k: 1.0 for k in range(5)}, {0: 2.0, 1: 1.01, 2: 1.01, 3: 1.01,
                                                      4: 1.01})
    assert carried.behind == 5 and carried.std > carried.mean and not carried.beaten
    assert not PairedGap(0.1, 0.1, 5, 5).beaten  # equal to the spread: not above it


def test_a_fold_missing_from_either_is_not_a_fold_ahead():
    gap = paired_gap({1: 1.0, 2: 1.0, 3: 1.0}, {1: 1.1, 2: 1.1}, folds=3)
    assert (gap.mean, gap.std, gap.behind, gap.folds) == (pytest.approx(0.1),
                                                          pytest.approx(0.0), 2, 3)
    assert not gap.beaten
    nothing = paired_gap({1: 1.0}, {2: 2.0})
    assert (nothing.mean, nothing.behind, nothing.folds, nothing.beaten) == (None, 0, 2, False)
