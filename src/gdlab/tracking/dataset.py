"""Record the prepared data as MLflow dataset inputs, each split identified by its file's
SHA-256.

What is logged is what ``mlflow.data.from_pandas(frame)`` logs (name, digest, source, schema,
profile), without its cost: MLflow infers the schema by looking at every cell in Python (15 s
at 160 000 rows x 58 columns), and a split held as a memory map would first be copied into a
DataFrame. Here the column types come from the first :data:`HEAD_ROWS` rows (a numeric
column's type is its dtype's), whether a column may be missing (the schema's ``required``)
from a vectorised NaN test of all rows, and the profile from the shape.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

import mlflow.data
import numpy as np
import pandas as pd
from mlflow.data.dataset import Dataset
from mlflow.data.dataset_source import DatasetSource
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.pandas_dataset import PandasDataset
from mlflow.entities import DatasetInput, InputTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.types.schema import ColSpec, Schema
from mlflow.types.utils import _infer_schema
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

from gdlab.data.prepared import META_FILE, TARGET_COLUMN, Prepared

MAX_DIGEST = 36  # MLflow's limit on a dataset digest
SPLIT_CONTEXT = {"train": "training", "test": "testing"}
"""Prepared split -> the dataset input's ``mlflow.data.context``."""
HEAD_ROWS = 100
"""Rows of a table MLflow's schema inference sees (for the column types)."""
CHUNK_ROWS = 1 << 16
"""Rows of a memory-mapped split tested for NaN at a time (bounded temporary memory)."""


class SummarisedDataset(PandasDataset):
    """The MLflow pandas dataset of a table of ``rows`` rows of which only the first ones,
    ``head``, are held: ``schema`` and ``profile`` describe the whole table (as
    ``mlflow.data.from_pandas`` of it would), ``df`` is ``head``. ``optional``: the columns
    that hold a missing value somewhere (``required: false`` in the schema)."""

    def __init__(
        self,
        head: pd.DataFrame,
        *,
        rows: int,
        optional: set[str],
        source: DatasetSource,
        name: str,
        digest: str,
        targets: str | None = None,
    ):
        self._rows = int(rows)
        self._optional = set(optional)
        super().__init__(head, source=source, targets=targets, name=name, digest=digest)

    @property
    def profile(self) -> Any | None:
        return {"num_rows": self._rows, "num_elements": self._rows * self._df.shape[1]}

    @cached_property
    def schema(self) -> Schema | None:  # type: ignore[override]
        try:
            head = _infer_schema(self._df)
        except Exception:  # as PandasDataset: a table whose schema cannot be inferred has none
            return None
        return Schema([
            ColSpec(spec.type, spec.name, required=spec.name not in self._optional)
            for spec in head.inputs
        ])


def _source(source: str | Path) -> DatasetSource:
    with warnings.catch_warnings():
        # MLflow registers the local-file source twice and warns that a path is ambiguous
        warnings.filterwarnings("ignore", message="The specified dataset source can be")
        return resolve_dataset_source(str(source))


RACE_ATTEMPTS = 3
"""How often a dataset input is logged when another process logged the same dataset at once."""
_DUPLICATE = ("UNIQUE constraint failed", "duplicate key value", "IntegrityError")
"""How a database store says that a row it was about to insert exists (SQLite, PostgreSQL)."""


def _log(client: MlflowClient, run_id: str, dataset: Dataset, digest: str, context: str) -> None:
    """Log ``dataset`` as an input of the run. MLflow's database store looks the dataset up
    (experiment, name, digest) and inserts it when absent, in one transaction: two processes
    logging the same data at once (``dvc queue start -j 2`` runs two experiments on the same
    prepared data) can both find it absent, and the second insert fails on the table's
    unique key. The dataset is then in the store, and logging again links the run to it."""
    tags = [
        InputTag(key=MLFLOW_DATASET_CONTEXT, value=context),
        InputTag(key="gdlab.sha256", value=digest),
    ]
    inputs = [DatasetInput(dataset._to_mlflow_entity(), tags)]
    for attempt in range(1, RACE_ATTEMPTS + 1):
        try:
            client.log_inputs(run_id, datasets=inputs)
            return
        except MlflowException as exc:
            if attempt == RACE_ATTEMPTS or not any(m in str(exc) for m in _DUPLICATE):
                raise


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
    source = _source(source)
    if any(dtype.kind == "O" for dtype in frame.dtypes):
        # an object column's type depends on its values: MLflow looks at all of them
        dataset: Dataset = mlflow.data.from_pandas(
            frame, source=source, targets=target, name=name, digest=digest[:MAX_DIGEST]
        )
    else:
        dataset = SummarisedDataset(
            frame.head(HEAD_ROWS),
            rows=len(frame),
            optional=set(frame.columns[frame.isna().any().to_numpy()]),
            source=source,
            targets=target,
            name=name,
            digest=digest[:MAX_DIGEST],
        )
    _log(client, run_id, dataset, digest, context)
    return dataset


def _has_nan(values: np.ndarray) -> np.ndarray:
    """Per column of ``values`` (2-D, or 1-D: one column), whether it holds a NaN; read
    :data:`CHUNK_ROWS` rows at a time, so a memory map is not copied whole."""
    found = np.zeros(values.shape[1] if values.ndim == 2 else 1, dtype=bool)
    for start in range(0, len(values), CHUNK_ROWS):
        chunk = np.isnan(np.asarray(values[start:start + CHUNK_ROWS]))
        found |= chunk.any(axis=0) if chunk.ndim == 2 else chunk.any()
    return found


def log_prepared_split(
    client: MlflowClient, run_id: str, data: Prepared, split: str, directory: str | Path
) -> Dataset:
    """Log split ``split`` ("train" or "test") of ``data`` (read from ``directory``) as the
    input ``prepared-<split>`` of ``run_id``: source its Parquet file, digest that file's
    SHA-256 as ``meta.json`` records it (the directory's digest is the run tag
    ``gdlab.data_digest``). Returns the dataset, to link metrics of the split to it.

    The split's arrays (memory maps or not) are not copied: the dataset's schema is that of
    ``data.frame(split)`` (features and ``target``), from its first rows and a NaN test of all
    of them, and its profile counts all rows (see :class:`SummarisedDataset`)."""
    if split not in SPLIT_CONTEXT:
        raise ValueError(f"split must be one of {sorted(SPLIT_CONTEXT)}, got {split!r}")
    file = f"{split}.parquet"
    sha256 = data.meta.get("sha256", {}).get(file)
    if not sha256:
        raise ValueError(f"{Path(directory) / META_FILE} records no sha256 of {file}; "
                         "run the prepare stage again")
    X, y = (data.X_train, data.y_train) if split == "train" else (data.X_test, data.y_test)
    head = replace(data, X_train=data.X_train[:HEAD_ROWS], y_train=data.y_train[:HEAD_ROWS],
                   X_test=data.X_test[:HEAD_ROWS], y_test=data.y_test[:HEAD_ROWS]).frame(split)
    missing = np.concatenate([_has_nan(X), _has_nan(y)])
    dataset = SummarisedDataset(
        head,
        rows=len(X),
        optional={column for column, nan in zip(head.columns, missing, strict=True) if nan},
        source=_source(Path(directory).resolve() / file),
        targets=TARGET_COLUMN,
        name=f"prepared-{split}",
        digest=sha256[:MAX_DIGEST],
    )
    _log(client, run_id, dataset, sha256, context=SPLIT_CONTEXT[split])
    return dataset
