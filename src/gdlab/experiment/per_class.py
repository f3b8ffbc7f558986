"""Per-class recall of a classifier on a labelled split, and the classes it never recalls there.

Accuracy and a macro F1 can look fine while a rare class is never recalled (its recall 0):
either no row is predicted as it, or the rows predicted as it are all of other classes (a fraud
model flagging 2 legitimate rows and none of the 12 frauds). :func:`class_recalls` names such
classes so evaluation can report them. A row is predicted as its most probable class, as
:func:`gdlab.experiment.metrics.score` scores it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gdlab.experiment.metrics import predicted_labels, predictions


@dataclass(frozen=True)
class ClassRecall:
    """Each class with rows in the split, in the model's ``classes_`` order: its rows
    (``support``), the rows predicted as it (``predicted``) and its recall."""

    support: dict[Any, int]
    predicted: dict[Any, int]
    recall: dict[Any, float]

    @property
    def never_predicted(self) -> list[Any]:
        """Classes with rows in the split that no row is predicted as (recall 0)."""
        return [label for label, n in self.predicted.items() if n == 0]

    @property
    def never_recalled(self) -> list[Any]:
        """Classes with rows in the split none of which is predicted as it (recall 0): the
        :attr:`never_predicted` ones and those predicted only for other classes' rows."""
        return [label for label, r in self.recall.items() if r == 0]

    def document(self) -> dict[str, Any]:
        """``per_class`` (``{label: {"recall", "support", "predicted"}}``, labels as text: JSON
        keys), ``never_predicted`` and ``never_recalled`` (the labels as they are), for
        ``reports/metrics.json``."""
        return {
            "per_class": {
                str(label): {
                    "recall": self.recall[label],
                    "support": self.support[label],
                    "predicted": self.predicted[label],
                }
                for label in self.support
            },
            "never_predicted": self.never_predicted,
            "never_recalled": self.never_recalled,
        }


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def class_recalls(
    model: Any, X: Any, y: Any, *, predicted: np.ndarray | None = None
) -> ClassRecall:
    """The per-class recall of ``model`` (a fitted classifier with ``classes_`` and
    ``predict_proba``) on ``(X, y)``; ``predicted``: its ``predict_proba`` on ``X`` when
    already made. Classes without rows in ``y`` are left out (their recall is undefined)."""
    y = np.asarray(y)
    proba = predictions(model, X, "classification") if predicted is None else predicted
    pred = predicted_labels(model, proba)
    support, made, recall = {}, {}, {}
    for label in np.asarray(model.classes_):
        rows = y == label
        if not rows.any():
            continue
        key = _plain(label)
        support[key] = int(rows.sum())
        made[key] = int((pred == label).sum())
        recall[key] = float((pred[rows] == label).mean())
    return ClassRecall(support, made, recall)
