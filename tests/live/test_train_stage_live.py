"""The real train stage, in a subprocess: its fold runs' curves are read from MLflow while it
is still training, and end with every epoch exactly once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from gdlab.config import load_params
from gdlab.data import prepare_dataset
from gdlab.tracking.safety import store_lock

REPO = Path(__file__).resolve().parents[2]
EPOCHS = 20
HOLD = 24  # the step every fit waits at: in epoch 5 of a fold (320 rows, batches of 64)

pytestmark = pytest.mark.slow  # a real stage process with two joblib workers


def test_train_stage_streams_fold_curves_while_running(tmp_path, monkeypatch):
    (tmp_path / ".dvc").mkdir()
    gate = tmp_path / "go-on"  # every fit waits at step HOLD until it exists
    shutil.copy(Path(__file__).with_name("slow_opts.py"), tmp_path / "slow_opts.py")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({
        "data": {"synthetic": {"n_samples": 600, "n_features": 5, "n_informative": 3}},
        "optimizer": {"name": "slow_opts:slow_sgd", "learning_rate": 0.05,
                      "params": {"pause": 0.002, "hold_at": HOLD, "gate": str(gate)}},
        "train": {"max_epochs": EPOCHS, "tol": None, "batch_size": 64},
        "cv": {"folds": 3, "n_jobs": 2},
        "live": {"interval": 0.5},
    }))
    monkeypatch.syspath_prepend(str(tmp_path))  # the user's slow_opts.py, for validation here
    prepare_dataset(load_params(tmp_path / "params.yaml"), tmp_path / "data" / "prepared")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLFLOW_", "DVC_")) and k not in ("CI", "PYTHONPATH")}
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "pipeline" / "train.py")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    seen_while_running = None
    deadline = time.monotonic() + 240
    try:
        while proc.poll() is None and time.monotonic() < deadline and not seen_while_running:
            time.sleep(0.25)
            if not (tmp_path / "mlflow.db").exists():
                continue
            try:  # under the stage's lock: two first opens of a store race in its migration
                with store_lock(f"sqlite:///{tmp_path / 'mlflow.db'}"):
                    experiment = client.get_experiment_by_name("gdlab")
                    runs = client.search_runs([experiment.experiment_id]) if experiment else []
            except Exception:  # noqa: BLE001 - the store is still being created
                continue
            for run in runs:
                if "gdlab.fold" not in run.data.tags or run.info.status != "RUNNING":
                    continue
                history = client.get_metric_history(run.info.run_id, "train_loss")
                if history and proc.poll() is None:
                    seen_while_running = (run.info.run_id, sorted(m.step for m in history))
                    break
        gate.touch()
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert seen_while_running is not None, "no fold curve was in MLflow during training"
    run_id, steps = seen_while_running
    assert 0 < len(steps) < EPOCHS and steps == list(range(len(steps)))

    experiment = client.get_experiment_by_name("gdlab")
    folds = [r for r in client.search_runs([experiment.experiment_id])
             if "gdlab.fold" in r.data.tags]
    assert len(folds) == 3 and all(r.info.status == "FINISHED" for r in folds)
    assert run_id in {r.info.run_id for r in folds}
    for run in folds:
        for key in ("train_loss", "val_loss", "learning_rate", "grad_norm"):
            history = client.get_metric_history(run.info.run_id, key)
            assert sorted(m.step for m in history) == list(range(EPOCHS)), key
    # the terminal shows the progress bar's lines (not a terminal here: plain lines)
    assert "fold 1" in err and "loss" in err and "lr 0.05" in err
