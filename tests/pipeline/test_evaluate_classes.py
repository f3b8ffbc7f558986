"""The evaluate stage, run in this process on a CSV whose rare class the model never predicts:
the console, reports/metrics.json, the run's tags and the model card name the class (recall 0,
as scikit-learn's recall_score finds), say that f1 is macro-averaged and that the class has too
few test rows to trust the intervals of its metrics."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from gdlab.data import load_prepared
from gdlab.experiment import as_frame, decode_target
from gdlab.experiment.persist import load_model
from tests.pipeline.conftest import stage


def test_evaluate_names_the_class_the_model_never_predicts(tmp_path, capsys, csv_train):
    rng = np.random.default_rng(0)
    n = 600
    x = rng.normal(size=(n, 3))
    tier = np.where(x[:, 0] > 0.3, "gold", np.where(x[:, 1] > 0, "silver", "bronze"))
    tier = tier.astype(object)
    tier[rng.choice(n, 15, replace=False)] = "platinum"  # rare, and no feature tells it
    rows = pd.DataFrame(x.round(3), columns=["a", "b", "c"]).assign(tier=tier)
    csv_train(rows, "tier", "classes")
    assert "f1 (macro) " in capsys.readouterr().out
    assert stage("evaluate").main([]) == 0
    out, err = capsys.readouterr()

    data = load_prepared("data/prepared")
    model = load_model(tmp_path / "models" / "model.skops")
    y = decode_target(data.y_test, data.classes)
    pred = model.predict(as_frame(data.X_test, data.feature_names))
    labels = list(model.classes_)
    recall = skm.recall_score(y, pred, labels=labels, average=None, zero_division=0)
    missed = [c for c, r in zip(labels, recall, strict=True) if r == 0 and not (pred == c).any()]
    assert missed == ["platinum"]  # the case under test: scikit-learn sees it too
    n_rare = int((y == "platinum").sum())

    metrics = json.loads((tmp_path / "reports" / "metrics.json").read_text())
    assert metrics["never_predicted"] == ["platinum"] == metrics["never_recalled"]
    assert metrics["f1_average"] == "macro"
    assert metrics["test"]["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert {c: row["recall"] for c, row in metrics["per_class"].items()} == pytest.approx(
        dict(zip(labels, recall, strict=True)))
    assert metrics["per_class"]["platinum"] == {"recall": 0.0, "support": n_rare, "predicted": 0}

    assert "f1 (macro) " in out
    assert (f"evaluate: warning: the model predicts no test row as class 'platinum' ({n_rare} "
            "test rows, recall 0)") in err
    card = (tmp_path / "reports" / "model_card.md").read_text()
    assert f"| `platinum` (never predicted) | {n_rare} | 0 | 0 |" in card
    assert "- Classes never recalled: the model predicts no test row as class 'platinum'" in card
    # model.class_weight is not set: the advice names it (it said only "collect more rows")
    assert ("recall 0); accuracy and the averaged scores hide it: collect more rows of them, "
            "set model.class_weight: balanced") in err
    assert "Set model.class_weight: balanced" not in card  # mid-sentence in the card
    assert "Collect more rows of them, set model.class_weight: balanced" in card

    # platinum's few test rows: the intervals of its metrics are not to be trusted
    assert 0 < n_rare < 10 and all((y == c).sum() >= 10 for c in labels if c != "platinum")
    few = (f"class 'platinum' ({n_rare} test rows) has fewer than the 10 test rows a class "
           "needs (data.test_size=0.2)")
    assert metrics["class_warning"].startswith(few)
    assert f"evaluate: warning: {few}" in err
    assert f"- Too few test rows of a class: {few}" in card
    run_id = json.loads((tmp_path / "models" / "run.json").read_text())["run_id"]
    tags = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}").get_run(run_id).data.tags
    assert tags["gdlab.class_warning"] == metrics["class_warning"]
    assert tags["gdlab.never_recalled"].startswith(
        f"the model predicts no test row as class 'platinum' ({n_rare} test rows, recall 0)")
