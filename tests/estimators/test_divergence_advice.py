"""What a fit's DivergenceError advises, from the data the estimator was given
(:func:`gdlab.estimators.advice.divergence_advice`). The engine's message ended "Try a smaller
learning rate (...), gradient clipping (clip_norm), or scale the features (standardize)."
whatever the data: on features a StandardScaler had standardised it sent the user to scale
them again; it now names the cause the data show (unscaled features, an MLP's target far from
unit scale) or, when they show none, the learning rate."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_breast_cancer, load_diabetes, make_regression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gdlab import DivergenceError, GDClassifier, GDRegressor
from gdlab.experiment.faults import explain_divergence

WRONG_FEATURES = ("scale the features", "standardize", "unscaled", "StandardScaler")
WRONG_TARGET = ("target", "TransformedTargetRegressor")


def _diverged(est, X, y) -> DivergenceError:
    with pytest.raises(DivergenceError) as info:
        est.fit(X, y)
    return info.value


def _largest_curvature(X) -> float:
    """λ_max of the squared-error objective's Hessian [X 1]ᵀ[X 1]/n (loss ½·mean r²)."""
    A = np.c_[X, np.ones(len(X))]
    return float(np.linalg.eigvalsh(A.T @ A / len(A))[-1])


def test_standardised_features_and_a_huge_learning_rate_name_the_learning_rate():
    """sgd at learning_rate=5 on standardised diabetes: above 2/L, the step size gradient
    descent diverges at (theory), so the rate is the cause; 10x smaller trains."""
    X, y = load_diabetes(return_X_y=True)
    y = (y - y.mean()) / y.std()
    assert 5.0 > 2 / _largest_curvature(StandardScaler().fit_transform(X))
    exc = _diverged(make_pipeline(StandardScaler(), GDRegressor(
        optimizer="sgd", learning_rate=5.0, random_state=0)), X, y)
    msg = str(exc)
    assert "with learning_rate=5. The learning rate is the likely cause" in msg
    assert "Try a smaller learning rate (e.g. 0.5)" in msg
    assert "gdlab.lr_range_test" in msg
    assert not [w for w in WRONG_FEATURES + WRONG_TARGET if w in msg], msg
    assert (exc.learning_rate, exc.overflow) == (5.0, None) and exc.advice in msg
    make_pipeline(StandardScaler(), GDRegressor(  # the advice, taken, trains
        optimizer="sgd", learning_rate=0.5, random_state=0)).fit(X, y)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_classifier_on_standardised_features_names_the_learning_rate(optimizer):
    X, y = load_breast_cancer(return_X_y=True)
    msg = str(_diverged(make_pipeline(StandardScaler(), GDClassifier(
        optimizer=optimizer, learning_rate=1000.0, random_state=0)), X, y))
    assert "The learning rate is the likely cause" in msg and "(e.g. 100)" in msg
    assert not [w for w in WRONG_FEATURES + WRONG_TARGET if w in msg], msg


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_raw_features_are_named_with_the_scaler_that_fits(sparse):
    """Raw breast cancer (column standard deviations 0.0026 to 569) diverges at
    learning_rate=0.01; standardised, the same rate trains."""
    X, y = load_breast_cancer(return_X_y=True)
    Xg = sp.csr_matrix(X) if sparse else X
    est = GDClassifier(optimizer="sgd", learning_rate=0.01, random_state=0)
    msg = str(_diverged(est, Xg, y))
    scaler = "StandardScaler(with_mean=False)" if sparse else "StandardScaler()"
    assert "The features are unscaled (column standard deviations from 0.00264 to 569)" in msg
    assert f"make_pipeline({scaler}, GDClassifier(...))" in msg
    assert "one learning rate cannot suit them all" in msg  # 0.00264 to 569: far apart
    assert "is the likely cause" not in msg
    assert not [w for w in WRONG_TARGET if w in msg], msg
    make_pipeline(StandardScaler(with_mean=not sparse), est).fit(Xg, y)  # the fix trains


