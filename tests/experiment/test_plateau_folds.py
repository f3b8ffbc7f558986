"""``schedule: plateau`` inside cross-validation never watches the rows a fold is scored on.

A fold's held-out rows reach its estimator as a validation set only so that its ``val_loss``
curve is recorded. Plateau monitored that loss whenever there was one, so each fold lowered
its learning rate by watching the very rows it was then scored on, while the refit (no
validation set) stepped on its training loss: the CV score described a procedure the
registered model never ran. A fold's learning rate now follows its training loss, as a fit on
the fold's training rows alone does (scikit-learn's ``Pipeline.fit``, the reference), and its
``val_loss`` is still recorded.
"""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.metrics import log_loss
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from gdlab import GDClassifier
from gdlab.experiment import cross_validate, make_folds


def _noisy(classification_data):
    """A quarter of the labels flipped: the held-out loss stalls while the training loss
    keeps falling, so the two losses lower the rate at different epochs."""
    X, y = classification_data
    flip = np.random.default_rng(3).random(len(y)) < 0.25
    return X, np.where(flip, np.where(y == "yes", "no", "yes"), y)


def _plateau_pipeline(copies: bool = False) -> Pipeline:
    estimator = GDClassifier(max_epochs=40, tol=None, learning_rate=0.5, random_state=0,
                             schedule="plateau", schedule_params={"patience": 2, "factor": 0.5})
    # an imputer takes the fold off row views: its rows are copied (fit_pipeline's path)
    preprocess = (Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())])
                  if copies else StandardScaler())
    return Pipeline([("preprocess", preprocess), ("model", estimator)])


def _alone(pipeline: Pipeline, X, y, fold) -> Pipeline:
    """The reference: the pipeline fitted by scikit-learn on the fold's training rows alone."""
    return clone(pipeline).fit(X[fold.train_idx], y[fold.train_idx])


@pytest.mark.parametrize("copies", [False, True], ids=["row-views", "copied-rows"])
def test_fold_plateau_follows_its_training_loss(classification_data, copies):
    X, y = _noisy(classification_data)
    pipeline = _plateau_pipeline(copies)
    folds = make_folds(y, 3, task="classification", seed=0)
    result = cross_validate(pipeline, X, y, folds, task="classification", progress=False)
    watching = 0
    for fold, got in zip(folds, result.folds, strict=True):
        reference = _alone(pipeline, X, y, fold)
        estimator = reference.named_steps["model"]
        assert got.curves["learning_rate"] == estimator.history_["learning_rate"]
        np.testing.assert_allclose(got.curves["train_loss"], estimator.history_["loss"],
                                   rtol=1e-9)
        # the held-out loss is still recorded, every epoch, and is that of the same model
        val = got.curves["val_loss"]
        assert len(val) == got.n_iter and all(v is not None for v in val)
        proba = reference.predict_proba(X[fold.val_idx])
        expected = log_loss(y[fold.val_idx], proba, labels=estimator.classes_)
        assert val[-1] == pytest.approx(expected, rel=1e-9)
        assert got.scores["log_loss"] == pytest.approx(expected, rel=1e-9)
        # the case at hand: watching the held-out rows (a user's eval_set, still monitored)
        # lowers the rate otherwise
        scaler = reference.named_steps["preprocess"]
        monitored = GDClassifier(**estimator.get_params()).fit(
            scaler.transform(X[fold.train_idx]), y[fold.train_idx],
            eval_set=(scaler.transform(X[fold.val_idx]), y[fold.val_idx]),
        )
        watching += monitored.history_["learning_rate"] != estimator.history_["learning_rate"]
    assert watching == len(folds)


def test_compare_fold_plateau_follows_its_training_loss(classification_data):
    from gdlab.experiment.compare import _fit_fold

    X, y = _noisy(classification_data)
    pipeline = _plateau_pipeline()
    for fold in make_folds(y, 3, task="classification", seed=0):
        got = _fit_fold(pipeline, X, y, fold)
        reference = _alone(pipeline, X, y, fold).named_steps["model"]
        assert got.curves["learning_rate"] == reference.history_["learning_rate"]
        assert all(v is not None for v in got.curves["val_loss"])


def test_with_early_stopping_a_fold_plateau_watches_its_own_split(classification_data):
    """With early stopping a fold holds out ``validation_fraction`` of its training rows, as
    the refit does: plateau watches that split there (not the training loss, not the
    scored rows), as the same pipeline fitted on the fold's training rows alone."""
    X, y = _noisy(classification_data)
    pipeline = _plateau_pipeline().set_params(model__early_stopping=True, model__tol=1e-4,
                                              model__n_iter_no_change=20)
    folds = make_folds(y, 3, task="classification", seed=0)
    result = cross_validate(pipeline, X, y, folds, task="classification", progress=False)
    for fold, got in zip(folds, result.folds, strict=True):
        reference = _alone(pipeline, X, y, fold).named_steps["model"]
        assert got.curves["learning_rate"] == reference.history_["learning_rate"]
        assert got.curves["val_loss"] == pytest.approx(reference.history_["val_loss"],
                                                       rel=1e-9)
