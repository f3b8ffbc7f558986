"""Dataset inputs of the prepared splits: each identified by its own file's SHA-256, and the
test metrics linked to the test split (and the model)."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from gdlab.data import load_prepared, write_prepared
from gdlab.tracking import log_metrics, log_prepared_split, pipeline_run, scalar_metrics


@pytest.fixture
def prepared(tmp_path):
    rng = np.random.default_rng(1)

    def frame(n):
        out = pd.DataFrame(rng.normal(size=(n, 2)), columns=["a", "b"])
        out["target"] = rng.normal(size=n)
        return out

    directory = tmp_path / "prepared"
    write_prepared(directory, frame(30), frame(10),
                   {"task": "regression", "feature_names": ["a", "b"], "target": "y"})
    return directory, load_prepared(directory)


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_each_split_is_identified_by_its_own_files_sha256(session, prepared):
    directory, data = prepared
    client = session.client
    with pipeline_run(experiment_id=session.experiment_id) as run:
        for split in ("train", "test"):
            log_prepared_split(client, run.info.run_id, data, split, directory)
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    found = {d.dataset.name: (d.dataset.digest, {t.key: t.value for t in d.tags}) for d in inputs}
    assert set(found) == {"prepared-train", "prepared-test"}
    for split, context in (("train", "training"), ("test", "testing")):
        digest, tags = found[f"prepared-{split}"]
        sha = _sha256(directory / f"{split}.parquet")  # computed here, not read from meta.json
        assert tags["gdlab.sha256"] == sha and digest == sha[:36]
        assert tags["mlflow.data.context"] == context
        assert not data.digest.startswith(digest)  # not the directory's digest
    assert found["prepared-train"][0] != found["prepared-test"][0]


def test_a_split_that_is_not_train_or_test_is_refused(session, prepared):
    directory, data = prepared
    with pytest.raises(ValueError, match="split must be one of"):
        log_prepared_split(session.client, "no-run", data, "validation", directory)


def test_test_metrics_name_the_test_split_and_the_model(session, prepared):
    directory, data = prepared
    client = session.client
    with pipeline_run(experiment_id=session.experiment_id) as run:
        run_id = run.info.run_id
        model = client.create_logged_model(session.experiment_id, source_run_id=run_id)
        test_set = log_prepared_split(client, run_id, data, "test", directory)
        log_metrics(client, run_id, scalar_metrics(
            {"test_rmse": 0.5, "test_r2": 0.9}, model_id=model.model_id, dataset=test_set))
    linked = {m.key: m for m in client.get_logged_model(model.model_id).metrics}
    assert set(linked) == {"test_rmse", "test_r2"}
    for metric in linked.values():
        assert metric.dataset_name == "prepared-test"
        assert metric.dataset_digest == _sha256(directory / "test.parquet")[:36]
    assert client.get_run(run_id).data.metrics["test_rmse"] == 0.5
