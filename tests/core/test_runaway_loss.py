"""The runaway-loss rule of the divergence guard (:data:`gdlab.core.loop.RUNAWAY`): a loss
risen three epochs in a row stops a fit only above 10⁶ × the lowest loss so far (it was 10×).
rmsprop and adam near the optimum spike 10²–10⁵ × their lowest loss for a few epochs and
recover, as torch's RMSprop and Adam do: ``GDClassifier(optimizer="rmsprop").fit`` on
scikit-learn's breast-cancer data raised DivergenceError at epoch 8, and rmsprop/adam on
standardised diabetes at epochs 226 and 16, fits that end at torch's loss and at the least-
squares optimum. Plain gradient descent with a step above 2/L still stops long before its
loss overflows."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

from gdlab import DivergenceError, GDClassifier, GDRegressor
from gdlab.core.loop import RUNAWAY

JIT = pytest.mark.parametrize("jit", ["1", "0"], ids=["compiled", "numpy"])


def _old_rule_fired(losses) -> bool:
    """Whether the old rule (risen three epochs in a row to above 10× the lowest loss so far
    and the first) would have stopped this curve: the test data really spike."""
    lowest, prev, rising = np.inf, np.inf, 0
    for loss in losses:
        rising = rising + 1 if loss > prev else 0
        if rising >= 3 and loss > 10 * lowest and loss > losses[0]:
            return True
        lowest, prev = min(lowest, loss), loss
    return False


def _rmsprop_logistic(X, y, lr, alpha, epochs):
    """Full-batch RMSprop as torch.optim.RMSprop (ρ = 0.99, ε = 1e-8 outside the root,
    zero-initialised) on the mean log loss + ½α‖w‖², from zero weights and the intercept at
    the log class prior (gdlab's default start): the loss at each epoch's start, as gdlab's
    full-batch history records it."""
    w, b = np.zeros(X.shape[1]), float(np.log(y.mean() / (1.0 - y.mean())))
    vw, vb = np.zeros_like(w), 0.0
    losses = []
    for _ in range(epochs):
        z = X @ w + b
        losses.append(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * alpha * w @ w)
        r = (1.0 / (1.0 + np.exp(-z)) - y) / len(y)
        gw, gb = X.T @ r + alpha * w, r.sum()
        vw, vb = 0.99 * vw + 0.01 * gw**2, 0.99 * vb + 0.01 * gb**2
        w, b = w - lr * gw / (np.sqrt(vw) + 1e-8), b - lr * gb / (np.sqrt(vb) + 1e-8)
    return np.array(losses)


@JIT
def test_rmsprop_on_raw_breast_cancer_spikes_and_recovers_as_torch(monkeypatch, jit):
    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y = load_breast_cancer(return_X_y=True)
    est = GDClassifier(optimizer="rmsprop", learning_rate=0.01, alpha=1e-4, max_epochs=200,
                       tol=None).fit(X, y)
    reference = _rmsprop_logistic(X, y.astype(float), 0.01, 1e-4, 200)
    assert _old_rule_fired(reference)  # 0.69, 50.9, 23.8, 34.7, 0.83, 2.39, 15.8, 19.7, ...
    assert est.n_iter_ == 200
    np.testing.assert_allclose(est.loss_curve_, reference, rtol=1e-6)
    assert est.loss_curve_[-1] < 0.4 and est.score(X, y) > 0.9


def _standardised_diabetes():
    X, y = load_diabetes(return_X_y=True)
    X, y = (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()
    A = np.c_[X, np.ones(len(X))]
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    return X, y, 0.5 * float(np.mean((A @ coef - y) ** 2))


@JIT
@pytest.mark.parametrize(("optimizer", "learning_rate"), [("rmsprop", 0.3), ("adam", 1.0)])
def test_a_spike_near_the_optimum_is_no_divergence(monkeypatch, jit, optimizer,
                                                    learning_rate):
    """rmsprop's accumulator fades with the gradient near the optimum until the step passes
    2/L: the loss then grows ~80× over ~10 epochs, refills the accumulator and comes back
    (torch: the same curve, ending at 0.2413 and 0.2411)."""
    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y, optimum = _standardised_diabetes()
    est = GDRegressor(optimizer=optimizer, learning_rate=learning_rate, alpha=0.0,
                      max_epochs=300, tol=None).fit(X, y)
    assert _old_rule_fired(est.loss_curve_)
    assert est.n_iter_ == 300
    assert optimum <= est.loss_curve_[-1] < 1.001 * optimum
    A = np.c_[X, np.ones(len(X))]
    fitted = 0.5 * np.mean((A @ np.r_[est.coef_, est.intercept_] - y) ** 2)
    assert fitted < 1.001 * optimum


@JIT
@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_a_geometric_divergence_stops_at_the_first_runaway_epoch(monkeypatch, jit, optimizer):
    """A step far above 2/L: the loss grows by a constant factor every epoch (×9 for sgd,
    ×2.4 for momentum at learning rate 1 on standardised diabetes, L ≈ 4.5) and would
    overflow after hundreds of epochs; the guard stops it on the first epoch that has risen
    three epochs in a row to above 10⁶ × the lowest loss, and restores the lowest's
    parameters."""
    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y, _ = _standardised_diabetes()
    est = GDRegressor(optimizer=optimizer, learning_rate=1.0, alpha=0.0, max_epochs=300,
                      tol=None)
    with pytest.raises(DivergenceError, match="smaller learning rate") as info:
        est.fit(X, y)
    losses = np.array(est.history_["loss"])
    epoch = info.value.epoch
    assert epoch == len(losses) + 1 and epoch <= 25
    growth = losses[-3:] / losses[-4:-1]
    assert np.all(growth > 2)  # geometric: no spike
    assert info.value.loss > RUNAWAY * losses.min()  # the stop: the first runaway epoch
    assert losses[-1] < RUNAWAY * losses.min()
    A = np.c_[X, np.ones(len(X))]
    restored = 0.5 * np.mean((A @ np.r_[est.coef_, est.intercept_] - y) ** 2)
    assert restored == pytest.approx(losses.min(), rel=1e-9)


def _diabetes_lipschitz():
    X, y = load_diabetes(return_X_y=True)
    X, y = (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()
    A = np.c_[X, np.ones(len(X))]
    return X, y, float(np.linalg.eigvalsh(A.T @ A / len(A)).max())


@JIT
@pytest.mark.parametrize("multiple", [2.2, 2.5, 3.0])
def test_the_tol_rule_does_not_end_a_runaway_fit_as_converged(monkeypatch, jit, multiple):
    """Gradient descent above 2/L on the default tol: with the runaway rule at 10⁶ the tol
    rule ran out of patience first and fit returned, no error, no warning, a model of
    R² -2310 (lr 2.5/L). A fit the tol rule would end on a loss above 10× its lowest and
    its first diverged: DivergenceError, the lowest-loss parameters restored."""
    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y, L = _diabetes_lipschitz()
    est = GDRegressor(optimizer="sgd", learning_rate=multiple / L, alpha=0.0, max_epochs=200)
    with pytest.raises(DivergenceError, match="Try a smaller learning rate"):
        est.fit(X, y)
    curve = est.history_["loss"]
    assert len(curve) < 200 and curve[-1] > 10 * min(curve)
    # the kept parameters are those of the lowest loss: the model is no worse than that
    best = 0.5 * np.mean((X @ est.coef_ + est.intercept_ - y) ** 2)
    assert best == pytest.approx(min(curve), rel=1e-9)


@JIT
def test_a_spike_the_tol_rule_would_end_on_is_reported_and_tol_none_lets_it_recover(
        monkeypatch, jit):
    """rmsprop on raw breast-cancer data with the default tol: the tol rule ended the fit at
    epoch 11 in the middle of its spike (loss 7.6, accuracy 0.41), silently; now it says
    so. With tol=None the same fit recovers to torch's result (the test above)."""
    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y = load_breast_cancer(return_X_y=True)
    with pytest.raises(DivergenceError):
        GDClassifier(optimizer="rmsprop").fit(X, y)
