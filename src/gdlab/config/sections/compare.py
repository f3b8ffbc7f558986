"""``compare:`` — train every variant of one parameter (optimiser, learning rate, batch size…)
on the same folds and data."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr

from gdlab.config.base import Section
from gdlab.config.errors import ConfigError, Problem
from gdlab.config.sections.tracking import DEFAULT_METRIC, METRICS

if TYPE_CHECKING:
    from gdlab.config.schema import Params

VARIABLE_ROOTS = ("seed", "model", "optimizer", "schedule", "train", "preprocess")
"""What a variant may change: the estimator pipeline and its seed. Every variant shares the
prepared data and the folds, so a key of data, cv, tracking... would give identical variants."""

TARGET_GAP = 0.05
"""``target_loss: null`` aims at the best final training loss of the variants × (1 + this)."""

RATE_KEYS = ("optimizer.learning_rate",)
"""What ``learning_rate: lr_find`` overrides in every variant: a key it cannot vary."""

LOSS_RANKS = ("train_loss", "val_loss")
"""The ``compare.rank_by`` values that rank by each variant's own loss."""

LOSS_UNIT_KEYS = {
    "model.loss": "squared error and huber are different functions of the residual",
    "model.epsilon": "huber is at most half the squared residual and a smaller epsilon "
    "always gives a smaller value",
    "preprocess.scale_target": "on the standardised target or in the target's units",
    "model.class_weight": "class_weight weighs each class's training rows differently, so "
    "each variant's training loss is a mean weighted its own way",
}
"""Keys whose variants' losses are in different units: refused with a loss ranking and with
``target_loss``; such a comparison has no target (:func:`changes_loss_units`)."""

WEIGHTED_TRAINING_KEY = "model.class_weight"
"""Its variants' training losses are differently weighted means (ranking by ``train_loss`` is
refused), and their held-out log loss (``val_loss``, ``val_metric`` of log_loss) favours the
unweighted variant by construction (refused too): they rank by another held-out metric
(:data:`WEIGHT_METRICS`). Its dotted keys (``model.class_weight.fraud``) count as it."""

PRIOR_LOSS = "log_loss"
"""The held-out measure that class weights lose on by construction: reweighting moves the
predicted probabilities away from the class shares the unweighted log loss rewards."""
WEIGHT_METRICS = ("balanced_accuracy", "f1", "average_precision", "roc_auc")
"""Held-out scores that compare class weights on what they are for (the rare classes)."""

PENALTY_KEYS = ("model.alpha", "model.l1_ratio")
"""Keys whose variants' training objective carries a different penalty."""

Value = StrictStr | StrictBool | StrictInt | StrictFloat | None


