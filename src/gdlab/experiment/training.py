"""The train step as one call: folds, cross-validation, then a refit on the whole training split."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gdlab.experiment.cv import CVResult, cross_validate
from gdlab.experiment.folds import Fold, make_folds
from gdlab.experiment.model import FitOutcome, build_pipeline, fit_pipeline, warm_once
from gdlab.experiment.progress import EpochProgress, Eta, say, seconds


@dataclass
class TrainingResult:
    """Cross-validation result plus the refitted pipeline (fitted on named columns)."""

    cv: CVResult
    refit: FitOutcome


def as_frame(X: np.ndarray, feature_names: list[str] | None) -> Any:
    """``X`` as a DataFrame with ``feature_names`` (the logged model then expects named columns)."""
    if not feature_names:
        return X
    return pd.DataFrame(X, columns=list(feature_names))


def decode_target(y: np.ndarray, classes: list[Any] | None) -> np.ndarray:
    """Class codes ``0..K-1`` (as prepared) back to the original labels, so the fitted
    classifier's ``classes_`` and predictions are the user's labels; regression ``y`` as is."""
    if not classes:
        return np.asarray(y)
    return np.asarray(classes)[np.asarray(y).astype(np.intp)]


def run_training(
    params: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    feature_names: list[str] | None = None,
    progress: bool = True,
    fold_callbacks: Callable[[Fold], list[Any]] | None = None,
    refit_callbacks: list[Any] | None = None,
    epoch_lines: bool = True,
    on_fold_done: Callable[[Any], None] | None = None,
) -> TrainingResult:
    """Cross-validate the configured pipeline (``cv.folds``, ``cv.n_jobs``, ``seed``) and refit
    it on all of ``(X, y)``. ``fold_callbacks(fold)`` / ``refit_callbacks``: extra estimator
    callbacks (e.g. live metrics); ``epoch_lines=False``: no per-epoch progress lines;
    ``on_fold_done(fold_result)`` as each fold returns."""
    task = params.model.task
    pipeline = build_pipeline(params)
    folds = make_folds(y, params.cv.folds, task=task, seed=params.seed)
    if progress:
        say(f"cross-validating {len(folds)} folds on {len(y)} rows (n_jobs={params.cv.n_jobs})")
    eta = Eta(len(folds) + 1)  # the folds and the refit: the last fold's line gives the refit's
    cv = cross_validate(
        pipeline, X, y, folds, task=task, n_jobs=params.cv.n_jobs, progress=progress,
        fold_callbacks=fold_callbacks, epoch_lines=epoch_lines, on_fold_done=on_fold_done,
        eta=eta,
    )
    if progress:
        say("refitting on the whole training split")
    show = progress and epoch_lines
    lines = [EpochProgress("refit", params.train.max_epochs)] if show else []
    callbacks = [*lines, *(refit_callbacks or [])] or None
    frame = as_frame(X, feature_names)
    warm_once(pipeline, frame, y)  # the refit's time is its own, as the folds' are
    refit = fit_pipeline(pipeline, frame, y, callbacks=callbacks)
    if progress:
        say(f"refit done: {refit.n_iter} epochs, {seconds(refit.fit_time)}")
    return TrainingResult(cv=cv, refit=refit)
