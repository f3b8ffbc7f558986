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
