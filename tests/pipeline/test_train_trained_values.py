"""The train stage, run in this process on a CSV with tuned values in
``reports/tuning/best_params.json``: ``reports/trained.json`` (a DVC metrics file, so columns
of ``dvc exp show``) says what the model trained with, not what params.yaml says; the output
names every key the tuned values replace; no metrics value is a sentence."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from gdlab.experiment.persist import load_model
from gdlab.experiment.target import final_estimator

TUNED = {  # what tune chose in the reviewer's sweep; params.yaml: adam, 0.01, batch 64
    "optimizer.name": "momentum",
    "optimizer.learning_rate": 0.0037,
    "optimizer.params.momentum": 0.935,
    "train.batch_size": 32,
}


def _long_strings(value, key: str = "") -> list[str]:
    """The dotted keys of ``value`` whose string is longer than 40 characters."""
    if isinstance(value, dict):
        return [k for name, item in value.items()
                for k in _long_strings(item, f"{key}.{name}" if key else name)]
    if isinstance(value, list):
        return [k for i, item in enumerate(value) for k in _long_strings(item, f"{key}[{i}]")]
    return [key] if isinstance(value, str) and len(value) > 40 else []


def test_trained_json_holds_the_values_the_model_trained_with(tmp_path, csv_train, capsys):
    """Tuned values replaced params.yaml's; ``make exps`` showed params.yaml's and nothing said
    what trained. The stage's output names each replaced key; ``trained.json``'s ``trained``
    holds the values (the four ``make exps`` shows by short names), a value params.yaml sets
    to null is left out (it was the string "null", a column of its own), and no value of it
    is a sentence: ``dvc metrics diff`` and ``dvc exp show`` pad every row to the widest
    value (the fit verdict's reasons, 149 characters, did)."""
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"x0": rng.normal(size=160).round(3), "x1": rng.normal(size=160)})
    data["y"] = np.where(data["x0"] - data["x1"] > 0, "yes", "no")
    best = tmp_path / "reports" / "tuning" / "best_params.json"  # train's default --tuned
    best.parent.mkdir(parents=True)
    best.write_text(json.dumps({"enabled": True, "params": TUNED}))
    csv_train(data, "y", "trained-values")
    line = next(x for x in capsys.readouterr().err.splitlines() if "tuned values replace" in x)
    assert "optimizer.name='momentum' (params.yaml: 'adam')" in line
    assert "optimizer.learning_rate=0.0037 (params.yaml: 0.01)" in line
    assert "optimizer.params.momentum=0.935 (not set in params.yaml)" in line
    assert "train.batch_size=32 (params.yaml: 64)" in line

    cv = json.loads((tmp_path / "reports" / "cv.json").read_text())
    trained = json.loads((tmp_path / "reports" / "trained.json").read_text())["trained"]
    # first, in the order DVC lays their columns out (make exps: a terminal cuts the last)
    assert list(trained)[:4] == ["optimizer", "lr", "batch", "schedule"]
    assert (trained["optimizer"], trained["lr"], trained["batch"]) == (
        "momentum", 0.0037, 32)
    assert trained["optimizer.params.momentum"] == 0.935
    assert trained["schedule"] == "constant"  # not tuned: params.yaml's (the default)
    assert trained["optimizer.params.dampening"] == 0.0  # the optimiser's defaults, resolved
    assert "optimizer.clip_norm" not in trained  # params.yaml's null: no value, no column
    assert "null" not in trained.values()
    # the model the stage saved trained with those values (not with params.yaml's adam)
    estimator = final_estimator(load_model(tmp_path / "models" / "model.skops"))
    assert estimator.optimizer == trained["optimizer"]
    assert estimator.learning_rate == trained["lr"]
    assert estimator.batch_size == trained["batch"]
    assert estimator.clip_norm is None
    assert estimator.optimizer_params["momentum"] == trained["optimizer.params.momentum"]

    assert "trained" not in cv  # its columns came before metrics.json's test.* (make exps)
    assert cv["fit"]["verdict"] and _long_strings(cv) == [] and _long_strings(trained) == []
