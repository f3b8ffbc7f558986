"""The estimator pipeline (preprocessing + gdlab estimator) and how one fit of it is run.

The pipeline always has two steps, ``preprocess`` and ``model``. Fitting goes step by step so the
validation rows reach the estimator as ``eval_set`` after the preprocessing fitted on the
training rows only (``history_["val_loss"]`` is then the per-epoch validation loss). Held-out
rows that are scored afterwards (a fold's, ``monitor_eval=False``) are only recorded there:
``schedule: plateau`` then steps on the training loss, as in the refit, not on the rows the
fold is judged on. A
regression ``model`` step with ``preprocess.scale_target`` is a ``TransformedTargetRegressor``
around the gdlab estimator (:mod:`gdlab.experiment.target`): its target scaler is fitted on
the training rows' targets, the validation targets are scaled by it, and the curves are the
inner estimator's, in standardised-target units.

Folds (:func:`fit_pipeline_rows`) train on row numbers of one shared ``X``: when the
preprocessing is only a StandardScaler (or passthrough) and the model a gdlab estimator, no
fold copies its rows: the scaler is fitted on chunks of them and the estimator trains on
index views of ``X`` standardised on the fly (a float32 estimator on a float64 ``X``: views
of one float32 copy made for all the folds, :mod:`gdlab.experiment.shared_rows`). The fitted
object is the same ordinary ``Pipeline`` either way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from gdlab.experiment.target import (
    final_estimator,
    join_target,
    scales_target,
    split_target,
    transform_target,
    with_estimator_params,
    wrap_target,
)

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

    if params.model.task == "classification":  # preprocess.scale_target: regression only
        estimator = GDClassifier(**estimator_kwargs(params))
    else:
        estimator = wrap_target(
            GDRegressor(**estimator_kwargs(params)), params.preprocess.scale_target
        )
    return Pipeline([("preprocess", make_preprocessor(params)), ("model", estimator)])


@dataclass
class FitOutcome:
    """A fitted pipeline with its per-epoch curves (lists of length ``n_iter``).

    ``epoch_ends``: the wall-clock time (Unix seconds) at the end of each epoch, from the
    estimator's ``history_["time"]``; empty when the estimator keeps no per-epoch times."""

    model: Pipeline
    n_iter: int
    curves: dict[str, list[float | None]]
    fit_time: float
    epoch_ends: list[float] = field(default_factory=list)


def fit_pipeline(
    pipeline: Pipeline,
    X: Any,
    y: np.ndarray,
    *,
    eval_set: tuple[Any, np.ndarray] | None = None,
    callbacks: list[Any] | None = None,
    private_rows: bool = False,
    monitor_eval: bool = True,
) -> FitOutcome:
    """Fit a clone of ``pipeline`` on ``(X, y)``; ``eval_set`` is transformed by the fitted
    preprocessing (and its targets by the target scaler fitted on ``y``) before the estimator
    sees it. Callbacks are removed again after the fit so the fitted model carries no progress
    objects. ``private_rows``: ``X`` and ``eval_set[0]`` are copies nobody else reads, which
    the imputer and scaler may overwrite instead of copying (:func:`in_place`).
    ``monitor_eval=False``: ``eval_set`` holds rows scored afterwards; a gdlab estimator
    records its loss (``val_loss``) without monitoring it (plateau steps on the training
    loss; see :func:`fit_pipeline_rows`)."""
    from gdlab.data.preprocessing import in_place

    model = clone(pipeline)
    preprocess = model.named_steps["preprocess"]
    step = model.named_steps["model"]
    start = time.perf_counter()
    estimator, y_fit, target = split_target(step, y)
    fit_kwargs: dict[str, Any] = {}
    if preprocess is None or preprocess == "passthrough":
        Xt = X
        if eval_set is not None:
            fit_kwargs["eval_set"] = (eval_set[0], transform_target(target, eval_set[1]))
    else:
        with in_place(preprocess) if private_rows else nullcontext():
            Xt = preprocess.fit_transform(X, y)
            if eval_set is not None:
                Xv = preprocess.transform(eval_set[0])
                fit_kwargs["eval_set"] = (Xv, transform_target(target, eval_set[1]))
    fit = estimator.fit
    if not monitor_eval and _is_gdlab(estimator):
        fit = partial(estimator._fit, monitor_eval=False)
    with _callbacks(estimator, callbacks):
        fit(Xt, y_fit, **fit_kwargs)
    join_target(step, estimator, target)
    return _outcome(model, estimator, start)


