"""Where the fingerprint of a model's training rows (:mod:`gdlab.data.fingerprint`) is kept:
with the train run that logged the model, never in the model's own artifacts.

The row hashes are unkeyed: anyone holding the fingerprint and a person's row can tell whether
that row was trained on and, trying each label, which label it had. A registered model is
handed to whoever serves it, so its directory holds no fingerprint; the train run keeps it as
the artifact ``fingerprints/training_rows.npy`` (:data:`DIRECTORY`), named by the run tag
:data:`TAG` (``{"file": "training_rows.npy", "hashes": n, "scheme": "gdlab-rows-1"}``), and
register reads it from the model version's source run (who can read the tracking store's runs
can read it: the training data's own audience).

A model logged before gdlab kept it with the run holds the file in its own directory, named in
its MLmodel metadata :data:`gdlab.served.TRAINING_ROWS_KEY`; register still reads it there
(:func:`gdlab.tracking.champion.champion_scores`)."""

from __future__ import annotations

import json
import tempfile
from typing import Any

import numpy as np

from gdlab.data.fingerprint import save_fingerprint

TAG = "gdlab.training_rows"
"""The train run's tag naming its fingerprint: ``{"file", "hashes", "scheme"}`` as JSON."""
DIRECTORY = "fingerprints"
"""The run artifact directory of the fingerprint file."""


def log_training_rows(client: Any, run_id: str, rows: np.ndarray) -> dict[str, Any]:
    """Log the fingerprint ``rows`` as the artifact ``fingerprints/<file>`` of the run
    ``run_id`` and tag the run (:data:`TAG`); return the tag's entry."""
    with tempfile.TemporaryDirectory(prefix="gdlab-fingerprint-") as directory:
        entry = save_fingerprint(directory, rows)
        client.log_artifact(run_id, f"{directory}/{entry['file']}", DIRECTORY)
    client.set_tag(run_id, TAG, json.dumps(entry, sort_keys=True))
    return entry


def source_run(model_uri: str) -> str | None:
    """The id of the run that logged the model at ``model_uri`` (``models:/<name>/<version>``
    from the registry's version, ``models:/<model id>`` from the logged model), or None when
    the registry knows none."""
    from mlflow import MlflowClient
    from mlflow.store.artifact.utils.models import get_model_name_and_version

    client = MlflowClient()
    found = get_model_name_and_version(client, model_uri)  # as resolve_version reads it
    if len(found) == 2:
        return client.get_model_version(*found).run_id or None
    return client.get_logged_model(found[0]).source_run_id or None


def run_entry(run_id: str) -> dict[str, Any] | None:
    """The fingerprint entry the run ``run_id`` is tagged with (:data:`TAG`), or None for a run
    without one. Raises ValueError when the tag is not a JSON object."""
    from mlflow import MlflowClient

    text = MlflowClient().get_run(run_id).data.tags.get(TAG)
    if text is None:
        return None
    try:
        entry = json.loads(text)
    except json.JSONDecodeError:
        entry = None
    if not isinstance(entry, dict):
        raise ValueError(f"run {run_id}'s tag {TAG} is not a fingerprint entry: {text[:80]!r}")
    return entry
