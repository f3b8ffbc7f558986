"""The tune stage script (pipeline/tune.py) on a small project: its files, its MLflow runs,
train applying best_params.json, ``tune.enabled: false``, and resuming a killed search."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient

from gdlab.config import load_params, with_overrides
from gdlab.data import load_prepared
from gdlab.experiment import build_pipeline, cross_validate, decode_target, make_folds
from gdlab.experiment.persist import load_model
from gdlab.experiment.target import final_estimator
from gdlab.tuning.objective import CONFIG
from gdlab.tuning.study import open_storage

from .conftest import REPO, write_project


def stage(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_stage", REPO / "pipeline" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def args(root: Path) -> list[str]:
    return ["--params", str(root / "params.yaml"), "--data", str(root / "data" / "prepared")]


def runs(store: Path, experiment: str):
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    exp = client.get_experiment_by_name(experiment)
    return client, client.search_runs([exp.experiment_id], max_results=1000)


def test_stage_writes_its_files_logs_every_trial_and_train_applies_the_best(
    tmp_path, store_root, monkeypatch
):
    root = tmp_path / "project"
    heat = {"enabled": True, "learning_rates": [0.01, 0.5], "batch_sizes": [32, None]}
    write_project(
        root,
        store_root,
        tracking={"experiment": "stage"},
        tune={"n_trials": 6, "heatmap": heat},
    )
    monkeypatch.chdir(root)
    out = root / "reports" / "tuning"
    assert stage("tune")([*args(root), "--out", str(out)]) == 0

    best = json.loads((out / "best_params.json").read_text())
    assert best["enabled"] and best["metric"] == "log_loss" and best["direction"] == "minimize"
    assert set(best["params"]) == {"optimizer.learning_rate", "train.batch_size"}
    study = optuna.load_study(
        study_name=best["study"], storage=open_storage(str(root / ".optuna" / "gdlab.journal"))
    )
    assert best["params"] == study.best_trial.params and best["score"] == study.best_value
    with (out / "trials.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["number"]) for r in rows] == list(range(6))
    with (out / "heatmap.csv").open() as handle:
        cells = list(csv.DictReader(handle))
    assert {(c["learning_rate"], c["batch_size"]) for c in cells} == {
        ("0.01", "32"),
        ("0.01", "full"),
        ("0.5", "32"),
        ("0.5", "full"),
    }
    assert all(float(c["wall_time_s"]) > 0 for c in cells)
    # each scored cell is the mean CV log-loss of that learning rate and batch size
    data = load_prepared(root / "data" / "prepared")
    y = decode_target(data.y_train, data.classes)
    base = load_params(root / "params.yaml")
    folds = make_folds(y, base.cv.folds, task="classification", seed=base.seed)
    scored = [c for c in cells if c["value"] not in ("", None)]
    assert len(scored) >= 2
    for cell in scored:
        batch = None if cell["batch_size"] == "full" else int(cell["batch_size"])
        cell_params = with_overrides(base, {"optimizer.learning_rate": float(cell["learning_rate"]),
                                            "train.batch_size": batch, "tune.enabled": False})
        cv = cross_validate(build_pipeline(cell_params), data.X_train, y, folds,
                            task="classification", progress=False)
        assert float(cell["value"]) == pytest.approx(cv.mean()["log_loss"], rel=1e-9)
    guidance = json.loads((out / "guidance.json").read_text())
    assert guidance["smoothness_L"] > 0 and guidance["range_test_suggestion"] > 0
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert figures == [
        "lr_batch_heatmap.png",
        "lr_find.png",
        "optimization_history.png",
        "param_importances.png",
    ]

    client, all_runs = runs(store_root, "stage")
    (parent,) = [r for r in all_runs if r.info.run_id == best["tuning_run_id"]]
    assert parent.info.status == "FINISHED" and parent.data.tags["gdlab.stage"] == "tune"
    assert parent.data.metrics["best_cv_log_loss"] == pytest.approx(best["score"])
    assert parent.data.metrics["n_trials"] == 6
    # its description: what it searched, on what, and (set with the final tags) its best trial
    note = parent.data.tags["mlflow.note.content"]
    assert note.startswith("gdlab tune run: bayes search (6 trials) of optimizer.learning_rate, "
                           "train.batch_size, each trial a 3-fold CV scored by log_loss")
    assert f"{len(y)} training rows × {data.X_train.shape[1]} features of synthetic data" in note
    assert f"Best: trial {best['best_trial']}, CV log_loss {best['score']:.4g} with " in note
    artifacts = {f.path for f in client.list_artifacts(parent.info.run_id, "figures")}
    assert (
        "figures/lr_batch_heatmap.png" in artifacts and "figures/param_importances.png" in artifacts
    )
    children = [r for r in all_runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 6
    (tagged,) = [r for r in children if r.data.tags.get("gdlab.best_trial") == "true"]
    assert tagged.info.run_id == best["best_trial_run_id"]
    assert int(tagged.data.tags["gdlab.trial_number"]) == best["best_trial"]
    # each run says its kind; the tune run does not claim params.yaml's value of the keys its
    # trials searched (their ranges are its tune.space.* params, the winner's its best.*)
    assert parent.data.tags["gdlab.run_kind"] == "tune"
    assert {r.data.tags.get("gdlab.run_kind") for r in children} == {"trial"}
    for key in best["params"]:
        assert key not in parent.data.params and f"best.{key}" in parent.data.params
        assert all(key in r.data.params for r in children)
    assert "tune.space.optimizer.learning_rate.low" in parent.data.params
    assert parent.data.params["optimizer.name"] == "adam"  # not searched: every trial's

    # train applies best_params.json and names the tuning run that chose its parameters
    assert (
        stage("train")(
            [
                *args(root),
                "--tuned",
                str(out / "best_params.json"),
                "--models",
                str(root / "models"),
                "--reports",
                str(root / "reports"),
            ]
        )
        == 0
    )
    _, all_runs = runs(store_root, "stage")
    (train,) = [r for r in all_runs if r.data.tags.get("gdlab.stage") == "train"
                and "mlflow.parentRunId" not in r.data.tags]  # fold runs carry it too
    assert train.data.tags["gdlab.tuning_run_id"] == best["tuning_run_id"]
    # one filter finds the training run: not its folds, the trials or the tune run
    experiment = [parent.info.experiment_id]
    models = client.search_runs(experiment, "tags.gdlab.run_kind = 'model'")
    assert [r.info.run_id for r in models] == [train.info.run_id]
    folds = client.search_runs(experiment, "tags.gdlab.run_kind = 'fold'")
    assert len(folds) == 3 and {r.data.tags["mlflow.parentRunId"] for r in folds} == {
        train.info.run_id}
    note = train.data.tags["mlflow.note.content"]
    assert note.startswith("gdlab train run: 3-fold cross-validation, then a refit")
    assert f"Tuned values from study {best['study']} (tune run {best['tuning_run_id']}): " in note
    assert f"optimizer.learning_rate={best['params']['optimizer.learning_rate']:.4g}" in note
    cv_doc = json.loads((root / "reports" / "cv.json").read_text())
    assert f"log_loss {cv_doc['mean']['log_loss']:.4g} ± " in note  # set with the final metrics
    for key, value in best["params"].items():
        assert train.data.params[key] == str(value)
    tuned = with_overrides(load_params(root / "params.yaml"), best["params"])
    assert train.data.params["optimizer.learning_rate"] == str(tuned.optimizer.learning_rate)
    # the model trained with them, not only the logged parameters
    estimator = final_estimator(load_model(root / "models" / "model.skops"))
    assert estimator.learning_rate == best["params"]["optimizer.learning_rate"]
    assert estimator.batch_size == best["params"]["train.batch_size"]
    assert (estimator.learning_rate, estimator.batch_size) != (0.01, 32)  # params.yaml's


def test_disabled_stage_leaves_params_yaml_as_it_is(tmp_path, store_root, monkeypatch):
    root = tmp_path / "off"
    write_project(root, store_root, tracking={"experiment": "off"}, tune={"enabled": False})
    monkeypatch.chdir(root)
    out = root / "reports" / "tuning"
    assert stage("tune")([*args(root), "--out", str(out)]) == 0
    assert json.loads((out / "best_params.json").read_text()) == {"enabled": False, "params": {}}
    for name in ("trials.csv", "heatmap.csv", "guidance.json", "figures"):
        assert (out / name).exists()  # DVC's outputs exist either way
    assert not (root / ".optuna").exists()
    assert (
        stage("train")(
            [
                *args(root),
                "--tuned",
                str(out / "best_params.json"),
                "--models",
                str(root / "models"),
                "--reports",
                str(root / "reports"),
            ]
        )
        == 0
    )
    _, all_runs = runs(store_root, "off")
    (train,) = [r for r in all_runs if r.data.tags.get("gdlab.stage") == "train"
                and "mlflow.parentRunId" not in r.data.tags]  # fold runs carry it too
    assert "gdlab.tuning_run_id" not in train.data.tags
    assert "params.yaml as written (no tuned values)" in train.data.tags["mlflow.note.content"]
    assert train.data.params["optimizer.learning_rate"] == "0.01"


def test_train_says_which_tuned_values_replace_params_yaml_even_with_progress_off(
    tmp_path, store_root, monkeypatch, capsys
):
    """The line naming the tuned values that replace params.yaml's (and -S's) is how a user
    learns their setting was not trained; GDLAB_PROGRESS=off silenced it with the progress
    lines, though it is a warning, which the README says still prints."""
    root = tmp_path / "quiet"
    write_project(root, store_root, tracking={"experiment": "quiet"})
    monkeypatch.chdir(root)
    monkeypatch.setenv("GDLAB_PROGRESS", "off")
    best = root / "reports" / "tuning" / "best_params.json"
    best.parent.mkdir(parents=True)
    best.write_text(json.dumps({"enabled": True, "params": {"optimizer.learning_rate": 0.05}}))
    train = stage("train")
    reports = ["--models", str(root / "models"), "--reports", str(root / "reports")]
    assert train([*args(root), "--tuned", str(best), *reports]) == 0
    err = capsys.readouterr().err
    assert "train: tuned values replace params.yaml's" in err
    assert "optimizer.learning_rate=0.05 (params.yaml: 0.01)" in err
    assert "train: MLflow" not in err  # the progress lines stay silenced


def all_trials(journal: Path, name: str | None = None) -> list:
    storage = open_storage(str(journal))
    studies = optuna.get_all_study_summaries(storage)
    if not studies:
        return []
    study = optuna.load_study(study_name=name or studies[0].study_name, storage=storage)
    return study.get_trials()


def finished(journal: Path, name: str | None = None) -> list:
    return [t for t in all_trials(journal, name) if t.state.is_finished()]


def training_trial(journal: Path) -> int | None:
    """The number of a running trial that has sampled all its parameters, if any."""
    running = [t.number for t in all_trials(journal)
               if t.state.name == "RUNNING" and CONFIG in t.user_attrs]
    return running[0] if running else None


@pytest.mark.slow
def test_killed_search_resumes_when_the_stage_runs_again(tmp_path, store_root):
    root = tmp_path / "resume"
    write_project(
        root,
        store_root,
        tracking={"experiment": "resume"},
        data={"synthetic": {"n_samples": 900, "n_features": 8}},
        train={"max_epochs": 20, "batch_size": 16},
        tune={"n_trials": 10, "pruner": "none"},
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    env.update(CI="1", PYTHONPATH=str(REPO / "src"))
    command = [
        sys.executable,
        str(REPO / "pipeline" / "tune.py"),
        *args(root),
        "--out",
        str(root / "reports" / "tuning"),
    ]
    journal = root / ".optuna" / "gdlab.journal"

    first = subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while True:  # kill it while a trial trains, after 3 finished ones
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "the search did not get going"
        if len(finished(journal)) >= 3 and training_trial(journal) is not None:
            first.send_signal(signal.SIGSTOP)  # frozen: the journal cannot move on
            cut = training_trial(journal)
            if cut is not None:
                break
            first.send_signal(signal.SIGCONT)  # it finished in between: wait for the next
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)  # no handler runs: trial `cut` is left RUNNING
    first.wait(timeout=30)
    before = {t.number: (t.params, t.value, t.datetime_complete) for t in finished(journal)}
    assert 3 <= len(before) < 10

    second = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    storage = open_storage(str(journal))
    (summary,) = optuna.get_all_study_summaries(storage)
    study = optuna.load_study(study_name=summary.study_name, storage=storage)
    trials = study.get_trials()
    counted = [
        t for t in trials if t.state.is_finished() and not t.user_attrs.get("gdlab.interrupted")
    ]
    assert len(counted) == 10  # the budget is the study's, not the run's
    for number, (params, value, completed) in before.items():  # kept, not recomputed
        assert (trials[number].params, trials[number].value, trials[number].datetime_complete) == (
            params,
            value,
            completed,
        )
    assert [t.number for t in trials] == list(range(len(trials)))  # numbering continues
    (interrupted,) = [t for t in trials if t.user_attrs.get("gdlab.interrupted")]
    assert interrupted.number == cut and interrupted.params
    # the trial the kill cut short is run again with its params
    (retry,) = [t for t in trials if t.user_attrs.get("gdlab.retry_of") == cut]
    assert retry.state.name == "COMPLETE" and retry.params == interrupted.params
    assert f"({10 - len(before)} run now" in second.stdout

    _, all_runs = runs(store_root, "resume")
    trial_runs = [r for r in all_runs if "gdlab.trial_number" in r.data.tags]
    numbers = [int(r.data.tags["gdlab.trial_number"]) for r in trial_runs]
    assert sorted(numbers) == [t.number for t in trials]  # every trial once, none lost
    parents = [r for r in all_runs if r.data.tags.get("gdlab.stage") == "tune"
               and "mlflow.parentRunId" not in r.data.tags]  # trial runs carry it too
    # SIGKILL: no handler ran; the second search ended the dead process's run as lost
    assert sorted(r.info.status for r in parents) == ["FINISHED", "KILLED"]
    killed = next(r for r in parents if r.info.status == "KILLED")
    assert killed.data.tags["gdlab.failure_kind"] == "lost"


def test_a_damaged_journal_is_named_with_what_to_do_and_changes_nothing(
    tmp_path, store_root, monkeypatch, capsys
):
    # a search killed while appending (or a full disk) leaves the journal's last record cut
    # short: Optuna skipped it, appended the next record to it and then failed on every run
    # with a raw JSONDecodeError traceback, after the stage had emptied reports/tuning and
    # opened a tune run
    from gdlab.tuning import study as study_module

    root = tmp_path / "damaged"
    write_project(root, store_root, tracking={"experiment": "damaged"},
                  tune={"n_trials": 2}, train={"max_epochs": 3})
    monkeypatch.chdir(root)
    out = root / "reports" / "tuning"
    assert stage("tune")([*args(root), "--out", str(out)]) == 0
    journal = root / ".optuna" / "gdlab.journal"
    whole = journal.read_bytes()
    cut = whole[: whole.rindex(b"\n", 0, len(whole) - 1) + 40]  # mid-way into the last record
    journal.write_bytes(cut)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    _, runs_before = runs(store_root, "damaged")
    capsys.readouterr()

    assert stage("tune")([*args(root), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    line = whole[: len(cut)].count(b"\n") + 1
    assert err.startswith(
        f"tune: the Optuna journal {journal} (tune.storage) is damaged: line {line} is cut "
        "short (no end of line)"
    ), err
    assert "delete it (or move it away) to start the search over" in err
    assert "Traceback" not in err
    assert journal.read_bytes() == cut  # nothing appended to the cut record
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    _, runs_after = runs(store_root, "damaged")
    assert len(runs_after) == len(runs_before)  # no tune run opened

    # a record garbled in the middle is refused the same way, naming its line
    lines = whole.split(b"\n")
    lines[1] = lines[1][:-5]
    journal.write_bytes(b"\n".join(lines))
    assert stage("tune")([*args(root), "--out", str(out)]) == 1
    assert "damaged: line 2 is not a JSON record" in capsys.readouterr().err

    # what the message says to do works: without the file the search starts over
    journal.unlink()
    monkeypatch.setattr(study_module, "_STORAGES", {})  # this process cached the old file
    assert stage("tune")([*args(root), "--out", str(out)]) == 0
    assert len(finished(journal)) == 2


# nothing listens on port 1 of 127.0.0.1: a connection there is refused at once, no server needed
REFUSING = "127.0.0.1:1"


def tune_process(root: Path, **env_extra: str) -> tuple[subprocess.CompletedProcess, float]:
    """``python pipeline/tune.py`` in ``root`` (a stage process as DVC starts it) and its time."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_", "PG"))}
    env.update(CI="1", PYTHONPATH=str(REPO / "src"), **env_extra)
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(REPO / "pipeline" / "tune.py"), *args(root),
         "--out", str(root / "reports" / "tuning")],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )
    return proc, time.monotonic() - start


