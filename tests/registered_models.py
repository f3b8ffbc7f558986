"""Champions in a throw-away MLflow registry: a genuine gdlab classifier on two numbers and a
text column ``city`` that prepare one-hot encodes (logged as train logs it), and a hostile one:
a cloudpickle model whose loading creates a marker file (what ``os.system`` in ``__reduce__``
would run), as anyone able to register a version on a shared server could log."""

from __future__ import annotations

from pathlib import Path

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from gdlab import GDClassifier
from gdlab.data.preprocessing import build_preprocessor
from gdlab.tracking.model import log_sklearn_model

CITY = ["x0", "x1", "city=a", "city=b", "city=c"]
ONE_HOT = {"groups": {"city": ["city=a", "city=b", "city=c"]}, "none_allowed": False}


def city_rows(n: int = 90, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    """Prepared rows (x0, x1 and city one-hot encoded) and their labels."""
    rng = np.random.default_rng(seed)
    city = rng.integers(0, 3, n)
    X = pd.DataFrame(rng.standard_normal((n, 2)), columns=["x0", "x1"])
    for i, level in enumerate("abc"):
        X[f"city={level}"] = (city == i).astype(float)
    return X, (X["x0"].to_numpy() + city > 1.5)


def register_champion(client: MlflowClient, name: str, model_uri: str) -> str:
    """Register ``model_uri`` as a version of ``name`` with the alias champion; its version."""
    version = mlflow.register_model(model_uri, name).version
    client.set_registered_model_alias(name, "champion", str(version))
    return str(version)


def gdlab_champion(client: MlflowClient, name: str) -> Pipeline:
    """A pipeline logged as train logs it (skops, signature, one-hot groups, gdlab's loader),
    registered as champion of ``name``; the pipeline."""
    X, y = city_rows()
    pipeline = Pipeline([
        ("preprocess", build_preprocessor(missing="refuse")),
        ("model", GDClassifier(max_epochs=5, tol=None, random_state=0)),
    ]).fit(X, y)
    with mlflow.start_run():
        info = log_sklearn_model(pipeline, X.head(3), include_code=False, verify=False,
                                 one_hot=ONE_HOT)
    register_champion(client, name, info.model_uri)
    return pipeline


class Hostile(LogisticRegression):
    """A model whose unpickling calls ``open(marker, "w")``: the file exists once anything
    loaded it (a real attack would call ``os.system``)."""

    marker = ""

    def __reduce__(self):
        return (open, (self.marker, "w"))


def cloudpickle_champion(client: MlflowClient, name: str, marker: Path) -> str:
    """A cloudpickle model that creates ``marker`` when loaded, registered as champion of
    ``name`` with the genuine model's signature; its version."""
    X, _ = city_rows()
    hostile = Hostile()
    hostile.marker = str(marker)
    from mlflow.models import infer_signature

    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            hostile, name="model", serialization_format="cloudpickle",
            signature=infer_signature(X.head(3), np.zeros(3)), pip_requirements=["mlflow"],
        )
    assert not marker.exists()  # logging it ran nothing
    return register_champion(client, name, info.model_uri)
