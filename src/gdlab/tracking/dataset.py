"""Record the prepared data as MLflow dataset inputs, each split identified by its file's
SHA-256."""

from __future__ import annotations

import warnings
from pathlib import Path

import mlflow.data
import pandas as pd
from mlflow.data.dataset import Dataset
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.entities import DatasetInput, InputTag
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

from gdlab.data.prepared import META_FILE, TARGET_COLUMN, Prepared

MAX_DIGEST = 36  # MLflow's limit on a dataset digest
SPLIT_CONTEXT = {"train": "training", "test": "testing"}
"""Prepared split -> the dataset input's ``mlflow.data.context``."""


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
) -> Dataset:
    """Log ``frame`` (schema and profile only, not the rows) as an input of ``run_id``; returns
    the MLflow dataset (to link metrics to it).

    The dataset digest is ``digest`` cut to MLflow's 36 characters; the full hash is kept in
    the input tag ``gdlab.sha256``. ``context`` is e.g. "training".
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
    return dataset


def log_prepared_split(
    client: MlflowClient, run_id: str, data: Prepared, split: str, directory: str | Path
) -> Dataset:
    """Log split ``split`` ("train" or "test") of ``data`` (read from ``directory``) as the
    input ``prepared-<split>`` of ``run_id``: source its Parquet file, digest that file's
    SHA-256 as ``meta.json`` records it (the directory's digest is the run tag
    ``gdlab.data_digest``). Returns the dataset, to link metrics of the split to it."""
    if split not in SPLIT_CONTEXT:
        raise ValueError(f"split must be one of {sorted(SPLIT_CONTEXT)}, got {split!r}")
    file = f"{split}.parquet"
    sha256 = data.meta.get("sha256", {}).get(file)
    if not sha256:
        raise ValueError(f"{Path(directory) / META_FILE} records no sha256 of {file}; "
                         "run the prepare stage again")
    return log_dataset(
        client,
        run_id,
        data.frame(split),
        digest=sha256,
        name=f"prepared-{split}",
        source=Path(directory).resolve() / file,
        context=SPLIT_CONTEXT[split],
        target=TARGET_COLUMN,
    )
