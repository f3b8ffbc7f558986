"""A throw-away SQLite tracking store per test module."""

from __future__ import annotations

import mlflow
import pytest

from gdlab.tracking import open_session


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch):
    for var in ("MLFLOW_TRACKING_URI", "DVC_ROOT", "DVC_EXP_NAME", "DVC_EXP_BASELINE_REV"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CI", "1")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A project root with its own ``mlflow.db``; returns (root, session factory)."""
    root = tmp_path_factory.mktemp("project")
    (root / ".dvc").mkdir()
    return root


@pytest.fixture
def session(store, monkeypatch):
    monkeypatch.chdir(store)
    sess = open_session(None, "tests")
    yield sess
    while mlflow.active_run():
        mlflow.end_run()
