"""The LR range test on a scikit-learn Pipeline (:func:`gdlab.core.diagnostics.lr_range_test`):
the sweep of its last step on the data its other steps produce, or a TypeError saying what is
accepted."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gdlab import GDClassifier, GDRegressor
from gdlab.core.diagnostics import lr_range_test


def _standardised_by_hand(X: np.ndarray) -> np.ndarray:
    return (X - X.mean(axis=0)) / X.std(axis=0)


def _assert_same_sweep(got, expected) -> None:
    assert len(got.learning_rates) == len(expected.learning_rates)
    np.testing.assert_array_equal(got.learning_rates, expected.learning_rates)
    np.testing.assert_allclose(got.losses, expected.losses, rtol=1e-9)
    np.testing.assert_allclose(got.smoothed, expected.smoothed, rtol=1e-9)
    assert got.suggestion == pytest.approx(expected.suggestion, rel=1e-9)
    assert got.valley == pytest.approx(expected.valley, rel=1e-9)
    assert got.diverged == expected.diverged


@pytest.mark.parametrize("batch_size", [None, 32])
def test_a_pipeline_sweeps_its_last_step_on_the_transformed_data(batch_size):
    X, y = make_classification(n_samples=300, n_features=6, random_state=0)
    X = X * np.array([1.0, 10.0, 100.0, 0.1, 5.0, 1000.0]) + 50.0  # far from standardised
    pipeline = make_pipeline(StandardScaler(),
                             GDClassifier(batch_size=batch_size, random_state=0))

    got = lr_range_test(pipeline, X, y, num_steps=60)
    expected = lr_range_test(GDClassifier(batch_size=batch_size, random_state=0),
                             _standardised_by_hand(X), y, num_steps=60)

    _assert_same_sweep(got, expected)
    assert not hasattr(pipeline[0], "mean_")  # the user's pipeline is left unfitted
    raw = lr_range_test(GDClassifier(batch_size=batch_size, random_state=0), X, y,
                        num_steps=60)
    assert len(raw.losses) != len(got.losses) or not np.allclose(raw.losses, got.losses)


def test_a_regression_pipeline_sweeps_like_the_bare_regressor():
    X, y = make_regression(n_samples=200, n_features=4, noise=1.0, random_state=1)
    X = X * 100.0 - 7.0
    got = lr_range_test(make_pipeline(StandardScaler(), GDRegressor(random_state=0)), X, y,
                        num_steps=50)
    expected = lr_range_test(GDRegressor(random_state=0), _standardised_by_hand(X), y,
                             num_steps=50)
    _assert_same_sweep(got, expected)


@pytest.mark.parametrize("estimator, named", [
    (make_pipeline(StandardScaler(), LogisticRegression()),
     "a Pipeline whose last step is LogisticRegression"),
    (LogisticRegression(), "got LogisticRegression"),
])
def test_anything_else_is_refused_naming_what_is_accepted(estimator, named):
    X, y = make_classification(n_samples=50, n_features=3, n_informative=2, n_redundant=0,
                               random_state=0)
    with pytest.raises(TypeError, match="GDRegressor or GDClassifier") as error:
        lr_range_test(estimator, X, y)
    assert "scikit-learn Pipeline whose last step is one" in str(error.value)
    assert named in str(error.value)


@pytest.mark.parametrize("regressor", [
    GDRegressor(batch_size=16, random_state=0),
    make_pipeline(StandardScaler(), GDRegressor(batch_size=16, random_state=0)),
])
def test_a_transformed_target_regressor_sweeps_its_regressor_on_the_transformed_target(
        regressor):
    """A TransformedTargetRegressor (what the unscaled-target advice recommends) was refused;
    it is swept as its ``fit`` trains: the regressor on the standardised target."""
    from sklearn.compose import TransformedTargetRegressor

    X, y = make_regression(n_samples=200, n_features=4, noise=1.0, random_state=1)
    y = 300.0 + 40.0 * y
    wrapped = TransformedTargetRegressor(regressor=regressor, transformer=StandardScaler())
    got = lr_range_test(wrapped, X, y, num_steps=50)
    by_hand = (y - y.mean()) / y.std()
    expected = lr_range_test(regressor, X, by_hand, num_steps=50)
    _assert_same_sweep(got, expected)
    raw = lr_range_test(regressor, X, y, num_steps=50)
    assert len(raw.losses) != len(got.losses) or not np.allclose(raw.losses, got.losses)
    assert not hasattr(wrapped, "transformer_")  # left unfitted


def _suggestion_and_valley(rates, losses):
    """The suggestion rule of :func:`lr_range_test` on given batch losses."""
    from gdlab.core.diagnostics import _steepest_descent

    suggestion, valley, _ = _steepest_descent(rates, losses, 0.7, 5)
    return suggestion, valley


@pytest.mark.parametrize(
    ("where", "factor"),
    [(0.3, 0.4),  # one unusually easy batch on the low plateau before the loss climbs
     (1e-3, 0.4),  # ... on the way down
     (3e-7, 3.0),  # one hard batch among the first steps (a first mini-batch's spike)
     (10.0, 0.4)],  # an easy last batch of the sweep
)
def test_one_outlying_batch_moves_neither_the_valley_nor_the_suggestion(where, factor):
    """A sweep of 100 rates on 1e-7 … 10 whose loss falls steadily (against log lr) from 1 to
    0.2 on 1e-4 … 1e-1, stays near 0.2 to lr 1 and then climbs: the suggestion and the valley
    read from it are where they are without the one batch whose loss is ``factor`` times the
    curve's at ``where`` (within one step of the sweep). Before, an easy batch was the valley
    and the suggestion a quarter of it, and a hard first batch a steep descent."""
    rates = np.geomspace(1e-7, 10.0, 100)
    u = np.log10(rates)
    log_loss = (np.log(0.2) * np.clip((u + 4) / 3, 0, 1)  # 1 -> 0.2 on 1e-4 ... 1e-1
                + 3.0 * np.maximum(u, 0.0) ** 2)  # climbs past lr 1
    noise = 0.02 * np.random.default_rng(0).standard_normal(rates.size)
    clean = np.exp(log_loss + noise)
    outlying = clean.copy()
    outlying[np.argmin(np.abs(u - np.log10(where)))] *= factor
    step = 10 ** (8 / 99)
    for got, expected in zip(_suggestion_and_valley(rates, outlying),
                             _suggestion_and_valley(rates, clean), strict=True):
        assert expected / step <= got * (1 + 1e-12) and got <= expected * step * (1 + 1e-12)
