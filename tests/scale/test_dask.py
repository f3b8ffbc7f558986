"""Issue 7, acceptance 1: a real Dask scheduler with two worker processes on 127.0.0.1 runs the
cross-validation and the tuning trials, and gives the same results (to 1e-12) as local joblib
with the same seed. The work is checked to have run on the Dask workers (task stream)."""

from __future__ import annotations

import logging
import math
import os
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

import joblib
import numpy as np
import pytest
from dask import distributed

from gdlab.config import validate_params
from gdlab.experiment import run_training
from gdlab.parallel import ParallelUnavailable, parallel_backend

TOL = 1e-12


@contextmanager
def _environ_restored(environ: dict) -> Iterator[None]:
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(environ)


@pytest.fixture(scope="module")
def cluster():
    """A scheduler and two single-threaded worker processes, all on 127.0.0.1. Dask's nanny
    sets its workers' variables (OMP_NUM_THREADS=1, ...) in this process too: undone after."""
    environ = dict(os.environ)
    with _environ_restored(environ), distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.WARNING,
    ) as local, distributed.Client(local, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=120)
        yield local, client


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(360, 6)) * [1.0, 3.0, 0.5, 1.0, 2.0, 1.0]
    y = (X @ rng.normal(size=6) + rng.normal(scale=0.5, size=360) > 0).astype(np.int64)
    return X, y


def make_params(**sections):
    base = {
        "seed": 3,
        "train": {"max_epochs": 12, "batch_size": 32, "tol": None},
        "cv": {"folds": 3, "n_jobs": 2},
        "compare": {"enabled": False},
    }
    base.update(sections)
    return validate_params(base, "test")


def dask_config(cluster) -> dict:
    local, _ = cluster
    return {"backend": "dask", "scheduler": local.scheduler_address, "timeout": 60.0}


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=TOL, abs_tol=TOL)


