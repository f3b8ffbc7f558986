"""Issue 7, acceptance 2: shared tracking on real services.

A throw-away PostgreSQL cluster (Debian's binaries) and a real ``mlflow server`` on it, started
as ``make server`` starts it (``python -m gdlab.server``), both on 127.0.0.1. The real
``dvc repro`` runs in a copy of the repository with ``tracking.uri`` pointing at the server;
every run, metric history, artifact and the registered model are then found through the
server, and the rows are checked to be in PostgreSQL. An Optuna study on the same PostgreSQL
(RDBStorage) is shared by two worker processes and completes its n_trials with no duplicate.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tests.pipeline.conftest import Project, copy_working_tree, deep_update
from tests.stage_env import stage_env

pytestmark = pytest.mark.slow

CURVES = ("train_loss", "val_loss", "learning_rate", "grad_norm")
MODEL = "gdlab-shared"
FOLDS = 3


def pg_query(url: str, sql: str) -> list[tuple]:
    import psycopg2

    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def repro(mlflow_server, tmp_path_factory):
    """``dvc repro`` of a small pipeline in a repository copy, tracking on the server."""
    root = tmp_path_factory.mktemp("shared-repo")
    copy_working_tree(root)
    env = stage_env(root, GDLAB_JIT="0")
    project = Project(root, env)
    small = {
        "data": {"synthetic": {"n_samples": 400, "n_features": 5, "n_informative": 3}},
        "train": {"max_epochs": 12},
        "cv": {"folds": FOLDS, "n_jobs": 1},
        "tracking": {"uri": mlflow_server.uri},
        "register": {"model_name": MODEL},
        "compare": {"enabled": False},
        "fairness": {"max_equalized_odds_difference": None},
        "tune": {"enabled": False},
    }
    project.write_params(deep_update(project.params(), small))
    project.commit_all()
    project.dvc("repro", "register", timeout=900)  # every tracked stage up to the registry
    return project


def _runs(client):
    experiment = client.get_experiment_by_name("gdlab")
    assert experiment is not None
    return experiment, client.search_runs([experiment.experiment_id], max_results=1000)


def test_pipeline_runs_land_on_the_server_and_in_postgres(repro, mlflow_server, postgres):
    from mlflow.tracking import MlflowClient

    assert "up to date" in repro.dvc("status", "register").stdout
    assert not (repro.root / "mlflow.db").exists()  # nothing went to a local store
    client = MlflowClient(tracking_uri=mlflow_server.uri)
    experiment, runs = _runs(client)
    assert experiment.artifact_location.startswith("mlflow-artifacts:")  # served by the server

    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    (train,) = [r for r in parents if r.data.tags.get("gdlab.stage") == "train"]
    assert train.info.status == "FINISHED"
    assert train.data.tags["gdlab.parallel"] == "joblib"
    handle = json.loads((repro.root / "models" / "run.json").read_text())
    assert handle["run_id"] == train.info.run_id
    # train's curves and evaluate's test metrics on the same parent run
    n_iter = int(train.data.metrics["n_iter"])
    history = client.get_metric_history(train.info.run_id, "train_loss")
    assert sorted(m.step for m in history) == list(range(n_iter))
    assert {"test_log_loss", "cv_log_loss_mean"} <= set(train.data.metrics)

    folds = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == train.info.run_id]
    assert len(folds) == FOLDS
    for fold in folds:
        assert fold.info.status == "FINISHED"
        steps = int(fold.data.metrics["n_iter"])
        for key in CURVES:
            history = client.get_metric_history(fold.info.run_id, key)
            assert sorted(m.step for m in history) == list(range(steps)), key

    artifacts = {a.path for a in client.list_artifacts(train.info.run_id)}
    assert {"figures", "model"} & artifacts, artifacts
    figure = next(a.path for a in client.list_artifacts(train.info.run_id, "figures"))
    local = Path(client.download_artifacts(train.info.run_id, figure))
    assert local.stat().st_size > 0
    stored = Path(mlflow_server.log).parent / "artifacts"
    assert any(p.is_file() for p in stored.rglob("*"))

    # the registered model, its version from this pipeline's run, and the champion alias
    model = client.get_registered_model(MODEL)
    (version,) = client.search_model_versions(f"name = '{MODEL}'")
    assert version.run_id == train.info.run_id
    assert client.get_model_version_by_alias(MODEL, "champion").version == version.version
    assert "champion" in model.aliases
    registry = json.loads((repro.root / "reports" / "registry.json").read_text())
    assert registry["promoted"]

    # ... and it is PostgreSQL that holds them
    url = postgres.url("mlflow")
    ((n_runs,),) = pg_query(url, "SELECT count(*) FROM runs")
    assert n_runs == len(runs)
    names = {row[0] for row in pg_query(url, "SELECT name FROM registered_models")}
    assert MODEL in names
    ((points,),) = pg_query(
        url, f"SELECT count(*) FROM metrics WHERE run_uuid = '{folds[0].info.run_id}'"
    )
    assert points >= len(CURVES) * int(folds[0].data.metrics["n_iter"])


def test_server_command_uses_postgres_when_configured(tmp_path, monkeypatch, capsys):
    from gdlab.server import main, parse, server_command

    monkeypatch.delenv("GDLAB_SERVER_STORE", raising=False)
    command = server_command(parse(["--port", "5123"]), root=tmp_path)
    assert command[command.index("--backend-store-uri") + 1] == f"sqlite:///{tmp_path}/mlflow.db"
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--artifacts-destination") + 1] == str(tmp_path / "mlartifacts")
    monkeypatch.setenv("GDLAB_SERVER_STORE", "postgresql://mlflow@db:5432/mlflow")
    command = server_command(parse([]), root=tmp_path)
    assert command[command.index("--backend-store-uri") + 1].startswith("postgresql://")
    assert main(["--backend-store-uri", "file:///tmp/mlruns", "--dry-run"]) == 2
    capsys.readouterr()
    assert main(["--dry-run", "--backend-store-uri", "postgresql://u@db/mlflow"]) == 0
    out = capsys.readouterr().out
    assert "(PostgreSQL)" in out and "mlflow server" in out
    # a store URL with a password is refused (tests/reliability/test_server_safety.py)


# ---------------------------------------------------------------- Optuna on PostgreSQL
def _tuning_plan(storage: str):
    from gdlab.config import validate_params
    from gdlab.tuning import plan_search

    params = validate_params(
        {
            "seed": 5,
            "train": {"max_epochs": 8, "tol": None},
            "cv": {"folds": 3, "n_jobs": 1},
            "compare": {"enabled": False},
            "tune": {
                "enabled": True,
                "strategy": "grid",
                "pruner": "none",
                "n_trials": 5,
                "space": {
                    "optimizer.learning_rate": {"choices": [0.001, 0.01, 0.1]},
                    "train.batch_size": {"choices": [16, 64]},
                },
                "heatmap": {"enabled": False},
            },
        },
        "test",
    )
    rng = np.random.default_rng(11)
    X = rng.normal(size=(240, 4))
    y = (X[:, 0] - X[:, 1] + rng.normal(scale=0.3, size=240) > 0).astype(np.int64)
    return plan_search(params, X, y, storage=storage)


def _worker(plan, turns: int) -> tuple[int, list[int]]:
    """One tuning worker (as on another machine): its own process and storage connection."""
    from gdlab.tuning import run_one_trial

    numbers = []
    for _ in range(turns):
        record = run_one_trial(plan, None)
        assert record is not None
        numbers.append(record.number)
    return os.getpid(), numbers


def test_optuna_study_on_postgres_shared_by_two_processes(postgres):
    import optuna

    from gdlab.tuning import run_search
    from gdlab.tuning.objective import DUPLICATE_OF

    postgres.create_database("optuna")
    url = postgres.url("optuna")
    plan = _tuning_plan(url)
    plan.spec.create()  # the study exists before the workers start
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        futures = [pool.submit(_worker, plan, 3), pool.submit(_worker, plan, 2)]
        done = [f.result(timeout=300) for f in futures]
    pids = {pid for pid, _ in done}
    assert len(pids) == 2 and os.getpid() not in pids
    by_worker = [set(numbers) for _, numbers in done]
    assert not by_worker[0] & by_worker[1]

    study = optuna.load_study(study_name=plan.spec.name, storage=url)
    trials = study.get_trials()
    assert len(trials) == plan.n_trials == 5
    assert sorted(t.number for t in trials) == [0, 1, 2, 3, 4] == sorted(set().union(*by_worker))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    configs = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(configs)) == 5  # no configuration ran twice
    assert not any(DUPLICATE_OF in t.user_attrs for t in trials)
    ((rows,),) = pg_query(url, "SELECT count(*) FROM trials")
    assert rows == 5

    resumed = run_search(plan)  # the budget is spent: nothing more runs
    assert resumed.records == [] and resumed.counts() == {"COMPLETE": 5}



def test_the_database_probe_connects_to_a_live_server_and_names_a_missing_database(postgres):
    """The connection tried before MLflow or Optuna open a database (a short connect timeout)
    works against a real server; one it cannot use is named in one line."""
    from gdlab.dbprobe import probe_database
    from gdlab.tuning.study import StorageUnavailable, check_storage

    probe_database(postgres.url("postgres"))
    check_storage(postgres.url("postgres"))
    missing = postgres.url("no_such_db")
    with pytest.raises(StorageUnavailable, match=r'database "no_such_db" does not exist\); start'):
        check_storage(missing)