def _big_target():
    X, y = make_regression(500, 5, noise=1.0, random_state=0)
    return StandardScaler().fit_transform(X), 1e4 * y / y.std()


def test_an_mlp_target_far_from_unit_scale_is_named_not_the_features():
    """An MLP on standardised features with y of std 1e4 diverges at learning_rate=0.01; the
    same fit on the target standardised (TransformedTargetRegressor) trains."""
    X, y = _big_target()
    est = GDRegressor(model="mlp", hidden_layer_sizes=(16,), optimizer="sgd",
                      learning_rate=0.01, max_epochs=200, random_state=0)
    msg = str(_diverged(est, X, y))
    assert f"The target is far from unit scale (y mean {y.mean():.4g}, std 1e+04)" in msg
    assert "TransformedTargetRegressor(regressor=GDRegressor(...)" in msg
    assert not [w for w in WRONG_FEATURES[:3] if w in msg], msg
    assert "is the likely cause" not in msg
    TransformedTargetRegressor(regressor=est, transformer=StandardScaler()).fit(X, y)


def test_a_linear_models_divergence_does_not_blame_the_target():
    """A linear model's fit is scale-free in y (weights, residuals and loss ratios scale with
    it): at learning_rate=3 it diverges on y of std 1e4 in the same epoch as on y of std 1,
    so the target's scale is not the cause; the learning rate is."""
    X, y = _big_target()
    est = GDRegressor(optimizer="sgd", learning_rate=3.0, random_state=0)
    exc = _diverged(est, X, y)
    assert _diverged(est, X, y / 1e4).epoch == exc.epoch
    assert "The learning rate is the likely cause" in str(exc)
    assert not [w for w in WRONG_FEATURES + WRONG_TARGET if w in str(exc)], str(exc)


def test_the_advice_survives_pickling_with_the_attributes():
    X, y = load_breast_cancer(return_X_y=True)
    exc = _diverged(GDClassifier(optimizer="sgd", learning_rate=0.01, random_state=0), X, y)
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is DivergenceError and str(back) == str(exc)
    assert (back.epoch, back.learning_rate, back.loss, back.overflow, back.advice) == (
        exc.epoch, exc.learning_rate, exc.loss, exc.overflow, exc.advice)


def test_the_pipelines_explanation_replaces_the_advice_once():
    """The train stage's explain_divergence on an estimator's error (a fit off the row-view
    path, e.g. a DataFrame): its own advice for standardised features replaces the
    estimator's, no sentence twice."""
    X, y = load_breast_cancer(return_X_y=True)
    Xs = StandardScaler().fit_transform(X)
    exc = _diverged(GDClassifier(optimizer="sgd", learning_rate=1000.0, random_state=0), Xs, y)
    msg = str(explain_divergence(exc, Xs, None, True))
    assert "likely cause" not in msg and msg.count("smaller learning rate") == 1
    assert "standardised already (preprocess.standardize)" in msg
    raw = _diverged(GDClassifier(optimizer="sgd", learning_rate=0.01, random_state=0), X, y)
    msg = str(explain_divergence(raw, X, None, False))
    assert msg.count("The features are unscaled") == 1
    assert msg.endswith("preprocess.standardize is false.")


def test_features_on_one_common_large_scale_are_not_said_to_need_different_rates():
    """Breast cancer standardised then × 100 (every column std 100) diverges with sgd at
    learning_rate=0.1: the advice said 'one learning rate cannot suit them all', false for
    columns of one scale; it says they share a scale far from 1, and the fix trains."""
    X, y = load_breast_cancer(return_X_y=True)
    X100 = 100 * StandardScaler().fit_transform(X)
    est = GDClassifier(optimizer="sgd", learning_rate=0.1, random_state=0)
    msg = str(_diverged(est, X100, y))
    assert "The features are unscaled (column standard deviations all 100)" in msg
    assert "they share one scale, far from 1" in msg
    assert "cannot suit them all" not in msg
    assert make_pipeline(StandardScaler(), est).fit(X100, y).score(X100, y) > 0.95
