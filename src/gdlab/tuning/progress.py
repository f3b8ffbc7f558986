"""Progress of a search: one line as each trial ends (state, score, best so far, how much of
the budget is done, time left), e.g.::

    tune: trial 6 complete, log_loss 0.2312 (best 0.229, trial 2), 4.1s; 4/20 done, ETA ~1m: {...}

A pruned trial's line says what stopped it instead of a score and the best so far: the pruner
compares fold scores (the median pruner, with the completed trials' median at the same fold),
never with the best CV score, e.g. ``trial 7 pruned (median pruner after fold 1/5: its
log_loss 0.4169 is worse than the completed trials' median there)``.

The time left is the trials' mean time × the trials left (``n_trials``, or the grid), capped by
what ``tune.timeout`` leaves; with a timeout alone it is the timeout's rest. While a trial runs,
its folds' epochs print now and then (:class:`gdlab.experiment.progress.EpochProgress`).
"""

from __future__ import annotations

from typing import Any

from optuna.trial import TrialState

from gdlab.experiment.progress import Eta, seconds
from gdlab.tuning.objective import TrialRecord

STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}


class TrialProgress:
    """The finished-trial lines of one run of a search (``prefix``: ``tune``)."""

    def __init__(
        self, plan: Any, study: Any, todo: int | None, prefix: str = "tune", *,
        time_left: float | None = None,
    ):
        """``time_left``: what the study has left of ``tune.timeout`` (default: all of it)."""
        self.prefix = prefix
        self.metric = plan.metric
        self.up = plan.greater_is_better
        self.todo = todo
        limit = plan.n_trials
        if plan.grid_size is not None:
            limit = plan.grid_size if limit is None else min(limit, plan.grid_size)
        self.before = 0 if limit is None or todo is None else max(limit - todo, 0)
        self.eta = Eta(todo, deadline=plan.timeout if time_left is None else time_left)
        self.best: tuple[float, int] | None = None
        for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            self._offer(trial.value, trial.number)

    def _offer(self, value: float | None, number: int) -> None:
        if value is None:
            return
        if self.best is None or (value > self.best[0] if self.up else value < self.best[0]):
            self.best = (float(value), number)

    def line(self, record: TrialRecord) -> str:
        """The line of the trial that just ended (counts it done)."""
        self.eta.tick()
        if record.state == "COMPLETE":
            self._offer(record.value, record.number)
        state = STATES.get(record.state, record.state.lower())
        text = f"{self.prefix}: trial {record.number} {state}"
        if record.value is not None:
            text += f", {self.metric} {record.value:.4g}"
        elif record.state == "PRUNED" and record.reason:
            # what stopped it (the pruner compares fold scores, not the best CV score, which
            # is therefore not shown next to it), a divergence, or a pruned twin
            text += f" ({record.reason})"
        elif record.fold_scores:
            text += f" after fold {len(record.fold_scores)}, {self.metric} " \
                    f"{record.fold_scores[-1]:.4g}"
        if record.state == "FAIL" and record.reason:
            reason = record.reason if len(record.reason) <= 120 else record.reason[:119] + "…"
            text += f" ({reason})"
        if self.best is not None and record.state != "PRUNED":
            text += f" (best {self.best[0]:.4g}, trial {self.best[1]})"
        text += f", {seconds(record.duration)}"
        done = self.before + self.eta.done
        budget = f"{done}/{self.before + self.todo} done" if self.todo is not None else \
            f"{done} done"
        eta = self.eta.text()
        text += f"; {budget}" + (f", {eta}" if eta else "")
        return f"{text}: {record.params}" if record.params else text
