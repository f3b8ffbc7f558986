"""Nested runs end with their parent run: whatever stops a stage between a nested run's creation
and its normal finish, it ends with the parent's status (FAILED, or KILLED for Ctrl-C/SIGTERM),
never RUNNING for good; and a later stage's orphan pass ends the nested runs a parent that has
ended left RUNNING."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient

from gdlab.experiment.compare import Comparison, Variant, VariantFold
from gdlab.tracking import FAILURE_KIND_TAG, FAILURE_TAG, pipeline_run
from gdlab.tracking.compare import log_comparison
from gdlab.tracking.live import live_fold_runs
from gdlab.tracking.orphans import end_orphans
from gdlab.tracking.runs import RunInterrupted
from gdlab.tuning.objective import TrialRecord
from gdlab.tuning.tracking import TrialLogger

REPO = Path(__file__).resolve().parents[2]

STOPS = {  # what stops the stage -> (what leaves pipeline_run, the parent's status)
    "error": (lambda: ValueError("the model holds <lambda>"), ValueError, "FAILED"),
    "sigterm": (lambda: RunInterrupted(signal.SIGTERM), SystemExit, "KILLED"),
    "sigint": (lambda: RunInterrupted(signal.SIGINT), SystemExit, "KILLED"),
    "ctrl-c": (KeyboardInterrupt, KeyboardInterrupt, "KILLED"),
}


def _statuses(client, run_ids):
    return [client.get_run(r).info.status for r in run_ids]


@pytest.mark.parametrize("stop", list(STOPS))
def test_fold_runs_end_with_the_parent_when_the_stage_stops_after_training(session, stop):
    """The train stage saves the model after the training block has closed and before
    log_fold_runs finishes the fold runs: a model save_model refuses (a ``<lambda>``
    schedule), or a signal there, ended the parent and left the fold runs RUNNING for good."""
    raised, leaves, status = STOPS[stop]
    client = session.client
    with pytest.raises(leaves):
        with pipeline_run(experiment_id=session.experiment_id, run_name="after",
                          uri=session.uri) as run:
            with live_fold_runs(
                client, session.experiment_id, run.info.run_id, range(1, 4), interval=None
            ) as live:
                fold_ids = list(live.fold_run_ids.values())
            assert _statuses(client, fold_ids) == ["RUNNING"] * 3  # training has returned
            raise raised()
    parent = client.get_run(run.info.run_id)
    assert parent.info.status == status
    for fold in (client.get_run(r) for r in fold_ids):
        assert fold.info.status == status and fold.info.end_time is not None
        # the parent's reason, where it has one (a signal, an error; not a bare Ctrl-C)
        assert fold.data.tags.get(FAILURE_TAG) == parent.data.tags.get(FAILURE_TAG)
        assert fold.data.tags.get(FAILURE_KIND_TAG) == parent.data.tags.get(FAILURE_KIND_TAG)
    if stop == "error":
        assert parent.data.tags[FAILURE_TAG] == "ValueError: the model holds <lambda>"
        assert parent.data.tags[FAILURE_KIND_TAG] == "error"


class _InterruptedCreate:
    """A client whose ``create_run`` number ``at`` raises RunInterrupted(SIGTERM)."""

    def __init__(self, client, at):
        self._client, self._left = client, at

    def __getattr__(self, name):
        return getattr(self._client, name)

    def create_run(self, *args, **kwargs):
        self._left -= 1
        if self._left == 0:
            raise RunInterrupted(signal.SIGTERM)
        return self._client.create_run(*args, **kwargs)


def test_fold_runs_made_before_a_signal_while_creating_them_end_killed(session):
    client = session.client
    with pytest.raises(SystemExit):
        with pipeline_run(experiment_id=session.experiment_id, run_name="creating") as run:
            with live_fold_runs(_InterruptedCreate(client, 3), session.experiment_id,
                                run.info.run_id, range(1, 4), interval=None):
                pytest.fail("the block is never entered")
    folds = client.search_runs(
        [session.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    )
    assert sorted(f.data.tags["gdlab.fold"] for f in folds) == ["1", "2"]
    assert {f.info.status for f in folds} == {"KILLED"}
    assert client.get_run(run.info.run_id).info.status == "KILLED"


SIGTERM_AFTER_TRAINING = """
import sys, time
from gdlab.tracking import open_session, pipeline_run
from gdlab.tracking.live import live_fold_runs
s = open_session({uri!r}, "tests")
with pipeline_run(experiment_id=s.experiment_id, run_name="sigterm", uri=s.uri) as run:
    with live_fold_runs(s.client, s.experiment_id, run.info.run_id, range(1, 4),
                        interval=None) as live:
        pass  # training returned; the model is being saved when SIGTERM comes
    print(run.info.run_id, *live.fold_run_ids.values(), flush=True)
    time.sleep(60)
