"""The starting output bias (gdlab.core.models.baseline) is the best constant model's:
scikit-learn's logistic regression on a column of zeros, numpy's weighted mean and median."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from gdlab.core.models.baseline import baseline_bias, class_shares, weighted_median


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_prior_is_the_intercept_of_logistic_regression_without_features(n_classes):
    rng = np.random.default_rng(0)
    y = rng.choice(n_classes, size=400, p=np.linspace(1, 6, n_classes) / np.linspace(
        1, 6, n_classes).sum())
    w = rng.uniform(0.2, 3.0, size=400)
    b = baseline_bias("prior", y, w, 1 if n_classes == 2 else n_classes)
    reference = LogisticRegression(C=1e12, tol=1e-12, max_iter=10_000).fit(
        np.zeros((400, 1)), y, sample_weight=w)
    if n_classes == 2:
        assert b == pytest.approx(reference.intercept_, abs=1e-6)
    else:  # logits equal up to one shift: the same softmax
        assert b - b.mean() == pytest.approx(
            reference.intercept_ - reference.intercept_.mean(), abs=1e-6)
    shares = np.bincount(y, weights=w) / w.sum()  # the probabilities the start predicts
    logits = np.r_[0.0, b] if n_classes == 2 else b
    assert np.exp(logits) / np.exp(logits).sum() == pytest.approx(shares, rel=1e-12)


def test_a_class_without_weight_starts_at_half_a_rows_share_not_at_log_zero():
    y = np.array([0, 0, 0, 1, 1])
    w = np.array([1.0, 1.0, 1.0, 0.0, 0.0])  # class 1 weighs nothing; 3 rows have weight
    assert class_shares(y, w, 2) == pytest.approx([1.0, 0.5 / 3])
    assert baseline_bias("prior", y, w, 1) == pytest.approx([np.log(0.5 / 3)])
    absent = baseline_bias("prior", np.array([0, 0, 2]), np.ones(3), 3)  # class 1 absent
    assert np.all(np.isfinite(absent))
    assert absent == pytest.approx(np.log([2 / 3, 0.5 / 3, 1 / 3]))


def test_mean_and_median_are_numpys_weighted_ones():
    rng = np.random.default_rng(1)
    y, w = rng.standard_normal(301) * 5 + 40, rng.uniform(0, 2, 301)
    assert baseline_bias("mean", y, w, 1) == pytest.approx([np.average(y, weights=w)])
    median = weighted_median(y, w)
    below = w[y <= median].sum()
    assert below >= 0.5 * w.sum() and w[y < median].sum() < 0.5 * w.sum()
    assert weighted_median(y, np.ones(301)) == np.median(y)  # odd count: the middle value
    assert baseline_bias("median", y, w, 1) == [median]


def test_an_unknown_statistic_is_refused_naming_it():
    with pytest.raises(ValueError, match="statistic 'mode'"):
        baseline_bias("mode", np.zeros(3), np.ones(3), 1)
