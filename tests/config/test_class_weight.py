"""``model.class_weight``: the values the schema takes and refuses (each refusal naming the
key), and the labels of a target it names, matched as scikit-learn's compute_class_weight
matches them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from gdlab.config import ConfigError, flatten_params, validate_params
from gdlab.config.class_weight import check_class_weight_labels, matched_as
from tests.config.helpers import params_dict


def _problems(overrides: dict) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        validate_params(params_dict(overrides))
    return [str(p) for p in exc.value.problems]


@pytest.mark.parametrize(("value", "path", "said"), [
    ("balance", "model.class_weight", "unknown value 'balance'; did you mean 'balanced'?"),
    ("auto", "model.class_weight", "unknown value 'auto'"),
    (3, "model.class_weight", "must be null, balanced or a mapping, got 3"),
    ([1, 2], "model.class_weight", "must be null, balanced or a mapping"),
    ({}, "model.class_weight", "an empty mapping weighs every class 1"),
    ({"fraud": 0}, "model.class_weight.fraud", "must be finite and > 0, got 0"),
    ({"fraud": -2.0}, "model.class_weight.fraud", "must be finite and > 0, got -2.0"),
    ({"fraud": math.inf}, "model.class_weight.fraud", "must be finite and > 0, got inf"),
    ({"fraud": math.nan}, "model.class_weight.fraud", "must be finite and > 0, got nan"),
    ({"fraud": True}, "model.class_weight.fraud", "must be a number, got True"),
    ({"fraud": "20"}, "model.class_weight.fraud", "must be a number, got '20'"),
    ({1.5: 2.0}, "model.class_weight.1.5", "the label 1.5 is neither text nor an integer"),
])
def test_a_bad_class_weight_is_refused_naming_the_key(value, path, said):
    problems = _problems({"model.class_weight": value})
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}: ") and said in problems[0], problems[0]


@pytest.mark.parametrize("value", ["balanced", {"fraud": 20.0}, {1: 5.0}])
def test_regression_refuses_class_weight_naming_the_key(value):
    problems = _problems({"model.task": "regression", "model.class_weight": value})
    assert problems == [f"model.class_weight: {value!r} weighs classes, but task regression has "
                        "none (allowed: null (or model.task: classification))"]


@pytest.mark.parametrize("value", [None, "balanced", {"fraud": 20}, {1: 5, 0: 0.5},
                                   {True: 2.0}])
def test_class_weight_values_accepted_and_logged(value):
    params = validate_params(params_dict({"model.class_weight": value}))
    assert params.model.class_weight == value
    flat = flatten_params(params)
    if isinstance(value, dict):
        assert {k: v for k, v in flat.items() if k.startswith("model.class_weight.")} == {
            f"model.class_weight.{str(k).lower()}": float(v) for k, v in value.items()}
    else:
        assert flat["model.class_weight"] == value


def test_class_weight_is_a_tune_and_compare_dimension():
    tuned = validate_params(params_dict({
        "tune.enabled": True, "tune.space": {"model.class_weight": {"choices": [None, "balanced"]}},
        "tune.metric": "balanced_accuracy",
    }))
    assert tuned.tune.space["model.class_weight"].choices == [None, "balanced"]
    with pytest.raises(ConfigError, match=r"tune.space.model.class_weight: the value 'bal' "
                       r"gives model.class_weight: unknown value 'bal'"):
        validate_params(params_dict({"tune.enabled": True, "tune.metric": "f1", "tune.space": {
            "model.class_weight": {"choices": [None, "bal"]}}}))
    compared = {"compare.enabled": True, "compare.vary": "model.class_weight",
                "compare.values": [None, "balanced"]}
    for metric in ("balanced_accuracy", "f1", "average_precision", "roc_auc"):
        validate_params(params_dict({**compared, "compare.rank_by": "val_metric",
                                     "compare.metric": metric}))
    # each variant's training loss is a differently weighted mean: not comparable
    problems = _problems({**compared, "compare.rank_by": "train_loss"})
    assert problems[0].startswith("compare.vary: model.class_weight with compare.rank_by: "
                                  "train_loss: the variants' losses would be in different units")
    assert "compare.metric: balanced_accuracy" in problems[0]
    problems = _problems({**compared, "compare.rank_by": "val_metric", "compare.target_loss": 0.3,
                          "compare.metric": "f1"})
    assert problems[0].startswith("compare.target_loss: 0.3 with compare.vary: "
                                  "model.class_weight")


@pytest.mark.parametrize(("ranking", "said"), [
    ({"compare.rank_by": "val_loss"}, "compare.rank_by: val_loss"),
    ({"compare.rank_by": "val_metric"}, "compare.rank_by: val_metric with compare.metric: auto"),
    ({"compare.rank_by": "val_loss", "compare.metric": "balanced_accuracy",
      "compare.vary": "model.class_weight.fraud", "compare.values": [1, 10],
      "model.class_weight": {"fraud": 5}},
     "compare.rank_by: val_loss"),
])
def test_class_weights_ranked_by_held_out_log_loss_are_refused(ranking, said):
    """compare.vary: model.class_weight over [null, balanced] ranked by the held-out log loss
    declared 'winner class_weight=null' while balanced accuracy rose 0.50 -> 0.57: weights move
    the probabilities away from the class shares log loss rewards, so no weights win it by
    construction. Refused, as model.loss ranked by loss is, naming what ranks them instead."""
    problems = _problems({"compare.enabled": True, "compare.vary": "model.class_weight",
                          "compare.values": [None, "balanced"], **ranking})
    assert problems == [
        f"compare.rank_by: {ranking.get('compare.vary', 'model.class_weight')} with {said} "
        "ranks the variants by their held-out log loss, which the unweighted variant wins by "
        "construction: class weights move the predicted probabilities away from the class "
        "shares that log loss rewards (whatever they do for the rare classes) (allowed: "
        "compare.rank_by: val_metric with compare.metric: balanced_accuracy (or f1, "
        "average_precision, roc_auc), held-out scores that weigh the rare classes, or another "
        "compare.vary)"]


def test_class_weights_ranked_by_log_loss_set_by_hand_are_allowed():
    """compare.metric: log_loss, set by hand, ranks the weights by their calibrated
    probabilities knowingly: allowed (auto's log loss is refused above)."""
    params = validate_params(params_dict({
        "compare.enabled": True, "compare.vary": "model.class_weight",
        "compare.values": [None, "balanced"], "compare.rank_by": "val_metric",
        "compare.metric": "log_loss"}))
    assert params.compare.resolved_metric("classification") == "log_loss"


def test_compare_metric_must_fit_the_task():
    problems = _problems({"compare.enabled": True, "compare.metric": "rmse"})
    assert problems == ["compare.metric: rmse does not fit task classification (allowed: auto | "
                        "log_loss | accuracy | f1 | roc_auc | average_precision | "
                        "balanced_accuracy)"]


# the classes prepare finds (meta["classes"]) -> labels a mapping may name / may not
TARGETS = [
    (["fraud", "ok"], ["fraud", "ok"], ["Fraud", "1", 0]),
    ([0, 1], [0, 1, True, False], ["1", "0", 2, "yes"]),
    ([1.0, 2.0], [1, 2], ["1.0", 3]),
    ([False, True], [False, True, 0, 1], ["true", "True"]),
]


@pytest.mark.parametrize(("classes", "named", "unnamed"), TARGETS)
def test_labels_are_matched_as_compute_class_weight_matches_them(classes, named, unnamed):
    """Validate accepts exactly the labels scikit-learn weighs: each accepted label gives its
    class the weight, a refused one gives no class a weight (compute_class_weight raises)."""
    y = np.asarray(classes)
    for label in named:
        params = validate_params(params_dict({"model.class_weight": {label: 7.0}}))
        check_class_weight_labels(params, classes, "y")
        weights = compute_class_weight({label: 7.0}, classes=y, y=y)
        assert sorted(weights.tolist()) == [1.0] * (len(classes) - 1) + [7.0]
    for label in unnamed:
        params = validate_params(params_dict({"model.class_weight": {label: 7.0}}))
        with pytest.raises(ConfigError) as exc:
            check_class_weight_labels(params, classes, "y")
        (problem,) = exc.value.problems
        assert problem.path == f"model.class_weight.{label}"
        assert problem.message.startswith(f"{label!r} is not a class of the target 'y'")
        assert problem.allowed == " | ".join(repr(matched_as(c)) for c in classes)
        with pytest.raises(ValueError, match="are not in class_weight"):
            compute_class_weight({label: 7.0}, classes=y, y=y)


def test_a_quoted_numeric_label_is_told_to_be_unquoted():
    params = validate_params(params_dict({"model.class_weight": {"1": 20.0}}))
    with pytest.raises(ConfigError, match=r"model.class_weight.1: '1' is not a class of the "
                       r"target 'is_fraud'; the class reads as the integer 1: write it unquoted "
                       r"\(allowed: 0 \| 1\)"):
        check_class_weight_labels(params, [0, 1], "is_fraud", "params.yaml")


def test_a_searched_class_weight_names_a_class_too():
    params = validate_params(params_dict({"tune.enabled": True, "tune.metric": "f1", "tune.space": {
        "model.class_weight.frod": {"low": 1.0, "high": 50.0, "log": True}}}))
    with pytest.raises(ConfigError, match=r"tune.space.model.class_weight.frod: 'frod' is not a "
                       r"class of the target 'label' \(allowed: 'fraud' \| 'ok'\)"):
        check_class_weight_labels(params, ["fraud", "ok"], "label")
    check_class_weight_labels(params, ["frod", "ok"], "label")


def test_no_labels_to_check_without_a_mapping_or_classes():
    for value in (None, "balanced"):
        check_class_weight_labels(validate_params(params_dict({"model.class_weight": value})),
                                  ["a", "b"], "y")
    check_class_weight_labels(validate_params(params_dict({"model.class_weight": {"z": 2}})),
                              None, "y")


@pytest.mark.parametrize("key", ["model.class_weight", "model.class_weight.fraud"])
def test_class_weights_searched_by_the_default_log_loss_are_refused(key):
    """tune.space with model.class_weight under tune.metric: auto (log_loss) picks no weights
    by construction (as compare's ranking did, above): refused naming the metrics that weigh
    the rare classes; log_loss set by hand is allowed."""
    dimension = ({"choices": [None, "balanced"]} if key == "model.class_weight" else
                 {"low": 1.0, "high": 50.0, "log": True})
    problems = _problems({"tune.enabled": True, "tune.space": {key: dimension}})
    assert problems == [
        f"tune.metric: auto (log_loss) with {key} in tune.space: the search would pick no class "
        "weights by construction, as class weights move the predicted probabilities away from "
        "the class shares that log loss rewards (whatever they do for the rare classes) "
        "(allowed: tune.metric: balanced_accuracy (or f1, average_precision, roc_auc), held-out "
        "scores that weigh the rare classes; tune.metric: log_loss to rank by it knowingly)"]
    validate_params(params_dict({"tune.enabled": True, "tune.metric": "log_loss",
                                 "tune.space": {key: dimension}}))
