"""The validate stage refuses what a later stage would refuse, before DVC deletes anything."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def _validate():
    path = REPO / "pipeline" / "validate.py"
    spec = importlib.util.spec_from_file_location("validate_stage", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _run(root: Path, capsys, positive_label, sensitive_group: bool = True) -> tuple[int, str]:
    synthetic = {"n_samples": 200, "n_features": 4, "n_informative": 2}
    params = {
        "data": {"synthetic": {**synthetic, "sensitive_group": sensitive_group}},
        "fairness": {"positive_label": positive_label},
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    out = root / "validated.json"
    code = _validate()(["--params", str(root / "params.yaml"), "--out", str(out)])
    assert out.exists() == (code == 0)
    return code, capsys.readouterr().err


def test_positive_label_that_is_no_class_fails_in_validate(tmp_path, capsys, monkeypatch):
    """fairness.positive_label: 7 on 0/1 labels passed validate, so DVC ran prepare, tune and
    train (deleting their outputs) before evaluate refused it."""
    monkeypatch.chdir(tmp_path)
    code, err = _run(tmp_path, capsys, 7)
    assert code == 1
    assert "1 problem in the parameters" in err
    assert "fairness.positive_label: 7 is not a class of the target 'y'" in err
    assert "(allowed: 0 | 1 | null)" in err


@pytest.mark.parametrize(
    ("label", "sensitive_group"),
    [
        (1, True),
        ("1", True),  # evaluate matches a class by value or by text
        (7, False),  # no sensitive column: evaluate measures no fairness and ignores the key
    ],
)
def test_positive_label_accepted_where_evaluate_accepts_it(
    tmp_path, capsys, monkeypatch, label, sensitive_group
):
    monkeypatch.chdir(tmp_path)
    code, err = _run(tmp_path, capsys, label, sensitive_group)
    assert code == 0, err


@pytest.mark.parametrize(
    ("pii", "shown"),
    [
        ({"drop": ["y"]}, "data.pii.drop[0]: 'y' is the target column of data set 'synthetic': "
         "the target cannot be dropped (allowed: feature columns only)"),
        ({"pseudonymise": ["y"]}, "data.pii.pseudonymise[0]: 'y' is the target column"),
    ],
)
def test_the_synthetic_target_under_pii_is_named_as_a_pii_problem(
    tmp_path, capsys, monkeypatch, pii, shown
):
    """data.pii.drop: [y] was reported as "data.target: column 'y' not found", which does not
    name the key to change."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GDLAB_PII_KEY", "k3y-0f-the-lab-kept-outside-git")
    synthetic = {"n_samples": 200, "n_features": 4, "n_informative": 2}
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump({"data": {"synthetic": synthetic, "pii": pii}})
    )
    code = _validate()(["--params", "params.yaml", "--out", str(tmp_path / "v.json")])
    err = capsys.readouterr().err
    assert code == 1
    assert shown in err and "data.target" not in err