def test_an_unreachable_database_tracking_store_fails_in_seconds_with_one_redacted_line(
    tmp_path,
):
    # MLflow builds its SQLAlchemy engine with 10 attempts: the stage printed nine "SQLAlchemy
    # engine could not be created ... Operation will be retried" warnings and failed after
    # ~100 s; the database is now tried once, with a connect timeout
    root = tmp_path / "pg-tracking"
    write_project(root)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["tracking"]["uri"] = None  # a password is only allowed from the environment
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    uri = f"postgresql://pgadmin:S3cretPW@{REFUSING}/mlflow"
    proc, elapsed = tune_process(root, MLFLOW_TRACKING_URI=uri)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    # a bound on a failure path: the ten engine attempts took ~100 s; 60 s leaves a loaded 2-core
    # CI the process start (imports of MLflow, Optuna, scikit-learn: up to ~20 s there)
    assert elapsed < 60, f"took {elapsed:.1f}s:\n{output}"
    assert "S3cretPW" not in output
    assert "retried" not in output and "Traceback" not in output
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(
        f"tune: tracking.uri: cannot reach the MLflow tracking store "
        f"postgresql://pgadmin:***@{REFUSING}/mlflow ("
    ), line
    assert "Connection refused" in line
    assert not (root / "reports").exists()


