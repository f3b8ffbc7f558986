"""The default problem, prepared once; a throw-away project (``.dvc`` + its own mlflow.db)."""

from __future__ import annotations

import pytest

from gdlab.config import Params
from gdlab.data import load_prepared, prepare_dataset


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    for var in ("MLFLOW_TRACKING_URI", "DVC_ROOT", "DVC_EXP_NAME", "DVC_EXP_BASELINE_REV"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CI", "1")


@pytest.fixture(scope="session")
def default_problem(tmp_path_factory):
    """``(params, prepared data, project root)`` for params.yaml's defaults."""
    root = tmp_path_factory.mktemp("project")
    (root / ".dvc").mkdir()
    params = Params()
    prepare_dataset(params, root / "data" / "prepared")
    return params, load_prepared(root / "data" / "prepared"), root
