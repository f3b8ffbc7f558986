"""End to end: the example optimiser (examples/lion.py), named by import path in params.yaml,
runs the real ``dvc repro`` — tuning, CV, tracking, registry, comparison, every figure — in a
copy of the repository; a path that does not resolve stops the pipeline in validate."""

from __future__ import annotations

import json
import os

import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.pipeline.conftest import SMALL, VENV_BIN, Project, copy_working_tree, deep_update

pytestmark = pytest.mark.slow

LION = "examples.lion:lion"
PLUGIN = {
    "optimizer": {"name": LION, "learning_rate": 0.003, "params": {"b1": 0.9, "b2": 0.99}},
    "tune": {"enabled": True, "n_trials": 2, "n_startup_trials": 2, "pruner": "none",
             "space": {"optimizer.learning_rate": {"low": 0.001, "high": 0.01, "log": True}},
             "heatmap": {"enabled": False}},
    "compare": {"enabled": True, "values": ["sgd", LION]},
    "register": {"model_name": "gdlab-plugin"},
}
TRAIN_FIGURES = {"loss_band.png", "lr_grad_norm.png", "trajectory.png"}
EVALUATE_FIGURES = {"roc.png", "precision_recall.png", "calibration.png", "confusion_matrix.png"}
COMPARE_FIGURES = {"overlay.png", "trajectories.png"}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    root = tmp_path_factory.mktemp("plugin-repo")
    copy_working_tree(root)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLFLOW_", "DVC_", "GIT_")) and k not in ("PYTHONPATH",
                                                                          "VIRTUAL_ENV")}
    env.update(PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", PYTHONPATH=str(root / "src"),
               CI="1", GDLAB_JIT="0", GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    project = Project(root, env)
    params = deep_update(deep_update(project.params(), SMALL), PLUGIN)
    params["tune"]["space"] = PLUGIN["tune"]["space"]  # only the step size: keep Lion
    params["cv"]["folds"] = 2
    project.write_params(params)
    project.commit_all("copy")
    project.dvc("repro", timeout=900)
    return project


def _runs(project: Project, stage: str):
    client = MlflowClient(tracking_uri=project.store)
    experiment = client.get_experiment_by_name("gdlab")
    runs = client.search_runs([experiment.experiment_id], max_results=500)
    return client, [r for r in runs if r.data.tags.get("gdlab.stage") == stage
                    and "mlflow.parentRunId" not in r.data.tags]


def _artifacts(client, run_id: str) -> set[str]:
    return {a.path.split("/", 1)[1] for a in client.list_artifacts(run_id, "figures")}


def test_repro_trains_tunes_registers_and_compares_the_plugin(project):
    root = project.root
    validated = json.loads((root / "reports/validated_params.json").read_text())
    assert validated["optimizer"]["name"] == LION
    client, (train,) = _runs(project, "train")
    assert train.info.status == "FINISHED"
    assert train.data.params["optimizer.name"] == LION
    assert train.data.params["optimizer.params.b2"] == "0.99"
    assert train.data.tags.get("gdlab.tuned_from")  # the tune stage searched with Lion
    registry = json.loads((root / "reports/registry.json").read_text())
    assert registry["registered"] and registry["model_name"] == "gdlab-plugin"

    summary = json.loads((root / "reports/compare/summary.json").read_text())
    assert set(summary["variants"]) == {"sgd", LION}
    finals = {k: v["final_loss"] for k, v in summary["variants"].items()}
    assert summary["ranking"] == sorted(finals, key=finals.get)
    _, (compare,) = _runs(project, "compare")
    children = client.search_runs(
        [compare.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{compare.info.run_id}'")
    assert {c.info.run_name for c in children} == {"sgd", LION}


def test_every_figure_is_written_and_logged_under_its_run(project):
    figures = project.root / "reports/figures"
    assert {p.name for p in (figures / "train").iterdir()} == TRAIN_FIGURES
    assert {p.name for p in (figures / "evaluate").iterdir()} == EVALUATE_FIGURES
    assert {p.name for p in (figures / "compare").iterdir()} == COMPARE_FIGURES
    client, (train,) = _runs(project, "train")
    assert TRAIN_FIGURES | EVALUATE_FIGURES <= _artifacts(client, train.info.run_id)
    _, (compare,) = _runs(project, "compare")
    assert _artifacts(client, compare.info.run_id) == COMPARE_FIGURES


def test_dvc_plots_show_renders_the_curves_and_figures(project):
    shown = json.loads(project.dvc("plots", "show", "--json").stdout)
    data = shown["data"]
    ours = [k for k in data if "figures/train" in k or "figures/evaluate" in k
            or "figures/compare" in k or "plots/folds" in k or k.startswith("compare_")]
    errors = [e for e in shown.get("errors", []) if any(o.startswith(e["name"]) for o in ours)]
    assert not errors, errors
    folds = [k for k in data if k.startswith("reports/plots/folds/")]
    assert folds and all(data[k][0]["type"] == "vega" for k in folds)
    first = data[folds[0]][0]["content"]["data"]["values"]
    assert {"epoch", "train_loss", "val_loss"} <= set(first[0])
    (chart,) = data["compare_val_loss"]  # the variants overlaid in one chart
    assert chart["type"] == "vega"
    assert {v["variant"] for v in chart["content"]["data"]["values"]} == {"sgd", LION}
    images = {k.rsplit("/", 1)[1] for k in data if data[k] and data[k][0]["type"] == "image"}
    assert TRAIN_FIGURES | EVALUATE_FIGURES | COMPARE_FIGURES <= images


def test_an_import_path_that_does_not_resolve_stops_the_pipeline_in_validate(project):
    params = project.params()
    params["optimizer"]["name"] = "examples.lion:lino"
    project.write_params(params)
    try:
        proc = project.dvc("repro", check=False, timeout=300)
    finally:
        params["optimizer"]["name"] = LION
        project.write_params(params)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert ("optimizer.name: optimizer 'examples.lion:lino': module 'examples.lion' has no "
            "attribute 'lino'") in output
    assert "Running stage 'validate'" in output and "Running stage 'train'" not in output
    assert yaml.safe_load((project.root / "params.yaml").read_text())["optimizer"]["name"] == LION
