"""``pipeline/compare.py``: files for DVC and one MLflow parent run with a child per variant."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

REPO = Path(__file__).resolve().parents[2]


def _stage():
    spec = importlib.util.spec_from_file_location("compare_stage", REPO / "pipeline/compare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def ran(default_problem, monkeypatch):
    _, _, root = default_problem
    monkeypatch.chdir(root)
    (root / "params.yaml").write_text(yaml.safe_dump(
        {"cv": {"folds": 3, "n_jobs": 1}, "train": {"max_epochs": 30},
         "tracking": {"experiment": "compare-stage"}}
    ))
    assert _stage().main([]) == 0
    return root


def test_stage_writes_dvc_files_and_logs_parent_with_a_child_per_variant(capsys, ran):
    # where the variants run, as train and tune say it (compare said nothing)
    assert "compare: parallel work on joblib (local worker processes)" in capsys.readouterr().err
    summary = json.loads((ran / "reports/compare/summary.json").read_text())
    labels = ["sgd", "momentum", "nesterov", "adam"]
    assert sorted(summary["variants"]) == sorted(labels)
    assert sorted(p.name for p in (ran / "reports/figures/compare").iterdir()) == [
        "overlay.png", "trajectories.png"]
    assert sorted(p.stem for p in (ran / "reports/compare/curves").iterdir()) == sorted(labels)

    client = MlflowClient(tracking_uri=f"sqlite:///{ran / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("compare-stage")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert parent.info.run_name == "compare-optimizer.name"
    assert parent.info.status == "FINISHED" and parent.data.tags["gdlab.stage"] == "compare"
    # its kind, and not params.yaml's optimizer.name as if it had trained with that one only
    assert parent.data.tags["gdlab.run_kind"] == "compare"
    assert "optimizer.name" not in parent.data.params
    assert parent.data.params["compare.values"] == json.dumps(labels)
    assert parent.data.metrics["target_loss"] == pytest.approx(summary["target_loss"])
    note = parent.data.tags["mlflow.note.content"]  # its description, set at creation
    assert note.startswith("gdlab compare run: optimizer.name varied over 4 values, each a "
                           "3-fold CV of a linear classification model")
    assert f"Ranking by final mean training loss: {' > '.join(summary['ranking'])}." in note
    assert " Verdict: winner " in note or " Verdict: no clear winner: " in note
    artifacts = {f.path for d in ("figures", "compare")
                 for f in client.list_artifacts(parent.info.run_id, d)}
    assert artifacts == {"figures/overlay.png", "figures/trajectories.png",
                         "compare/summary.json", "compare/summary.md"}
    children = {r.info.run_name: r for r in runs if r is not parent
                and r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    assert sorted(children) == sorted(labels)
    for label, child in children.items():
        row = summary["variants"][label]
        assert child.data.params["optimizer.name"] == label
        assert child.data.tags["gdlab.run_kind"] == "variant"
        assert child.data.metrics["final_loss"] == pytest.approx(row["final_loss"])
        assert child.data.metrics["rank"] == row["rank"]
        if row["rank"] > 1 and not row["diverged"]:  # its paired gap to the best, by fold
            assert child.data.metrics["gap_to_best"] == pytest.approx(row["gap_to_best"])
            assert child.data.metrics["folds_behind_best"] == row["folds_behind_best"]
        history = sorted(client.get_metric_history(child.info.run_id, "train_loss"),
                         key=lambda m: m.step)
        with (ran / f"reports/compare/curves/{label}.csv").open() as handle:
            drawn = [float(r["train_loss"]) for r in csv.DictReader(handle)]
        assert [m.step for m in history] == list(range(len(drawn)))
        assert [m.value for m in history] == pytest.approx(drawn)


def test_disabled_comparison_writes_a_notice_in_each_directory(default_problem, monkeypatch):
    _, _, root = default_problem
    monkeypatch.chdir(root)
    (root / "off.yaml").write_text("compare:\n  enabled: false\n")
    assert _stage().main(["--params", "off.yaml", "--reports", "off", "--figures", "off_f"]) == 0
    assert json.loads((root / "off/summary.json").read_text()) == {"enabled": False}
    with (root / "off/overlay.csv").open() as handle:  # DVC's overlaid charts: no variant
        assert list(csv.reader(handle)) == [
            ["epoch", "train_loss", "val_loss", "time_s", "variant", "rank"]]
    for directory in (root / "off_f", root / "off/curves"):  # no directory left empty
        assert [p.name for p in directory.iterdir()] == ["compare_disabled.svg"]
        assert "compare.enabled: false" in (directory / "compare_disabled.svg").read_text()


def test_lr_find_rates_reach_the_variants_runs_and_rank_by_the_note(default_problem,
                                                                   monkeypatch):
    """Each variant's MLflow run carries the rate it trained at (its range test's), not
    params.yaml's; the parent's description says by which loss the ranking goes."""
    _, _, root = default_problem
    monkeypatch.chdir(root)
    (root / "lr_find.yaml").write_text(yaml.safe_dump(
        {"cv": {"folds": 2, "n_jobs": 1}, "train": {"max_epochs": 5},
         "tracking": {"experiment": "compare-lr-find"},
         "compare": {"values": ["sgd", "adam"], "learning_rate": "lr_find",
                     "rank_by": "val_loss"}}
    ))
    assert _stage().main(["--params", "lr_find.yaml", "--reports", "lr", "--figures",
                          "lr_f"]) == 0
    summary = json.loads((root / "lr/summary.json").read_text())
    assert summary["rank_by"] == "val_loss"
    table = (root / "lr/summary.md").read_text()
    assert "Learning rate: each variant at the learning rate its own LR range test" in table
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("compare-lr-find")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    note = parent.data.tags["mlflow.note.content"]
    assert f"Ranking by final mean validation loss: {' > '.join(summary['ranking'])}." in note
    # each variant trained at its own rate: the parent claims neither it nor one optimiser
    assert not {"optimizer.name", "optimizer.learning_rate"} & set(parent.data.params)
    children = {r.info.run_name: r for r in runs if r is not parent}
    assert sorted(children) == ["adam", "sgd"]
    for label, child in children.items():
        row = summary["variants"][label]
        assert row["learning_rate_source"] == "lr_find"
        assert float(child.data.params["optimizer.learning_rate"]) == pytest.approx(
            row["learning_rate"])
        assert child.data.tags["gdlab.compare.learning_rate_source"] == "lr_find"
    assert summary["variants"]["sgd"]["learning_rate"] != summary["variants"]["adam"][
        "learning_rate"]
