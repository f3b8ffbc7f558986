"""The divergence guard under ``partial_fit``: every call brings other rows, so losses of
different calls are never compared (a drifting stream was taken for an exploding loss and
rolled back many calls); a non-finite loss still raises, restoring the parameters that call
started from."""

import numpy as np
import pytest
from sklearn.datasets import make_regression
from sklearn.preprocessing import StandardScaler

from gdlab import DivergenceError, GDRegressor

JIT = pytest.mark.parametrize("jit", ["1", "0"], ids=["compiled", "numpy"])


def _stream(n=2000, drift=300.0):
    X, y = make_regression(n, 5, noise=5, random_state=0)
    return StandardScaler().fit_transform(X), y + np.linspace(0, drift, n)


def _params(est) -> np.ndarray:
    return np.r_[est.coef_, est.intercept_]


@JIT
@pytest.mark.parametrize("learning_rate", [0.05, 0.005])
def test_a_drifting_stream_is_not_taken_for_divergence(monkeypatch, jit, learning_rate):
    # the reviewer's case: the chunks' losses rise with the drift (from ~2e4 to ~5e4), above
    # ten times an early chunk's; it raised at the 20th call and restored the 3rd call's state
    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y = _stream()
    est = GDRegressor(random_state=0, learning_rate=learning_rate, batch_size=50)
    after = []
    for k in range(20):
        est.partial_fit(X[k * 100:(k + 1) * 100], y[k * 100:(k + 1) * 100])
        after.append(_params(est))
    assert est.n_iter_ == 20 and len(est.loss_curve_) == 20
    assert max(est.loss_curve_) > 10 * min(est.loss_curve_)  # the old rule's trigger
    assert np.isfinite(after[-1]).all()
    assert after[-1][-1] > after[2][-1] > 0  # the intercept kept following the drift


@JIT
def test_a_call_that_overflows_restores_the_parameters_it_started_from(monkeypatch, jit):
    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y = _stream(n=1100, drift=100.0)
    est = GDRegressor(optimizer="sgd", random_state=0, learning_rate=0.05, batch_size=50)
    for k in range(10):
        est.partial_fit(X[k * 100:(k + 1) * 100], y[k * 100:(k + 1) * 100])
    before = _params(est).copy()
    # an earlier call had the lowest loss: the old guard went back to its parameters
    assert int(np.argmin(est.loss_curve_)) < 9
    with pytest.raises(DivergenceError) as info:
        est.partial_fit(1e200 * X[1000:], y[1000:])  # the loss overflows at once
    assert info.value.epoch == 11
    np.testing.assert_array_equal(_params(est), before)
    assert est.n_iter_ == 10  # the diverged call left no epoch behind


@JIT
def test_a_huge_learning_rate_still_raises_with_finite_parameters(monkeypatch, jit):
    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y = _stream(n=400)
    est = GDRegressor(optimizer="sgd", learning_rate=1e200, batch_size=20, random_state=0)
    with pytest.raises(DivergenceError, match="smaller learning rate"):
        for k in range(4):
            est.partial_fit(X[k * 100:(k + 1) * 100], y[k * 100:(k + 1) * 100])
    assert np.isfinite(_params(est)).all()
