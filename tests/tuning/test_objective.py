"""A trial's per-epoch curves: the mean over its folds, epoch by epoch, a fold that stopped
early held at its last value (as the train stage's bands and compare's variant curves)."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from gdlab.experiment import build_pipeline, cross_validate, make_folds
from gdlab.tuning.objective import CVObjective
from gdlab.tuning.space import Space

from .conftest import make_params


def test_trial_curves_hold_folds_that_stopped_early(classification_data):
    # tol stops the folds at different epochs; the trial's curve must keep every fold in the
    # mean to the end, so its last val_loss is the mean of the folds' last val_loss
    params = make_params(
        optimizer={"name": "adam", "learning_rate": 0.05},
        train={"max_epochs": 60, "tol": 1e-3, "n_iter_no_change": 3},
        tune={"space": {"optimizer.learning_rate": {"choices": [0.05]}}},
    )
    X, y = classification_data
    folds = make_folds(y, params.cv.folds, task="classification", seed=params.seed)
    space = Space.from_config(params.tune.space)
    objective = CVObjective(params, X, y, folds, space, "log_loss", False)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study().optimize(objective, n_trials=1)
    record = objective.last
    assert record.state == "COMPLETE"

    # by hand, from the same folds fitted on their own
    cv = cross_validate(build_pipeline(params), X, y, folds, task="classification",
                        progress=False)
    lengths = [len(f.curves["val_loss"]) for f in cv.folds]
    assert record.n_iter == [f.n_iter for f in cv.folds]
    assert len(set(lengths)) > 1, lengths  # the case at hand: folds stopped apart
    for key in ("train_loss", "val_loss"):
        curves = [f.curves[key] for f in cv.folds]
        longest = max(lengths)
        held = [[*c, *[c[-1]] * (longest - len(c))] for c in curves]
        expected = [sum(col) / len(col) for col in zip(*held, strict=True)]
        assert record.curves[key] == pytest.approx(expected, rel=1e-12)
        assert record.curves[key][-1] == pytest.approx(np.mean([c[-1] for c in curves]))


class _PrunesAtStep(optuna.pruners.BasePruner):
    """Prunes every trial once it has reported ``step`` (a stand-in for a median pruner whose
    comparison at that fold goes against the trial)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return trial.last_step == self.step


@pytest.mark.parametrize(("prune_at", "state", "folds_run"), [(0, "PRUNED", 1), (2, "COMPLETE", 3)])
def test_a_trial_that_scored_every_fold_completes_whatever_the_pruner_says(
    classification_data, prune_at, state, folds_run
):
    """The median pruner, asked after the last fold, pruned trials that had run their whole
    CV (in a real search, 2 of 19 trials, with CV scores within 1e-4 of the best): the scores
    were thrown away and such a trial could never be the best."""
    params = make_params(
        train={"max_epochs": 5},
        tune={"space": {"optimizer.learning_rate": {"choices": [0.05]}}},
    )
    X, y = classification_data
    folds = make_folds(y, params.cv.folds, task="classification", seed=params.seed)
    assert len(folds) == 3
    objective = CVObjective(params, X, y, folds, Space.from_config(params.tune.space),
                            "log_loss", False)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(pruner=_PrunesAtStep(prune_at))
    study.optimize(objective, n_trials=1)
    record, trial = objective.last, study.trials[0]
    assert (record.state, trial.state.name, len(record.fold_scores)) == (state, state, folds_run)
    if state == "COMPLETE":
        assert trial.value == pytest.approx(np.mean(record.fold_scores), rel=1e-12)


def test_trial_folds_lower_a_plateau_rate_on_their_training_loss(classification_data):
    """A trial's fold recorded its held-out rows' loss and plateau watched it: the trial's
    rate fell on the very rows its fold score was measured on. Each fold's score is now that
    of the pipeline fitted by scikit-learn on the fold's training rows alone (plateau on the
    training loss, as the refit)."""
    from sklearn.base import clone
    from sklearn.metrics import log_loss

    from gdlab.experiment.overrides import with_overrides

    params = make_params(
        optimizer={"name": "sgd", "learning_rate": 0.5},
        schedule={"name": "plateau", "params": {"patience": 2, "factor": 0.5}},
        train={"batch_size": None, "max_epochs": 40, "tol": None},
        tune={"space": {"optimizer.learning_rate": {"choices": [0.5]}}},
    )
    X, y = classification_data
    flip = np.random.default_rng(3).random(len(y)) < 0.25  # the held-out loss turns up
    y = np.where(flip, 1 - y, y)
    folds = make_folds(y, params.cv.folds, task="classification", seed=params.seed)
    objective = CVObjective(params, X, y, folds, Space.from_config(params.tune.space),
                            "log_loss", False)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study().optimize(objective, n_trials=1)
    record = objective.last
    assert record.state == "COMPLETE"
    pipeline = build_pipeline(with_overrides(params, {"tune.enabled": False}))
    watching = 0
    for fold, score in zip(folds, record.fold_scores, strict=True):
        alone = clone(pipeline).fit(X[fold.train_idx], y[fold.train_idx])
        expected = log_loss(y[fold.val_idx], alone.predict_proba(X[fold.val_idx]),
                            labels=alone.classes_)
        assert score == pytest.approx(expected, rel=1e-9)
        # the case at hand: watching the held-out rows scores otherwise
        pre, estimator = alone.named_steps["preprocess"], alone.named_steps["model"]
        monitored = clone(estimator).fit(
            pre.transform(X[fold.train_idx]), y[fold.train_idx],
            eval_set=(pre.transform(X[fold.val_idx]), y[fold.val_idx]),
        )
        watching += monitored.history_["learning_rate"] != estimator.history_["learning_rate"]
    assert watching > 0
    assert len(record.curves["val_loss"]) == 40  # the held-out loss is still recorded
