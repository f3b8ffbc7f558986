"""k-fold cross-validation of the estimator pipeline, parallel over folds with joblib.

Workers fit one fold each and *return* its curves and scores; nothing here logs to MLflow or
writes files, so the same result can be tracked, printed or written as DVC plots.

Folds never copy the data: they fit on index views of ``X`` (:func:`fit_pipeline_rows`) and
score the validation rows in chunks (:func:`score_rows`). A float32 estimator's folds on a
float64 ``X`` fit on views of one float32 copy of it, made once for all of them
(:mod:`gdlab.experiment.shared_rows`). When the estimator trains in
compiled code (which releases the GIL) the folds run as threads of this process and share
``X`` and the loaded libraries; otherwise joblib's worker processes receive ``X``
memory-mapped (arrays above 1 MB; an ``X`` that is already a memory map, e.g.
``load_prepared(mmap=True)``, is passed by reference). Either way the results are the same.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from joblib._parallel_backends import ThreadingBackend
from joblib.parallel import get_active_backend
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline

from gdlab.core.loop import DivergenceError
from gdlab.experiment.baseline import constant_model
from gdlab.experiment.faults import FoldDivergence
from gdlab.experiment.folds import Fold
from gdlab.experiment.full_batch import full_batch_fits, quiet_batch_size, warn_full_batch
from gdlab.experiment.metrics import metric_names, score_rows, shown_name
from gdlab.experiment.model import fit_pipeline_rows, warm_once, watched_rows
from gdlab.experiment.progress import EpochProgress, Eta, say, seconds, with_eta
from gdlab.experiment.shared_rows import shared_rows
from gdlab.experiment.target import final_estimator, scales_target


@dataclass
class FoldResult:
    """What one fold returns: sizes, epochs run, per-epoch curves, validation scores."""

    fold: int
    n_train: int
    n_val: int
    n_iter: int
    curves: dict[str, list[float | None]]
    scores: dict[str, float]
    fit_time: float
    warning: str | None = None
    """The fold's ConvergenceWarning, if its fit gave one: it reached ``max_epochs`` before
    the ``tol`` rule stopped it, or the rule stopped it on an oscillating training loss
    (:mod:`gdlab.estimators.advice`), or stopped it before it trained
    (:mod:`gdlab.core.stall`). :func:`cross_validate` says them once (one line per
    kind, :func:`fold_warnings`)."""
    epoch_ends: list[float] = field(default_factory=list)  # Unix seconds, see FitOutcome
    train_scores: dict[str, float] = field(default_factory=dict)
    """The fold's model scored on its own training rows (scikit-learn's
    ``cross_validate(return_train_score=True)``; above :data:`TRAIN_SCORE_ROWS` rows, on a
    seeded sample of them, :func:`train_score_rows`): with ``scores``, the generalisation
    gap."""
    baseline_scores: dict[str, float] = field(default_factory=dict)
    """A constant prediction fitted on the training rows (the class prior, the mean target:
    scikit-learn's DummyClassifier / DummyRegressor) scored on the same rows as
    ``train_scores``, under ``train_<metric>`` keys: what "learned nothing" scores."""


@dataclass
class CVResult:
    """All folds of one cross-validation, in fold order. ``target_scaled``: the curves' losses
    are on the standardised target (``preprocess.scale_target``); the scores are in target
    units either way."""

    task: str
    folds: list[FoldResult] = field(default_factory=list)
    target_scaled: bool = False
    early_stopping: bool = False  # the folds' weights are those of their lowest val_loss
    max_epochs: int | None = None
    positive: Any = None
    """The positive class of two the folds' f1 and average_precision score (None: each
    split's default, :func:`gdlab.data.positive.default_positive`)."""

    @property
    def metric_names(self) -> tuple[str, ...]:
        return metric_names(self.task)

    def mean(self) -> dict[str, float]:
        """Mean validation score per metric over folds, ignoring NaN (NaN when all are)."""
        return {m: _nan_stat(np.nanmean, self._column(m)) for m in self.metric_names}

    def std(self) -> dict[str, float]:
        """Standard deviation (ddof=0) of the validation score per metric over folds."""
        return {m: _nan_stat(np.nanstd, self._column(m)) for m in self.metric_names}

    def _column(self, metric: str) -> np.ndarray:
        return np.array([f.scores.get(metric, np.nan) for f in self.folds], dtype=float)


def _nan_stat(stat: Any, values: np.ndarray) -> float:
    return float(stat(values)) if np.isfinite(values).any() else float("nan")


_fold_notes = threading.local()  # .notes: where the fitting thread's ConvergenceWarnings go


@contextmanager
def _holding_convergence_warnings() -> Iterator[None]:
    """ConvergenceWarnings raised by a fold's fit (in this thread or a fold thread) are kept
    in that fold's ``_fold_notes.notes`` instead of printed: :func:`cross_validate` then warns
    once for all folds. ``warnings.catch_warnings`` is process-wide, so this runs only in a
    process's main thread (fold threads' warnings reach the main thread's handler)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", ConvergenceWarning)  # every fold's, not the first
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            notes = getattr(_fold_notes, "notes", None)
            if notes is not None and issubclass(category, ConvergenceWarning):
                notes.append(str(message))
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


def _run_fold(
    pipeline: Pipeline, X: Any, y: np.ndarray, fold: Fold, task: str, progress: bool,
    extra: list[Any] | None = None, share: int = 1, positive: Any = None,
    fit_rows: Any = None,
) -> FoldResult:
    """Fit on ``fit_rows`` (None: ``X``; see :func:`shared_rows`), score on ``X``."""
    rows = X if fit_rows is None else fit_rows
    label = f"fold {fold.index}/{fold.n_folds}"
    in_thread = threading.current_thread() is not threading.main_thread()
    if in_thread:
        _one_core_per_thread()
    lines = [EpochProgress(label, _max_epochs(pipeline), share=share)] if progress else []
    callbacks = [*lines, *(extra or [])] or None
    _fold_notes.notes = notes = []
    try:
        # in a process of its own (joblib's workers take no filters): the batch size was said
        # once by cross_validate; a fold thread has the main thread's filters
        with nullcontext() if in_thread else _holding_convergence_warnings(), \
                nullcontext() if in_thread else quiet_batch_size():
            watched = watched_rows(pipeline, fold.val_idx)  # early stopping: not the scored rows
            warm_once(pipeline, rows, y, fold.train_idx, watched)  # untimed, once a process
            outcome = fit_pipeline_rows(  # plateau: on the training loss, as the refit
                pipeline, rows, y, fold.train_idx, watched, callbacks=callbacks, monitor_eval=False
            )
    except DivergenceError as exc:  # the engine's error does not pickle: see faults.py
        raise FoldDivergence(label, exc.epoch, exc.learning_rate, exc.loss,
                             getattr(exc, "overflow", None), getattr(exc, "optimizer", None),
                             getattr(exc, "step", None)) from None
    finally:
        _fold_notes.notes = None
    scored = train_score_rows(fold)  # the training rows both training scores are on
    return FoldResult(
        fold=fold.index,
        n_train=len(fold.train_idx),
        n_val=len(fold.val_idx),
        n_iter=outcome.n_iter,
        curves=outcome.curves,
        scores=score_rows(outcome.model, X, y, fold.val_idx, task, positive=positive),
        fit_time=outcome.fit_time,
        warning=notes[0] if notes else None,
        epoch_ends=outcome.epoch_ends,
        train_scores=score_rows(outcome.model, X, y, scored, task, positive=positive),
    )


TRAIN_SCORE_ROWS = 50_000
"""A fold's training-row scores (the over-/under-fitting gap) are measured on at most this
many of its training rows: a seeded sample above it. Scoring every training row cost as much
as an epoch and ~60 MB more per worker on a million rows; a mean over 50 000 rows is
accurate to far less than the folds' spread."""


def train_score_rows(fold: Fold) -> np.ndarray:
    """The training rows a fold's model is scored on (:data:`FoldResult.train_scores`): all of
    them up to :data:`TRAIN_SCORE_ROWS`, else that many drawn without replacement with a
    generator seeded by the fold's index, in row order (reproducible, memory-map friendly)."""
    rows = np.asarray(fold.train_idx)
    if len(rows) <= TRAIN_SCORE_ROWS:
        return rows
    chosen = np.random.default_rng(fold.index).choice(len(rows), TRAIN_SCORE_ROWS,
                                                      replace=False)
    return rows[np.sort(chosen)]


def _baseline_scores(
    X: Any, y: np.ndarray, fold: Fold, rows: np.ndarray, task: str, positive: Any = None
) -> dict[str, float]:
    """A constant prediction fitted on the fold's training targets (the class prior, the
    mean), scored on ``rows`` (those its model's training scores come from, see
    :func:`train_score_rows`), as ``train_<metric>``. In the main thread only: it silences
    warnings with ``warnings.catch_warnings``, whose filters every thread shares."""
    dummy = constant_model(np.asarray(y)[fold.train_idx], task)  # evaluate's baseline too
    with warnings.catch_warnings():  # r2 of a constant on its own rows: 0 (no warning)
        warnings.simplefilter("ignore")
        trained = score_rows(dummy, X, y, rows, task, positive=positive)
    return {f"train_{k}": v for k, v in trained.items()}


def _one_core_per_thread() -> None:
    """Folds running as threads each keep their compiled kernels to one core (numba's setting
    is per thread): n_jobs folds at a time fill n_jobs cores without oversubscription."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a dependency; without it, no threads
        return
    numba.set_num_threads(1)


class StopWhenSet:
    """Epoch callback of a fold running as a thread: raises :class:`FoldStopped` once
    ``event`` is set (the main thread was interrupted or another fold failed)."""

    def __init__(self, event: threading.Event):
        self.event = event

    def __call__(self, record: Any) -> None:
        if self.event.is_set():
            raise FoldStopped("cross-validation was stopped")


class FoldStopped(RuntimeError):
    """A fold thread ended early because the cross-validation was stopped."""


def fold_workers(pipeline: Pipeline) -> str | None:
    """``"threads"`` when the pipeline's estimator trains in compiled code, which releases the
    GIL: its folds then run as threads of this process, sharing X and the loaded libraries
    (no worker processes, no copy or memory map of X); else None (joblib's processes)."""
    estimator = final_estimator(pipeline)
    compiled = getattr(estimator, "_trains_compiled", None)
    return "threads" if callable(compiled) and compiled() else None


def _warning_kind(message: str) -> str:
    """``"max_epochs"`` for a fit that reached max_epochs unconverged, ``"stalled"`` for one
    the tol rule stopped before it trained (:mod:`gdlab.core.stall`), ``"oscillating"`` for
    one it stopped on an oscillating loss (the estimators' three messages)."""
    if " reached before " in message:
        return "max_epochs"
    return "stalled" if " but it had barely trained: " in message else "oscillating"


def fold_warnings(results: Sequence[FoldResult], n_folds: int) -> list[str]:
    """The folds' ConvergenceWarnings said once: one message per kind (max_epochs reached;
    stopped before it trained; stopped while oscillating) naming its folds, with the first
    one's text, preceded by that fold's number when the folds' texts differ (an
    oscillation's numbers are its fold's)."""
    by_kind: dict[str, list[FoldResult]] = {}
    for result in results:
        if result.warning:
            by_kind.setdefault(_warning_kind(result.warning), []).append(result)
    said = []
    for stopped in by_kind.values():
        numbers = ", ".join(str(r.fold) for r in stopped)
        first = stopped[0]
        same = all(r.warning == first.warning for r in stopped)
        whose = "" if same else f"; fold {first.fold}"
        said.append(f"{len(stopped)} of {n_folds} folds ({numbers}){whose}: {first.warning}")
    return said


def _max_epochs(pipeline: Pipeline) -> int | None:
    params = final_estimator(pipeline).get_params()
    return params.get("max_epochs") or params.get("max_iter")


def cross_validate(
    pipeline: Pipeline,
    X: np.ndarray,
    y: np.ndarray,
    folds: Sequence[Fold],
    *,
    task: str,
    n_jobs: int | None = 1,
    progress: bool = True,
    fold_callbacks: Callable[[Fold], list[Any]] | None = None,
    epoch_lines: bool = True,
    on_fold_done: Callable[[FoldResult], None] | None = None,
    eta: Eta | None = None,
    say_full_batch: bool = True,
    positive: Any = None,
    fit_rows: Any = None,
) -> CVResult:
    """Fit and score ``pipeline`` on every fold (``n_jobs`` folds at a time).

    ``fold_callbacks(fold)``: extra estimator callbacks for that fold (picklable, e.g. live
    metrics); ``epoch_lines=False`` leaves out the per-epoch progress lines (a progress bar
    shows them); ``on_fold_done(result)`` is called as each fold returns; ``eta`` (default:
    over the folds) is ticked by each and ends its 'fold k/K done' line. Folds that stop
    at ``max_epochs`` before converging give one ConvergenceWarning naming them, not one
    each, and so do folds the ``tol`` rule stopped on an oscillating loss, and folds it
    stopped before they trained (:func:`fold_warnings`). A ``batch_size`` above a fold's
    training rows is said once, up front, by one BatchSizeWarning
    (:mod:`gdlab.experiment.full_batch`), the folds' own silenced; ``say_full_batch=False``:
    not at all (the caller says it for these and its other fits).
    ``positive``: the positive class of two classes every fold's f1 and average_precision
    score (:func:`gdlab.data.positive.positive_class` of the training labels; None: each
    scored split's own rarer class, :func:`gdlab.data.positive.default_positive`).
    ``fit_rows``: ``X`` as the folds train on it, :func:`shared_rows` ``(pipeline, X)`` when
    None (one float32 copy shared by the folds of a float32 estimator on a float64 ``X``);
    they are scored on ``X`` either way."""
    fit_rows = shared_rows(pipeline, X) if fit_rows is None else fit_rows
    if say_full_batch:
        warn_full_batch(full_batch_fits(pipeline, (len(f.train_idx) for f in folds)))
    # folds as threads when training releases the GIL; a configured backend (dask) still wins
    workers = fold_workers(pipeline)
    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered", prefer=workers)
    in_threads = isinstance(get_active_backend(prefer=workers)[0], ThreadingBackend)
    results: list[FoldResult] = []
    by_index = {fold.index: fold for fold in folds}
    lines = progress and epoch_lines
    eta = Eta(len(folds)) if eta is None else eta
    # fold processes print their epoch lines side by side (threads share this process's)
    share = 1 if in_threads else min(effective_n_jobs(n_jobs), len(folds))
    # the fold lines' metric names (f1 of which class): a sort of y, only when they are said
    n_classes = len(np.unique(y)) if progress and task == "classification" else 0
    stop = threading.Event()  # threads cannot be killed: on an interrupt they stop themselves

    def callbacks(fold: Fold) -> list[Any] | None:
        extra = list(fold_callbacks(fold)) if fold_callbacks else []
        if in_threads:
            extra.append(StopWhenSet(stop))
        return extra or None

    try:
        # and the warnings of folds running as threads
        with _holding_convergence_warnings(), quiet_batch_size():
            outcomes = parallel(
                delayed(_run_fold)(pipeline, X, y, fold, task, lines, callbacks(fold), share,
                                   positive, None if fit_rows is X else fit_rows)
                for fold in folds
            )
            for result in outcomes:
                # here, not in the fold: its warnings filter is process-wide, and set in a
                # fold thread it swallowed another fold's ConvergenceWarning
                fold = by_index[result.fold]
                result.baseline_scores = _baseline_scores(X, y, fold, train_score_rows(fold),
                                                          task, positive)
                results.append(result)
                eta.tick()
                if on_fold_done is not None:
                    on_fold_done(result)
                if progress:
                    shown = ", ".join(f"{shown_name(k, n_classes, positive)} {v:.4g}"
                                      for k, v in result.scores.items())
                    say(with_eta(
                        f"fold {result.fold}/{len(folds)} done: {result.n_iter} epochs, "
                        f"{seconds(result.fit_time)}, {shown} ({len(results)} of {len(folds)} "
                        "done)", eta
                    ))
    except BaseException:  # SIGINT/SIGTERM, a failed fold: fold threads end at their next epoch
        stop.set()
        raise
    results.sort(key=lambda r: r.fold)
    for message in fold_warnings(results, len(folds)):
        warnings.warn(message, ConvergenceWarning, stacklevel=2)
    settings = final_estimator(pipeline).get_params()
    return CVResult(
        task=task, folds=results, target_scaled=scales_target(pipeline),
        early_stopping=bool(settings.get("early_stopping", False)),
        max_epochs=_max_epochs(pipeline), positive=positive,
    )
