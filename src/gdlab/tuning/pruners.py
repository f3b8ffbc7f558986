"""The pruner of ``tune.pruner``, holding off until ``tune.n_startup_trials`` trials of the
study have completed, whichever pruner it is.

Optuna's ``MedianPruner`` has that argument itself (it counts the study's COMPLETE trials);
``WilcoxonPruner`` has none (its ``n_startup_steps`` counts folds of one trial), so it is
wrapped in :class:`AfterStartupTrials`, which counts the same way. The count is read from the
study's storage, so a grid, a resumed study and searches on several hosts sharing it count
every completed trial, wherever it ran.
"""

from __future__ import annotations

import warnings

import optuna
from optuna.pruners import BasePruner
from optuna.trial import FrozenTrial, TrialState

WILCOXON_P = 0.1
"""``tune.pruner: wilcoxon`` prunes a trial when a one-sided signed-rank test of its fold
scores against the best trial's on the same folds gives p below this."""


class AfterStartupTrials(BasePruner):
    """``pruner``, asked only once ``n_startup_trials`` trials of the study have completed
    (as ``MedianPruner(n_startup_trials=...)`` counts them); before that no trial is pruned."""

    def __init__(self, pruner: BasePruner, n_startup_trials: int) -> None:
        if n_startup_trials < 0:
            raise ValueError(f"n_startup_trials must be >= 0, got {n_startup_trials}")
        self.pruner, self.n_startup_trials = pruner, n_startup_trials

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        if self.n_startup_trials:
            completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if len(completed) < self.n_startup_trials:
                return False
        return self.pruner.prune(study, trial)


def make_pruner(name: str, n_startup_trials: int) -> BasePruner:
    """The pruner ``tune.pruner: name`` (median | wilcoxon | none), fed one intermediate
    value per fold (step = fold index), pruning nothing before ``n_startup_trials`` trials
    of the study have completed."""
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=n_startup_trials)
    if name == "wilcoxon":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            wilcoxon = optuna.pruners.WilcoxonPruner(p_threshold=WILCOXON_P, n_startup_steps=2)
        return AfterStartupTrials(wilcoxon, n_startup_trials)
    if name == "none":
        return optuna.pruners.NopPruner()  # prunes nothing, during the startup trials too
    raise ValueError(f"tune.pruner: unknown pruner {name!r} (median, wilcoxon or none)")
