"""``metrics:`` — how the classification metrics are read: which class is the positive one.

The positive class is what ``f1`` and ``average_precision`` score for two classes, the class of
the precision-recall figure and the positive side of the ROC curve
(:mod:`gdlab.data.positive` resolves it). It is not ``fairness.positive_label``: that is
the *favourable* outcome of a decision (a loan granted), while this is the class a detector is
built to find (the rare 'fraud' of 'fraud'/'legit', whose favourable outcome is 'legit').
"""

from __future__ import annotations

from pydantic import Field

from gdlab.config.base import Section


class MetricsConfig(Section):
    """The positive class of a binary classification's metrics."""

    positive_label: str | int | bool | None = Field(
        None,
        description="two classes: the class f1, average_precision and the precision-recall "
        "figure score; null = 1 (True) when it is a class, else the rarer class of the "
        "training labels (a tie: the last in sorted order); not fairness.positive_label (the "
        "favourable outcome)",
    )
