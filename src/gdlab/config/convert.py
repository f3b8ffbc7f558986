"""Turn a pydantic ``ValidationError`` into :class:`~gdlab.config.errors.Problem` lines."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from gdlab.config.describe import describe_allowed, model_schema, properties_at, schema_at
from gdlab.config.errors import RULES_ERROR, Problem

_MESSAGE_STARTS = (("Input should be", "must be"), ("Value error, ", ""))


def format_loc(loc: Sequence[str | int]) -> str:
    """``("schedule", "params", "milestones", 1)`` -> ``"schedule.params.milestones[1]"``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def problems_from(exc: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """One problem per pydantic error, paths relative to ``model``."""
    problems: list[Problem] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        path = format_loc(loc)
        if error["type"] == RULES_ERROR:
            problems += [p.under(path) for p in error["ctx"]["problems"]]
        elif error["type"] == "extra_forbidden":
            problems.append(_unknown_key(model, loc))
        else:
            problems.append(Problem(path, _message(error), _allowed(model, loc)))
    return problems


def validate_part(
    model: type[BaseModel], data: Any, prefix: str
) -> tuple[BaseModel | None, list[Problem]]:
    """Validate ``data`` against ``model``; problems come prefixed with ``prefix``."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, [p.under(prefix) for p in problems_from(exc, model)]


def normalised_part(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """Validate ``data`` against ``model`` (raising every problem) and return the given keys
    with their validated values (a tuple becomes a list; defaults are not added)."""
    from gdlab.config.errors import raise_problems

    instance, problems = validate_part(model, data, "")
    raise_problems(problems)
    assert instance is not None
    return instance.model_dump(include=set(data))


def _unknown_key(model: type[BaseModel], loc: tuple[str | int, ...]) -> Problem:
    key = str(loc[-1])
    known = properties_at(model, loc[:-1])
    guess = difflib.get_close_matches(key, known, n=1)
    message = "unknown key" + (f"; did you mean {guess[0]!r}?" if guess else "")
    return Problem(format_loc(loc), message, ", ".join(known) if known else "no keys here")


def _allowed(model: type[BaseModel], loc: tuple[str | int, ...]) -> str | None:
    return describe_allowed(schema_at(model, loc), model_schema(model))


def _message(error: dict[str, Any]) -> str:
    msg = str(error["msg"])
    for old, new in _MESSAGE_STARTS:
        if msg.startswith(old):
            msg = new + msg[len(old) :]
    if error["type"] == "missing":
        return "is required"
    if error["type"] in ("model_type", "dict_type"):
        msg = "must be a mapping of keys to values"
    value = error.get("input")
    if not isinstance(value, dict | BaseModel):
        msg += f", got {value!r}"
    return msg
