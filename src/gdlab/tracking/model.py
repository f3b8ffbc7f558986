"""Log the refitted pipeline as an MLflow model: skops format, signature, input example,
pinned requirements, and gdlab's source (plus the project's plug-in modules the model names)
as ``code_paths`` so the model loads anywhere; served, it names what a refused request got
wrong (:mod:`gdlab.served`)."""

from __future__ import annotations

import importlib.metadata as md
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow.models import Model, ModelSignature, infer_signature
from mlflow.models.model import ModelInfo

from gdlab import served
from gdlab.config.plugin_path import import_paths, plugin_sources, python_sources
from gdlab.experiment.persist import trusted_types
from gdlab.tracking.training_rows import log_training_rows

_REQUIREMENTS = ("mlflow", "numpy", "pandas", "scikit-learn", "scipy", "skops")


def pip_requirements() -> list[str]:
    """The packages a gdlab model needs to load, pinned to the versions installed here."""
    pins = []
    for dist in _REQUIREMENTS:
        try:
            pins.append(f"{dist}=={md.version(dist)}")
        except md.PackageNotFoundError:
            pins.append(dist)
    return pins


def model_signature(model: Any, example: pd.DataFrame) -> ModelSignature:
    """Signature from named input columns and the model's predictions on them (the default
    answer; MLflow checks inputs and params only), with the inference param that asks a
    classifier for its probabilities instead (:func:`gdlab.served.params_schema`)."""
    inferred = infer_signature(example, np.asarray(model.predict(example)))
    return ModelSignature(inferred.inputs, inferred.outputs, params=served.params_schema())


def one_hot_metadata(
    one_hot: dict[str, Any] | None, example: pd.DataFrame
) -> dict[str, Any] | None:
    """The served model's :data:`gdlab.served.ONE_HOT_KEY` metadata: the one-hot groups prepare
    made (``meta.json``'s ``one_hot``, :func:`gdlab.data.build.one_hot_encoding`) as they are,
    never told from column names (a user's own ``a=1``, ``a=2`` or drop-first ``city=b``,
    ``city=c`` columns are no group and are not checked); None when prepare encoded no text
    column (or ``one_hot`` is None: data prepared before prepare kept it). ValueError when a
    group names a column the model does not take."""
    if not one_hot or not one_hot.get("groups"):
        return None
    groups = {str(c): [str(level) for level in levels] for c, levels in one_hot["groups"].items()}
    taken = {str(c) for c in example.columns}
    for column, levels in groups.items():
        if absent := [level for level in levels if level not in taken]:
            raise ValueError(
                f"one_hot: the one-hot group of column {column!r} names "
                f"{', '.join(map(repr, absent))}, which the model's input does not hold"
            )
    return {served.ONE_HOT_KEY: {
        "groups": groups, "none_allowed": bool(one_hot.get("none_allowed", False)),
    }}


def _package_source() -> Path:
    import gdlab

    return Path(gdlab.__file__).resolve().parent


@contextmanager
def _import_path_kept() -> Iterator[None]:
    """``sys.path`` as it was, after MLflow loaded a model in this process. A load prepends the
    model's code directory (its copy of gdlab) to ``sys.path`` for good: later imports, and
    worker processes started later (they inherit it), would load that copy, whose kernels
    numba has not cached, instead of the installed package."""
    saved = list(sys.path)
    try:
        yield
    finally:
        sys.path[:] = saved


def log_sklearn_model(
    model: Any,
    example: pd.DataFrame,
    *,
    name: str = "model",
    include_code: bool = True,
    verify: bool = True,
    step: int = 0,
    one_hot: dict[str, Any] | None = None,
    training_rows: np.ndarray | None = None,
    skops_file: str | Path | None = None,
) -> ModelInfo:
    """Log ``model`` to the active run (``serialization_format="skops"`` with gdlab's types
    explicitly trusted) and, when ``verify``, load it back and compare predictions.

    ``step``: the model is the run's output at that step, and MLflow links to it (the Models
    tab) the run's metrics logged at that step; the train stage passes the refit's last epoch
    (:func:`gdlab.tracking.cv.log_training` returns it), where it also logs its summaries.

    ``one_hot``: the text columns prepare one-hot encoded (``Prepared.meta["one_hot"]``); the
    served model refuses a request whose columns of those groups are no encoding prepare makes
    (:func:`one_hot_metadata`, :func:`gdlab.served.one_hot_refusal`). None: no column is
    checked.

    ``training_rows``: the fingerprint of the rows ``model`` was fitted on
    (:func:`gdlab.data.fingerprint.fingerprint`), logged as an artifact of the run, outside
    the model's directory, and named by a run tag
    (:func:`gdlab.tracking.training_rows.log_training_rows`), so that the registry can leave
    them out of a comparison while whoever is handed the model cannot test rows against it.

    ``skops_file``: ``model`` already saved by :func:`gdlab.experiment.persist.save_model`
    (train's ``models/model.skops``): the logged skops file is a copy of its bytes instead
    of a second serialisation (the same bytes: :func:`gdlab.served.save_model`)."""
    with tempfile.TemporaryDirectory(prefix="gdlab-plugin-code-") as staging, \
            _import_path_kept():  # MLflow loads the model back to validate its input example
        code_paths = None
        if include_code:  # MLflow copies the directories without their __pycache__
            code_paths = [str(_package_source()), *(
                python_sources(source, staging)  # a plug-in package's .py files only
                for source in plugin_sources(import_paths(model))
            )]
        # mlflow.sklearn.log_model, but through gdlab.served so that the served model
        # answers a request it refuses with a message naming the columns and rows
        info = Model.log(
            artifact_path=None,
            name=name,
            flavor=served,
            flavor_name=served.FLAVOR_NAME,
            sk_model=model,
            signature=model_signature(model, example),
            input_example=example,
            metadata=one_hot_metadata(one_hot, example),
            serialization_format="skops",
            skops_trusted_types=trusted_types(model),
            pip_requirements=pip_requirements(),
            code_paths=code_paths,
            step=step,
            skops_file=None if skops_file is None else str(skops_file),
        )
        if training_rows is not None:
            if not info.run_id:
                raise ValueError("training_rows: the model was logged outside a run, which "
                                 "would keep its fingerprint; log it in train's run")
            log_training_rows(mlflow.MlflowClient(), info.run_id, training_rows)
        if verify:
            loaded = mlflow.sklearn.load_model(info.model_uri)
            expected = np.asarray(model.predict(example))
            if not np.array_equal(np.asarray(loaded.predict(example)), expected):
                raise RuntimeError(f"model {info.model_uri} predicts differently after loading")
    return info
