"""skops round trip trusting only gdlab's own types."""

import functools
import os

import numpy as np
import pytest

from gdlab.experiment import fit_pipeline
from gdlab.experiment.persist import load_model, save_model, trusted_types

from .conftest import make_pipeline


def test_round_trip(tmp_path, classification_data):
    X, y = classification_data
    model = fit_pipeline(make_pipeline("classification", 5), X, y).model
    types = save_model(model, tmp_path / "m" / "model.skops")
    assert any(t.startswith("gdlab.") for t in types)
    loaded = load_model(tmp_path / "m" / "model.skops")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))


def test_foreign_types_are_refused():
    with pytest.raises(ValueError, match="refusing to trust"):
        trusted_types({"f": functools.partial(os.system, "true")})


@pytest.mark.parametrize("missing", ["mean", "median", "most_frequent"])
@pytest.mark.parametrize("degree", [1, 2])
def test_every_configurable_preprocessing_saves_and_loads(tmp_path, missing, degree):
    from pathlib import Path

    from gdlab.config import load_params, with_overrides
    from gdlab.experiment import build_pipeline

    repo_params = load_params(Path(__file__).resolve().parents[2] / "params.yaml")
    params = with_overrides(repo_params, {"data.missing": missing, "train.max_epochs": 3,
                                          "preprocess.polynomial_degree": degree})
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    X[[2, 7], [1, 0]] = np.nan  # what the imputer is there for
    model = build_pipeline(params).fit(X, y)
    save_model(model, tmp_path / "model.skops")
    loaded = load_model(tmp_path / "model.skops")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
