"""Record the prepared data as an MLflow dataset input, identified by its digest."""

from __future__ import annotations

from pathlib import Path

import mlflow.data
import pandas as pd
from mlflow.entities import DatasetInput, InputTag
from mlflow.tracking import MlflowClient


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
    """Log ``frame`` (schema and profile only, not the rows) as an input of ``run_id`` with the
    given ``digest`` (gdlab's hash of the prepared data) and ``context`` ("training", ...)."""
    dataset = mlflow.data.from_pandas(
        frame, source=str(source), targets=target, name=name, digest=digest
    )
    entity = dataset._to_mlflow_entity()
    tags = [InputTag(key="mlflow.data.context", value=context)]
    client.log_inputs(run_id, datasets=[DatasetInput(dataset=entity, tags=tags)])
