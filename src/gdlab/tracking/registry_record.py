"""What ``reports/registry.json`` says about the registered version: the decision of
:func:`gdlab.tracking.registry.register_and_gate`, with the run and source of the version that
was registered. A model registered before keeps its version (the same model trained again from
the same commit and data): that version's run and ``models:/m-...`` source are then another
run's, and the record names them (``reused``), with this run's own under ``this_run``; the
train run is then tagged as a duplicate of that run (:func:`run_tags`), not as the run the
version was registered or promoted from."""

from __future__ import annotations

from typing import Any

from mlflow.tracking import MlflowClient

from gdlab.tracking.registry import RegistryDecision


def registry_record(client: MlflowClient, decision: RegistryDecision) -> dict[str, Any]:
    """``decision`` as ``reports/registry.json`` records it: ``run_id`` and ``model_uri`` are
    those of the registered version (``models:/<name>/<version>`` serves that source);
    ``reused`` says whether it was registered from another run's logged model, this run's
    being ``this_run`` (``{"run_id", "model_uri"}``) then."""
    record = decision.to_dict()
    version = client.get_model_version(decision.model_name, decision.version)
    reused = version.run_id != decision.run_id or version.source != decision.model_uri
    record["reused"] = reused
    if reused:
        record.update(run_id=version.run_id, model_uri=version.source,
                      this_run={"run_id": decision.run_id, "model_uri": decision.model_uri})
    return record


DUPLICATE_OF_TAG = "gdlab.duplicate_of"
"""On a train run whose model register found registered already (the same model file trained
again from the same code and data): the run the version was registered from."""
REUSED_VERSION_TAG = "gdlab.reused_version"
"""On such a run: the version it reused (``gdlab.registered_version`` is that run's)."""


def run_tags(record: dict[str, Any]) -> dict[str, str]:
    """The tags register sets on its train run, from :func:`registry_record`'s ``record``:
    ``gdlab.registered_version``, ``gdlab.promoted`` (true when this decision gave the version
    ``champion``) and ``gdlab.promotion_reason``; for a reused version, instead of the first
    two, :data:`REUSED_VERSION_TAG` and :data:`DUPLICATE_OF_TAG` (the version's own run): a
    search for the run a version was registered or promoted from finds that run only."""
    tags = {"gdlab.promotion_reason": str(record["reason"])}
    if record["reused"]:
        tags[REUSED_VERSION_TAG] = str(record["version"])
        tags[DUPLICATE_OF_TAG] = str(record["run_id"])
    else:
        tags["gdlab.registered_version"] = str(record["version"])
        tags["gdlab.promoted"] = str(bool(record["promoted"])).lower()
    return tags
