"""evaluate and register write to train's run only under what it records (its DVC experiment
and evaluate-stage params); an evaluate-only change or another experiment reusing a cached
train gets an evaluation run of its own, child of train's run, and train's run keeps its
metrics and params as they were. Run in this process on a small CSV."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import yaml
from mlflow.tracking import MlflowClient

from tests.pipeline.conftest import stage

TRAIN_RUN_TAG = "gdlab.train_run_id"


def _rows() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    fraud = x[:, 0] + 0.3 * rng.normal(size=300) > 0
    return pd.DataFrame(x.round(3), columns=["a", "b", "c"]).assign(
        label=np.where(fraud, "fraud", "legit"))


def _evaluate_and_register() -> None:
    assert stage("evaluate").main([]) == 0
    assert stage("register").main([]) == 0


def _set_param(tmp_path, section: str, key: str, value) -> None:
    path = tmp_path / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params.setdefault(section, {})[key] = value
    path.write_text(yaml.safe_dump(params))


def _histories(client: MlflowClient, run_id: str) -> dict[str, int]:
    metrics = client.get_run(run_id).data.metrics
    return {k: len(client.get_metric_history(run_id, k)) for k in metrics if k.startswith("test")}


def _evaluation_runs(client: MlflowClient, train_run) -> list:
    return client.search_runs([train_run.info.experiment_id],
                              f"tags.`{TRAIN_RUN_TAG}` = '{train_run.info.run_id}'")


def _train_run(tmp_path, client: MlflowClient):
    handle = json.loads((tmp_path / "models" / "run.json").read_text())
    return client.get_run(handle["run_id"])


def test_an_evaluate_only_change_leaves_train_run_as_it_was(tmp_path, csv_train, monkeypatch):
    monkeypatch.setenv("DVC_EXP_NAME", "exp-a")
    csv_train(_rows(), "label", "evr", {"register": {"model_name": "evr"}})
    _evaluate_and_register()
    client = MlflowClient()
    train = _train_run(tmp_path, client)
    before = _histories(client, train.info.run_id)
    assert before and all(n == 1 for n in before.values())
    params_before = client.get_run(train.info.run_id).data.params

    _set_param(tmp_path, "fairness", "min_group_size", 31)  # evaluate's param, same experiment
    _evaluate_and_register()

    assert _histories(client, train.info.run_id) == before  # nothing appended to train's run
    kept = client.get_run(train.info.run_id)
    assert kept.data.params == params_before
    assert kept.data.params["fairness.min_group_size"] == "30"
    [evaluation] = _evaluation_runs(client, train)
    assert evaluation.info.status == "FINISHED"
    assert evaluation.data.params["fairness.min_group_size"] == "31"
    assert evaluation.data.params["optimizer.name"] == params_before["optimizer.name"]
    assert evaluation.data.tags["dvc.exp_name"] == "exp-a"
    assert evaluation.data.tags["mlflow.parentRunId"] == train.info.run_id
    assert evaluation.data.tags["gdlab.run_kind"] == "evaluation"  # not found as a 'model'
    assert kept.data.tags["gdlab.run_kind"] == "model"
    assert set(_histories(client, evaluation.info.run_id)) == set(before)
    assert all(n == 1 for n in _histories(client, evaluation.info.run_id).values())
    # register's decision is recorded on the evaluation run and names it on the version
    registry = json.loads((tmp_path / "reports" / "registry.json").read_text())
    assert evaluation.data.tags["gdlab.registered_version"] == registry["version"]
    version = client.get_model_version("evr", registry["version"])
    assert version.tags["gdlab.evaluation_run_id"] == evaluation.info.run_id
    assert version.tags["gdlab.model_card"] == f"runs:/{evaluation.info.run_id}/model_card.md"

    _evaluate_and_register()  # the same experiment and params again: the same evaluation run
    [again] = _evaluation_runs(client, train)
    assert again.info.run_id == evaluation.info.run_id
    assert _histories(client, train.info.run_id) == before


def test_another_experiment_on_a_cached_train_gets_its_own_run(tmp_path, csv_train,
                                                               monkeypatch):
    monkeypatch.setenv("DVC_EXP_NAME", "rv-adam")
    csv_train(_rows(), "label", "evr", {"register": {"model_name": "evr"}})
    _evaluate_and_register()
    client = MlflowClient()
    train = _train_run(tmp_path, client)
    before = _histories(client, train.info.run_id)

    monkeypatch.setenv("DVC_EXP_NAME", "rv-fairpos")  # train cached: same model, same params
    _evaluate_and_register()

    assert _histories(client, train.info.run_id) == before
    assert client.get_run(train.info.run_id).data.tags["dvc.exp_name"] == "rv-adam"
    [evaluation] = _evaluation_runs(client, train)
    assert evaluation.info.run_name == "rv-fairpos"
    assert evaluation.data.tags["dvc.exp_name"] == "rv-fairpos"


def test_the_same_params_evaluated_again_reopen_train_run(tmp_path, csv_train, monkeypatch):
    monkeypatch.setenv("DVC_EXP_NAME", "exp-a")
    csv_train(_rows(), "label", "evr", {"register": {"model_name": "evr"}})
    _evaluate_and_register()
    _evaluate_and_register()  # e.g. evaluate's code changed: today's behaviour, one run
    client = MlflowClient()
    train = _train_run(tmp_path, client)
    assert _evaluation_runs(client, train) == []
    assert "test_accuracy" in train.data.metrics
    assert "gdlab.registered_version" in train.data.tags
    registry = json.loads((tmp_path / "reports" / "registry.json").read_text())
    version = client.get_model_version("evr", registry["version"])
    assert "gdlab.evaluation_run_id" not in version.tags


def test_register_without_the_evaluation_it_records_refuses(tmp_path, csv_train, monkeypatch,
                                                             capsys):
    monkeypatch.setenv("DVC_EXP_NAME", "exp-a")
    csv_train(_rows(), "label", "evr", {"register": {"model_name": "evr"}})
    _evaluate_and_register()
    client = MlflowClient()
    train = _train_run(tmp_path, client)
    _set_param(tmp_path, "register", "min_confidence", 0.5)  # evaluate's param too: not rerun
    assert stage("register").main([]) == 1
    assert "run evaluate first" in capsys.readouterr().err
    assert client.get_run(train.info.run_id).data.tags == train.data.tags
    assert _evaluation_runs(client, train) == []


def test_a_register_retried_under_another_experiment_name_reopens_evaluates_run(
        tmp_path, csv_train, monkeypatch, capsys):
    """DVC records each stage as it ends: after a `dvc exp run` whose register failed (an
    interrupt, a tracking outage), a retry reruns register alone, under a new random
    experiment name (or none, by `dvc repro`). It refused 'run evaluate first', which
    `dvc repro` never does (evaluate is up to date). It reopens the run evaluate logged to,
    as reports/evaluation_run.json names it, once under each name."""
    monkeypatch.setenv("DVC_EXP_NAME", "exp-first")
    csv_train(_rows(), "label", "evr", {"register": {"model_name": "evr"}})
    assert stage("evaluate").main([]) == 0
    client = MlflowClient()
    train = _train_run(tmp_path, client)
    handle = json.loads((tmp_path / "reports" / "evaluation_run.json").read_text())
    assert handle == {"train_run_id": train.info.run_id, "run_id": train.info.run_id}
    monkeypatch.setenv("DVC_EXP_NAME", "exp-second")
    assert stage("register").main([]) == 0, capsys.readouterr().err
    monkeypatch.delenv("DVC_EXP_NAME")
    assert stage("register").main([]) == 0, capsys.readouterr().err
    assert client.get_run(train.info.run_id).data.tags["gdlab.registered_version"] == "1"
    assert _evaluation_runs(client, train) == []


def test_a_model_card_only_change_moves_the_versions_card(tmp_path, csv_train, monkeypatch):
    """A model_card change reruns evaluate into a new evaluation run but left metrics.json and
    fairness.json as they were, so DVC skipped register and the version kept pointing at the
    old card; evaluate's reports/evaluation_run.json (register's dependency) names the new
    run, so register reruns and points the version at it."""
    csv_train(_rows(), "label", "evr", {"register": {"model_name": "evr"}})
    _evaluate_and_register()
    handle = tmp_path / "reports" / "evaluation_run.json"
    first = handle.read_bytes()
    _set_param(tmp_path, "model_card", "owner", "alice")
    assert stage("evaluate").main([]) == 0
    assert handle.read_bytes() != first  # register's dependency changed: DVC reruns it
    assert stage("register").main([]) == 0
    client = MlflowClient()
    registry = json.loads((tmp_path / "reports" / "registry.json").read_text())
    version = client.get_model_version("evr", registry["version"])
    run_id = json.loads(handle.read_text())["run_id"]
    assert version.tags["gdlab.model_card"] == f"runs:/{run_id}/model_card.md"
    import mlflow

    assert "alice" in mlflow.artifacts.load_text(version.tags["gdlab.model_card"])
