"""Ctrl-C during a search: Optuna's log keeps no traceback of the interrupted trial, while a
trial that fails on an error keeps its own."""

from __future__ import annotations

import signal

import pytest

from gdlab.tracking.runs import RunInterrupted
from gdlab.tuning import plan_search, run_search
from gdlab.tuning.objective import CVObjective

from .conftest import make_params


def test_an_interrupted_trial_leaves_no_traceback_and_a_failing_one_keeps_it(
    tmp_path, classification_data, monkeypatch, caplog
):
    X, y = classification_data
    params = make_params(train={"max_epochs": 3}, tune={"n_trials": 2, "pruner": "none"})
    plan = plan_search(params, X, y, storage=str(tmp_path / "q.journal"))
    calls = []

    def fold(self, trial, *args):
        calls.append(trial.number)
        if trial.number == 0:
            raise ValueError("a broken fold")
        raise RunInterrupted(signal.SIGINT)  # what the stage's signal handler raises

    monkeypatch.setattr(CVObjective, "_fold", fold)
    with pytest.raises(RunInterrupted):
        run_search(plan)
    logged = [(r.getMessage(), r.exc_info[0] if r.exc_info else None)
              for r in caplog.records if r.name == "optuna.study._optimize"]
    assert calls == [0, 1]
    # before: also trial 1's warning with its traceback (RunInterrupted), then
    # "Trial 1 failed with value None."
    assert [(m.split(" because")[0].split(":")[0], kind) for m, kind in logged] == [
        ("Trial 0 failed with parameters", ValueError),
        ("Trial 0 failed with value None.", None),
    ]
