"""The search itself: seeded reproducibility of both strategies, pruning of a poor half of the
space (and MLflow showing it), parallel trials all logged, conditional dimensions and grids."""

from __future__ import annotations

import os

import numpy as np
import optuna
import pytest
from mlflow.tracking import MlflowClient

from gdlab.config import with_overrides
from gdlab.experiment import build_pipeline, cross_validate, make_folds
from gdlab.tuning import plan_search, run_search, trials_table
from gdlab.tuning.tracking import TrialLogger

from .conftest import make_params

HALF_POOR = {
    # lr 1e-6 .. 1e-3 barely moves plain SGD in 15 epochs; 1e-2 .. 1 fits well
    "optimizer": {"name": "sgd", "learning_rate": 0.01},
    "tune": {
        "n_trials": 14,
        "space": {"optimizer.learning_rate": {"low": 1e-6, "high": 1.0, "log": True}},
    },
}


def trial_summary(outcome):
    return [
        (t.number, t.state.name, t.params, t.value, dict(t.intermediate_values))
        for t in outcome.trials()
    ]


def search(tmp_path, data, name, **changes):
    params = make_params(**changes)
    X, y = data
    plan = plan_search(params, X, y, storage=str(tmp_path / f"{name}.journal"))
    return run_search(plan)


@pytest.mark.parametrize(
    "strategy,changes",
    [
        ("bayes", {}),
        (
            "grid",
            {
                "n_trials": None,
                "grid_points": 3,
                "space": {
                    "optimizer.learning_rate": {"low": 1e-3, "high": 0.1, "log": True},
                    "train.batch_size": {"choices": [32, 64]},
                },
            },
        ),
    ],
)
def test_same_seed_gives_the_same_trials_and_best_params(
    tmp_path, classification_data, strategy, changes
):
    tune = {"strategy": strategy, **changes}
    first = search(tmp_path, classification_data, "a", tune=tune)
    second = search(tmp_path, classification_data, "b", tune=tune)
    assert len(first.trials()) == (6 if strategy == "grid" else 8)
    assert trial_summary(first) == trial_summary(second)
    assert first.best_params() == second.best_params() != {}
    assert first.best_trial.value == second.best_trial.value
    other = search(tmp_path, classification_data, "c", tune={**tune, "seed": 12345})
    if strategy == "bayes":
        assert [t.params for t in other.trials()] != [t.params for t in first.trials()]
    else:  # the same grid in another order
        assert sorted(map(str, (t.params for t in other.trials()))) == sorted(
            map(str, (t.params for t in first.trials()))
        )
        assert [t.params for t in other.trials()] != [t.params for t in first.trials()]


def test_pruning_stops_trials_in_the_poor_half_and_mlflow_shows_them_pruned(
    tmp_path, classification_data, session
):
    params = make_params(**HALF_POOR)
    X, y = classification_data
    plan = plan_search(params, X, y, storage=str(tmp_path / "prune.journal"))
    parent = session.client.create_run(session.experiment_id, run_name="tune").info.run_id
    uid = plan.spec.create().user_attrs["gdlab.uid"]
    logger = TrialLogger(
        session.client, session.experiment_id, parent, plan.spec.name, uid, "log_loss"
    )
    outcome = run_search(plan, logger.log)

    pruned = [t for t in outcome.trials() if t.state.name == "PRUNED"]
    assert pruned, outcome.counts()
    by_pruner = [t for t in pruned if t.user_attrs.get("gdlab.stopped_by") == "pruner"]
    assert by_pruner
    for trial in by_pruner:  # stopped before the last fold: fewer fits than a full CV
        assert len(trial.intermediate_values) < plan.params.cv.folds
    complete = [t for t in outcome.trials() if t.state.name == "COMPLETE"]
    # once the pruner has its startup trials, no trial in the poor half runs to the end
    startup = plan.spec.n_startup_trials
    watched = [t for t in outcome.trials() if sum(c.number < t.number for c in complete) >= startup]
    poor = [t for t in watched if t.params["optimizer.learning_rate"] < 1e-3]
    assert poor and all(t.state.name == "PRUNED" for t in poor)
    assert outcome.best_trial.params["optimizer.learning_rate"] > 1e-3
    # the pruner saw every fold's score at its step: fold k at step k - 1, the values of the
    # train stage's cross-validation on the same folds (computed here on its own)
    folds = make_folds(y, plan.params.cv.folds, task="classification", seed=plan.params.seed)
    independent = {}
    for trial in [outcome.best_trial, *by_pruner[:1]]:
        settings = with_overrides(plan.params, {**trial.params, "tune.enabled": False})
        cv = independent[trial.number] = cross_validate(
            build_pipeline(settings), X, y, folds, task="classification", progress=False)
        scores = [f.scores["log_loss"] for f in cv.folds]
        steps = sorted(trial.intermediate_values)
        assert steps == list(range(len(steps)))
        assert [trial.intermediate_values[s] for s in steps] == pytest.approx(
            scores[: len(steps)], rel=1e-9)
    assert len(outcome.best_trial.intermediate_values) == plan.params.cv.folds
    best = outcome.best_trial
    assert best.value == pytest.approx(np.mean(list(best.intermediate_values.values())))
    assert (
        min(t.value for t in complete)
        < 0.6
        < max(t.intermediate_values[0] for t in outcome.trials() if t.intermediate_values)
    )

    runs = MlflowClient(session.uri).search_runs(
        [session.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent}'"
    )
    assert len(runs) == len(outcome.trials())
    state = {int(r.data.tags["gdlab.trial_number"]): r for r in runs}
    for trial in pruned:
        run = state[trial.number]
        assert run.data.tags["gdlab.trial_state"] == "PRUNED"
        assert run.info.status == "KILLED"
        assert run.data.tags["gdlab.stopped_by"] in ("pruner", "divergence")
        assert not {"cv_log_loss_mean", "cv_log_loss_std"} & set(run.data.metrics)
    for trial in complete:
        run = state[trial.number]
        assert run.info.status == "FINISHED" and run.data.tags["gdlab.trial_state"] == "COMPLETE"
        assert run.data.metrics["cv_log_loss_mean"] == pytest.approx(trial.value)
        folds_run = list(trial.intermediate_values.values())
        assert run.data.metrics["cv_log_loss_std"] == pytest.approx(np.std(folds_run))
    # the best trial's run holds its per-epoch curves: the mean over the folds, epoch by epoch
    client = MlflowClient(session.uri)
    best_run = state[outcome.best_trial.number].info.run_id
    for key in ("train_loss", "val_loss"):
        history = sorted(client.get_metric_history(best_run, key), key=lambda m: m.step)
        folds_curves = np.array([f.curves[key] for f in independent[best.number].folds])
        assert [m.step for m in history] == list(range(folds_curves.shape[1]))
        assert [m.value for m in history] == pytest.approx(folds_curves.mean(axis=0), rel=1e-9)


