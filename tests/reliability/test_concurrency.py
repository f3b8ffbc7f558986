"""Issue 6, point 3: parallel workers lose no metric and never hit "database is locked".

- The real train stage with four folds on two worker processes: every fold run holds every
  epoch of every curve and its validation scores (workers return results or spool them; only
  the stage process writes to SQLite).
- Several processes writing whole pipeline runs into one SQLite store at the same time (what
  two queued ``dvc exp`` workers, or a tuning run next to a training, do): none fails, none
  sees "database is locked", no point is missing.
- Two real queued ``dvc exp`` experiments run by two queue workers at once on a fresh project:
  both succeed and both land in MLflow and the registry.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.reliability.harness import (
    REPO,
    VENV_BIN,
    assert_succeeded,
    dvc,
    make_project,
    make_repo,
    parent_runs,
)

CURVES = ("train_loss", "val_loss", "learning_rate", "grad_norm")


def test_parallel_fold_workers_lose_no_metric(tmp_path):
    project = make_project(
        tmp_path / "p",
        {"cv": {"folds": 4, "n_jobs": 2}, "train": {"max_epochs": 9, "tol": None}},
    )
    assert_succeeded(project.repro(upto="train"))
    client = project.client()
    (parent,) = parent_runs(project)
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert sorted(c.data.tags["gdlab.fold"] for c in children) == ["1", "2", "3", "4"]
    for child in children:
        assert child.info.status == "FINISHED"
        assert {"val_log_loss", "val_accuracy", "n_iter"} <= set(child.data.metrics)
        assert child.data.metrics["n_iter"] == 9
        for key in CURVES:
            steps = [m.step for m in client.get_metric_history(child.info.run_id, key)]
            assert sorted(steps) == list(range(9)), (child.data.tags["gdlab.fold"], key)
    refit = [m.step for m in client.get_metric_history(parent.info.run_id, "train_loss")]
    assert sorted(refit) == list(range(9))


WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from gdlab.experiment import CVResult, FitOutcome, FoldResult
    from gdlab.tracking import log_fold_runs, log_training, open_session, pipeline_run

    name, epochs = sys.argv[1], int(sys.argv[2])
    curves = {k: list(np.linspace(1, 0.1, epochs)) for k in CURVES_HERE}
    cv = CVResult("regression", [
        FoldResult(k, 80, 20, epochs, curves, {"rmse": 0.5, "mae": 0.4, "r2": 0.9}, 0.1)
        for k in range(1, 4)
    ])
    session = open_session(None, "concurrency")
    for repeat in range(2):
        with pipeline_run(experiment_id=session.experiment_id, run_name=name,
                          tags={"writer": name}) as run:
            log_fold_runs(session.client, session.experiment_id, run.info.run_id, cv,
                          {"writer": name, "repeat": repeat})
            log_training(session.client, run.info.run_id, cv,
                         FitOutcome(None, epochs, curves, 0.1))
    print("done", name)
    """
).replace("CURVES_HERE", repr(CURVES))


def test_concurrent_writers_to_one_sqlite_store_never_lock(tmp_path):
    (tmp_path / ".dvc").mkdir()
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    env.update(PYTHONPATH=f"{REPO / 'src'}{os.pathsep}{REPO}", CI="1")
    epochs, writers = 100, 4
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), f"w{i}", str(epochs)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(writers)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    for proc, output in zip(procs, outputs, strict=True):
        assert "database is locked" not in output
        assert proc.returncode == 0, output

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("concurrency")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == writers * 2 and len(runs) == writers * 2 * 4
    assert all(r.info.status == "FINISHED" for r in runs)
    for run in runs:
        for key in CURVES:
            history = client.get_metric_history(run.info.run_id, key)
            assert sorted(m.step for m in history) == list(range(epochs))


