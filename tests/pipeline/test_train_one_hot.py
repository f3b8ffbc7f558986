"""The prepare and train stages, run in this process on a CSV: the model train logs checks the
one-hot groups prepare made of a text column, and only those (not the data's own 0/1 columns
named like them)."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from gdlab.experiment.persist import load_model
from gdlab.served import ONE_HOT_KEY


def test_train_logs_the_one_hot_groups_prepare_made(tmp_path, csv_train):
    rng = np.random.default_rng(0)
    n = 150
    city = rng.integers(0, 3, n)
    data = pd.DataFrame({
        "x0": rng.normal(size=n).round(3),
        "city": np.array(["lima", "oslo", "rome"])[city],  # text: prepare one-hot encodes it
        "a=1": (rng.random(n) < 0.6) * 1,  # the user's own multi-hot columns (both 1 on rows)
        "a=2": (rng.random(n) < 0.3) * 1,
        "size=m": (city == 1) * 1,  # the user's own drop-first encoding: size s is both 0
        "size=l": (city == 2) * 1,
    })
    data["y"] = np.where(data["x0"] + city > 1.2, "yes", "no")
    csv_train(data, "y", "one-hot")

    uri = json.loads((tmp_path / "models" / "run.json").read_text())["model_uri"]
    loaded = mlflow.pyfunc.load_model(uri)
    assert loaded.metadata.metadata[ONE_HOT_KEY] == {
        "groups": {"city": ["city=lima", "city=oslo", "city=rome"]}, "none_allowed": False}
    pipeline = load_model(tmp_path / "models" / "model.skops")
    names = list(pipeline.feature_names_in_)
    prepared = pd.read_parquet(tmp_path / "data" / "prepared" / "train.parquet")[names]
    both = prepared[(prepared["a=1"] == 1) & (prepared["a=2"] == 1)].head(2)
    size_s = prepared[(prepared["size=m"] == 0) & (prepared["size=l"] == 0)].head(2)
    rows = pd.concat([both, size_s])
    assert len(rows) == 4
    assert loaded.predict(rows).tolist() == pipeline.predict(rows).tolist()
    unseen = rows.head(1).assign(**{"city=lima": 0.0, "city=oslo": 0.0, "city=rome": 0.0})
    with pytest.raises(MlflowException, match="column 'city' sets no level in row 0 "):
        loaded.predict(unseen)
