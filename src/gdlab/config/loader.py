"""Read ``params.yaml`` and validate it into :class:`~gdlab.config.schema.Params`.

The YAML reader is PyYAML's safe loader with two fixes: a repeated key is an error (PyYAML
silently keeps the last one), and ``1e-4`` is a float (YAML 1.1 reads it as a string).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gdlab.config.convert import problems_from
from gdlab.config.errors import ConfigError, Problem
from gdlab.config.overrides import apply_overrides
from gdlab.config.plugin_probes import probe_scope
from gdlab.config.schema import VARIANT, Params

_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, reading ``1e-4`` as a float."""


_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def _duplicate_keys(node: yaml.Node, path: str = "") -> list[Problem]:
    """Keys that appear twice in one mapping, anywhere in the document."""
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = f"{path}.{key}" if path else key
            if key in seen:
                line = key_node.start_mark.line + 1
                problems.append(
                    Problem(
                        child,
                        f"appears twice (line {line}); YAML would silently keep the last one",
                        "each key once",
                    )
                )
            seen.add(key)
            problems += _duplicate_keys(value_node, child)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _duplicate_keys(item, f"{path}[{i}]")
    return problems


EXPECTED = (
    "a YAML mapping of sections such as data:, model:, optimizer:, train:, each with its keys "
    "indented below it"
)
"""What a params file holds, for the messages about the file as a whole."""


def _where(mark: yaml.Mark | None, lines: list[str]) -> str:
    """``" at line 3, column 7 ('  name: [adam')"`` for a PyYAML mark, or ``""``."""
    if mark is None:
        return ""
    shown = f" ({lines[mark.line].rstrip()!r})" if mark.line < len(lines) else " (end of file)"
    return f" at line {mark.line + 1}, column {mark.column + 1}{shown}"


def _yaml_problem(exc: yaml.YAMLError, text: str) -> Problem:
    """The parse error with where it is: PyYAML's own text spans several lines, with marks."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Problem("", f"not valid YAML: {exc}", EXPECTED)
    lines = text.splitlines()
    what = exc.problem or exc.context or "syntax error"
    message = f"not valid YAML{_where(exc.problem_mark, lines)}: {what}"
    same = exc.context_mark is not None and exc.problem_mark is not None and (
        (exc.context_mark.line, exc.context_mark.column)
        == (exc.problem_mark.line, exc.problem_mark.column)
    )
    if exc.context and exc.problem and same:
        message += f" ({exc.context})"
    elif exc.context and exc.problem:
        message += f" ({exc.context}{_where(exc.context_mark, lines).replace(' at', ' from', 1)})"
    return Problem("", message, EXPECTED)


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file (ConfigError when missing, unreadable or not valid YAML)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problem = Problem(
            "",
            f"file not found (looked for {path.absolute()})",
            "an existing params file; a relative path is read from the current directory",
        )
        raise ConfigError([problem], str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        problem = Problem(
            "", f"cannot read the file {path.absolute()}: {exc}", f"a UTF-8 text file: {EXPECTED}"
        )
        raise ConfigError([problem], str(path)) from None
    try:
        duplicates = _duplicate_keys(yaml.compose(text, Loader=_Loader))
        if duplicates:
            raise ConfigError(duplicates, str(path))
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(exc, text)], str(path)) from None


_KINDS = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}
"""YAML's words for what a document can be instead of a mapping."""


def validate_params(data: Any, source: str | None = None, *, variant: bool = False) -> Params:
    """Validate a mapping (e.g. parsed YAML) into :class:`Params`, or raise :class:`ConfigError`.

    ``variant``: the mapping is params.yaml with other values applied (a tune.space value, a
    compare value, tuned values): its inert problems (:attr:`Problem.inert`: a value that
    does nothing) are accepted; params.yaml's own are refused."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            [
                Problem(
                    "",
                    f"must be a mapping of sections (e.g. 'data:', 'model:', 'optimizer:' at the "
                    f"start of a line, each with its keys indented below it), got "
                    f"{_KINDS.get(type(data), type(data).__name__)}",
                    "top-level keys " + ", ".join(Params.model_fields),
                )
            ],
            source,
        )
    try:
        with probe_scope():  # a plug-in model probed once for params.yaml and its variants
            return Params.model_validate(dict(data), context={VARIANT: variant})
    except ValidationError as exc:
        raise ConfigError(problems_from(exc, Params), source) from None


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate ``params.yaml``; :class:`ConfigError` lists every problem."""
    return validate_params(read_yaml(path), str(path))


def empty_params_warning(document: Any, path: str | Path = "params.yaml") -> str | None:
    """A warning when the params file at ``path``, parsed as ``document`` (:func:`read_yaml`),
    holds no parameters at all (empty, or only comments): it validates, every value being the
    schema's default, which a truncated or wrong file would do silently too. ``None``
    otherwise."""
    if document is not None:
        return None
    return (
        f"{path} holds no parameters (it is empty or only comments): every value is the "
        "default (the README's parameter table lists them); add sections such as data:, "
        "model:, optimizer: to change them"
    )


def with_overrides(params: Params, overrides: Mapping[str, Any]) -> Params:
    """A new, validated :class:`Params` with dotted keys replaced, e.g.
    ``{"optimizer.learning_rate": 3e-3, "optimizer.name": "sgd"}``.

    Changing ``optimizer.name`` or ``schedule.name`` to another name without giving the whole
    ``params`` mapping starts its params from ``{}`` (the old optimiser's parameters would not
    fit the new one); the same name keeps them (:func:`gdlab.config.overrides.apply_overrides`).
    ``"optimizer.params.momentum"``-style keys are then set on that mapping. The result is a
    variant: values that merely do nothing are accepted (``validate_params(..., variant=True)``).
    """
    data = apply_overrides(params.model_dump(), overrides)
    return validate_params(data, "overrides", variant=True)