def fit_pipeline_rows(
    pipeline: Pipeline,
    X: Any,
    y: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray | None = None,
    *,
    callbacks: list[Any] | None = None,
    monitor_eval: bool = True,
) -> FitOutcome:
    """``fit_pipeline(pipeline, X[train_idx], y[train_idx], eval_set=(X[val_idx],
    y[val_idx]), monitor_eval=monitor_eval)`` (to rounding) without copying the rows when
    the pipeline allows it.

    ``monitor_eval=False`` for held-out rows that are scored afterwards (cross-validation,
    tune, compare): their loss is recorded per epoch (the fold's ``val_loss`` curve) but
    nothing reads it to decide, so ``schedule: plateau`` lowers the rate on the training loss
    as the refit (which has no validation set) does, not on the rows the fold is scored on.
    Early stopping gets no such rows at all (:func:`watched_rows`).

    Row views are used when ``X`` is an ndarray (memory maps included) of the estimator's
    dtype, the preprocessing is only a StandardScaler or passthrough and the model a gdlab
    estimator: the scaler is fitted by ``partial_fit`` over chunks of the training rows and
    the estimator trains on index views of ``X`` standardised on the fly
    (``_fit_view``). Anything else (imputation, polynomial features, another estimator, a
    DataFrame) copies the rows and runs :func:`fit_pipeline`. A target scaler is fitted on
    ``y[train_idx]``; the estimator then reads its rows of the scaled copy of ``y``.

    ``X`` may be a :class:`gdlab.experiment.shared_rows.SharedRows` (a float32 estimator's
    folds on a float64 ``X``, converted once for all of them): the estimator trains on views
    of its float32 rows, and the fitted scaler takes the original rows."""
    from gdlab.data.preprocessing import fit_scaler_on_rows, row_view_scaler, standardisation
    from gdlab.experiment.shared_rows import SharedRows

    offset = None
    if isinstance(X, SharedRows):  # the folds' one float32 copy of a float64 X
        if not _views_fit(final_estimator(pipeline.named_steps["model"]), X.values, y):
            X = X.source
        else:
            X, offset = X.values, X.offset
    model = clone(pipeline)
    preprocess = model.named_steps["preprocess"]
    step = model.named_steps["model"]
    supported, scaler = row_view_scaler(preprocess)
    if not (supported and _views_fit(final_estimator(step), X, y)):
        eval_set = None if val_idx is None else (_rows_of(X, val_idx), _rows_of(y, val_idx))
        return fit_pipeline(
            pipeline, _rows_of(X, train_idx), _rows_of(y, train_idx), eval_set=eval_set,
            callbacks=callbacks, private_rows=True,  # the rows just copied: theirs to overwrite
            monitor_eval=monitor_eval,
        )
    start = time.perf_counter()
    if scaler is not None:
        fit_scaler_on_rows(scaler, X, train_idx)
    center, scale = standardisation(scaler)  # of the rows as the estimator reads them
    if offset is not None:  # rows shifted by offset: the fitted scaler takes unshifted ones
        scaler.mean_ = scaler.mean_ + offset
    estimator, _, target = split_target(step, y[train_idx] if scales_target(step) else y)
    y_fit = transform_target(target, y)  # scaled: a 1-d copy; only the fold's rows are read
    with _callbacks(estimator, callbacks):
        estimator._fit_view(X, y_fit, train_idx, center=center, scale=scale, eval_rows=val_idx,
                            monitor_eval=monitor_eval)
    join_target(step, estimator, target)
    return _outcome(model, estimator, start)


def watched_rows(pipeline: Pipeline, val_idx: np.ndarray | None) -> np.ndarray | None:
    """The held-out rows to give a fold's estimator as its validation set (recorded, not
    monitored: ``fit_pipeline_rows(..., monitor_eval=False)``): ``val_idx``,
    unless the estimator stops early (``early_stopping``), which stops on its validation set
    and restores the weights of its lowest loss there. Then None: it holds out
    ``validation_fraction`` of the fold's training rows itself (as the refit does), so the
    held-out rows, scored afterwards, chose neither the epoch nor the weights (stopping on
    them made the CV score optimistic: the fold's best epoch on the very rows it is scored
    on). Its ``val_loss`` curve is then the loss on that inner split."""
    stops = bool(final_estimator(pipeline).get_params().get("early_stopping", False))
    return None if stops else val_idx


def warm_up_rows(
    pipeline: Pipeline, X: Any, y: np.ndarray, train_idx: np.ndarray,
    val_idx: np.ndarray | None = None,
) -> None:
    """One epoch on these rows, by the same path as the timed fit that follows (row views,
    the threads that gather large blocks, the validation loss), so that fit's clock leaves
    out the one-off compilation, cache loading and thread start-up of the engine's kernels in
    this process: where wall time is the result (compare, the heat map), the first fit of a
    worker took seconds against hundredths for the same work after it."""
    small = with_estimator_params(pipeline, max_epochs=1, tol=None, verbose=0)
    try:
        fit_pipeline_rows(small, X, y, train_idx, val_idx)
    except Exception:  # noqa: BLE001 - a warm-up only; the real fit reports problems
        pass