class CompareConfig(Section):
    """Comparison stage: the same folds and data, one parameter varied."""

    enabled: bool = Field(True, description="run the comparison in the compare stage")
    vary: str = Field(
        "optimizer.name",
        min_length=1,
        description="dotted key that differs between the variants, e.g. optimizer.name, "
        "optimizer.learning_rate, train.batch_size",
        json_schema_extra={"x-allowed": "seed or a key under model., optimizer., schedule., "
                           "train. or preprocess."},
    )
    values: list[Value] = Field(
        default_factory=lambda: ["sgd", "momentum", "nesterov", "adam"],
        min_length=1,
        description="one variant per value of the varied key (a new optimizer.name starts "
        "from that optimiser's default params)",
        json_schema_extra={"x-allowed": "values valid for the varied key, each once"},
    )
    target_loss: float | None = Field(
        None,
        gt=0,
        description="training loss to reach (epochs and time to it are reported; on the "
        "standardised target with preprocess.scale_target); null = the best final loss of "
        "the variants + 5%; must be null when compare.vary puts the variants' losses in "
        "different units (model.loss, model.epsilon with huber, preprocess.scale_target, "
        "model.class_weight), which have no target",
    )
    learning_rate: Literal["shared", "lr_find"] = Field(
        "shared",
        description="the learning rate each variant trains at: shared = params.yaml's "
        "optimizer.learning_rate for all; lr_find = each variant's own LR range test "
        "suggestion on the first fold's training rows (params.yaml's rate when the test finds "
        "no descent)",
    )
    rank_by: Literal["train_loss", "val_loss", "val_metric"] = Field(
        "train_loss",
        description="what ranks the variants and decides the winner fold by fold (mean over "
        "the folds): train_loss or val_loss, each variant's own final loss (training rows or "
        "the folds' held-out rows; in the units of its loss), or val_metric, the folds' "
        "held-out score in compare.metric (by default rmse in the target's units for "
        "regression, log_loss for classification), which variants with different losses "
        "(model.loss, model.epsilon), penalties or preprocess.scale_target share; varying "
        "model.class_weight ranks by val_metric with compare.metric set (weights move the "
        "probabilities away from the class shares, so log loss, auto's, favours no weights "
        "by construction; compare.metric: log_loss ranks by it knowingly)",
    )
    metric: Literal[
        "auto", "rmse", "mae", "r2", "log_loss", "accuracy", "f1", "roc_auc", "average_precision",
        "balanced_accuracy",
    ] = Field(
        "auto",
        description="the held-out score shown for every variant and ranked by with rank_by: "
        "val_metric; auto = rmse (regression) / log_loss",
    )

    def resolved_metric(self, task: str) -> str:
        """The held-out metric of the comparison for ``task`` (``auto`` resolved)."""
        return DEFAULT_METRIC[task] if self.metric == "auto" else self.metric

    def cross_checks(self, params: Params) -> list[Problem]:
        if not self.enabled:
            return []
        if self.vary.split(".", 1)[0] not in VARIABLE_ROOTS:
            return [Problem(
                "compare.vary",
                f"{self.vary!r} would give identical variants: they all train on the same "
                "prepared data and folds",
                "seed or a key under " + ", ".join(f"{r}." for r in VARIABLE_ROOTS[1:]),
            )]
        if self.vary != WEIGHTED_TRAINING_KEY and not _is_key(params.model_dump(),
                                                              self.vary.split(".")):
            return [Problem("compare.vary", f"{self.vary!r} is not a key of the parameters",
                            "a dotted key such as optimizer.name or train.batch_size")]
        if self.vary == "preprocess.scale_target" and params.model.task != "regression":
            return [Problem("compare.vary", "classification ignores it (class labels are not "
                            "scaled): the variants would be identical",
                            "a key other than preprocess.scale_target")]
        task = params.model.task
        if self.metric != "auto" and self.metric not in METRICS[task]:
            return [Problem("compare.metric", f"{self.metric} does not fit task {task}",
                            " | ".join(("auto", *METRICS[task])))]
        weighted = _unit_key(self.vary) == WEIGHTED_TRAINING_KEY and task == "classification"
        if weighted and self.rank_by != "train_loss" and self._ranks_log_loss(task):
            ranked = ("compare.rank_by: val_loss" if self.rank_by == "val_loss" else
                      f"compare.rank_by: val_metric with compare.metric: {self.metric}")
            return [Problem(
                "compare.rank_by",
                f"{self.vary} with {ranked} ranks the variants by their held-out log loss, "
                "which the unweighted variant wins by construction: class weights move the "
                "predicted probabilities away from the class shares that log loss rewards "
                "(whatever they do for the rare classes)",
                _weight_fix(),
            )]
        if self.rank_by in _loss_ranks(self.vary) and changes_loss_units(self.vary, params):
            return [Problem(
                "compare.vary",
                f"{self.vary} with compare.rank_by: {self.rank_by}: the variants' losses would "
                f"be in different units ({loss_units_reason(self.vary)}), so ranking them by "
                "loss means nothing",
                _weight_fix() if weighted else
                "compare.rank_by: val_metric (the held-out score in the task's metric, the "
                "same units for every variant), or another compare.vary",
            )]
        if self.target_loss is not None and changes_loss_units(self.vary, params):
            return [Problem(
                "compare.target_loss",
                f"{self.target_loss:g} with compare.vary: {self.vary}: the variants' training "
                f"losses are in different units ({loss_units_reason(self.vary)}), so a single "
                "loss value cannot be the same target for all of them",
                "null (such a comparison reports no epochs or time to target), or another "
                "compare.vary",
            )]
        if self.learning_rate == "lr_find" and self.vary in RATE_KEYS:
            return [Problem(
                "compare.learning_rate",
                f"lr_find sets every variant's learning rate, so varying {self.vary} would "
                "give identical variants",
                "shared (or vary another key)",
            )]
        problems = []
        seen: dict[str, int] = {}
        for i, value in enumerate(self.values):
            label = variant_label(self.vary, value)
            if label in seen:
                problems.append(
                    Problem(f"compare.values[{i}]", f"{value!r} repeats values[{seen[label]}]",
                            "each value once")
                )
            seen.setdefault(label, i)
        return problems

    def _ranks_log_loss(self, task: str) -> bool:
        """Whether the ranking is the held-out log loss by default: ``val_loss`` of a
        classifier, or ``val_metric`` with ``metric: auto`` (log_loss). ``metric: log_loss``
        set by hand ranks by it knowingly (the calibrated probabilities) and is allowed."""
        return self.rank_by == "val_loss" or (self.metric == "auto"
                                              and self.resolved_metric(task) == PRIOR_LOSS)

    def variant_checks(self, params: Params) -> list[Problem]:
        if not self.enabled:
            return []
        # the search space is checked on its own (tune's variant_checks), not per variant
        untuned = params.model_copy(update={"tune": params.tune.model_copy(
            update={"enabled": False})})
        problems = []
        seen: dict[str, int] = {}  # the value as validated (1 and 1.0 are one float) -> index
        for i, value in enumerate(self.values):
            try:
                variant = variant_params(untuned, self.vary, value)
            except ConfigError as exc:
                shown = "; ".join(str(p) for p in exc.problems)
                problems.append(
                    Problem(f"compare.values[{i}]", f"{self.vary} = {value!r} is refused: {shown}")
                )
                continue
            resolved = _value_at(variant.model_dump(mode="json"), self.vary.split("."))
            key = json.dumps(resolved, sort_keys=True)
            if key in seen:
                first = seen[key]
                problems.append(Problem(
                    f"compare.values[{i}]",
                    f"{self.vary} = {value!r} repeats values[{first}] ({self.values[first]!r}): "
                    f"both validate to {resolved!r}, two identical variants",
                    "each value once",
                ))
            seen.setdefault(key, i)
        return problems


    def variant_notes(self, params: Params) -> list[Problem]:
        """The inert problems (:attr:`Problem.inert`) of the variants, e.g. the max_epochs 20
        variant of a step schedule with step_size 30, which trains at a constant rate:
        accepted (a point of the comparison), listed for validate's warnings."""
        if not self.enabled:
            return []
        untuned = params.model_copy(update={"tune": params.tune.model_copy(
            update={"enabled": False})})
        notes = []
        for i, value in enumerate(self.values):
            try:
                variant = variant_params(untuned, self.vary, value)
            except ConfigError:  # refused by variant_checks
                continue
            notes += [
                Problem(f"compare.values[{i}]",
                        f"{self.vary} = {value!r} gives {p.path}: {p.message}", None, True)
                for p in variant.inert_problems()
            ]
        return notes