def test_parallel_trials_are_all_logged_without_database_locks(
    tmp_path, classification_data, session
):
    params = make_params(tune={"n_jobs": 2, "n_trials": 8})
    X, y = classification_data
    plan = plan_search(params, X, y, storage=str(tmp_path / "parallel.journal"))
    parent = session.client.create_run(session.experiment_id, run_name="tune").info.run_id
    uid = plan.spec.create().user_attrs["gdlab.uid"]
    logger = TrialLogger(
        session.client, session.experiment_id, parent, plan.spec.name, uid, "log_loss"
    )
    outcome = run_search(plan, logger.log)  # a "database is locked" would raise here

    assert len(outcome.records) == len(outcome.trials()) == 8
    assert {r.pid for r in outcome.records} - {os.getpid()}, "trials ran in worker processes"
    assert len({r.pid for r in outcome.records}) == 2
    runs = MlflowClient(session.uri).search_runs(
        [session.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent}'"
    )
    assert sorted(int(r.data.tags["gdlab.trial_number"]) for r in runs) == list(range(8))
    assert all(r.info.status in ("FINISHED", "KILLED", "FAILED") for r in runs)
    for run in runs:
        trial = outcome.study.trials[int(run.data.tags["gdlab.trial_number"])]
        assert run.data.tags["gdlab.trial_state"] == trial.state.name
        assert float(run.data.params["optimizer.learning_rate"]) == pytest.approx(
            trial.params["optimizer.learning_rate"]
        )
        if trial.state.name == "COMPLETE":  # per-epoch curves, one point per epoch
            history = MlflowClient(session.uri).get_metric_history(run.info.run_id, "val_loss")
            assert len(history) == 15 and [m.step for m in history] == list(range(15))


def test_conditional_dimension_only_when_its_condition_holds(tmp_path, classification_data):
    space = {
        "optimizer.learning_rate": {"low": 1e-3, "high": 0.1, "log": True},
        "optimizer.name": {"choices": ["adam", "momentum"]},
        "optimizer.params.momentum": {
            "low": 0.5,
            "high": 0.95,
            "when": {"optimizer.name": ["momentum"]},
        },
        "train.max_epochs": {"low": 5, "high": 15, "step": 5},
    }
    outcome = search(tmp_path, classification_data, "cond", tune={"n_trials": 8, "space": space})
    names = set()
    for trial in outcome.trials():
        names.add(trial.params["optimizer.name"])
        assert ("optimizer.params.momentum" in trial.params) == (
            trial.params["optimizer.name"] == "momentum"
        )
        assert trial.params["train.max_epochs"] in (5, 10, 15)
        assert trial.state.name != "FAIL", trial.user_attrs
    assert names == {"adam", "momentum"}
    rows = trials_table(outcome.study, outcome.plan.space, 3)
    assert [r["number"] for r in rows] == list(range(8))
    assert {"optimizer.params.momentum", "fold_1", "fold_3", "state", "value"} <= set(rows[0])


def test_grid_with_a_conditional_dimension_reuses_equal_configurations(
    tmp_path, classification_data
):
    space = {
        "optimizer.name": {"choices": ["adam", "momentum"]},
        "optimizer.params.momentum": {
            "choices": [0.5, 0.9],
            "when": {"optimizer.name": ["momentum"]},
        },
    }
    outcome = search(
        tmp_path,
        classification_data,
        "gridcond",
        tune={"strategy": "grid", "n_trials": None, "pruner": "none", "space": space},
    )
    trials = outcome.trials()
    assert len(trials) == 4  # 2 x 2 grid points ...
    configs = {str(sorted(t.params.items())) for t in trials}
    assert len(configs) == 3  # ... of which two differ only in the unused momentum
    duplicates = [t for t in trials if "gdlab.duplicate_of" in t.user_attrs]
    assert len(duplicates) == 1
    twin = outcome.study.trials[duplicates[0].user_attrs["gdlab.duplicate_of"]]
    assert duplicates[0].value == twin.value and duplicates[0].params == twin.params


