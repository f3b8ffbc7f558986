"""The objective of a trial: the same k-fold cross-validation as the train stage, fold by fold,
each fold's score reported to the trial so the pruner can stop a poor configuration early.

A trial returns (through :class:`TrialRecord`) what the parent process logs: its values, state,
per-fold scores and per-epoch curves. Divergence stops a trial as pruned (it is a poor region
of the space and TPE should learn so); a configuration the schema refuses fails.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from gdlab.config import with_overrides
from gdlab.core.loop import DivergenceError
from gdlab.data.positive import training_positive
from gdlab.experiment import Fold, build_pipeline, fit_pipeline_rows, score_rows
from gdlab.experiment.curves import fold_mean
from gdlab.experiment.full_batch import FullBatch, full_batch_fits
from gdlab.experiment.model import warm_up_rows, watched_rows
from gdlab.experiment.progress import EpochProgress
from gdlab.experiment.target import final_estimator
from gdlab.tuning.space import Space, config_key

CONFIG = "gdlab.config"
DUPLICATE_OF = "gdlab.duplicate_of"
REASON = "gdlab.reason"
STOPPED_BY = "gdlab.stopped_by"  # pruner | divergence | duplicate
FIT_TIME = "gdlab.fit_time"
CURVES = ("train_loss", "val_loss")


@dataclass
class TrialRecord:
    """What one trial did, for the parent process to log (workers never touch MLflow)."""

    number: int
    state: str = "RUNNING"  # COMPLETE | PRUNED | FAIL
    value: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    fold_scores: list[float] = field(default_factory=list)
    curves: dict[str, list[float | None]] = field(default_factory=dict)
    fit_time: float = 0.0
    duration: float = 0.0
    n_iter: list[int] = field(default_factory=list)
    reason: str | None = None
    stopped_by: str | None = None
    duplicate_of: int | None = None
    study: str = ""
    pid: int = field(default_factory=os.getpid)  # the process that ran the trial
    full_batch: FullBatch | None = None
    """Its batch size exceeded the training rows of these folds (its fits' own warnings are
    not shown: :func:`~gdlab.tuning.search.run_search` says it once for all trials)."""


class CVObjective:
    """``objective(trial) -> mean CV score``; the last trial's record is kept in ``last``."""

    def __init__(
        self,
        params: Any,
        X: np.ndarray,
        y: np.ndarray,
        folds: list[Fold],
        space: Space,
        metric: str,
        greater_is_better: bool,
        owner: str | None = None,
        progress: str | None = None,
        share: int = 1,
        warm_up: bool = False,
    ) -> None:
        self.params, self.X, self.y, self.folds = params, X, y, folds
        self.space, self.metric, self.greater_is_better = space, metric, greater_is_better
        self.owner = owner  # the host of the search (user attribute gdlab.owner), if any
        self.progress, self.share = progress, share  # epoch lines: their prefix, see run_one_trial
        self.warm_up = warm_up  # a warm-up epoch before a trial's first timed fit
        self.task = params.model.task
        self.positive = training_positive(params, y)  # f1's class: the same in every trial
        self.last: TrialRecord | None = None

    def __call__(self, trial: optuna.Trial) -> float:
        if self.owner is not None:  # first: recover_interrupted spares other hosts' trials
            from gdlab.tuning.study import OWNER

            trial.set_user_attr(OWNER, self.owner)
        record = TrialRecord(number=trial.number, study=trial.study.study_name)
        self.last = record
        start = time.perf_counter()
        try:
            return self._run(trial, record)
        except optuna.TrialPruned as exc:
            record.state, record.reason = "PRUNED", str(exc)
            raise
        except Exception as exc:
            record.state, record.reason = "FAIL", f"{type(exc).__name__}: {exc}"
            trial.set_user_attr(REASON, record.reason[:2000])
            raise
        except BaseException:  # KeyboardInterrupt / SystemExit: the search is being stopped
            from gdlab.tuning.study import INTERRUPTED

            record.state, record.reason = "FAIL", "interrupted"
            trial.set_user_attr(INTERRUPTED, True)
            raise
        finally:
            record.duration = time.perf_counter() - start
            trial.set_user_attr(FIT_TIME, record.fit_time)

    def _run(self, trial: optuna.Trial, record: TrialRecord) -> float:
        record.params = values = self.space.suggest(trial)
        key = config_key(values)
        trial.set_user_attr(CONFIG, key)
        twin = _finished_twin(trial, key)
        if twin is not None:
            return self._reuse(trial, record, twin)
        # ConfigError: the trial fails. The trial's params need no search space of their own.
        params = with_overrides(self.params, {**values, "tune.enabled": False})
        pipeline = build_pipeline(params)
        record.full_batch = full_batch_fits(pipeline, (len(f.train_idx) for f in self.folds))
        fold_curves: dict[str, list[list[float | None]]] = {name: [] for name in CURVES}
        last = len(self.folds) - 1
        for step, fold in enumerate(self.folds):
            value = self._fold(trial, record, pipeline, fold, fold_curves)
            trial.report(value, step)
            # after the last fold there is nothing left to save: the trial has its CV score
            # (a pruner asked there threw away full CVs as good as the best, compared on one
            # fold's score)
            if step < last and trial.should_prune():
                record.stopped_by = "pruner"
                trial.set_user_attr(STOPPED_BY, "pruner")
                raise optuna.TrialPruned(self._pruned_why(record, fold))
        record.state, record.value = "COMPLETE", float(np.mean(record.fold_scores))
        return record.value

    def _fold(
        self,
        trial: optuna.Trial,
        record: TrialRecord,
        pipeline: Any,
        fold: Fold,
        fold_curves: dict[str, list[list[float | None]]],
    ) -> float:
        X, y = self.X, self.y
        try:
            with warnings.catch_warnings():
                # ConvergenceWarning: the score tells; BatchSizeWarning: record.full_batch
                warnings.simplefilter("ignore")
                lines = self._lines(trial, pipeline, fold)
                watched = watched_rows(pipeline, fold.val_idx)  # never stop on scored rows
                if self.warm_up and not record.fold_scores:  # its first fold: warm up first
                    warm_up_rows(pipeline, X, y, fold.train_idx, watched)
                outcome = fit_pipeline_rows(  # recorded, not monitored (plateau)
                    pipeline, X, y, fold.train_idx, watched, callbacks=lines,
                    monitor_eval=False,
                )
                value = score_rows(outcome.model, X, y, fold.val_idx, self.task,
                                   positive=self.positive)[self.metric]
        except DivergenceError as exc:
            self._diverged(trial, record, f"fold {fold.index}: {exc}")
        if not math.isfinite(value):
            self._diverged(trial, record, f"fold {fold.index}: {self.metric} is {value}")
        record.fold_scores.append(float(value))
        record.fit_time += outcome.fit_time
        record.n_iter.append(outcome.n_iter)
        for name in CURVES:
            fold_curves[name].append(outcome.curves.get(name, []))
        # the mean over the folds so far, a fold that stopped held at its last value (no fold
        # here diverged: divergence stops the trial)
        record.curves = {
            name: fold_mean(curves) for name, curves in fold_curves.items() if any(curves)
        }
        return float(value)

    def _lines(self, trial: optuna.Trial, pipeline: Any, fold: Fold) -> list[Any] | None:
        """The fold's epoch lines (``[tune: trial 7 fold 2/3] epoch 40/100 loss ...``)."""
        if self.progress is None:
            return None
        label = f"{self.progress}: trial {trial.number} fold {fold.index}/{fold.n_folds}"
        # the gdlab estimator itself: a TransformedTargetRegressor (scale_target) names it
        # regressor__max_epochs
        max_epochs = final_estimator(pipeline).get_params().get("max_epochs")
        return [EpochProgress(label, max_epochs, share=self.share)]

    def _pruned_why(self, record: TrialRecord, fold: Fold) -> str:
        """What the pruner compared, in its own terms (Optuna does not return its reference
        value, so none is shown): MedianPruner takes the trial's best fold score so far
        against the completed trials' median at this fold; WilcoxonPruner tests the trial's
        fold scores against the best trial's on the same folds."""
        at = f"after fold {fold.index}/{fold.n_folds}"
        pruner = self.params.tune.pruner
        if pruner == "median":
            scores = record.fold_scores
            best = (max if self.greater_is_better else min)(scores)
            its = f"its {self.metric} {best:.4g}" if len(scores) == 1 else \
                f"its best fold {self.metric} so far, {best:.4g},"
            return f"median pruner {at}: {its} is worse than the completed trials' median there"
        if pruner == "wilcoxon":
            return (
                f"Wilcoxon pruner {at}: by a signed-rank test, its {self.metric} is worse than "
                "the best trial's on the same folds"
            )
        return f"{pruner} pruner {at}: {self.metric} {record.fold_scores[-1]:.4g} at that fold"

    @staticmethod
    def _diverged(trial: optuna.Trial, record: TrialRecord, why: str) -> None:
        record.stopped_by = "divergence"
        trial.set_user_attr(STOPPED_BY, "divergence")
        trial.set_user_attr(REASON, f"diverged in {why}"[:2000])
        raise optuna.TrialPruned(f"diverged in {why}")

    def _reuse(self, trial: optuna.Trial, record: TrialRecord, twin: Any) -> float:
        """A configuration already evaluated (a grid point differing only in an inactive
        dimension, or TPE proposing it again): take its result instead of refitting."""
        record.duplicate_of = twin.number
        trial.set_user_attr(DUPLICATE_OF, twin.number)
        record.fold_scores = [twin.intermediate_values[s] for s in sorted(twin.intermediate_values)]
        for step, value in enumerate(record.fold_scores):
            trial.report(value, step)
        if twin.state == TrialState.COMPLETE:
            record.state, record.value = "COMPLETE", float(twin.value)
            return record.value
        record.stopped_by = "duplicate"
        trial.set_user_attr(STOPPED_BY, "duplicate")
        raise optuna.TrialPruned(f"same configuration as trial {twin.number}, which was pruned")


def _finished_twin(trial: optuna.Trial, key: str) -> Any:
    """An earlier COMPLETE or PRUNED trial of the study with the same configuration."""
    for other in trial.study.get_trials(
        deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)
    ):
        if other.number != trial.number and other.user_attrs.get(CONFIG) == key:
            return other
    return None


def record_from_trial(trial: Any, study: str = "") -> TrialRecord:
    """A record rebuilt from the study storage (no curves: those travel only in records)."""
    from gdlab.tuning.study import INTERRUPTED

    reason = trial.user_attrs.get(REASON)
    if trial.user_attrs.get(INTERRUPTED):
        reason = "interrupted"
    return TrialRecord(
        number=trial.number,
        state=trial.state.name,
        value=trial.value,
        params=dict(trial.params),
        fold_scores=[trial.intermediate_values[s] for s in sorted(trial.intermediate_values)],
        fit_time=float(trial.user_attrs.get(FIT_TIME) or 0.0),
        duration=trial.duration.total_seconds() if trial.duration is not None else 0.0,
        reason=reason,
        stopped_by=trial.user_attrs.get(STOPPED_BY),
        duplicate_of=trial.user_attrs.get(DUPLICATE_OF),
        study=study,
    )
