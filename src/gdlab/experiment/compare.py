"""Optimiser comparison: every variant of one parameter on the same folds and the same data.

A variant is ``params`` with one key changed (``optimizer.name: sgd``, ``optimizer.learning_rate:
0.1``, ``train.batch_size: 256``...). Every variant is cross-validated on the *same* folds;
its curve is the mean over folds per epoch (a fold that stopped holds its last value, see
:mod:`gdlab.experiment.curves`). The summary reports, per variant: the final mean training
loss, epochs and wall time until the mean curve first reaches the target loss (none when the
variants' training losses are in different units, see :func:`loss_units_differ`), whether
any fold diverged (at which epoch, with which learning rate), and whether the curve ends
above its first epoch (unstable). The ranking orders the variants that did not diverge by
their final loss (the last point of the drawn curve: ``compare.rank_by``, the training loss by
default or the folds' validation loss) or, with ``rank_by: val_metric``, by each fold's held-out
score in the task's default metric (rmse in the target's units, log_loss; scored as
cross-validation's ``val_<metric>``), then the diverged ones. Each variant's own loss is in
its own units when the variants differ in ``model.loss``, ``model.epsilon`` or
``preprocess.scale_target`` (and its training loss includes its penalty): the held-out metric,
shown for every variant whatever ranks, is the one measure they share. Every variant trains at
params.yaml's learning rate unless ``compare.learning_rate: lr_find`` gives each its own
(:mod:`gdlab.experiment.variant_rates`); the summary says which rule and which rates.

The ranking is an order, not a verdict: the folds train on different rows, so each
variant's final loss has a spread over the folds (their standard deviation, reported with
it). That spread is mostly shared: a fold with harder rows is harder for every variant. So
the verdict (:meth:`Comparison.verdict`) compares the best-ranked variant with each other one
fold by fold (:mod:`gdlab.experiment.paired`): a *winner* is declared only when the best's
final loss is lower than every other's on every fold and, for each, the mean of those paired
gaps exceeds their standard deviation over the folds and ``train.tol`` (a smaller lead is, by
the stopping rule's own measure, no improvement); otherwise the summary names the
variants it cannot be told apart from. Each row carries its paired gap to the best
(``gap_to_best``: mean over the folds of its final loss minus the best's, ``gap_to_best_std``,
``folds_behind_best``). The budget is the same number of epochs for every variant
(``train.max_epochs``), not the same time; with ``train.tol`` a fold stops earlier when its
loss stalls, so final losses can come from different epochs (the summary's ``budget`` says
so).

Workers fit and *return* curves (no logging here): tracking and files are the callers' job.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.exceptions import ConvergenceWarning

from gdlab.core.loop import DivergenceError
from gdlab.data.copies import copy_groups
from gdlab.data.positive import training_positive
from gdlab.experiment.curves import band, first_at_or_below, stack_curves
from gdlab.experiment.folds import Fold, make_folds
from gdlab.experiment.full_batch import full_batch_fits, merge, quiet_batch_size, warn_full_batch
from gdlab.experiment.metrics import DEFAULT_METRIC, GREATER_IS_BETTER, score_rows
from gdlab.experiment.model import (
    build_pipeline,
    fit_pipeline_rows,
    warm_once,
    warm_up_rows,
    watched_rows,
)
from gdlab.experiment.paired import PairedGap, paired_gap
from gdlab.experiment.progress import EpochProgress, Eta, say, seconds, with_eta
from gdlab.experiment.target import scales_target
from gdlab.experiment.trajectory import Trajectory, record_trajectory

RECORD_KEYS = ("loss", "val_loss", "learning_rate", "grad_norm", "time")
CURVE_NAMES = {"loss": "train_loss", "val_loss": "val_loss", "learning_rate": "learning_rate",
               "grad_norm": "grad_norm", "time": "time_s"}
"""Callback record key -> curve name (the train stage's names, plus ``time_s``)."""


class HistoryRecorder:
    """Estimator callback keeping every epoch's record (picklable, lives in the worker)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def __call__(self, record: dict[str, Any]) -> None:
        self.records.append(dict(record))


@dataclass
class VariantFold:
    """One fold of one variant: per-epoch curves, whether it diverged, fit time."""

    fold: int
    curves: dict[str, list[float | None]]
    diverged: bool
    fit_time: float
    divergence: dict[str, float] | None = None
    """When it diverged: ``{"epoch": ..., "learning_rate": ...}`` from the DivergenceError."""
    scores: dict[str, float] | None = None
    """The fitted fold's scores on its held-out rows (:func:`gdlab.experiment.metrics.score_rows`,
    as cross-validation's ``val_<metric>``: the target's units); None when it diverged."""

    @property
    def n_iter(self) -> int:
        return len(self.curves.get("train_loss", []))


@dataclass
class Variant:
    """One variant: its label, the varied value, its validated params and its results."""

    label: str
    value: Any
    params: Any
    folds: list[VariantFold] = field(default_factory=list)
    trajectory: Trajectory | None = None
    target_scaled: bool = False  # its losses are on the standardised target
    rate_source: str = "shared"
    """Where its learning rate comes from (:mod:`gdlab.experiment.variant_rates`)."""
    rate_note: str | None = None
    """Why: the range test's suggestion, or why params.yaml's rate was kept."""

    @property
    def learning_rate(self) -> float | None:
        """``optimizer.learning_rate`` of its parameters (the rate it trained at)."""
        rate = getattr(getattr(self.params, "optimizer", None), "learning_rate", None)
        return None if rate is None else float(rate)

    @property
    def diverged(self) -> bool:
        return any(f.diverged for f in self.folds)

    def curve(self, name: str) -> np.ndarray:
        """Mean over folds per epoch of curve ``name`` (stopped folds held, diverged not)."""
        return band(self.stacked(name))[0]

    def std(self, name: str) -> np.ndarray:
        return band(self.stacked(name))[1]

    def final_spread(self, name: str = "train_loss") -> float | None:
        """Standard deviation over the folds (ddof 0) of their final losses of curve ``name``;
        None when the variant diverged."""
        if self.diverged or not self.folds:
            return None
        spread = self.std(name)
        return float(spread[-1]) if spread.size and np.isfinite(spread[-1]) else None

    def fold_finals(self, name: str = "train_loss") -> dict[int, float]:
        """``{fold: final loss of curve name}``: each fold's last point on the variant's epoch
        axis (a stopped fold holds its last value, see :func:`stack_curves`), the folds
        without a finite one left out; empty when the variant diverged."""
        if self.diverged or not self.folds:
            return {}
        last = self.stacked(name)[:, -1]
        return {f.fold: float(x) for f, x in zip(self.folds, last, strict=True) if np.isfinite(x)}

    def fold_scores(self, metric: str) -> dict[int, float]:
        """``{fold: held-out score in metric}`` of the folds that have a finite one; empty
        when the variant diverged."""
        if self.diverged:
            return {}
        return {f.fold: float(f.scores[metric]) for f in self.folds
                if f.scores is not None and np.isfinite(f.scores.get(metric, np.nan))}

    def score(self, metric: str) -> tuple[float | None, float | None]:
        """``(mean, std)`` over the folds (ddof 0) of the held-out score in ``metric``;
        ``(None, None)`` without any."""
        values = list(self.fold_scores(metric).values())
        if not values:
            return None, None
        return float(np.mean(values)), float(np.std(values))

    def stacked(self, name: str) -> np.ndarray:
        return stack_curves(
            [f.curves.get(name, []) for f in self.folds], hold=[not f.diverged for f in self.folds]
        )


@dataclass
class Comparison:
    """All variants of one comparison, in the order they were listed."""

    vary: str
    variants: list[Variant]
    target_loss: float | None = None
    target_rule: str = "compare.target_loss"
    rank_by: str = "train_loss"
    """What ranks the variants and decides the verdict: the final value of a loss curve
    (``train_loss``, ``val_loss``) or ``val_metric``, the folds' held-out :attr:`metric`."""
    metric: str | None = None
    """The held-out metric (``compare.metric``; the task's default: rmse, log_loss): each
    fold's held-out score in it is shown, and ranks with ``rank_by: val_metric`` (the higher
    first when greater is better, as balanced_accuracy)."""
    learning_rate_rule: str = ""
    """How each variant's learning rate was chosen, in words."""

    def variant(self, label: str) -> Variant:
        return next(v for v in self.variants if v.label == label)

    def ranking(self) -> list[str]:
        """Labels best first: not diverged by final loss (of :attr:`rank_by`), then
        diverged (and those without one)."""
        def key(item: tuple[int, Variant]) -> tuple:
            index, v = item
            final = self.final(v)
            return (v.diverged or final is None, final if final is not None else 0.0, index)

        return [v.label for _, v in sorted(enumerate(self.variants), key=key)]

    def verdict(self) -> tuple[str | None, list[str]]:
        """``(winner, tied)``: the best-ranked variant when it beats every other variant that
        did not diverge fold by fold (:attr:`PairedGap.beaten`: lower on every fold, mean
        paired gap above the gaps' standard deviation), else None; ``tied`` lists the
        variants it does not beat (the best first when there is no winner). Diverged variants
        (and any without a final loss) always lose; a single variant wins nothing."""
        alive = self._alive()
        if len(self.variants) < 2 or not alive:
            return None, [v.label for v in alive]
        best = alive[0]
        tied = [v.label for v in alive[1:] if not self.gap_to_best(v).beaten]
        return (None, [best.label, *tied]) if tied else (best.label, [])

    def gap_to_best(self, v: Variant) -> PairedGap:
        """``v``'s final loss (of :attr:`rank_by`) minus the best-ranked variant's, fold by
        fold, over the folds either of them has (:func:`gdlab.experiment.paired.paired_gap`)."""
        best = self._alive()[0]
        folds = {f.fold for f in best.folds} | {f.fold for f in v.folds}
        return paired_gap(self.fold_finals(best), self.fold_finals(v), len(folds),
                          margin=max(_tol(best), _tol(v)))

    def ranks_by_metric(self) -> bool:
        return self.rank_by == "val_metric"

    def _ranked_metric(self) -> str:
        if self.metric is None:
            raise ValueError("compare.rank_by: val_metric needs the task's metric: pass task to "
                             "compare_variants")
        return self.metric

    def higher_first(self) -> bool:
        """Whether the ranked value is better higher (``val_metric`` of balanced_accuracy...)."""
        return self.ranks_by_metric() and GREATER_IS_BETTER[self._ranked_metric()]

    def final(self, v: Variant) -> float | None:
        """What ranks ``v`` (lower first): its final loss of :attr:`rank_by` (the mean curve's
        last point) or, with ``val_metric``, the mean over the folds of its held-out score
        (negated when greater is better)."""
        if self.ranks_by_metric():
            value = v.score(self._ranked_metric())[0]
            return None if value is None else -value if self.higher_first() else value
        return _final(v.curve(self.rank_by))

    def fold_finals(self, v: Variant) -> dict[int, float]:
        """``{fold: what ranks}`` (lower first): its final loss of :attr:`rank_by` or its
        held-out score, negated when greater is better (so a gap to the best is how far
        behind it is, either way)."""
        if self.ranks_by_metric():
            sign = -1.0 if self.higher_first() else 1.0
            return {k: sign * value for k, value in v.fold_scores(self._ranked_metric()).items()}
        return v.fold_finals(self.rank_by)

    def _alive(self) -> list[Variant]:
        """The variants that did not diverge and have a final loss, best first."""
        ranked = [self.variant(label) for label in self.ranking()]
        return [v for v in ranked if not v.diverged and self.final(v) is not None]

    def budget(self) -> str:
        """What every variant was given: the same epochs (not the same time), and whether a
        stopping rule could end a fold earlier."""
        trains = [v.params.train for v in self.variants if hasattr(v.params, "train")]
        if not trains:
            return "unknown: the variants carry no train parameters"
        epochs = sorted({t.max_epochs for t in trains})
        text = (f"same epoch budget: train.max_epochs {epochs[0]} for every variant"
                if len(epochs) == 1 else
                "epoch budgets differ: train.max_epochs " + ", ".join(map(str, epochs)))
        text += " (not the same time: compare time to target and total time)"
        if any(t.tol is not None for t in trains):
            text += ("; with train.tol a fold stops earlier when its monitored loss stalls "
                     "(n_iter_no_change epochs without improving by tol), so final losses "
                     "can come from different epochs (column epochs)")
        return text

    def summary(self) -> dict[str, Any]:
        """The summary document (``reports/compare/summary.json``)."""
        ranking = self.ranking()
        winner, tied = self.verdict()
        others = {id(v) for v in self._alive()[1:]}  # compared with the best
        rows: dict[str, Any] = {}
        for v in self.variants:
            train, clock = v.curve("train_loss"), v.curve("time_s")
            hit = None
            if self.target_loss is not None and not v.diverged:
                hit = first_at_or_below(train, self.target_loss)
            gap = self.gap_to_best(v) if id(v) in others else None
            rows[v.label] = {
                "value": v.value,
                "rank": ranking.index(v.label) + 1,
                "final_loss": None if v.diverged else _final(train),
                "final_loss_std": v.final_spread(),
                "gap_to_best": None if gap is None else gap.mean,
                "gap_to_best_std": None if gap is None else gap.std,
                "folds_behind_best": None if gap is None else gap.behind,
                "final_val_loss": None if v.diverged else _final(v.curve("val_loss")),
                "final_val_loss_std": v.final_spread("val_loss"),
                **self._score_columns(v),
                "learning_rate": v.learning_rate,
                "learning_rate_source": v.rate_source,
                "learning_rate_note": v.rate_note,
                "epochs": max((f.n_iter for f in v.folds), default=0),
                "epochs_to_target": None if hit is None else hit + 1,
                "time_to_target_s": None if hit is None else float(clock[hit]),
                "total_time_s": _final(clock),
                "diverged": v.diverged,
                "diverged_folds": [f.fold for f in v.folds if f.diverged],
                "divergence": [{"fold": f.fold, **f.divergence} for f in v.folds
                               if f.diverged and f.divergence is not None],
                "unstable": not v.diverged and _ends_above_start(train),
            }
        measured = ("validation loss over the CV folds (each fold's held-out rows, loss "
                    "without penalty" if self.rank_by == "val_loss" else
                    "training loss over the CV folds (loss + penalty")
        if self.ranks_by_metric():
            measured = (f"held-out {self._ranked_metric()} over the CV folds (each fold's "
                        "model at its last epoch scored on its held-out rows"
                        + (", in the target's units" if self.metric in ("rmse", "mae") else "")
                        + "; the same measure for every variant, whatever its loss")
        if self.rank_by == "val_loss" and any(
                getattr(getattr(v.params, "train", None), "early_stopping", False)
                for v in self.variants):
            measured = ("validation loss over the CV folds (with train.early_stopping: the "
                        "validation_fraction of each fold's training rows it stopped on, not "
                        "the held-out rows; loss without penalty")
        ranked = ("validation loss" if self.rank_by == "val_loss" else
                  f"held-out {self.metric}" if self.ranks_by_metric() else "training loss")
        return {
            "vary": self.vary,
            "rank_by": self.rank_by,
            "target_loss": self.target_loss,
            "target_rule": self.target_rule,
            "metric": f"mean {measured}"
            + (", standardised target" if not self.ranks_by_metric() and self.variants and all(
                v.target_scaled for v in self.variants) else "")
            + (")" if self.ranks_by_metric() else "), per epoch"),
            "val_metric": self.metric,
            "learning_rate_rule": self.learning_rate_rule or _rate_rule(self.variants, self.vary),
            "folds": len(self.variants[0].folds) if self.variants else 0,
            "ranking": ranking,
            "winner": winner,
            "tied_with_best": tied,
            "winner_rule": "winner only when, compared fold by fold with every other "
            f"variant, its final {ranked} is {'higher' if self.higher_first() else 'lower'} on "
            "every fold (compare.rank_by: "
            f"{self.rank_by}; folds_behind_best "
            "equals folds; a fold without a final value for either does not count) and the "
            "mean of the paired gaps exceeds their standard deviation over the folds and "
            "train.tol (gap_to_best > gap_to_best_std and gap_to_best > train.tol)",
            "budget": self.budget(),
            "variants": rows,
        }


    def _score_columns(self, v: Variant) -> dict[str, float | None]:
        """``{"val_<metric>": mean, "val_<metric>_std": std}`` of ``v``'s held-out scores
        (empty without a task metric)."""
        if self.metric is None:
            return {}
        mean, std = v.score(self.metric)
        return {f"val_{self.metric}": mean, f"val_{self.metric}_std": std}


