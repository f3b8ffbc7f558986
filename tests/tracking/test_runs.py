"""Parent/fold runs, FAILED with a reason on exceptions, KILLED on SIGTERM."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import mlflow
import numpy as np
import pytest

from gdlab.experiment import CVResult, FitOutcome, FoldResult
from gdlab.tracking import (
    FAILURE_KIND_TAG,
    FAILURE_TAG,
    log_fold_runs,
    log_training,
    pipeline_run,
)
from gdlab.tracking.live import live_fold_runs
from gdlab.tracking.runs import RunInterrupted


def _cv(n_folds=3, n_iter=7):
    folds = [
        FoldResult(
            fold=k,
            n_train=80,
            n_val=20,
            n_iter=n_iter,
            curves={
                "train_loss": list(np.linspace(1, 0.1, n_iter)),
                "val_loss": list(np.linspace(1.2, 0.2, n_iter)),
                "learning_rate": [0.01] * n_iter,
                "grad_norm": list(np.linspace(3, 0.5, n_iter)),
            },
            scores={"rmse": 0.5 + k, "mae": 0.4, "r2": 0.9},
            fit_time=0.1,
        )
        for k in range(1, n_folds + 1)
    ]
    return CVResult(task="regression", folds=folds)


def test_parent_with_nested_fold_runs(session):
    client = session.client
    cv = _cv()
    refit = FitOutcome(model=None, n_iter=7, curves=cv.folds[0].curves, fit_time=0.2)
    with pipeline_run(experiment_id=session.experiment_id, run_name="parent") as run:
        parent = run.info.run_id
        fold_ids = log_fold_runs(client, session.experiment_id, parent, cv, {"seed": 1})
        log_training(client, parent, cv, refit)
    assert client.get_run(parent).info.status == "FINISHED"
    children = client.search_runs(
        [session.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent}'"
    )
    assert sorted(r.info.run_id for r in children) == sorted(fold_ids)
    for child in children:
        assert child.info.status == "FINISHED"
        assert child.data.params["seed"] == "1"
        for key in ("train_loss", "val_loss", "learning_rate", "grad_norm"):
            history = client.get_metric_history(child.info.run_id, key)
            assert [m.step for m in history] == list(range(7))
        assert child.data.metrics["n_iter"] == 7
    parent_metrics = client.get_run(parent).data.metrics
    assert parent_metrics["cv_rmse_mean"] == pytest.approx(2.5)
    assert len(client.get_metric_history(parent, "train_loss")) == 7


def test_each_point_of_a_curve_is_stamped_when_its_epoch_ended(session):
    """MLflow's wall-time and relative-time axes: every point of a curve had the logging
    time, so a curve collapsed to one instant."""
    client = session.client
    cv = _cv(n_folds=2, n_iter=5)
    t0 = time.time() - 100.0
    for k, fold in enumerate(cv.folds):
        fold.epoch_ends = [t0 + 10 * k + 0.25 * e for e in range(5)]
        fold.fit_time = 1.2  # the epochs span 1 s of it
    refit = FitOutcome(model=None, n_iter=5, curves=cv.folds[0].curves, fit_time=1.0,
                       epoch_ends=[t0 + 50 + 0.5 * e for e in range(5)])
    with pipeline_run(experiment_id=session.experiment_id) as run:
        parent = run.info.run_id
        fold_ids = log_fold_runs(client, session.experiment_id, parent, cv, {"seed": 1},
                                 logged={})
        log_training(client, parent, cv, refit, logged=2)  # epochs 0, 1 were streamed live
    for run_id, fold in zip(fold_ids, cv.folds, strict=True):
        for key in ("train_loss", "grad_norm"):
            history = sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)
            assert [m.timestamp for m in history] == [int(t * 1000) for t in fold.epoch_ends]
        # the run starts when its fit did, before its first point
        assert client.get_run(run_id).info.start_time <= int(fold.epoch_ends[0] * 1000)
    history = sorted(client.get_metric_history(parent, "train_loss"), key=lambda m: m.step)
    assert [m.step for m in history] == [2, 3, 4]
    assert [m.timestamp for m in history] == [int(t * 1000) for t in refit.epoch_ends[2:]]


def test_exception_marks_run_failed_with_reason(session):
    with pytest.raises(ZeroDivisionError):
        with pipeline_run(experiment_id=session.experiment_id, run_name="boom") as run:
            1 / 0  # noqa: B018
    finished = session.client.get_run(run.info.run_id)
    assert finished.info.status == "FAILED"
    assert finished.data.tags[FAILURE_TAG].startswith("ZeroDivisionError")


def test_resume_keeps_one_run(session):
    with pipeline_run(experiment_id=session.experiment_id, run_name="resume") as run:
        mlflow.log_metric("a", 1.0)
    with pipeline_run(run_id=run.info.run_id):
        mlflow.log_metric("b", 2.0)
    data = session.client.get_run(run.info.run_id)
    assert data.info.status == "FINISHED" and set(data.data.metrics) >= {"a", "b"}


def test_resumed_run_that_succeeds_drops_the_failure_of_an_earlier_attempt(session):
    # a run that did not finish (a finished one stays FINISHED: tests/tracking/test_reopen.py)
    with pytest.raises(ZeroDivisionError):
        with pipeline_run(experiment_id=session.experiment_id, run_name="retry") as run:
            mlflow.log_metric("a", 1.0)
            1 / 0  # noqa: B018
    failed = session.client.get_run(run.info.run_id)
    assert failed.info.status == "FAILED" and FAILURE_TAG in failed.data.tags
    with pipeline_run(run_id=run.info.run_id):  # its rerun succeeds
        mlflow.log_metric("b", 2.0)
    data = session.client.get_run(run.info.run_id)
    assert data.info.status == "FINISHED"
    assert not {FAILURE_TAG, FAILURE_KIND_TAG} & set(data.data.tags)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_marks_run_killed(session, sig, tmp_path):
    script = textwrap.dedent(
        f"""
        import sys, time
        from gdlab.tracking import open_session, pipeline_run
        s = open_session({session.uri!r}, "tests")
        with pipeline_run(experiment_id=s.experiment_id, run_name="killme") as run:
            print(run.info.run_id, flush=True)
            time.sleep(60)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    run_id = proc.stdout.readline().strip()
    assert run_id, "child did not start a run"
    time.sleep(0.3)
    proc.send_signal(sig)
    assert proc.wait(timeout=30) == 128 + sig
    assert session.client.get_run(run_id).info.status == "KILLED"


