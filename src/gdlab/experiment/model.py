"""The estimator pipeline (preprocessing + gdlab estimator) and how one fit of it is run.

The pipeline always has two steps, ``preprocess`` and ``model``. Fitting goes step by step so the
validation rows reach the estimator as ``eval_set`` after the preprocessing fitted on the
training rows only (``history_["val_loss"]`` is then the per-epoch validation loss).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline

CURVE_KEYS = {
    "loss": "train_loss",
    "val_loss": "val_loss",
    "learning_rate": "learning_rate",
    "grad_norm": "grad_norm",
}
"""Estimator ``history_`` key -> curve name used everywhere downstream (MLflow, DVC plots)."""


def build_pipeline(params: Any) -> Pipeline:
    """Preprocessing + ``GDRegressor``/``GDClassifier`` configured from validated params."""
    from gdlab import GDClassifier, GDRegressor
    from gdlab.config import estimator_kwargs
    from gdlab.data.preprocessing import make_preprocessor

    estimator_cls = GDClassifier if params.model.task == "classification" else GDRegressor
    estimator = estimator_cls(**estimator_kwargs(params))
    return Pipeline([("preprocess", make_preprocessor(params)), ("model", estimator)])


@dataclass
class FitOutcome:
    """A fitted pipeline with its per-epoch curves (lists of length ``n_iter``)."""

    model: Pipeline
    n_iter: int
    curves: dict[str, list[float | None]]
    fit_time: float


def fit_pipeline(
    pipeline: Pipeline,
    X: Any,
    y: np.ndarray,
    *,
    eval_set: tuple[Any, np.ndarray] | None = None,
    callbacks: list[Any] | None = None,
) -> FitOutcome:
    """Fit a clone of ``pipeline`` on ``(X, y)``; ``eval_set`` is transformed by the fitted
    preprocessing before the estimator sees it. Callbacks are removed again after the fit so
    the fitted model carries no progress objects."""
    model = clone(pipeline)
    preprocess = model.named_steps["preprocess"]
    estimator = model.named_steps["model"]
    start = time.perf_counter()
    if preprocess is None or preprocess == "passthrough":
        Xt, transform = X, (lambda data: data)
    else:
        Xt, transform = preprocess.fit_transform(X, y), preprocess.transform
    fit_kwargs: dict[str, Any] = {}
    if eval_set is not None:
        fit_kwargs["eval_set"] = (transform(eval_set[0]), eval_set[1])
    accepts_callbacks = "callbacks" in estimator.get_params()
    if callbacks and accepts_callbacks:
        estimator.set_params(callbacks=list(callbacks))
    try:
        estimator.fit(Xt, y, **fit_kwargs)
    finally:
        if callbacks and accepts_callbacks:
            estimator.set_params(callbacks=None)
    fit_time = time.perf_counter() - start
    n_iter, curves = estimator_curves(estimator)
    return FitOutcome(model=model, n_iter=n_iter, curves=curves, fit_time=fit_time)


def estimator_curves(estimator: Any) -> tuple[int, dict[str, list[float | None]]]:
    """``(n_iter_, curves)`` from a fitted estimator's ``history_`` under ``CURVE_KEYS`` names."""
    history = getattr(estimator, "history_", None) or {"loss": list(estimator.loss_curve_)}
    n_iter = int(getattr(estimator, "n_iter_", len(history["loss"])))
    curves: dict[str, list[float | None]] = {}
    for key, name in CURVE_KEYS.items():
        values = history.get(key)
        if values is None:
            continue
        curves[name] = [None if v is None else float(v) for v in list(values)[:n_iter]]
    return n_iter, curves
