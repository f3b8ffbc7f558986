"""``train.batch_size`` above the rows a fit trains on: said once per stage, not once per fit.

The estimators warn (:class:`~gdlab.estimators.BatchSizeWarning`) on every fit whose
``batch_size`` exceeds its training rows. A stage fits many times (CV folds, the refit and its
warm-up, the loss-surface trajectory, compare's variants, tuning's trials), in this process, in
its threads or in joblib's worker processes, which share neither Python's "show once" memory
nor the stage's one-line format (and each fold has its own row count): a small data set
printed the same warning ten times, partly as raw ``UserWarning`` lines with source code.

So a stage checks the batch size against every fit's training rows up front
(:func:`full_batch_fits`), says it once (:func:`warn_full_batch`), and runs its fits with the
estimators' own warning silenced (:func:`quiet_batch_size`; a worker's fit function enters it
itself, since joblib passes no warning filters to worker processes).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from gdlab.estimators.advice import ScheduleReachWarning
from gdlab.estimators.base import BaseGD, BatchSizeWarning
from gdlab.experiment.target import final_estimator

KEY = "train.batch_size"


@dataclass(frozen=True)
class FullBatch:
    """Fits whose batch size exceeds their training rows: the batch sizes, and the fewest and
    most training rows among those fits (each such fit ran full-batch epochs)."""

    batch_sizes: tuple[int, ...]
    fewest: int
    most: int

    def merged(self, other: FullBatch | None) -> FullBatch:
        if other is None:
            return self
        return FullBatch(
            tuple(sorted({*self.batch_sizes, *other.batch_sizes})),
            min(self.fewest, other.fewest),
            max(self.most, other.most),
        )

    def message(self, key: str = KEY, where: str = "") -> str:
        """``train.batch_size: 64 is above the training rows of the fits (28 to 36 rows): ...``
        (``where``: which fits, e.g. ``" of 3 trials"``)."""
        sizes = ", ".join(str(b) for b in self.batch_sizes)
        verb = "is" if len(self.batch_sizes) == 1 else "are"
        rows = f"{self.fewest}" if self.fewest == self.most else f"{self.fewest} to {self.most}"
        return (
            f"{key}: {sizes} {verb} above the training rows of the fits{where} ({rows} rows): "
            "every epoch is one full-batch step, not mini-batches; lower "
            f"{key} below {self.fewest}, or set it to null for full batch"
        )


def fit_rows(pipeline: Any, n_rows: int) -> int:
    """The rows the pipeline's estimator trains on when fitted on ``n_rows`` rows without an
    ``eval_set`` (as the stages fit it when it stops early): early stopping holds out
    ``validation_fraction`` of them."""
    estimator = final_estimator(pipeline)
    if isinstance(estimator, BaseGD) and estimator.early_stopping:
        return n_rows - estimator._held_out(n_rows)
    return n_rows


def full_batch_fits(pipeline: Any, row_counts: Iterable[int]) -> FullBatch | None:
    """The fits of ``pipeline`` on ``row_counts`` rows each (:func:`fit_rows`) whose training
    rows its estimator's ``batch_size`` exceeds, or None when there are none."""
    batch_size = final_estimator(pipeline).get_params().get("batch_size")
    if batch_size is None:
        return None
    over = [rows for rows in (fit_rows(pipeline, n) for n in row_counts) if batch_size > rows]
    return FullBatch((int(batch_size),), min(over), max(over)) if over else None


def merge(found: Iterable[FullBatch | None]) -> FullBatch | None:
    """All of ``found`` as one (None when none is set)."""
    merged: FullBatch | None = None
    for one in found:
        if one is not None:
            merged = one.merged(merged)
    return merged


def warn_full_batch(found: FullBatch | None, *, key: str = KEY, where: str = "") -> None:
    """One :class:`~gdlab.estimators.BatchSizeWarning` for all of ``found``'s fits (the
    stages print it as ``<stage>: BatchSizeWarning: train.batch_size: ...``)."""
    if found is not None:
        warnings.warn(found.message(key, where), BatchSizeWarning, stacklevel=3)


@contextmanager
def quiet_batch_size() -> Iterator[None]:
    """Inside the block the estimators' :class:`~gdlab.estimators.BatchSizeWarning` is not
    shown (the stage said it once), nor their
    :class:`~gdlab.estimators.ScheduleReachWarning` (``validate`` says it for params.yaml;
    a sweep's constant point, e.g. max_epochs 20 with step_size 30, is legitimate there).
    ``warnings.catch_warnings`` is process-wide: enter it in a process's main thread
    (threads started inside inherit it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BatchSizeWarning)
        warnings.simplefilter("ignore", ScheduleReachWarning)
        yield
