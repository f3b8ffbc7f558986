"""A tune.space dimension that no trial searching it can act on (model.activation with a
linear model, ...) is accepted with one warning line naming it and why; one that some trial
acts on (another dimension picks an mlp, the loss is huber, ...) is not warned about. The
warned sweeps are checked against the estimator: every value fits the same model."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from gdlab.config import validate_params, with_overrides
from gdlab.config.inert_dimensions import inert_dimension_warnings
from gdlab.experiment.model import build_pipeline
from tests.config.helpers import params_dict

_SMALL = {"train.max_epochs": 3, "train.batch_size": 16}

INERT = {
    # name: (params.yaml changes, dimension, its values, setting its trials have)
    "activation, linear model": (
        {}, "model.activation", ["relu", "tanh", "logistic"], "model.kind: linear"),
    "README's hidden_layer_sizes, linear model": (
        {}, "model.hidden_layer_sizes", [[32], [64, 64]], "model.kind: linear"),
    "validation_fraction without early_stopping": (
        {}, "train.validation_fraction", [0.1, 0.3], "train.early_stopping: false"),
    "epsilon, squared_error loss": (
        {"model.task": "regression"}, "model.epsilon", [0.5, 2.0],
        "the squared_error loss (model.loss: auto)"),
    "scale_target, classification": (
        {}, "preprocess.scale_target", [True, False], "model.task: classification"),
    "l1_ratio without a penalty": (
        {"model.alpha": 0.0}, "model.l1_ratio", [0.0, 1.0], "model.alpha: 0.0"),
}

ACTIVE = {
    # the same dimensions where some trial acts on them
    "activation, model.kind searched with mlp": (
        {}, "model.activation", ["relu", "tanh", "logistic"],
        {"model.kind": {"choices": ["linear", "mlp"]}}),
    "activation, mlp model": (
        {"model.kind": "mlp"}, "model.activation", ["relu", "tanh", "logistic"], {}),
    "hidden_layer_sizes, mlp model": (
        {"model.kind": "mlp"}, "model.hidden_layer_sizes", [[32], [64, 64]], {}),
    "validation_fraction with early_stopping": (
        {"train.early_stopping": True, "train.tol": 1e-4}, "train.validation_fraction",
        [0.1, 0.3], {}),
    "epsilon, huber loss": (
        {"model.task": "regression", "model.loss": "huber"}, "model.epsilon", [0.5, 2.0], {}),
    "epsilon, model.loss searched with huber": (
        {"model.task": "regression"}, "model.epsilon", [0.5, 2.0],
        {"model.loss": {"choices": ["squared_error", "huber"]}}),
    "scale_target, regression": (
        {"model.task": "regression"}, "preprocess.scale_target", [True, False], {}),
    "l1_ratio, model.alpha searched above 0": (
        {"model.alpha": 0.0}, "model.l1_ratio", [0.0, 1.0],
        {"model.alpha": {"choices": [0.0, 0.1]}}),
}


def _search(changes, key, values, others=None, when=None):
    dimension = {"choices": values} if not isinstance(values[0], float) else {
        "low": values[0], "high": values[-1]}
    if when:
        dimension["when"] = when
    return validate_params(params_dict({
        **changes, "tune.enabled": True, "tune.strategy": "grid",
        "tune.space": {key: dimension, **(others or {})},
    }))


@pytest.mark.parametrize("name", list(INERT))
def test_a_dimension_no_trial_acts_on_is_warned_about_in_one_line(name):
    changes, key, values, setting = INERT[name]
    warnings = inert_dimension_warnings(_search(changes, key, values))  # validates: accepted
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"tune.space.{key}: cannot change the result: ")
    assert f"every trial that searches it has {setting}," in warnings[0]


@pytest.mark.parametrize("name", list(ACTIVE))
def test_a_dimension_some_trial_acts_on_is_not_warned_about(name):
    changes, key, values, others = ACTIVE[name]
    assert inert_dimension_warnings(_search(changes, key, values, others)) == []


def test_a_when_that_searches_it_only_under_the_idle_setting_makes_it_inert():
    """activation searched only when model.kind picks linear acts in no trial."""
    params = _search({}, "model.activation", ["relu", "tanh"],
                     {"model.kind": {"choices": ["linear", "mlp"]}},
                     when={"model.kind": ["linear"]})
    (warning,) = inert_dimension_warnings(params)
    assert warning.startswith("tune.space.model.activation: ")
    params = _search({}, "model.activation", ["relu", "tanh"],
                     {"model.kind": {"choices": ["linear", "mlp"]}},
                     when={"model.kind": ["mlp"]})
    assert inert_dimension_warnings(params) == []


def test_no_warning_when_tuning_is_off_or_for_the_shipped_search():
    off = validate_params(params_dict({"tune.space": {"model.activation": {
        "choices": ["relu", "tanh"]}}}))
    assert inert_dimension_warnings(off) == []
    shipped = validate_params(params_dict({"tune.enabled": True}))
    assert inert_dimension_warnings(shipped) == []


def _predictions(params, key, value) -> np.ndarray:
    """The predictions of the model a trial with ``key: value`` fits (3 epochs)."""
    trial = with_overrides(params, {key: value, "tune.enabled": False, **_SMALL})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 3 epochs on purpose
        if trial.model.task == "classification":
            X, y = make_classification(n_samples=120, n_features=5, random_state=0)
            return build_pipeline(trial).fit(X, y).predict_proba(X)
        X, y = make_regression(n_samples=120, n_features=5, noise=20.0, random_state=0)
        return build_pipeline(trial).fit(X, y * 50 + 300).predict(X)


@pytest.mark.parametrize("name", list(INERT))
def test_every_value_of_a_warned_dimension_fits_the_same_model(name):
    changes, key, values, _ = INERT[name]
    params = _search(changes, key, values)
    first, *rest = (_predictions(params, key, v) for v in values)
    for other in rest:
        np.testing.assert_array_equal(other, first)


@pytest.mark.parametrize("name", [n for n in ACTIVE if not ACTIVE[n][3]])
def test_the_values_of_a_dimension_that_acts_fit_different_models(name):
    changes, key, values, _ = ACTIVE[name]
    params = _search(changes, key, values)
    first, *rest = (_predictions(params, key, v) for v in values)
    assert any(not np.allclose(other, first) for other in rest)


def test_a_compared_key_that_cannot_act_is_warned_about_and_its_variants_fit_alike():
    """compare.vary model.activation with the linear model: every variant trained the same
    model and the comparison found no winner, without a word (the same gap as tune.space's)."""
    from gdlab.config.inert_dimensions import inert_compare_warnings

    values = ["relu", "tanh", "logistic"]
    compare = {"compare.enabled": True, "compare.vary": "model.activation",
               "compare.values": values}
    linear = validate_params(params_dict(compare))
    (line,) = inert_compare_warnings(linear)
    assert line.startswith("compare.vary model.activation: cannot change the result: it acts "
                           "only with model.kind: mlp, and params.yaml has model.kind: linear")
    first, *rest = (_predictions(linear, "model.activation", v) for v in values)
    for other in rest:
        np.testing.assert_array_equal(other, first)
    assert inert_compare_warnings(validate_params(params_dict(
        {**compare, "model.kind": "mlp"}))) == []
    assert inert_compare_warnings(validate_params(params_dict(
        {**compare, "compare.enabled": False}))) == []
    assert inert_compare_warnings(validate_params(params_dict({"compare.enabled": True}))) == []
