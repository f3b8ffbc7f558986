"""Loss values against independent references: Huber against ``scipy.special.huber``, the
squared error against ½ r², the log losses against scikit-learn's ``log_loss`` (each the
weighted mean ``Σᵢ wᵢ ℓᵢ`` with weights summing to one, as docs/engine-contract.md defines it),
on both sides of Huber's threshold and on a fit's first full-batch epoch on both paths."""

import numpy as np
import pytest
from scipy.special import huber
from sklearn.metrics import log_loss

from gdlab import GDRegressor
from gdlab.core.models.losses import make_loss


def _weights(n, seed=0):
    w = np.random.default_rng(seed).uniform(0.1, 2.0, n)
    return w / w.sum()


@pytest.mark.parametrize("epsilon", [0.1, 1.0, 2.5])
def test_huber_value_is_scipys_weighted_mean(epsilon):
    rng = np.random.default_rng(1)
    y = rng.normal(size=300) * 3.0
    Z = (y + rng.standard_t(2, 300) * 2.0)[:, None]  # residuals within and far beyond ε
    r = Z[:, 0] - y
    assert (np.abs(r) <= epsilon).any() and (np.abs(r) > epsilon).any()
    w = _weights(len(y))
    loss, grad = make_loss("huber", 1, epsilon=epsilon).value_grad(Z.copy(), y, w)
    assert loss == pytest.approx(w @ huber(epsilon, r), rel=1e-12)
    np.testing.assert_allclose(grad[:, 0], w * np.clip(r, -epsilon, epsilon), rtol=1e-12)


def test_squared_error_value_is_half_the_weighted_mean_square():
    rng = np.random.default_rng(2)
    y, Z = rng.normal(size=50), rng.normal(size=(50, 1))
    w = _weights(50, 1)
    loss, _ = make_loss("squared_error", 1).value_grad(Z.copy(), y, w)
    assert loss == pytest.approx(0.5 * w @ (Z[:, 0] - y) ** 2, rel=1e-12)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_log_loss_value_is_sklearns(n_classes):
    rng = np.random.default_rng(3)
    y = rng.integers(0, n_classes, 80)
    n_out = 1 if n_classes == 2 else n_classes
    Z = rng.normal(size=(80, n_out)) * 3.0
    w = _weights(80, 2)
    loss, _ = make_loss("log_loss", n_out).value_grad(Z.copy(), y, w)
    if n_classes == 2:
        proba = 1 / (1 + np.exp(-Z[:, 0]))
        proba = np.c_[1 - proba, proba]
    else:
        proba = np.exp(Z - Z.max(axis=1, keepdims=True))
        proba /= proba.sum(axis=1, keepdims=True)
    assert loss == pytest.approx(log_loss(y, proba, sample_weight=w), rel=1e-10)


@pytest.mark.parametrize("jit", ["1", "0"])
def test_a_huber_fits_first_full_batch_loss_is_scipys_at_the_zero_start(monkeypatch, jit):
    monkeypatch.setenv("GDLAB_JIT", jit)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ [1.0, -2.0, 0.5] + rng.standard_t(2, 200) * 3
    est = GDRegressor(loss="huber", epsilon=1.0, batch_size=None, max_epochs=1, tol=None,
                      learning_rate=0.01).fit(X, y)
    # the first full-batch epoch's loss is taken at the start: coefficients and intercept 0
    assert est.loss_curve_[0] == pytest.approx(huber(1.0, y).mean(), rel=1e-9)
