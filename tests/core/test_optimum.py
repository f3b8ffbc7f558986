"""Converged full-batch gradient descent reaches the independent references' optima."""

import numpy as np
import pytest
from sklearn.linear_model import ElasticNet, LogisticRegression

from gdlab import GDClassifier, GDRegressor


def _regression(seed=0, n=300, d=6):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.7 + 0.3 * rng.standard_normal(n)
    return X, y


def test_least_squares_reaches_lstsq():
    X, y = _regression()
    est = GDRegressor(
        optimizer="sgd", learning_rate=0.5, alpha=0.0, max_epochs=3000, tol=None
    ).fit(X, y)
    ref = np.linalg.lstsq(np.c_[X, np.ones(len(X))], y, rcond=None)[0]
    got = np.r_[est.coef_, est.intercept_]
    assert np.linalg.norm(got - ref) / np.linalg.norm(ref) < 1e-6


def test_least_squares_reaches_lstsq_with_nesterov():
    X, y = _regression(seed=1)
    ref = np.linalg.lstsq(np.c_[X, np.ones(len(X))], y, rcond=None)[0]
    est = GDRegressor(
        optimizer="nesterov", learning_rate=0.1, alpha=0.0, max_epochs=2000, tol=None
    ).fit(X, y)
    assert np.linalg.norm(np.r_[est.coef_, est.intercept_] - ref) / np.linalg.norm(ref) < 1e-6


def _classification(seed, n_classes, n=400, d=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((d, n_classes))
    logits = X @ W + 0.5 * rng.standard_normal((n, n_classes))
    return X, logits.argmax(axis=1)


def _lbfgs_reference(X, y, alpha):
    n = X.shape[0]
    ref = LogisticRegression(C=1.0 / (n * alpha), tol=1e-12, max_iter=10000)
    return ref.fit(X, y)


def test_logistic_reaches_sklearn_l2_solution():
    X, y = _classification(0, 2)
    alpha = 0.01
    est = GDClassifier(
        optimizer="sgd", learning_rate=1.0, alpha=alpha, max_epochs=4000, tol=None
    ).fit(X, y)
    ref = _lbfgs_reference(X, y, alpha)
    got = np.r_[est.coef_.ravel(), est.intercept_]
    want = np.r_[ref.coef_.ravel(), ref.intercept_]
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 1e-5


def test_softmax_reaches_sklearn_l2_solution():
    X, y = _classification(1, 3)
    alpha = 0.01
    est = GDClassifier(
        optimizer="nesterov", learning_rate=0.5, alpha=alpha, max_epochs=3000, tol=None
    ).fit(X, y)
    ref = _lbfgs_reference(X, y, alpha)
    # softmax is invariant to adding a constant to every class's logit: compare centred
    # coefficients; the L2 penalty makes the weights' class-mean zero for both.
    got_w, want_w = est.coef_, ref.coef_
    got_b = est.intercept_ - est.intercept_.mean()
    want_b = ref.intercept_ - ref.intercept_.mean()
    got = np.r_[got_w.ravel(), got_b]
    want = np.r_[want_w.ravel(), want_b]
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 1e-5


@pytest.mark.parametrize("jit", ["1", "0"])
@pytest.mark.parametrize("l1_ratio", [0.5, 1.0])
def test_elastic_net_reaches_sklearn_elastic_net(monkeypatch, jit, l1_ratio):
    """ElasticNet's objective, 1/(2n)‖y − Xw − b‖² + α(ρ‖w‖₁ + ½(1 − ρ)‖w‖²) with the
    intercept unpenalised, is gdlab's squared_error with alpha and l1_ratio. Every
    coefficient of the optimum is far from zero, so the subgradient steps settle."""
    monkeypatch.setenv("GDLAB_JIT", jit)
    rng = np.random.default_rng(4)
    X = rng.standard_normal((300, 5)) + 0.5
    y = X @ np.array([2.0, -1.5, 1.0, 3.0, -2.5]) + 4.0 + 0.3 * rng.standard_normal(300)
    alpha = 0.1
    est = GDRegressor(optimizer="sgd", learning_rate=0.3, alpha=alpha, l1_ratio=l1_ratio,
                      max_epochs=4000, tol=None).fit(X, y)
    ref = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-14, max_iter=100_000).fit(X, y)
    assert np.abs(ref.coef_).min() > 0.5
    got = np.r_[est.coef_, est.intercept_]
    want = np.r_[ref.coef_, ref.intercept_]
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 1e-6
