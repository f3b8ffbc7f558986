"""Record the prepared data as an MLflow dataset input, identified by its digest."""

from __future__ import annotations

import warnings
from pathlib import Path

import mlflow.data
import pandas as pd
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.entities import DatasetInput, InputTag
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

MAX_DIGEST = 36  # MLflow's limit on a dataset digest


def log_dataset(
    client: MlflowClient,
    run_id: str,
    frame: pd.DataFrame,
    *,
    digest: str,
    source: str | Path,
    name: str,
    context: str,
    target: str | None = None,
) -> None:
    """Log ``frame`` (schema and profile only, not the rows) as an input of ``run_id``.

    The dataset digest is gdlab's hash of the prepared data cut to MLflow's 36 characters;
    the full hash is kept in the input tag ``gdlab.sha256``. ``context`` is e.g. "training".
    """
    with warnings.catch_warnings():
        # MLflow registers the local-file source twice and warns that a path is ambiguous
        warnings.filterwarnings("ignore", message="The specified dataset source can be")
        dataset_source = resolve_dataset_source(str(source))
    dataset = mlflow.data.from_pandas(
        frame, source=dataset_source, targets=target, name=name, digest=digest[:MAX_DIGEST]
    )
    tags = [
        InputTag(key=MLFLOW_DATASET_CONTEXT, value=context),
        InputTag(key="gdlab.sha256", value=digest),
    ]
    client.log_inputs(run_id, datasets=[DatasetInput(dataset._to_mlflow_entity(), tags)])
