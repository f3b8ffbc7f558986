"""A small project directory in which the real stage scripts (``pipeline/*.py``) run in-process,
and a snapshot of everything a failure could damage: the stages' output files, the MLflow runs
and the model registry.

In-process runs avoid a Python start-up and an MLflow import per stage, so a whole pipeline on a
tiny configuration takes seconds. The order and the gating are DVC's: validate first, and a
stage only runs when the one before succeeded.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib.util
import io
import os
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.stage_env import VENV_BIN, stage_env
from tests.stage_env import copy_working_tree as _copy_tree

REPO = Path(__file__).resolve().parents[2]
STAGES = ("validate", "prepare", "train", "evaluate", "register")
OUTPUT_DIRS = ("data/prepared", "models", "reports")

TINY: dict[str, Any] = {
    "data": {
        "synthetic": {
            "n_samples": 300,
            "n_features": 4,
            "n_informative": 3,
            "sensitive_group": True,
        }
    },
    "train": {"max_epochs": 12, "batch_size": 32},
    "cv": {"folds": 2, "n_jobs": 1},
    "register": {"model_name": "gdlab-rel"},
}
"""A configuration on which the whole pipeline takes a few seconds."""

_ENV_DROP = ("MLFLOW_TRACKING_URI", "DVC_ROOT", "DVC_EXP_NAME", "DVC_EXP_BASELINE_REV")


def deep_update(base: dict, changes: dict) -> dict:
    """``base`` updated in place with nested ``changes`` (a ``None`` value is set, not deleted)."""
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_update(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (closed again at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_MODULES: dict[str, Any] = {}


def stage_module(name: str) -> Any:
    """``pipeline/<name>.py`` imported as a module (once)."""
    if name not in _MODULES:
        spec = importlib.util.spec_from_file_location(
            f"gdlab_stage_{name}", REPO / "pipeline" / f"{name}.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _MODULES[name] = module
    return _MODULES[name]


@dataclass
class StageResult:
    stage: str
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class State:
    """What a failed stage must leave untouched."""

    files: dict[str, str]
    runs: dict[str, str]
    versions: dict[tuple[str, str], dict[str, str]]
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class Project:
    """A project root (``.dvc`` marker, ``params.yaml``, ``mlflow.db``) for in-process stages."""

    root: Path
    base: dict

    @property
    def store(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"

    def client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.store)

    def write_params(self, changes: dict | None = None) -> dict:
        params = deep_update(copy.deepcopy(self.base), changes or {})
        (self.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        return params

    @contextlib.contextmanager
    def inside(self, env: dict[str, str] | None = None):
        """cwd = root, tracking variables cleared (``env`` added), MLflow reset afterwards."""
        old_cwd, old_env = Path.cwd(), dict(os.environ)
        for var in _ENV_DROP:
            os.environ.pop(var, None)
        os.environ["CI"] = "1"
        os.environ.update(env or {})
        os.chdir(self.root)
        try:
            yield self
        finally:
            while mlflow.active_run():
                mlflow.end_run()
            os.chdir(old_cwd)
            os.environ.clear()
            os.environ.update(old_env)
            mlflow.set_tracking_uri(None)

    def stage(self, name: str, *args: str, env: dict[str, str] | None = None) -> StageResult:
        """Run ``pipeline/<name>.py`` in-process as ``python pipeline/<name>.py`` would (one
        clear line and exit 1 for divergence or an unreachable store, see stage_exit)."""
        from gdlab.tracking.safety import stage_exit

        module = stage_module(name)
        out, err = io.StringIO(), io.StringIO()
        with self.inside(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = stage_exit(name, lambda: module.main(list(args)))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        return StageResult(name, int(code or 0), out.getvalue(), err.getvalue())

    def repro(self, upto: str = "register", env: dict[str, str] | None = None) -> list[StageResult]:
        """Run the stages in DVC's order up to ``upto``, stopping at the first failure."""
        results = []
        for name in STAGES[: STAGES.index(upto) + 1]:
            result = self.stage(name, env=env)
            results.append(result)
            if result.code != 0:
                break
        return results

    def snapshot(self) -> State:
        files = {}
        for directory in OUTPUT_DIRS:
            for path in sorted((self.root / directory).rglob("*")):
                if path.is_file():
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                    files[str(path.relative_to(self.root))] = digest
        client = self.client()
        runs = {}
        for experiment in client.search_experiments():
            for run in client.search_runs([experiment.experiment_id], max_results=5000):
                runs[run.info.run_id] = run.info.status
        versions, aliases = {}, {}
        for model in client.search_registered_models():
            aliases[model.name] = dict(model.aliases or {})
            for version in client.search_model_versions(f"name = '{model.name}'"):
                versions[(model.name, str(version.version))] = dict(version.tags or {})
        return State(files, runs, versions, aliases)


