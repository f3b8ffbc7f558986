"""Schedules and optimiser settings that can never act are refused by validate naming the key;
plateau that the stopping rule always ends first is warned about (gdlab.config.schedule_reach).

The claims are checked against the engine: a refused step/multistep schedule gives the rates of
a constant one over every epoch of the fit, and a warned-about plateau trains bit for bit as
constant when both count the same loss (early_stopping: the validation loss)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler

from gdlab import GDClassifier
from gdlab.config import validate_params
from gdlab.config.schedule_reach import plateau_stopping_warning
from gdlab.core.optim import make_optimizer
from gdlab.core.schedules import make_schedule
from tests.config.helpers import assert_problem, config_error, params_dict


def _rates(name, params, epochs):
    schedule = make_schedule(name, 1.0, params)
    rates = []
    for _ in range(epochs):
        rates.append(schedule.learning_rate)
        schedule.step(None)
    return rates


@pytest.mark.parametrize(("params", "path", "fragment"), [
    ({"schedule.name": "step", "schedule.params": {"step_size": 500}},
     "schedule.params.step_size", "500 is not below train.max_epochs (100)"),
    ({"schedule.name": "step", "schedule.params": {"step_size": 100}},
     "schedule.params.step_size", "use a step_size below 100 or schedule constant"),
    ({"schedule.name": "step", "train.max_epochs": 20},  # the default step_size 30
     "schedule.params.step_size", "30 is not below train.max_epochs (20)"),
    ({"schedule.name": "multistep", "schedule.params": {"milestones": [150, 300]}},
     "schedule.params.milestones", "[150, 300]: every milestone is at or after train.max_epochs"),
    ({"schedule.name": "multistep", "schedule.params": {"milestones": [100]}},
     "schedule.params.milestones", "put milestones below 100"),
    ({"schedule.name": "warmup",
      "schedule.params": {"warmup_epochs": 10, "then": "step", "then_params": {"step_size": 90}}},
     "schedule.params.then_params.step_size",
     "90 is not below the 90 epochs after the warm-up (train.max_epochs 100 - warmup_epochs 10)"),
    ({"schedule.name": "warmup", "schedule.params": {
        "warmup_epochs": 60, "then": "multistep", "then_params": {"milestones": [40, 50]}}},
     "schedule.params.then_params.milestones", "every milestone is at or after the 40 epochs"),
])
def test_a_schedule_that_never_changes_the_rate_is_refused(params, path, fragment):
    assert_problem(config_error(params), path, fragment)


@pytest.mark.parametrize(("name", "params", "epochs"), [
    ("step", {"step_size": 100}, 100),
    ("multistep", {"milestones": [100, 300]}, 100),
])
def test_what_is_refused_is_constant_over_the_fit_in_the_engine(name, params, epochs):
    assert len(set(_rates(name, params, epochs))) == 1
    assert len(set(_rates(name, params, epochs + 1))) == 2  # one epoch more and it acts


@pytest.mark.parametrize("params", [
    {"schedule.name": "step", "schedule.params": {"step_size": 99}},
    {"schedule.name": "multistep", "schedule.params": {"milestones": [50, 300]}},
    {"schedule.name": "multistep", "schedule.params": {"milestones": [99]}},
    {"schedule.name": "warmup",
     "schedule.params": {"warmup_epochs": 10, "then": "step", "then_params": {"step_size": 89}}},
    {"schedule.name": "step"},  # the defaults act within max_epochs 100
    {"schedule.name": "multistep"},
])
def test_a_schedule_that_acts_before_max_epochs_is_accepted(params):
    validate_params(params_dict(params))


@pytest.mark.parametrize("params", [
    {"optimizer.name": "sgd", "optimizer.params": {"dampening": 0.5}},
    {"optimizer.name": "sgd", "optimizer.params": {"momentum": 0.0, "dampening": 1.0}},
    {"optimizer.name": "momentum", "optimizer.params": {"momentum": 0.0, "dampening": 0.5}},
])
def test_dampening_without_momentum_is_refused_in_params_yaml(params):
    err = config_error(params)
    assert_problem(err, "optimizer.params.dampening", "with momentum 0 it does nothing")
    assert "set momentum > 0 (e.g. 0.9)" in str(err)
    # The engine accepts it, as torch.optim.SGD does (it was refused here until a momentum
    # sweep's momentum-0 variant, which keeps the sweep's dampening, failed at fit): the
    # rule is params.yaml's, not the engine's (tests/core/test_torch_parity.py).
    make_optimizer(params["optimizer.name"], params["optimizer.params"])


@pytest.mark.parametrize("params", [
    {"optimizer.name": "sgd", "optimizer.params": {"momentum": 0.9, "dampening": 0.5}},
    {"optimizer.name": "momentum", "optimizer.params": {"dampening": 0.5}},
    {"optimizer.name": "sgd", "optimizer.params": {"momentum": 0.0}},
])
def test_dampening_with_momentum_is_accepted(params):
    validate_params(params_dict(params))


@pytest.mark.parametrize(("params", "warned"), [
    ({"schedule.name": "plateau"}, True),  # patience 10, n_iter_no_change 10
    ({"schedule.name": "plateau", "schedule.params": {"patience": 20}}, True),
    ({"schedule.name": "plateau", "schedule.params": {"patience": 9}}, True),
    ({"schedule.name": "plateau", "schedule.params": {"patience": 8}}, False),
    ({"schedule.name": "plateau", "schedule.params": {"patience": 5}}, False),
    ({"schedule.name": "plateau", "train.tol": None}, False),
    ({"schedule.name": "plateau", "train.n_iter_no_change": 20}, False),
    ({}, False),  # params.yaml's defaults: schedule constant
])
def test_plateau_the_stopping_rule_ends_first_is_warned_about(params, warned):
    warning = plateau_stopping_warning(validate_params(params_dict(params)))
    assert (warning is not None) == warned, warning
    if warned:
        assert warning.startswith("schedule.params.patience (")
        assert "is not below train.n_iter_no_change (" in warning
        assert "Set schedule.params.patience to" in warning
        assert "train.tol: null" in warning


def _fit(X, y, **kwargs):
    return GDClassifier(learning_rate=0.01, batch_size=64, max_epochs=100, tol=1e-4,
                        n_iter_no_change=10, early_stopping=True, random_state=0,
                        **kwargs).fit(X, y)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_warned_plateau_trains_exactly_as_constant(seed):
    """The warning's claim: with patience >= n_iter_no_change - 1 and a loss below
    tol / threshold (log loss, < 1), plateau never lowers a rate the fit uses."""
    X, y = make_classification(n_samples=600, n_features=10, n_informative=5, random_state=seed)
    X = StandardScaler().fit_transform(X)
    constant = _fit(X, y)
    for patience in (9, 10):
        plateau = _fit(X, y, schedule="plateau", schedule_params={"patience": patience})
        assert plateau.n_iter_ == constant.n_iter_
        np.testing.assert_array_equal(plateau.coef_, constant.coef_)
    acting = _fit(X, y, schedule="plateau", schedule_params={"patience": 2})
    assert len(set(acting.history_["learning_rate"])) > 1  # a small patience does act
