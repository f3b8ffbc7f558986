"""A float32 estimator's folds on a float64 X: one float32 copy of X shared by every fold
(before, each fold copied its rows as float64 and again as float32: ``train.dtype: float32``
took more memory than float64), with the precision of the copying path kept."""

import tracemalloc

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from gdlab import GDClassifier, GDRegressor
from gdlab.data.preprocessing import build_preprocessor
from gdlab.estimators.base import BaseGD
from gdlab.experiment import cross_validate, fit_pipeline, make_folds
from gdlab.experiment import model as model_module
from gdlab.experiment.shared_rows import SharedRows, shared_rows


def _data(n=600, d=4, seed=0, far=True):
    """Columns far from zero with a small spread: float32 of 1e6 is 0.0625 apart, above the
    column's own spread (0.01); only rows shifted before rounding keep it."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, d))
    X = Z * [1.0, 0.01, 3.0, 10.0][:d] + [0.0, 1e6, 2000.0, -5.0][:d] if far else Z
    y = Z @ np.array([1.0, -0.5, 0.3, 0.8])[:d] + 0.1 * rng.normal(size=n)
    return X, y


def _pipeline(dtype="float32", standardize=True, cls=GDRegressor, max_epochs=4):
    est = cls(dtype=dtype, batch_size=32, max_epochs=max_epochs, tol=None,
              learning_rate=0.02, random_state=0)
    return Pipeline([("preprocess", build_preprocessor(standardize=standardize)),
                     ("model", est)])


@pytest.fixture
def fitted_on(monkeypatch):
    """The X of every fit a fold makes: ('view', X) for _fit_view, ('copy', X) for
    fit_pipeline on copied rows."""
    seen = []
    view, copy = BaseGD._fit_view, model_module.fit_pipeline

    def spy_view(self, X, *args, **kwargs):
        seen.append(("view", X))
        return view(self, X, *args, **kwargs)

    def spy_copy(pipeline, X, *args, **kwargs):
        seen.append(("copy", X))
        return copy(pipeline, X, *args, **kwargs)

    monkeypatch.setattr(BaseGD, "_fit_view", spy_view)
    monkeypatch.setattr(model_module, "fit_pipeline", spy_copy)
    return seen


@pytest.mark.parametrize("standardize", [True, False])
def test_float32_folds_train_on_views_of_one_shared_float32_copy(fitted_on, standardize):
    X, y = _data(far=standardize)  # unscaled, the far columns diverge
    folds = make_folds(y, 3, task="regression", seed=0)
    cross_validate(_pipeline(standardize=standardize), X, y, folds, task="regression",
                   progress=False)
    assert [kind for kind, _ in fitted_on] == ["view"] * len(fitted_on)  # no fold copied
    arrays = {id(a) for _, a in fitted_on}
    assert len(arrays) == 1  # the warm-up and all folds: the same array
    shared = fitted_on[0][1]
    assert shared.dtype == np.float32 and shared.shape == X.shape


@pytest.mark.parametrize("extreme", [None, 1e12])
def test_float32_cv_equals_the_copying_path_to_float32_rounding(extreme):
    """Each fold's model equals fit_pipeline on copies of its rows (the path float32 folds
    took before: standardised in float64, then rounded), predictions included, also on the
    columns far from zero; and it takes the original rows (its scaler's mean unshifted).
    ``extreme``: one cell of the first column (a typo, a sentinel): the shift was the mean
    over all rows, moved by that cell, and the fold that held it out trained on its rows
    less 3e9, rounded to steps of 256 (its standardised column in 5 values)."""
    X, y = _data()
    if extreme is not None:
        X[7, 0] = extreme
    folds = make_folds(y, 3, task="regression", seed=0)
    pipeline = _pipeline()
    cv = cross_validate(pipeline, X, y, folds, task="regression", progress=False)
    rows = shared_rows(pipeline, X)
    for fold, result in zip(folds, cv.folds, strict=True):
        copied = fit_pipeline(pipeline, X[fold.train_idx], y[fold.train_idx],
                              eval_set=(X[fold.val_idx], y[fold.val_idx]), monitor_eval=False)
        shared = model_module.fit_pipeline_rows(pipeline, rows, y, fold.train_idx,
                                                fold.val_idx, monitor_eval=False)
        old_scaler = copied.model.named_steps["preprocess"].named_steps["scale"]
        new_scaler = shared.model.named_steps["preprocess"].named_steps["scale"]
        shift = (new_scaler.mean_ - old_scaler.mean_) / old_scaler.scale_  # float32 rounding
        np.testing.assert_allclose(shift, 0.0, atol=1e-6)
        np.testing.assert_allclose(new_scaler.scale_, old_scaler.scale_, rtol=1e-6)
        old_coef = copied.model.named_steps["model"].coef_
        new_coef = shared.model.named_steps["model"].coef_
        assert new_coef.dtype == np.float32
        np.testing.assert_allclose(new_coef, old_coef, rtol=1e-4, atol=1e-5)
        old_pred = copied.model.predict(X[fold.val_idx])
        np.testing.assert_allclose(shared.model.predict(X[fold.val_idx]), old_pred,
                                   rtol=1e-4, atol=1e-4)
        old_rmse = np.sqrt(np.mean((old_pred - y[fold.val_idx]) ** 2))
        assert result.scores["rmse"] == pytest.approx(old_rmse, rel=1e-5)


def test_float32_cv_peak_memory_is_below_one_copy_of_x():
    """Before: every fold copied its rows as float64 and float32 (peak ~1.8 x X's bytes on
    200 000 x 20 rows). Now: one float32 copy (half of X) and chunks."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100_000, 50))
    y = X[:, 0] - X[:, 1] + 0.1 * rng.normal(size=len(X))
    folds = make_folds(y, 3, task="regression", seed=0)
    pipeline = _pipeline(max_epochs=1)
    small = make_folds(y[:600], 3, task="regression", seed=0)  # compile the kernels first
    cross_validate(pipeline, X[:600], y[:600], small, task="regression", progress=False)
    tracemalloc.start()
    try:
        cross_validate(pipeline, X, y, folds, task="regression", progress=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes, f"peak {peak / X.nbytes:.2f} x X's bytes"


@pytest.mark.parametrize("case", ["float64 model", "float32 X", "non-finite", "classifier"])
def test_shared_rows_only_converts_what_the_folds_would_copy(case):
    X, y = _data()
    pipeline = _pipeline(dtype="float64" if case == "float64 model" else "float32",
                         cls=GDClassifier if case == "classifier" else GDRegressor)
    if case == "float32 X":
        X = X.astype(np.float32)
    if case == "non-finite":  # the fit's own checks name the row
        X[5, 2] = np.nan
    rows = shared_rows(pipeline, X)
    if case == "classifier":
        assert isinstance(rows, SharedRows) and rows.values.dtype == np.float32
        np.testing.assert_array_equal(rows.values, (X - rows.offset).astype(np.float32))
        np.testing.assert_array_equal(rows.offset, np.median(X, axis=0))  # n < 4096 rows
    else:
        assert rows is X