def test_a_trial_the_schema_refuses_fails_and_the_search_goes_on(tmp_path, classification_data):
    space = {"optimizer.learning_rate": {"low": 1e-3, "high": 0.1, "log": True}}
    params = make_params(tune={"n_trials": 3, "space": space})
    X, y = classification_data
    plan = plan_search(params, X, y, storage=str(tmp_path / "fail.journal"))
    # schedule.params.eta_min must stay below the learning rate: sabotage one trial
    plan.params = plan.params.model_copy(
        update={
            "schedule": plan.params.schedule.model_copy(
                update={"name": "cosine", "params": {"eta_min": 0.01}}
            )
        }
    )
    outcome = run_search(plan)
    states = {t.state.name for t in outcome.trials()}
    assert "FAIL" in states and len(outcome.trials()) == 3
    failed = [t for t in outcome.trials() if t.state.name == "FAIL"]
    assert all("eta_min" in t.user_attrs["gdlab.reason"] for t in failed)
    assert all(t.params["optimizer.learning_rate"] <= 0.01 for t in failed)


def test_timeout_stops_starting_trials(tmp_path, classification_data, monkeypatch):
    """The deadline's clock is the search module's ``time.time``: a fake one each trial moves
    on by 0.3 s, so a 0.5 s timeout lets exactly two trials start (at 0 and 0.3 s) and the
    third is never begun, however slow the machine."""
    import types

    import gdlab.tuning.search as search_module

    clock = [1_000_000.0]
    fake_time = types.SimpleNamespace(time=lambda: clock[0], monotonic=search_module.time.monotonic)
    real_trial = search_module.run_one_trial

    def trial_taking_300_ms(*args, **kwargs):
        record = real_trial(*args, **kwargs)
        clock[0] += 0.3
        return record

    monkeypatch.setattr(search_module, "time", fake_time)
    monkeypatch.setattr(search_module, "run_one_trial", trial_taking_300_ms)
    outcome = search(
        tmp_path, classification_data, "timeout", tune={"n_trials": None, "timeout": 0.5}
    )
    assert len(outcome.trials()) == len(outcome.records) == 2
    assert optuna.trial.TrialState.RUNNING not in {t.state for t in outcome.trials()}


