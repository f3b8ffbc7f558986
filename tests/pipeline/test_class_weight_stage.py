"""``model.class_weight`` through the stages, run in this process on an imbalanced CSV (4%
'fraud'): validate checks its labels against the target's classes, train fits the weighted
model and logs the key to MLflow, evaluate's model card names it, and the minority class's
test recall rises from the unweighted model's, as scikit-learn's LogisticRegression
(class_weight="balanced") rises from its unweighted fit on the same prepared rows."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score
from sklearn.preprocessing import StandardScaler

from gdlab.data import load_prepared
from gdlab.experiment import as_frame, decode_target
from gdlab.experiment.persist import load_model
from tests.pipeline.conftest import stage


def _rows(n: int = 1000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    is_fraud = rng.random(n) < 0.04
    x = rng.normal(size=(n, 3))
    x[is_fraud, 0] += 1.5
    x[is_fraud, 1] -= 1.0
    frame = pd.DataFrame(x.round(4), columns=["amount", "hour", "noise"])
    return frame.assign(label=np.where(is_fraud, "fraud", "ok"))


def _fraud_recall(tmp_path) -> float:
    data = load_prepared("data/prepared")
    model = load_model(tmp_path / "models" / "model.skops")
    pred = model.predict(as_frame(data.X_test, data.feature_names))
    return recall_score(decode_target(data.y_test, data.classes), pred, pos_label="fraud")


def _sklearn_fraud_recall(class_weight) -> float:
    data = load_prepared("data/prepared")
    scaler = StandardScaler().fit(data.X_train)
    y_train = decode_target(data.y_train, data.classes)
    model = LogisticRegression(class_weight=class_weight).fit(scaler.transform(data.X_train),
                                                              y_train)
    pred = model.predict(scaler.transform(data.X_test))
    return recall_score(decode_target(data.y_test, data.classes), pred, pos_label="fraud")


def test_balanced_class_weight_raises_the_minority_recall(tmp_path, capsys, csv_train):
    recall = {}
    for class_weight in (None, "balanced"):
        csv_train(_rows(), "label", "class-weight",
                  {"model": {"class_weight": class_weight}, "train": {"max_epochs": 20}})
        recall[class_weight] = _fraud_recall(tmp_path)
    reference = {cw: _sklearn_fraud_recall(cw) for cw in (None, "balanced")}
    assert reference["balanced"] > reference[None]  # the direction scikit-learn finds
    assert recall["balanced"] > recall[None] + 0.3, recall
    assert recall["balanced"] >= reference["balanced"] - 0.15, (recall, reference)

    handle = json.loads((tmp_path / "models" / "run.json").read_text())
    run = mlflow.tracking.MlflowClient().get_run(handle["run_id"])
    assert run.data.params["model.class_weight"] == "balanced"
    assert stage("evaluate").main([]) == 0
    card = (tmp_path / "reports" / "model_card.md").read_text()
    assert "(linear model, loss log_loss, class weights balanced, classification)" in card


def test_a_class_weight_mapping_is_logged_by_label(tmp_path, csv_train):
    csv_train(_rows(), "label", "class-weight-map", {"model": {"class_weight": {"fraud": 12.5}}})
    handle = json.loads((tmp_path / "models" / "run.json").read_text())
    run = mlflow.tracking.MlflowClient().get_run(handle["run_id"])
    assert run.data.params["model.class_weight.fraud"] == "12.5"
    assert stage("evaluate").main([]) == 0
    card = (tmp_path / "reports" / "model_card.md").read_text()
    assert "class weights fraud 12.5," in card


@pytest.mark.parametrize(("rows", "class_weight", "shown"), [
    (_rows(), {"fraud": 20.0}, None),
    (_rows(), {"Fraud": 20.0}, "model.class_weight.Fraud: 'Fraud' is not a class of the target "
     "'label' (allowed: 'fraud' | 'ok')"),
    (_rows().assign(label=lambda f: (f["label"] == "fraud") * 1), {1: 20.0}, None),
    (_rows().assign(label=lambda f: (f["label"] == "fraud") * 1), {"1": 20.0},
     "model.class_weight.1: '1' is not a class of the target 'label'; the class reads as the "
     "integer 1: write it unquoted (allowed: 0 | 1)"),
])
def test_validate_checks_the_labels_against_the_target(tmp_path, capsys, monkeypatch, rows,
                                                       class_weight, shown):
    monkeypatch.chdir(tmp_path)
    rows.to_csv("rows.csv", index=False)
    params = {"data": {"source": "csv", "path": "rows.csv", "target": "label"},
              "model": {"class_weight": class_weight}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    code = stage("validate").main(["--out", "v.json"])
    err = capsys.readouterr().err
    if shown is None:
        assert code == 0, err
    else:
        assert code == 1
        assert f"validate: params.yaml: 1 problem in the parameters:\n  {shown}\n" in err, err
