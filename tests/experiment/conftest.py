"""Small data sets and pipelines built directly from gdlab's estimators (no params.yaml)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from gdlab import GDClassifier, GDRegressor


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("CI", "1")


@pytest.fixture
def regression_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 5)) * [1.0, 10.0, 0.1, 1.0, 3.0] + 5.0
    y = X @ np.array([1.0, 0.2, -3.0, 0.5, 0.0]) + rng.normal(scale=0.1, size=240)
    return X, y


@pytest.fixture
def classification_data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.3, size=300) > 0, "yes", "no")
    return X, y


def make_pipeline(task: str, max_epochs: int = 15, learning_rate: float = 0.01) -> Pipeline:
    cls = GDClassifier if task == "classification" else GDRegressor
    estimator = cls(
        batch_size=32,
        max_epochs=max_epochs,
        tol=None,
        learning_rate=learning_rate,
        random_state=0,
    )
    return Pipeline([("preprocess", StandardScaler()), ("model", estimator)])