def test_an_interrupted_trial_runs_again_when_the_search_resumes(
    tmp_path, classification_data, monkeypatch
):
    import gdlab.tuning.objective as objective
    from gdlab.tuning.study import counted

    plan = plan_search(
        make_params(tune={"n_trials": 6, "pruner": "none"}),
        *classification_data,
        storage=str(tmp_path / "interrupt.journal"),
    )
    real, calls = objective.fit_pipeline_rows, []

    def interrupted_in_trial_3(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3 * 3 + 2:  # the second fold of the fourth trial (3 folds each)
            raise KeyboardInterrupt  # what SIGINT / SIGTERM raise inside the stage
        return real(*args, **kwargs)

    monkeypatch.setattr(objective, "fit_pipeline_rows", interrupted_in_trial_3)
    with pytest.raises(KeyboardInterrupt):
        run_search(plan)
    monkeypatch.setattr(objective, "fit_pipeline_rows", real)
    first = plan.spec.create().get_trials()
    assert [t.state.name for t in first] == ["COMPLETE"] * 3 + ["FAIL"]
    assert first[3].user_attrs["gdlab.interrupted"] is True

    outcome = run_search(plan)
    trials = outcome.trials()
    assert outcome.requeued == [3]
    assert trials[4].user_attrs["gdlab.retry_of"] == 3 and trials[4].params == first[3].params
    assert len(outcome.records) == 3 and len(trials) == 7
    assert sum(counted(t) for t in trials) == 6
    assert [(t.params, t.value) for t in trials[:3]] == [(t.params, t.value) for t in first[:3]]


def test_another_hosts_running_trial_is_left_running_and_uses_the_budget(
    tmp_path, classification_data
):
    """Several hosts search one study (a shared RDB storage). A search starting here leaves
    the trial another host is running alone, counts it against n_trials (the two searches
    together ran twice n_trials before), and does not seed its own trial as that one was
    seeded (the same seed proposed the same configuration again)."""
    from gdlab.tuning.study import OWNER

    plan = plan_search(
        make_params(tune={"n_trials": 4, "pruner": "none"}),
        *classification_data,
        storage=str(tmp_path / "shared.journal"),
    )
    assert plan.owner  # this host
    plan.spec.create()
    other = plan.spec.load()  # the other host's search, its first trial seeded for slot 0
    theirs = other.ask()
    plan.space.suggest(theirs)
    theirs.set_user_attr(OWNER, f"not-{plan.owner}")
    outcome = run_search(plan)
    trials = {t.number: t for t in outcome.trials()}
    assert trials[theirs.number].state.name == "RUNNING"
    assert not any(t.user_attrs.get("gdlab.interrupted") for t in trials.values())
    assert len(outcome.records) == 3 and len(trials) == 4  # 3 here + 1 there = n_trials
    mine = [trials[r.number] for r in outcome.records]
    assert all(t.user_attrs[OWNER] == plan.owner for t in mine)
    assert all(t.params != trials[theirs.number].params for t in mine)
    other.tell(theirs, 0.5)  # the other host finishes its trial
    assert run_search(plan).records == []  # the budget is spent


def test_a_trial_another_host_starts_after_the_slot_was_planned_does_not_share_its_seed(
    tmp_path, classification_data
):
    """The slot a search planned can go stale: another host sharing the study starts a trial
    in between, seeded for that same slot. The trial run here then counts the running one and
    takes the next seed, instead of proposing the same configuration again."""
    from gdlab.tuning.search import run_one_trial
    from gdlab.tuning.study import OWNER

    plan = plan_search(
        make_params(tune={"n_trials": 4, "pruner": "none"}),
        *classification_data,
        storage=str(tmp_path / "stale.journal"),
    )
    plan.spec.create()
    other = plan.spec.load()  # the other host, seeded for slot 0 as well
    theirs = other.ask()
    plan.space.suggest(theirs)
    theirs.set_user_attr(OWNER, f"not-{plan.owner}")
    record = run_one_trial(plan, deadline=None)  # planned before theirs began
    assert record is not None and record.number != theirs.number
    assert record.params and record.params != theirs.params
    # what the next slot's seed proposes (asked in a copy of the study, not in it)
    replay = plan.spec.load()
    twin = optuna.create_study(sampler=replay.sampler, direction=replay.direction)
    for trial in replay.get_trials(deepcopy=True, states=(optuna.trial.TrialState.RUNNING,)):
        twin.add_trial(trial)
    proposed = twin.ask()
    plan.space.suggest(proposed)
    assert record.params == proposed.params


def test_a_trial_another_worker_finishes_while_this_one_decides_is_counted_once(
    tmp_path, classification_data, monkeypatch
):
    """Two workers share a study (as two processes on one PostgreSQL study). The other
    worker's running trial finishes just after this worker read the study to decide whether
    the budget has room: the trial is counted once (running, in that reading), so this worker
    runs the last trial of the budget instead of giving up with nothing to run."""
    from gdlab.tuning.search import run_one_trial

    plan = plan_search(
        make_params(tune={"n_trials": 3, "pruner": "none"}),
        *classification_data,
        storage=str(tmp_path / "two-workers.journal"),
    )
    plan.spec.create()
    assert run_one_trial(plan, deadline=None) is not None  # this worker's first
    other = plan.spec.load()  # the other worker, running the second trial
    theirs = other.ask()
    plan.space.suggest(theirs)

    reading = optuna.Study.get_trials
    finished = []

    def read_then_theirs_finishes(self, *args, **kwargs):
        trials = reading(self, *args, **kwargs)
        if not finished:  # right after this worker's first reading
            finished.append(theirs.number)
            other.tell(theirs, 0.5)
        return trials

    monkeypatch.setattr(optuna.Study, "get_trials", read_then_theirs_finishes)
    record = run_one_trial(plan, deadline=None)  # 1 finished + 1 running < 3
    monkeypatch.undo()
    assert finished == [theirs.number]
    assert record is not None and record.state == "COMPLETE"
    trials = plan.spec.load().get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3  # the budget, no more
    assert run_one_trial(plan, deadline=None) is None  # now it is spent


def test_a_resumed_search_proposes_what_the_uninterrupted_one_would(
    tmp_path, classification_data, monkeypatch
):
    """TPE's seed follows the trials that use the budget: the interrupted trial (not counted)
    must not shift the seeds of the trials after its retry, else the resumed search samples
    other points than the uninterrupted one and ends with other best params."""
    import gdlab.tuning.objective as objective

    def plan(name):
        return plan_search(
            make_params(tune={"n_trials": 8}),
            *classification_data,
            storage=str(tmp_path / f"{name}.journal"),
        )

    def summary(outcome):
        return [
            (t.params, t.value, t.state.name)
            for t in outcome.trials()
            if not t.user_attrs.get("gdlab.interrupted")
        ]

    uninterrupted = run_search(plan("whole"))
    resumed = plan("resumed")
    real, calls = objective.fit_pipeline_rows, []

    def interrupted_in_trial_2(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2 * 3 + 2:  # the second fold of the third trial (3 folds each)
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(objective, "fit_pipeline_rows", interrupted_in_trial_2)
    with pytest.raises(KeyboardInterrupt):
        run_search(resumed)
    monkeypatch.setattr(objective, "fit_pipeline_rows", real)
    outcome = run_search(resumed)

    assert outcome.requeued == [2] and len(outcome.trials()) == 9
    assert summary(outcome) == summary(uninterrupted)
    assert outcome.best_params() == uninterrupted.best_params()


def test_the_study_is_named_by_what_a_trial_computes(classification_data):
    # cv.n_jobs (how many fold workers) changed the name, so the search started over
    X, y = classification_data

    def name(**changes):
        return plan_search(make_params(**changes), X, y, storage="unused.journal").spec.name

    assert name(cv={"n_jobs": 1}) == name(cv={"n_jobs": 2}) == name(live={"interval": 1.0})
    assert name(cv={"folds": 3}) != name(cv={"folds": 4})
    assert name(seed=1) != name(seed=2)


def test_a_search_says_each_trial_and_the_time_left_at_a_bounded_rate(
    tmp_path, classification_data, fake_clock, capsys
):
    """Not a terminal (CI is set): one line as each trial ends (state, score, best so far,
    k/n of the budget done, ETA) and, while a trial runs, an epoch line at most every
    LOG_EVERY seconds. The stage said nothing while a trial ran and gave no estimate."""
    from gdlab.experiment.progress import LOG_EVERY

    fake_clock.step = 1.0  # every reading of the progress clock (each epoch): a second later
    start = fake_clock.now
    X, y = classification_data
    plan = plan_search(make_params(**HALF_POOR), X, y, storage=str(tmp_path / "p.journal"))
    outcome = run_search(plan, progress="tune")
    elapsed = fake_clock.now - start
    err = capsys.readouterr().err.splitlines()
    ended = [line for line in err if line.startswith("tune: trial ")]
    running = [line for line in err if line.startswith("[tune: trial ")]
    assert len(ended) + len(running) == len(err)
    assert len(ended) == len(outcome.records) == 14
    states = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}
    for k, (line, record) in enumerate(zip(ended, outcome.records, strict=True), 1):
        assert line.startswith(f"tune: trial {record.number} {states[record.state]}")
        assert f"; {k}/14 done" in line
        assert ("ETA ~" in line) is (k < 14)  # from the first trial on, not after the last
        if record.state == "COMPLETE":
            assert f", {plan.metric} {record.value:.4g} (best " in line
    assert {"complete", "pruned"} <= {line.split(" ")[3].rstrip(",") for line in ended}
    best = outcome.best_trial
    last_best = [line for line in ended if "(best " in line][-1]
    assert last_best.split("(best ")[1].startswith(f"{best.value:.4g}, trial {best.number})")
    # a pruned trial's line says what the median pruner compared: the trial's best fold score
    # so far against the completed trials' median at that fold (checked here on its own), not
    # the best CV score, which read as if a better trial had been pruned
    trials = {t.number: t for t in outcome.trials()}
    pruned = [(line, r) for line, r in zip(ended, outcome.records, strict=True)
              if r.stopped_by == "pruner"]
    assert pruned
    for line, record in pruned:
        steps = sorted(trials[record.number].intermediate_values)
        own = min(trials[record.number].intermediate_values.values())
        median = np.median([t.intermediate_values[steps[-1]] for t in trials.values()
                            if t.state.name == "COMPLETE" and t.number < record.number])
        assert own > median
        fold = f"after fold {len(steps)}/{plan.params.cv.folds}"
        said = f"its {plan.metric} {own:.4g}" if len(steps) == 1 else \
            f"its best fold {plan.metric} so far, {own:.4g},"
        assert line.startswith(
            f"tune: trial {record.number} pruned (median pruner {fold}: {said} is worse than "
            "the completed trials' median there), ")
        assert "(best " not in line
    # the case the walkthrough met: a trial pruned with a fold score below the best CV score
    assert any(min(trials[r.number].intermediate_values.values()) < best.value
               for _, r in pruned)
    # the running trials spoke, at the bounded rate
    assert running and running[0].startswith("[tune: trial 0 fold ")
    assert len(running) <= elapsed / LOG_EVERY


def test_a_trial_the_wilcoxon_pruner_stops_says_what_it_tested(
    tmp_path, classification_data, capsys
):
    """The Wilcoxon pruner tests the trial's fold scores against the best trial's on the same
    folds: its line says so, with no best CV score next to it (checked with scipy on its own)."""
    from scipy.stats import wilcoxon

    X, y = classification_data
    params = make_params(**{**HALF_POOR, "tune": {**HALF_POOR["tune"], "pruner": "wilcoxon"}},
                         cv={"folds": 5})
    plan = plan_search(params, X, y, storage=str(tmp_path / "w.journal"))
    outcome = run_search(plan, progress="tune")
    ended = [line for line in capsys.readouterr().err.splitlines()
             if line.startswith("tune: trial ")]
    trials = {t.number: t for t in outcome.trials()}
    pruned = [(line, r) for line, r in zip(ended, outcome.records, strict=True)
              if r.stopped_by == "pruner"]
    assert pruned
    for line, record in pruned:
        values = trials[record.number].intermediate_values
        before = [t for t in trials.values()
                  if t.state.name == "COMPLETE" and t.number < record.number]
        best = min(before, key=lambda t: t.value)
        diff = [values[s] - best.intermediate_values[s] for s in sorted(values)]
        assert wilcoxon(diff, alternative="greater", zero_method="zsplit").pvalue < 0.1
        assert line.startswith(
            f"tune: trial {record.number} pruned (Wilcoxon pruner after fold {len(values)}/5: "
            "by a signed-rank test, its log_loss is worse than the best trial's on the same "
            "folds), ")
        assert "(best " not in line


def test_the_heat_map_times_each_cell_after_a_warm_up_epoch(tmp_path, classification_data,
                                                             monkeypatch):
    """The wall-time panel compares the cells' CV times: a worker's first fit paid the
    kernels' compilation and cache loading (7 s against 0.02 s for the same work), so one
    cell looked slow. Each heat-map trial now warms up before its first timed fit; a tuning
    search (scores only) does not spend the epoch per trial (it warms up once: see
    test_the_kernels_warm_up_before_the_first_trial_and_the_eta_clock)."""
    from gdlab.tuning import objective as objective_module
    from gdlab.tuning.search import plan_heatmap

    warmed = []
    monkeypatch.setattr(objective_module, "warm_up_rows",
                        lambda pipeline, X, y, train_idx, val_idx: warmed.append(len(train_idx)))
    X, y = classification_data
    params = make_params(tune={"heatmap": {"learning_rates": [0.01, 0.1], "batch_sizes": [32]}},
                         train={"max_epochs": 3})
    plan = plan_heatmap(params, X, y, storage=str(tmp_path / "heat.journal"))
    outcome = run_search(plan)
    assert len(outcome.trials()) == 2 and len(warmed) == 2  # once per cell, its first fold
    assert warmed[0] == len(plan.folds[0].train_idx)
    warmed.clear()
    run_search(plan_search(make_params(tune={"n_trials": 2}, train={"max_epochs": 3}), X, y,
                           storage=str(tmp_path / "tune.journal")))
    assert warmed == []


def test_the_heat_map_folds_the_tune_stage_hands_over_are_the_ones_it_would_make(
    tmp_path, classification_data
):
    """The tune stage gives the heat map the search's folds (not found again over all of X):
    they are the folds the heat map makes itself, index for index."""
    from gdlab.tuning.search import plan_heatmap

    X, y = classification_data
    X = np.vstack([X, X[:7]])  # copied rows: the folds keep them together
    y = np.concatenate([y, y[:7]])
    params = make_params()
    search = plan_search(params, X, y, storage=str(tmp_path / "a.journal"))
    own = plan_heatmap(params, X, y, storage=str(tmp_path / "b.journal"))
    handed = plan_heatmap(params, X, y, storage=str(tmp_path / "b.journal"), folds=search.folds)
    assert handed.folds is search.folds and handed.spec == own.spec
    for mine, theirs in zip(own.folds, search.folds, strict=True):
        np.testing.assert_array_equal(mine.train_idx, theirs.train_idx)
        np.testing.assert_array_equal(mine.val_idx, theirs.val_idx)


def test_a_smaller_budget_on_a_study_run_further_gives_what_a_new_study_gives(
    tmp_path, classification_data
):
    """A study an earlier run took to 5 trials, now asked for 2 (tune.n_trials lowered, the
    journal kept): the best trial was Optuna's best of all 5, so the tuned params (and the
    model) depended on a git-ignored journal rather than on the params."""
    from gdlab.tuning.study import counted

    X, y = classification_data
    tune = {"n_trials": 5, "pruner": "none", "seed": 2,  # its best trial is trial 2
            "space": {"optimizer.learning_rate": {"low": 1e-4, "high": 1.0, "log": True}}}
    shared = str(tmp_path / "shared.journal")
    run_search(plan_search(make_params(tune=tune), X, y, storage=shared))
    small = {**tune, "n_trials": 2}
    resumed = run_search(plan_search(make_params(tune=small), X, y, storage=shared))
    fresh = run_search(plan_search(make_params(tune=small), X, y,
                                   storage=str(tmp_path / "fresh.journal")))
    assert resumed.spent and resumed.records == [] and len(resumed.trials()) == 5
    everything = min((t for t in resumed.trials() if t.value is not None),
                     key=lambda t: t.value)
    assert everything.number >= 2, "pick learning rates whose best comes late"
    assert [(t.params, t.value) for t in resumed.budget_trials()] == [
        (t.params, t.value) for t in fresh.trials()]
    assert resumed.best_trial.number == fresh.best_trial.number
    assert resumed.best_params() == fresh.best_params()
    assert resumed.counts() == fresh.counts() == {"COMPLETE": 2}
    assert resumed.beyond_budget() == 3 and sum(counted(t) for t in resumed.trials()) == 5
    shown = resumed.budget_study()
    assert [t.number for t in shown.get_trials()] == [0, 1]
    assert (trials_table(shown, resumed.plan.space, 3)
            == trials_table(resumed.study, resumed.plan.space, 3)[:2])
    assert "3 more from a larger tune.n_trials: left out" in resumed.budget_note()


def test_trials_whose_batch_size_exceeds_the_folds_rows_are_said_once(
    tmp_path, classification_data
):
    """The trials' fits hid the estimator's warning: a search of batch sizes all above a small
    data set's folds said nothing. Now one BatchSizeWarning after the search names the
    searched key, the trials and the folds' training rows."""
    import re
    import warnings

    from gdlab import BatchSizeWarning

    X, y = (a[:45] for a in classification_data)  # 3 folds: 30 training rows each
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search(tmp_path, (X, y), "full-batch", tune={
            "n_trials": 3, "n_startup_trials": 3,
            "space": {"train.batch_size": {"choices": [16, 64, 128]}},
        })
    said = [str(w.message) for w in caught if issubclass(w.category, BatchSizeWarning)]
    assert len(said) == 1, said
    assert re.fullmatch(
        r"train\.batch_size \(tune\.space\): (64|128|64, 128) (is|are) above the training rows "
        r"of the fits of [1-3] of 3 trials \(30 rows\): every epoch is one full-batch step, "
        r"not mini-batches; lower train\.batch_size \(tune\.space\) below 30, or set it to "
        r"null for full batch", said[0]), said[0]


def test_two_hosts_starting_together_never_run_the_same_configuration(
    tmp_path, classification_data, monkeypatch
):
    """Two hosts search one shared study and start at the same moment: both read the study
    (no trial yet) before either asks for a trial. Each trial's sampler is seeded from the
    trial's own number in the storage, so the two first trials (and all later ones) propose
    different configurations; seeded from the count read before asking, both took slot 0
    and ran the same configuration side by side (8 distinct configurations of 10)."""
    import threading
    from contextlib import nullcontext

    import gdlab.tuning.search as search_module
    from gdlab.tuning.objective import DUPLICATE_OF
    from gdlab.tuning.study import OWNER

    # each host holds its own machine's lock: here, none shared between the two
    monkeypatch.setattr(search_module, "study_lock", lambda spec: nullcontext())
    together, first = threading.Barrier(2, timeout=60), threading.local()
    asking = optuna.Study.ask

    def ask_together(self, *args, **kwargs):
        if not getattr(first, "done", False):  # each host's first trial: both at once
            first.done = True
            together.wait()
        return asking(self, *args, **kwargs)

    monkeypatch.setattr(optuna.Study, "ask", ask_together)
    params = make_params(tune={"n_trials": 6, "pruner": "none", "n_startup_trials": 2})
    storage = str(tmp_path / "shared.journal")
    plans = [plan_search(params, *classification_data, storage=storage) for _ in range(2)]
    for plan, host in zip(plans, ("hostA", "hostB"), strict=True):
        plan.owner = host
    plans[0].spec.create()
    outcomes: list = []
    hosts = [
        threading.Thread(target=lambda p=plan: outcomes.append(run_search(p))) for plan in plans
    ]
    for host in hosts:
        host.start()
    for host in hosts:
        host.join(120)
    assert len(outcomes) == 2
    trials = outcomes[0].study.get_trials()
    assert {t.user_attrs[OWNER] for t in trials} == {"hostA", "hostB"}
    configs = [tuple(sorted(t.params.items())) for t in trials]
    assert len(trials) >= 6 and len(set(configs)) == len(trials), configs
    assert not any(DUPLICATE_OF in t.user_attrs for t in trials)


def test_a_search_that_waited_for_another_on_this_machine_says_that_one_spent_the_budget(
    tmp_path, classification_data
):
    """Two searches of one study on this machine (two tune.py runs at once): the second
    waits on the study's lock while the first runs the budget, then runs nothing. It said
    the budget was spent 'in earlier runs', though the first ran at the same time; it now
    says which trials the search holding the lock ran while it waited."""
    import threading

    params = make_params(tune={"n_trials": 3, "pruner": "none"})
    storage = str(tmp_path / "same-machine.journal")
    plans = [plan_search(params, *classification_data, storage=storage) for _ in range(2)]
    first_done, outcomes = threading.Event(), {}

    def first_search():
        outcomes["first"] = run_search(plans[0], lambda record: first_done.set())

    first = threading.Thread(target=first_search)
    first.start()
    assert first_done.wait(120)  # its first trial is over; it holds the lock for two more
    outcomes["second"] = run_search(plans[1])  # waits for the lock, then finds nothing to do
    first.join(120)
    assert len(outcomes["first"].records) == 3 and outcomes["second"].records == []
    note = outcomes["second"].budget_note()
    assert note.startswith(
        f"study {plans[1].spec.name} has spent its budget (tune.n_trials: 3; 3 trials "
        "counted), 1 before this run started with the same params, data and code and 2 by "
        "another search on this machine that held the study's lock while this run waited for "
        "it: no trial ran now"
    ), note
    assert "earlier runs" not in note
    assert run_search(plans[1]).budget_note().startswith(  # run again later: all earlier
        f"study {plans[1].spec.name} has spent its budget (tune.n_trials: 3; 3 trials "
        "counted) in earlier runs with the same params"
    )


def test_the_kernels_warm_up_before_the_first_trial_and_the_eta_clock(
    tmp_path, classification_data, monkeypatch
):
    """Trial 0's fit_time_s held the kernels' one-off compilation (27 s against 1 s for trial
    1 on a first dvc repro) and its ETA line said ~5m for a 38 s search: only the heat map
    warmed up. A search now runs one untimed epoch of params.yaml's configuration on the
    first fold's rows before its progress clock starts and before any trial fits, once per
    process (a second search in it does not warm up again)."""
    from gdlab.experiment import model as model_module
    from gdlab.tuning import objective as objective_module
    from gdlab.tuning import search as search_module

    events: list[tuple[str, int | None]] = []
    monkeypatch.setattr(model_module, "_WARMED", set())  # this process has warmed nothing
    monkeypatch.setattr(model_module, "warm_up_rows",
                        lambda pipeline, X, y, train_idx, val_idx=None:
                        events.append(("warm up", len(train_idx))))
    fit = objective_module.fit_pipeline_rows
    monkeypatch.setattr(objective_module, "fit_pipeline_rows",
                        lambda *a, **k: events.append(("trial fit", None)) or fit(*a, **k))
    progress = search_module.TrialProgress
    monkeypatch.setattr(search_module, "TrialProgress",
                        lambda *a, **k: events.append(("eta clock", None)) or progress(*a, **k))
    X, y = classification_data
    params = make_params(tune={"n_trials": 2}, train={"max_epochs": 3})
    plan = plan_search(params, X, y, storage=str(tmp_path / "warm.journal"))
    run_search(plan, progress="tune")
    assert events[:3] == [("warm up", len(plan.folds[0].train_idx)), ("eta clock", None),
                          ("trial fit", None)]
    assert [e for e in events if e[0] == "warm up"] == [events[0]]  # once
    events.clear()
    run_search(plan_search(params, X, y, storage=str(tmp_path / "again.journal")))
    assert events and ("warm up", len(plan.folds[0].train_idx)) not in events


def test_a_timeout_is_the_studys_budget_so_a_rerun_runs_nothing_and_a_larger_one_continues(
    tmp_path, classification_data
):
    """n_trials: null, timeout: 6, run twice unchanged: the second run searched 6 s more
    (33 trials) and handed train another learning rate. The time the study's runs used is
    now kept in the study: a rerun finds the budget spent, as with n_trials."""
    X, y = classification_data
    storage = str(tmp_path / "timeout.journal")

    def rerun(timeout):
        params = make_params(train={"max_epochs": 3},
                             tune={"n_trials": None, "timeout": timeout, "pruner": "none"})
        return run_search(plan_search(params, X, y, storage=storage))

    first = rerun(1.0)
    assert first.records and not first.spent and first.budget_note() is None
    ran = len(first.trials())
    second = rerun(1.0)
    assert second.records == [] and second.spent
    assert len(second.trials()) == ran

    from gdlab.tuning.study import seconds_used

    used = seconds_used(first.study)
    assert used >= 1.0
    assert second.best_trial.number == first.best_trial.number
    assert second.best_params() == first.best_params()
    assert second.budget_note().startswith(
        f"study {second.plan.spec.name} has spent its budget (tune.timeout: 1s; {used:.1f}s "
        f"used, {ran} trials counted) in earlier runs with the same params, "
        "data and code: no trial ran now, the best of those trials is reported; raise "
        "tune.timeout to run more"
    ), second.budget_note()
    assert seconds_used(second.study) == used  # a spent run adds nothing
    third = rerun(used + 1.0)
    assert third.records and not third.spent
    assert third.records[0].number == ran
    assert seconds_used(third.study) >= used + 1.0


def test_the_searchs_folds_keep_a_rows_copies_on_its_side(tmp_path, classification_data):
    """The tune stage's folds held copies of a row on both sides of a fold."""
    X, y = classification_data
    rows = np.random.default_rng(0).permutation(np.r_[np.arange(len(y)), np.arange(90)])
    plan = plan_search(make_params(), X[rows], y[rows], storage=str(tmp_path / "c.journal"))
    assert len(plan.folds) == plan.params.cv.folds
    for fold in plan.folds:
        assert not np.intersect1d(rows[fold.train_idx], rows[fold.val_idx]).size


def test_with_n_trials_a_timeout_caps_each_run_and_is_not_the_studys_budget(
    tmp_path, classification_data
):
    """n_trials 20 without a timeout, then n_trials 40 with timeout 1 s on the same study: the
    second ran no trial ('has spent its budget (tune.timeout: 1s; 1.9s used ...)'), the first
    run's seconds counted against a timeout it never had. With n_trials set, n_trials is the
    study's budget (raising it extends the study) and the timeout caps each run; the seconds
    are kept for a timeout-only search alone."""
    from gdlab.tuning.study import SECONDS_USED

    X, y = classification_data
    storage = str(tmp_path / "budget.journal")

    def run(n_trials, timeout):
        params = make_params(train={"max_epochs": 3},
                             tune={"n_trials": n_trials, "timeout": timeout, "pruner": "none"})
        return run_search(plan_search(params, X, y, storage=storage))

    first = run(4, None)
    assert len(first.records) == 4
    assert SECONDS_USED not in first.study.user_attrs  # no timeout: no time budget to count
    second = run(40, 1.0)
    assert not second.spent and not second.out_of_time and second.budget_note() is None
    assert second.records and second.records[0].number == 4
    assert len(second.records) < 36  # the timeout capped this run
    assert SECONDS_USED not in second.study.user_attrs
    third = run(8, 1.0)  # the study holds more than 8: n_trials, not the timeout, is spent
    assert third.spent and not third.out_of_time and third.records == []
    assert "(tune.n_trials: 8; 8 trials counted)" in third.budget_note()


@pytest.mark.parametrize(
    "task,metric",
    [("classification", "roc_auc"), ("regression", "r2")],
)
def test_a_maximised_metric_picks_the_trial_optuna_calls_best(
    tmp_path, classification_data, task, metric
):
    X, y = classification_data
    if task == "regression":  # a linear target the learning rates fit unequally well
        y = X @ np.array([1.0, -0.4, 2.0, 0.0, 0.3, -1.0]) + np.random.default_rng(5).normal(
            size=len(X))
    # plain SGD over 1e-5 .. 0.3 in 15 epochs: trials from barely moved to well fitted
    outcome = search(
        tmp_path, (X, y), f"max-{metric}",
        model={"task": task}, optimizer={"name": "sgd", "learning_rate": 0.01},
        tune={"metric": metric, "n_trials": 6, "pruner": "none",
              "space": {"optimizer.learning_rate": {"low": 1e-5, "high": 0.3, "log": True}}},
    )
    assert outcome.plan.greater_is_better
    assert outcome.study.direction == optuna.study.StudyDirection.MAXIMIZE
    values = [t.value for t in outcome.trials() if t.state.name == "COMPLETE"]
    assert max(values) - min(values) > 1e-3, values  # the best and the worst differ
    # Optuna's own choice is the reference
    assert outcome.best_trial.number == outcome.study.best_trial.number
    assert outcome.best_trial.value == outcome.study.best_value == max(values)
    assert outcome.best_params() == outcome.plan.space.active(outcome.study.best_trial.params)