def _weight_fix() -> str:
    """What ranks class-weight variants comparably."""
    return (f"compare.rank_by: val_metric with compare.metric: {WEIGHT_METRICS[0]} (or "
            f"{', '.join(WEIGHT_METRICS[1:])}), held-out scores that weigh the rare classes, "
            "or another compare.vary")


def _unit_key(vary: str) -> str:
    """The :data:`LOSS_UNIT_KEYS` entry ``vary`` falls under (a class's weight under
    ``model.class_weight``), else ``vary``."""
    weighted = vary == WEIGHTED_TRAINING_KEY or vary.startswith(f"{WEIGHTED_TRAINING_KEY}.")
    return WEIGHTED_TRAINING_KEY if weighted else vary


def loss_units_reason(vary: str) -> str:
    """Why the variants of ``vary`` have losses in different units (:data:`LOSS_UNIT_KEYS`)."""
    return LOSS_UNIT_KEYS[_unit_key(vary)]


def _loss_ranks(vary: str) -> tuple[str, ...]:
    """The ``compare.rank_by`` values refused for ``vary`` when its variants' losses are in
    different units: both, or only ``train_loss`` for class weights (the held-out loss is
    unweighted, but refused on its own: :attr:`CompareConfig.cross_checks`)."""
    return ("train_loss",) if _unit_key(vary) == WEIGHTED_TRAINING_KEY else LOSS_RANKS


