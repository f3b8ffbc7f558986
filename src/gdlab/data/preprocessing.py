"""The preprocessing in front of the estimator: imputation, polynomial features, scaling.

It belongs to the model pipeline (not to ``prepare``) so that it is fitted on training rows
only, inside every cross-validation fold, and travels with the model.
"""

from __future__ import annotations

from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from gdlab.config import Params


def build_preprocessor(
    *, missing: str = "refuse", polynomial_degree: int = 1, standardize: bool = True
) -> Pipeline:
    """Steps in order: ``impute`` (unless ``missing == "refuse"``), ``poly`` (degree > 1),
    ``scale`` (standardize). With no step, a single ``passthrough`` step ``identity``."""
    steps: list[tuple[str, object]] = []
    if missing != "refuse":
        steps.append(("impute", SimpleImputer(strategy=missing, keep_empty_features=True)))
    if polynomial_degree > 1:
        steps.append(("poly", PolynomialFeatures(degree=polynomial_degree, include_bias=False)))
    if standardize:
        steps.append(("scale", StandardScaler()))
    return Pipeline(steps or [("identity", "passthrough")])


def make_preprocessor(params: Params) -> Pipeline:
    """The preprocessing configured by ``data.missing`` and ``preprocess.*`` (unfitted)."""
    return build_preprocessor(
        missing=params.data.missing,
        polynomial_degree=params.preprocess.polynomial_degree,
        standardize=params.preprocess.standardize,
    )
