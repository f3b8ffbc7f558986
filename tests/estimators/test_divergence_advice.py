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
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
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


def _shifted(offset: float, n: int = 500):
    """Three N(0, 1) columns shifted by ``offset`` (a year ≈ 2000 of std 1), y linear in the
    centred columns."""
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(n, 3))
    return Z + offset, Z @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=n)


def _least_squares_r2(X, y) -> float:
    A = np.c_[X, np.ones(len(X))]
    residual = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
    return 1 - float(residual @ residual) / float(((y - y.mean()) ** 2).sum())


@pytest.mark.parametrize("offset", [5.0, 50.0, 2000.0])
def test_off_centre_features_are_named_not_the_learning_rate(offset):
    """Columns of std 1 and mean 2000 diverged with sgd at 0.1 and were told 'The learning
    rate is the likely cause: the features are on moderate, comparable scales already';
    sgd at 0.01 ... 0.0001 diverged as well. Their curvature grows with mean² + std²
    (theory: λ_max of [X 1]ᵀ[X 1]/n is above 2/0.1); the advice names the columns and their
    means, and its StandardScaler pipeline reaches the least-squares R²."""
    X, y = _shifted(offset)
    assert _largest_curvature(X) > 2 / 0.1
    est = GDRegressor(optimizer="sgd", learning_rate=0.1, random_state=0)
    msg = str(_diverged(est, X, y))
    assert "The features are unscaled: columns" in msg
    assert f"(mean {X[:, 1].mean():.4g}, std {X[:, 1].std():.3g})" in msg
    assert "make_pipeline(StandardScaler(), GDRegressor(...))" in msg
    assert "likely cause" not in msg
    fixed = make_pipeline(StandardScaler(), est).fit(X, y)
    assert fixed.score(X, y) == pytest.approx(_least_squares_r2(X, y), abs=2e-3)


def test_the_old_learning_rate_advice_on_far_off_centre_features_did_not_train():
    """Why the learning rate is not the cause at mean 2000: 10 and 1000 times smaller
    rates diverge too (the measurement behind the new advice)."""
    X, y = _shifted(2000.0)
    for rate in (0.01, 1e-4):
        _diverged(GDRegressor(optimizer="sgd", learning_rate=rate, random_state=0), X, y)


def test_an_off_centre_dataframe_column_is_named_by_its_name():
    import pandas as pd

    X, y = _shifted(0.0)
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "year": X[:, 2] + 2000.0})
    msg = str(_diverged(GDRegressor(optimizer="sgd", learning_rate=0.1, random_state=0),
                        frame, y))
    year = frame["year"]
    assert (f"The features are unscaled: column 'year' (mean {year.mean():.4g}, std "
            f"{year.std(ddof=0):.3g}) lies far from 0 next to its spread") in msg
    assert "'a'" not in msg and "'b'" not in msg


def test_a_constant_column_is_named_constant_and_dropping_or_scaling_it_trains():
    """A constant column of 5 beside standardised ones diverged with sgd at 0.1 and was
    blamed on the learning rate; the cause is its square (25) in the curvature (λ_max > 20 =
    2/0.1; a constant of 3 keeps it below, and that fit trains). The advice says it is
    constant; dropping it or the StandardScaler pipeline trains at the same rate."""
    X, y = _shifted(0.0, n=100)
    est = GDRegressor(optimizer="sgd", learning_rate=0.1, max_epochs=500, tol=None,
                      random_state=0)
    Xc = np.c_[X, np.full(len(X), 5.0)]
    assert _largest_curvature(Xc) > 2 / 0.1 > _largest_curvature(np.c_[X, np.full(len(X), 3.0)])
    msg = str(_diverged(est, Xc, y))
    assert "The features hold a constant column 3 (always 5, square 25)" in msg
    assert "the intercept already fits a constant" in msg and "Drop it" in msg
    assert "likely cause" not in msg
    best = _least_squares_r2(X, y)
    assert est.fit(X, y).score(X, y) == pytest.approx(best, abs=1e-6)
    assert make_pipeline(StandardScaler(), est).fit(Xc, y).score(Xc, y) == pytest.approx(
        best, abs=1e-6)