def test_an_unreachable_database_storage_is_named_before_anything_is_written(tmp_path):
    # the LR range test ran, lr_find.png was written and a tune run opened (left FAILED) before
    # Optuna failed with a ~40-line SQLAlchemy traceback that never named tune.storage
    root = tmp_path / "pg-storage"
    storage = f"postgresql://pgadmin@{REFUSING}/optuna"
    write_project(root, tune={"storage": storage})
    proc, elapsed = tune_process(root, PGPASSWORD="S3cretPW")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    # a failure-path bound, generous as above: Optuna's own engine retries took ~100 s
    assert elapsed < 60, f"took {elapsed:.1f}s:\n{output}"
    assert "Traceback" not in output and "S3cretPW" not in output
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"tune: tune.storage {storage}: cannot connect ("), line
    assert "Connection refused" in line
    assert line.endswith("); start it, or fix tune.storage or PGPASSWORD/~/.pgpass"), line
    assert not (root / "reports").exists()  # no lr_find.png, nothing emptied
    assert not (root / "mlflow.db").exists()  # no MLflow run (the store not even opened)


def test_a_searched_key_the_model_ignores_is_warned_about_and_its_trials_score_alike(
    tmp_path, store_root, monkeypatch, capsys
):
    """model.activation searched with the linear model: every trial scored the same and
    best_params.json named one activation as tuned, without a word; now tune warns once."""
    root = tmp_path / "idle"
    space = {"model.activation": {"choices": ["relu", "tanh", "logistic"]}}
    write_project(root, store_root, tracking={"experiment": "idle"},
                  tune={"strategy": "grid", "n_trials": None, "pruner": "none", "space": space})
    monkeypatch.chdir(root)
    out = root / "reports" / "tuning"
    assert stage("tune")([*args(root), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "tune.space.model.activation" in line]
    assert len(lines) == 1, err
    assert lines[0].startswith("tune: warning: tune.space.model.activation: cannot change the "
                               "result: it acts only with model.kind: mlp")
    with (out / "trials.csv").open() as handle:
        scores = {row["value"] for row in csv.DictReader(handle)}
    assert len(scores) == 1  # what the warning says: the three trials score alike


def test_a_kept_study_name_with_another_space_fails_before_anything_is_written(
    tmp_path, store_root, monkeypatch, capsys
):
    """tune.study_name kept, tune.space narrowed: the stage reused the old trials and wrote
    a best learning rate 100x above the new range into best_params.json, exit 0. It now
    exits 1 with one line naming the dimension then and now, before any output or run."""
    root = tmp_path / "kept"
    space = {"optimizer.learning_rate": {"low": 0.1, "high": 0.3, "log": True}}
    params_path = write_project(root, store_root, tracking={"experiment": "kept"},
                                tune={"n_trials": 1, "study_name": "mystudy", "space": space},
                                train={"max_epochs": 3})
    monkeypatch.chdir(root)
    out = root / "reports" / "tuning"
    assert stage("tune")([*args(root), "--out", str(out)]) == 0
    journal = root / ".optuna" / "gdlab.journal"
    before = {p: p.read_bytes() for p in [journal, *out.rglob("*")] if p.is_file()}
    _, runs_before = runs(store_root, "kept")
    data = yaml.safe_load(params_path.read_text())
    data["tune"]["space"]["optimizer.learning_rate"] = {"low": 1e-4, "high": 1e-3, "log": True}
    params_path.write_text(yaml.safe_dump(data, sort_keys=False))
    capsys.readouterr()

    assert stage("tune")([*args(root), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "tune: study mystudy (tune.study_name) holds 1 trial searched over another "
        "tune.space: optimizer.learning_rate was {low: 0.1, high: 0.3, log: true}, is now "
        "{low: 0.0001, high: 0.001, log: true}."
    ), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert {p: p.read_bytes() for p in [journal, *out.rglob("*")] if p.is_file()} == before
    _, runs_after = runs(store_root, "kept")
    assert len(runs_after) == len(runs_before)
