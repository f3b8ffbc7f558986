"""The preprocessing in front of the estimator: imputation, polynomial features, scaling.

It belongs to the model pipeline (not to ``prepare``) so that it is fitted on training rows
only, inside every cross-validation fold, and travels with the model.

A fold's preprocessing that is only a StandardScaler (or passthrough) can also be fitted on
the fold's rows of a shared X without copying them (:func:`fit_scaler_on_rows`) and applied
on the fly by the estimator (:func:`standardisation`); see
:func:`gdlab.experiment.model.fit_pipeline_rows`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
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


@contextmanager
def in_place(preprocess: Any) -> Iterator[None]:
    """Within the block, the imputer and scaler steps of ``preprocess`` (a Pipeline of
    :func:`build_preprocessor`'s steps, or one of them) overwrite the array they are given
    instead of copying it (``copy=False``): for rows that are already a private copy (a fold's
    ``X[rows]``), which a fit would otherwise copy once per step. Same values. Their ``copy``
    is restored after it, so the fitted model never overwrites a caller's data."""
    steps = preprocess.steps if type(preprocess) is Pipeline else [(None, preprocess)]
    copying = [
        step
        for _, step in steps
        if type(step) in (SimpleImputer, StandardScaler) and step.copy is True
    ]
    for step in copying:
        step.copy = False
    try:
        yield
    finally:
        for step in copying:
            step.copy = True


def transforms(preprocess: Any) -> bool:
    """Whether ``preprocess`` has a step other than passthrough (it makes new arrays)."""
    if preprocess is None or (isinstance(preprocess, str) and preprocess == "passthrough"):
        return False
    if type(preprocess) is Pipeline:
        return any(transforms(step) for _, step in preprocess.steps)
    return True


_UNSUPPORTED = object()


def _scaler_of(preprocess: Any) -> Any:
    """The preprocessing's only effective step when it is a StandardScaler (None when every
    step is passthrough); ``_UNSUPPORTED`` for anything else."""
    if preprocess is None or (isinstance(preprocess, str) and preprocess == "passthrough"):
        return None
    if type(preprocess) is StandardScaler:
        return preprocess
    if type(preprocess) is not Pipeline:
        return _UNSUPPORTED
    found = None
    for _, step in preprocess.steps:
        inner = _scaler_of(step)
        if inner is _UNSUPPORTED or (inner is not None and found is not None):
            return _UNSUPPORTED
        found = inner if inner is not None else found
    return found


def row_view_scaler(preprocess: Any) -> tuple[bool, StandardScaler | None]:
    """``(supported, scaler)``: whether the (unfitted) preprocessing can run as an on-the-fly
    standardisation of row views (only passthrough steps and at most one StandardScaler),
    and that scaler (None: no scaling)."""
    scaler = _scaler_of(preprocess)
    if scaler is _UNSUPPORTED:
        return False, None
    return True, scaler


def fit_scaler_on_rows(
    scaler: StandardScaler, X: np.ndarray, rows: np.ndarray, chunk: int | None = None
) -> StandardScaler:
    """Fit ``scaler`` on ``X[rows]`` by ``partial_fit`` over chunks of ``chunk`` rows (None:
    a few MB, :func:`gdlab.core.loop.chunk_rows`), so the rows are never copied at once.
    The result is an ordinary fitted StandardScaler equal to ``fit(X[rows])`` to rounding
    (``n_samples_seen_`` exactly)."""
    from gdlab.core.loop import chunk_rows

    chunk = chunk or chunk_rows(X)
    if len(rows) == 0:
        raise ValueError("cannot fit a scaler on no rows")
    for attr in ("n_samples_seen_", "mean_", "var_", "scale_"):
        if hasattr(scaler, attr):
            delattr(scaler, attr)
    for start in range(0, len(rows), chunk):
        scaler.partial_fit(X[rows[start : start + chunk]])
    return scaler


def standardisation(scaler: StandardScaler | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(center, scale)`` with ``scaler.transform(x) == (x - center) * scale`` (to rounding);
    ``(None, None)`` when there is no scaling."""
    if scaler is None or not (scaler.with_mean or scaler.with_std):
        return None, None
    d = scaler.n_features_in_
    center = scaler.mean_ if scaler.with_mean else np.zeros(d)
    scale = 1.0 / scaler.scale_ if scaler.with_std else np.ones(d)
    return np.asarray(center, dtype=np.float64), np.asarray(scale, dtype=np.float64)