def test_one_hot_columns_beside_standardised_ones_still_name_the_learning_rate():
    """0/1 columns (means 0.5, 0.9, 0.02) are not off-centre: a too-large rate on them is
    still the learning rate's fault, and 10 times smaller trains."""
    rng = np.random.default_rng(0)
    X, y = _shifted(0.0)
    hot = (rng.random((len(X), 3)) < [0.5, 0.9, 0.02]).astype(float)
    X = np.c_[X, hot]
    y = y + hot @ np.array([1.0, -1.0, 2.0])
    msg = str(_diverged(GDRegressor(optimizer="sgd", learning_rate=3.0, random_state=0), X, y))
    assert "The learning rate is the likely cause" in msg
    assert not [w for w in WRONG_FEATURES + WRONG_TARGET if w in msg], msg
    GDRegressor(optimizer="sgd", learning_rate=0.3, random_state=0).fit(X, y)


def _small_target(scale: float):
    X, y = make_regression(1000, 5, noise=1.0, random_state=0)
    return StandardScaler().fit_transform(X), scale * y / y.std()


@pytest.mark.parametrize("scale", [2e-3, 1e-8])
def test_a_small_target_under_adam_is_named_and_scaling_it_trains(scale):
    """Standardised X, y of std 0.002 (or 1e-8), the default GDRegressor (adam, 0.01):
    diverged and was told to lower the learning rate. adam moves each weight by about the
    learning rate per step, more than the target's scale; the advice names the target,
    and its TransformedTargetRegressor reaches the least-squares R²."""
    X, y = _small_target(scale)
    est = GDRegressor(random_state=0)
    msg = str(_diverged(est, X, y))
    assert "The target is small (y mean" in msg
    assert f"root mean square {np.sqrt(np.mean(y ** 2)):.3g}" in msg
    assert "adam moves each weight by about learning_rate=0.01 per step" in msg
    assert "TransformedTargetRegressor(regressor=GDRegressor(...)" in msg
    assert "likely cause" not in msg and "unscaled" not in msg
    fixed = TransformedTargetRegressor(regressor=est, transformer=StandardScaler()).fit(X, y)
    assert fixed.score(X, y) == pytest.approx(_least_squares_r2(X, y), abs=2e-3)


def test_a_smaller_learning_rate_alone_stops_short_on_a_small_target():
    """What the advice's note says: at 1e-4, below the target's scale, adam no longer
    diverges, but the absolute tol (above the whole loss) stops it far from the fit."""
    X, y = _small_target(2e-3)
    est = GDRegressor(learning_rate=1e-4, random_state=0).fit(X, y)
    assert est.n_iter_ == est.n_iter_no_change + 1
    assert 1 - est.score(X, y) > 10 * (1 - _least_squares_r2(X, y))  # unexplained: 38x


def test_a_small_target_under_sgd_is_not_blamed():
    """sgd's steps scale with the gradient, and so with y: a linear model diverges at the
    same epoch whatever the target's scale, so a small one is not named."""
    X, y = _small_target(1.0)
    est = GDRegressor(optimizer="sgd", learning_rate=3.0, random_state=0)
    exc = _diverged(est, X, y * 2e-3)
    assert exc.epoch == _diverged(est, X, y).epoch
    assert "The learning rate is the likely cause" in str(exc)
    assert not [w for w in WRONG_FEATURES + WRONG_TARGET if w in str(exc)], str(exc)


def _diabetes_times_1000():
    """The reviewer's data: diabetes × 1000 (every column std 47.6, curvature ~2300 times a
    standardised column's) and a standardised target."""
    X, y = load_diabetes(return_X_y=True)
    return 1000 * X, (y - y.mean()) / y.std()


def test_an_mlp_on_features_of_std_48_is_told_to_scale_them_not_to_lower_the_rate():
    """MLP, sgd, diabetes × 1000: at learning_rate=0.01 it said 'The learning rate is the
    likely cause: the features and the target are on moderate, comparable scales already.
    Try a smaller learning rate (e.g. 0.001)'; at 0.001 the same with 0.0001; at 0.0001 R²
    -0.03 and a warning to raise the learning rate. Features of std 48 are the cause (std
    10 or more: curvature 100 times a standardised column's); the advice names them, and
    its StandardScaler pipeline trains at 0.01, as well as least squares or better."""
    X, y = _diabetes_times_1000()
    est = GDRegressor(model="mlp", optimizer="sgd", learning_rate=0.01, random_state=0)
    for rate in (0.01, 0.001):
        msg = str(_diverged(est.set_params(learning_rate=rate), X, y))
        assert "The features are unscaled (column standard deviations all 47.6)" in msg
        assert "make_pipeline(StandardScaler(), GDRegressor(...))" in msg
        assert "likely cause" not in msg and "moderate" not in msg
    with pytest.warns(ConvergenceWarning) as record:
        est.set_params(learning_rate=1e-4).fit(X, y)
    said = " ".join(str(w.message) for w in record)
    # slow, not diverging: raise the epochs or the rate (raised to 0.001 it diverges, above,
    # with the scaling advice); the same small rate on standardised features is slower still
    assert "increase max_epochs or the learning rate" in said and "Standardise" not in said
    fixed = make_pipeline(StandardScaler(), est.set_params(learning_rate=0.01)).fit(X, y)
    assert fixed.score(X, y) > _least_squares_r2(X, y) - 0.01 > 0.5