HOLDER = """
import os, signal, sys, time
from gdlab.tracking import open_session, pipeline_run
s = open_session({uri!r}, {experiment!r})
with pipeline_run(experiment_id=s.experiment_id, run_name=sys.argv[1]) as run:
    fold = s.client.create_run(s.experiment_id, tags={{"mlflow.parentRunId": run.info.run_id}})
    print(run.info.run_id, fold.info.run_id, flush=True)
    if sys.argv[1] == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)  # no handler runs: both stay RUNNING
    time.sleep(60)
"""


def test_runs_of_a_process_killed_for_good_are_ended_by_the_next_run(session, tmp_path):
    """SIGKILL (or the OOM killer) leaves a run and its nested runs RUNNING; the next new run
    in the experiment ends them KILLED with the reason, and leaves a live process's run alone."""
    client = session.client
    script = HOLDER.format(uri=session.uri, experiment="tests")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    def start(name):
        return subprocess.Popen(
            [sys.executable, "-c", script, name], stdout=subprocess.PIPE, text=True, env=env,
            cwd=tmp_path,
        )

    # one after the other: a holder's own new run ends the runs of a process already dead
    alive = start("alive")
    killed = None
    try:
        live_ids = alive.stdout.readline().split()
        killed = start("sigkill")
        dead_ids = killed.stdout.readline().split()
        assert killed.wait(timeout=60) == -signal.SIGKILL
        assert len(dead_ids) == len(live_ids) == 2
        assert {client.get_run(r).info.status for r in dead_ids + live_ids} == {"RUNNING"}

        with pipeline_run(experiment_id=session.experiment_id, run_name="next"):
            pass

        for run_id in dead_ids:
            run = client.get_run(run_id)
            assert run.info.status == "KILLED" and run.info.end_time is not None
            assert run.data.tags[FAILURE_KIND_TAG] == "lost"
            assert f"pid {killed.pid}" in run.data.tags[FAILURE_TAG]
            # also what a stage that lost its store leaves (it could not end its runs)
            assert "or the tracking store was unreachable" in run.data.tags[FAILURE_TAG]
        assert {client.get_run(r).info.status for r in live_ids} == {"RUNNING"}
    finally:
        alive.send_signal(signal.SIGTERM)
        alive.wait(timeout=30)
        if killed is not None:
            killed.kill()
    assert client.get_run(live_ids[0]).info.status == "KILLED"  # by its own handler


