"""Early stopping inside cross-validation never looks at the rows a fold is scored on.

A fold that stopped on its held-out rows (and restored the weights of its lowest loss there)
was scored on those same rows: an optimistic CV score that tune then selected on. The folds
stop on ``validation_fraction`` of their own training rows, as the refit does, so a fold's
model is the same whatever its held-out targets are, and equals scikit-learn-style
``fit`` of the estimator on the fold's standardised training rows alone.
"""

import numpy as np
import pytest
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler

from gdlab import GDClassifier
from gdlab.experiment import cross_validate, make_folds

from .conftest import make_pipeline


def _stopping_pipeline():
    pipeline = make_pipeline("classification", max_epochs=200, learning_rate=0.05)
    return pipeline.set_params(model__early_stopping=True, model__tol=1e-4,
                               model__n_iter_no_change=3)


def _noisy(classification_data):
    X, y = classification_data
    rng = np.random.default_rng(3)
    flip = rng.random(len(y)) < 0.25  # noisy labels: the validation loss turns up
    return X, np.where(flip, np.where(y == "yes", "no", "yes"), y)


def test_fold_model_ignores_its_held_out_targets(classification_data):
    X, y = _noisy(classification_data)
    folds = make_folds(y, 3, task="classification", seed=0)
    first = cross_validate(_stopping_pipeline(), X, y, folds, task="classification",
                           progress=False)
    y_other = y.copy()
    y_other[folds[0].val_idx] = np.where(y[folds[0].val_idx] == "yes", "no", "yes")
    second = cross_validate(_stopping_pipeline(), X, y_other, folds, task="classification",
                            progress=False)
    a, b = first.folds[0], second.folds[0]
    assert a.n_iter == b.n_iter
    assert a.curves["train_loss"] == b.curves["train_loss"]


def test_fold_score_is_that_of_a_model_fitted_without_its_rows(classification_data):
    X, y = _noisy(classification_data)
    folds = make_folds(y, 3, task="classification", seed=0)
    result = cross_validate(_stopping_pipeline(), X, y, folds, task="classification",
                            progress=False)
    for fold, got in zip(folds, result.folds, strict=True):
        scaler = StandardScaler().fit(X[fold.train_idx])
        reference = GDClassifier(**_stopping_pipeline().named_steps["model"].get_params())
        reference.fit(scaler.transform(X[fold.train_idx]), y[fold.train_idx])
        proba = reference.predict_proba(scaler.transform(X[fold.val_idx]))
        expected = log_loss(y[fold.val_idx], proba, labels=reference.classes_)
        assert got.n_iter == reference.n_iter_
        assert got.scores["log_loss"] == pytest.approx(expected, rel=1e-9)


def test_watched_rows_hold_out_only_without_early_stopping():
    from gdlab.experiment.model import watched_rows

    rows = np.arange(5)
    assert watched_rows(make_pipeline("regression"), rows) is rows
    assert watched_rows(_stopping_pipeline(), rows) is None
