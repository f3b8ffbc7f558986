"""The model pipeline's preprocessing: steps from params, fitted only on the rows it is given."""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline

from gdlab.data import build_preprocessor, make_preprocessor
from tests.data.conftest import make_params


def test_steps_follow_the_params():
    steps = lambda p: [name for name, _ in make_preprocessor(p).steps]  # noqa: E731
    assert steps(make_params()) == ["scale"]
    assert steps(make_params(data__missing="median", preprocess__polynomial_degree=2)) == [
        "impute",
        "poly",
        "scale",
    ]
    assert steps(make_params(preprocess__standardize=False)) == ["identity"]
    pipe = make_preprocessor(make_params(data__missing="most_frequent"))
    assert pipe.named_steps["impute"].strategy == "most_frequent"


def test_identity_passes_data_through():
    X = np.arange(6.0).reshape(3, 2)
    assert np.array_equal(build_preprocessor(standardize=False).fit_transform(X), X)


def test_polynomial_features_have_no_bias_column():
    X = np.arange(6.0).reshape(3, 2)
    out = build_preprocessor(polynomial_degree=2, standardize=False).fit_transform(X)
    assert out.shape == (3, 5)  # x1, x2, x1², x1x2, x2²


def test_fitted_on_training_rows_only():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(50, 3))
    test = rng.normal(loc=10.0, size=(20, 3))
    train[0, 1] = np.nan
    pipe: Pipeline = build_preprocessor(missing="mean")
    pipe.fit(train)
    assert np.allclose(pipe.named_steps["scale"].mean_[[0, 2]], train[:, [0, 2]].mean(axis=0))
    assert np.isclose(pipe.named_steps["impute"].statistics_[1], np.nanmean(train[:, 1]))
    out = pipe.transform(test)
    assert out.mean() > 5  # the test shift is not scaled away: statistics come from train
    assert np.all(np.isfinite(pipe.transform(np.full((1, 3), np.nan))))