def diverged_text(v: Variant) -> str:
    """``"diverged (fold 2: epoch 4, learning_rate=1)"``: where each diverged fold stopped."""
    where = [f"fold {f.fold}: epoch {f.divergence['epoch']}, learning_rate="
             f"{f.divergence['learning_rate']:.4g}" for f in v.folds
             if f.diverged and f.divergence is not None]
    return "diverged" + (f" ({'; '.join(where)})" if where else "")


def verdict_text(summary: dict[str, Any]) -> str:
    """One sentence on the summary's winner, or why there is none."""
    winner, tied = summary.get("winner"), summary.get("tied_with_best") or []
    higher = (summary.get("rank_by") == "val_metric"
              and GREATER_IS_BETTER.get(summary.get("val_metric") or "", False))
    rows = summary.get("variants") or {}
    diverged = [label for label, row in rows.items() if row.get("diverged")]
    if winner is not None:
        if len(diverged) == len(rows) - 1:
            return f"winner {winner} (every other variant diverged)"
        return (f"winner {winner} ({'higher' if higher else 'lower'} than every other variant "
                "on every fold, by a mean "
                "gap above the gaps' spread over the folds and train.tol"
                + (f"; {', '.join(diverged)} diverged" if diverged else "") + ")")
    if len(tied) > 1:
        return (f"no clear winner: {tied[0]} is not ahead of {', '.join(tied[1:])} on every "
                "fold by more than the spread of the fold-by-fold gaps and train.tol (their "
                "order is not significant)")
    if rows and len(diverged) == len(rows):
        return "no winner: every variant diverged (see the diverged column)"
    return "no winner (fewer than two variants to compare)"


