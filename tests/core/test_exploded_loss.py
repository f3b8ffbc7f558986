"""A fit that ends on an exploded loss raises DivergenceError (the loop's exploded-loss
rule). ``GDRegressor(batch_size=10).fit(X * 1e20, y)`` with a bounded step
(adam, rmsprop, ``clip_norm``) blew the loss up to ~1e35 inside its first epoch and kept it
there, finite, never rising three epochs in a row, until the ``tol`` rule stopped the fit as
converged: no error, no warning. The scale of "exploded" is now the loss at the parameters
the fit started from, not the first epoch's mean (already exploded); a spike that recovers
(adagrad, rmsprop's accumulators damp the steps) is no divergence, nor a classifier on raw
features whose loss starts far above log 2 and falls."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning

from gdlab import DivergenceError, GDClassifier, GDRegressor
from gdlab.core import loop

JIT = pytest.mark.parametrize("jit", ["1", "0"], ids=["compiled", "numpy"])


def _data(n=200):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    return X, X @ [1.0, 2.0, 3.0] + 0.5 * rng.normal(size=n)


def _optimum_loss(X, y) -> float:
    A = np.c_[X, np.ones(len(X))]
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    return 0.5 * float(np.mean((A @ coef - y) ** 2))


@JIT
@pytest.mark.parametrize("opt", [{"optimizer": "adam"}, {"optimizer": "rmsprop"},
                                 {"optimizer": "sgd", "clip_norm": 1.0}],
                         ids=["adam", "rmsprop", "sgd-clip_norm"])
def test_a_bounded_step_mini_batch_fit_that_explodes_raises(monkeypatch, jit, opt):
    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y = _data()
    est = GDRegressor(batch_size=10, random_state=0, **opt)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # an error, not a warning
        with pytest.raises(DivergenceError) as info:
            est.fit(X * 1e20, y)
    msg = str(info.value)
    start = 0.5 * np.mean(y**2)  # the loss at the initial parameters (zeros)
    # the fit stops (its tol rule: n_iter_no_change epochs without improvement, at the
    # earliest) on an exploded loss (> 1e4 × the start loss)
    epoch = info.value.epoch
    assert epoch > est.n_iter_no_change
    assert msg.startswith(f"Training diverged at epoch {epoch} (loss=")
    assert info.value.loss > 1e20 * start
    # the cause the data show: features at 1e20 (the column scales, and the fix, named)
    assert "The features are unscaled" in msg and "make_pipeline(StandardScaler()" in msg
    # restored to the lowest-loss parameters, never exploded ones: adam and sgd to where the
    # fit started (zeros: every epoch exploded), rmsprop to those of its recovered epochs
    restored = 0.5 * np.mean((est.predict(X * 1e20) - y) ** 2)
    assert restored <= start
    if opt["optimizer"] != "rmsprop":
        assert np.array_equal(est.coef_, np.zeros(3)) and est.intercept_ == 0.0


@JIT
def test_a_fit_that_stops_on_an_exploded_epoch_raises(monkeypatch, jit):
    """max_epochs=1 (or a tol stop) on an exploded loss is not a result."""
    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y = _data()
    with pytest.raises(DivergenceError, match="diverged at epoch 1 "):
        GDRegressor(batch_size=10, max_epochs=1, tol=None, random_state=0).fit(X * 1e20, y)


@JIT
@pytest.mark.parametrize("config", [
    {"optimizer": "adagrad", "batch_size": 10, "learning_rate": 0.01, "scale": 1e20},
    {"optimizer": "rmsprop", "batch_size": None, "learning_rate": 0.1, "scale": 1e3},
], ids=["adagrad-mini-batch", "rmsprop-full-batch"])
def test_a_spike_that_recovers_is_no_divergence(monkeypatch, jit, config):
    """adagrad's and rmsprop's accumulators swallow a first huge gradient: one or two epochs
    1e5-1e33 above the start, then the optimum (least squares' loss, within noise)."""
    monkeypatch.setenv("GDLAB_JIT", jit)
    config = dict(config)
    scale = config.pop("scale")
    X, y = _data()
    est = GDRegressor(random_state=0, max_epochs=200, **config).fit(X * scale, y)
    curve = np.array(est.loss_curve_)
    start = 0.5 * np.mean(y**2)
    assert curve.max() > 1e4 * start  # it did spike (an exploded epoch) ...
    assert curve[-1] < 1.5 * _optimum_loss(X, y)  # ... and ended at the optimum


@JIT
@pytest.mark.parametrize("batch_size", [None, 7])
def test_the_scale_is_the_weighted_loss_where_the_fit_started(monkeypatch, jit, batch_size):
    """The start loss is the full training loss at the initial parameters (zeros: ½ Σwᵢyᵢ²/Σwᵢ),
    not one noisy batch nor the first epoch's mean."""
    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y = _data(50)
    w = np.random.default_rng(1).uniform(0.5, 2.0, size=50)
    est = GDRegressor(batch_size=batch_size, max_epochs=2, tol=None, random_state=0)
    est.fit(X, y, sample_weight=w)
    assert est._state.start_loss == pytest.approx(0.5 * np.average(y**2, weights=w), rel=1e-12)


@JIT
def test_a_classifier_on_raw_features_whose_loss_falls_is_no_divergence(monkeypatch, jit):
    """scikit-learn's breast-cancer data unscaled (features up to ~4 000): mini-batch sgd's
    log loss starts ~1e4 above log 2 (the loss where the fit started) and falls over the
    epochs to below 1e4 × it; the fit ends there as it did before the exploded-loss rule,
    with most rows right (its loss is high: the advice to scale is ConvergenceWarning's)."""
    monkeypatch.setenv("GDLAB_JIT", jit)
    X, y = load_breast_cancer(return_X_y=True)
    est = GDClassifier(optimizer="sgd", learning_rate=0.1, batch_size=32, max_epochs=300,
                       random_state=0).fit(X, y)
    curve = np.array(est.loss_curve_)
    assert curve[:3].min() > 1e4 * np.log(2)  # exploded epochs early on ...
    assert curve[-1] < 1e4 * np.log(2) and curve[-1] < curve[0]  # ... then it fell
    assert est.score(X, y) > 0.8


@pytest.mark.parametrize("rows", [None, "view"])
def test_a_large_fit_measures_its_start_loss_on_evenly_spaced_rows(monkeypatch, rows):
    """Above START_ROWS training rows the start loss is the mean over START_ROWS evenly spaced
    rows (a fraction of a pass, not one over every row); its value is that mean."""
    monkeypatch.setattr(loop, "START_ROWS", 100)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 3))
    y = X @ [1.0, 2.0, 3.0] + 5.0
    w = rng.uniform(0.5, 2.0, size=1000)
    est = GDRegressor(batch_size=16, max_epochs=1, tol=None, random_state=0)
    if rows is None:
        est.fit(X, y, sample_weight=w)
        picked = np.arange(0, 1000, 10)
    else:  # a fold's rows of the full table (how CV fits its folds)
        train = np.sort(rng.choice(1000, 800, replace=False))
        est._fit_view(X, y, train, sample_weight=w)
        picked = train[::8]
    assert est._state.start_loss == pytest.approx(
        0.5 * np.average(y[picked] ** 2, weights=w[picked]), rel=1e-12)
