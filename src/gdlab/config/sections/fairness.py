"""``fairness:`` and ``model_card:`` — the group fairness check, its registration gate, and what
the model card says about intended use.

The check runs in the evaluate stage when the data has a sensitive column (``data.sensitive``,
or ``data.synthetic.sensitive_group`` for synthetic data). A threshold that is exceeded keeps
the new model from becoming ``champion``; the reason goes to ``reports/registry.json`` and MLflow.
Thresholds of the other task, or without a sensitive column, do not apply (the report and the
model card then say that fairness was not measured): switching ``data.source`` or
``model.task`` needs no change here.
"""

from __future__ import annotations

from pydantic import Field

from gdlab.config.base import Section

CLASSIFICATION_GATES = ("max_demographic_parity_difference", "max_equalized_odds_difference")
REGRESSION_GATES = ("max_error_difference",)


class FairnessConfig(Section):
    """Group fairness of the test predictions (fairlearn) and its gate on promotion."""

    positive_label: str | int | bool | None = Field(
        None,
        description="classification: the class counted as the favourable outcome for selection "
        "rate, TPR and FPR; null = with two classes the last in sorted order (1 for 0/1 "
        "labels), with more every class against the rest, the gate judging the worst class "
        "with fairness.min_group_size rows",
    )
    max_demographic_parity_difference: float | None = Field(
        None,
        ge=0,
        le=1,
        description="gate: largest allowed difference in selection rate between groups; "
        "null = not gated",
    )
    max_equalized_odds_difference: float | None = Field(
        None,
        ge=0,
        le=1,
        description="gate: largest allowed difference in TPR or FPR between groups; "
        "null = not gated",
    )
    max_error_difference: float | None = Field(
        None,
        ge=0,
        description="regression gate: largest allowed difference in mean absolute error "
        "between groups (target units); null = not gated",
    )
    min_group_size: int = Field(
        30,
        ge=1,
        description="groups with fewer test rows are flagged in the model card as too small "
        "to trust their metrics; so are a class's TPR and FPR when a group has fewer test rows "
        "of it or of the other classes (named in the gate's message; with several classes and "
        "no positive_label the gate does not judge that class, unless no class has enough: "
        "then it judges every class, on gaps that may be noise)",
    )

    def thresholds(self, task: str) -> dict[str, float]:
        """The gates configured for ``task``: ``{"equalized_odds_difference": 0.1, ...}``."""
        names = CLASSIFICATION_GATES if task == "classification" else REGRESSION_GATES
        return {
            name.removeprefix("max_"): float(getattr(self, name))
            for name in names
            if getattr(self, name) is not None
        }


class ModelCardConfig(Section):
    """What the model card (reports/model_card.md) says beyond what the run measured."""

    owner: str = Field("gdlab", min_length=1, description="who answers for the model")
    intended_use: str = Field(
        "Prototyping: comparing gradient-descent optimisers, schedules and settings on this "
        "data set, by people who read the metrics below.",
        min_length=1,
        description="what the model is for (the card's Intended Use section)",
    )
    out_of_scope_use: str = Field(
        "Decisions about individual people (credit, hiring, health, policing) and use on data "
        "that does not look like the training data.",
        min_length=1,
        description="uses the model is not fit for",
    )
    ethical_considerations: str = Field(
        "", description="extra text for the Ethical Considerations section"
    )
    caveats: str = Field("", description="extra text for the Caveats and Recommendations section")
