"""Cross-validation: per-fold curves of n_iter_ points, validation loss from eval_set,
preprocessing fitted inside the fold, same result with one or two workers."""

import numpy as np
import pytest

from gdlab.experiment import cross_validate, fit_pipeline, make_folds
from gdlab.experiment.progress import EpochProgress

from .conftest import make_pipeline


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_cross_validate_returns_curves_and_scores(task, regression_data, classification_data):
    X, y = regression_data if task == "regression" else classification_data
    folds = make_folds(y, 3, task=task, seed=0)
    result = cross_validate(make_pipeline(task), X, y, folds, task=task, n_jobs=1)
    assert [f.fold for f in result.folds] == [1, 2, 3]
    for fold in result.folds:
        assert fold.n_iter == 15
        for key in ("train_loss", "val_loss", "learning_rate", "grad_norm"):
            assert len(fold.curves[key]) == fold.n_iter
            assert all(v is not None and np.isfinite(v) for v in fold.curves[key])
        assert set(fold.scores) == set(result.metric_names)
        assert fold.n_train + fold.n_val == len(y)
    assert set(result.mean()) == set(result.metric_names)
    assert all(v >= 0 for v in result.std().values())


def test_parallel_folds_match_sequential(regression_data):
    X, y = regression_data
    folds = make_folds(y, 2, task="regression", seed=0)
    seq = cross_validate(make_pipeline("regression"), X, y, folds, task="regression", n_jobs=1)
    par = cross_validate(make_pipeline("regression"), X, y, folds, task="regression", n_jobs=2)
    for a, b in zip(seq.folds, par.folds, strict=True):
        assert a.curves == b.curves
        assert a.scores == b.scores


def test_fit_pipeline_uses_train_statistics_and_validation_loss(regression_data):
    X, y = regression_data
    X_tr, y_tr, X_val, y_val = X[:200], y[:200], X[200:], y[200:]
    outcome = fit_pipeline(make_pipeline("regression"), X_tr, y_tr, eval_set=(X_val, y_val))
    scaler = outcome.model.named_steps["preprocess"]
    np.testing.assert_allclose(scaler.mean_, X_tr.mean(axis=0))
    estimator = outcome.model.named_steps["model"]
    Xt_val = scaler.transform(X_val)
    expected = 0.5 * np.mean((estimator.predict(Xt_val) - y_val) ** 2)
    # the last recorded validation loss is the data loss of the final parameters
    assert outcome.curves["val_loss"][-1] == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_callbacks_run_and_are_removed(regression_data):
    X, y = regression_data
    seen = []
    outcome = fit_pipeline(make_pipeline("regression", 5), X, y, callbacks=[seen.append])
    assert [r["epoch"] for r in seen] == [0, 1, 2, 3, 4]
    assert outcome.model.named_steps["model"].get_params()["callbacks"] is None
    assert outcome.curves["val_loss"] == [None] * 5


def test_progress_prints_unless_ci(monkeypatch, capsys):
    record = {"epoch": 0, "loss": 1.5, "val_loss": 2.0}
    monkeypatch.delenv("CI", raising=False)
    EpochProgress("fold 1/3", 10)(record)
    assert "[fold 1/3] epoch 1/10 loss 1.5 val_loss 2" in capsys.readouterr().err
    monkeypatch.setenv("CI", "true")
    EpochProgress("fold 1/3", 10)(record)
    assert capsys.readouterr().err == ""
