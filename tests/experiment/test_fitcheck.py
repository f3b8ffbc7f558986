"""Over-/under-fitting diagnosis of a cross-validation, checked against scikit-learn.

The train scores are scikit-learn's ``cross_validate(return_train_score=True)`` of the same
estimator on the same folds; the constant prediction is DummyClassifier's; the verdicts are
asserted on fits built to over-fit, under-fit, and neither (a nearly linear problem solved by
a well-set linear model), including pure-noise labels, which must not read as over-fitting
for a linear model trained a few epochs.
"""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import PredefinedSplit
from sklearn.model_selection import cross_validate as sk_cross_validate

from gdlab.experiment import cross_validate, make_folds
from gdlab.experiment.fitcheck import FINE, OVER, UNDER, UNDER_TRAINED, diagnose_fit, refit_line
from gdlab.reporting import cv_document, metrics_document
from gdlab.tracking.cv import cv_summary_metrics, fold_metrics

from .conftest import make_pipeline


def _mlp_overfit():
    X, y = make_classification(n_samples=200, n_features=60, n_informative=3, random_state=0)
    pipeline = make_pipeline("classification", max_epochs=150, learning_rate=0.003)
    pipeline.set_params(model__model="mlp", model__hidden_layer_sizes=(128,), model__alpha=0.0)
    return pipeline, X, y


def test_train_scores_match_sklearn_cross_validate(classification_data):
    X, y = classification_data
    folds = make_folds(y, 3, task="classification", seed=0)
    result = cross_validate(make_pipeline("classification"), X, y, folds,
                            task="classification", progress=False)
    test_fold = np.empty(len(y), dtype=int)
    for k, fold in enumerate(folds):
        test_fold[fold.val_idx] = k
    reference = sk_cross_validate(make_pipeline("classification"), X, y,
                                  cv=PredefinedSplit(test_fold), scoring="neg_log_loss",
                                  return_train_score=True)
    got = [f.train_scores["log_loss"] for f in result.folds]
    np.testing.assert_allclose(got, -reference["train_score"], rtol=1e-6)
    fit = diagnose_fit(result)
    gaps = [f.scores["log_loss"] - f.train_scores["log_loss"] for f in result.folds]
    assert fit.gap()["log_loss"] == pytest.approx({"mean": np.mean(gaps), "std": np.std(gaps)})
    assert fit.gap()["accuracy"]["mean"] == pytest.approx(
        np.mean([f.train_scores["accuracy"] - f.scores["accuracy"] for f in result.folds]))


def test_overfitting_mlp_is_called_overfitting():
    pipeline, X, y = _mlp_overfit()
    result = cross_validate(pipeline, X, y, make_folds(y, 3, task="classification", seed=0),
                            task="classification", progress=False)
    fit = diagnose_fit(result)
    assert fit.verdict == OVER, fit.line()
    for fold, fold_fit in zip(result.folds, fit.folds, strict=True):
        val = fold.curves["val_loss"]
        assert fold_fit.best_epoch == int(np.argmin(val)) + 1 < fold.n_iter
    assert fit.gap()["log_loss"]["mean"] > 0.2


def test_tiny_learning_rate_is_called_underfitting(classification_data):
    X, y = classification_data
    pipeline = make_pipeline("classification", max_epochs=3, learning_rate=1e-6)
    result = cross_validate(pipeline, X, y, make_folds(y, 3, task="classification", seed=0),
                            task="classification", progress=False)
    fit = diagnose_fit(result)
    assert fit.verdict == UNDER, fit.line()
    for fold, fold_fit in zip(result.folds, fit.folds, strict=True):  # DummyClassifier(prior)
        assert fold.baseline_scores["train_log_loss"] == pytest.approx(
            fold.train_scores["log_loss"], rel=0.01)
        assert fold_fit.loss_share >= 0.9


@pytest.mark.parametrize("noise", [False, True])
def test_a_well_set_linear_fit_is_not_called_overfitting(classification_data, noise):
    X, y = classification_data
    if noise:  # labels independent of X: nothing to learn, and nothing to over-fit linearly
        y = np.random.default_rng(5).permutation(y)
    pipeline = make_pipeline("classification", max_epochs=300, learning_rate=0.05)
    pipeline.set_params(model__tol=1e-4)  # trained to convergence
    result = cross_validate(pipeline, X, y, make_folds(y, 3, task="classification", seed=0),
                            task="classification", progress=False)
    fit = diagnose_fit(result)
    assert fit.verdict == (UNDER if noise else FINE), fit.line()


