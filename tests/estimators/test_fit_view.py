"""``_fit_view``: fitting on rows of a shared X standardised on the fly equals ``fit`` on
the materialised, standardised rows (the experiment layer's fold path)."""

import numpy as np
import pytest
from sklearn.base import clone, is_regressor
from sklearn.metrics import log_loss

from gdlab import GDClassifier, GDRegressor


def _data(seed=0, n=400, d=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.2, 4.0, size=d) + rng.uniform(-2, 2, size=d)
    z = (X - X.mean(0)) / X.std(0) @ rng.normal(size=d)
    w = rng.uniform(0.0, 2.0, size=n)
    perm = rng.permutation(n)
    return X, z, w, perm[:300], perm[300:]


def _labels(z, k):
    names = np.array(["ant", "bee", "cat", "dog"])[:k]
    return names[np.digitize(z, np.quantile(z, np.linspace(0, 1, k + 1)[1:-1]))]


def _pair(est, X, y, rows, eval_rows, w=None, scaled=True):
    mu, sd = X[rows].mean(0), X[rows].std(0)
    center, scale = (mu, 1.0 / sd) if scaled else (None, None)

    def t(A):
        return (A - mu) / sd if scaled else A

    view = est.__class__(**est.get_params())._fit_view(
        X, y, rows, center=center, scale=scale, eval_rows=eval_rows, sample_weight=w
    )
    eval_set = None if eval_rows is None else (t(X[eval_rows]), y[eval_rows])
    dense = est.__class__(**est.get_params()).fit(
        t(X[rows]), y[rows], sample_weight=None if w is None else w[rows], eval_set=eval_set
    )
    return view, dense, t


