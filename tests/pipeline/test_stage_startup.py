"""Every stage script tunes the garbage collector before its heavy imports: a higher threshold
(the ~600 000 objects MLflow, scikit-learn and pandas create are not rescanned ~1 s per stage)
and a freeze at exit, registered first so that it runs after every other exit handler (the
interpreter's final collection over those objects took ~1.6 s per stage).

A stage that does little imports little: validate and a disabled tune, compare or register
stage do not import what they do not run (the estimators and the engine, MLflow, Optuna,
matplotlib; a disabled stage not even scikit-learn, scipy or pandas). Each took ~1-2 s of CPU
per process importing them, and ``dvc repro`` / ``dvc exp run`` start every stage as a
process."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import gdlab

REPO = Path(__file__).resolve().parents[2]
STAGES = sorted((REPO / "pipeline").glob("*.py"))


def _imported_modules(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name.split(".")[0] for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module.split(".")[0]]
    return []


def _call_source(node: ast.stmt) -> str | None:
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return ast.unparse(node.value)
    return None


@pytest.mark.parametrize("script", STAGES, ids=[p.stem for p in STAGES])
def test_gc_is_tuned_before_the_first_third_party_import(script):
    body = ast.parse(script.read_text()).body
    calls = [_call_source(node) for node in body]
    assert "atexit.register(gc.freeze)" in calls, f"{script.name} does not freeze at exit"
    assert any(c and c.startswith("gc.set_threshold(") for c in calls), script.name
    tuned = max(i for i, c in enumerate(calls)
                if c == "atexit.register(gc.freeze)" or (c or "").startswith("gc.set_threshold("))
    registered = calls.index("atexit.register(gc.freeze)")
    for i, node in enumerate(body):
        third_party = [m for m in _imported_modules(node)
                       if m not in sys.stdlib_module_names and m != "__future__"]
        if third_party:
            assert i > tuned, f"{script.name} imports {third_party} before tuning gc"
            break
    # nothing before the freeze registers an exit handler (it must run last)
    assert not any("atexit.register" in (c or "") for c in calls[:registered])


HEAVY = ("sklearn", "scipy", "pandas", "numpy", "mlflow", "optuna", "matplotlib", "dask")
# runs a stage's main as ``python pipeline/<stage>.py ...`` does, then lists what it imported
_RUN_STAGE = f"""
import json, runpy, sys
script, args = sys.argv[1], sys.argv[2:]
sys.argv = [script, *args]
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as exc:
    code = exc.code
tops = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
own = sorted(m for m in sys.modules if m.startswith("gdlab."))
print(json.dumps({{"code": code, "heavy": tops, "gdlab": own}}))
"""
# the estimators, the engine's loop and models (the schema's rules are standard library only)
MODEL_CODE = ("gdlab.estimators", "gdlab.core.loop", "gdlab.core.models", "gdlab.experiment",
              "gdlab.tracking")


def _run_stage(stage: str, *args: str, cwd: Path) -> dict:
    src = str(Path(gdlab.__file__).resolve().parents[1])
    proc = subprocess.run(
        [sys.executable, "-c", _RUN_STAGE, str(REPO / "pipeline" / f"{stage}.py"), *args],
        capture_output=True, text=True, cwd=cwd, timeout=300,
        env={**os.environ, "PYTHONPATH": src},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def _params(tmp_path: Path, **sections: dict) -> Path:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    for section, values in sections.items():
        params[section].update(values)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


@pytest.mark.parametrize("stage, out, notice", [
    ("tune", ["--out", "reports/tuning"], "*_disabled.svg"),
    ("compare", ["--reports", "reports/compare", "--figures", "reports/figures/compare"],
     "*_disabled.svg"),
    ("register", ["--reports", "reports", "--models", "models"], "registry.json"),
])
def test_a_disabled_stage_imports_neither_the_data_nor_the_model_code(
    tmp_path, stage, out, notice
):
    params = _params(tmp_path, **{stage: {"enabled": False}})
    ran = _run_stage(stage, "--params", str(params), "--data", "data/prepared", *out,
                     cwd=tmp_path)
    assert ran["code"] == 0
    # was: every one of them (compare, register), all but MLflow (tune)
    assert ran["heavy"] == []
    assert not [m for m in ran["gdlab"] if m.startswith((*MODEL_CODE, "gdlab.data"))]
    assert any((tmp_path / "reports").rglob(notice))  # it wrote its notice


def test_the_params_schema_imports_no_numerical_library(tmp_path):
    # validate's first step (and every stage's params): pydantic and YAML only
    code = (
        "import sys\n"
        "from gdlab.config import read_yaml, validate_params\n"
        f"validate_params(read_yaml({str(REPO / 'params.yaml')!r}))\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    src = str(Path(gdlab.__file__).resolve().parents[1])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": src}, timeout=120, check=True)
    assert proc.stdout.splitlines() == ["[]"], proc.stdout + proc.stderr


def test_validate_imports_neither_the_engine_nor_mlflow(tmp_path):
    # its data checks need pandas and scikit-learn (synthetic data, the split); the estimators,
    # the engine, MLflow, Optuna and matplotlib it does not run
    ran = _run_stage("validate", "--params", str(_params(tmp_path)), "--out", "valid.json",
                     cwd=tmp_path)
    assert ran["code"] == 0 and (tmp_path / "valid.json").exists()
    assert not {"mlflow", "optuna", "matplotlib", "dask"} & set(ran["heavy"])
    progress = {"gdlab.experiment", "gdlab.experiment.progress"}  # its phase lines: no engine
    assert not [m for m in ran["gdlab"] if m.startswith(MODEL_CODE) and m not in progress]