@pytest.mark.parametrize("n_jobs", [2])
def test_fold_results_do_not_depend_on_the_number_of_workers(tmp_path, n_jobs):
    """Parallel folds give exactly what sequential folds give (nothing lost or mixed up)."""
    import numpy as np

    from gdlab.config import validate_params
    from gdlab.experiment import run_training

    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 4))
    y = (X[:, 0] + 0.3 * rng.normal(size=240) > 0).astype(int)
    base = {"cv": {"folds": 4}, "train": {"max_epochs": 8, "tol": None}}
    results = []
    for jobs in (1, n_jobs):
        params = validate_params({**base, "cv": {"folds": 4, "n_jobs": jobs}})
        results.append(run_training(params, X, y, progress=False).cv)
    sequential, parallel = results
    for a, b in zip(sequential.folds, parallel.folds, strict=True):
        assert a.fold == b.fold and a.scores == b.scores and a.curves == b.curves


QUICK = {
    "data": {"synthetic": {"n_samples": 400, "n_features": 5, "n_informative": 3}},
    "train": {"max_epochs": 10},
    "cv": {"folds": 2, "n_jobs": 1},
    "register": {"model_name": "gdlab-queue"},
    "tune": {"enabled": False},
    "compare": {"enabled": False},
}


def exp_refs(root, names: list[str]) -> list[str]:
    """The git refs of the experiments among ``names`` that DVC has collected."""
    listing = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname)", "refs/exps"],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout.split()
    return [ref for ref in listing if ref.rsplit("/", 1)[-1] in names]


@pytest.mark.slow
def test_two_queued_experiments_run_at_once_and_both_land(tmp_path_factory):
    import time

    from mlflow.tracking import MlflowClient

    repo = make_repo(tmp_path_factory, "queue", QUICK)
    root = repo[0]
    names = ["q-sgd", "q-fast"]
    dvc(repo, "exp", "run", "--queue", "-n", names[0], "-S", "optimizer.name=sgd")
    dvc(repo, "exp", "run", "--queue", "-n", names[1], "-S", "optimizer.learning_rate=0.05")
    try:
        # the workers are daemons that inherit the starting process's stdout/stderr: with
        # pipes (capture_output) `dvc queue start` would only return once they have exited,
        # i.e. after both experiments and the workers' idle time on the empty queue
        start_log = root.with_name(f"{root.name}-queue-start.log")
        with start_log.open("w") as log:
            started = subprocess.run(
                [os.path.join(VENV_BIN, "dvc"), "queue", "start", "-j", "2"],
                cwd=root, env=repo[1], stdout=log, stderr=subprocess.STDOUT, timeout=120,
            )
        assert started.returncode == 0, start_log.read_text()
        # wait for both experiments' refs (a cheap git call; a `dvc queue status` costs a
        # Python start-up and DVC's imports, CPU the two workers need), asking DVC at least
        # every 15 s so that a failed experiment ends the wait too
        deadline, status, asked = time.monotonic() + 900, "", 0.0
        while time.monotonic() < deadline:
            if len(exp_refs(root, names)) == len(names) or time.monotonic() - asked > 15:
                status, asked = dvc(repo, "queue", "status").stdout, time.monotonic()
                if not any(word in status for word in ("Queued", "Running")):
                    break
            time.sleep(0.5)
        logs = "".join(dvc(repo, "queue", "logs", n, check=False).stdout for n in names)
        assert status.count("Success") == 2, status + logs
        assert "database is locked" not in logs
        assert "OperationalError" not in logs  # e.g. "table ... already exists" on creation
    finally:
        dvc(repo, "queue", "stop", "--kill", check=False)
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("gdlab")
    runs = client.search_runs([experiment.experiment_id], "tags.gdlab.stage = 'train'")
    runs = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]  # not the fold runs
    landed = {r.data.tags.get("dvc.exp_name"): r.info.status for r in runs}
    assert landed == dict.fromkeys(names, "FINISHED")
    versions = client.search_model_versions("name = 'gdlab-queue'")
    assert len(versions) == 2
    import json

    from tests.stage_env import exp_show_metrics

    shown = json.loads(dvc(repo, "exp", "show", "--json").stdout)
    by_name = {r.data.tags.get("dvc.exp_name"): r for r in runs}
    for name in names:  # listed with their metrics: the values their MLflow runs hold
        listed = exp_show_metrics(shown, name)
        assert listed is not None, (name, json.dumps(shown)[:3000])
        test = listed["reports/metrics.json"]["test"]
        assert test["log_loss"] == pytest.approx(by_name[name].data.metrics["test_log_loss"])