def _rate_rule(variants: list[Variant], vary: str = "") -> str:
    """The learning-rate rule of variants that each keep their params' rate: one shared rate
    (the summary warns what that means for optimisers), the varied key, or their own."""
    rates = {v.learning_rate for v in variants}
    if rates == {None}:
        return "unknown: the variants carry no optimizer parameters"
    if vary == "optimizer.learning_rate":
        return "each variant at its own optimizer.learning_rate (the varied key)"
    if len(rates) == 1 and (rate := rates.pop()) is not None:
        return (f"every variant at the same optimizer.learning_rate {rate:g} from params.yaml "
                "(compare.learning_rate: shared); optimisers differ in their good rates (plain "
                "SGD often wants ten times Adam's), so the order also says how well this one "
                "rate suits each; compare.learning_rate: lr_find gives each variant its own")
    return "each variant at its own optimizer.learning_rate (column learning rate)"


def lr_find_rule(rows: int) -> str:
    """The learning-rate rule of ``compare.learning_rate: lr_find``."""
    return ("each variant at the learning rate its own LR range test suggests (compare."
            "learning_rate: lr_find; gdlab.lr_range_test, seeded, on the first fold's "
            f"{rows} training rows), or params.yaml's optimizer.learning_rate where the test "
            "found no usable suggestion (said in the learning rate column)")


