"""Run a search: plan the study from validated params, then run its trials one job each, in this
process (``n_jobs: 1``) or in joblib worker processes, and hand every finished trial's record
to the caller as it arrives (the pipeline logs it to MLflow from this, the only writer).

Workers share nothing but the study storage (a journal file is safe for several processes);
they return :class:`~gdlab.tuning.objective.TrialRecord` objects and never log.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import optuna
from joblib import Parallel, delayed, effective_n_jobs
from optuna.trial import FrozenTrial, TrialState

from gdlab.data.copies import copy_groups
from gdlab.experiment import Fold, build_pipeline, make_folds
from gdlab.experiment.full_batch import KEY, merge, warn_full_batch
from gdlab.experiment.model import warm_once, watched_rows
from gdlab.experiment.progress import say
from gdlab.tuning.fingerprint import code_fingerprint
from gdlab.tuning.objective import CVObjective, TrialRecord
from gdlab.tuning.progress import TrialProgress
from gdlab.tuning.quiet import quiet_interrupted_trials
from gdlab.tuning.space import LEARNING_RATE, Space
from gdlab.tuning.stored_space import check_stored_space
from gdlab.tuning.study import (
    BUDGET_FIELDS,
    OWNER,
    SECONDS_USED,
    StudySpec,
    counted,
    open_storage,
    recover_interrupted,
    remaining_trials,
    seconds_used,
    study_lock,
    study_name,
    this_host,
)


@dataclass
class SearchPlan:
    """A search ready to run: base params, data, folds, space and study (picklable)."""

    params: Any
    X: np.ndarray
    y: np.ndarray
    folds: list[Fold]
    space: Space
    spec: StudySpec
    metric: str
    greater_is_better: bool
    n_trials: int | None
    timeout: float | None
    n_jobs: int
    owner: str = field(default_factory=this_host)  # the host whose search runs the trials
    warm_up: bool = False  # each trial's first fit timed after a warm-up epoch (the heat map)
    batch_key: str = KEY  # where the trials' batch sizes come from, for the warning naming it

    @property
    def study_timed(self) -> bool:
        """``tune.timeout`` is the study's budget, summed over its runs (a timeout-only
        search, ``n_trials: null``); with ``n_trials`` set, ``n_trials`` is the study's
        budget and the timeout caps each run (raising ``n_trials`` extends the study)."""
        return self.timeout is not None and self.n_trials is None

    @property
    def grid_size(self) -> int | None:
        """Points of the grid (grid strategy), else None."""
        if not self.spec.grid:
            return None
        return int(np.prod([len(v) for v in self.spec.grid.values()]))


@dataclass
class SearchOutcome:
    """The study after a run, and what this run did."""

    study: optuna.Study
    plan: SearchPlan
    records: list[TrialRecord] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    elapsed: float = 0.0
    spent: bool = False  # the budget was used up before this run's turn: it had nothing to do
    out_of_time: bool = False  # ... its tune.timeout (a timeout-only search: n_trials null)
    seconds_before: float = 0.0  # of tune.timeout, what the study's earlier searches used
    started: datetime = field(default_factory=datetime.now)  # before it waited for the lock

    def trials(self) -> list[FrozenTrial]:
        return self.study.get_trials(deepcopy=False)

    def budget_trials(self) -> list[FrozenTrial]:
        """The trials the budget covers: in trial order up to the ``tune.n_trials``-th that
        counts (:func:`gdlab.tuning.study.counted`; interrupted ones before it included),
        every trial without a trial budget (a grid, a timeout). A study an earlier run took
        further, with a larger ``tune.n_trials``, holds more: they are left out, so the
        result is the one a new study with this budget gives (trials are seeded by their
        place in that order: :func:`gdlab.tuning.study.trial_slot`)."""
        trials = sorted(self.trials(), key=lambda t: t.number)
        if self.plan.n_trials is None:
            return trials
        covered, used = [], 0
        for trial in trials:
            if used >= self.plan.n_trials:
                break
            covered.append(trial)
            used += counted(trial)
        return covered

    def budget_study(self) -> optuna.Study:
        """The study as the budget covers it: itself, or an in-memory copy holding only
        :meth:`budget_trials` (a prefix in trial order, so the numbers stay), for the trial
        table and the figures."""
        covered = self.budget_trials()
        if len(covered) == len(self.trials()):
            return self.study
        copy = optuna.create_study(study_name=self.study.study_name,
                                   direction=self.study.direction)
        copy.add_trials(covered)
        return copy

    def beyond_budget(self) -> int:
        """Counted trials of the study past the budget (an earlier run's larger n_trials)."""
        covered = {t.number for t in self.budget_trials()}
        return sum(counted(t) for t in self.trials() if t.number not in covered)

    def counts(self) -> dict[str, int]:
        """Trials the budget covers per state (``COMPLETE``, ``PRUNED``, ``FAIL``...)."""
        out: dict[str, int] = {}
        for trial in self.budget_trials():
            out[trial.state.name] = out.get(trial.state.name, 0) + 1
        return out

    @property
    def best_trial(self) -> FrozenTrial | None:
        """The best complete trial the budget covers (the first of equals, as Optuna's)."""
        complete = [t for t in self.budget_trials() if t.state == TrialState.COMPLETE]
        if not complete:
            return None
        pick = max if self.study.direction == optuna.study.StudyDirection.MAXIMIZE else min
        return pick(complete, key=lambda t: t.value)

    def best_params(self) -> dict[str, Any]:
        """The best trial's active values as dotted overrides (``{}`` without a result)."""
        best = self.best_trial
        return self.plan.space.active(best.params) if best is not None else {}

    def budget_note(self) -> str | None:
        """What to tell the user when the study's budget was spent before this run's turn, so
        no trial ran now and the result is that of the trials which spent it: earlier runs',
        or a search that ran meanwhile (None otherwise)."""
        if not self.spent:
            return None
        plan = self.plan
        done = sum(counted(t) for t in self.budget_trials())
        grid = plan.grid_size
        raise_key, past = "tune.n_trials", ""
        if self.out_of_time:
            raise_key = "tune.timeout"
            budget = (f"tune.timeout: {plan.timeout:g}s; {self.seconds_before:.1f}s used, "
                      f"{done} trials counted")
        else:
            if grid is not None and (plan.n_trials is None or plan.n_trials >= grid):
                budget = f"all {grid} points of its grid"
            else:
                budget = f"tune.n_trials: {plan.n_trials}"
            budget += f"; {done} trials counted"
            beyond = self.beyond_budget()
            past = (f" (the study holds {beyond} more from a larger tune.n_trials: left out, "
                    "as a new study with this budget would not run them)" if beyond else "")
        named = getattr(plan.params.tune, "study_name", None)
        same = " (tune.study_name)" if named else " with the same params, data and code"
        return (
            f"study {plan.spec.name} has spent its budget ({budget})"
            f"{self._spent_by(same)}: no trial ran now, the best of those trials is "
            f"reported{past}; raise {raise_key} to run more, or set tune.study_name to a new "
            "name to start a study over"
        )

    def _spent_by(self, same: str) -> str:
        """Who ran the counted trials: runs before this one, and those that finished since it
        started, by a search on this machine (it held the study's lock while this run waited
        for it: :func:`~gdlab.tuning.study.study_lock`) or on other hosts sharing the study
        (user attribute ``gdlab.owner``)."""
        mine = others = before = 0
        for trial in self.budget_trials():
            if not counted(trial):
                continue
            end = trial.datetime_complete
            if end is None or end < self.started:
                before += 1
            elif trial.user_attrs.get(OWNER, self.plan.owner) == self.plan.owner:
                mine += 1
            else:
                others += 1
        if not mine and not others:
            return f" in earlier runs{same}"
        parts = [f"{before} before this run started{same}"] if before else []
        if mine:
            parts.append(f"{mine} by another search on this machine that held the study's "
                         "lock while this run waited for it")
        if others:
            parts.append(f"{others} by searches on other hosts sharing the study meanwhile")
        return ", " + " and ".join(parts)


_NOT_IN_IDENTITY: dict[str, Any] = {
    **dict.fromkeys(
        ("tune", "tracking", "register", "parallel", "live", "compare", "fairness", "model_card"),
        True,
    ),
    "cv": {"n_jobs": True},
}
"""Sections and keys that do not change what a trial computes: switching them resumes the same
study."""


def plan_search(
    params: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    storage: str,
    data_digest: str = "",
    lr_suggestion: float | None = None,
    code_digest: str | None = None,
    folds: list[Fold] | None = None,
) -> SearchPlan:
    """The search that ``params.tune`` describes on ``(X, y)`` (``y`` as train sees it);
    ``folds``: the CV folds of ``(X, y)`` when another plan of the same params made them
    (finding the copied rows they keep together reads all of ``X``).

    ``lr_suggestion`` (the LR range test's) centres the learning-rate range when
    ``tune.center_learning_rate`` is on. The study is named by what its trials compute: the
    params but the budget, the space, ``data_digest`` and ``code_digest`` (default:
    :func:`~gdlab.tuning.fingerprint.code_fingerprint` of gdlab and the plug-ins ``params``
    names), so changed code starts a new study and an unchanged rerun resumes. The tune stage
    hashes its script too (``extra``), so this default names another study than the stage's:
    pass the stage's digest to resume its study from Python."""
    tune, task = params.tune, params.model.task
    space = Space.from_config(tune.space)
    if tune.center_learning_rate and lr_suggestion and LEARNING_RATE in space.dims:
        space = space.centred(LEARNING_RATE, lr_suggestion, tune.center_decades)
    metric = tune.resolved_metric(task)
    up = tune.greater_is_better(task)
    identity = {
        "params": params.model_dump(mode="json", exclude=_NOT_IN_IDENTITY),
        "tune": tune.model_dump(mode="json", exclude=set(BUDGET_FIELDS)),
        "space": space.dump(),
        "data": data_digest,
        "code": code_fingerprint(params) if code_digest is None else code_digest,
    }
    spec = StudySpec(
        storage=storage,
        name=tune.study_name or study_name(f"gdlab-{task}-{tune.strategy}", identity),
        direction="maximize" if up else "minimize",
        strategy=tune.strategy,
        seed=tune.seed_for(params),
        n_startup_trials=tune.n_startup_trials,
        pruner=tune.pruner,
        grid=space.grid(tune.grid_points) if tune.strategy == "grid" else None,
        conditional=space.conditional,
    )
    if folds is None:
        folds = make_folds(y, params.cv.folds, task=task, seed=params.seed,
                           groups=copy_groups(X, y))
    return SearchPlan(
        params, X, y, folds, space, spec, metric, up, tune.n_trials, tune.timeout, tune.n_jobs
    )


def plan_heatmap(
    params: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    storage: str,
    data_digest: str = "",
    code_digest: str | None = None,
    folds: list[Fold] | None = None,
) -> SearchPlan:
    """The learning rate × batch size grid of ``tune.heatmap``: every cell a full CV (no
    pruning), run as a grid study of its own (so it resumes too). ``folds``: the search's
    (the same ``cv.folds`` and seed), when it made them."""
    heat = params.tune.heatmap
    space = {
        LEARNING_RATE: {"choices": list(heat.learning_rates)},
        "train.batch_size": {"choices": list(heat.batch_sizes)},
    }
    grid_params = params.model_copy(
        update={
            "tune": params.tune.model_copy(
                update={
                    "strategy": "grid",
                    "pruner": "none",
                    "n_trials": None,
                    "timeout": None,
                    "center_learning_rate": False,
                    "study_name": None,
                    "space": Space.from_config(space).dims,
                }
            )
        }
    )
    plan = plan_search(
        grid_params, X, y, storage=storage, data_digest=data_digest, code_digest=code_digest,
        folds=folds,
    )
    name = study_name("gdlab-heatmap", plan.spec.name)
    plan.spec = StudySpec(**{**plan.spec.__dict__, "name": name})
    plan.warm_up = True  # its wall-time panel compares the cells' times
    plan.batch_key = "tune.heatmap.batch_sizes"
    return plan


def run_search(
    plan: SearchPlan,
    on_trial: Callable[[TrialRecord], None] | None = None,
    *,
    progress: str | None = None,
) -> SearchOutcome:
    """Create or resume the study, then run the remaining budget; ``on_trial`` gets every
    record as its trial finishes (in this process). ``progress`` (a prefix: ``"tune"``):
    print a line as each trial ends and, now and then, a running trial's epochs
    (:mod:`gdlab.tuning.progress`)."""
    start, started = time.monotonic(), datetime.now()  # trials' times are Optuna's: local
    with study_lock(plan.spec):
        check_study_space(plan)
        study = plan.spec.create()
        outcome = SearchOutcome(study, plan, requeued=recover_interrupted(study, plan.owner),
                                started=started)
        trials = study.get_trials(deepcopy=False)  # one reading for the budget and the slot
        todo = remaining_trials(trials, plan.n_trials, plan.grid_size)
        timed = plan.study_timed  # the timeout is the study's budget, else this run's cap
        used = outcome.seconds_before = seconds_used(study) if timed else 0.0
        left = None if plan.timeout is None else plan.timeout - used
        outcome.out_of_time = timed and todo != 0 and left is not None and left <= 0
        outcome.spent = todo == 0 or outcome.out_of_time
        if not outcome.spent:
            warm_up_search(plan)  # before the first trial, the ETA's clock and the budget's
            begin = time.time()  # the clock of the deadline, which workers read too
            deadline = None if left is None else begin + left

            def spend() -> None:  # the study's time budget: what this run has used so far
                if not timed:
                    return
                now = time.time()
                took = now - begin
                if deadline is not None and now >= deadline:
                    took = max(took, left)  # timed out: the whole budget, whatever the rounding
                study.set_user_attr(SECONDS_USED, used + took)

            lines = (None if progress is None
                     else TrialProgress(plan, study, todo, progress, time_left=left))
            for record in _results(plan, todo, deadline, progress):
                spend()  # after each trial too: a killed run leaves what it used
                if record is None:
                    continue
                outcome.records.append(record)
                if on_trial is not None:
                    on_trial(record)
                if lines is not None:
                    say(lines.line(record))
            spend()
    outcome.elapsed = time.monotonic() - start
    _say_full_batch(plan, outcome.records)
    return outcome


def warm_up_search(plan: SearchPlan) -> None:
    """One untimed epoch of params.yaml's configuration on the first fold's rows, once per
    process (:func:`~gdlab.experiment.model.warm_once`), before this process runs a trial:
    the kernels' one-off compilation (seconds on a first run) or cache loading then falls in
    no trial's ``fit_time_s`` or duration, nor in the progress line's ETA. Before, trial 0
    took 27 s against 1 s for trial 1 on a first ``dvc repro``, and its ETA said ~5m for a
    38 s search."""
    try:
        pipeline = build_pipeline(plan.params)
    except Exception:  # noqa: BLE001 - a warm-up only; the trials report problems
        return
    fold = plan.folds[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the trials' own warnings are said by them
        warm_once(pipeline, plan.X, plan.y, fold.train_idx, watched_rows(pipeline, fold.val_idx))


def check_study_space(plan: SearchPlan) -> None:
    """Refuse (:class:`~gdlab.tuning.stored_space.SpaceChanged`) to reuse a stored study of
    the plan's name whose trials were searched over another space (a kept
    ``tune.study_name``); reads the storage only."""
    tune = plan.params.tune
    centred = (LEARNING_RATE,) if getattr(tune, "center_learning_rate", False) else ()
    check_stored_space(
        open_storage(plan.spec.storage), plan.spec.storage, plan.spec.name, plan.space,
        named=bool(getattr(tune, "study_name", None)), centred=centred,
    )


def _say_full_batch(plan: SearchPlan, records: list[TrialRecord]) -> None:
    """One BatchSizeWarning for the trials whose batch size exceeded their folds' training rows
    (the trials' fits show none: :attr:`TrialRecord.full_batch`)."""
    over = [r for r in records if r.full_batch is not None]
    if not over:
        return
    key = plan.batch_key
    if key == KEY and KEY in plan.space.dims:
        key = f"{KEY} (tune.space)"
    where = f" of {len(over)} of {len(records)} trials"
    warn_full_batch(merge(r.full_batch for r in over), key=key, where=where)


def _results(
    plan: SearchPlan, todo: int | None, deadline: float | None, progress: str | None,
) -> Iterator[TrialRecord | None]:
    def turns() -> Iterator[int]:
        i = 0
        while (todo is None or i < todo) and (deadline is None or time.time() < deadline):
            yield i
            i += 1

    if plan.n_jobs == 1:
        for _ in turns():
            yield run_one_trial(plan, deadline, progress)
        return
    parallel = Parallel(n_jobs=plan.n_jobs, return_as="generator_unordered")
    share = effective_n_jobs(plan.n_jobs)
    yield from parallel(
        delayed(run_one_trial)(plan, deadline, progress, share) for _ in turns()
    )


def run_one_trial(
    plan: SearchPlan, deadline: float | None, progress: str | None = None, share: int = 1,
) -> TrialRecord | None:
    """One trial of the study (in any process): ``None`` when nothing is left to do.
    ``progress``: the prefix of the epoch lines its fits print now and then (``share``:
    trials running side by side, see :class:`gdlab.experiment.progress.EpochProgress`).

    The sampler is seeded for the trial once it exists, from its number in the study
    (:func:`gdlab.tuning.study.trial_slot`): searches on other hosts sharing the study (an RDB
    storage), even starting at the same moment, never take a running trial's seed (which
    would propose its configuration again). The budget counts the trials running now too:
    the search stops once ``n_trials`` are finished or running. Checking the budget and
    creating the trial are two steps, so workers that find room for the last trial at the
    same moment each run one: at most one trial per worker past ``n_trials``, which the
    result leaves out (:meth:`SearchOutcome.budget_trials`: the first ``n_trials`` in trial
    order). Finished and running trials are counted in one reading of the study: read twice,
    a trial another worker finishes in between would count as running and as finished, and
    the budget look spent while it still has room for this trial."""
    if deadline is not None and time.time() >= deadline:
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    quiet_interrupted_trials()  # Ctrl-C: no traceback per running trial
    study = plan.spec.load()
    trials = study.get_trials(deepcopy=False)
    running = sum(t.state == TrialState.RUNNING for t in trials)
    left = remaining_trials(trials, plan.n_trials, plan.grid_size)
    if left is not None and left <= running:
        return None
    if plan.spec.strategy == "grid" and study.sampler.is_exhausted(study):  # type: ignore[attr-defined]
        waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        if not waiting:
            return None
    warm_up_search(plan)  # a worker process's first trial: untimed; then nothing to do
    objective = CVObjective(
        plan.params,
        plan.X,
        plan.y,
        plan.folds,
        plan.space,
        plan.metric,
        plan.greater_is_better,
        owner=plan.owner,
        progress=progress,
        share=share,
        warm_up=plan.warm_up,
    )
    study.optimize(objective, n_trials=1, catch=(Exception,))
    return objective.last


def trials_table(study: optuna.Study, space: Space, n_folds: int) -> list[dict[str, Any]]:
    """One row per trial (for ``trials.csv``): number, state, value, every dimension (blank
    when inactive), per-fold scores, times and why a trial stopped."""
    from gdlab.tuning.objective import DUPLICATE_OF, FIT_TIME, REASON, STOPPED_BY
    from gdlab.tuning.study import INTERRUPTED, RETRY_OF

    rows = []
    for trial in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {
            "number": trial.number,
            "state": trial.state.name,
            "value": trial.value,
            "counted": counted(trial),
        }
        row.update({key: trial.params.get(key) for key in space.dims})
        for step in range(n_folds):
            row[f"fold_{step + 1}"] = trial.intermediate_values.get(step)
        row["fit_time_s"] = trial.user_attrs.get(FIT_TIME)
        row["duration_s"] = trial.duration.total_seconds() if trial.duration is not None else None
        row["stopped_by"] = trial.user_attrs.get(STOPPED_BY)
        row["duplicate_of"] = trial.user_attrs.get(DUPLICATE_OF)
        row["retry_of"] = trial.user_attrs.get(RETRY_OF)
        row["interrupted"] = bool(trial.user_attrs.get(INTERRUPTED, False))
        row["reason"] = trial.user_attrs.get(REASON)
        rows.append(row)
    return rows
