"""The tune stage under the real ``dvc repro`` in a copy of the repository: train runs with the
parameters of best_params.json, a changed search space reruns tune and then train, and a code
change reruns tune in a new study."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.stage_env import VENV_BIN, copy_working_tree, stage_env

from .conftest import deep_update

pytestmark = pytest.mark.slow

CHANGES = {
    "data": {"synthetic": {"n_samples": 500, "n_features": 6, "n_informative": 4}},
    "train": {"max_epochs": 15},
    "cv": {"folds": 3, "n_jobs": 1},
    "tune": {
        "n_trials": 4,
        "n_startup_trials": 2,
        "heatmap": {"enabled": False},
        "space": {
            "optimizer.learning_rate": {"low": 1e-3, "high": 0.1, "log": True},
            "train.batch_size": {"choices": [32, 64]},
        },
    },
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("tune-repo")
    copy_working_tree(root, skip=("tests/",))
    params = yaml.safe_load((root / "params.yaml").read_text())
    deep_update(params, CHANGES)
    if isinstance(params.get("compare"), dict):
        params["compare"]["enabled"] = False
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    # the copy has no numba cache (ignored files are not copied): without GDLAB_JIT=0 the
    # first stage process would compile every kernel again (~10 s); the DVC wiring tested
    # here does not depend on the engine path
    env = stage_env(root, GDLAB_JIT="0")

    def run(*command, check=True):
        proc = subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, timeout=600
        )
        if check and proc.returncode:
            raise AssertionError(f"{command} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    run("git", "init", "-q", "-b", "main")
    run("git", "add", "-A")
    run("git", "commit", "-q", "-m", "copy")
    return root, run


def train_runs(root):
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("gdlab")
    runs = client.search_runs(
        [experiment.experiment_id], max_results=1000, order_by=["attributes.start_time ASC"]
    )
    return [
        r
        for r in runs
        if r.data.tags.get("gdlab.stage") == "train" and "mlflow.parentRunId" not in r.data.tags
    ]


def test_train_uses_best_params_and_a_changed_space_reruns_tune_and_train(repo):
    root, run = repo
    dvc = os.path.join(VENV_BIN, "dvc")
    first = run(dvc, "repro", "train")
    assert "Running stage 'tune'" in first.stdout and "Running stage 'train'" in first.stdout
    best = json.loads((root / "reports/tuning/best_params.json").read_text())
    (train,) = train_runs(root)
    assert train.data.tags["gdlab.tuning_run_id"] == best["tuning_run_id"]
    assert set(best["params"]) == {"optimizer.learning_rate", "train.batch_size"}
    for key, value in best["params"].items():  # the train stage ran with the tuned values
        assert train.data.params[key] == str(value)

    params = yaml.safe_load((root / "params.yaml").read_text())
    params["tune"]["space"]["train.batch_size"] = {"choices": [16, 128]}
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    second = run(dvc, "repro", "train")
    assert "Running stage 'tune'" in second.stdout and "Running stage 'train'" in second.stdout
    assert "Running stage 'prepare'" not in second.stdout
    again = json.loads((root / "reports/tuning/best_params.json").read_text())
    assert again["study"] != best["study"]  # a new space is a new study
    assert again["params"]["train.batch_size"] in (16, 128)
    latest = train_runs(root)[-1]
    assert latest.data.tags["gdlab.tuning_run_id"] == again["tuning_run_id"]
    for key, value in again["params"].items():
        assert latest.data.params[key] == str(value)


def test_a_tune_rerun_with_the_same_best_params_leaves_train_up_to_date(repo):
    """best_params.json also holds the tuning run's ID, new on every tune run: train and
    evaluate depend on its ``params`` only, so a tune rerun that finds the same values (here
    a budget-only change: the study resumes with its trials done) retrains nothing."""
    root, run = repo
    dvc = os.path.join(VENV_BIN, "dvc")
    run(dvc, "repro", "evaluate")
    before = json.loads((root / "reports/tuning/best_params.json").read_text())
    n_train = len(train_runs(root))

    params = yaml.safe_load((root / "params.yaml").read_text())
    params["tune"]["timeout"] = 3600
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    again = run(dvc, "repro", "evaluate")
    assert "Running stage 'tune'" in again.stdout
    after = json.loads((root / "reports/tuning/best_params.json").read_text())
    assert after["params"] == before["params"]
    assert after["tuning_run_id"] != before["tuning_run_id"]
    assert "Running stage 'train'" not in again.stdout, again.stdout
    assert "Running stage 'evaluate'" not in again.stdout, again.stdout
    assert len(train_runs(root)) == n_train
    # the study resumed with its budget spent: the stage says why it ran no trial
    assert f"tune: study {before['study']} has spent its budget" in again.stdout, again.stdout
    assert "(0 run now" in again.stdout


def test_a_code_change_reruns_tune_in_a_new_study_that_runs_its_trials(repo):
    """dvc repro reran tune after a code change, but the stage found the same study (named by
    params and data only) with its budget spent, ran no trial and wrote best_params.json again
    from trials the old code had scored."""
    root, run = repo
    dvc = os.path.join(VENV_BIN, "dvc")
    run(dvc, "repro", "train")
    before = json.loads((root / "reports/tuning/best_params.json").read_text())
    objective = root / "src" / "gdlab" / "tuning" / "objective.py"
    objective.write_text(objective.read_text() + "\n# a change to the code a trial runs\n")
    again = run(dvc, "repro", "tune")  # (train would run too: its deps changed as well)
    assert "Running stage 'tune'" in again.stdout
    after = json.loads((root / "reports/tuning/best_params.json").read_text())
    assert after["study"] != before["study"]
    assert sum(after["trials"].values()) == 4  # the whole budget, run by the new code
    assert "(4 run now" in again.stdout and "has spent its budget" not in again.stdout
