"""reports/registry.json names the version that was registered: when the same model trained
again keeps its earlier version, the record gives that version's own run and source (the
model ``models:/<name>@champion`` serves), says it was reused, and keeps this run's apart."""

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from gdlab import GDRegressor
from gdlab.tracking import log_sklearn_model, pipeline_run, register_and_gate
from gdlab.tracking.registry import MODEL_DIGEST_TAG
from gdlab.tracking.registry_record import registry_record


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 2)), columns=["a", "b"])
    y = X.to_numpy() @ [1.0, -2.0]
    model = Pipeline([("scale", StandardScaler()),
                      ("model", GDRegressor(max_epochs=3, random_state=0))])
    return model.fit(X, y), X


def _register(session, fitted, name, lineage):
    """Log ``fitted`` in a new run and register it with ``lineage`` tags, as register does."""
    model, X = fitted
    with pipeline_run(experiment_id=session.experiment_id) as run:
        info = log_sklearn_model(model, X.head(3), include_code=False, verify=False)
    decision = register_and_gate(session.client, model_name=name, model_uri=info.model_uri,
                                 run_id=run.info.run_id, metric="rmse", value=1.0,
                                 tags=dict(lineage))
    return decision, run.info.run_id, info.model_uri


def test_a_reused_version_is_recorded_with_its_own_run_and_source(session, fitted):
    name = "record-test"
    lineage = {MODEL_DIGEST_TAG: "ef" * 32, "mlflow.source.git.commit": "c0ffee",
               "gdlab.code_dirty": "false", "gdlab.data_digest": "d1"}
    first, first_run, first_uri = _register(session, fitted, name, lineage)
    record = registry_record(session.client, first)
    assert (record["run_id"], record["model_uri"], record["reused"]) == (first_run, first_uri,
                                                                           False)
    assert "this_run" not in record

    again, run_id, model_uri = _register(session, fitted, name, lineage)  # trained again
    assert again.version == first.version == "1"
    record = registry_record(session.client, again)
    registered = session.client.get_model_version(name, "1")
    assert (record["version"], record["run_id"], record["model_uri"]) == (
        "1", registered.run_id, registered.source)
    assert (registered.run_id, registered.source) == (first_run, first_uri)
    assert record["reused"] is True
    assert record["this_run"] == {"run_id": run_id, "model_uri": model_uri}
    assert record["reason"] == again.reason and record["promoted"] is True


def test_a_run_that_reused_a_version_is_tagged_a_duplicate_not_its_registered_run(session,
                                                                                  fitted):
    """v1, then another model v2 (challenger), then v1's model trained again: challenger goes
    back to v1 (the model of register's latest run, as the registered model's description
    says), and the new run is tagged a duplicate of v1's run, not as v1's registered or
    promoted run (it said gdlab.registered_version 1, gdlab.promoted true)."""
    from gdlab.tracking.registry_record import run_tags

    name, client = "duplicate-test", session.client
    lineage = {MODEL_DIGEST_TAG: "ab" * 32, "mlflow.source.git.commit": "c0ffee",
               "gdlab.code_dirty": "false", "gdlab.data_digest": "d1"}
    first, first_run, _ = _register(session, fitted, name, lineage)
    assert run_tags(registry_record(client, first)) == {
        "gdlab.registered_version": "1", "gdlab.promoted": "true",
        "gdlab.promotion_reason": first.reason}
    other, _, _ = _register(session, fitted, name, {**lineage, MODEL_DIGEST_TAG: "cd" * 32})
    assert other.version == "2"
    assert str(client.get_model_version_by_alias(name, "challenger").version) == "2"
    again, _, _ = _register(session, fitted, name, lineage)
    assert again.version == "1"
    assert str(client.get_model_version_by_alias(name, "challenger").version) == "1"
    described = client.get_registered_model(name).description
    assert "'challenger': the model of register's latest run" in described
    assert "the earlier version it reused" in described
    assert run_tags(registry_record(client, again)) == {
        "gdlab.reused_version": "1", "gdlab.duplicate_of": first_run,
        "gdlab.promotion_reason": again.reason}
