"""A fit the tol rule stopped before it trained warns (ConvergenceWarning) naming the cause;
converged fits, noise included, stay silent (gdlab.core.stall)."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler

from gdlab import GDClassifier, GDRegressor


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 5))
    y = X @ rng.normal(size=5) + 0.1 * rng.normal(size=1000)
    return X, y, (y > 0).astype(int)


def _stall_warning(est, X, y) -> str:
    with pytest.warns(ConvergenceWarning, match="barely trained") as record:
        est.fit(X, y)
    message = next(str(w.message) for w in record if "barely trained" in str(w.message))
    assert "tol is an absolute change in the loss" in message
    assert "smaller tol" in message
    return message


@pytest.mark.parametrize("scale, alpha", [(0.01, 1e-4), (0.001, 0.0)])
def test_features_far_below_unit_scale_warn_to_standardise(scale, alpha):
    """(At 0.001 with the default alpha=1e-4 the penalty, not the tol rule, keeps the
    weights near 0: the penalised objective's optimum scores 0.508 too, and no warning.)"""
    X, _, yc = _data()
    Xs = scale * X
    est = GDClassifier(alpha=alpha, random_state=0)
    message = _stall_warning(est, Xs, yc)
    # the fit stopped untrained: far below what the same data allow
    assert est.n_iter_ < 20
    assert est.score(Xs, yc) < 0.6 < 0.95 < LogisticRegression(C=1e6).fit(Xs, yc).score(Xs, yc)
    assert "far below unit scale" in message and "StandardScaler()" in message


def test_regression_features_far_below_unit_scale():
    X, y, _ = _data()
    Xs = 0.001 * X
    est = GDRegressor(random_state=0)
    message = _stall_warning(est, Xs, y)
    assert est.score(Xs, y) < 0.1 < 0.99 < LinearRegression().fit(Xs, y).score(Xs, y)
    assert "StandardScaler()" in message


def test_small_target_warns_to_scale_it():
    X, y, _ = _data()
    y = 0.03 * y  # std 0.063
    est = GDRegressor(optimizer="sgd", learning_rate=0.01, random_state=0)
    message = _stall_warning(est, X, y)
    assert est.score(X, y) < 0.5
    assert "target is far below unit scale" in message
    assert "TransformedTargetRegressor" in message


@pytest.mark.parametrize("optimizer, rate, dtype", [("sgd", 1e-12, "float64"),
                                                    ("sgd", 1e-12, "float32"),
                                                    ("adam", 1e-10, "float64")])
def test_tiny_learning_rate_warns_to_raise_it(optimizer, rate, dtype):
    X, y, _ = _data()
    est = GDRegressor(optimizer=optimizer, learning_rate=rate, dtype=dtype, random_state=0)
    message = _stall_warning(est, X, y)
    assert est.score(X, y) < 0.1
    assert f"try a larger one (e.g. {rate * 10:.3g})" in message
    assert "gdlab.lr_range_test" in message


def _silent(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return est.fit(X, y)


@pytest.mark.parametrize("n", [200, 20000])
def test_pure_noise_that_converged_is_silent(n):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, 5))
    reg = _silent(GDRegressor(random_state=0), X, rng.normal(size=n))
    clf = _silent(GDClassifier(random_state=0), X, rng.integers(0, 2, n))
    assert reg.n_iter_ < 100 and clf.n_iter_ < 100  # stopped by tol, not max_epochs


@pytest.mark.parametrize("optimizer, rate", [("adam", 0.01), ("sgd", 0.1), ("sgd", 0.01)])
@pytest.mark.parametrize("batch_size", [None, 32])
def test_standardised_problems_stopped_by_tol_are_silent(optimizer, rate, batch_size):
    Xr, yr = make_regression(n_samples=500, n_features=10, noise=10, random_state=0)
    Xr = StandardScaler().fit_transform(Xr)
    yr = (yr - yr.mean()) / yr.std()
    Xc, yc = make_classification(n_samples=500, n_features=10, random_state=0)
    Xc = StandardScaler().fit_transform(Xc)
    params = dict(optimizer=optimizer, learning_rate=rate, batch_size=batch_size,
                  random_state=0)
    assert _silent(GDRegressor(**params), Xr, yr).n_iter_ < 1000
    assert _silent(GDClassifier(**params), Xc, yc).n_iter_ < 1000


@pytest.mark.parametrize("optimizer, rate", [("adam", 0.01), ("sgd", 0.1)])
def test_warm_start_refit_at_the_optimum_is_silent(optimizer, rate):
    Xc, yc = make_classification(n_samples=500, n_features=10, random_state=0)
    Xc = StandardScaler().fit_transform(Xc)
    est = GDClassifier(optimizer=optimizer, learning_rate=rate, warm_start=True,
                       random_state=0)
    _silent(est, Xc, yc)
    _silent(est, Xc, yc)  # barely moves: it starts where the first fit ended


