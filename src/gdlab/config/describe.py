"""Describe a schema field in words: its type and what values it allows.

Both the README's parameter table and the ``(allowed: ...)`` part of error messages are made
here, from the models' JSON schema, so they cannot disagree with the validation itself.
A field may override the generated text with ``json_schema_extra={"x-allowed": "..."}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from pydantic import BaseModel

Loc = Sequence[str | int]


@cache
def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema (validation mode), cached."""
    return model.model_json_schema()


def resolve_ref(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` (to ``#/$defs/...``) until a concrete schema node."""
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = {**root["$defs"][name], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def schema_at(model: type[BaseModel], loc: Loc) -> dict[str, Any] | None:
    """The schema node of the key at ``loc`` inside ``model`` (None when not in the schema)."""
    root = model_schema(model)
    node: dict[str, Any] | None = root
    for part in loc:
        node = _child(resolve_ref(node, root), part, root)
        if node is None:
            return None
    return resolve_ref(node, root)


def _child(node: dict[str, Any], part: str | int, root: dict[str, Any]) -> dict[str, Any] | None:
    if isinstance(part, int) and "items" in node:
        return node["items"]
    if part in node.get("properties", {}):
        return node["properties"][part]
    values = node.get("additionalProperties")  # a mapping of names to models (tune.space)
    if isinstance(values, dict) and values:
        return values
    for option in node.get("anyOf", []):
        found = _child(resolve_ref(option, root), part, root)
        if found is not None:
            return found
    return None


def properties_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The key names allowed in the mapping at ``loc``."""
    node = schema_at(model, loc)
    return list(node.get("properties", {})) if node else []


def _non_null(node: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    options = node.get("anyOf")
    if not options:
        return node, False
    rest = [o for o in options if o.get("type") != "null"]
    nullable = len(rest) < len(options)
    if len(rest) == 1:
        merged = {**{k: v for k, v in node.items() if k != "anyOf"}, **rest[0]}
        return merged, nullable
    return {"anyOf": rest, **{k: v for k, v in node.items() if k != "anyOf"}}, nullable


def describe_type(node: dict[str, Any] | None, root: dict[str, Any] | None = None) -> str:
    """``float``, ``integer``, ``list of integer``, ``string or null``..."""
    if not node:
        return "any"
    node = resolve_ref(node, root or {})
    inner, nullable = _non_null(node)
    if "anyOf" in inner:  # several types: "string, integer, boolean or null"
        names = [describe_type(option, root) for option in inner["anyOf"]]
        return one_of([*dict.fromkeys(names), *(["null"] if nullable else [])])
    kind = inner.get("type")
    if "enum" in inner or "const" in inner:
        text = "string"
    elif kind == "number":
        text = "float"
    elif kind == "array":
        text = f"list of {describe_type(inner.get('items', {}), root)}"
    elif kind == "object":
        text = "mapping"
    elif kind in ("integer", "boolean", "string"):
        text = kind
    else:
        text = "any"
    return f"{text} or null" if nullable else text


def one_of(names: Sequence[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b or c"``."""
    return names[-1] if len(names) < 2 else f"{', '.join(names[:-1])} or {names[-1]}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


def describe_allowed(node: dict[str, Any] | None, root: dict[str, Any] | None = None) -> str | None:
    """The values the schema node accepts, in words (None when anything of its type goes)."""
    if not node:
        return None
    node = resolve_ref(node, root or {})
    if "x-allowed" in node:
        return node["x-allowed"]
    inner, nullable = _non_null(node)
    text = _allowed_inner(inner, root)
    if nullable and "anyOf" in inner and not text:
        return describe_type(node, root)  # "string, integer, boolean or null"
    if nullable:
        text = f"{text} or null" if text else "null or any " + describe_type(inner, root)
    return text


def _allowed_inner(node: dict[str, Any], root: dict[str, Any] | None) -> str | None:
    if "x-allowed" in node:
        return node["x-allowed"]
    if "enum" in node:
        return " | ".join(str(v) for v in node["enum"])
    if "const" in node:
        return str(node["const"])
    kind = node.get("type")
    if kind in ("number", "integer"):
        return _range(node, "integer" if kind == "integer" else "finite number")
    if kind == "boolean":
        return "true | false"
    if kind == "string":
        return "non-empty string" if node.get("minLength") else None
    if kind == "array":
        parts = []
        item = describe_allowed(node.get("items"), root)
        if item:
            parts.append(f"each {item}")
        lo, hi = node.get("minItems"), node.get("maxItems")
        if lo is not None and lo == hi:
            parts.append(f"exactly {lo} items")
        elif lo:
            parts.append(f"at least {lo} item{'s' if lo > 1 else ''}")
        return "; ".join(parts) or None
    return None


def _range(node: dict[str, Any], kind: str) -> str:
    low = high = ""
    if "exclusiveMinimum" in node:
        low = f"> {_number(node['exclusiveMinimum'])}"
    elif "minimum" in node:
        low = f">= {_number(node['minimum'])}"
    if "exclusiveMaximum" in node:
        high = f"< {_number(node['exclusiveMaximum'])}"
    elif "maximum" in node:
        high = f"<= {_number(node['maximum'])}"
    bounds = " and ".join(b for b in (low, high) if b)
    return f"{kind} {bounds}" if bounds else kind
