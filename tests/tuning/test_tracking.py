"""MLflow runs of a study's trials: each trial logged once, by whichever search ran it, even when
searches on several hosts share the study and log to one tracking store."""

from __future__ import annotations

import uuid

import optuna
import pytest
from mlflow.tracking import MlflowClient

from gdlab.config import with_overrides
from gdlab.experiment import FitOutcome, build_pipeline, cross_validate, make_folds
from gdlab.tracking import log_training
from gdlab.tuning import plan_search, run_search
from gdlab.tuning.objective import TrialRecord
from gdlab.tuning.study import OWNER
from gdlab.tuning.tracking import TrialLogger

from .conftest import make_params

CURVE = [0.9, 0.6, 0.5, 0.45]


def finished_trial(study: optuna.Study, owner: str, value: float) -> TrialRecord:
    """A trial ``owner``'s search ran, and the record it logs (with its curves)."""
    trial = study.ask()
    trial.suggest_float("optimizer.learning_rate", 1e-3, 1.0, log=True)
    trial.set_user_attr(OWNER, owner)
    study.tell(trial, value)
    return TrialRecord(
        number=trial.number, state="COMPLETE", value=value, params=dict(trial.params),
        fold_scores=[value], curves={"val_loss": CURVE}, study=study.study_name,
    )


def test_a_trial_another_host_logged_is_not_logged_again_and_is_named_best(session):
    """Hosts A and B search one study and log to one store, both loggers opened before any
    trial ran. B's trial 0 is the best. A's end-of-search pass over the study logged it again
    as an empty run (no curves, 2 runs for 1 trial) and named that one the best trial's run;
    now it finds B's run by the study uid and trial number tags and names it."""
    client = session.client
    study = optuna.create_study(direction="minimize")
    uid = uuid.uuid4().hex

    def logger(host: str) -> TrialLogger:
        parent = client.create_run(session.experiment_id, run_name=f"tune-{host}").info.run_id
        return TrialLogger(client, session.experiment_id, parent, study.study_name, uid, "loss")

    host_a, host_b = logger("hostA"), logger("hostB")
    theirs = host_b.log(finished_trial(study, "hostB", 0.25))
    mine = host_a.log(finished_trial(study, "hostA", 0.5))

    assert host_a.log_missing(study.get_trials()) == []
    assert host_b.log_missing(study.get_trials()) == []
    runs = client.search_runs(
        [session.experiment_id], filter_string=f"tags.gdlab.study_uid = '{uid}'"
    )
    assert sorted(r.info.run_id for r in runs) == sorted([theirs, mine])
    assert host_a.mark_best(0) == theirs
    best = MlflowClient(session.uri).get_run(theirs)
    assert best.data.tags["gdlab.best_trial"] == "true"
    history = client.get_metric_history(theirs, "val_loss")
    assert [m.value for m in sorted(history, key=lambda m: m.step)] == CURVE


def test_only_this_hosts_unlogged_trials_are_logged_at_the_end(session):
    """A finished trial no run holds yet: this host's (its search was killed before logging
    it) is logged from the study; another host's is left to that host, which logs it with its
    curves as it finishes (or on its next run)."""
    client = session.client
    study = optuna.create_study(direction="minimize")
    uid = uuid.uuid4().hex
    parent = client.create_run(session.experiment_id, run_name="tune").info.run_id
    logger = TrialLogger(client, session.experiment_id, parent, study.study_name, uid, "loss")
    finished_trial(study, "hostB", 0.25)  # B is still to log it
    finished_trial(study, "hostA", 0.5)  # A's earlier run was killed before logging it

    logged = logger.log_missing(study.get_trials(), owner="hostA")
    assert len(logged) == 1
    assert client.get_run(logged[0]).data.tags["gdlab.trial_number"] == "1"
    assert logger.mark_best(0) is None  # no run holds trial 0 yet


def test_a_trial_run_logs_its_cv_score_under_the_train_runs_names(
    tmp_path, classification_data, session
):
    """A trial run logged its CV score as ``cv_log_loss`` while the train run logs the same
    quantity as ``cv_log_loss_mean`` / ``cv_log_loss_std``: selected together in the MLflow UI
    (Compare, or the runs table sorted by the score) it sat in two columns. Now a trial run
    logs the train run's keys, with the values the train stage's cross-validation gives for
    the same parameters on the same folds, and one filter or sort over the metric finds both."""
    params = make_params(tune={"n_trials": 2, "pruner": "none"})
    X, y = classification_data
    plan = plan_search(params, X, y, storage=str(tmp_path / "names.journal"))
    client = session.client
    tune = client.create_run(session.experiment_id, run_name="tune").info.run_id
    uid = plan.spec.create().user_attrs["gdlab.uid"]
    logger = TrialLogger(client, session.experiment_id, tune, plan.spec.name, uid, "log_loss")
    outcome = run_search(plan, logger.log)
    best = outcome.best_trial
    trial_run = client.get_run(logger.run_ids[best.number])

    # the train stage on the best trial's parameters: its CV and its parent run's metrics
    settings = with_overrides(plan.params, {**best.params, "tune.enabled": False})
    folds = make_folds(y, settings.cv.folds, task="classification", seed=settings.seed)
    cv = cross_validate(build_pipeline(settings), X, y, folds, task="classification",
                        progress=False)
    train = client.create_run(session.experiment_id, run_name="train").info.run_id
    log_training(client, train, cv, FitOutcome(None, 1, {"train_loss": [0.5]}, 0.0))
    train_run = client.get_run(train)

    def cv_score(metrics):
        return {k: v for k, v in metrics.items() if k.startswith("cv_log_loss")}

    trial_score, train_score = cv_score(trial_run.data.metrics), cv_score(train_run.data.metrics)
    assert set(trial_score) == set(train_score) == {"cv_log_loss_mean", "cv_log_loss_std"}
    assert trial_score == pytest.approx(train_score, rel=1e-9)
    assert trial_score["cv_log_loss_mean"] == pytest.approx(best.value)

    found = client.search_runs(
        [session.experiment_id],
        filter_string="metrics.cv_log_loss_mean > 0",
        order_by=["metrics.cv_log_loss_mean ASC"],
        max_results=1000,
    )
    assert {trial_run.info.run_id, train} <= {r.info.run_id for r in found}
