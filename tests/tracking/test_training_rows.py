"""The fingerprint of a model's training rows (:mod:`gdlab.tracking.training_rows`) is kept with
the train run, never in the model: whoever is handed the logged or registered model (its
directory, downloaded) cannot test a person's row and label against it. The run holds it as
``fingerprints/training_rows.npy``, named by its tag, and register finds that run from the
model version or the logged model."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.models import Model
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from gdlab import GDClassifier
from gdlab.data.fingerprint import fingerprint, load_fingerprint, row_hashes, seen
from gdlab.served import TRAINING_ROWS_KEY
from gdlab.tracking import log_sklearn_model, pipeline_run
from gdlab.tracking.training_rows import TAG, run_entry, source_run


def _people(n=600, seed=0):
    """The reviewer's table: features and an ``approved`` label per person."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["age", "income", "debt"])
    return X, np.where(X["income"] - X["debt"] > 0, "yes", "no")


def test_the_logged_and_registered_model_hold_no_fingerprint_the_run_does(session, tmp_path):
    X, y = _people()
    train = slice(0, 480)
    model = Pipeline([("scale", StandardScaler()),
                      ("model", GDClassifier(max_epochs=5, tol=None, random_state=0))])
    model.fit(X[train], y[train])
    rows = fingerprint(X[train], y[train])
    with pipeline_run(experiment_id=session.experiment_id) as run:
        info = log_sklearn_model(model, X.head(3), include_code=False, verify=False,
                                 training_rows=rows)
    version = mlflow.register_model(info.model_uri, "private").version

    for uri in (info.model_uri, f"models:/private/{version}"):  # what production downloads
        local = mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / str(uri)[8:]))
        files = sorted(p.name for p in tmp_path.joinpath(str(uri)[8:]).rglob("*"))
        assert "model.skops" in files and "MLmodel" in files, (local, files)
        assert not [f for f in files if f.endswith(".npy") or "training_rows" in f], files
        assert TRAINING_ROWS_KEY not in (Model.load(local).metadata or {})
        assert source_run(uri) == run.info.run_id

    entry = {"file": "training_rows.npy", "hashes": 480, "scheme": "gdlab-rows-1"}
    assert json.loads(session.client.get_run(run.info.run_id).data.tags[TAG]) == entry
    assert run_entry(run.info.run_id) == entry
    kept = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="fingerprints/training_rows.npy",
        dst_path=str(tmp_path / "run"))
    assert np.array_equal(load_fingerprint(kept), rows)
    # the run's fingerprint still tells the training rows (register's use of it)
    assert seen(row_hashes(X, y), load_fingerprint(kept)).sum() == 480


def test_a_run_without_the_tag_has_no_entry_and_a_garbled_tag_is_refused(session):
    with pipeline_run(experiment_id=session.experiment_id) as run:
        pass
    assert run_entry(run.info.run_id) is None
    session.client.set_tag(run.info.run_id, TAG, "not json")
    with pytest.raises(ValueError, match=f"tag {TAG} is not a fingerprint entry"):
        run_entry(run.info.run_id)