@pytest.mark.parametrize(("folds", "pruner", "warned"), [
    (4, "wilcoxon", True), (5, "wilcoxon", False), (4, "median", False),
])
def test_a_wilcoxon_pruner_that_cannot_prune_early_is_warned_about(
    tmp_path, capsys, monkeypatch, folds, pruner, warned
):
    """tune.pruner: wilcoxon with cv.folds <= 4 never stops a trial before its last fold; the
    parameters are valid, so validate passes, with a one-line warning naming the key."""
    monkeypatch.chdir(tmp_path)
    params = {
        "data": {"synthetic": {"n_samples": 200, "n_features": 4, "n_informative": 2}},
        "cv": {"folds": folds},
        "tune": {"enabled": True, "pruner": pruner},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    code = _validate()(["--params", "params.yaml", "--out", str(tmp_path / "v.json")])
    err = capsys.readouterr().err
    assert code == 0, err
    lines = [line for line in err.splitlines() if "tune.pruner" in line]
    assert len(lines) == int(warned), err
    if warned:
        assert lines[0].startswith("validate: warning: tune.pruner: wilcoxon can prune")
        assert f"cv.folds: {folds} it never stops a trial early" in lines[0]


@pytest.mark.parametrize(("patience", "warned"), [(10, True), (5, False)])
def test_plateau_that_the_stopping_rule_ends_first_is_warned_about(
    tmp_path, capsys, monkeypatch, patience, warned
):
    """schedule: plateau with patience 10 and train.n_iter_no_change 10 never lowered the rate
    (the run equalled constant) and validate said nothing; now one warning names both keys."""
    monkeypatch.chdir(tmp_path)
    params = {
        "data": {"synthetic": {"n_samples": 200, "n_features": 4, "n_informative": 2}},
        "schedule": {"name": "plateau", "params": {"patience": patience}},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    code = _validate()(["--params", "params.yaml", "--out", str(tmp_path / "v.json")])
    err = capsys.readouterr().err
    assert code == 0, err
    lines = [line for line in err.splitlines() if "schedule.params.patience" in line]
    assert len(lines) == int(warned), err
    if warned:
        assert lines[0].startswith("validate: warning: schedule.params.patience (10) is not "
                                   "below train.n_iter_no_change (10) - 1")


def test_validate_checks_the_data_without_writing_prepared_files(tmp_path, capsys, monkeypatch):
    """validate ran prepare whole into a scratch directory: on 1 000 000 CSV rows it also
    wrote ~1 GB of Parquet and .npy files nobody read (+700 MB peak memory, a third of its
    time). It runs every check and writes no data file now; its refusals are prepare's."""
    import numpy as np
    import pandas as pd

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "c"])
    frame.loc[[3, 50], "b"] = np.nan
    frame["colour"] = rng.choice(["red", "blue"], 120)
    frame["label"] = rng.integers(0, 2, 120)
    frame.to_csv(tmp_path / "d.csv", index=False)
    data = {"source": "csv", "path": "d.csv", "target": "label", "missing": "mean"}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"data": data}))
    writes: list[str] = []

    def write(self_or_path, path=None, *args, **kwargs):  # DataFrame.to_parquet / np.save
        target = Path(path if isinstance(self_or_path, pd.DataFrame) else self_or_path)
        writes.append(target.name)
        target.touch()

    monkeypatch.setattr(pd.DataFrame, "to_parquet", write)
    monkeypatch.setattr(np, "save", write)
    out = tmp_path / "validated.json"
    assert _validate()(["--params", "params.yaml", "--out", str(out)]) == 0, capsys.readouterr()
    assert writes == []
    assert out.exists()

    frame.loc[7, "a"] = np.inf  # still refused by validate, in prepare's words
    frame.to_csv(tmp_path / "d.csv", index=False)
    assert _validate()(["--params", "params.yaml", "--out", str(out)]) == 1
    assert "infinite values in column(s) 'a'; column 'a' at row 7 (file line 9)" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(("kind", "warned"), [("linear", True), ("mlp", False)])
