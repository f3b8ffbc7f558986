"""Issue 6, point 2: faults during training lose nothing.

Divergence ends the MLflow run FAILED with the reason in tags and registers nothing; any other
exception ends it FAILED too; an unreachable tracking server fails the stage within seconds
with one clear line (secrets redacted) and writes no output. (SIGTERM mid-epoch under a real
``dvc repro``: test_interrupt.py.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from gdlab.tracking import FAILURE_KIND_TAG, FAILURE_TAG
from tests.reliability.harness import (
    REPO,
    Project,
    assert_succeeded,
    free_port,
    make_project,
    parent_runs,
    stage_module,
)

REGRESSION = {
    "model": {"task": "regression"},
    "fairness": {"max_equalized_odds_difference": None, "max_error_difference": 1.0},
    "register": {"model_name": "gdlab-faults"},
}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    """A regression project that has run the whole pipeline once (champion v1)."""
    project = make_project(tmp_path_factory.mktemp("faults"), REGRESSION)
    assert_succeeded(project.repro())
    return project


@pytest.fixture
def state(project):
    """The project's state before the test; good params restored afterwards."""
    before = project.snapshot()
    yield before
    project.write_params()


def new_runs(project: Project, before) -> list:
    return [r for r in parent_runs(project) if r.info.run_id not in before.runs]


def assert_nothing_registered_or_written(project: Project, before) -> None:
    """Registry as before; no output of train or a later stage rewritten (validate's own
    output, the validated params, legitimately changes when validate passes)."""
    after = project.snapshot()
    assert after.versions == before.versions and after.aliases == before.aliases
    ignore = "reports/validated_params.json"
    assert {k: v for k, v in after.files.items() if k != ignore} == {
        k: v for k, v in before.files.items() if k != ignore
    }


