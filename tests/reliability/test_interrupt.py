"""Issue 6, point 2 — the fault-injection test: SIGTERM to a real training mid-epoch.

A real ``dvc repro`` runs in a copy of the repository on a configuration that trains for a
while (no early stop, two fold workers). When the train stage's MLflow run is RUNNING and the
folds are training, its process gets SIGTERM (what a CI runner, ``kill`` or a scheduler sends).
Afterwards: the run and its fold runs are KILLED with the reason tagged, nothing in the registry,
no half-written output, ``dvc status`` shows train not up to date; the next ``dvc repro``
reruns cleanly and gives the same result as an uninterrupted run of the same parameters.
Ctrl-C (SIGINT to the whole process group) is ``test_ctrl_c.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from joblib import parallel_config

from gdlab.config import load_params, with_overrides
from gdlab.data import load_prepared
from gdlab.experiment import as_frame, decode_target, run_training
from gdlab.experiment.persist import load_model, save_model
from gdlab.reporting import cv_document, finite
from gdlab.tracking import FAILURE_KIND_TAG, FAILURE_TAG
from tests.reliability.harness import VENV_BIN, cmdline, descendants, dvc, make_repo
from tests.reliability.interrupting import LONG, MODEL, parents, store, wait_for_training

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    # GDLAB_JIT=0: the numpy loop, where an epoch is 400-800 Python-level steps, so the
    # signal lands inside one (the compiled path runs a whole epoch in one call)
    # SHELL=/bin/sh: DVC runs each stage through $SHELL; dash (CI's /bin/sh) keeps itself as
    # the parent of the Python process instead of exec-ing it, the harder case for a signal
    return make_repo(tmp_path_factory, "interrupt", LONG, GDLAB_JIT="0", SHELL="/bin/sh")


def test_sigterm_mid_epoch_leaves_a_clean_state_and_the_rerun_matches(repo, monkeypatch, tmp_path):
    root, env = repo
    proc = subprocess.Popen(
        [os.path.join(VENV_BIN, "dvc"), "repro", "register"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        run_id, train_pid = wait_for_training(proc, root)
        time.sleep(3.0)  # the folds train now (CV and refit take ~10 s of CPU here)
        assert proc.poll() is None, "training finished before the signal"
        folds_running = [p for p in descendants(train_pid) if "loky" in cmdline(p)]
        os.kill(train_pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert folds_running, "expected joblib fold workers under train.py"
    assert proc.returncode != 0
    assert "failed to reproduce 'train'" in output, output
    assert ("train: interrupted (SIGTERM); its MLflow run ended KILLED, nothing registered; "
            "rerun `dvc repro` to continue\n") in output, output
    assert "Traceback" not in output, output

    client = store(root)
    run = client.get_run(run_id)
    assert run.info.status == "KILLED"
    assert run.data.tags[FAILURE_KIND_TAG] == "interrupted"
    assert "SIGTERM" in run.data.tags[FAILURE_TAG]
    children = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'")
    # the README: "the run and its fold runs end KILLED" (none RUNNING, none FAILED)
    assert [c.info.status for c in children] == ["KILLED", "KILLED"]
    assert client.search_registered_models() == []
    logged = client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert [m for m in logged if m.source_run_id == run_id] == []
    # no half-written output: DVC removed train's outputs before running it, nothing new
    assert not (root / "models" / "model.skops").exists()
    assert not (root / "reports" / "cv.json").exists()
    status = dvc(repo, "status", "train").stdout
    assert "train:" in status and "deleted" in status, status
    # no process left behind
    time.sleep(1.0)
    assert [p for p in descendants(os.getpid()) if "pipeline/train.py" in cmdline(p)] == []

    # the reference for the rerun's result: an uninterrupted run of the same parameters,
    # computed here, in-process, with the same engine path and sequential folds; in a thread
    # while DVC reruns the stages (most of the rerun is one process's start-up and
    # single-threaded work, so the two share the two cores)
    monkeypatch.setenv("GDLAB_JIT", "0")
    params = load_params(root / "params.yaml")
    data = load_prepared(root / "data" / "prepared")
    y = decode_target(data.y_train, data.classes)

    def uninterrupted():
        with parallel_config(n_jobs=1):
            return run_training(
                with_overrides(params, {"cv.n_jobs": 1}),
                data.X_train,
                y,
                feature_names=data.feature_names,
                progress=False,
            )

    with ThreadPoolExecutor(max_workers=1) as pool:
        computing = pool.submit(uninterrupted)
        # the next dvc repro reruns cleanly
        rerun = dvc(repo, "repro", "register")
        reference = computing.result()
    assert "Running stage 'train'" in rerun.stdout
    assert "up to date" in dvc(repo, "status", "--with-deps", "register").stdout
    trained = [r for r in parents(client) if r.data.tags.get("gdlab.stage") == "train"]
    assert sorted(r.info.status for r in trained) == ["FINISHED", "KILLED"]
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == "1"

    # ... with the same result as the uninterrupted run of the same parameters
    assert json.loads((root / "reports" / "cv.json").read_text()) == json.loads(
        json.dumps(finite(cv_document(reference.cv)))
    )
    test = as_frame(data.X_test, data.feature_names)
    rerun_model = load_model(root / "models" / "model.skops")
    np.testing.assert_array_equal(
        rerun_model.predict_proba(test), reference.refit.model.predict_proba(test)
    )
    # ... down to the model file's bytes
    save_model(reference.refit.model, tmp_path / "reference.skops")
    assert (root / "models" / "model.skops").read_bytes() == (
        tmp_path / "reference.skops").read_bytes()
