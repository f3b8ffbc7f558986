"""A throw-away copy of the repository in which the real ``dvc repro`` runs.

The copy holds the working tree (tracked and untracked, minus ignored files) with a small
params.yaml, its own git repository and ``mlflow.db``; stage commands run with the virtual
environment's ``python`` first on PATH and the copy's ``src`` on PYTHONPATH.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.stage_env import copy_working_tree, stage_env

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

SMALL = {
    "data": {"synthetic": {"n_samples": 600, "n_features": 6, "n_informative": 4}},
    "train": {"max_epochs": 25},
    "cv": {"folds": 3, "n_jobs": 1},  # parallel folds are covered by tests/experiment
    "register": {"model_name": "gdlab-e2e"},
}


def deep_update(base: dict, changes: dict) -> dict:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_update(base[key], value)
        else:
            base[key] = value
    return base


@dataclass
class Project:
    root: Path
    env: dict[str, str]

    @classmethod
    def copied(cls, root: Path, changes: dict | None = None) -> Project:
        """A copy of the working tree in ``root``, its stages run without the JIT (a fresh
        copy would compile the numba kernels again in every process), params.yaml updated
        with ``changes``."""
        copy_working_tree(root)
        project = cls(root, stage_env(root, GDLAB_JIT="0"))
        project.write_params(deep_update(project.params(), changes or {}))
        return project

    @property
    def store(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"

    def run(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            list(args),
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def dvc(self, *args: str, check: bool = True, timeout: float = 300):
        return self.run(str(VENV_BIN / "dvc"), *args, check=check, timeout=timeout)

    def params(self) -> dict:
        return yaml.safe_load((self.root / "params.yaml").read_text())

    def write_params(self, data: dict) -> None:
        (self.root / "params.yaml").write_text(yaml.safe_dump(data, sort_keys=False))

    def commit_all(self, message: str = "copy of the working tree") -> None:
        """Make the copy a git repository with everything committed (DVC and the lineage
        tags read the commit)."""
        self.run("git", "init", "-q", "-b", "main")
        self.run("git", "add", "-A")
        self.run("git", "commit", "-q", "-m", message)


@pytest.fixture(scope="session")
def project(tmp_path_factory) -> Project:
    project = Project.copied(tmp_path_factory.mktemp("repo"), SMALL)
    params = project.params()
    for stage in ("compare", "tune"):  # other issues' stages, tested on their own
        if isinstance(params.get(stage), dict) and "enabled" in params[stage]:
            params[stage]["enabled"] = False
    project.write_params(params)
    project.commit_all()
    return project


def stage(name: str):
    """The stage script ``pipeline/<name>.py`` as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"{name}_stage", REPO / "pipeline" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def csv_train(tmp_path, monkeypatch):
    """In ``tmp_path`` as the working directory: ``csv_train(rows, target, experiment)`` writes
    ``rows`` to ``rows.csv`` and a params.yaml reading it (5 epochs, 2 folds, a SQLite store in
    ``tmp_path``; ``changes``: nested sections merged into it), then runs the prepare and train
    stage scripts in this process. MLflow's tracking URI goes back to its default afterwards."""
    import mlflow

    for var in ("MLFLOW_TRACKING_URI", "DVC_ROOT", "DVC_EXP_NAME", "DVC_EXP_BASELINE_REV"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CI", "1")
    monkeypatch.setenv("GDLAB_JIT", "0")
    monkeypatch.setattr(sys, "path", list(sys.path))  # a model load prepends its code
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".dvc").mkdir()

    def train(rows, target: str, experiment: str, changes: dict | None = None) -> None:
        rows.to_csv(tmp_path / "rows.csv", index=False)
        params = {
            "data": {"source": "csv", "path": "rows.csv", "target": target},
            "train": {"max_epochs": 5, "tol": None},
            "cv": {"folds": 2, "n_jobs": 1},
            "tracking": {"uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "experiment": experiment},
        }
        deep_update(params, changes or {})
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
        assert stage("prepare").main(["--out", "data/prepared"]) == 0
        assert stage("train").main(["--models", "models", "--reports", "reports"]) == 0

    yield train
    mlflow.set_tracking_uri(None)
