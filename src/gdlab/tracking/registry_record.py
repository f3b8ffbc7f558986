"""What ``reports/registry.json`` says about the registered version: the decision of
:func:`gdlab.tracking.registry.register_and_gate`, with the run and source of the version that
was registered. A model registered before keeps its version (the same model trained again from
the same commit and data): that version's run and ``models:/m-...`` source are then another
run's, and the record names them (``reused``), with this run's own under ``this_run``."""

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
