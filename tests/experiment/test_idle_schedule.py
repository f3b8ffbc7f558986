"""The train stage's warning about a schedule that never changed the learning rate in any fold
(gdlab.experiment.idle_schedule), on tiny real cross-validations and on hand-made folds."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sklearn.datasets import make_classification

from gdlab.config import validate_params
from gdlab.experiment import cross_validate, make_folds
from gdlab.experiment.idle_schedule import idle_schedule_warning, warn_idle_schedule
from gdlab.experiment.model import build_pipeline
from tests.config.helpers import params_dict


def _cv(overrides):
    """A 3-fold CV of the params with ``overrides``, on 300 rows; ``train.tol`` 0.01 stops
    every fold after 11-15 epochs."""
    params = validate_params(params_dict({"cv.folds": 3, "cv.n_jobs": 1, "train.tol": 0.01,
                                          **overrides}))
    X, y = make_classification(n_samples=300, n_features=6, n_informative=3, random_state=0)
    folds = make_folds(y, 3, task="classification", seed=0)
    result = cross_validate(build_pipeline(params), X, y, folds, task="classification",
                            progress=False)
    return params, result


def test_a_step_schedule_stopped_before_its_step_size_is_warned_about():
    params, result = _cv({"schedule.name": "step"})  # step_size 30
    epochs = [f.n_iter for f in result.folds]
    assert max(epochs) < 30  # the fact the warning reports: no fold reached step_size
    assert all(len(set(f.curves["learning_rate"])) == 1 for f in result.folds)
    warning = idle_schedule_warning(params, result.folds)
    assert warning is not None
    assert warning.startswith("schedule step (step_size 30) never changed the learning rate in "
                              "any of the 3 folds")
    assert f"the fits stopped at epochs {min(epochs)}-{max(epochs)}, before epoch 31" in warning
    assert "train.tol (0.01) and train.n_iter_no_change (10) ended them" in warning
    assert "set train.tol: null" in warning
    assert f"schedule.params.step_size below {min(epochs)}" in warning


def test_a_warmup_then_multistep_stopped_before_its_milestone_is_warned_about():
    params, result = _cv({"schedule.name": "warmup", "schedule.params": {
        "warmup_epochs": 3, "then": "multistep", "then_params": {"milestones": [20]}}})
    warning = idle_schedule_warning(params, result.folds)
    assert warning is not None
    assert warning.startswith("schedule warmup then multistep (milestones [20]) never changed "
                              "the learning rate after the 3-epoch warm-up")
    assert "before epoch 24" in warning
    assert "The run equals a warm-up then constant" in warning


@pytest.mark.parametrize("overrides", [
    {},  # params.yaml's default: constant
    {"schedule.name": "step", "schedule.params": {"step_size": 5}},  # acts in every fold
    {"schedule.name": "exponential"},
    {"schedule.name": "step", "schedule.params": {"gamma": 1.0}},  # constant by its own gamma
])
def test_no_warning_when_the_rate_changed_or_could_not(overrides):
    params, result = _cv(overrides)
    assert idle_schedule_warning(params, result.folds) is None


@dataclass
class _Fold:
    curves: dict


def test_plateau_that_never_acted_is_warned_about_naming_patience_and_the_stopping_rule(
    capsys,
):
    params = validate_params(params_dict({"schedule.name": "plateau"}))
    folds = [_Fold({"learning_rate": [0.01] * n}) for n in (22, 24, 25)]
    warn_idle_schedule("train", params, folds)
    err = capsys.readouterr().err
    assert err.startswith("train: warning: schedule plateau (patience 10) never changed the "
                          "learning rate in any of the 3 folds: the fits stopped at epochs "
                          "22-25, before 11 epochs without a relative improvement")
    assert "train.tol (0.0001) and train.n_iter_no_change (10) ended them" in err
    assert "schedule.params.patience below train.n_iter_no_change - 1 (e.g. 5)" in err
    # one fold where plateau lowered the rate: nothing to say
    folds[1] = _Fold({"learning_rate": [0.01] * 20 + [0.001] * 4})
    assert idle_schedule_warning(params, folds) is None


def test_plateau_idle_because_every_fold_ran_all_max_epochs_is_not_blamed_on_tol():
    # train.tol is set but never ended a fit: every fold ran train.max_epochs (30), so the
    # loss kept improving by more than threshold; a larger patience or tol: null cannot help
    params = validate_params(params_dict({
        "schedule.name": "plateau", "schedule.params": {"patience": 2, "factor": 0.5},
        "train.max_epochs": 30, "train.n_iter_no_change": 5, "tune.enabled": False}))
    warning = idle_schedule_warning(params, [_Fold({"learning_rate": [0.01] * 30})] * 3)
    assert warning is not None
    assert "the fits stopped at epoch 30, and the loss improved by more than threshold " \
        "(0.0001) at least every 3 epochs" in warning
    assert "train.tol (0.0001) and train.n_iter_no_change" not in warning
    assert "patience below" not in warning


@pytest.mark.parametrize("n_iter_no_change, patience, example", [
    (10, 10, "(e.g. 5), or train.tol: null"),  # params.yaml's n_iter_no_change
    (6, 10, "(e.g. 3), or train.tol: null"),
    (10, 3, "(e.g. 2), or train.tol: null"),   # never an example at or above the idle one
])
def test_plateau_patience_example_leaves_room_for_the_tol_rule(n_iter_no_change, patience,
                                                               example):
    params = validate_params(params_dict({
        "schedule.name": "plateau", "schedule.params": {"patience": patience},
        "train.n_iter_no_change": n_iter_no_change, "tune.enabled": False}))
    warning = idle_schedule_warning(params, [_Fold({"learning_rate": [0.01] * 20})] * 3)
    assert f"set schedule.params.patience below train.n_iter_no_change - 1 {example}" in warning


def test_plateau_with_no_patience_to_lower_only_suggests_dropping_tol():
    params = validate_params(params_dict({
        "schedule.name": "plateau", "schedule.params": {"patience": 0},
        "train.n_iter_no_change": 1, "tune.enabled": False}))
    warning = idle_schedule_warning(params, [_Fold({"learning_rate": [0.01] * 5})] * 2)
    assert warning.endswith("The run equals schedule constant; set train.tol: null")
