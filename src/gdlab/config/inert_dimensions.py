"""Search dimensions that cannot change the result: a key that only acts under a setting no
trial that searches it has (``model.activation`` with a linear model, ``model.epsilon`` without
the huber loss, ``train.validation_fraction`` without ``early_stopping``...). Every trial then
scores the same whatever its value, and ``best_params.json`` would name one value as tuned.

Such a sweep may be intentional (a control), so it is accepted, with one warning line per
dimension (validate and tune print them). A dimension acts as soon as one trial that searches
it has the setting: the settings are taken from params.yaml, from the other dimensions of
``tune.space`` that choose them (every value they can take) and from the dimension's own
``when``; each combination is built with the function the trials use
(:func:`gdlab.config.overrides.apply_overrides`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gdlab.config.errors import ConfigError
from gdlab.config.overrides import apply_overrides

if TYPE_CHECKING:
    from gdlab.config.schema import Params

MAX_COMBINATIONS = 64
"""Settings combinations looked at per dimension (beyond: the dimension is assumed to act)."""


@dataclass(frozen=True)
class Reach:
    """Where a key acts: ``needs`` says so in words; ``idle`` gives, for the parameters of one
    trial, the setting that keeps the key from acting (e.g. ``"model.kind: linear"``) or None
    when it acts; ``depends`` are the keys that setting is made of."""

    needs: str
    depends: tuple[str, ...]
    idle: Callable[[Params], str | None]


def _not_mlp(p: Params) -> str | None:
    return None if p.model.kind == "mlp" else f"model.kind: {p.model.kind}"


REACH: dict[str, Reach] = {
    "model.hidden_layer_sizes": Reach("model.kind: mlp", ("model.kind",), _not_mlp),
    "model.activation": Reach("model.kind: mlp", ("model.kind",), _not_mlp),
    "model.epsilon": Reach(
        "the huber loss (model.loss: huber)",
        ("model.loss", "model.task"),
        lambda p: None if p.model.resolved_loss == "huber"
        else f"the {p.model.resolved_loss} loss (model.loss: {p.model.loss})",
    ),
    "train.validation_fraction": Reach(
        "train.early_stopping: true",
        ("train.early_stopping",),
        lambda p: None if p.train.early_stopping else "train.early_stopping: false",
    ),
    "preprocess.scale_target": Reach(
        "model.task: regression",
        ("model.task",),
        lambda p: None if p.model.task == "regression" else f"model.task: {p.model.task}",
    ),
    "model.l1_ratio": Reach(
        "a penalty (model.alpha > 0)",
        ("model.alpha",),
        lambda p: None if p.model.alpha > 0 else f"model.alpha: {p.model.alpha}",
    ),
    "train.n_iter_no_change": Reach(
        "the stopping rule (a train.tol)",
        ("train.tol",),
        lambda p: None if p.train.tol is not None else "train.tol: null",
    ),
}
"""The keys that act only under a setting, by dotted path."""


def _base_value(base: dict[str, Any], path: str) -> Any:
    node: Any = base
    for part in path.split("."):
        node = node[part]
    return node


def _settings(key: str, params: Params, base: dict[str, Any]) -> list[dict[str, Any]]:
    """The values of ``key``'s :attr:`Reach.depends` its trials can have: a searched one takes
    every value of its dimension (and params.yaml's, when its own ``when`` may leave it out),
    restricted to what ``key``'s ``when`` allows; one not searched keeps params.yaml's."""
    space = params.tune.space
    when = space[key].when
    options: dict[str, list[Any]] = {}
    for path in REACH[key].depends:
        other = space.get(path)
        if other is None or path == key:
            continue
        values = other.extremes()
        if other.when:
            values.append(_base_value(base, path))
        if path in when:
            values = [v for v in values if v in when[path]]
        options[path] = values
    combos = itertools.islice(itertools.product(*options.values()), MAX_COMBINATIONS + 1)
    return [dict(zip(options, combo, strict=True)) for combo in combos]


def _trial(base: dict[str, Any], overrides: dict[str, Any]) -> Params | None:
    """The parameters of a trial with these values, or None when they are refused."""
    from gdlab.config.loader import validate_params

    data = apply_overrides(base, overrides)
    data["tune"] = {"enabled": False, "space": {}}
    try:
        return validate_params(data, "tune.space", variant=True)
    except ConfigError:
        return None


def inert_dimension_warnings(params: Params) -> list[str]:
    """One line per ``tune.space`` dimension (when tune.enabled) that no trial searching it
    can act on, naming it, the setting it needs and the one its trials have."""
    if not params.tune.enabled:
        return []
    base = params.model_dump(mode="json", exclude={"tune"})
    base["compare"]["enabled"] = False
    lines = []
    for key, dim in params.tune.space.items():
        reach = REACH.get(key)
        if reach is None:
            continue
        settings = _settings(key, params, base)
        if len(settings) > MAX_COMBINATIONS:
            continue
        found: list[str] = []
        for setting in settings:
            trial = _trial(base, {**setting, key: dim.extremes()[0]})
            idle = None if trial is None else reach.idle(trial)
            if idle is None:
                break
            if idle not in found:
                found.append(idle)
        else:
            lines.append(
                f"tune.space.{key}: cannot change the result: it acts only with {reach.needs}, "
                f"and every trial that searches it has {' or '.join(found)}, so its values "
                f"score alike and best_params.json would report one as tuned (accepted: "
                f"remove it from tune.space, or give its trials {reach.needs})"
            )
    return lines


def inert_compare_warnings(params: Params) -> list[str]:
    """One line when ``compare.vary`` (compare.enabled) is a key that cannot act with
    params.yaml's settings (every variant keeps them): its variants train the same model."""
    key = params.compare.vary
    reach = REACH.get(key)
    if not params.compare.enabled or reach is None:
        return []
    idle = reach.idle(params)
    if idle is None:
        return []
    return [
        f"compare.vary {key}: cannot change the result: it acts only with {reach.needs}, and "
        f"params.yaml has {idle}, so every variant trains the same model and the comparison "
        f"finds no winner (accepted: compare another key, or set {reach.needs})"
    ]