"""


def test_a_real_sigterm_after_training_ends_the_fold_runs_killed(session, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGTERM_AFTER_TRAINING.format(uri=session.uri)],
        stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )
    try:
        parent, *folds = proc.stdout.readline().split()
        assert len(folds) == 3, "the child did not start its runs"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    client = session.client
    assert _statuses(client, [parent, *folds]) == ["KILLED"] * 4
    assert {client.get_run(f).data.tags[FAILURE_KIND_TAG] for f in folds} == {"interrupted"}


class _StopOnBatch:
    """A client whose ``log_batch`` raises ``exc`` (the nested run's data being sent)."""

    def __init__(self, client, exc):
        self._client, self._exc = client, exc

    def __getattr__(self, name):
        return getattr(self._client, name)

    def log_batch(self, *args, **kwargs):
        raise self._exc


def _log_trial(client, experiment_id, parent_id):
    logger = TrialLogger(client, experiment_id, parent_id, "study", f"uid-{parent_id}", "rmse")
    logger.log(TrialRecord(number=0, state="COMPLETE", value=0.5, params={"lr": 0.1},
                           fold_scores=[0.5], curves={"train_loss": [1.0, 0.5]}))


def _log_variant(client, experiment_id, parent_id):
    fold = VariantFold(1, {"train_loss": [1.0, 0.5], "time_s": [0.1, 0.2]}, False, 0.2)
    comparison = Comparison("optimizer.name", [Variant("sgd", "sgd", None, [fold])])
    log_comparison(client, experiment_id, parent_id, comparison, flat_params={"sgd": {"a": 1}})


@pytest.mark.parametrize("logger", [_log_trial, _log_variant], ids=["trial", "variant"])
@pytest.mark.parametrize(
    "exc,status",
    [(RunInterrupted(signal.SIGTERM), "KILLED"), (RuntimeError("store gone"), "FAILED")],
    ids=["sigterm", "error"],
)
def test_trial_and_variant_runs_end_with_the_parent_status(session, logger, exc, status):
    """tune and compare log each nested run whole (create, data, end); a stop while sending
    its data ended it FAILED, also on SIGTERM where the parent ends KILLED."""
    client = session.client
    with pytest.raises(SystemExit if status == "KILLED" else RuntimeError):
        with pipeline_run(experiment_id=session.experiment_id, run_name="logging") as run:
            logger(_StopOnBatch(client, exc), session.experiment_id, run.info.run_id)
    (child,) = client.search_runs(
        [session.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    )
    assert child.info.status == client.get_run(run.info.run_id).info.status == status


def test_the_orphan_pass_ends_nested_runs_a_parent_that_ended_left_running(store, monkeypatch):
    """Nested runs RUNNING under an ended parent (left by an earlier gdlab, or when the store
    failed as the stage stopped) end with the parent's status (KILLED under a FINISHED one),
    tagged lost; nested runs of a RUNNING parent and finished ones are left alone."""
    from gdlab.tracking import open_session

    monkeypatch.chdir(store)
    session = open_session(None, "orphan-children")
    client, exp = session.client, session.experiment_id

    def family(parent_status, n=2, finished=0):
        parent = client.create_run(exp).info.run_id
        kids = [client.create_run(exp, tags={"mlflow.parentRunId": parent}).info.run_id
                for _ in range(n + finished)]
        for kid in kids[n:]:
            client.set_terminated(kid, "FINISHED")
        if parent_status != "RUNNING":
            client.set_terminated(parent, parent_status)
        return parent, kids[:n], kids[n:]

    failed, failed_kids, done_kids = family("FAILED", finished=1)
    killed, killed_kids, _ = family("KILLED")
    finished, finished_kids, _ = family("FINISHED", n=1)
    running, running_kids, _ = family("RUNNING")
    ended = end_orphans(client, exp)

    assert sorted(ended) == sorted(failed_kids + killed_kids + finished_kids)
    assert _statuses(client, failed_kids) == ["FAILED"] * 2
    assert _statuses(client, killed_kids) == ["KILLED"] * 2
    assert _statuses(client, finished_kids) == ["KILLED"]
    assert _statuses(client, done_kids + running_kids) == ["FINISHED", "RUNNING", "RUNNING"]
    kid = client.get_run(failed_kids[0])
    assert kid.data.tags[FAILURE_KIND_TAG] == "lost" and kid.info.end_time is not None
    assert f"its parent run {failed} ended FAILED" in kid.data.tags[FAILURE_TAG]
    # a stage starting its run pays one search of the RUNNING runs, and no read of a
    # parent that is running (the pass made a second search and read every such parent)
    calls = []

    class Counting:
        def __getattr__(self, name):
            calls.append(name)
            return getattr(client, name)

    assert end_orphans(Counting(), exp) == []
    assert calls == ["search_runs"], calls
    client.set_terminated(running, "KILLED")
    for run_id in running_kids:  # not to leave RUNNING runs in the module's store
        client.set_terminated(run_id, RunStatus.to_string(RunStatus.KILLED))


LAMBDA_SCHEDULE = """
def lambda_schedule(base_lr):
    return lambda epoch: base_lr
"""


def test_train_stage_whose_model_cannot_be_saved_ends_its_fold_runs_failed(tmp_path, monkeypatch):
    """The real train stage with a plug-in schedule returning a lambda: training succeeds,
    save_model refuses the model (skops could write it but never load it back), the stage
    fails; its run and all its fold runs end FAILED with that reason."""
    from gdlab.config import validate_params
    from gdlab.data import prepare_dataset

    (tmp_path / ".dvc").mkdir()
    (tmp_path / "lambda_plugins.py").write_text(LAMBDA_SCHEDULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("GDLAB_JIT", "0")
    monkeypatch.chdir(tmp_path)
    params = {
        "data": {"synthetic": {"n_samples": 300, "n_features": 4, "n_informative": 3}},
        "schedule": {"name": "lambda_plugins:lambda_schedule"},
        "train": {"max_epochs": 5, "tol": None},
        "cv": {"folds": 3, "n_jobs": 1},
        "tracking": {"uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "experiment": "lambda"},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    prepare_dataset(validate_params(params), tmp_path / "data" / "prepared")
    spec = importlib.util.spec_from_file_location("train_stage", REPO / "pipeline" / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    with pytest.raises(ValueError, match=r"<lambda>, which could be written but never loaded"):
        module.main(["--models", str(tmp_path / "models"), "--reports", str(tmp_path / "rep")])

    client = MlflowClient(tracking_uri=params["tracking"]["uri"])
    exp = client.get_experiment_by_name("lambda").experiment_id
    runs = client.search_runs([exp])
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    folds = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.info.status == "FAILED"
    assert sorted(f.data.tags["gdlab.fold"] for f in folds) == ["1", "2", "3"]
    assert {f.info.status for f in folds} == {"FAILED"}
    assert {f.data.tags[FAILURE_TAG] for f in folds} == {parent.data.tags[FAILURE_TAG]}
    assert not (tmp_path / "models" / "model.skops").exists()