@pytest.mark.parametrize(
    "raised,status",
    [
        (lambda: RunInterrupted(signal.SIGTERM), "KILLED"),
        (lambda: RunInterrupted(signal.SIGINT), "KILLED"),
        (lambda: RuntimeError("fold 2 failed"), "FAILED"),
    ],
    ids=["sigterm", "sigint", "error"],
)
def test_fold_runs_end_killed_on_an_interrupt_during_training(session, raised, status):
    """The README: on Ctrl-C or SIGTERM "the run and its fold runs end KILLED"; on any other
    exception they end FAILED. (A fold-run status of FAILED after an interrupt passed every
    test before.)"""
    client = session.client
    with pytest.raises(SystemExit if status == "KILLED" else RuntimeError):
        with pipeline_run(experiment_id=session.experiment_id, run_name="folds") as run:
            with live_fold_runs(
                client, session.experiment_id, run.info.run_id, [1, 2, 3], interval=None
            ) as live:
                fold_ids = list(live.fold_run_ids.values())
                assert {client.get_run(r).info.status for r in fold_ids} == {"RUNNING"}
                raise raised()
    assert client.get_run(run.info.run_id).info.status == status
    assert [client.get_run(r).info.status for r in fold_ids] == [status] * 3


class _FailingCall:
    """A client whose ``method`` raises ``exc`` on its call number ``after`` + 1 among the calls
    ``counts`` accepts (every call by default); other calls go through."""

    def __init__(self, client, method, exc, after=0, counts=lambda *args: True):
        self._client, self._method, self._exc = client, method, exc
        self._left, self._counts = after, counts

    def __getattr__(self, name):
        call = getattr(self._client, name)
        if name != self._method:
            return call

        def failing(*args, **kwargs):
            if self._counts(*args):
                if self._left == 0:
                    raise self._exc
                self._left -= 1
            return call(*args, **kwargs)

        return failing


STOPS = {  # where in a fold's final logging the stop comes, after fold 1 was logged
    # sending the fold's data
    "log_batch": lambda client, exc: _FailingCall(client, "log_batch", exc, after=1),
    # marking the fold's run FINISHED, after its data went out
    "finish": lambda client, exc: _FailingCall(
        client, "set_terminated", exc, after=1,
        counts=lambda run_id, status=None, *rest: status == "FINISHED",
    ),
}


@pytest.mark.parametrize("stop", list(STOPS))
@pytest.mark.parametrize(
    "exc,status",
    [(RunInterrupted(signal.SIGTERM), "KILLED"), (RuntimeError("store gone"), "FAILED")],
    ids=["sigterm", "error"],
)
def test_fold_runs_not_yet_logged_are_ended_when_the_final_logging_stops(
    session, exc, status, stop
):
    """train logs the folds' data after training (``log_fold_runs`` over the fold runs made
    RUNNING before it): an interrupt or error there, while sending a fold's data or while
    marking its run FINISHED, ended the fold being logged FAILED (even on SIGTERM) or left it
    RUNNING, and left the later ones RUNNING."""
    from gdlab.tracking.cv import start_fold_runs

    client = session.client
    cv = _cv(n_folds=3)
    with pytest.raises(SystemExit if status == "KILLED" else RuntimeError):
        with pipeline_run(experiment_id=session.experiment_id, run_name="final") as run:
            run_ids = start_fold_runs(client, session.experiment_id, run.info.run_id, [1, 2, 3])
            log_fold_runs(
                STOPS[stop](client, exc), session.experiment_id, run.info.run_id,
                cv, {"p": 1}, run_ids=run_ids,
            )
    assert client.get_run(run.info.run_id).info.status == status
    statuses = [client.get_run(run_ids[k]).info.status for k in (1, 2, 3)]
    assert statuses == ["FINISHED", status, status]  # fold 1 was logged before the stop


class _CountingClient:
    """The store's client, counting its ``log_batch`` calls."""

    def __init__(self, client):
        self._client, self.batches = client, 0

    def log_batch(self, *args, **kwargs):
        self.batches += 1
        return self._client.log_batch(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_the_train_runs_description_takes_no_call_of_its_own(session):
    # the description is a tag of start_run, and its final form (with the CV score) travels
    # in the log_batch that logs the final metrics: the train stage's MLflow calls stay as many
    from gdlab.config import Params
    from gdlab.tracking.notes import NOTE_TAG, train_note

    cv = _cv()
    refit = FitOutcome(model=None, n_iter=7, curves=cv.folds[0].curves, fit_time=0.2)
    params = Params.model_validate({"model": {"task": "regression"}, "cv": {"folds": 3}})
    first = train_note(params, rows=100, n_features=3)
    counts = []
    for tags in (None, {NOTE_TAG: train_note(params, rows=100, n_features=3, cv=cv)}):
        client = _CountingClient(session.client)
        with pipeline_run(experiment_id=session.experiment_id, tags={NOTE_TAG: first}) as run:
            assert client.get_run(run.info.run_id).data.tags[NOTE_TAG] == first
            log_training(client, run.info.run_id, cv, refit, tags=tags)
        counts.append(client.batches)
    assert counts[0] == counts[1] == 1
    note = session.client.get_run(run.info.run_id).data.tags[NOTE_TAG]
    # rmse of the folds: 1.5, 2.5, 3.5 -> mean 2.5, std (ddof 0) 0.8165
    assert "\n\nCV score (mean ± std over 3 folds): rmse 2.5 ± 0.82, mae 0.4 ± " in note
    assert note.startswith(first)


@pytest.mark.parametrize(
    ("raised", "leaves"),
    [(lambda: ValueError("disk on fire"), ValueError),
     (lambda: RunInterrupted(signal.SIGTERM), SystemExit)],
)
def test_a_store_that_dies_mid_run_neither_hides_the_failure_nor_waits_on_it(
    session, monkeypatch, raised, leaves
):
    """The store stopped answering while the stage ran: ending the run tried it again and
    again (the nested-run search, their tags and statuses: a timeout each on a server), and
    the status write at the end raised an MLflow error in place of the stage's own (an
    interrupt's exit 143 became exit 1 with a traceback)."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    tried = []

    def dead(name):
        def call(self, *args, **kwargs):
            tried.append(name)
            raise MlflowException("API request failed: connection refused")
        return call

    with pytest.raises(leaves) as stopped:
        with pipeline_run(experiment_id=session.experiment_id, run_name="dead",
                          uri=session.uri) as run:
            for name in ("set_tag", "search_runs", "set_terminated", "log_batch"):
                monkeypatch.setattr(MlflowClient, name, dead(name))
            raise raised()
    if leaves is SystemExit:
        assert stopped.value.code == 128 + signal.SIGTERM
    assert "search_runs" not in tried  # nothing asked of the store once it failed to answer
    assert tried.count("set_terminated") == 1  # the status, once
    assert mlflow.active_run() is None  # the run left the active stack all the same
    monkeypatch.undo()
    left = session.client.get_run(run.info.run_id)
    assert left.info.status == "RUNNING"  # for the next stage's orphan pass
