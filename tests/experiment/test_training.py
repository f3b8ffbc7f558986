"""The train step's refit on all the training rows (:func:`gdlab.experiment.training.refit`,
which :func:`gdlab.experiment.run_training` runs after the folds) and the trajectory pass
that fits them once more: one copy of X at most, the caller's X never written, and the
model scikit-learn fits on the same DataFrame, to the bit."""

import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest

from gdlab.config import Params
from gdlab.experiment.model import build_pipeline
from gdlab.experiment.training import run_training
from gdlab.experiment.trajectory import refit_trajectory


def _data(n=20_000, d=25, nan=0.05, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 20, d) + rng.uniform(-50, 50, d)
    y = np.where(X[:, 0] - X[:, 0].mean() + rng.normal(scale=5, size=n) > 0, "yes", "no")
    if nan:
        X[rng.random(X.shape) < nan] = np.nan
    return X, y, [f"x{i:02d}" for i in range(d)]


def _params(missing="mean", standardize=True, max_epochs=2):
    return Params.model_validate({
        "data": {"missing": missing}, "model": {"task": "classification"},
        "preprocess": {"standardize": standardize},
        "train": {"max_epochs": max_epochs, "tol": None, "batch_size": 512},
        "cv": {"folds": 2, "n_jobs": 1},
    })


def _refit(params, X, y, names):
    """The train step's refit (after its cross-validation), as pipeline/train.py runs it."""
    return run_training(params, X, y, feature_names=names, progress=False).refit


def _fitted_arrays(pipeline):
    """Every number a fitted pipeline holds: the imputer's and scaler's statistics and the
    estimator's parameters."""
    found = []
    for _, step in pipeline.named_steps["preprocess"].steps:
        found += [getattr(step, k) for k in ("statistics_", "mean_", "var_", "scale_")
                  if getattr(step, k, None) is not None]
    return found + list(pipeline.named_steps["model"].params_)


def _sklearn_fit(params, X, y, names):
    """scikit-learn's own fit of the configured pipeline on a DataFrame of the rows."""
    frame = pd.DataFrame(np.array(X), columns=names) if names else np.array(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_pipeline(params).fit(frame, y)


def test_an_imputing_refit_copies_the_training_rows_once_not_three_times():
    """The refit turned X into a DataFrame (a copy with pandas 3), then the imputer copied
    it and the scaler once more (and the estimator a fourth time, into row-major order):
    ~3.7 x X's bytes at once for the train step. Now the frame is the one copy and the
    imputer and scaler work in place on it (~2.7 x); the model is the same to the bit, and
    the caller's X is left as it was."""
    X, y, names = _data()
    X_before = X.copy()
    params = _params()
    _refit(params, X, y, names)  # the warm-ups, imports and caches out of the count

    tracemalloc.start()
    try:
        outcome = _refit(params, X, y, names)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the frame (1 x), the row-major copy the estimator trains on (1 x) and its own batches
    # (0.6 x): ~2.7 x; frame, imputer and scaler each copying (before): ~3.7 x
    assert peak < 3.2 * X.nbytes, peak / X.nbytes

    np.testing.assert_array_equal(X, X_before)  # the caller's rows are not overwritten
    reference = _sklearn_fit(params, X, y, names)
    for ours, theirs in zip(_fitted_arrays(outcome.model), _fitted_arrays(reference),
                            strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert list(outcome.model.feature_names_in_) == names
    steps = outcome.model.named_steps["preprocess"].named_steps
    assert steps["impute"].copy is True and steps["scale"].copy is True
    rows = X[:100].copy()
    outcome.model.predict(pd.DataFrame(rows, columns=names, copy=False))
    np.testing.assert_array_equal(rows, X_before[:100])  # a caller's data is never written


@pytest.mark.parametrize(
    ("missing", "standardize", "named"),
    [("mean", True, True), ("median", False, True), ("refuse", True, True),
     ("refuse", False, True), ("mean", True, False), ("refuse", False, False)],
)
def test_a_refit_on_a_read_only_memory_map_is_sklearns_fit(tmp_path, missing, standardize,
                                                            named):
    """The prepared training split as the train stage maps it (read-only .npy): imputing,
    scaling or passing it through, named or not, the refit's model is scikit-learn's on the
    same rows to the bit (a passthrough fit reads the map without copying it)."""
    X, y, names = _data(n=3000, d=6, nan=0.05 if missing != "refuse" else 0.0)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    assert not mapped.flags.writeable
    names = names if named else None
    params = _params(missing, standardize)
    outcome = _refit(params, mapped, y, names)
    reference = _sklearn_fit(params, X, y, names)
    for ours, theirs in zip(_fitted_arrays(outcome.model), _fitted_arrays(reference),
                            strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert outcome.curves["train_loss"] == pytest.approx(
        reference.named_steps["model"].history_["loss"], rel=0, abs=0)
    np.testing.assert_array_equal(mapped, X)


def test_the_refit_trajectory_of_imputed_rows_ends_at_the_refit_and_leaves_x_alone():
    """The loss-surface pass fits the training rows once more with the same in-place
    preprocessing: it ends at the refit's parameters exactly; X is left as it was."""
    X, y, names = _data(n=3000, d=6)
    X_before = X.copy()
    params = _params(max_epochs=3)
    fitted = _refit(params, X, y, names)
    trajectory = refit_trajectory(params, X, y, names, n_iter=fitted.n_iter)
    end = np.concatenate([np.ravel(p) for p in fitted.model.named_steps["model"].params_])
    np.testing.assert_array_equal(trajectory.points[-1], end)
    np.testing.assert_array_equal(X, X_before)


def test_the_kernels_warm_up_before_the_eta_clock_starts(monkeypatch):
    """The first fold's ETA line counted the kernels' one-off compilation (seconds on a first
    run). The configuration's untimed epoch now runs on the first fold's rows before the
    clock starts, and the folds find it done."""
    from gdlab.experiment import model as model_module
    from gdlab.experiment import training as training_module
    from gdlab.experiment.folds import make_folds

    X, y, _ = _data(n=600, d=4, nan=0.0)
    params = _params()
    events: list[tuple[str, int | None]] = []
    monkeypatch.setattr(model_module, "_WARMED", set())  # this process has warmed nothing
    monkeypatch.setattr(model_module, "warm_up_rows",
                        lambda pipeline, X, y, train_idx, val_idx=None:
                        events.append(("warm up", len(train_idx))))
    eta = training_module.Eta
    monkeypatch.setattr(training_module, "Eta",
                        lambda *a, **k: events.append(("eta clock", None)) or eta(*a, **k))
    run_training(params, X, y, progress=False)
    first = make_folds(y, 2, task="classification", seed=params.seed)[0]
    assert events == [("warm up", len(first.train_idx)), ("eta clock", None)]


def test_the_train_stages_folds_keep_a_rows_copies_on_its_side():
    """The CV folds of train held copies of a row on both sides of a fold."""
    rng = np.random.default_rng(1)
    X, y, _ = _data(n=150, d=3, nan=0.0)
    rows = rng.permutation(np.r_[np.arange(150), rng.integers(0, 150, 60)])
    folds = []
    run_training(_params(), X[rows], y[rows], progress=False,
                 fold_callbacks=lambda fold: folds.append(fold) or [])
    assert len(folds) == 2
    for fold in folds:
        assert not np.intersect1d(rows[fold.train_idx], rows[fold.val_idx]).size
