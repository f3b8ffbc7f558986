"""``data.missing: median`` (an imputer in the model pipeline) through the whole pipeline: the
fitted imputer is saved, logged, evaluated and registered like any other model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from gdlab.experiment.persist import load_model
from tests.reliability.harness import assert_succeeded, make_project


def test_a_model_with_an_imputer_goes_through_every_stage(tmp_path):
    raw = tmp_path / "p" / "data" / "raw" / "houses.csv"
    raw.parent.mkdir(parents=True)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["price"] = X @ [1.0, -2.0, 0.5]
    frame.loc[[3, 50, 120], "b"] = np.nan  # holes the imputer fills
    frame.to_csv(raw, index=False)
    project = make_project(tmp_path / "p", {
        "data": {"source": "csv", "path": "data/raw/houses.csv", "target": "price",
                 "missing": "median", "synthetic": {"sensitive_group": False}},
        "model": {"task": "regression"},
        "fairness": {"max_equalized_odds_difference": None},
        "register": {"model_name": "gdlab-impute"},
    })
    assert_succeeded(project.repro("register"))
    model = load_model(tmp_path / "p" / "models" / "model.skops")
    assert model.named_steps["preprocess"].named_steps["impute"].strategy == "median"
    registry = json.loads((tmp_path / "p" / "reports" / "registry.json").read_text())
    assert registry["registered"] and registry["model_name"] == "gdlab-impute"
