"""The positive class of a binary classification: the class ``f1``, ``average_precision``,
the precision-recall curve and the ROC curve's label are about (``metrics.positive_label``).

Configured, it is that class (matched by value or by text: ``1`` and ``"1"`` name the class
``1``). Left ``null``:

- ``1`` (``True``) when it is one of the two classes, as scikit-learn's ``pos_label=1``:
  labels 0/1, -1/1 and False/True keep 1 positive whichever is rarer;
- otherwise the less frequent class of the **training** labels (the class a detector is
  built for: 'fraud' of 'fraud'/'legit', 'churned' of 'churned'/'stayed'); a tie: the last
  class in sorted order.

The rule is applied once, to the training split's labels, by every stage that scores (so a
fold, the test split and the registry gate score the same class). More than two classes have
no positive class (F1 and average precision are macro averages over the classes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def match_label(classes: Sequence[Any], configured: Any, key: str) -> Any:
    """The class of ``classes`` that ``configured`` names, by value or by text
    (:class:`ValueError` naming ``key`` and the classes when none does)."""
    for cls in classes:
        if _same(cls, configured):
            return cls
    from gdlab.config.yaml_bools import quote_hint

    raise ValueError(
        f"{key}: {configured!r} is not a class of the target "
        f"(classes: {', '.join(repr(_plain(c)) for c in classes)})"
        f"{quote_hint(configured, map(_plain, classes))}"
    )


def _same(cls: Any, configured: Any) -> bool:
    return bool(_plain(cls) == configured) or str(_plain(cls)) == str(configured)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def default_positive(classes: Sequence[Any], y_train: Any) -> Any:
    """The positive class of two ``classes`` when none is configured: 1 (True) when it is one
    of them, else the less frequent one in ``y_train`` (a tie, or no labels: the last class in
    sorted order)."""
    classes = list(classes)
    for cls in classes:
        plain = _plain(cls)
        if isinstance(plain, (bool, int, float)) and plain == 1:
            return cls
    if y_train is None or len(y_train) == 0:
        return classes[-1]
    labels = np.asarray(y_train)
    counts = [int(np.sum(labels == cls)) for cls in classes]
    if counts[0] == counts[1]:
        return classes[-1]
    return classes[int(np.argmin(counts))]


def positive_class(classes: Sequence[Any] | None, y_train: Any = None,
                   configured: Any = None) -> Any:
    """The positive class (see the module): ``configured`` (``metrics.positive_label``) when
    set, else :func:`default_positive` of the training labels ``y_train``. None for anything
    but two classes."""
    if classes is None or len(classes) != 2:
        return None
    if configured is not None:
        return match_label(list(classes), configured, "metrics.positive_label")
    return default_positive(classes, y_train)


def training_positive(params: Any, y_train: Any) -> Any:
    """:func:`positive_class` of the training labels ``y_train`` (decoded) under ``params``
    (``metrics.positive_label``); None for regression and for more than two classes."""
    if params.model.task != "classification":
        return None
    configured = getattr(getattr(params, "metrics", None), "positive_label", None)
    return positive_class(list(np.unique(np.asarray(y_train))), y_train, configured)


def positive_index(classes: Sequence[Any], positive: Any) -> int:
    """The column of ``predict_proba`` (the index in ``classes``) of ``positive``."""
    for k, cls in enumerate(classes):
        if _same(cls, positive):
            return k
    raise ValueError(f"the positive class {positive!r} is not one of the model's classes "
                     f"({', '.join(repr(_plain(c)) for c in classes)})")


def check_positive_label(configured: Any, meta: dict[str, Any], source: str) -> None:
    """:class:`~gdlab.config.ConfigError` when ``metrics.positive_label`` is set but is none
    of the target's two classes, or the target has more than two (``meta``: what prepare
    found: ``classes``, ``target``), so that a label no stage could score fails in validate."""
    from gdlab.config import ConfigError
    from gdlab.config.errors import Problem

    classes = meta.get("classes")
    if configured is None or meta.get("task") != "classification" or classes is None:
        return
    target = meta.get("target")
    if len(classes) != 2:
        problem = Problem(
            "metrics.positive_label",
            f"{configured!r}: the target {target!r} has {len(classes)} classes, and only two "
            "have a positive class (f1 and average_precision are macro averages over more)",
            "null",
        )
        raise ConfigError([problem], source)
    match_or_refuse(classes, configured, "metrics.positive_label", target, source)


def match_or_refuse(classes: Sequence[Any], configured: Any, key: str, target: Any,
                    source: str) -> Any:
    """:func:`match_label`, or the :class:`~gdlab.config.ConfigError` validate raises for
    ``key`` (``metrics.positive_label``, ``fairness.positive_label``): ``configured`` is not a
    class of the ``target`` column, the classes listed, with the quoting hint of a yes/no
    label YAML read as a boolean."""
    from gdlab.config import ConfigError
    from gdlab.config.errors import Problem
    from gdlab.config.yaml_bools import quote_hint

    try:
        return match_label(classes, configured, key)
    except ValueError:
        plain = [_plain(c) for c in classes]
        problem = Problem(
            key,
            f"{configured!r} is not a class of the target {target!r}"
            f"{quote_hint(configured, plain)}",
            " | ".join([*map(repr, plain), "null"]),
        )
        raise ConfigError([problem], source) from None
