"""The champion alias moved by a person, for the registry gate.

register remembers which version it left as champion (the registered-model tag
:data:`LEFT_TAG`). When the alias is on an *older* version at the next register, a person rolled
it back (``set_registered_model_alias``): the version it was moved away from gets the version
tag :data:`ROLLED_BACK_TAG` and register never promotes it again, whatever it scores (the same
model trained again keeps that version, so a rollback is not undone by the next ``dvc
repro``). Moving the alias back onto it by hand lifts the mark. A move to a *newer* version is
no rollback and marks nothing: a person promoting a challenger by hand (as register's
"promote it anyway" advice says), a register of an older gdlab that keeps no tag, or another
host's register deciding at the same time. A deleted alias is no
rollback: the next version registered becomes champion, and the reason says that versions
exist without one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

LEFT_TAG = "gdlab.champion_left_by_register"
"""Registered-model tag: the version register left holding ``champion`` at its last decision."""
ROLLED_BACK_TAG = "gdlab.rolled_back"
"""Version tag on a version a person moved ``champion`` away from (``by hand to v2, noticed by
register on 2026-12-06 03:40 UTC``): register does not promote it again."""

_ABSENT = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _registered_tags(client: MlflowClient, name: str) -> dict[str, str]:
    try:
        return dict(client.get_registered_model(name).tags or {})
    except MlflowException as exc:
        if exc.error_code in _ABSENT:  # a new name
            return {}
        raise


def note_hand_move(client: MlflowClient, name: str, champion: Any | None) -> str | None:
    """Compare ``champion`` (the version holding the alias now, or None) with the one register
    left there (:data:`LEFT_TAG`): when a person moved the alias to an older version, tag the
    version they moved it from :data:`ROLLED_BACK_TAG`; when they moved it back onto a version
    so tagged, remove its tag. Returns the version register left as champion (None: none
    recorded)."""
    left = _registered_tags(client, name).get(LEFT_TAG)
    if champion is None:
        return left
    here = str(champion.version)
    if ROLLED_BACK_TAG in (champion.tags or {}):  # put back by hand: a person wants it
        client.delete_model_version_tag(name, here, ROLLED_BACK_TAG)
    if left is None or left == here or not _older(here, left):
        return left  # no move, or forward: a promotion, not a rollback
    try:
        demoted = client.get_model_version(name, left)
    except MlflowException as exc:  # that version was deleted: nothing to mark
        if exc.error_code in _ABSENT:
            return left
        raise
    if ROLLED_BACK_TAG not in (demoted.tags or {}):
        client.set_model_version_tag(
            name, left, ROLLED_BACK_TAG, f"by hand to v{here}, noticed by register on {_now()}"
        )
    return left


def _older(version: str, than: str) -> bool:
    try:
        return int(version) < int(than)
    except ValueError:  # not numbers (no store writes such versions): no rollback told
        return False


def rolled_back(client: MlflowClient, name: str, version: str) -> str | None:
    """The :data:`ROLLED_BACK_TAG` of ``version`` (how and when it was rolled back), or None."""
    return (client.get_model_version(name, version).tags or {}).get(ROLLED_BACK_TAG)


def not_promoted_again(name: str, version: str, mark: str, reason: str) -> str:
    """The reason of a decision that would have promoted ``version``, rolled back by hand
    (``mark``, its :data:`ROLLED_BACK_TAG`): it stays ``challenger``."""
    return (f"v{version} was rolled back {mark}; not promoted again (to promote it anyway, move "
            f"the alias to it by hand: set_registered_model_alias({name!r}, 'champion', "
            f"'{version}')): {reason}")


def remember_champion(client: MlflowClient, name: str, champion: str | None) -> None:
    """Record ``champion`` (the version holding the alias after register's decision; None: no
    alias) as :data:`LEFT_TAG`, so that the next register can tell a hand move."""
    if champion is not None:
        client.set_registered_model_tag(name, LEFT_TAG, str(champion))
    elif LEFT_TAG in _registered_tags(client, name):
        client.delete_registered_model_tag(name, LEFT_TAG)


def no_champion(client: MlflowClient, name: str, version: str, left: str | None) -> str:
    """The reason ``version`` becomes champion when no version holds the alias: the first
    version of ``name``, or how many others exist without it (none was promoted, a failed
    fairness gate say, or the alias was deleted by hand: register never deletes it; ``left``,
    the version register had left it on, says the latter)."""
    from gdlab.tracking.registry import filter_literal

    others = sorted(
        int(v.version)
        for v in client.search_model_versions(f"name = {filter_literal(name)}")
        if str(v.version) != str(version)
    )
    if not others:
        return "first version: no champion yet"
    listed = f"v{others[0]}" if len(others) == 1 else f"v{others[0]}–v{others[-1]}"
    was = "" if left is None else f"; register had left it on v{left}: deleted by hand"
    return (f"no champion alias though {len(others)} other "
            f"version{'s' if len(others) > 1 else ''} exist{'' if len(others) > 1 else 's'} "
            f"({listed}{was})")
