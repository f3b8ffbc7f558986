"""Folds on row views of a shared X: the scaler fitted on chunks of the rows, the estimator
trained on index views standardised on the fly, the validation rows scored in chunks. The
results equal the copying path (fit_pipeline on X[train_idx]) to rounding, and the fitted
object is the same ordinary Pipeline."""

import numpy as np
import pytest
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from gdlab import GDClassifier, GDRegressor
from gdlab.data.preprocessing import (
    build_preprocessor,
    fit_scaler_on_rows,
    row_view_scaler,
    standardisation,
)
from gdlab.estimators.base import BaseGD
from gdlab.experiment import (
    cross_validate,
    fit_pipeline,
    fit_pipeline_rows,
    make_folds,
    score,
    score_rows,
)
from gdlab.experiment.persist import load_model, save_model


def _X(n=300, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * [1.0, 10.0, 0.1, 1.0, 3.0][:d] + [5.0, -2.0, 0.0, 1e3, 0.5][:d]
    return X, rng


def _task_data(task):
    X, rng = _X()
    z = (X - X.mean(0)) / X.std(0) @ np.array([1.0, -0.5, 0.3, 0.8, 0.0])
    if task == "regression":
        return X, z + 0.1 * rng.normal(size=len(z))
    k = 2 if task == "binary" else 3
    labels = np.array(["no", "yes", "maybe"])[:k]
    return X, labels[np.digitize(z, np.quantile(z, np.linspace(0, 1, k + 1)[1:-1]))]


def _pipeline(task, batch_size, standardize):
    cls = GDRegressor if task == "regression" else GDClassifier
    est = cls(batch_size=batch_size, max_epochs=8, tol=None, learning_rate=0.02,
              random_state=0, alpha=0.001)
    return Pipeline([("preprocess", build_preprocessor(standardize=standardize)),
                     ("model", est)])


@pytest.fixture
def spy(monkeypatch):
    calls = []
    original = BaseGD._fit_view

    def wrapped(self, *args, **kwargs):
        calls.append(kwargs.get("center") is not None)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(BaseGD, "_fit_view", wrapped)
    # no configuration warmed up yet in this process: cross_validate's first fold is preceded
    # by its one-epoch warm-up (gdlab.experiment.model.warm_once), on the same path
    monkeypatch.setattr("gdlab.experiment.model._WARMED", set())
    return calls


def test_scaler_fitted_on_row_chunks_equals_sklearn_fit():
    X, rng = _X(n=1000)
    X[:, 2] = 7.25  # constant feature: scale_ 1, as sklearn's
    rows = rng.permutation(1000)[:701]
    ours = fit_scaler_on_rows(StandardScaler(), X, rows, chunk=64)
    ref = StandardScaler().fit(X[rows])
    assert ours.n_samples_seen_ == ref.n_samples_seen_ == 701
    assert ours.n_features_in_ == 5
    for attr in ("mean_", "var_", "scale_"):
        np.testing.assert_allclose(getattr(ours, attr), getattr(ref, attr), rtol=1e-12,
                                   atol=1e-20)
    assert ours.scale_[2] == ref.scale_[2] == 1.0
    center, scale = standardisation(ours)
    np.testing.assert_allclose((X[rows] - center) * scale, ref.transform(X[rows]),
                               rtol=1e-10, atol=1e-12)


def test_which_preprocessing_runs_on_views():
    assert row_view_scaler(build_preprocessor(standardize=False)) == (True, None)
    ok, scaler = row_view_scaler(build_preprocessor())
    assert ok and isinstance(scaler, StandardScaler)
    assert row_view_scaler("passthrough") == (True, None)
    assert row_view_scaler(StandardScaler())[0]
    assert not row_view_scaler(build_preprocessor(missing="mean"))[0]
    assert not row_view_scaler(build_preprocessor(polynomial_degree=2))[0]
    two = Pipeline([("a", StandardScaler()), ("b", StandardScaler())])
    assert not row_view_scaler(two)[0]
    assert standardisation(StandardScaler(with_mean=False, with_std=False)) == (None, None)


@pytest.mark.parametrize("standardize", [True, False], ids=["scaled", "raw"])
@pytest.mark.parametrize("batch_size", [None, 16], ids=["full", "mini"])
@pytest.mark.parametrize("task", ["regression", "binary", "softmax"])
def test_cv_on_views_equals_copying_path(spy, task, batch_size, standardize):
    X, y = _task_data(task)
    kind = "regression" if task == "regression" else "classification"
    pipeline = _pipeline(task, batch_size, standardize)
    folds = make_folds(y, 3, task=kind, seed=0)
    result = cross_validate(pipeline, X, y, folds, task=kind, n_jobs=1, progress=False)
    assert spy == [standardize] * (1 + 3)  # the warm-up, then the three folds
    for fold, got in zip(folds, result.folds, strict=True):
        ref = fit_pipeline(pipeline, X[fold.train_idx], y[fold.train_idx],
                           eval_set=(X[fold.val_idx], y[fold.val_idx]))
        assert got.n_iter == ref.n_iter
        for name, curve in ref.curves.items():
            np.testing.assert_allclose(got.curves[name], curve, rtol=1e-9)
        expected = score(ref.model, X[fold.val_idx], y[fold.val_idx], kind)
        assert got.scores == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_fitted_pipeline_is_ordinary_and_saves(spy, tmp_path):
    X, y = _task_data("softmax")
    train, val = np.arange(0, 300, 3), np.arange(1, 300, 3)
    pipeline = _pipeline("softmax", 32, True)
    got = fit_pipeline_rows(pipeline, X, y, train, val)
    ref = fit_pipeline(pipeline, X[train], y[train], eval_set=(X[val], y[val]))
    assert spy == [True]
    model = got.model
    assert isinstance(model, Pipeline) and list(model.named_steps) == ["preprocess", "model"]
    scaler = model.named_steps["preprocess"].named_steps["scale"]
    ref_scaler = ref.model.named_steps["preprocess"].named_steps["scale"]
    np.testing.assert_allclose(scaler.mean_, ref_scaler.mean_, rtol=1e-12)
    np.testing.assert_allclose(model.predict_proba(X), ref.model.predict_proba(X), rtol=1e-9)
    assert model.named_steps["model"].get_params()["callbacks"] is None
    save_model(model, tmp_path / "model.skops")
    loaded = load_model(tmp_path / "model.skops")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_fold_view_callbacks_see_every_epoch(spy):
    X, y = _task_data("regression")
    seen = []
    outcome = fit_pipeline_rows(_pipeline("regression", 16, True), X, y, np.arange(200),
                                np.arange(200, 300), callbacks=[seen.append])
    assert [r["epoch"] for r in seen] == list(range(8))
    assert all(v is not None for v in outcome.curves["val_loss"])


@pytest.mark.parametrize("case", ["imputer", "poly", "foreign", "float32", "frame"])
def test_other_pipelines_copy_the_rows(spy, case):
    X, y = _task_data("regression")
    pipeline = _pipeline("regression", 16, True)
    data = X
    if case == "imputer":
        pipeline.set_params(preprocess=build_preprocessor(missing="mean"))
    elif case == "poly":
        pipeline.set_params(preprocess=build_preprocessor(polynomial_degree=2))
    elif case == "foreign":
        pipeline.set_params(model=MLPRegressor(hidden_layer_sizes=(3,), max_iter=5,
                                               random_state=0))
    elif case == "float32":
        pipeline.set_params(model__dtype="float32")
    else:
        import pandas as pd

        data = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    train, val = np.arange(0, 300, 2), np.arange(1, 300, 2)
    with pytest.warns() if case == "foreign" else _nothing():
        got = fit_pipeline_rows(pipeline, data, y, train, val if case != "foreign" else None)
    assert spy == []
    assert got.n_iter >= 1
    if case != "foreign":
        ref = fit_pipeline(pipeline, X[train], y[train], eval_set=(X[val], y[val]))
        np.testing.assert_allclose(got.curves["val_loss"], ref.curves["val_loss"], rtol=1e-9)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_score_rows_in_chunks_equals_score(task):
    X, y = _task_data("regression" if task == "regression" else "softmax")
    model = fit_pipeline(_pipeline("regression" if task == "regression" else "softmax",
                                   32, True), X, y).model
    rows = np.random.default_rng(1).permutation(300)[:123]
    got = score_rows(model, X, y, rows, task, chunk=10)
    assert got == pytest.approx(score(model, X[rows], y[rows], task), rel=1e-12, abs=1e-15)


def test_cv_on_a_read_only_memory_map(tmp_path):
    """X and y memory-mapped read-only (as load_prepared(mmap=True) gives them, and as
    joblib hands large arrays to workers) train on views like in-memory arrays."""
    X, y = _task_data("regression")
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    Xm = np.load(tmp_path / "X.npy", mmap_mode="r")
    ym = np.load(tmp_path / "y.npy", mmap_mode="r")
    folds = make_folds(y, 3, task="regression", seed=0)
    runs = [cross_validate(_pipeline("regression", batch, True), data, target, folds,
                           task="regression", n_jobs=1, progress=False)
            for batch in (None, 16) for data, target in ((Xm, ym), (X, y))]
    for mapped, memory in (runs[0:2], runs[2:4]):
        for a, b in zip(mapped.folds, memory.folds, strict=True):
            assert a.curves == b.curves and a.scores == b.scores


class _Fitted:
    """An estimator that keeps what it was fitted on and allocates nothing."""

    def fit(self, X, y, eval_set=None):
        self.X_, self.eval_X_ = X, eval_set[0] if eval_set is not None else None
        self.history_ = {"loss": [0.0]}
        return self

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self


def test_an_imputing_fold_overwrites_its_own_copy_of_the_rows_not_three():
    """A fold with data.missing set copied its rows, then the imputer copied them and the
    scaler once more: ~3.4 x the fold's bytes at once (1.3 GB more on a 1 000 000-row CSV's
    folds). The imputer and scaler now work in place on the fold's own copy; the values are
    the same, and the fitted model still copies what it is given."""
    import tracemalloc

    rng = np.random.default_rng(3)
    X = rng.normal(size=(20_000, 25))
    X[rng.random(X.shape) < 0.05] = np.nan
    X_before = X.copy()
    y = (rng.random(len(X)) < 0.5).astype(np.float64)
    train, val = np.arange(16_000), np.arange(16_000, 20_000)
    pipeline = Pipeline([("preprocess", build_preprocessor(missing="mean")), ("model", _Fitted())])

    fit_pipeline_rows(pipeline, X, y, train, val)  # imports and caches out of the count
    tracemalloc.start()
    try:
        outcome = fit_pipeline_rows(pipeline, X, y, train, val)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    rows = X[train].nbytes + X[val].nbytes  # the fold's own copy: the least it can take
    # + the one transient copy SimpleImputer's masked mean makes in fit: ~1.96 x; copying
    # imputer and scaler (before): ~2.76 x
    assert peak < 2.3 * rows, peak / rows

    reference = build_preprocessor(missing="mean").fit(X[train])  # copying, as sklearn does
    fitted = outcome.model.named_steps["model"]
    np.testing.assert_array_equal(fitted.X_, reference.transform(X[train]))
    np.testing.assert_array_equal(fitted.eval_X_, reference.transform(X[val]))
    np.testing.assert_array_equal(X, X_before)  # the shared X untouched

    steps = outcome.model.named_steps["preprocess"].named_steps
    assert steps["impute"].copy is True and steps["scale"].copy is True
    mine = X[:100].copy()
    outcome.model.named_steps["preprocess"].transform(mine)
    np.testing.assert_array_equal(mine, X_before[:100])  # a caller's data is never overwritten
