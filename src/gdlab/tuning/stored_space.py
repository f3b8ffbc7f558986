"""Whether a stored study may be reused for the current ``tune.space``: Optuna records in each
trial the distribution every dimension was searched over, and a study whose trials searched
another space would hand train a value the current space excludes (its best trial's) or fail
every new trial (Optuna refuses a categorical dimension whose choices changed).

A study is reused as it is when every stored trial searched exactly the current space: the same
dimensions with the same ranges or choices. A dimension the current space adds (one a finished
trial would have searched, its ``when`` holding) or drops counts as a change too: the stored
trials' scores were reached with a value the search no longer chooses.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial, TrialState

from gdlab.config.sections.tune import conditions_met
from gdlab.tuning.space import Space, from_optuna


class SpaceChanged(ValueError):
    """The stored study's trials were searched over another space (message safe to print)."""


def describe(dist: BaseDistribution | None) -> str:
    """``dist`` as tune.space writes it: ``{low: 0.1, high: 0.3, log: true}``, ``{choices:
    [32, 64]}``; ``not searched`` for None."""
    if dist is None:
        return "not searched"
    if isinstance(dist, CategoricalDistribution):
        return "{choices: [" + ", ".join(str(c) for c in dist.choices) + "]}"
    if isinstance(dist, (FloatDistribution, IntDistribution)):
        text = f"{{low: {dist.low:g}, high: {dist.high:g}"
        if dist.log:
            text += ", log: true"
        if dist.step is not None and not (isinstance(dist, IntDistribution) and dist.step == 1):
            text += f", step: {dist.step:g}"
        return text + "}"
    return repr(dist)


def space_changes(space: Space, trials: Iterable[FrozenTrial]) -> dict[str, list[Any]]:
    """``{dimension: [its distributions in the stored trials that differ from now]}`` (None
    for a dimension a finished trial did not search though the current space would have),
    in order of first appearance; empty when every trial searched the current space."""
    now = space.distributions()
    changes: dict[str, list[Any]] = {}

    def note(key: str, then: BaseDistribution | None) -> None:
        seen = changes.setdefault(key, [])
        if then not in seen:
            seen.append(then)

    for trial in sorted(trials, key=lambda t: t.number):
        for key, then in trial.distributions.items():
            if now.get(key) != then:
                note(key, then)
        if trial.state not in (TrialState.COMPLETE, TrialState.PRUNED):
            continue  # a failed or killed trial may have stopped before asking for each
        chosen: dict[str, Any] = {}
        for key, dim in space.dims.items():
            if not conditions_met(dim.when, chosen):
                continue
            if key not in trial.params:
                note(key, None)
                continue
            chosen[key] = from_optuna(dim, trial.params[key])
    return changes


def stored_trials(storage: optuna.storages.BaseStorage, name: str) -> list[FrozenTrial]:
    """The trials of study ``name`` in ``storage`` (``[]`` when there is no such study), read
    without creating or changing anything."""
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        return []
    return storage.get_all_trials(study_id, deepcopy=False)


def delete_command(storage: str, name: str) -> str:
    """The shell command that deletes study ``name`` from ``storage`` (a resolved
    ``tune.storage``: a journal file path or an RDB URL, shown redacted)."""
    import shlex

    from gdlab.urls import redact_uri

    if "://" in storage:
        where = f"--storage {shlex.quote(redact_uri(storage))}"
    else:
        where = f"--storage {shlex.quote(storage)} --storage-class JournalFileBackend"
    return f"optuna delete-study {where} --study-name {shlex.quote(name)}"


CENTRED = ("centred on the LR range test's suggestion, tune.center_learning_rate: it moves "
           "with the params and data")
"""Said of a differing dimension whose range the search centres (not the one tune.space
writes): a kept study is refused when only a base param or the data changed."""


def check_stored_space(
    storage: optuna.storages.BaseStorage, spec_storage: str, name: str, space: Space, *,
    named: bool, centred: Iterable[str] = (),
) -> None:
    """Raise :class:`SpaceChanged` when study ``name`` exists and its trials were searched
    over another space than ``space``: one line naming each dimension that differs (then and
    now) and what to do (``named``: the name is ``tune.study_name``'s). ``centred``: the
    dimensions whose range is centred on the LR range test's suggestion
    (``tune.center_learning_rate``), which the line says moves with the params and data."""
    trials = stored_trials(storage, name)
    changes = space_changes(space, trials)
    if not changes:
        return
    now = space.distributions()
    parts = []
    for key, thens in changes.items():
        then = " or ".join(describe(d) for d in thens)
        why = f" ({CENTRED})" if key in centred else ""
        parts.append(f"{key} was {then}, is now {describe(now.get(key))}{why}")
    source = " (tune.study_name)" if named else ""
    delete = delete_command(spec_storage, name)
    held = f"{len(trials)} trial{'s' * (len(trials) != 1)}"
    raise SpaceChanged(
        f"study {name}{source} holds {held} searched over another tune.space: "
        f"{'; '.join(parts)}. Its best trial's values may lie outside the space now and "
        f"could not be compared with new trials; set tune.study_name to a new name to "
        f"search this space in a new study, or delete the study to start it over: {delete}"
    )
