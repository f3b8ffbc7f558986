"""tune.n_startup_trials holds off every pruner tune offers until that many trials of the
study have completed; after that the pruner prunes as Optuna's own does."""

from __future__ import annotations

import warnings

import optuna
import pytest

from gdlab.config.sections.tune import PRUNERS
from gdlab.tuning import plan_search, run_search
from gdlab.tuning.study import StudySpec

from .conftest import make_params

GOOD = [0.30, 0.32, 0.31, 0.29, 0.33, 0.30, 0.31]
WORSE = [v + 0.05 + 0.01 * i for i, v in enumerate(GOOD)]  # worse on every fold


def _study(pruner: optuna.pruners.BasePruner, completed: int) -> optuna.Study:
    """An in-memory study holding ``completed`` COMPLETE trials with GOOD fold scores (and
    pruned and failed ones, which do not count)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", pruner=pruner)
    for _ in range(completed):
        trial = study.ask()
        for step, value in enumerate(GOOD):
            trial.report(value, step)
        study.tell(trial, sum(GOOD) / len(GOOD))
    study.tell(study.ask(), state=optuna.trial.TrialState.PRUNED)
    study.tell(study.ask(), state=optuna.trial.TrialState.FAIL)
    return study


def _first_pruned_fold(study: optuna.Study) -> int | None:
    """Folds scored when a trial WORSE on every fold is first pruned (None: never)."""
    trial = study.ask()
    for step, value in enumerate(WORSE):
        trial.report(value, step)
        if trial.should_prune():
            return step + 1
    return None


def _optunas_own(name: str) -> optuna.pruners.BasePruner:
    """Reference: Optuna's pruner for ``name`` with nothing held off."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return {
            "median": optuna.pruners.MedianPruner(n_startup_trials=0),
            "wilcoxon": optuna.pruners.WilcoxonPruner(p_threshold=0.1, n_startup_steps=2),
            "none": optuna.pruners.NopPruner(),
        }[name]


@pytest.mark.parametrize("name", PRUNERS)
@pytest.mark.parametrize("startup", [1, 3, 8])
def test_no_pruner_prunes_before_n_startup_trials_have_completed(name, startup):
    """The Wilcoxon pruner ignored tune.n_startup_trials: with 8 startup trials it pruned
    trials 3, 4, 6 and 7. Now no pruner prunes while fewer trials than that have completed
    (pruned and failed ones do not count); from then on each prunes where Optuna's own does."""
    spec = StudySpec(storage="", name="s", direction="minimize", strategy="bayes", seed=0,
                     n_startup_trials=startup, pruner=name)
    assert _first_pruned_fold(_study(spec.make_pruner(), startup - 1)) is None
    after = _first_pruned_fold(_study(spec.make_pruner(), startup))
    assert after == _first_pruned_fold(_study(_optunas_own(name), startup))
    assert (after is not None) == (name != "none")  # the reference does prune this trial


def test_a_wilcoxon_search_prunes_no_trial_among_its_startup_trials(tmp_path,
                                                                    classification_data):
    """The reviewer's search: pruner wilcoxon, n_trials 8 = n_startup_trials, a learning-rate
    range wide enough for poor trials; it pruned trials 3, 4, 6 and 7 by the signed-rank
    test. Now none is stopped by the pruner (divergence may still stop one)."""
    X, y = classification_data
    params = make_params(
        optimizer={"name": "sgd", "learning_rate": 0.01}, cv={"folds": 5},
        tune={"pruner": "wilcoxon", "n_trials": 8, "n_startup_trials": 8,
              "space": {"optimizer.learning_rate": {"low": 1e-5, "high": 1.0, "log": True}}},
    )
    outcome = run_search(plan_search(params, X, y, storage=str(tmp_path / "w.journal")))
    assert len(outcome.records) == 8
    assert [r.number for r in outcome.records if r.stopped_by == "pruner"] == []
