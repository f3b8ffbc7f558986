"""evaluate scores a constant prediction (the training prior) on the test rows, and register
does not promote a model that is worse than it: run in this process on a CSV whose features
carry no signal, with ``model.class_weight: balanced`` pulling the model's probabilities
towards one half (its log loss far above the prior's, as scikit-learn's DummyClassifier
finds). The version is registered as challenger, the reason names both log losses and
``register.beat_baseline``; with the key off it becomes champion as before; a model that
learned something becomes champion with the gate on."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn import metrics as skm
from sklearn.dummy import DummyClassifier

from gdlab.data import load_prepared
from gdlab.experiment import as_frame, decode_target
from gdlab.experiment.persist import load_model
from tests.pipeline.conftest import stage


def _rows(signal: bool) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    if signal:
        fraud = x[:, 0] + 0.3 * rng.normal(size=400) > 0
    else:  # no feature tells the classes apart
        fraud = rng.random(400) < 0.1
    return pd.DataFrame(x.round(3), columns=["a", "b", "c"]).assign(
        label=np.where(fraud, "fraud", "legit"))


def _registry(tmp_path) -> dict:
    return json.loads((tmp_path / "reports" / "registry.json").read_text())


def test_register_does_not_promote_a_model_worse_than_the_class_prior(tmp_path, capsys,
                                                                       csv_train):
    csv_train(_rows(signal=False), "label", "baseline",
              {"model": {"class_weight": "balanced"}, "train": {"max_epochs": 50},
               "register": {"model_name": "noise"}})
    assert stage("evaluate").main([]) == 0
    out = capsys.readouterr().out

    data = load_prepared("data/prepared")
    y_train = decode_target(data.y_train, data.classes)
    y_test = decode_target(data.y_test, data.classes)
    dummy = DummyClassifier(strategy="prior").fit(np.zeros((len(y_train), 1)), y_train)
    prior = skm.log_loss(y_test, dummy.predict_proba(np.zeros((len(y_test), 1))),
                         labels=dummy.classes_)
    model = load_model(tmp_path / "models" / "model.skops")
    ours = skm.log_loss(y_test, model.predict_proba(as_frame(data.X_test, data.feature_names)),
                        labels=model.classes_)
    assert ours > prior + 0.1  # the case under test: worse than no model, by far

    metrics = json.loads((tmp_path / "reports" / "metrics.json").read_text())
    assert metrics["baseline"]["constant"] == "class prior"
    assert metrics["baseline"]["test"]["log_loss"] == pytest.approx(prior)
    assert metrics["baseline"]["value"] == pytest.approx(
        dict(zip(dummy.classes_, dummy.class_prior_, strict=True)))
    assert metrics["test"]["log_loss"] == pytest.approx(ours)
    assert (f"evaluate: constant prediction (class prior): accuracy "
            f"{metrics['baseline']['test']['accuracy']:.4g}") in out
    assert f"log_loss {prior:.4g} (fitted on the training rows)" in out
    card = (tmp_path / "reports" / "model_card.md").read_text()
    assert "| test, constant prediction (class prior) |" in card
    assert (f"- test_log_loss {ours:.4g} does not beat a constant prediction's {prior:.4g}"
            in card)
    run_id = json.loads((tmp_path / "models" / "run.json").read_text())["run_id"]
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    logged = client.get_run(run_id).data.metrics
    assert logged["baseline_test_log_loss"] == pytest.approx(prior)
    assert logged["test_log_loss"] == pytest.approx(ours)

    # register: the version is registered, but not champion, and the line says why
    assert stage("register").main([]) == 0
    out = capsys.readouterr().out
    registry = _registry(tmp_path)
    assert registry["registered"] and registry["version"] == "1"
    assert not registry["promoted"] and registry["champion"] is None
    why = (f"test_log_loss {ours:.4g} does not beat a constant prediction's {prior:.4g} "
           f"(class prior, fitted on the training rows; on the same {len(y_test)} test rows)")
    assert registry["reason"].startswith(why)
    assert "register.beat_baseline: false promotes it anyway" in registry["reason"]
    assert registry["baseline_gate"]["status"] == "failed"
    assert registry["baseline_gate"]["baseline"] == pytest.approx(prior)
    assert f"register: noise v1 is challenger ({why}" in out and "no champion yet" in out
    aliases = client.get_registered_model("noise").aliases
    assert {name: str(v) for name, v in aliases.items()} == {"challenger": "1"}
    assert client.get_model_version("noise", "1").tags["gdlab.baseline_gate"] == "failed"
    tags = client.get_run(run_id).data.tags
    assert tags["gdlab.promoted"] == "false" and tags["gdlab.baseline_gate"] == "failed"

    # the key off: promoted as before the gate
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["register"]["beat_baseline"] = False
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    # a register param is evaluate's too: dvc repro reruns both, into an evaluation run of
    # their own (train's run keeps the decision made under the params it records)
    assert stage("evaluate").main([]) == 0
    assert stage("register").main([]) == 0
    registry = _registry(tmp_path)
    assert registry["promoted"] and registry["version"] == registry["champion"] == "1"
    assert client.get_run(run_id).data.tags["gdlab.baseline_gate"] == "failed"
    assert registry["baseline_gate"]["status"] == "off"
    assert str(client.get_model_version_by_alias("noise", "champion").version) == "1"
    assert client.get_model_version("noise", "1").tags["gdlab.baseline_gate"] == "off"


def test_a_model_that_beats_the_class_prior_becomes_champion(tmp_path, capsys, csv_train):
    csv_train(_rows(signal=True), "label", "signal",
              {"train": {"max_epochs": 20}, "register": {"model_name": "signal"}})
    assert stage("evaluate").main([]) == 0
    metrics = json.loads((tmp_path / "reports" / "metrics.json").read_text())
    assert metrics["test"]["log_loss"] < metrics["baseline"]["test"]["log_loss"]
    assert stage("register").main([]) == 0
    registry = _registry(tmp_path)
    assert registry["promoted"] and registry["champion"] == "1"
    assert registry["baseline_gate"]["status"] == "passed"
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert str(client.get_model_version_by_alias("signal", "champion").version) == "1"
