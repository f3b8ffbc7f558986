"""``model.class_weight``: what a value may be, and which labels of a target it names.

The shape (null, ``balanced`` or a mapping label -> weight > 0) is checked with the schema;
the labels (a searched weight's too) only where the target's classes are known, by the
validate stage (:func:`check_class_weight_labels`). A label is matched as the estimator
matches it (scikit-learn's ``compute_class_weight``, :func:`matched_as`): a class that reads
as an integer is the integer (a numeric target's class ``1`` is the key ``1``, not ``'1'``), any
other class its text (``fraud``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from gdlab.config.errors import ConfigError, Problem, did_you_mean
from gdlab.config.yaml_bools import quote_hint

KEY = "model.class_weight"
ALLOWED = "null | balanced | a mapping {class label: weight > 0}"


def class_weight_problems(value: Any) -> list[Problem]:
    """What is wrong with ``value`` as a ``model.class_weight`` (paths relative to it: ``""``
    for the value, the label for one weight), [] when nothing is."""
    if value is None or value == "balanced":
        return []
    if isinstance(value, str):
        return [Problem("", f"unknown value {value!r}{did_you_mean(value, ['balanced'])}",
                        ALLOWED)]
    if not isinstance(value, Mapping):
        return [Problem("", f"must be null, balanced or a mapping, got {value!r}", ALLOWED)]
    if not value:
        return [Problem("", "an empty mapping weighs every class 1", "null (the same), or "
                        "balanced, or {class label: weight > 0}")]
    problems = []
    for label, weight in value.items():
        if not isinstance(label, str | int):  # (a bool is an int)
            problems.append(Problem(
                str(label), f"the label {label!r} is neither text nor an integer",
                "a class label as the target holds it: 1 for a numeric target, fraud for text",
            ))
        elif isinstance(weight, bool) or not isinstance(weight, numbers.Real):
            problems.append(Problem(str(label), f"the weight must be a number, got {weight!r}",
                                    "a finite number > 0"))
        elif not math.isfinite(weight) or weight <= 0:
            problems.append(Problem(str(label), f"the weight must be finite and > 0, got "
                                    f"{weight!r}", "a finite number > 0 (1 = unweighted)"))
    return problems


def matched_as(label: Any) -> int | str:
    """The key that names class ``label`` in a class_weight mapping, as scikit-learn's
    ``compute_class_weight`` looks it up: the integer when the class reads as one (``1``,
    ``1.0``, ``'1'``, ``True``), else its text."""
    try:
        return int(label)
    except (TypeError, ValueError):
        return str(label)


def named_labels(params: Any) -> list[tuple[str, Any]]:
    """``(path, label)`` of every class a class weight is given for: the labels of a
    ``model.class_weight`` mapping, and of a searched class weight (a ``tune.space``
    dimension ``model.class_weight.<label>``, whose label is text: a dotted key)."""
    named = []
    if isinstance(params.model.class_weight, Mapping):
        named += [(f"{KEY}.{label}", label) for label in params.model.class_weight]
    if params.tune.enabled:
        named += [(f"tune.space.{key}", key.removeprefix(f"{KEY}."))
                  for key in params.tune.space if key.startswith(f"{KEY}.")]
    return named


def check_class_weight_labels(
    params: Any, classes: Sequence[Any] | None, target: str, source: str | None = None
) -> None:
    """:class:`ConfigError` at each class weight (:func:`named_labels`) whose label is not a
    class of the target (``classes``: what prepare found, ``meta["classes"]``); nothing for a
    regression target (``classes`` None)."""
    if classes is None:
        return
    known = {matched_as(c) for c in classes}
    allowed = " | ".join(repr(matched_as(c)) for c in classes)
    problems = []
    for path, label in named_labels(params):
        if label in known:
            continue
        hint = ""
        if isinstance(label, str) and matched_as(label) in known:
            hint = (f"; the class reads as the integer {matched_as(label)}: write it unquoted"
                    if path.startswith(KEY) else "; a dotted key names a class by its text, "
                    "so only model.class_weight's mapping can weigh a numeric class")
        hint = hint or quote_hint(label, classes)
        problems.append(Problem(
            path, f"{label!r} is not a class of the target {target!r}{hint}", allowed
        ))
    if problems:
        raise ConfigError(problems, source)
