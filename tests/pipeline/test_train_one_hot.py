"""The prepare and train stages, run in this process on a CSV: the model train logs checks the
one-hot groups prepare made of a text column, and only those (not the data's own 0/1 columns
named like them)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.exceptions import MlflowException

from gdlab.experiment.persist import load_model
from gdlab.served import ONE_HOT_KEY

REPO = Path(__file__).resolve().parents[2]


def stage(name: str):
    """The stage script ``pipeline/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(f"{name}_stage", REPO / "pipeline" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def default_tracking_uri():
    """The stages point MLflow at their store for the process: back to MLflow's default."""
    yield
    mlflow.set_tracking_uri(None)


def test_train_logs_the_one_hot_groups_prepare_made(tmp_path, monkeypatch, default_tracking_uri):
    for var in ("MLFLOW_TRACKING_URI", "DVC_ROOT", "DVC_EXP_NAME", "DVC_EXP_BASELINE_REV"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CI", "1")
    monkeypatch.setenv("GDLAB_JIT", "0")
    monkeypatch.setattr(sys, "path", list(sys.path))  # a model load prepends its code
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".dvc").mkdir()
    rng = np.random.default_rng(0)
    n = 150
    city = rng.integers(0, 3, n)
    data = pd.DataFrame({
        "x0": rng.normal(size=n).round(3),
        "city": np.array(["lima", "oslo", "rome"])[city],  # text: prepare one-hot encodes it
        "a=1": (rng.random(n) < 0.6) * 1,  # the user's own multi-hot columns (both 1 on rows)
        "a=2": (rng.random(n) < 0.3) * 1,
        "size=m": (city == 1) * 1,  # the user's own drop-first encoding: size s is both 0
        "size=l": (city == 2) * 1,
    })
    data["y"] = np.where(data["x0"] + city > 1.2, "yes", "no")
    data.to_csv(tmp_path / "rows.csv", index=False)
    params = {
        "data": {"source": "csv", "path": "rows.csv", "target": "y"},
        "train": {"max_epochs": 5, "tol": None},
        "cv": {"folds": 2, "n_jobs": 1},
        "tracking": {"uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "experiment": "one-hot"},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))

    assert stage("prepare").main(["--out", "data/prepared"]) == 0
    assert stage("train").main(["--models", "models", "--reports", "reports"]) == 0

    uri = json.loads((tmp_path / "models" / "run.json").read_text())["model_uri"]
    loaded = mlflow.pyfunc.load_model(uri)
    assert loaded.metadata.metadata[ONE_HOT_KEY] == {
        "groups": {"city": ["city=lima", "city=oslo", "city=rome"]}, "none_allowed": False}
    pipeline = load_model(tmp_path / "models" / "model.skops")
    names = list(pipeline.feature_names_in_)
    prepared = pd.read_parquet(tmp_path / "data" / "prepared" / "train.parquet")[names]
    both = prepared[(prepared["a=1"] == 1) & (prepared["a=2"] == 1)].head(2)
    size_s = prepared[(prepared["size=m"] == 0) & (prepared["size=l"] == 0)].head(2)
    rows = pd.concat([both, size_s])
    assert len(rows) == 4
    assert loaded.predict(rows).tolist() == pipeline.predict(rows).tolist()
    unseen = rows.head(1).assign(**{"city=lima": 0.0, "city=oslo": 0.0, "city=rome": 0.0})
    with pytest.raises(MlflowException, match="column 'city' sets no level in row 0 "):
        loaded.predict(unseen)