def loss_units_differ(variants: list[Variant], vary: str) -> str | None:
    """Why the variants' training losses are in different units (varying ``model.loss``,
    huber's ``model.epsilon`` or ``preprocess.scale_target`` in regression, class weights in
    classification: validate's
    :func:`gdlab.config.sections.compare.changes_loss_units`), or None when they share them."""
    from gdlab.config.sections.compare import changes_loss_units, loss_units_reason

    if not variants or not changes_loss_units(vary, variants[0].params):
        return None
    return loss_units_reason(vary)


def no_target_rule(units: str, metric: str | None) -> str:
    """The target rule of a comparison without a target: why there is none."""
    return ("none: the variants' training losses are in different units (" + units + "), so "
            "no single loss value is the same target for all of them and epochs and time to "
            "target are not reported"
            + (f"; compare them by the held-out {metric}" if metric else ""))


def plan_variants(params: Any) -> list[Variant]:
    """One :class:`Variant` per ``compare.values`` entry, its params validated."""
    from gdlab.config.sections.compare import variant_label, variant_params

    spec = params.compare
    return [
        Variant(variant_label(spec.vary, value), value, variant_params(params, spec.vary, value))
        for value in spec.values
    ]


def _tol(v: Variant) -> float:
    """``train.tol`` of the variant's parameters (0 when None or absent): a final loss lower
    by less than that is no lead, as the stopping rule counts it no improvement."""
    tol = getattr(getattr(v.params, "train", None), "tol", None)
    return float(tol) if tol is not None else 0.0