def test_a_searched_key_the_model_ignores_is_warned_about(tmp_path, capsys, monkeypatch, kind,
                                                         warned):
    """The README's model.hidden_layer_sizes search with the shipped linear model validated
    without a word (every trial scores the same); now one warning names it and why."""
    monkeypatch.chdir(tmp_path)
    params = {
        "data": {"synthetic": {"n_samples": 200, "n_features": 4, "n_informative": 2}},
        "model": {"kind": kind},
        "tune": {"enabled": True, "space": {
            "model.hidden_layer_sizes": {"choices": [[32], [64, 64]]}}},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    code = _validate()(["--params", "params.yaml", "--out", str(tmp_path / "v.json")])
    err = capsys.readouterr().err
    assert code == 0, err
    lines = [line for line in err.splitlines() if "tune.space.model.hidden_layer_sizes" in line]
    assert len(lines) == int(warned), err
    if warned:
        assert lines[0].startswith(
            "validate: warning: tune.space.model.hidden_layer_sizes: cannot change the result: "
            "it acts only with model.kind: mlp, and every trial that searches it has "
            "model.kind: linear")


def test_a_plugin_model_is_probed_once_by_the_stage(tmp_path, capsys, monkeypatch, plugin):
    """The shipped params.yaml with a plug-in model: the stage ran the plug-in's probe 31
    times (params.yaml, each compare value and tune choice, and again for the warnings about
    them); now once."""
    from gdlab.config import read_yaml
    from tests.broken_plugins import MODELS

    monkeypatch.chdir(tmp_path)
    module = plugin(MODELS)
    given = importlib.import_module(module).GIVEN
    params = read_yaml(REPO / "params.yaml")
    params["model"]["kind"] = f"{module}:recording"
    params["data"]["synthetic"].update(n_samples=200, n_features=4, n_informative=2)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    code = _validate()(["--params", "params.yaml", "--out", str(tmp_path / "validated.json")])
    assert code == 0, capsys.readouterr().err
    assert len(given) == 1


@pytest.mark.parametrize(("rank_by", "warned"), [("train_loss", True), ("val_metric", False)])
def test_a_comparison_of_penalties_ranked_by_training_loss_is_warned_about(
    tmp_path, capsys, monkeypatch, rank_by, warned
):
    """compare.vary: model.alpha ranked by train_loss (loss + penalty): the smaller penalty
    wins by construction; validate says so and names rank_by: val_metric."""
    monkeypatch.chdir(tmp_path)
    params = {
        "data": {"synthetic": {"n_samples": 200, "n_features": 4, "n_informative": 2}},
        "compare": {"vary": "model.alpha", "values": [0.0, 0.1], "rank_by": rank_by},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    code = _validate()(["--params", "params.yaml", "--out", str(tmp_path / "v.json")])
    err = capsys.readouterr().err
    assert code == 0, err
    lines = [line for line in err.splitlines() if "compare.vary: model.alpha" in line]
    assert len(lines) == int(warned), err
    if warned:
        assert lines[0].startswith("validate: warning: compare.vary: model.alpha with "
                                   "compare.rank_by: train_loss: the ranked loss is the "
                                   "training objective, loss + penalty")


def _run_metrics(root: Path, capsys, positive_label, n_classes: int = 2) -> tuple[int, str]:
    synthetic = {"n_samples": 200, "n_features": 4, "n_informative": 2, "n_classes": n_classes}
    params = {"data": {"synthetic": synthetic}, "metrics": {"positive_label": positive_label}}
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    code = _validate()(["--params", str(root / "params.yaml"), "--out", str(root / "v.json")])
    return code, capsys.readouterr().err


def test_metrics_positive_label_that_is_no_class_fails_in_validate(tmp_path, capsys,
                                                                   monkeypatch):
    """metrics.positive_label names the class f1 and average_precision score: one that is not
    a class of the target fails in validate, naming the key and the classes."""
    monkeypatch.chdir(tmp_path)
    code, err = _run_metrics(tmp_path, capsys, "fraud")
    assert code == 1
    assert "metrics.positive_label: 'fraud' is not a class of the target 'y'" in err
    assert "(allowed: 0 | 1 | null)" in err


@pytest.mark.parametrize(("label", "n_classes", "valid"),
                         [(0, 2, True), ("1", 2, True), (None, 3, True), (1, 3, False)])
def test_metrics_positive_label_needs_two_classes(tmp_path, capsys, monkeypatch, label,
                                                  n_classes, valid):
    monkeypatch.chdir(tmp_path)
    code, err = _run_metrics(tmp_path, capsys, label, n_classes)
    assert (code == 0) == valid, err
    if not valid:
        assert "metrics.positive_label: 1: the target 'y' has 3 classes" in err