def assert_curves_equal(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for key in a:
        assert len(a[key]) == len(b[key]), key
        assert all(close(x, y) for x, y in zip(a[key], b[key], strict=True)), key


def task_names(stream) -> list[str]:
    return [task["key"] if isinstance(task["key"], str) else str(task["key"]) for task in stream]


def test_cv_on_dask_matches_local_joblib(cluster, data):
    X, y = data
    params = make_params()
    local = run_training(params, X, y, progress=False)
    _, client = cluster
    with distributed.get_task_stream(client=client) as stream:
        with parallel_backend(dask_config(cluster)) as info:
            assert info.backend == "dask" and info.n_workers == 2 and info.n_threads == 2
            assert info.describe().endswith("(2 workers, 2 threads)")
            remote = run_training(params, X, y, progress=False)
    ran = task_names(stream.data)
    assert any("_run_fold" in name for name in ran), ran  # the folds ran on the Dask workers
    workers = {task["worker"] for task in stream.data if "_run_fold" in str(task["key"])}
    assert workers and workers <= set(client.nthreads())

    assert [f.fold for f in remote.cv.folds] == [f.fold for f in local.cv.folds] == [1, 2, 3]
    for a, b in zip(local.cv.folds, remote.cv.folds, strict=True):
        assert (a.n_train, a.n_val, a.n_iter) == (b.n_train, b.n_val, b.n_iter)
        assert_curves_equal(a.curves, b.curves)
        assert set(a.scores) == set(b.scores)
        assert all(close(a.scores[k], b.scores[k]) for k in a.scores), (a.scores, b.scores)
    for key, value in local.cv.mean().items():
        assert close(value, remote.cv.mean()[key])
    # the refit runs in this process either way
    assert_curves_equal(local.refit.curves, remote.refit.curves)


def _trials(outcome) -> dict[int, tuple]:
    return {
        t.number: (t.state.name, dict(t.params), t.value, dict(t.intermediate_values))
        for t in outcome.trials()
    }


def test_tuning_trials_on_dask_match_local_joblib(cluster, data, tmp_path):
    from gdlab.tuning import plan_search, run_search

    X, y = data
    params = make_params(
        tune={
            "enabled": True,
            "strategy": "grid",
            "pruner": "none",
            "n_trials": None,
            "n_jobs": 2,
            "space": {
                "optimizer.learning_rate": {"choices": [0.003, 0.03]},
                "train.batch_size": {"choices": [16, 64]},
            },
            "heatmap": {"enabled": False},
        }
    )
    local = run_search(plan_search(params, X, y, storage=str(tmp_path / "local.journal")))
    _, client = cluster
    with distributed.get_task_stream(client=client) as stream:
        with parallel_backend(dask_config(cluster)):
            remote = run_search(plan_search(params, X, y, storage=str(tmp_path / "dask.journal")))
    assert any("run_one_trial" in name for name in task_names(stream.data))

    a, b = _trials(local), _trials(remote)
    assert sorted(a) == sorted(b) == [0, 1, 2, 3]
    for number in a:
        state_a, params_a, value_a, steps_a = a[number]
        state_b, params_b, value_b, steps_b = b[number]
        assert state_a == state_b == "COMPLETE"
        assert params_a == params_b
        assert close(value_a, value_b)
        assert sorted(steps_a) == sorted(steps_b) == [0, 1, 2]
        assert all(close(steps_a[s], steps_b[s]) for s in steps_a)
    assert len({tuple(sorted(p.items())) for _, p, _, _ in a.values()}) == 4  # the whole grid
    assert local.best_params() == remote.best_params()
    records = {r.number: r for r in remote.records}
    for r in local.records:
        assert_curves_equal(r.curves, records[r.number].curves)


def test_workers_without_this_gdlab_are_refused_and_other_numpy_warned(cluster):
    import copy

    from gdlab.parallel import CHECKED_PACKAGES, check_workers

    _, client = cluster
    versions = client.get_versions(packages=list(CHECKED_PACKAGES))
    check_workers(versions)  # the test cluster runs this very environment
    address = sorted(versions["workers"])[0]
    without = copy.deepcopy(versions)
    without["workers"][address]["packages"]["gdlab"] = None  # not installed there
    with pytest.raises(ParallelUnavailable, match=(
            rf"Dask workers must run this gdlab \(.+\): {address} has none; install")):
        check_workers(without)
    older = copy.deepcopy(versions)
    older["workers"][address]["packages"]["numpy"] = "1.26.0"
    with pytest.warns(UserWarning, match=f"another numpy .*{address} has 1.26.0"):
        check_workers(older)


def test_workers_running_other_gdlab_code_are_refused(cluster):
    """gdlab is 0.1.0 at every commit: equal versions say nothing of the code. Each worker
    reports a digest of its gdlab (and plug-in) code; another checkout, a worker that cannot
    report it (no gdlab, or one without gdlab.running_code) or one that imported gdlab
    before its files changed is refused, named, with how to restart it."""
    import copy

    from gdlab.parallel import CHECKED_PACKAGES, _code_of, check_workers

    _, client = cluster
    versions = client.get_versions(packages=list(CHECKED_PACKAGES))
    code = _code_of(client, ["examples.lion:lion"])
    assert set(code["workers"]) == set(versions["workers"])
    check_workers(versions, code)  # the test cluster runs this very checkout
    address = sorted(code["workers"])[0]
    restart = r"restart them with this checkout's src on their PYTHONPATH"

    other = copy.deepcopy(code)
    other["workers"][address]["code"]["gdlab"] = "0" * 16  # one line changed in cv.py
    with pytest.raises(ParallelUnavailable, match=(
            rf"run this checkout's code: {address} runs other gdlab code; {restart}")):
        check_workers(versions, other)

    older = copy.deepcopy(code)  # its gdlab lacks gdlab.running_code: Client.run's answer
    older["workers"][address] = Exception('ModuleNotFoundError("No module named '
                                          "'gdlab.running_code'\")")
    with pytest.raises(ParallelUnavailable, match=(
            rf"{address} cannot report its code, another gdlab \(Exception: "
            r"ModuleNotFoundError.*{restart}".replace("{restart}", restart))):
        check_workers(versions, older)

    stale = copy.deepcopy(code)  # imported gdlab, then the checkout was edited
    stale["workers"][address]["edited"] = ["gdlab/experiment/cv.py"]
    with pytest.raises(ParallelUnavailable, match=(
            rf"{address} imported its code before gdlab/experiment/cv.py changed \(a running "
            r"process keeps the modules it imported\)")):
        check_workers(versions, stale)

    assert code["client"]["code"]["examples.lion"] is not None  # the project's examples/
    lacking = copy.deepcopy(code)  # a worker whose sys.path lacks the project
    lacking["workers"][address]["code"]["examples.lion"] = None
    with pytest.raises(ParallelUnavailable,
                       match=f"{address} cannot import the plug-in examples.lion"):
        check_workers(versions, lacking)


def test_unreachable_scheduler_is_named(free_port):
    config = {"backend": "dask", "scheduler": f"tcp://127.0.0.1:{free_port}", "timeout": 1.0}
    with pytest.raises(ParallelUnavailable, match=f"127.0.0.1:{free_port}"):
        with parallel_backend(config):
            pass


def test_joblib_backend_changes_nothing(data):
    from joblib.parallel import get_active_backend

    with parallel_backend(make_params().parallel) as info:
        assert info.backend == "joblib" and info.describe().startswith("joblib")
        backend, _ = get_active_backend()  # no dask client attached
        assert "Dask" not in type(backend).__name__


def run_stage_on(cluster, tmp_path, monkeypatch, stage: str, **sections) -> tuple[str, list]:
    """Run ``pipeline/<stage>.py`` in ``tmp_path`` with ``parallel`` pointing at ``cluster``;
    returns the MLflow store URI and the names of the tasks the cluster ran meanwhile."""
    import runpy
    import sys
    from pathlib import Path

    import yaml

    from gdlab.data import prepare_dataset

    local, client = cluster
    for key in [k for k in os.environ if k.startswith(("MLFLOW_", "DVC_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("CI", "1")
    monkeypatch.chdir(tmp_path)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    raw = {
        "seed": 3,
        "data": {"synthetic": {"n_samples": 300, "n_features": 5, "n_informative": 3}},
        "train": {"max_epochs": 8, "batch_size": 32, "tol": None},
        "cv": {"folds": 3, "n_jobs": 2},
        "tracking": {"uri": store},
        "live": {"interval": None},
        "compare": {"enabled": False},
        "parallel": {"backend": "dask", "scheduler": local.scheduler_address},
        **sections,
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    prepare_dataset(validate_params(raw, "params.yaml"), tmp_path / "data" / "prepared")
    script = Path(__file__).resolve().parents[2] / "pipeline" / f"{stage}.py"
    monkeypatch.setattr(sys, "argv", [str(script)])
    # the stage sets MLflow's variables in-process: undone after
    with _environ_restored(dict(os.environ)), distributed.get_task_stream(client=client) as stream:
        with pytest.raises(SystemExit) as exited:
            runpy.run_path(str(script), run_name="__main__")
    assert exited.value.code == 0
    return store, task_names(stream.data)


def test_train_stage_sends_its_folds_to_the_configured_cluster(cluster, tmp_path, monkeypatch):
    """``parallel: {backend: dask, scheduler: ...}`` in params.yaml: the train stage's folds
    run on the cluster and the stage alone logs them (tag ``gdlab.parallel``)."""
    from mlflow.tracking import MlflowClient

    store, tasks = run_stage_on(cluster, tmp_path, monkeypatch, "train")
    assert sum("_run_fold" in name for name in tasks) >= 1

    mlflow_client = MlflowClient(tracking_uri=store)
    experiment = mlflow_client.get_experiment_by_name("gdlab")
    runs = mlflow_client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert parent.info.status == "FINISHED" and parent.data.tags["gdlab.parallel"] == "dask"
    folds = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(folds) == 3
    for fold in folds:
        history = mlflow_client.get_metric_history(fold.info.run_id, "train_loss")
        assert sorted(m.step for m in history) == list(range(8))


def test_tune_stage_sends_its_trials_to_the_configured_cluster(cluster, tmp_path, monkeypatch):
    """The tune stage with ``parallel.backend: dask`` and ``tune.n_jobs: 2``: the trials (and
    the heat-map cells) run on the cluster, the stage alone logs one nested run per trial, and
    the study is the one a joblib run of the same parameters uses (the backend is not part of
    what a trial computes, so switching it resumes the study)."""
    import json

    from mlflow.tracking import MlflowClient

    from gdlab.tuning.search import plan_search

    tune = {
        "enabled": True,
        "strategy": "grid",
        "pruner": "none",
        "n_trials": None,
        "n_jobs": 2,
        "space": {"optimizer.learning_rate": {"choices": [0.003, 0.03]}},
        "heatmap": {"enabled": True, "learning_rates": [0.01, 0.1], "batch_sizes": [16, 64]},
    }
    store, tasks = run_stage_on(cluster, tmp_path, monkeypatch, "tune", tune=tune)
    # two grid trials and four heat-map cells, each one task on the workers
    assert sum("run_one_trial" in name for name in tasks) == 2 + 4

    best = json.loads((tmp_path / "reports" / "tuning" / "best_params.json").read_text())
    assert best["trials"] == {"COMPLETE": 2}
    client = MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("gdlab")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("gdlab.stage") == "tune"
                 and "mlflow.parentRunId" not in r.data.tags]
    assert parent.info.status == "FINISHED" and parent.data.tags["gdlab.parallel"] == "dask"
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted(c.info.status for c in children) == ["FINISHED", "FINISHED"]  # one per trial

    import yaml

    raw = yaml.safe_load((tmp_path / "params.yaml").read_text())
    raw["parallel"] = {"backend": "joblib"}
    params = validate_params(raw, "params.yaml")
    X, y = np.arange(20.0).reshape(4, 5), np.zeros(4, dtype=np.int64)  # 4 distinct rows
    same = plan_search(params, X, y, storage="unused", data_digest="d").spec.name
    raw["parallel"] = {"backend": "dask", "scheduler": "tcp://127.0.0.1:1"}
    assert plan_search(
        validate_params(raw, "params.yaml"), X, y, storage="unused", data_digest="d"
    ).spec.name == same


def test_the_tune_stage_checks_the_workers_run_its_plug_ins(cluster, tmp_path, monkeypatch):
    """Dask workers are checked for the plug-ins params.yaml names as for gdlab's code (a
    worker running another examples/lion.py would tune another optimiser): the tune stage,
    like train and compare, asks every worker for their code at both of its blocks."""
    import gdlab.parallel

    asked: list[list[str]] = []
    code_of = gdlab.parallel._code_of

    def recording(client, plugins):
        asked.append(list(plugins))
        return code_of(client, plugins)

    monkeypatch.setattr(gdlab.parallel, "_code_of", recording)
    tune = {
        "enabled": True, "strategy": "grid", "pruner": "none", "n_trials": None, "n_jobs": 2,
        "space": {"optimizer.learning_rate": {"choices": [0.003]}},
        "heatmap": {"enabled": True, "learning_rates": [0.01], "batch_sizes": [16]},
    }
    run_stage_on(cluster, tmp_path, monkeypatch, "tune", tune=tune,
                 optimizer={"name": "examples.lion:lion", "learning_rate": 0.001})
    assert asked == [["examples.lion:lion"], ["examples.lion:lion"]]


def test_losing_the_scheduler_mid_work_is_named(cluster):
    """Dask cancels every pending future with reason 'scheduler-connection-lost' when the
    client loses its scheduler (seen killing a `dask scheduler` under a running CV): the
    stage gets ParallelUnavailable naming the scheduler, printed as one line, not a
    FutureCancelledError with distributed's traceback."""
    from distributed.client import FutureCancelledError

    config = dask_config(cluster)
    lost = FutureCancelledError("batch_of__run_fold-1", "scheduler-connection-lost",
                                "Client lost the connection to the scheduler.")
    with pytest.raises(ParallelUnavailable,
                       match=f"lost the Dask scheduler {config['scheduler']} while"):
        with parallel_backend(config):
            raise lost
    other = FutureCancelledError("batch_of__run_fold-1", "cancelled by the user")
    with pytest.raises(FutureCancelledError):
        with parallel_backend(config):
            raise other


def test_an_unavailable_cluster_ends_the_stage_with_one_line(free_port, capsys):
    from gdlab.tracking.safety import stage_exit

    config = {"backend": "dask", "scheduler": f"tcp://127.0.0.1:{free_port}", "timeout": 1.0}

    def main():
        with parallel_backend(config):
            return 0

    assert stage_exit("train", main) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"train: parallel.scheduler tcp://127.0.0.1:{free_port} did not answer")
    assert "Traceback" not in err


class _Stranger(distributed.security.Security):
    """Another local user's client: TLS with a throw-away certificate of its own, trusting
    whatever server answers (it does not care who runs the workers)."""

    def get_connection_args(self, role):
        args = super().get_connection_args(role)
        args["ssl_context"].check_hostname = False
        args["ssl_context"].verify_mode = ssl.CERT_NONE
        return args


def test_the_throw_away_local_cluster_takes_no_stranger(data):
    """scheduler: null starts a LocalCluster on 127.0.0.1; without TLS any other local user
    could connect to it and have its workers run their pickled tasks."""
    X, y = data
    params = make_params(model={"kind": "mlp", "hidden_layer_sizes": [4]},
                         parallel={"backend": "dask", "scheduler": None, "n_workers": 1})
    with parallel_backend(params.parallel) as info:
        assert info.local_cluster and info.scheduler.startswith("tls://127.0.0.1:")
        # one thread in all: joblib's dask backend offers n_jobs=1, so joblib runs the work
        # sequentially here; the stage's "parallel work on ..." line says so
        assert joblib.effective_n_jobs(-1) == 1 and info.n_threads == 1
        assert info.describe().endswith(
            "(1 worker, 1 thread: joblib runs the work here in the stage's process, one task at "
            "a time; give the workers more threads (dask worker --nthreads) or start more "
            "workers)")
        result = run_training(params, X, y, progress=False)
        # the scheduler itself refuses a client whose certificate it did not issue (a client
        # without TLS fails on its own side, "TLS expects a `ssl_context`": that proves nothing);
        # the client sees the server's alert or, when it comes first, the closed connection
        with pytest.raises(OSError, match="UNKNOWN_CA|EOF occurred in violation of protocol"):
            distributed.Client(info.scheduler, timeout="5s", set_as_default=False,
                               security=_Stranger.temporary())
    assert len(result.cv.folds) == 3
