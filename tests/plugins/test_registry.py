"""A plug-in schedule and model (a user's own module) survive what the registry needs: the
skops file trusts their module (named in params) and the logged MLflow model carries it."""

from __future__ import annotations

import sys
import textwrap

import mlflow
import numpy as np
import pandas as pd
import pytest

from gdlab.config import validate_params
from gdlab.config.plugin_path import import_paths
from gdlab.experiment import build_pipeline
from gdlab.experiment.persist import load_model, save_model
from gdlab.tracking.model import log_sklearn_model

MODULE = textwrap.dedent('''
    from functools import partial

    import numpy as np


    def _halving(base_lr, every, epoch):
        return base_lr * 0.5 ** (epoch // every)


    def halving(base_lr, every=10):
        return partial(_halving, base_lr, every)


    class Quadratic:
        def init_params(self, n_features, n_outputs, rng, dtype):
            return [np.zeros((n_features, n_outputs), dtype),
                    np.zeros((n_features, n_outputs), dtype), np.zeros(n_outputs, dtype)]

        def forward(self, params, X):
            w, v, b = params
            X2 = X * X
            return X @ w + X2 @ v + b, (X, X2)

        def backward(self, params, cache, dZ, grads):
            X, X2 = cache
            grads[0][...] = X.T @ dZ
            grads[1][...] = X2.T @ dZ
            grads[2][...] = dZ.sum(axis=0)

        def penalized(self, params):
            return [True, True, False]


    def quadratic():
        return Quadratic()
''')


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / ".dvc").mkdir()
    (tmp_path / "my_plugins.py").write_text(MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("GDLAB_JIT", "0")
    monkeypatch.delitem(sys.modules, "my_plugins", raising=False)  # each test: its own copy
    for var in ("MLFLOW_TRACKING_URI", "DVC_ROOT"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def _fitted(project):
    params = validate_params({
        "model": {"kind": "my_plugins:quadratic", "task": "regression"},
        "schedule": {"name": "my_plugins:halving", "params": {"every": 20}},
        "optimizer": {"name": "examples.lion:lion", "learning_rate": 0.02},
        "train": {"max_epochs": 60, "batch_size": 32},
    })
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    y = X["a"].to_numpy() ** 2 - X["b"].to_numpy() + rng.normal(scale=0.1, size=200)
    return params, build_pipeline(params).fit(X, y), X


def test_saved_model_trusts_only_the_plugins_params_names(project):
    params, model, X = _fitted(project)
    assert import_paths(params) == ["examples.lion:lion", "my_plugins:halving",
                                    "my_plugins:quadratic"]
    types = save_model(model, project / "model.skops")
    assert {"my_plugins.Quadratic", "my_plugins._halving"} <= set(types)
    loaded = load_model(project / "model.skops", plugins=import_paths(params))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    with pytest.raises(ValueError, match="refusing to trust: .*my_plugins") as refused:
        load_model(project / "model.skops")  # not named: not trusted
    assert str(refused.value).endswith(  # and what to do about it
        "name every plug-in the params name: load_model(path, plugins=['module:factory', ...])")


def test_logged_model_carries_the_plugin_module(project):
    _, model, X = _fitted(project)
    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    experiment = mlflow.create_experiment("plugins", (project / "mlruns").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        info = log_sklearn_model(model, X.head(5), name="model")  # loads it back to verify
    local = mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(project / "dl"))
    code = {p.name for p in (project / "dl").rglob("*.py")} if local else set()
    assert "my_plugins.py" in code  # the project's module travels with the model
    assert "lion.py" not in code  # examples/ is outside this project (and Lion is a name)
    loaded = mlflow.sklearn.load_model(info.model_uri)
    np.testing.assert_allclose(loaded.predict(X.head(5)), model.predict(X.head(5)))


def test_a_champion_using_a_plugin_params_no_longer_names_is_not_compared(project):
    """The champion trained with a plug-in schedule; params.yaml has since dropped it, and the
    data changed (so register would score the champion again). gdlab loads no code it is not
    told to trust: the new version is registered as challenger, not compared, and the reason
    names the type and what to do. Before, register refused and registered nothing, on every
    run, with a remedy (``load_model(path, plugins=...)``) a pipeline user cannot apply."""
    from mlflow import MlflowClient

    from gdlab.tracking import pipeline_run, register_and_gate
    from gdlab.tracking.champion import TestSet

    params, champion, X = _fitted(project)
    plain = validate_params({"model": {"task": "regression"}, "train": {"max_epochs": 20}})
    y = X["a"].to_numpy() ** 2 - X["b"].to_numpy()
    challenger = build_pipeline(plain).fit(X, y)
    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    client = MlflowClient()
    experiment = client.create_experiment("gate", (project / "mlruns").as_uri())

    def register(model, digest, plugins):
        with pipeline_run(experiment_id=experiment) as run:
            info = log_sklearn_model(model, X.head(3), include_code=False, verify=False)
        return register_and_gate(
            client, model_name="plugged", model_uri=info.model_uri, run_id=run.info.run_id,
            metric="rmse", value=0.5, task="regression", tags={"gdlab.data_digest": digest},
            test_set=TestSet(X, y, "regression", digest, plugins=tuple(plugins)))

    register(champion, "digest-a", import_paths(params))
    decision = register(challenger, "digest-b", [])  # other data, no plug-in named now

    assert not decision.promoted and decision.version == "2"
    assert decision.champion_evaluation == "not compared: untrusted plug-in"
    assert decision.reason.startswith("not compared with champion v1, whose model uses ")
    assert "my_plugins._halving" in decision.reason
    assert "name that plug-in in params.yaml again to compare them" in decision.reason
    assert str(client.get_model_version_by_alias("plugged", "champion").version) == "1"
    assert str(client.get_model_version_by_alias("plugged", "challenger").version) == "2"


def test_a_logged_plugin_package_carries_only_its_python_source(project):
    """A plug-in package holding a data file (a checkpoint) and notes: the logged model's
    ``code/`` has the package's ``.py`` files in their structure and nothing else (before,
    the whole folder was uploaded with every model), and the model still loads with MLflow
    in a fresh process elsewhere, where the package is importable only from ``code/``."""
    import os
    import subprocess
    from pathlib import Path

    import gdlab

    package = project / "plugpkg"
    (package / "sub").mkdir(parents=True)
    (package / "data").mkdir()
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "shapes.py").write_text(MODULE)
    (package / "model.py").write_text("from plugpkg.sub.shapes import Quadratic, quadratic\n")
    (package / "data" / "checkpoint.bin").write_bytes(b"\0" * 4096)
    (package / "notes_secret.txt").write_text("token=hunter2\n")
    (package / "sub" / "__pycache__").mkdir()
    (package / "sub" / "__pycache__" / "shapes.cpython-311.pyc").write_bytes(b"stale")
    params = validate_params({"model": {"kind": "plugpkg.sub.shapes:quadratic",
                                        "task": "regression"}, "train": {"max_epochs": 5}})
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 2)), columns=["a", "b"])
    model = build_pipeline(params).fit(X, X["a"] ** 2)
    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    experiment = mlflow.create_experiment("plugins", (project / "mlruns").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        info = log_sklearn_model(model, X.head(5), name="model")
    local = mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(project / "dl"))
    code = project / "dl" / "code" / "plugpkg"
    assert local and code.is_dir()
    carried = sorted(p.relative_to(code).as_posix() for p in code.rglob("*") if p.is_file())
    assert carried == ["__init__.py", "model.py", "sub/__init__.py", "sub/shapes.py"]

    elsewhere = project / "elsewhere"
    elsewhere.mkdir()
    script = (
        "import mlflow.sklearn, numpy as np, pandas as pd, sys\n"
        f"m = mlflow.sklearn.load_model({str(project / 'dl')!r})\n"
        "X = pd.DataFrame(np.array([[1.0, 2.0], [-1.0, 0.5]]), columns=['a', 'b'])\n"
        "print(sys.modules['plugpkg.sub.shapes'].__file__, *m.predict(X))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(gdlab.__file__).parents[1])}  # not the project
    out = subprocess.run([sys.executable, "-c", script], cwd=elsewhere, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    imported, *predicted = out.stdout.split()
    assert imported == str(code / "sub" / "shapes.py")  # the model's copy: nothing else has it
    X2 = pd.DataFrame(np.array([[1.0, 2.0], [-1.0, 0.5]]), columns=["a", "b"])
    np.testing.assert_allclose([float(v) for v in predicted], model.predict(X2), rtol=1e-12)