def test_early_stopping_model_holds_its_best_epoch_and_refit_is_said():
    pipeline, X, y = _mlp_overfit()
    pipeline.set_params(model__early_stopping=True, model__tol=1e-4, model__n_iter_no_change=5)
    result = cross_validate(pipeline, X, y, make_folds(y, 3, task="classification", seed=0),
                            task="classification", progress=False)
    fit = diagnose_fit(result)
    assert fit.verdict != OVER  # the weights of the lowest validation loss were restored
    assert all(f.model_epoch == f.best_epoch and f.rise == 0 for f in fit.folds)
    assert "stopped early" in refit_line(result, 7)


def test_documents_and_mlflow_values_carry_the_diagnosis(classification_data):
    pipeline, X, y = _mlp_overfit()
    result = cross_validate(pipeline, X, y, make_folds(y, 3, task="classification", seed=0),
                            task="classification", progress=False)
    doc = cv_document(result)
    assert doc["fit"]["verdict"] == OVER
    assert doc["fold_1"]["train"]["log_loss"] == result.folds[0].train_scores["log_loss"]
    assert doc["fold_1"]["best_epoch"] == diagnose_fit(result).folds[0].best_epoch
    assert metrics_document({"log_loss": 1.0}, doc)["fit"]["verdict"] == OVER
    summary = cv_summary_metrics(result)
    assert summary["cv_gap_log_loss_mean"] == doc["fit"]["gap"]["log_loss"]["mean"]
    assert "cv_best_epoch_mean" in summary and "cv_gap_log_loss_std" in summary
    values = fold_metrics(result.folds[0], "classification")
    assert values["train_log_loss"] == result.folds[0].train_scores["log_loss"]
    assert values["best_epoch"] == doc["fold_1"]["best_epoch"]


def test_stopped_while_still_improving_is_called_under_trained(classification_data):
    X, y = classification_data
    pipeline = make_pipeline("classification", max_epochs=15, learning_rate=0.01)
    result = cross_validate(pipeline, X, y, make_folds(y, 3, task="classification", seed=0),
                            task="classification", progress=False)
    fit = diagnose_fit(result)
    assert fit.verdict == UNDER_TRAINED, fit.line()
    for fold in result.folds:  # the validation loss fell through the last epochs
        val = fold.curves["val_loss"]
        assert val[-1] == min(val) and val[-1] < 0.99 * val[-3]


def test_a_large_fold_is_scored_on_a_seeded_sample_of_its_training_rows(
        classification_data, monkeypatch):
    """Above TRAIN_SCORE_ROWS training rows the fold's training scores come from a sample of
    that many (scoring every row of a million-row fold cost an epoch and ~60 MB a worker): the
    sample is drawn from the fold's own training rows, is the same on every run, and the
    scores are scikit-learn's metrics of the fold's model on exactly those rows."""
    from sklearn.metrics import accuracy_score, log_loss

    from gdlab.experiment import cv as cv_module
    from gdlab.experiment.cv import train_score_rows

    X, y = classification_data
    monkeypatch.setattr(cv_module, "TRAIN_SCORE_ROWS", 50)
    folds = make_folds(y, 3, task="classification", seed=0)
    result = cross_validate(make_pipeline("classification"), X, y, folds,
                            task="classification", progress=False)
    for fold, outcome in zip(folds, result.folds, strict=True):
        rows = train_score_rows(fold)
        assert len(rows) == 50 and len(np.unique(rows)) == 50
        assert set(rows) <= set(fold.train_idx) and np.all(np.diff(rows) > 0)
        np.testing.assert_array_equal(rows, train_score_rows(fold))  # reproducible
        model = make_pipeline("classification").fit(X[fold.train_idx], y[fold.train_idx])
        proba = model.predict_proba(X[rows])
        assert outcome.train_scores["log_loss"] == pytest.approx(
            log_loss(y[rows], proba, labels=model.classes_), rel=1e-9)
        assert outcome.train_scores["accuracy"] == pytest.approx(
            accuracy_score(y[rows], model.predict(X[rows])))
        labels, counts = np.unique(y[fold.train_idx], return_counts=True)
        prior = counts / counts.sum()
        assert outcome.baseline_scores["train_log_loss"] == pytest.approx(
            log_loss(y[rows], np.tile(prior, (len(rows), 1)), labels=labels), rel=1e-9)
    small = folds[0]
    monkeypatch.setattr(cv_module, "TRAIN_SCORE_ROWS", len(small.train_idx))
    np.testing.assert_array_equal(train_score_rows(small), small.train_idx)  # all, below it
