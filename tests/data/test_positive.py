"""The positive class of two (metrics.positive_label): configured, or 1 (True) when it is a
class, else the rarer class of the training labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gdlab.config import ConfigError, load_params, with_overrides
from gdlab.data.positive import (
    check_positive_label,
    default_positive,
    positive_class,
    training_positive,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("classes", "y", "expected"), [
    (["fraud", "legit"], ["legit"] * 9 + ["fraud"], "fraud"),  # the rare one, not the last
    (["churned", "stayed"], ["churned"] * 9 + ["stayed"], "stayed"),
    (["no", "yes"], ["no", "yes"], "yes"),  # a tie: the last in sorted order
    ([0, 1], [1] * 9 + [0], 1),  # label 1, as scikit-learn's pos_label=1, even when common
    ([False, True], [True] * 9 + [False], True),
    ([-1, 1], [1] * 9 + [-1], 1),
    ([2, 5], [5] * 9 + [2], 2),  # no label 1: the rarer
])
def test_default_positive(classes, y, expected):
    got = default_positive(np.asarray(classes), np.asarray(y))
    assert got == expected and type(np.asarray([got]).tolist()[0]) is type(expected)


def test_configured_label_is_matched_by_value_or_text_and_none_for_more_classes():
    assert positive_class(np.array([0, 1]), np.array([1, 1, 0]), "0") == 0
    assert positive_class(["fraud", "legit"], ["legit", "fraud"], "legit") == "legit"
    assert positive_class([0, 1, 2], [0, 1, 2]) is None
    with pytest.raises(ValueError, match=r"metrics.positive_label: 'x' is not a class of the "
                                         r"target \(classes: 'fraud', 'legit'\)"):
        positive_class(["fraud", "legit"], None, "x")


def test_training_positive_reads_the_key_and_ignores_regression():
    params = with_overrides(load_params(REPO / "params.yaml"), {"model.task": "classification"})
    y = np.array(["legit"] * 19 + ["fraud"])
    assert training_positive(params, y) == "fraud"
    chosen = with_overrides(params, {"metrics.positive_label": "legit"})
    assert training_positive(chosen, y) == "legit"
    regression = with_overrides(params, {"model.task": "regression", "model.loss": "auto"})
    assert training_positive(regression, np.arange(5.0)) is None


def test_check_positive_label_names_the_key_and_the_classes():
    meta = {"task": "classification", "classes": ["fraud", "legit"], "target": "label"}
    check_positive_label(None, meta, "params.yaml")
    check_positive_label("fraud", meta, "params.yaml")
    with pytest.raises(ConfigError) as err:
        check_positive_label("Fraud", meta, "params.yaml")
    assert ("metrics.positive_label: 'Fraud' is not a class of the target 'label' "
            "(allowed: 'fraud' | 'legit' | null)") in str(err.value)
    check_positive_label("x", {**meta, "task": "regression", "classes": None}, "params.yaml")