def make_project(root: Path, changes: dict | None = None, tiny: bool = True) -> Project:
    """A project at ``root`` whose params are the repository's params.yaml with ``TINY`` (and
    ``changes``) applied."""
    root.mkdir(parents=True, exist_ok=True)
    (root / ".dvc").mkdir(exist_ok=True)
    base = yaml.safe_load((REPO / "params.yaml").read_text())
    if tiny:
        deep_update(base, TINY)
    deep_update(base, changes or {})
    project = Project(root, base)
    project.write_params()
    return project


def assert_succeeded(results: list[StageResult]) -> None:
    for result in results:
        assert result.code == 0, f"{result.stage} failed:\n{result.text}"


def parent_runs(project: Project, experiment: str = "gdlab") -> list:
    client = project.client()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    runs = client.search_runs([found.experiment_id], max_results=5000)
    return [r for r in runs if "mlflow.parentRunId" not in r.data.tags]


_BASELINES: dict[str, Project] = {}


def shared_baseline(tmp_path_factory: Any, name: str = "baseline") -> Project:
    """One project per test session that has run the whole pipeline once (tiny config,
    classification with the synthetic sensitive group): outputs, MLflow runs and a champion.
    Tests that share it must leave it as they found it."""
    if name not in _BASELINES:
        project = make_project(tmp_path_factory.mktemp(name))
        assert_succeeded(project.repro())
        _BASELINES[name] = project
    return _BASELINES[name]


@pytest.fixture(scope="session")
def baseline(tmp_path_factory) -> Project:
    """The shared baseline project (:func:`shared_baseline`)."""
    return shared_baseline(tmp_path_factory)


@pytest.fixture
def untouched(baseline):
    """Asserts after the test that the baseline's outputs, runs and registry did not change,
    and restores its good params.yaml."""
    before = baseline.snapshot()
    yield baseline
    baseline.write_params()
    after = baseline.snapshot()
    assert after.files == before.files, "stage outputs changed"
    assert after.runs == before.runs, "MLflow runs were added or changed status"
    assert after.versions == before.versions, "model versions changed"
    assert after.aliases == before.aliases, "registry aliases moved"


def copy_working_tree(dest: Path) -> None:
    """:func:`tests.stage_env.copy_working_tree`, plus numba's cache of the kernels."""
    import shutil

    _copy_tree(dest)
    # numba's on-disk cache of the compiled kernels (valid in the copy: copy2 keeps mtimes)
    for cached in (REPO / "src/gdlab/core/fast/__pycache__").glob("*.nb[ic]"):
        target = dest / cached.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(cached, target)


def _parents() -> dict[int, int]:
    """Parent pid of every process (from /proc; Linux)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def children(pid: int) -> list[int]:
    """Process ids directly below ``pid``."""
    return [p for p, parent in _parents().items() if parent == pid]


def descendants(pid: int) -> list[int]:
    """Process ids below ``pid``, at any depth."""
    parents = _parents()
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        below = [p for p, parent in parents.items() if parent == current]
        found += below
        frontier += below
    return found


def cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def make_repo(tmp_path_factory: Any, name: str, changes: dict, **env_extra: str):
    """A copy of the working tree as its own git repository, with ``changes`` in params.yaml;
    returns (root, environment for dvc)."""
    root = tmp_path_factory.mktemp(name)
    copy_working_tree(root)
    (root / "dvc.lock").unlink(missing_ok=True)
    params = yaml.safe_load((root / "params.yaml").read_text())
    (root / "params.yaml").write_text(yaml.safe_dump(deep_update(params, changes), sort_keys=False))
    env = stage_env(root, **env_extra)
    for args in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "copy"],
    ):
        subprocess.run(args, cwd=root, env=env, check=True, capture_output=True)
    return root, env


def dvc(repo: tuple[Path, dict], *args: str, check: bool = True, timeout: float = 600):
    """Run ``dvc *args`` in ``repo`` (from make_repo)."""
    root, env = repo
    proc = subprocess.run(
        [os.path.join(VENV_BIN, "dvc"), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc
