"""A FINISHED run that a later stage reopens (train's, by evaluate and register) is FINISHED
again, with its end time, whatever stops that stage: an error, an interrupt (even while it is
being reopened), a process killed for good (put back by the next orphan sweep)."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import mlflow
import pytest

from gdlab.tracking import FAILURE_KIND_TAG, FAILURE_TAG, pipeline_run
from gdlab.tracking.orphans import end_orphans
from gdlab.tracking.runs import RunInterrupted


def _finished_run(session):
    """A FINISHED run as train leaves it; its end time is in the past by now."""
    with pipeline_run(experiment_id=session.experiment_id, run_name="train") as run:
        mlflow.log_metric("cv_rmse", 1.0)
    ended = session.client.get_run(run.info.run_id)
    time.sleep(0.05)  # so that "now" is another millisecond than its end time
    return ended


def _assert_intact(session, before):
    after = session.client.get_run(before.info.run_id)
    assert after.info.status == "FINISHED"
    assert after.info.end_time == before.info.end_time
    assert not {FAILURE_TAG, FAILURE_KIND_TAG} & set(after.data.tags)
    return after


def test_an_error_in_a_reopened_finished_run_leaves_it_finished_and_a_rerun_clears_the_note(
    session,
):
    before = _finished_run(session)
    with pytest.raises(ZeroDivisionError) as raised:
        with pipeline_run(run_id=before.info.run_id, stage="evaluate"):
            mlflow.log_metric("test_rmse", 2.0)
            1 / 0  # noqa: B018
    after = _assert_intact(session, before)
    assert after.data.tags["gdlab.evaluate_failed"].startswith("ZeroDivisionError")
    assert after.data.metrics["test_rmse"] == 2.0  # what it logged is kept
    assert raised.value.kept_run == before.info.run_id

    with pipeline_run(run_id=before.info.run_id, stage="evaluate"):  # the rerun succeeds
        pass
    rerun = session.client.get_run(before.info.run_id)
    assert rerun.info.status == "FINISHED"
    assert "gdlab.evaluate_failed" not in rerun.data.tags


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_in_a_reopened_finished_run_leaves_it_finished(session, sig):
    before = _finished_run(session)
    with pytest.raises(SystemExit) as raised:
        with pipeline_run(run_id=before.info.run_id):
            raise RunInterrupted(sig)  # what the signal handler raises
    assert raised.value.code == 128 + sig
    after = _assert_intact(session, before)
    assert signal.Signals(sig).name in after.data.tags["gdlab.resume_interrupted"]
    assert raised.value.__cause__.kept_run == before.info.run_id
    assert mlflow.active_run() is None


def test_an_interrupt_while_the_run_is_being_reopened_leaves_it_finished(session, monkeypatch):
    """Ctrl-C inside ``mlflow.start_run`` once the store has made the run RUNNING, before
    ``pipeline_run`` holds it: the run was left RUNNING, then the next orphan sweep ended it
    KILLED as 'lost' (the reviewer's evaluate case)."""
    before = _finished_run(session)

    def interrupted_start(**_kwargs):
        session.client.update_run(before.info.run_id, status="RUNNING")
        raise RunInterrupted(signal.SIGINT)

    monkeypatch.setattr(mlflow, "start_run", interrupted_start)
    with pytest.raises(BaseException) as raised:  # SystemExit, or the interrupt itself
        with pipeline_run(run_id=before.info.run_id):
            pass
    monkeypatch.undo()
    _assert_intact(session, before)
    assert isinstance(raised.value, SystemExit) and raised.value.code == 130


REOPENER = """
import os, signal, sys
from gdlab.tracking import open_session, pipeline_run
s = open_session({uri!r}, "tests")
with pipeline_run(run_id=sys.argv[1]):
    print("reopened", flush=True)
    os.kill(os.getpid(), signal.SIGKILL if sys.argv[2] == "KILL" else signal.SIGINT)
    import time; time.sleep(30)
"""


def _reopen_in_a_process(session, tmp_path, run_id, how):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-c", REOPENER.format(uri=session.uri), run_id, how],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert "reopened" in proc.stdout, proc.stderr
    return proc


def test_a_process_killed_in_a_reopened_run_is_put_back_finished_by_the_orphan_sweep(
    session, tmp_path
):
    before = _finished_run(session)
    proc = _reopen_in_a_process(session, tmp_path, before.info.run_id, "KILL")
    assert proc.returncode == -signal.SIGKILL
    assert session.client.get_run(before.info.run_id).info.status == "RUNNING"

    ended = end_orphans(session.client, session.experiment_id)  # what the next stage runs

    assert before.info.run_id in ended
    after = _assert_intact(session, before)
    assert "ended without closing the run" in after.data.tags["gdlab.resume_lost"]


def test_a_real_sigint_in_a_reopened_run_exits_130_and_the_sweep_leaves_it_finished(
    session, tmp_path
):
    before = _finished_run(session)
    proc = _reopen_in_a_process(session, tmp_path, before.info.run_id, "INT")
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr
    end_orphans(session.client, session.experiment_id)
    _assert_intact(session, before)


def test_the_stage_line_says_the_reopened_run_is_intact(session, tmp_path):
    before = _finished_run(session)
    script = textwrap.dedent(f"""
        import os, signal, sys
        from gdlab.tracking import open_session, pipeline_run
        from gdlab.tracking.safety import stage_exit
        s = open_session({session.uri!r}, "tests")
        def main():
            with pipeline_run(run_id={before.info.run_id!r}):
                os.kill(os.getpid(), signal.SIGINT)
                import time; time.sleep(30)
            return 0
        sys.exit(stage_exit("evaluate", main))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 130
    assert proc.stderr == (
        f"evaluate: interrupted (SIGINT); its MLflow run {before.info.run_id} is intact "
        "(FINISHED, as before this stage), nothing registered; rerun `dvc repro` to continue\n"
    )
    _assert_intact(session, before)