WARM_UP_ROWS = 4096
"""Rows of the refit's untimed warm-up epoch (:func:`warm_once` without ``train_idx``)."""
_WARMING = threading.Lock()
_WARMED: set[tuple[str, str]] = set()
"""The (path, configuration) pairs this process has fitted once already (:func:`warm_once`)."""


def warm_once(
    pipeline: Pipeline, X: Any, y: np.ndarray, train_idx: np.ndarray | None = None,
    val_idx: np.ndarray | None = None,
) -> None:
    """The first time this process fits this configuration by this path, one untimed epoch
    first (:func:`warm_up_rows` on the fold's rows, or one epoch of :func:`fit_pipeline` on
    the first :data:`WARM_UP_ROWS` rows of ``X`` when ``train_idx`` is None; quiet, whatever
    ``verbose``): the fit timed after it is then the fit's own
    time. Without it, each worker's first fold and the refit counted the kernels' cache
    loading (~0.25 s against 0.015 s for the fit itself), and so did their ``fit_time_s``
    in MLflow. Later fits of the same configuration in this process skip it."""
    settings = final_estimator(pipeline).get_params()
    config = repr(sorted((k, repr(v)) for k, v in settings.items() if k != "callbacks"))
    key = ("rows" if train_idx is not None else "all", config)
    with _WARMING:  # folds in threads: the others wait for it, then fit warm
        if key in _WARMED:
            return
        _WARMED.add(key)  # first: a warm-up that fails is not tried again
        if train_idx is not None:
            warm_up_rows(pipeline, X, y, train_idx, val_idx)
            return
        small = with_estimator_params(pipeline, max_epochs=1, tol=None, verbose=0)
        rows = slice(0, WARM_UP_ROWS)  # the kernels, not the data: a few rows do
        try:
            fit_pipeline(small, X[rows] if not hasattr(X, "iloc") else X.iloc[rows], y[rows])
        except Exception:  # noqa: BLE001 - a warm-up only; the real fit reports problems
            pass


def _is_gdlab(estimator: Any) -> bool:
    """True for a gdlab estimator (GDRegressor, GDClassifier)."""
    from gdlab.estimators.base import BaseGD

    return isinstance(estimator, BaseGD)


def _views_fit(estimator: Any, X: Any, y: Any) -> bool:
    """True when ``estimator`` can train on row views of ``X`` as they are (no conversion)."""
    from gdlab.estimators.base import DTYPES, BaseGD, dtype_name

    return (
        isinstance(estimator, BaseGD)
        and isinstance(X, np.ndarray)
        and X.ndim == 2
        and X.dtype == DTYPES.get(dtype_name(estimator.dtype))
        and isinstance(y, np.ndarray)
        and y.ndim == 1
        and y.shape[0] == X.shape[0]
    )


def _rows_of(data: Any, idx: np.ndarray) -> Any:
    return data.iloc[idx] if hasattr(data, "iloc") else data[idx]


@contextmanager
def _callbacks(estimator: Any, callbacks: list[Any] | None) -> Iterator[None]:
    """Set the estimator's callbacks for one fit; removed again afterwards, so the fitted
    model carries no progress objects."""
    accepts_callbacks = "callbacks" in estimator.get_params()
    if callbacks and accepts_callbacks:
        estimator.set_params(callbacks=list(callbacks))
    try:
        yield
    finally:
        if callbacks and accepts_callbacks:
            estimator.set_params(callbacks=None)


def _outcome(model: Pipeline, estimator: Any, start: float) -> FitOutcome:
    fit_time, finished = time.perf_counter() - start, time.time()
    n_iter, curves = estimator_curves(estimator)
    return FitOutcome(model=model, n_iter=n_iter, curves=curves, fit_time=fit_time,
                      epoch_ends=epoch_ends(estimator, n_iter, finished))


def epoch_ends(estimator: Any, n_iter: int, finished: float) -> list[float]:
    """Wall-clock time (Unix seconds) at the end of each of the first ``n_iter`` epochs of a
    fit that returned at ``finished``: its ``history_["time"]`` (seconds since the fit's
    start, per epoch) placed so that the last epoch ends at ``finished``. Empty without
    per-epoch times (e.g. a scikit-learn estimator)."""
    times = list((getattr(estimator, "history_", None) or {}).get("time") or [])[:n_iter]
    if not times or any(t is None for t in times):
        return []
    last = float(times[-1])
    return [finished - (last - float(t)) for t in times]


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
