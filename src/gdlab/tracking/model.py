"""Log the refitted pipeline as an MLflow model: skops format, signature, input example,
pinned requirements, and gdlab's source (plus the project's plug-in modules the model names)
as ``code_paths`` so the model loads anywhere; served, it names what a refused request got
wrong (:mod:`gdlab.served`)."""

from __future__ import annotations

import importlib.metadata as md
import sys
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
from sklearn.impute import SimpleImputer

from gdlab import served
from gdlab.config.plugin_path import import_paths, plugin_sources
from gdlab.experiment.example import one_hot_groups
from gdlab.experiment.persist import trusted_types

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


def _imputes(model: Any) -> bool:
    """Whether ``model`` (a pipeline, possibly nested) imputes missing values."""
    if isinstance(model, SimpleImputer):
        return True
    return any(_imputes(step) for _, step in getattr(model, "steps", []))


def one_hot_metadata(model: Any, example: pd.DataFrame) -> dict[str, Any]:
    """The served model's :data:`gdlab.served.ONE_HOT_KEY` metadata: the one-hot groups of
    the input example's columns (prepare's ``<column>=<level>`` dummies, told as
    :func:`gdlab.experiment.example.one_hot_groups` tells them) and whether a row may set no
    level (a missing text value, when the model imputes)."""
    names = [str(c) for c in example.columns]
    groups = one_hot_groups(example.to_numpy(dtype=np.float64), names)
    return {served.ONE_HOT_KEY: {
        "groups": {names[g[0]].partition("=")[0]: [names[j] for j in g] for g in groups},
        "none_allowed": _imputes(model),
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
) -> ModelInfo:
    """Log ``model`` to the active run (``serialization_format="skops"`` with gdlab's types
    explicitly trusted) and, when ``verify``, load it back and compare predictions.

    ``step``: the model is the run's output at that step, and MLflow links to it (the Models
    tab) the run's metrics logged at that step; the train stage passes the refit's last epoch
    (:func:`gdlab.tracking.cv.log_training` returns it), where it also logs its summaries."""
    code_paths = None
    if include_code:  # MLflow copies the directories without their __pycache__
        code_paths = [str(_package_source()), *plugin_sources(import_paths(model))]
    with _import_path_kept():  # MLflow loads the model back to validate its input example
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
            metadata=one_hot_metadata(model, example),
            serialization_format="skops",
            skops_trusted_types=trusted_types(model),
            pip_requirements=pip_requirements(),
            code_paths=code_paths,
            step=step,
        )
        if verify:
            loaded = mlflow.sklearn.load_model(info.model_uri)
            expected = np.asarray(model.predict(example))
            if not np.array_equal(np.asarray(loaded.predict(example)), expected):
                raise RuntimeError(f"model {info.model_uri} predicts differently after loading")
    return info