def _assert_same(view, dense, X_test):
    assert view.n_iter_ == dense.n_iter_
    for key in ("loss", "val_loss", "grad_norm"):
        a, b = view.history_[key], dense.history_[key]
        if b[0] is None:
            assert a == b
        else:
            np.testing.assert_allclose(a, b, rtol=1e-9)
    for p, q in zip(view.params_, dense.params_, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)
    assert view.n_features_in_ == dense.n_features_in_
    method = "predict" if is_regressor(view) else "predict_proba"
    np.testing.assert_allclose(getattr(view, method)(X_test), getattr(dense, method)(X_test),
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("batch_size", [None, 16])
@pytest.mark.parametrize("kind", ["regression", "binary", "softmax"])
@pytest.mark.parametrize("weighted", [True, False], ids=["weights", "no-weights"])
def test_fit_view_equals_fit_on_copied_rows(kind, batch_size, weighted):
    X, z, w, rows, val = _data()
    if kind == "regression":
        y = z + 0.1
        est = GDRegressor(batch_size=batch_size, max_epochs=6, tol=None, random_state=1,
                          alpha=0.001)
    else:
        y = _labels(z, 2 if kind == "binary" else 4)
        est = GDClassifier(batch_size=batch_size, max_epochs=6, tol=None, random_state=1)
    view, dense, t = _pair(est, X, y, rows, val, w if weighted else None)
    _assert_same(view, dense, t(X[val]))
    if kind != "regression":
        assert np.array_equal(view.classes_, dense.classes_)


@pytest.mark.parametrize("batch_size", [None, 32])
def test_fit_view_early_stopping_split_matches(batch_size):
    X, z, w, rows, _ = _data(seed=2)
    y = _labels(z, 3)
    est = GDClassifier(batch_size=batch_size, max_epochs=30, early_stopping=True,
                       n_iter_no_change=3, tol=0.01, random_state=0, learning_rate=0.05)
    view, dense, t = _pair(est, X, y, rows, None, w)
    _assert_same(view, dense, t(X))


def test_fit_view_unscaled_and_mlp_numpy_path():
    X, z, _, rows, val = _data(seed=3)
    est = GDRegressor(model="mlp", hidden_layer_sizes=(5,), batch_size=20, max_epochs=3,
                      tol=None, random_state=0)
    view, dense, t = _pair(est, X, z, rows, val)
    _assert_same(view, dense, t(X[val]))
    view, dense, t = _pair(est.set_params(model="linear"), X, z, rows, val, scaled=False)
    _assert_same(view, dense, X[val])


def test_fit_view_reads_only_its_rows():
    """Rows outside rows/eval_rows may hold anything: NaN features, unseen labels."""
    X, z, _, rows, val = _data(seed=4)
    y = _labels(z, 2).astype(object)
    others = np.setdiff1d(np.arange(len(X)), np.concatenate([rows, val[:50]]))
    X[others] = np.nan
    y[others] = "elephant"
    est = GDClassifier(max_epochs=2, tol=None)
    est._fit_view(X, y, rows, center=np.nanmean(X, 0), scale=np.ones(6), eval_rows=val[:50])
    assert list(est.classes_) == ["ant", "bee"]
    assert np.isfinite(est.coef_).all()


def test_fit_view_refuses_bad_input():
    X, z, w, rows, val = _data()
    est = GDRegressor(max_epochs=1, tol=None)
    with pytest.raises(TypeError, match="dtype float32"):
        GDRegressor(dtype="float32")._fit_view(X, z, rows)
    with pytest.raises(ValueError, match="row numbers"):
        est._fit_view(X, z, np.array([0, len(X)]))
    with pytest.raises(ValueError, match="both or neither"):
        est._fit_view(X, z, rows, center=np.zeros(6))
    bad = X.copy()
    bad[rows[5], 2] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        est._fit_view(bad, z, rows)
    with pytest.raises(ValueError, match="non-negative"):
        est._fit_view(X, z, rows, sample_weight=-w)
    y = _labels(z, 2).astype(object)
    y[val[0]] = "zebra"
    with pytest.raises(ValueError, match="not seen in training"):
        GDClassifier(max_epochs=1)._fit_view(X, y, rows, eval_rows=val)


def test_fit_view_records_eval_rows_without_monitoring_them():
    """``monitor_eval=False`` (the experiment layer's folds): the held-out rows' loss is
    recorded every epoch, but plateau steps on the training loss, so the fit is the one
    without them; by default (as ``fit``'s ``eval_set``) plateau watches them."""
    X, z, _, rows, val = _data(seed=5)
    y = _labels(z, 2)
    y[val] = np.where(np.random.default_rng(0).random(len(val)) < 0.4, "ant", "bee")  # noise
    est = GDClassifier(max_epochs=30, tol=None, learning_rate=0.5, schedule="plateau",
                       schedule_params={"patience": 1, "factor": 0.5})
    mu, sd = X[rows].mean(0), X[rows].std(0)
    recorded = clone(est)._fit_view(X, y, rows, center=mu, scale=1.0 / sd, eval_rows=val,
                                    monitor_eval=False)
    alone = clone(est).fit((X[rows] - mu) / sd, y[rows])
    assert recorded.history_["learning_rate"] == alone.history_["learning_rate"]
    np.testing.assert_allclose(recorded.history_["loss"], alone.history_["loss"], rtol=1e-9)
    proba = alone.predict_proba((X[val] - mu) / sd)
    assert recorded.history_["val_loss"][-1] == pytest.approx(
        log_loss(y[val], proba, labels=alone.classes_), rel=1e-9)
    assert all(v is not None for v in recorded.history_["val_loss"])
    watched = clone(est)._fit_view(X, y, rows, center=mu, scale=1.0 / sd, eval_rows=val)
    dense = clone(est).fit((X[rows] - mu) / sd, y[rows], eval_set=((X[val] - mu) / sd, y[val]))
    assert watched.history_["learning_rate"] == dense.history_["learning_rate"]
    assert watched.history_["learning_rate"] != alone.history_["learning_rate"]
    with pytest.raises(ValueError, match="early_stopping monitors its own"):
        clone(est).set_params(early_stopping=True)._fit_view(X, y, rows, eval_rows=val,
                                                             monitor_eval=False)
