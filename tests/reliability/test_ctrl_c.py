"""Issue 6, point 2 — Ctrl-C mid-epoch: SIGINT to the train stage's whole process group.

In a terminal Ctrl-C reaches the foreground process group: the train stage and its fold
workers alike (``test_interrupt.py`` sends SIGTERM to train.py alone, then checks that the
next ``dvc repro`` gives what an uninterrupted run gives). Afterwards the run and its fold runs
are KILLED with the reason, the stage exits 130 with one line saying so and no traceback,
nothing is written or registered and no worker is left: the state that rerun starts from.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from gdlab.tracking import FAILURE_KIND_TAG, FAILURE_TAG
from tests.reliability.harness import REPO, assert_succeeded, cmdline, descendants, make_project
from tests.reliability.interrupting import LONG, wait_for_training

pytestmark = pytest.mark.slow


def test_ctrl_c_mid_epoch_ends_the_run_killed_and_leaves_nothing(tmp_path):
    project = make_project(tmp_path / "ctrl-c", {**LONG, "register": {"model_name": "ctrl-c"}})
    assert_succeeded(project.repro(upto="prepare"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    env.update(PYTHONPATH=str(REPO / "src"), CI="1", GDLAB_JIT="0")
    train = [sys.executable, str(REPO / "pipeline" / "train.py")]
    proc = subprocess.Popen(
        train, cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,  # its own process group, as a terminal's job
    )
    try:
        run_id, train_pid = wait_for_training(proc, project.root)
        assert train_pid == proc.pid
        time.sleep(2.0)  # the folds train now
        assert proc.poll() is None, "training finished before the signal"
        workers = [p for p in descendants(proc.pid) if "loky" in cmdline(p)]
        os.killpg(proc.pid, signal.SIGINT)
        output, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert workers, "expected joblib fold workers under train.py"
    assert proc.returncode == 128 + signal.SIGINT, output
    assert "Traceback" not in output, output
    # one line says the stage was interrupted and what that left (checked below)
    assert ("train: interrupted (SIGINT); its MLflow run ended KILLED, nothing registered; "
            "rerun `dvc repro` to continue\n") in output, output

    client = project.client()
    run = client.get_run(run_id)
    assert run.info.status == "KILLED"
    assert run.data.tags[FAILURE_KIND_TAG] == "interrupted"
    assert "SIGINT" in run.data.tags[FAILURE_TAG]
    folds = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'")
    assert len(folds) == 2 and {c.info.status for c in folds} == {"KILLED"}
    assert client.search_registered_models() == []
    logged = client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert [m for m in logged if m.source_run_id == run_id] == []
    assert not (project.root / "models" / "model.skops").exists()
    assert not (project.root / "models" / "run.json").exists()
    assert not (project.root / "reports" / "cv.json").exists()
    time.sleep(1.0)
    assert [p for p in workers if cmdline(p)] == [], "fold workers outlived the stage"
