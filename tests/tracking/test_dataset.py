"""Dataset inputs of the prepared splits: each identified by its own file's SHA-256, and the
test metrics linked to the test split (and the model)."""

import hashlib
import importlib.util
from pathlib import Path

import mlflow.data
import mlflow.types.utils
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.data.dataset_source_registry import resolve_dataset_source

from gdlab.data import Prepared, load_prepared, write_prepared
from gdlab.tracking import (
    log_dataset,
    log_metrics,
    log_prepared_split,
    pipeline_run,
    scalar_metrics,
)

REPO = Path(__file__).resolve().parents[2]
HEAD_ROWS = 100  # rows MLflow's schema inference may see (gdlab.tracking.dataset.HEAD_ROWS)
ENTITY_FIELDS = ("name", "digest", "source_type", "source", "schema", "profile")


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


def _recording(client, monkeypatch) -> dict:
    """The dataset entities ``client`` logs (by name), as sent to the store (which keeps the
    first source logged under a name and digest)."""
    logged = {}
    log_inputs = client.log_inputs

    def record(run_id, datasets=None, **kwargs):
        logged.update({d.dataset.name: d.dataset for d in datasets})
        return log_inputs(run_id, datasets=datasets, **kwargs)

    monkeypatch.setattr(client, "log_inputs", record)
    return logged


def _from_pandas(frame, source, name, digest):
    """The entity MLflow's own ``from_pandas`` makes of the whole frame (the old logging)."""
    return mlflow.data.from_pandas(
        frame, source=resolve_dataset_source(str(source)), targets="target", name=name,
        digest=digest[:36])._to_mlflow_entity()


@pytest.fixture
def classified(tmp_path):
    """A classification split longer than HEAD_ROWS with a NaN in one feature only after the
    first HEAD_ROWS rows (so its schema says required: false only if all rows are seen)."""
    rng = np.random.default_rng(2)
    names = ["a", "b", "c"]

    def frame(n):
        out = pd.DataFrame(rng.normal(size=(n, 3)), columns=names)
        out.loc[n - 2, "b"] = np.nan
        out["target"] = rng.integers(0, 3, size=n)
        out["sensitive"] = rng.choice(["p", "q"], size=n)
        return out

    directory = tmp_path / "classified"
    write_prepared(directory, frame(3 * HEAD_ROWS), frame(HEAD_ROWS + 20),
                   {"task": "classification", "classes": ["x", "y", "z"],
                    "feature_names": names, "target": "label",
                    "sensitive": "group"})
    return directory


@pytest.mark.parametrize("mmap", [False, True])
def test_the_logged_split_is_the_dataset_mlflow_from_pandas_logs(session, prepared, classified,
                                                                 mmap, monkeypatch):
    """Name, digest, source, schema (types and required) and profile (all rows) are MLflow's
    own from_pandas of the split's frame, on default-like data and on data with a late NaN,
    loaded from Parquet or memory-mapped."""
    client = session.client
    logged = _recording(client, monkeypatch)
    for directory in (prepared[0], classified):
        data = load_prepared(directory, mmap=mmap)
        with pipeline_run(experiment_id=session.experiment_id) as run:
            for split in ("train", "test"):
                log_prepared_split(client, run.info.run_id, data, split, directory)
        for split in ("train", "test"):
            file = directory.resolve() / f"{split}.parquet"
            expected = _from_pandas(data.frame(split), file, f"prepared-{split}", _sha256(file))
            got = logged[f"prepared-{split}"]
            assert {k: getattr(got, k) for k in ENTITY_FIELDS} == {
                k: getattr(expected, k) for k in ENTITY_FIELDS}
    assert '"name": "b", "required": false' in expected.schema  # the late NaN is seen
    assert '"num_rows": 120' in expected.profile


def test_logging_a_split_looks_at_a_bounded_head_of_it_and_copies_no_frame(prepared, monkeypatch,
                                                                            tmp_path):
    """MLflow's schema inference looked at every cell in Python (8.8 million calls at 160k x
    58: 15 s) after the split was copied into a DataFrame; now it sees at most HEAD_ROWS rows
    and no frame larger than that is built."""
    rng = np.random.default_rng(3)
    big = pd.DataFrame(rng.normal(size=(20 * HEAD_ROWS, 4)), columns=list("abcd"))
    big["target"] = rng.normal(size=len(big))
    directory = tmp_path / "big"
    write_prepared(directory, big, big.iloc[:10], {"task": "regression",
                                                   "feature_names": list("abcd"), "target": "y"})
    data = load_prepared(directory, mmap=True)
    cells, frames = [], []
    looked_at = mlflow.types.utils._is_none_or_nan
    monkeypatch.setattr(mlflow.types.utils, "_is_none_or_nan",
                        lambda x: cells.append(1) or looked_at(x))
    framed = Prepared.frame

    def frame(self, split="train"):
        frames.append(framed(self, split))
        return frames[-1]

    monkeypatch.setattr(Prepared, "frame", frame)

    class Client:
        def log_inputs(self, run_id, datasets):
            self.entity = datasets[0].dataset

    client = Client()
    log_prepared_split(client, "run", data, "train", directory)
    assert '"num_rows": 2000, "num_elements": 10000' in client.entity.profile
    assert 0 < len(cells) <= HEAD_ROWS * 5
    assert all(len(frame) <= HEAD_ROWS for frame in frames)


