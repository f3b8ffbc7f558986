"""Small problems and params for the tuning tests, a throw-away MLflow store, and a helper that
builds a tiny project (params.yaml + prepared data) in which the tune stage runs for real."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pytest
import yaml

from gdlab.config import Params, validate_params
from gdlab.tracking import open_session

REPO = Path(__file__).resolve().parents[2]

SMALL: dict[str, Any] = {
    "seed": 7,
    "data": {"synthetic": {"n_samples": 500, "n_features": 6, "n_informative": 4}},
    "model": {"task": "classification"},
    "optimizer": {"name": "adam", "learning_rate": 0.01},
    "train": {"batch_size": 32, "max_epochs": 15, "tol": None},
    "cv": {"folds": 3, "n_jobs": 1},
    "tune": {
        "enabled": True,
        "n_trials": 8,
        "n_startup_trials": 3,
        "heatmap": {"enabled": False},
        "space": {
            "optimizer.learning_rate": {"low": 1e-4, "high": 0.3, "log": True},
            "train.batch_size": {"choices": [32, 64]},
        },
    },
}


def deep_update(base: dict, changes: dict) -> dict:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) and key != "space":
            deep_update(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def make_params(**changes: Any) -> Params:
    """Validated params: :data:`SMALL` with ``changes`` (nested dicts) applied."""
    data = deep_update(copy.deepcopy(SMALL), changes)
    return validate_params(data, "test")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    for var in ("MLFLOW_TRACKING_URI", "DVC_ROOT", "DVC_EXP_NAME", "DVC_EXP_BASELINE_REV"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CI", "1")


@pytest.fixture(scope="session")
def classification_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(360, 6)) * [1.0, 3.0, 0.5, 1.0, 2.0, 1.0] + 1.0
    logits = X @ np.array([1.0, -0.4, 2.0, 0.0, 0.3, -1.0]) - 1.0
    y = (logits + rng.logistic(size=360) > 0).astype(np.int64)
    return X, y


@pytest.fixture(scope="session")
def store_root(tmp_path_factory) -> Path:
    """One project root with one SQLite store for the whole session (creating the tables
    takes seconds); tests tell their runs apart by parent run."""
    root = tmp_path_factory.mktemp("store")
    (root / ".dvc").mkdir()
    return root


@pytest.fixture
def session(store_root, monkeypatch):
    """An MLflow session on the shared test store."""
    monkeypatch.chdir(store_root)
    sess = open_session(None, "tuning-tests")
    yield sess
    while mlflow.active_run():
        mlflow.end_run()


def write_project(root: Path, store: Path | None = None, **changes: Any) -> Path:
    """A project in ``root``: ``.dvc`` marker, params.yaml (SMALL + changes; tracking in
    ``store/mlflow.db``, default ``root``) and ``data/prepared``; returns the params path."""
    from gdlab.data import prepare_dataset

    root.mkdir(parents=True, exist_ok=True)
    (root / ".dvc").mkdir(exist_ok=True)
    data = deep_update(copy.deepcopy(SMALL), changes)
    data.setdefault("tracking", {})["uri"] = f"sqlite:///{(store or root) / 'mlflow.db'}"
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    prepare_dataset(validate_params(data), root / "data" / "prepared")
    return path
