"""Read tuned values (``reports/tuning/best_params.json``) to apply on top of params.yaml.

The file holds dotted parameter paths, either flat (``{"optimizer.learning_rate": 0.003}``) or
under a ``"params"`` key (``{"params": {...}, "score": ...}``). Apply them with
``gdlab.config.with_overrides`` so a tuned value is held to the same rules as params.yaml;
:func:`trained_params` does both, giving the parameters the model was trained with, and
:func:`trained_values` says what they were for ``reports/trained.json`` (``dvc exp show``'s
params columns are params.yaml's, whatever tune replaced).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gdlab.config import ConfigError, Params, flatten_params, load_params, with_overrides
from gdlab.config.export import Scalar

NOT_SET = object()  # the "params.yaml's value" of a tuned key the file does not set


def load_overrides(path: str | Path) -> dict[str, Any]:
    """Dotted-path overrides from ``path``; ``{}`` when the file does not exist."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}: not valid JSON ({exc}); the tune stage writes it: run it again "
            "(`dvc repro -f -s tune`)"
        ) from None
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a JSON object of dotted parameter paths")
    overrides = document.get("params", document)
    if not isinstance(overrides, dict):
        raise ValueError(f"{path}: 'params' must be a JSON object")
    return dict(overrides)


def trained_params(
    params_path: str | Path, tuned_path: str | Path
) -> tuple[Params, dict[str, tuple[Any, Any]]]:
    """params.yaml with the tuned values of ``tuned_path`` applied (when the file exists): the
    parameters the train stage trains with; also ``{key: (params.yaml's value, tuned value)}``
    for every tuned key (empty without tuning; :data:`NOT_SET` for a key params.yaml leaves
    out, such as a searched ``optimizer.params.momentum``)."""
    tuned = load_overrides(tuned_path)
    params = load_params(params_path)
    if not tuned:
        return params, {}
    written = flatten_params(params, resolved=False)
    try:
        trained = with_overrides(params, tuned)
    except ConfigError as exc:  # a hand-edited value: name the file, not "overrides"
        raise ConfigError(exc.problems, str(tuned_path)) from None
    return trained, {k: (written.get(k, NOT_SET), v) for k, v in tuned.items()}


TRAINED_KEYS = ("optimizer.", "schedule.", "train.batch_size")
"""The parameters ``reports/trained.json``'s ``trained`` always holds (a key, or a section's
prefix): the optimiser with its resolved params, the schedule with its params, the batch size;
the keys tune searched join them."""

SHORT_KEYS = {
    "optimizer.name": "optimizer",
    "optimizer.learning_rate": "lr",
    "train.batch_size": "batch",
    "schedule.name": "schedule",
}
"""The names ``trained`` gives the four values ``make exps`` always shows, first and in this
order: ``dvc exp show`` lays its columns out side by side, and with params.yaml's paths
(``trained.optimizer.learning_rate``, ...) they no longer fitted a 200-column terminal beside
the CV means. Every other key is params.yaml's path (``make exps`` leaves those columns to
``make exps-spread``: with the optimiser's params, which differ between optimisers, it was
450 characters wide)."""


def trained_values(params: Params, tuned: Mapping[str, Any] = ()) -> dict[str, Scalar]:
    """``{"optimizer": "momentum", "lr": 0.0037, "batch": 32, "schedule": "constant", ...,
    "optimizer.params.momentum": 0.9}``: the values ``params`` (params.yaml with the tuned
    values applied) trains with, for :data:`TRAINED_KEYS` and every key of ``tuned``, resolved
    (the optimiser's and schedule's defaults filled in), named as :data:`SHORT_KEYS` says or
    by their params.yaml path, in that order. Numbers, booleans and short strings only, as DVC
    shows metrics: a key whose value is ``null`` (full batch, no clipping) is left out, a list
    is its JSON text (``"[0.9, 0.999]"``)."""
    flat = flatten_params(params)
    wanted = [k for k in flat if (k.startswith(TRAINED_KEYS) or k in tuned)
              and flat[k] is not None]
    first = [k for k in SHORT_KEYS if k in wanted]  # the columns make exps keeps, first
    return {SHORT_KEYS.get(k, k): flat[k] for k in first + [k for k in wanted if k not in first]}


def _written(old: Any) -> str:
    """params.yaml's value as the file spells it, or that the file does not set the key."""
    if old is NOT_SET:
        return " (not set in params.yaml)"
    return f" (params.yaml: {'null' if old is None else repr(old)})"


def _shown(value: Any) -> str:
    """A tuned value for the terminal: floats to 4 significant digits (best_params.json and
    the MLflow run keep them whole), anything else as Python spells it."""
    return f"{value:.4g}" if isinstance(value, float) else repr(value)


def describe_tuned(replaced: dict[str, tuple[Any, Any]]) -> str:
    """One line saying which params.yaml values the tuned ones replace; a tuned value equal to
    params.yaml's is said to be so, not listed as replacing it."""
    changed = [(k, old, new) for k, (old, new) in replaced.items() if old != new]
    same = [k for k, (old, new) in replaced.items() if old == new]
    shown = ", ".join(f"{key}={_shown(new)}{_written(old)}" for key, old, new in changed)
    line = "tuned values replace params.yaml's (tune.enabled: false keeps them): "
    line += shown or "none differs"
    if same:
        line += f"; tuned to params.yaml's own value: {', '.join(same)}"
    return line
