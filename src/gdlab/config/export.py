"""Views of validated parameters for other layers: flat MLflow params, estimator arguments."""

from __future__ import annotations

import json
from typing import Any

from gdlab.config.schema import Params

Scalar = str | int | float | bool | None

PLACEMENT_SECTIONS = ("parallel",)
"""Sections that say where the work runs, not what it computes: left out of the MLflow params
(the train stage records the backend as the tag ``gdlab.parallel``)."""


def resolved_dump(params: Params) -> dict[str, Any]:
    """``params`` as plain data with every ``auto`` and default resolved: the loss, the
    registry metric, and the full optimiser, schedule and plug-in model parameters (a
    plug-in factory's keyword defaults merged under the user's values, as it runs)."""
    data = params.model_dump(mode="json")
    data["model"]["loss"] = params.model.resolved_loss
    data["register"]["metric"] = params.register.resolved_metric(params.model.task)
    optimizer = params.optimizer.resolved_params()
    schedule = params.schedule.resolved_params(params.train.max_epochs)
    data["optimizer"]["params"] = _jsonable(
        _with_plugin_defaults(params.optimizer.name, "optimizer", optimizer)
    )
    schedule = _with_plugin_defaults(params.schedule.name, "schedule", schedule, skip=1)
    if params.schedule.name == "warmup" and isinstance(schedule.get("then_params"), dict):
        then = schedule.get("then", "")
        schedule["then_params"] = _with_plugin_defaults(
            then, "schedule", schedule["then_params"], skip=1
        )
    data["schedule"]["params"] = _jsonable(schedule)
    data["model"]["params"] = _jsonable(
        _with_plugin_defaults(params.model.kind, "model", dict(params.model.params))
    )
    return data


def _with_plugin_defaults(
    name: str, what: str, given: dict[str, Any], skip: int = 0
) -> dict[str, Any]:
    """``given`` over the keyword defaults of the plug-in factory ``name`` (``given`` itself
    for a built-in name, whose defaults the schema already filled in). The plug-in was
    imported when params were validated; a factory that cannot be resolved adds nothing."""
    from gdlab.core.plugins import factory_defaults, is_import_path

    if not is_import_path(name):
        return given
    try:
        defaults = factory_defaults(name, what, skip)
    except ValueError:
        return given
    return {**defaults, **given}


def flatten_params(params: Params, resolved: bool = True) -> dict[str, Scalar]:
    """Dotted keys to scalars, for ``mlflow.log_params``: ``{"optimizer.learning_rate": 0.01}``.

    Lists become JSON text (``"[0.9, 0.999]"``); with ``resolved`` (the default) the values are
    the ones that actually run (see :func:`resolved_dump`), else the values as written.
    """
    data = resolved_dump(params) if resolved else params.model_dump(mode="json")
    data = {k: v for k, v in data.items() if k not in PLACEMENT_SECTIONS}
    flat: dict[str, Scalar] = {}
    _flatten(data, "", flat)
    return flat


def _flatten(value: Any, prefix: str, out: dict[str, Scalar]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list | tuple):
        out[prefix] = json.dumps(list(value))
    else:
        out[prefix] = value


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value))


def estimator_kwargs(params: Params) -> dict[str, Any]:
    """Constructor arguments of ``GDRegressor`` / ``GDClassifier`` (see docs/engine-contract.md).

    Pick the class by ``params.model.task``. ``optimizer_params`` and ``schedule_params`` are
    complete (defaults filled in, cosine ``T_max`` resolved to ``train.max_epochs``).
    Classification adds ``class_weight`` (``model.class_weight``; a mapping's labels are
    the classes of the decoded target the stages fit on).
    """
    model, train, opt = params.model, params.train, params.optimizer
    kwargs: dict[str, Any] = {
        "model": model.kind,
        "loss": model.resolved_loss,
        "epsilon": model.epsilon,
        "optimizer": opt.name,
        "optimizer_params": opt.resolved_params(),
        "learning_rate": opt.learning_rate,
        "schedule": params.schedule.name,
        "schedule_params": params.schedule.resolved_params(train.max_epochs),
        "batch_size": train.batch_size,
        "max_epochs": train.max_epochs,
        "tol": train.tol,
        "n_iter_no_change": train.n_iter_no_change,
        "early_stopping": train.early_stopping,
        "validation_fraction": train.validation_fraction,
        "alpha": model.alpha,
        "l1_ratio": model.l1_ratio,
        "clip_norm": opt.clip_norm,
        "hidden_layer_sizes": tuple(model.hidden_layer_sizes),
        "activation": model.activation,
        "model_params": dict(model.params) or None,
        "shuffle": train.shuffle,
        "random_state": params.seed,
        "dtype": train.dtype,
    }
    if model.task == "classification":
        weights = model.class_weight
        kwargs["class_weight"] = dict(weights) if isinstance(weights, dict) else weights
    return kwargs