def test_log_dataset_of_a_frame_logs_what_from_pandas_does(session, tmp_path, monkeypatch):
    """The generic entry point: a numeric frame (with a late NaN) and one with a text column
    (whose type depends on its values) log MLflow's own entity."""
    rng = np.random.default_rng(4)
    numeric = pd.DataFrame(rng.normal(size=(3 * HEAD_ROWS, 2)), columns=["a", "target"])
    numeric.loc[3 * HEAD_ROWS - 1, "a"] = np.nan
    numeric["n"] = np.arange(len(numeric))
    text = numeric.assign(t=["u"] * (len(numeric) - 1) + [None])
    source = tmp_path / "frame.parquet"
    client = session.client
    logged = _recording(client, monkeypatch)
    with pipeline_run(experiment_id=session.experiment_id) as run:
        for name, frame in (("numeric", numeric), ("text", text)):
            log_dataset(client, run.info.run_id, frame, digest="d" * 64, source=source,
                        name=name, context="training", target="target")
    for name, frame in (("numeric", numeric), ("text", text)):
        expected = _from_pandas(frame, source, name, "d" * 64)
        assert {k: getattr(logged[name], k) for k in ENTITY_FIELDS} == {
            k: getattr(expected, k) for k in ENTITY_FIELDS}


def test_evaluate_does_not_decode_the_training_split(classified, tmp_path, monkeypatch):
    """evaluate decoded train.parquet (313 MB more than a memory-mapped load at 200k rows)
    though it scores the test split only; it now maps the arrays and reads no feature of
    train.parquet."""
    spec = importlib.util.spec_from_file_location("evaluate_stage", REPO / "pipeline/evaluate.py")
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    read = []
    parquet = pd.read_parquet
    monkeypatch.setattr(pd, "read_parquet",
                        lambda path, *a, **k: read.append((Path(path).name, k.get("columns")))
                        or parquet(path, *a, **k))
    loaded = []
    monkeypatch.setattr(stage, "load_prepared",
                        lambda *a, **k: loaded.append(load_prepared(*a, **k)) or loaded[-1])
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"seed": 1}))
    # no models/run.json: evaluate stops after loading, with its message
    assert stage.main(["--params", str(params), "--tuned", str(tmp_path / "none.json"),
                       "--data", str(classified), "--models", str(tmp_path / "models")]) == 1
    assert loaded, "evaluate stopped before loading the data"
    train_reads = [columns for name, columns in read if name == "train.parquet"]
    assert all(columns is not None and set(columns) <= {"sensitive"} for columns in train_reads)
    decoded = load_prepared(classified)  # the same test split as a Parquet load
    np.testing.assert_array_equal(loaded[0].X_test, decoded.X_test)
    np.testing.assert_array_equal(loaded[0].y_test, decoded.y_test)
    np.testing.assert_array_equal(loaded[0].sensitive_test, decoded.sensitive_test)


def test_a_dataset_another_process_logged_at_once_is_linked_not_a_failure(
        session, prepared, monkeypatch):
    """Two queued experiments (dvc queue start -j 2) log the same prepared split at once: the
    database store's look-up-then-insert lets one of them fail on the datasets table's unique
    key (seen in CI: evaluate stopped with 'UNIQUE constraint failed: datasets.experiment_id,
    datasets.name, datasets.digest'). The other process's row is then in the store: here it
    is inserted by logging the split to another run first, and the failing call raises what
    SQLite raised. Logging again links this run to the existing dataset, one row for both."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    directory, data = prepared
    client = session.client
    with pipeline_run(experiment_id=session.experiment_id) as other:
        pass
    with pipeline_run(experiment_id=session.experiment_id) as run:
        pass
    real = MlflowClient.log_inputs
    calls = []

    def racing(self, run_id, datasets=None, models=None):
        calls.append(run_id)
        if len(calls) == 1:  # the other process inserts the dataset between look-up and insert
            real(self, other.info.run_id, datasets=datasets)
            raise MlflowException(
                "(sqlite3.IntegrityError) UNIQUE constraint failed: datasets.experiment_id, "
                "datasets.name, datasets.digest")
        return real(self, run_id, datasets=datasets, models=models)

    monkeypatch.setattr(MlflowClient, "log_inputs", racing)
    log_prepared_split(client, run.info.run_id, data, "test", directory)
    assert calls == [run.info.run_id, run.info.run_id]
    mine = client.get_run(run.info.run_id).inputs.dataset_inputs
    theirs = client.get_run(other.info.run_id).inputs.dataset_inputs
    assert [d.dataset.name for d in mine] == [d.dataset.name for d in theirs] == ["prepared-test"]
    assert mine[0].dataset.digest == theirs[0].dataset.digest


def test_another_store_error_while_logging_a_dataset_is_not_retried(
        session, prepared, monkeypatch):
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    directory, data = prepared
    calls = []

    def failing(self, run_id, datasets=None, models=None):
        calls.append(run_id)
        raise MlflowException("(sqlite3.OperationalError) database is locked")

    monkeypatch.setattr(MlflowClient, "log_inputs", failing)
    with pipeline_run(experiment_id=session.experiment_id) as run:
        with pytest.raises(MlflowException, match="database is locked"):
            log_prepared_split(session.client, run.info.run_id, data, "test", directory)
    assert len(calls) == 1
