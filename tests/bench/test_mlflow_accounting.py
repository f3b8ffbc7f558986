"""The MLflow time accounting behind the benchmark's "MLflow share of the train stage"
(``bench/_mlflow_site/sitecustomize.py``): what it counts as call time and as import time."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SITE = Path(__file__).resolve().parents[2] / "bench" / "_mlflow_site"


def _accounting_module():
    spec = importlib.util.spec_from_file_location("gdlab_bench_site", SITE / "sitecustomize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # inert: GDLAB_BENCH_MLFLOW_OUT is not set here
    return module


def test_import_made_inside_a_call_counts_as_import_not_call():
    site = _accounting_module()
    acct = site._Acct()

    def call_that_imports():
        t0 = time.perf_counter()
        time.sleep(0.2)  # stands for a module MLflow imports lazily inside the call
        acct.add_import(time.perf_counter() - t0)
        time.sleep(0.01)  # the call's own work

    t0 = time.perf_counter()
    site._wrap(acct, call_that_imports, "fake.call")()
    wall = time.perf_counter() - t0
    assert acct.import_s >= 0.2
    # the call's own time only: at least its sleep, and without the import in it (which
    # would make it exceed the import time; no wall-clock upper bound on a loaded machine)
    assert 0.01 <= acct.calls_s < acct.import_s
    assert acct.calls_s + acct.import_s <= wall + 1e-9  # nothing counted twice
    assert acct.n_calls == 1 and acct.by_name["fake.call"][0] == 1


def _accounted(script: str, tmp_path: Path) -> tuple[dict, dict]:
    """The record the accounting writes for a Python process running ``script``, and its
    entry points by name."""
    out = tmp_path / "times"
    out.mkdir()
    env = dict(os.environ, GDLAB_BENCH_MLFLOW_OUT=str(out), PYTHONPATH=str(SITE))
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (record,) = [json.loads(p.read_text()) for p in out.glob("*.json")]
    return record, {entry["name"]: entry for entry in record["top"]}


def test_client_constructor_and_methods_are_counted(tmp_path):
    script = (
        "from mlflow import MlflowClient\n"
        f"client = MlflowClient({'sqlite:///' + str(tmp_path / 'mlflow.db')!r})\n"
        "client.search_experiments()\n"
    )
    record, names = _accounted(script, tmp_path)
    assert names["MlflowClient.__init__"]["calls"] == 1
    assert names["MlflowClient.search_experiments"]["calls"] == 1
    assert 0 < record["mlflow_calls_s"] < record["wall_s"]
    assert record["mlflow_import_s"] > 0


def test_hidden_module_is_not_importable_in_the_measured_processes():
    env = dict(os.environ, GDLAB_BENCH_HIDE="csv", PYTHONPATH=str(SITE))
    script = (
        "try:\n    import csv\nexcept ModuleNotFoundError as e:\n    print('hidden', e.name)\n"
        "import fractions\nprint('fractions ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines() == ["hidden csv", "fractions ok"]


def test_model_log_and_other_classmethods_of_model_are_counted(tmp_path):
    # Model.log is what every log_model calls; a model logged through a flavour module of its
    # own calls it directly, and then its time (most of the stage's MLflow time) went uncounted
    script = (
        "from mlflow.models import Model\n"
        "assert Model.log.__func__.__gdlab_bench_wrapped__\n"
        "try:\n"
        f"    Model.load({str(tmp_path / 'no-such-model')!r})\n"
        "except Exception:\n"
        "    pass\n"
        "Model().get_input_schema()\n"
    )
    _, names = _accounted(script, tmp_path)
    assert names["Model.load"]["calls"] == 1
    assert names["Model.get_input_schema"]["calls"] == 1