def _ends_above_start(curve: np.ndarray) -> bool:
    """The curve ends above its first point: training made it worse without diverging (e.g. a
    learning rate above 2/L that oscillates without exploding)."""
    final = _final(curve)
    return final is not None and bool(np.isfinite(curve[0])) and final > float(curve[0])


def _final(curve: np.ndarray) -> float | None:
    finite = curve[np.isfinite(curve)] if curve.size else curve
    return float(finite[-1]) if finite.size else None


def _fit_fold(
    pipeline: Any, X: np.ndarray, y: np.ndarray, fold: Fold, lines: EpochProgress | None = None,
    task: str | None = None, positive: Any = None,
) -> VariantFold:
    recorder = HistoryRecorder()
    callbacks = [recorder] if lines is None else [recorder, lines]
    diverged, divergence, scores = False, None, None
    # compare_variants said the batch size once; a worker process takes no warning filters
    with warnings.catch_warnings(), quiet_batch_size():
        warnings.simplefilter("ignore", ConvergenceWarning)
        watched = watched_rows(pipeline, fold.val_idx)  # early stopping: on its own split
        warm_up_rows(pipeline, X, y, fold.train_idx, watched)
        start = time.perf_counter()
        try:
            outcome = fit_pipeline_rows(  # the held-out rows recorded, not monitored (plateau)
                pipeline, X, y, fold.train_idx, watched, callbacks=callbacks, monitor_eval=False
            )
        except DivergenceError as exc:
            diverged = True
            divergence = {"epoch": int(exc.epoch), "learning_rate": float(exc.learning_rate)}
    fit_time = time.perf_counter() - start
    if task is not None and not diverged:  # as cross_validate's val_<metric>
        scores = score_rows(outcome.model, X, y, fold.val_idx, task, positive=positive)
    curves: dict[str, list[float | None]] = {name: [] for name in CURVE_NAMES.values()}
    for record in recorder.records:
        for key, name in CURVE_NAMES.items():
            value = record.get(key)
            curves[name].append(None if value is None else float(value))
    return VariantFold(fold.index, curves, diverged, fit_time, divergence, scores)


