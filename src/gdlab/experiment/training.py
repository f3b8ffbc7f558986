"""The train step as one call: folds, cross-validation, then a refit on the whole training split."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gdlab.data.copies import copy_groups
from gdlab.data.positive import training_positive
from gdlab.data.preprocessing import transforms
from gdlab.experiment.cv import CVResult, cross_validate
from gdlab.experiment.folds import Fold, make_folds
from gdlab.experiment.full_batch import full_batch_fits, quiet_batch_size, warn_full_batch
from gdlab.experiment.model import (
    FitOutcome,
    build_pipeline,
    fit_pipeline,
    warm_once,
    watched_rows,
)
from gdlab.experiment.progress import EpochProgress, Eta, say, seconds
from gdlab.experiment.shared_rows import shared_rows


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


def rows_to_fit(
    X: np.ndarray, feature_names: list[str] | None, preprocess: Any
) -> tuple[Any, bool]:
    """``X`` for one fit on all its rows by a pipeline whose preprocessing is ``preprocess``
    (a DataFrame of ``feature_names`` when there are names, as :func:`as_frame`), and whether
    it is a copy of its own that the fit may overwrite (``fit_pipeline(private_rows=...)``).

    A preprocessing that transforms gets one copy, the only one the fit then makes: its
    imputer and scaler work in place on it. The copy is laid out as :func:`as_frame`'s (the
    columns of a frame, which pandas stores column-major; row-major without names), so their
    statistics, summed in the same order, and the fitted model are the same to the bit. A
    preprocessing that only passes ``X`` through gets ``X`` itself, under its names without
    a copy: the estimator only reads it. ``X`` is never written."""
    names = list(feature_names) if feature_names else None
    if not transforms(preprocess):
        return (X if names is None else pd.DataFrame(X, columns=names, copy=False)), False
    if names is None:
        return np.array(X), True
    return pd.DataFrame(X, columns=names, copy=True), True


def refit(
    pipeline: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    feature_names: list[str] | None = None,
    callbacks: list[Any] | None = None,
) -> FitOutcome:
    """``pipeline`` fitted on all of ``(X, y)`` (on named columns with ``feature_names``),
    after its untimed warm-up (:func:`warm_once`). The fit copies ``X`` once at most
    (:func:`rows_to_fit`): before, the frame of named columns, the imputer and the scaler
    each copied it (~3 x X's bytes at once under tracemalloc; ~1.2 GB on a
    1 000 000-row training split of 48 columns)."""
    rows, private = rows_to_fit(X, feature_names, pipeline.named_steps["preprocess"])
    warm_once(pipeline, rows, y)  # the refit's time is its own, as the folds' are
    return fit_pipeline(pipeline, rows, y, callbacks=callbacks, private_rows=private)


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
    ``on_fold_done(fold_result)`` as each fold returns. A ``batch_size`` above the folds' or
    the refit's training rows is said once (:mod:`gdlab.experiment.full_batch`)."""
    task = params.model.task
    pipeline = build_pipeline(params)
    # a row's exact copies stay on one side of every fold
    folds = make_folds(y, params.cv.folds, task=task, seed=params.seed, groups=copy_groups(X, y))
    if progress:
        say(f"cross-validating {len(folds)} folds on {len(y)} rows (n_jobs={params.cv.n_jobs})")
    # untimed, before the ETA's clock: the kernels' one-off compilation (seconds on a first
    # run) skewed the ETA of the first fold's line; fold threads then find it done
    with warnings.catch_warnings(), quiet_batch_size():
        warnings.simplefilter("ignore")
        rows = shared_rows(pipeline, X)  # float32 folds of a float64 X: one copy for all
        warm_once(pipeline, rows, y, folds[0].train_idx, watched_rows(pipeline, folds[0].val_idx))
    eta = Eta(len(folds) + 1)  # the folds and the refit: the last fold's line gives the refit's
    # a batch size above the folds' or the refit's training rows: said once for all of them
    warn_full_batch(full_batch_fits(pipeline, [*(len(f.train_idx) for f in folds), len(y)]))
    cv = cross_validate(
        pipeline, X, y, folds, task=task, n_jobs=params.cv.n_jobs, progress=progress,
        fold_callbacks=fold_callbacks, epoch_lines=epoch_lines, on_fold_done=on_fold_done,
        eta=eta, say_full_batch=False, positive=training_positive(params, y), fit_rows=rows,
    )
    del rows  # the folds' float32 copy, if any: not kept through the refit
    if progress:
        say("refitting on the whole training split")
    show = progress and epoch_lines
    lines = [EpochProgress("refit", params.train.max_epochs)] if show else []
    callbacks = [*lines, *(refit_callbacks or [])] or None
    with quiet_batch_size():
        fitted = refit(pipeline, X, y, feature_names=feature_names, callbacks=callbacks)
    if progress:
        say(f"refit done: {fitted.n_iter} epochs, {seconds(fitted.fit_time)}")
    return TrainingResult(cv=cv, refit=fitted)