def test_a_stalled_warm_refit_still_warns():
    X, y, _ = _data()
    est = GDRegressor(optimizer="sgd", learning_rate=1e-12, warm_start=True, random_state=0)
    _stall_warning(est, X, y)
    _stall_warning(est, X, y)


def test_partial_fit_is_not_subject_to_tol():
    X, y, _ = _data()
    est = GDRegressor(optimizer="sgd", learning_rate=1e-12, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        for _ in range(15):
            est.partial_fit(X, y)


def test_a_sampled_probe_does_not_call_a_converged_wide_fit_stalled(monkeypatch):
    """With more training rows than the probe's sample holds, a line search on a sample of
    few rows per feature fitted its noise (2 000 rows of 2 000 features: a loss 0.47 found
    below a converged fit's 0.64) and the warning advised a 10x larger rate, which made the
    fit oscillate. The search's step is now measured on other rows. Here the sample is made
    200 rows of the 200 features (as 2 000 of 2 000 at the default size)."""
    import gdlab.core.stall as stall

    monkeypatch.setattr(stall, "PROBE_CELLS", 200 * 200)
    X, y = make_classification(4000, 200, n_informative=10, flip_y=0.3, class_sep=0.5,
                               random_state=0)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        est = GDClassifier(random_state=0).fit(X, y)
    assert not [w for w in record if "barely trained" in str(w.message)]
    # converged: the training log loss of LogisticRegression at the same penalty, to 1%
    reference = LogisticRegression(C=1.0 / (est.alpha * len(y)), max_iter=5000).fit(X, y)
    ours = log_loss(y, est.predict_proba(X))
    assert ours <= 1.01 * log_loss(y, reference.predict_proba(X))


def test_a_sampled_probe_still_finds_a_real_stall(monkeypatch):
    """The same sample sizes on features of std 0.01: the step found on one half of the rows
    lowers the loss on the other half too, and the stall is warned about."""
    import gdlab.core.stall as stall

    monkeypatch.setattr(stall, "PROBE_CELLS", 5 * 100)  # 100 rows of the 1000 per sample
    X, _, yc = _data()
    est = GDClassifier(random_state=0)
    message = _stall_warning(est, 0.01 * X, yc)
    assert "far below unit scale" in message


def test_a_slow_divergence_the_tol_rule_stopped_warns():
    """Full-batch sgd on standardised diabetes at learning_rate 0.5, just above 2/L (0.497,
    gdlab.smoothness_constant): the loss fell to 0.4111 in epoch 4, then rose in each of the
    next 10 epochs to 0.454 and the tol rule ended the fit at R² 0.08, silently (neither
    above its first epoch's loss nor twice its lowest). At half the rate it trains."""
    from sklearn.datasets import load_diabetes

    from gdlab.core.diagnostics import smoothness_constant

    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    assert 0.5 > 2.0 / smoothness_constant(X) * 0.99  # at the stability limit, past it
    est = GDRegressor(optimizer="sgd", learning_rate=0.5, batch_size=None, random_state=0)
    with pytest.warns(ConvergenceWarning, match="rose in each of its last 10 epochs") as rec:
        est.fit(X, y)
    message = next(str(w.message) for w in rec if "rose in each" in str(w.message))
    assert "Lower learning_rate (e.g. 0.05)" in message
    losses = np.asarray(est.loss_curve_)
    assert np.all(np.diff(losses[-11:]) > 0) and losses[-1] > 1.05 * losses.min()
    ridge = LinearRegression().fit(X, y).score(X, y)
    assert est.score(X, y) < 0.2 < 0.45 < ridge
    assert GDRegressor(optimizer="sgd", learning_rate=0.25, batch_size=None,
                       random_state=0).fit(X, y).score(X, y) > 0.45


@pytest.mark.parametrize("scale", [20.0, 200.0])
def test_features_on_one_large_scale_do_not_stall_a_fit_the_learning_rate_does(scale):
    """Columns all of std 200, sgd at 1e-11: the stall warning said 'The features are
    unscaled ... Standardise them', but larger features take larger steps: standardised, the
    same rate stalls as well. The learning rate is named, and a rate that suits the features
    (below 2/λ_max) reaches least squares."""
    X, y, _ = _data()
    X = scale * StandardScaler().fit_transform(X)
    est = GDRegressor(optimizer="sgd", learning_rate=1e-11, random_state=0)
    message = _stall_warning(est, X, y)
    assert "The learning rate is the likely cause: try a larger one (e.g. 1e-10)" in message
    assert "unscaled" not in message and "StandardScaler" not in message
    _stall_warning(est, X / scale, y)  # standardising alone does not help
    rate = 1.0 / float(np.linalg.eigvalsh(X.T @ X / len(X))[-1])
    fitted = est.set_params(learning_rate=rate).fit(X, y)
    assert fitted.score(X, y) == pytest.approx(LinearRegression().fit(X, y).score(X, y),
                                               abs=1e-3)
