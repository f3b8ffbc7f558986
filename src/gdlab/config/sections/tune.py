"""``tune:`` — the hyper-parameter search (stage ``tune``) and its learning-rate × batch-size map.

The search space maps dotted parameter paths of params.yaml (``optimizer.learning_rate``,
``train.batch_size``, ``optimizer.params.momentum``...) to a :class:`SearchDimension`: a range
(``low``/``high``, ``log``, ``step``) or ``choices``; ``when`` makes a dimension conditional
on the values of others (momentum only for momentum optimisers). Every value a dimension can
take is checked here, applied to the rest of params.yaml, so a search cannot propose a
configuration the schema would refuse.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from gdlab.config.base import Section, StrictModel
from gdlab.config.errors import ConfigError, Problem, did_you_mean, raise_problems
from gdlab.config.overrides import apply_overrides
from gdlab.config.sections.compare import WEIGHT_METRICS, WEIGHTED_TRAINING_KEY
from gdlab.config.sections.tracking import DEFAULT_METRIC, METRICS, refuse_credentials

if TYPE_CHECKING:
    from gdlab.config.schema import Params

Choice = str | int | float | bool | None
"""A categorical value (what Optuna can store)."""

ListChoice = list[Choice]
"""A choice for a list-valued key (``optimizer.params.betas: {choices: [[0.9, 0.999], ...]}``):
Optuna stores its JSON text (:mod:`gdlab.tuning.space`)."""

TUNABLE_SECTIONS = ("model", "optimizer", "schedule", "train", "preprocess")
"""Top-level sections a search may change (data, cv and seed define the objective itself)."""

_ALL_METRICS = tuple(dict.fromkeys(m for task in METRICS.values() for m in task))
STRATEGIES = ("grid", "bayes")
PRUNERS = ("median", "wilcoxon", "none")


_SHAPE = "low and high (with log, step), or choices"
_TYPES = "auto, float or int with low and high; auto or categorical with choices"


class SearchDimension(StrictModel):
    """One searched parameter: a range (``low``, ``high``, ``log``, ``step``) or ``choices``."""

    type: Literal["auto", "float", "int", "categorical"] = Field(
        "auto",
        description="auto = categorical with choices, int when low/high are integers, else float",
    )
    low: int | float | None = Field(None, description="lower end of the range (inclusive)")
    high: int | float | None = Field(
        None,
        description="upper end of the range (inclusive); with step, low plus a whole number of "
        "steps",
    )
    log: bool = Field(False, description="sample the range uniformly in log space")
    step: int | float | None = Field(
        None,
        gt=0,
        description="spacing of the range's values: low, low + step, ... up to high, which must "
        "be on that lattice (not with log)",
    )
    choices: list[Choice | ListChoice] | None = Field(
        None,
        min_length=1,
        description="values to choose from (lists for a list-valued key such as "
        "optimizer.params.betas)",
        json_schema_extra={
            "x-allowed": "a list of single values (string, number, boolean or null) or of lists "
            "of them; at least 1 item or null"
        },
    )
    when: dict[str, list[Choice]] = Field(
        default_factory=dict,
        description="search this only when each named dimension takes one of the listed values",
    )

    @field_validator("choices", mode="before")
    @classmethod
    def _single_values_or_lists(cls, choices: Any) -> Any:
        """One problem per choice that is neither a single value nor a list of them (instead
        of one per member of the type union)."""
        if isinstance(choices, list):
            raise_problems(
                Problem(
                    f"[{i}]",
                    f"must be a single value (string, number, boolean or null) or a list of "
                    f"single values, got {choice!r}",
                    "a single value, or a list of single values for a list-valued key such as "
                    "optimizer.params.betas",
                )
                for i, choice in enumerate(choices)
                if not _is_single(choice)
                and not (isinstance(choice, list) and all(_is_single(v) for v in choice))
            )
        return choices

    @model_validator(mode="after")
    def _range_or_choices(self) -> SearchDimension:
        problems: list[Problem] = []
        has_range = self.low is not None or self.high is not None
        if self.choices is not None and has_range:
            problems.append(Problem("", "give either choices or low/high, not both", _SHAPE))
        elif self.choices is None and (self.low is None or self.high is None):
            problems.append(Problem("", "needs low and high, or choices", _SHAPE))
        if self.type == "categorical" and self.choices is None:
            problems.append(Problem("type", "categorical needs choices", _TYPES))
        if self.type in ("float", "int") and self.choices is not None:
            problems.append(
                Problem("type", f"{self.type} needs low and high, not choices", _TYPES)
            )
        # (type: int with choices has no range to check: it failed an assert, not validation)
        kind = self.kind if not problems else None
        if kind in ("float", "int"):
            assert self.low is not None and self.high is not None
            if self.low > self.high:
                problems.append(
                    Problem("low", f"{self.low} is above high ({self.high})", "low < high")
                )
            elif self.low == self.high:  # nothing to search: most likely a typo
                problems.append(
                    Problem(
                        "high",
                        f"equals low ({self.low}): the range is empty, it holds that one value",
                        "high above low; to fix the value, set it in params.yaml and leave "
                        "the key out of tune.space",
                    )
                )
            if self.log and self.low <= 0:
                problems.append(Problem("low", "must be > 0 with log: true", "low > 0"))
            if self.log and self.step is not None:
                problems.append(
                    Problem("step", "cannot be combined with log: true", "null with log: true")
                )
            if kind == "int" and not all(
                isinstance(v, int) for v in (self.low, self.high, self.step or 1)
            ):
                problems.append(
                    Problem(
                        "",
                        "an int dimension needs integer low, high and step",
                        "integer low, high and step, or type: float",
                    )
                )
            elif self.step is not None and not self.log and self.low <= self.high:
                problems += _off_lattice(self.low, self.high, self.step, integer=kind == "int")
        if self.choices is not None and len({json.dumps(c) for c in self.choices}) < len(
            self.choices
        ):
            problems.append(Problem("choices", "lists a value twice", "each value once"))
        raise_problems(problems)
        return self

    @property
    def kind(self) -> str:
        """``float``, ``int`` or ``categorical`` (``type: auto`` resolved)."""
        if self.type != "auto":
            return self.type
        if self.choices is not None:
            return "categorical"
        ints = all(isinstance(v, int) for v in (self.low, self.high)) and (
            self.step is None or isinstance(self.step, int)
        )
        return "int" if ints else "float"

    def extremes(self) -> list[Choice | ListChoice]:
        """The values checked against the schema: both ends of a range as the sampler gives
        them (a float range yields floats even from integer ends), or every choice."""
        if self.choices is not None:
            return list(self.choices)
        cast = int if self.kind == "int" else float
        return [cast(self.low), cast(self.high)]  # type: ignore[arg-type]


def _is_single(value: Any) -> bool:
    """A value a :data:`Choice` holds."""
    return value is None or isinstance(value, str | int | float | bool)


def lattice_size(low: float, high: float, step: float) -> int:
    """How many values ``low + k·step`` (k = 0, 1, ...) are not above ``high``, in exact decimal
    arithmetic on the numbers as written (``0.1 + 2·0.4`` is 0.9, not 0.9000000000000001): the
    rule Optuna's distributions use to tell whether ``high`` is on the lattice."""
    span = Decimal(str(high)) - Decimal(str(low))
    return max(int(span // Decimal(str(step))) + 1, 0)


def lattice_point(low: float, step: float, k: int) -> Decimal:
    """``low + k·step`` in exact decimal arithmetic (see :func:`lattice_size`)."""
    return Decimal(str(low)) + k * Decimal(str(step))


def _off_lattice(low: float, high: float, step: float, *, integer: bool) -> list[Problem]:
    """A problem when ``high`` is not ``low`` plus a whole number of ``step``: Optuna would
    lower it to the last lattice point below (with a warning lost in the stage's output), so
    the range the user wrote would not be the one searched; the two nearest valid highs are
    suggested (only the one above when the one below is ``low``: an empty range)."""
    last = lattice_size(low, high, step) - 1
    below, above = lattice_point(low, step, last), lattice_point(low, step, last + 1)
    if below == Decimal(str(high)):
        return []

    def shown(value: Decimal) -> str:
        return str(int(value)) if integer else repr(float(value))

    first = ", ".join(shown(lattice_point(low, step, k)) for k in range(min(last + 2, 3)))
    # high: low would be an empty range, refused too: then only the next lattice point
    nearest = f"{shown(below)} or {shown(above)}" if last > 0 else shown(above)
    return [
        Problem(
            "high",
            f"{shown(Decimal(str(high)))} is not on the lattice of low and step ({first}, ...): "
            f"the search would stop at {shown(below)}",
            f"low plus a whole number of steps, e.g. high: {nearest}",
        )
    ]


MAX_GRID_POINTS = 100_000
"""Largest grid ``strategy: grid`` accepts: Optuna's ``GridSampler`` lists and shuffles every
combination in every process that opens the study (before each trial), so a grid of millions
of points takes seconds and gigabytes each time, and hundreds of millions exhaust the memory."""


def grid_point_count(dim: SearchDimension, points: int) -> int:
    """How many grid values ``dim`` has with ``grid_points: points``: its choices, the lattice
    points of a stepped range (at most ``points``), the integers of an int range (at most
    ``points``), else ``points`` (one for a range whose ends are equal). The grid itself is
    :func:`gdlab.tuning.space.grid_values`; this count is never below its length."""
    if dim.choices is not None:
        return len(dim.choices)
    if dim.low is None or dim.high is None or dim.low > dim.high:
        return 1
    if dim.step is not None and not dim.log:
        return min(points, lattice_size(dim.low, dim.high, dim.step))
    if dim.kind == "int":
        return min(points, int(dim.high) - int(dim.low) + 1)
    return points


def _default_space() -> dict[str, Any]:
    # plain data (validated as the default): the generated docs print it as JSON
    return {
        "optimizer.learning_rate": {"low": 1e-4, "high": 0.3, "log": True},
        "train.batch_size": {"choices": [32, 64, 128]},
    }


class HeatmapConfig(StrictModel):
    """The classic experiment: cross-validated loss and wall time on a learning rate × batch
    size grid, drawn as a heat map."""

    enabled: bool = Field(True, description="run the grid and draw the heat map")
    learning_rates: list[float] = Field(
        default_factory=lambda: [1e-3, 1e-2, 1e-1, 1.0],
        min_length=1,
        description="learning rates (rows of the map)",
    )
    batch_sizes: list[int | None] = Field(
        default_factory=lambda: [16, 64, 256],
        min_length=1,
        description="batch sizes (columns of the map); null = full batch",
    )

    @model_validator(mode="after")
    def _positive(self) -> HeatmapConfig:
        problems = [
            Problem(f"learning_rates[{i}]", "must be > 0", "finite number > 0")
            for i, v in enumerate(self.learning_rates)
            if v <= 0
        ] + [
            Problem(f"batch_sizes[{i}]", "must be >= 1 or null", "integer >= 1 or null")
            for i, v in enumerate(self.batch_sizes)
            if v is not None and v < 1
        ]
        raise_problems(problems)
        return self


class TuneConfig(Section):
    """Hyper-parameter search (stage tune): space, strategy, budget, pruning, storage."""

    enabled: bool = Field(
        False,
        description="run the search (params.yaml turns it on); false = train uses params.yaml "
        "as it is",
    )
    strategy: Literal["grid", "bayes"] = Field(
        "bayes", description="grid = every combination (Optuna GridSampler); bayes = seeded TPE"
    )
    metric: str = Field(
        "auto",
        description="cross-validation score to optimise; auto = rmse (regression) / log_loss "
        "(classification; refused with model.class_weight in tune.space, which log loss "
        "ranks no weights first by construction: set balanced_accuracy, f1, ...)",
        json_schema_extra={"x-allowed": "auto | " + " | ".join(_ALL_METRICS)},
    )
    n_trials: int | None = Field(
        12,
        ge=1,
        description="trials in the study (a resumed study counts its finished ones); "
        "null = the whole grid / until timeout",
    )
    timeout: float | None = Field(
        None,
        gt=0,
        description="seconds of searching after which no new trial starts. With n_trials "
        "null it is the study's budget, summed over the study's runs (a rerun whose study has "
        "used it runs no trial; a larger timeout continues); with n_trials set it caps each "
        "run (n_trials is the study's budget: a rerun continues until n_trials are counted); "
        "null = no limit",
    )
    n_jobs: int = Field(
        1,
        ge=-1,
        description="trials run in parallel worker processes; -1 = all cores. More than 1 is "
        "not reproducible with bayes (which trials TPE has seen when it proposes the next "
        "depends on timing) nor with a pruner (median, wilcoxon: whether and after which fold "
        "a trial is pruned depends on which other trials finished first); grid with pruner: "
        "none is (the same points and scores, in another order)",
        json_schema_extra={"x-allowed": "-1 or an integer >= 1"},
    )
    seed: int | None = Field(
        None, ge=0, le=2**32 - 1, description="sampler seed; null = the top-level seed"
    )
    n_startup_trials: int = Field(
        4,
        ge=0,
        description="trials before TPE models the space (bayes) and before the pruner prunes: "
        "no trial is pruned until this many trials of the study have completed (pruned and "
        "failed ones do not count)",
    )
    pruner: Literal["median", "wilcoxon", "none"] = Field(
        "median",
        description="stop poor trials from their per-fold scores: median (MedianPruner), "
        "wilcoxon (WilcoxonPruner, p < 0.1 against the best trial's folds: it can prune only "
        "once 4 folds are scored, so it stops trials early only with cv.folds >= 5) or none; never "
        "after the last fold (a trial that has scored every fold completes)",
    )
    grid_points: int = Field(
        4, ge=2, le=100, description="grid: values per low/high range (log-spaced with log)"
    )
    storage: str | None = Field(
        None,
        min_length=1,
        description="Optuna study storage: a journal file path, or an RDB URL "
        "(sqlite:///..., postgresql://...) without a password (PostgreSQL reads it from "
        "PGPASSWORD or ~/.pgpass); null = .optuna/gdlab.journal in the project",
    )
    study_name: str | None = Field(
        None,
        min_length=1,
        description="null = derived from the params, data and code (gdlab's sources the tune "
        "stage depends on, the plug-ins named), so a changed search or changed code starts a new "
        "study and an interrupted one resumes; a name of your own is kept when the params, data or "
        "code change, but a study whose trials searched another tune.space is refused (before "
        "any trial runs, naming the dimensions that differ): choose a new name or delete it",
    )
    center_learning_rate: bool = Field(
        False,
        description="centre the optimizer.learning_rate range on the LR range test's "
        "suggestion (± center_decades)",
    )
    center_decades: float = Field(
        1.0, gt=0, le=6, description="half-width in decades of the centred learning-rate range"
    )
    space: dict[str, SearchDimension] = Field(
        default_factory=_default_space,
        description="dotted parameter path -> {low, high, log, step} or {choices}; optional "
        "type (auto, float, int, categorical) and when: {path: [values]}",
    )
    heatmap: HeatmapConfig = Field(
        default_factory=HeatmapConfig, description=(HeatmapConfig.__doc__ or "").split("\n")[0]
    )

    @field_validator("space", mode="before")
    @classmethod
    def _names_not_split(cls, space: Any) -> Any:
        if isinstance(space, dict):
            raise_problems(
                Problem(
                    str(key),
                    f"is not a parameter path: it holds {', '.join(_split_names(key, value))} "
                    "split at the dots into nested keys (dvc exp run -S reads dots so)",
                    "the dotted parameter path as one key, e.g. "
                    "-S '+tune.space={train.max_epochs: {low: 20, high: 100}}'",
                )
                for key, value in space.items()
                if "." not in str(key) and _split_names(key, value)
            )
        return space

    @field_validator("storage")
    @classmethod
    def _no_credentials(cls, storage: str | None) -> str | None:
        refuse_credentials(
            storage,
            "the URL without credentials; PostgreSQL reads the password from PGPASSWORD or "
            "~/.pgpass in the environment of every process that opens the study",
        )
        return storage

    @model_validator(mode="after")
    def _budget_and_jobs(self) -> TuneConfig:
        problems = []
        if self.n_jobs == 0:
            problems.append(Problem("n_jobs", "must not be 0", "-1 or an integer >= 1"))
        if self.enabled and self.strategy == "bayes" and self.n_trials is None and not self.timeout:
            problems.append(
                Problem("n_trials", "bayes needs n_trials or timeout", "an integer >= 1")
            )
        if self.enabled and not self.space:
            problems.append(Problem("space", "is empty", "at least one dimension"))
        if self.enabled and self.strategy == "grid" and self.space:
            problems += self._grid_too_large()
        raise_problems(problems)
        return self

    def _grid_too_large(self) -> list[Problem]:
        """A problem naming the grid's size per dimension when it exceeds
        :data:`MAX_GRID_POINTS` (Optuna would list every point before the first trial)."""
        counts = {k: grid_point_count(d, self.grid_points) for k, d in self.space.items()}
        total = 1
        for n in counts.values():
            total *= n
        if total <= MAX_GRID_POINTS:
            return []
        sizes = " x ".join(f"{n} ({k})" for k, n in counts.items())
        return [
            Problem(
                "space",
                f"the grid has {total:,} points ({sizes}, grid_points: {self.grid_points}): "
                f"more than a grid search can list ({MAX_GRID_POINTS:,})",
                f"at most {MAX_GRID_POINTS:,} points: a lower grid_points, fewer choices or "
                "dimensions, or strategy: bayes (which samples the ranges)",
            )
        ]

    def seed_for(self, params: Params) -> int:
        """The sampler seed (``tune.seed``, else the top-level ``seed``)."""
        return params.seed if self.seed is None else self.seed

    def resolved_metric(self, task: str) -> str:
        """The metric actually optimised for ``task``."""
        return DEFAULT_METRIC[task] if self.metric == "auto" else self.metric

    def greater_is_better(self, task: str) -> bool:
        """Whether the study maximises its metric."""
        return METRICS[task][self.resolved_metric(task)]

    def cross_checks(self, params: Params) -> list[Problem]:
        task = params.model.task
        problems: list[Problem] = []
        if self.metric != "auto" and self.metric not in METRICS[task]:
            fits = ("auto", *METRICS[task])
            message = (
                f"{self.metric} does not fit task {task}"
                if self.metric in _ALL_METRICS
                else f"unknown metric {self.metric!r}{did_you_mean(self.metric, fits)}"
            )
            problems.append(Problem("tune.metric", message, " | ".join(fits)))
        weights = sorted(k for k in self.space if k == WEIGHTED_TRAINING_KEY
                         or k.startswith(f"{WEIGHTED_TRAINING_KEY}."))
        if self.enabled and weights and task == "classification" and self.metric == "auto":
            problems.append(Problem(
                "tune.metric",
                f"auto (log_loss) with {', '.join(weights)} in tune.space: the search would "
                "pick no class weights by construction, as class weights move the predicted "
                "probabilities away from the class shares that log loss rewards (whatever they "
                "do for the rare classes)",
                f"tune.metric: {WEIGHT_METRICS[0]} (or {', '.join(WEIGHT_METRICS[1:])}), "
                "held-out scores that weigh the rare classes; tune.metric: log_loss to rank "
                "by it knowingly",
            ))
        return problems

    def variant_checks(self, params: Params) -> list[Problem]:
        if not self.enabled:  # off by default: a file without tune is not refused for its space
            return []
        return self.space_problems(params)

    def space_problems(self, params: Params) -> list[Problem]:
        """Every dimension value (range ends, choices) applied to ``params``: what the schema
        refuses, and ``when`` conditions naming no other dimension or impossible values."""
        if not self.space:
            return []
        base = params.model_dump(mode="json", exclude={"tune"})
        base["compare"]["enabled"] = False  # the comparison's values are checked on their own
        space = {k: v.model_dump(mode="json") for k, v in self.space.items()}
        found = _space_problems(json.dumps(base, sort_keys=True), json.dumps(space))
        return [Problem(path, message, allowed) for path, message, allowed, inert in found
                if not inert]

    def space_notes(self, params: Params) -> list[Problem]:
        """The inert problems (:attr:`Problem.inert`) dimension values give, e.g. the
        max_epochs 20 end of a range with step_size 30: accepted (a constant point of the
        search), listed for validate's warnings. Empty when the space has problems."""
        if not self.space:
            return []
        base = params.model_dump(mode="json", exclude={"tune"})
        base["compare"]["enabled"] = False
        space = {k: v.model_dump(mode="json") for k, v in self.space.items()}
        found = _space_problems(json.dumps(base, sort_keys=True), json.dumps(space))
        if any(not inert for *_, inert in found):
            return []
        return [Problem(path, message, allowed, True) for path, message, allowed, _ in found]


def _split_names(key: Any, value: Any) -> list[str]:
    """The dotted names a space entry holds when ``key`` is the first part of dimension names
    split at their dots (``{train: {max_epochs: {low: ...}}}``); [] for a dimension."""
    if not isinstance(value, dict) or not value or set(value) & set(SearchDimension.model_fields):
        return []
    names = []
    for inner, child in value.items():
        deeper = _split_names(inner, child)
        names += [f"{key}.{n}" for n in deeper] or [f"{key}.{inner}"]
    return names


def dimension_order(space: dict[str, Any]) -> tuple[list[str], bool]:
    """Dimension names with the ones they depend on (``when``) first, otherwise in the given
    order; and whether every dependency could be placed (False: a cycle or an unknown name).
    ``space`` maps names to :class:`SearchDimension` or to their dumped dicts."""

    def when(key: str) -> dict[str, Any]:
        dim = space[key]
        return dim["when"] if isinstance(dim, dict) else dim.when

    ordered: list[str] = []
    pending = list(space)
    while pending:
        ready = [k for k in pending if all(d in ordered for d in when(k))]
        if not ready:
            return ordered + pending, False
        ordered += ready
        pending = [k for k in pending if k not in ready]
    return ordered, True


def conditions_met(when: dict[str, list[Any]], chosen: dict[str, Any]) -> bool:
    """True when every dimension named in ``when`` took one of its listed values."""
    return all(name in chosen and chosen[name] in values for name, values in when.items())


@lru_cache(maxsize=64)
def _space_problems(
    base_json: str, space_json: str
) -> tuple[tuple[str, str, str | None, bool], ...]:
    """Check every dimension of a search space against the rest of the params (cached: the
    same params are validated again whenever a trial applies its values): ``(path, message,
    allowed, inert)``, inert for a value accepted although it does nothing there."""
    from gdlab.config.loader import validate_params

    base, space = json.loads(base_json), json.loads(space_json)
    found: list[Problem] = []
    for key, dim in space.items():
        where = f"tune.space.{key}"
        section = key.split(".", 1)[0]
        if section not in TUNABLE_SECTIONS or "." not in key:
            found.append(
                Problem(
                    where,
                    "is not an estimator parameter",
                    "paths under " + ", ".join(f"{s}." for s in TUNABLE_SECTIONS),
                )
            )
            continue
        for name, values in dim["when"].items():
            other = space.get(name)
            if other is None or name == key:
                others = [k for k in space if k != key]
                found.append(
                    Problem(
                        f"{where}.when.{name}",
                        "is not another dimension of tune.space",
                        ", ".join(others) if others else "no other dimension: remove when",
                    )
                )
            elif other["choices"] is not None:
                bad = [v for v in values if v not in other["choices"]]
                if bad:
                    found.append(
                        Problem(
                            f"{where}.when.{name}",
                            f"{bad} not among that dimension's choices",
                            json.dumps(other["choices"]),
                        )
                    )
    if found:
        return tuple((p.path, p.message, p.allowed, False) for p in found)
    order, complete = dimension_order(space)
    if not complete:
        found.append(
            Problem(
                "tune.space",
                "the when conditions form a cycle",
                "conditions on dimensions that do not depend back on this one",
            )
        )
    for key in order:
        dim = SearchDimension.model_validate(space[key])
        seen: set[str] = set()
        for context in _contexts(key, dim, space):
            # one line per problem, naming every value that gives it: a misspelt key is
            # refused for low and for high alike, and is one mistake
            giving: dict[str, list[Choice | ListChoice]] = {}
            idle: dict[str, list[Choice | ListChoice]] = {}  # accepted, but does nothing
            for value in dim.extremes():
                try:
                    variant = _validate_with(base, {**context, key: value}, validate_params)
                except ConfigError as exc:
                    for problem in exc.problems:
                        giving.setdefault(str(problem), []).append(value)
                    continue
                for problem in variant.inert_problems():
                    idle.setdefault(f"{problem.path}: {problem.message}", []).append(value)
            where = "".join(f", {k} = {v!r}" for k, v in context.items())
            for inert, gives in ((False, giving), (True, idle)):
                for problem_text, values in gives.items():
                    shown = ", ".join(repr(v) for v in values[:-1])
                    shown += " and " * (len(values) > 1) + repr(values[-1])
                    plural = len(values) > 1
                    message = (
                        f"the value{'s' if plural else ''} {shown}{where} "
                        f"give{'' if plural else 's'} {problem_text}"
                    )
                    if message not in seen:
                        seen.add(message)
                        found.append(Problem(f"tune.space.{key}", message, None, inert))
    return tuple((p.path, p.message, p.allowed, p.inert) for p in found)


def _contexts(key: str, dim: SearchDimension, space: dict[str, Any]) -> list[dict[str, Any]]:
    """The values of other dimensions a dimension is checked under: every combination its
    ``when`` allows, and for ``optimizer.params.*`` / ``schedule.params.*`` every name the
    search may pick (a new name starts its params from ``{}``, the name of params.yaml keeps
    its params: :func:`~gdlab.config.overrides.apply_overrides`)."""
    import itertools

    options = {name: list(values) for name, values in dim.when.items()}
    for section in ("optimizer", "schedule"):
        name_key = f"{section}.name"
        if key.startswith(f"{section}.params.") and name_key not in options:
            other = space.get(name_key)
            if other is not None and other["choices"] is not None:
                options[name_key] = list(other["choices"])
    combos = itertools.islice(itertools.product(*options.values()), 64)
    return [dict(zip(options, combo, strict=True)) for combo in combos]


def _validate_with(base: dict[str, Any], overrides: dict[str, Any], validate: Any) -> Any:
    """Validate ``base`` (params without ``tune``) with dotted ``overrides`` applied by
    :func:`~gdlab.config.overrides.apply_overrides`, the function
    :func:`gdlab.config.with_overrides` builds a trial with (a name the search keeps keeps
    params.yaml's params; another name starts from ``{}``). ``with_overrides`` itself needs a
    validated ``Params``, which would check this search space again."""
    data = apply_overrides(base, overrides)
    data["tune"] = {"enabled": False, "space": {}}
    return validate(data, "tune.space", variant=True)