@pytest.mark.parametrize("scale", [10.0, 48.0])
def test_a_linear_model_on_features_of_std_10_or_more_is_told_to_scale_them(scale):
    """Standardised diabetes × 10 (or × 48): sgd at 0.01 is above 2/λ_max (theory: λ_max
    grows with the columns' variance, 100 times at std 10) while standardised it is far
    below; the advice names the features, not the learning rate, and its StandardScaler
    pipeline reaches the least-squares R² at the same rate (ill-conditioned diabetes needs
    its 3000 epochs: the tol rule stops it at R² 0.505)."""
    X, y = load_diabetes(return_X_y=True)
    Xs, y = StandardScaler().fit_transform(X), (y - y.mean()) / y.std()
    X = scale * Xs
    assert 2 / _largest_curvature(X) < 0.01 < 0.1 * 2 / _largest_curvature(Xs)
    est = GDRegressor(optimizer="sgd", learning_rate=0.01, random_state=0)
    msg = str(_diverged(est, X, y))
    assert f"The features are unscaled (column standard deviations all {scale:.3g})" in msg
    assert "they share one scale, far from 1" in msg and "likely cause" not in msg
    fixed = make_pipeline(StandardScaler(), est.set_params(tol=None, max_epochs=3000))
    assert fixed.fit(X, y).score(X, y) == pytest.approx(_least_squares_r2(X, y), abs=3e-3)


def test_a_classifier_on_features_of_std_20_is_told_to_scale_them():
    """Breast cancer standardised × 20: sgd at learning_rate=10 diverges (it trains on the
    standardised columns); the advice names the features, and its pipeline at the same rate
    is as accurate as LogisticRegression."""
    X, y = load_breast_cancer(return_X_y=True)
    X20 = 20 * StandardScaler().fit_transform(X)
    est = GDClassifier(optimizer="sgd", learning_rate=10.0, random_state=0)
    msg = str(_diverged(est, X20, y))
    assert "The features are unscaled (column standard deviations all 20)" in msg
    assert "likely cause" not in msg
    reference = make_pipeline(StandardScaler(), LogisticRegression()).fit(X20, y).score(X20, y)
    assert make_pipeline(StandardScaler(), est).fit(X20, y).score(X20, y) >= reference - 0.01


def test_standardised_features_are_said_to_be_on_comparable_scales_with_their_numbers():
    """Standardised diabetes, an MLP at a rate far above 2/L: the learning rate is named, and
    what was checked is said with its numbers (the features' and the target's)."""
    X, y = load_diabetes(return_X_y=True)
    Xs, y = StandardScaler().fit_transform(X), (y - y.mean()) / y.std()
    msg = str(_diverged(GDRegressor(model="mlp", optimizer="sgd", learning_rate=10.0,
                                    random_state=0), Xs, y))
    assert ("The learning rate is the likely cause: the features are on moderate, comparable "
            "scales already (column standard deviations all 1), and the target is not on a "
            "large scale (y mean") in msg
    assert not [w for w in WRONG_FEATURES + WRONG_TARGET[1:] if w in msg], msg


@pytest.mark.parametrize("stds, said", [
    ([0.2, 1.0, 5.0], "the features are on moderate scales (column standard deviations from "
                      "0.2 to 5), none large"),
    ([0.01, 0.05], "the features are small (column standard deviations from 0.01 to 0.05)"),
    ([9.0, 9.0], "the features are on moderate, comparable scales already (column standard "
                 "deviations all 9)"),
])
def test_the_learning_rate_advice_says_only_what_the_scales_show(stds, said):
    """'moderate, comparable scales' only for columns within 10 times of each other and
    between 0.1 and 10; columns of std 9 are not named as the cause, of std 10 they are."""
    from gdlab.estimators.advice import checked_scales, feature_scale_cause

    X = StandardScaler().fit_transform(np.random.default_rng(0).normal(size=(500, len(stds))))
    assert said in checked_scales(X * stds)
    assert feature_scale_cause(X * stds, "GDRegressor") is None
    assert "all 10" in feature_scale_cause(X * 10.0, "GDRegressor")