def test_divergence_ends_run_failed_with_reason_and_registers_nothing(project, state):
    project.write_params({"optimizer": {"name": "sgd", "learning_rate": 50.0}})
    results = project.repro()
    train = results[-1]
    assert train.stage == "train" and train.code == 1
    assert "Traceback" not in train.err
    assert "Training diverged at epoch" in train.err and "learning_rate=50" in train.err
    # names the column to look at, as the model saw it, and no advice to do what is done
    assert "Largest standardised feature: 'x" in train.err
    assert "scale the features" not in train.err and "already" in train.err
    assert "scale_target" not in train.err  # the target was standardised
    (run,) = new_runs(project, state)
    assert run.info.status == "FAILED"
    assert run.data.tags[FAILURE_KIND_TAG] == "divergence"
    assert "diverged at epoch" in run.data.tags[FAILURE_TAG]
    children = project.client().search_runs(
        [run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    )
    assert children  # the fold runs were started before the divergence ...
    assert all(c.info.status == "FAILED" for c in children)  # ... none FINISHED or RUNNING
    assert_nothing_registered_or_written(project, state)


def test_divergence_on_an_unscaled_target_names_preprocess_scale_target(project, state):
    project.write_params({"optimizer": {"name": "sgd", "learning_rate": 50.0},
                          "preprocess": {"scale_target": False}})
    train = project.repro()[-1]
    assert train.stage == "train" and train.code == 1
    assert "Training diverged at epoch" in train.err
    assert "Target: |y| up to " in train.err
    assert "preprocess.scale_target is false." in train.err
    assert_nothing_registered_or_written(project, state)


def test_any_exception_ends_run_failed(project, state, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(stage_module("train"), "run_training", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        project.stage("train")
    (run,) = new_runs(project, state)
    assert run.info.status == "FAILED"
    assert run.data.tags[FAILURE_TAG] == "RuntimeError: disk on fire"
    assert run.data.tags[FAILURE_KIND_TAG] == "error"
    assert_nothing_registered_or_written(project, state)


@pytest.mark.parametrize("stage", ["tune", "train", "compare", "evaluate", "register"])
def test_unreachable_server_fails_stage_clearly(project, state, stage):
    port = free_port()
    project.write_params({"tracking": {"uri": f"http://127.0.0.1:{port}"}})
    start = time.monotonic()
    result = project.stage(stage)
    # a bound on a failure path: MLflow's own retries of a refused request take minutes;
    # 60 s leaves a loaded 2-core CI room for the stage itself
    assert time.monotonic() - start < 60
    assert result.code == 1
    assert "Traceback" not in result.err
    assert f"tracking.uri: cannot reach the MLflow tracking server http://127.0.0.1:{port}" in (
        result.err
    )
    assert_nothing_registered_or_written(project, state)
    assert project.snapshot().runs == state.runs


def test_unreachable_server_stage_process_within_30s_and_secret_redacted(project, state):
    """The real stage process, the server URI (with a password) from MLFLOW_TRACKING_URI."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    env.update(
        MLFLOW_TRACKING_URI=f"http://alice:s3cret@127.0.0.1:{port}",
        PYTHONPATH=str(REPO / "src"),
        CI="1",
    )
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(REPO / "pipeline" / "train.py")],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - start
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    # MLflow's own retries take minutes; 60 s leaves a loaded CI the process's imports
    assert elapsed < 60, f"took {elapsed:.1f}s"
    assert "s3cret" not in output
    assert f"cannot reach the MLflow tracking server http://alice:***@127.0.0.1:{port}" in output
    assert "Traceback" not in output
    assert_nothing_registered_or_written(project, state)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "flipped"])
def test_a_damaged_model_file_fails_evaluate_clearly(project, state, damage):
    path = project.root / "models" / "model.skops"
    good = path.read_bytes()
    broken = {
        "truncated": good[: len(good) // 2],
        "garbage": b"not a model\n",
        "flipped": good[:100] + bytes([good[100] ^ 0xFF]) + good[101:],  # in a member's data
    }[damage]
    path.write_bytes(broken)
    try:
        result = project.stage("evaluate")
    finally:
        path.write_bytes(good)
    assert result.code == 1
    assert "Traceback" not in result.err, result.err
    assert "evaluate: models/model.skops: not a readable skops model file" in result.err
    assert "dvc checkout --force models" in result.err
    assert_nothing_registered_or_written(project, state)
    assert project.snapshot().runs == state.runs


@pytest.mark.parametrize("stage", ["evaluate", "register"])
@pytest.mark.parametrize("case", ["deleted", "missing"])
def test_a_run_handle_naming_a_run_the_store_lacks_fails_clearly(project, state, stage, case):
    """models/run.json names a train run deleted since (the UI), or one the store does not
    hold (mlflow.db reset after train ran): one line saying what to do, nothing resumed."""
    handle = project.root / "models" / "run.json"
    good = handle.read_text()
    run_id = json.loads(good)["run_id"]
    client = project.client()
    if case == "deleted":
        client.delete_run(run_id)
    else:
        handle.write_text(good.replace(run_id, "0" * 32))
    try:
        result = project.stage(stage)
    finally:
        client.restore_run(run_id)
        handle.write_text(good)
    assert result.code == 1
    assert "Traceback" not in result.err, result.err
    named = run_id if case == "deleted" else "0" * 32
    assert f"{stage}: models/run.json names train run {named}, which " in result.err
    assert ("is deleted; restore it" if case == "deleted" else "is not in this tracking store") in (
        result.err
    )
    assert "dvc repro -f -s train" in result.err
    assert_nothing_registered_or_written(project, state)
    assert project.snapshot().runs == state.runs


def test_regression_fairness_is_measured_as_dvc_and_mlflow_metrics(project, state):
    """Issue 6, point 6 for regression (this module's project): evaluate writes the error
    metrics by group (MAE, RMSE, mean prediction) and their differences to
    ``reports/fairness.json`` and to the train run, with the by-group figure; the gate
    (``fairness.max_error_difference: 1.0``) reads the MAE difference."""
    import numpy as np

    from gdlab.data import load_prepared
    from gdlab.experiment.persist import load_model

    document = json.loads((project.root / "reports/fairness.json").read_text())
    assert document["enabled"] and document["task"] == "regression"
    assert set(document["by_group"]) == {"mae", "rmse", "mean_prediction"}
    # the numbers, recomputed from the prepared test split and the trained model
    data = load_prepared(project.root / "data" / "prepared")
    model = load_model(project.root / "models" / "model.skops")
    from gdlab.experiment import as_frame

    error = np.asarray(model.predict(as_frame(data.X_test, data.feature_names))) - data.y_test
    groups = np.asarray([str(g) for g in data.sensitive_test])
    mae = {g: float(np.mean(np.abs(error[groups == g]))) for g in sorted(set(groups))}
    assert len(mae) == 2
    assert document["by_group"]["mae"] == pytest.approx(mae)
    gap = max(mae.values()) - min(mae.values())
    assert document["differences"]["error_difference"] == pytest.approx(gap)
    assert document["gate"]["thresholds"] == {"error_difference": 1.0}
    assert document["gate"]["passed"] is (gap <= 1.0)

    run = project.client().get_run(json.loads((project.root / "models/run.json").read_text())[
        "run_id"])
    metrics = run.data.metrics
    for name, value in document["differences"].items():
        assert metrics[f"fairness_{name}"] == pytest.approx(value)
    for metric, groups_values in document["by_group"].items():
        for group, value in groups_values.items():
            assert metrics[f"fairness_{metric}.{group}"] == pytest.approx(value)
    assert run.data.tags["gdlab.fairness_gate"] == ("passed" if gap <= 1.0 else "failed")
    assert (project.root / "reports/figures/fairness_by_group.png").stat().st_size > 1000


def test_a_server_that_accepts_but_never_answers_fails_the_stage_within_30s(project, state):
    """A hung tracking server (the connection opens, no answer comes): MLflow's default 120 s
    timeout and 7 retries would hold the stage for many minutes; with gdlab's bounded retries
    it fails within 30 s naming tracking.uri, and leaves nothing behind."""
    import socket

    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)  # the kernel completes the handshakes; nobody ever reads or answers
        port = hung.getsockname()[1]
        project.write_params({"tracking": {"uri": f"http://127.0.0.1:{port}"}})
        start = time.monotonic()
        result = project.stage("train")
        elapsed = time.monotonic() - start
    assert result.code == 1, result.text
    # MLflow's 120 s timeout per attempt: a hang lasts minutes; 60 s cannot be reached otherwise
    assert elapsed < 60, f"took {elapsed:.1f}s"
    assert "Traceback" not in result.err
    assert f"tracking.uri: cannot reach the MLflow tracking server http://127.0.0.1:{port}" in (
        result.err
    )
    assert_nothing_registered_or_written(project, state)
    assert project.snapshot().runs == state.runs


TRAIN_OUTPUTS = ("models", "reports/cv.json", "reports/plots/folds")


@pytest.fixture
def cleared(project, state):
    """train's outputs moved aside, as ``dvc repro`` removes a stage's outputs before running
    it (put back afterwards); the test checks what the failed train left."""
    import shutil

    aside = project.root.parent / f"{project.root.name}-aside"
    for name in TRAIN_OUTPUTS:
        (aside / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(project.root / name, aside / name)
    yield state
    for name in TRAIN_OUTPUTS:
        target = project.root / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
        shutil.move(aside / name, target)


def assert_failed_train_left_no_model(project, before, result, code=1) -> None:
    assert result.code == code, result.text
    assert "Traceback" not in result.err, result.err
    models = project.root / "models"
    assert not models.exists() or not list(models.iterdir()), list(models.iterdir())
    assert not (project.root / "reports/cv.json").exists()
    assert not (project.root / "reports/plots/folds").exists()
    (run,) = new_runs(project, before)
    assert run.info.status == ("KILLED" if code == 130 else "FAILED")


def test_an_artifact_location_that_cannot_be_written_fails_train_in_one_line(project, cleared):
    """``mlruns`` (the project store's artifact location) is a file: the first artifact train
    logs fails; one line names the artifact location, and no model is left without its run."""
    mlruns = project.root / "mlruns"
    aside = project.root / "mlruns.bak"
    mlruns.rename(aside)
    mlruns.touch()
    try:
        result = project.stage("train")
    finally:
        mlruns.unlink()
        aside.rename(mlruns)
    assert_failed_train_left_no_model(project, cleared, result)
    line = result.err.strip().splitlines()[-1]
    assert line.startswith("train: tracking.uri: cannot write to the MLflow artifact location")
    assert f"({type(NotADirectoryError()).__name__}: " in line and str(mlruns) in line


def test_a_tracking_server_lost_mid_stage_fails_train_in_one_line(project, cleared, monkeypatch):
    """The store stops answering after training (a real MLflow request to a closed port, as
    when the server is stopped): one line naming tracking.uri, exit 1, no model written."""
    from mlflow.tracking import MlflowClient

    train = stage_module("train")
    lost = MlflowClient(f"http://127.0.0.1:{free_port()}")

    def log_training(client, run_id, *args, **kwargs):
        lost.set_tag(run_id, "gdlab.probe", "1")  # the server is gone: MlflowException

    monkeypatch.setattr(train, "log_training", log_training)
    result = project.stage("train", env={"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"})
    assert_failed_train_left_no_model(project, cleared, result)
    line = result.err.strip().splitlines()[-1]
    assert line.startswith("train: tracking.uri: cannot reach the MLflow tracking store "), line
    assert "Connection refused" in line or "Max retries exceeded" in line


def test_sigint_while_logging_the_figures_leaves_no_model_and_no_cv_report(
    project, cleared, monkeypatch
):
    """Ctrl-C during "figures and the model to MLflow": exit 130, the run KILLED, and neither
    models/ nor reports/cv.json written (a model without its run.json before)."""
    import signal

    train = stage_module("train")
    drawn = train.training_figures

    def interrupted(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # the stage's handler raises at the next bytecode
        return drawn(*args, **kwargs)

    monkeypatch.setattr(train, "training_figures", interrupted)
    result = project.stage("train")
    assert_failed_train_left_no_model(project, cleared, result, code=130)
    assert "train: interrupted (SIGINT)" in result.err
