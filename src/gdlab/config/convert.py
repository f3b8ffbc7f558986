"""Turn a pydantic ``ValidationError`` into :class:`~gdlab.config.errors.Problem` lines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from gdlab.config.describe import (
    describe_allowed,
    describe_type,
    model_schema,
    properties_at,
    resolve_ref,
    schema_at,
)
from gdlab.config.errors import RULES_ERROR, Problem, did_you_mean

_MESSAGE_STARTS = (
    ("Input should be", "must be"),
    ("String should", "must"),
    ("List should", "must"),
    ("Value error, ", ""),
)


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
    errors = exc.errors()
    unions: dict[tuple[str | int, ...], list[dict[str, Any]]] = {}
    for error in errors:
        loc = tuple(error["loc"])
        if _is_union_member(model, loc):
            unions.setdefault(loc[:-1], []).append(error)
    done: set[tuple[str | int, ...]] = set()
    for error in errors:
        loc = tuple(error["loc"])
        path = format_loc(loc)
        if error["type"] == RULES_ERROR:
            problems += [p.under(path) for p in error["ctx"]["problems"]]
        elif error["type"] == "extra_forbidden":
            problems.append(_unknown_key(model, loc))
        elif loc[:-1] in unions and error in unions[loc[:-1]]:
            if loc[:-1] not in done:  # one problem for the value, not one per type it is not
                done.add(loc[:-1])
                problems.append(_union_problem(model, loc[:-1], unions[loc[:-1]]))
        else:
            problems.append(Problem(path, _message(error, model, loc), _allowed(model, loc)))
    return problems


def _is_union_member(model: type[BaseModel], loc: tuple[str | int, ...]) -> bool:
    """Whether ``loc`` ends in the tag pydantic gives one type of a union (``positive_label``
    -> ``positive_label.int``) rather than in a key of the schema."""
    if not loc or not isinstance(loc[-1], str) or schema_at(model, loc) is not None:
        return False
    parent = schema_at(model, loc[:-1])
    return parent is not None and len(parent.get("anyOf", [])) > 1


def _union_problem(
    model: type[BaseModel], loc: tuple[str | int, ...], errors: list[dict[str, Any]]
) -> Problem:
    """A value no type of its union accepts: the error of a type it has but whose rule it
    breaks (NaN for a float), else the types it may have."""
    broken = [e for e in errors if not e["type"].endswith(("_type", "_parsing"))]
    if broken:
        message = _message(broken[0], model, loc)
    else:
        node = schema_at(model, loc)
        types = describe_type(node, model_schema(model))
        article = "an" if types[0] in "aeiou" else "a"
        message = f"must be {article} {types}, got {errors[0]['input']!r}"
    return Problem(format_loc(loc), message, _allowed(model, loc))


def validate_part(
    model: type[BaseModel], data: Any, prefix: str
) -> tuple[BaseModel | None, list[Problem]]:
    """Validate ``data`` against ``model``; problems come prefixed with ``prefix``."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, [p.under(prefix) for p in problems_from(exc, model)]


def normalised_part(
    model: type[BaseModel], data: dict[str, Any], owner: str | None = None
) -> dict[str, Any]:
    """Validate ``data`` against ``model`` (raising every problem) and return the given keys
    with their validated values (a tuple becomes a list; defaults are not added). ``owner``
    (e.g. ``"optimizer adam"``) is named by unknown-key problems: the keys are its own."""
    from gdlab.config.errors import raise_problems

    instance, problems = validate_part(model, data, "")
    if owner:  # (an inner part, e.g. warmup's then_params, has named its own owner)
        problems = [
            Problem(p.path, p.message.replace("unknown key", f"unknown key for {owner}", 1),
                    p.allowed)
            if p.message.startswith("unknown key") and not p.message.startswith("unknown key for")
            else p
            for p in problems
        ]
    raise_problems(problems)
    assert instance is not None
    return instance.model_dump(include=set(data))


def _unknown_key(model: type[BaseModel], loc: tuple[str | int, ...]) -> Problem:
    key = str(loc[-1])
    known = properties_at(model, loc[:-1])
    message = "unknown key" + did_you_mean(key, known)
    return Problem(format_loc(loc), message, ", ".join(known) if known else "no keys here")


def _allowed(model: type[BaseModel], loc: tuple[str | int, ...]) -> str | None:
    return describe_allowed(schema_at(model, loc), model_schema(model))


def _enum_values(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[Any]:
    """The values of the enumeration (``Literal[...]``) at ``loc``, [] when it is none."""
    node = schema_at(model, loc) or {}
    root = model_schema(model)
    options = [resolve_ref(o, root) for o in node.get("anyOf", [])] or [node]
    return [v for o in options for v in o.get("enum", [o["const"]] if "const" in o else [])]


def _message(
    error: dict[str, Any], model: type[BaseModel] | None = None, loc: tuple[str | int, ...] = ()
) -> str:
    msg = _plain_message(error)
    if error["type"] in ("literal_error", "enum") and model is not None:
        msg += did_you_mean(error.get("input"), _enum_values(model, loc))
    return msg


def _plain_message(error: dict[str, Any]) -> str:
    msg = str(error["msg"])
    for old, new in _MESSAGE_STARTS:
        if msg.startswith(old):
            msg = new + msg[len(old) :]
    if error["type"] in ("too_short", "too_long"):  # "... after validation, not 3": got follows
        msg = msg.split(" after validation")[0]
    if error["type"] == "missing":
        return "is required"
    if error["type"] in ("model_type", "dict_type"):
        msg = "must be a mapping of keys to values"
    value = error.get("input")
    if not isinstance(value, dict | BaseModel):
        msg += f", got {value!r}"
    return msg