def _trajectory(pipeline: Any, X: np.ndarray, y: np.ndarray, names: list[str] | None):
    return record_trajectory(pipeline, X, y, feature_names=names)


def compare_variants(
    variants: list[Variant],
    X: np.ndarray,
    y: np.ndarray,
    *,
    vary: str,
    task: str,
    folds: int,
    seed: int,
    n_jobs: int | None = 1,
    target_loss: float | None = None,
    target_gap: float = 0.05,
    trajectories: bool = True,
    feature_names: list[str] | None = None,
    learning_rate: str = "shared",
    rank_by: str = "train_loss",
    metric: str | None = None,
) -> Comparison:
    """Cross-validate every variant on the same ``folds`` (and record each one's trajectory
    on all of ``(X, y)``), all fits sharing one pool of ``n_jobs`` workers. A ``batch_size``
    above the fits' training rows is said once (:mod:`gdlab.experiment.full_batch`).
    ``learning_rate``: ``shared`` (each variant's params' rate) or ``lr_find`` (each
    variant's LR range test suggestion on the first fold's training rows,
    :func:`gdlab.experiment.variant_rates.find_variant_rates`); ``rank_by``: ``train_loss``
    or ``val_loss``, the final loss that ranks them, or ``val_metric``, each fold's held-out
    score in ``metric`` (``compare.metric``; None: the task's default metric; scored as
    cross-validation's ``val_<metric>``)."""
    X = np.asarray(X)
    y = np.asarray(y)
    splits = make_folds(y, folds, task=task, seed=seed, groups=copy_groups(X, y))
    rate_rule = _rate_rule(variants, vary)
    if learning_rate == "lr_find":
        from gdlab.experiment.variant_rates import find_variant_rates

        say(f"compare: LR range test of {len(variants)} variants on fold 1's "
            f"{len(splits[0].train_idx)} training rows")
        find_variant_rates(variants, X, y, splits[0].train_idx)
        for v in variants:
            say(f"compare: {v.label}: learning_rate {v.learning_rate:.4g} ({v.rate_note})")
        rate_rule = lr_find_rule(len(splits[0].train_idx))
    pipelines = [build_pipeline(v.params) for v in variants]
    for v, pipe in zip(variants, pipelines, strict=True):
        v.target_scaled = scales_target(pipe)
    share = min(effective_n_jobs(n_jobs), len(variants) * len(splits))
    # a batch size above the training rows of the folds (or the trajectories'): said once here
    rows = [len(fold.train_idx) for fold in splits] + ([len(y)] if trajectories else [])
    warn_full_batch(merge(full_batch_fits(pipe, rows) for pipe in pipelines))

    def lines(i: int, fold: Fold) -> EpochProgress:  # a long fit's epochs, now and then
        label = f"compare: {variants[i].label} fold {fold.index}/{fold.n_folds}"
        return EpochProgress(label, variants[i].params.train.max_epochs, share=share)

    # every variant's f1 and average_precision of one class (metrics.positive_label)
    positive = training_positive(variants[0].params, y) if variants else None
    jobs = [
        (i, "fold", delayed(_fit_fold)(pipe, X, y, fold, lines(i, fold), task, positive))
        for i, pipe in enumerate(pipelines)
        for fold in splits
    ]
    if trajectories:
        jobs += [
            (i, "trajectory", delayed(_trajectory)(pipe, X, y, feature_names))
            for i, pipe in enumerate(pipelines)
        ]
    say(f"compare: {len(variants)} variants of {vary} × {len(splits)} folds (n_jobs={n_jobs})")
    # untimed, before the ETA's clock: the kernels' one-off compilation (seconds on a first
    # run) made the first fits' ETA lines say minutes for a comparison of seconds
    with warnings.catch_warnings(), quiet_batch_size():
        warnings.simplefilter("ignore")
        for pipe in pipelines:
            warm_once(pipe, X, y, splits[0].train_idx, watched_rows(pipe, splits[0].val_idx))
    results = Parallel(n_jobs=n_jobs, return_as="generator")(job for _, _, job in jobs)
    eta = Eta(len(jobs))
    for n, ((i, kind, _), result) in enumerate(zip(jobs, results, strict=True), 1):
        if kind == "fold":
            variants[i].folds.append(result)
            what = f"fold {result.fold}: {result.n_iter} epochs, {seconds(result.fit_time)}"
        else:
            variants[i].trajectory = result
            what = "trajectory"
        eta.tick()
        say(with_eta(f"compare: {n}/{len(jobs)} {variants[i].label} {what}", eta))
    for v in variants:
        v.folds.sort(key=lambda f: f.fold)
        final = _final(v.curve("train_loss"))
        state = diverged_text(v) if v.diverged else f"final training loss {final:.4g}"
        say(f"compare: {v.label}: {state}")
    comparison = Comparison(vary, variants, rank_by=rank_by, metric=metric or DEFAULT_METRIC[task],
                            learning_rate_rule=rate_rule)
    units = loss_units_differ(variants, vary)
    if units is not None:  # no loss value is the same target for all of them
        if target_loss is not None:
            raise ValueError(f"compare.target_loss {target_loss:g} with compare.vary: {vary}: "
                             f"the variants' training losses are in different units ({units})")
        comparison.target_rule = no_target_rule(units, comparison.metric)
    elif target_loss is not None:
        comparison.target_loss, comparison.target_rule = float(target_loss), "compare.target_loss"
    else:
        finals = [_final(v.curve("train_loss")) for v in variants if not v.diverged]
        finals = [f for f in finals if f is not None]
        if finals:
            comparison.target_loss = min(finals) * (1.0 + target_gap)
            comparison.target_rule = f"best final training loss × {1.0 + target_gap:g}"
    return comparison