def changes_loss_units(vary: str, params: Params) -> bool:
    """Whether the variants of ``vary`` have losses in different units (:data:`LOSS_UNIT_KEYS`):
    ``model.class_weight`` (and a class's weight) in classification, the others in regression
    only (classification has one loss, log_loss), and ``model.epsilon`` only with the huber
    loss (otherwise it is inert: the variants are alike, which validate warns of). Such
    variants get no ``target_loss`` and have no target (epochs and time to it) in the
    comparison, and are not ranked by their training loss (nor, but for class weights, by
    their held-out loss)."""
    if _unit_key(vary) == WEIGHTED_TRAINING_KEY:
        return params.model.task == "classification"
    if vary not in LOSS_UNIT_KEYS or params.model.task != "regression":
        return False
    return vary != "model.epsilon" or params.model.resolved_loss == "huber"


def ranked_penalty_warning(params: Params) -> str | None:
    """A warning when ``compare.vary`` changes the penalty and ``compare.rank_by`` is
    ``train_loss``, the training objective (loss + penalty): a variant with less penalty has
    less added to it and fits its training rows closer, so it wins by construction; None
    otherwise (``val_loss`` is the held-out loss without the penalty)."""
    spec = params.compare
    if not spec.enabled or spec.vary not in PENALTY_KEYS or spec.rank_by != "train_loss":
        return None
    return (f"compare.vary: {spec.vary} with compare.rank_by: train_loss: the ranked loss is "
            "the training objective, loss + penalty, so the variants with the smaller penalty "
            "win by construction (whatever they do on new rows); compare.rank_by: val_metric "
            "ranks by the folds' held-out score in the task's metric (or val_loss: the "
            "held-out loss, without the penalty)")


def _is_key(data: Any, parts: list[str]) -> bool:
    """Whether the dotted ``parts`` name a leaf of ``data``, or a key inside a free-form
    ``params`` mapping (which the variant's validation then checks)."""
    node = data
    for i, part in enumerate(parts):
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return i > 0 and parts[i - 1] == "params" and isinstance(node, dict)
    return not isinstance(node, dict)


def _value_at(data: Any, parts: list[str]) -> Any:
    """The value at the dotted ``parts`` of ``data`` (None where a key is missing)."""
    for part in parts:
        data = data.get(part) if isinstance(data, dict) else None
    return data


def variant_label(vary: str, value: Any) -> str:
    """How a variant is named: the value for ``*.name`` keys (``sgd``), else ``leaf=value``
    (``learning_rate=0.01``)."""
    leaf = vary.rsplit(".", 1)[-1]
    shown = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(
        value
    )
    return shown if leaf == "name" else f"{leaf}={shown}"


def safe_name(label: str) -> str:
    """``label`` usable as a file name."""
    return re.sub(r"[^A-Za-z0-9_.=+-]+", "_", label).strip("_") or "variant"


def variant_params(params: Params, vary: str, value: Any) -> Params:
    """``params`` with ``vary`` set to ``value`` (validated; the variant's compare section is
    switched off so validation does not recurse)."""
    from gdlab.config.loader import with_overrides

    return with_overrides(params, {vary: value, "compare.enabled": False})
