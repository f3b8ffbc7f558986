"""What the interrupt tests share: a configuration that trains for a while (no early stop,
stochastic batches, two fold workers) and a wait for its train stage to be mid-training."""

from __future__ import annotations

import time

from mlflow.tracking import MlflowClient

from gdlab.tracking.safety import store_lock
from tests.reliability.harness import children, cmdline, descendants

MODEL = "gdlab-interrupt"
LONG = {
    "data": {"synthetic": {"n_samples": 1000, "n_features": 8, "n_informative": 5}},
    "train": {"max_epochs": 100, "tol": None, "batch_size": 1},
    "cv": {"folds": 2, "n_jobs": 2},
    "register": {"model_name": MODEL},
    "tune": {"enabled": False},
    "compare": {"enabled": False},
}



def store(root) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")


def parents(client: MlflowClient) -> list:
    experiment = client.get_experiment_by_name("gdlab")
    if experiment is None:
        return []
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    return [r for r in runs if "mlflow.parentRunId" not in r.data.tags]


def wait_for_training(proc, root, timeout=300):
    """(run id, train.py pid) once train's run is RUNNING and its fold workers exist."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        running = []
        if (root / "mlflow.db").exists():
            try:  # under the stages' own lock: MLflow creates the tables on first open, and
                # two processes doing that at once break the migration
                with store_lock(f"sqlite:///{root / 'mlflow.db'}"):
                    running = [r for r in parents(store(root)) if r.info.status == "RUNNING"]
            except Exception:  # the store is being created
                running = []
        # the Python process itself (the parent of the fold workers): under a shell that does
        # not exec its last command (dash, CI's /bin/sh) the stage's shell is a process too
        pids = [p for p in [proc.pid, *descendants(proc.pid)] if "pipeline/train.py" in cmdline(p)]
        owners = [p for p in pids if any("loky" in cmdline(w) for w in children(p))]
        if running and owners:
            return running[0].info.run_id, owners[0]
        time.sleep(0.2)
    code = proc.poll()
    output = proc.stdout.read() if code is not None and proc.stdout else ""
    raise AssertionError(f"training never started: exit {code}\n{output}")
