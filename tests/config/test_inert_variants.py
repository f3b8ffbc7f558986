"""Values that do nothing (a step/multistep schedule that never fires, dampening without
momentum) are refused in params.yaml itself but accepted as a point of a sweep: a tune.space
range end or a compare value that gives one validates, and validate's warnings name it
(gdlab.config.variant_notes)."""

from __future__ import annotations

import pytest

from gdlab.config import validate_params, with_overrides
from gdlab.config.variant_notes import inert_variant_warnings
from tests.config.helpers import assert_problem, config_error, params_dict

_LR = {"low": 1e-4, "high": 0.3, "log": True}

SWEEPS = {
    "tune max_epochs 20..100 under step's default step_size 30": {
        "schedule.name": "step",
        "tune.enabled": True,
        "tune.space": {"optimizer.learning_rate": _LR,
                       "train.max_epochs": {"low": 20, "high": 100, "step": 20}},
    },
    "tune momentum 0..0.95 and dampening 0..0.5 with sgd": {
        "optimizer.name": "sgd",
        "tune.enabled": True,
        "tune.space": {"optimizer.params.momentum": {"low": 0.0, "high": 0.95},
                       "optimizer.params.dampening": {"low": 0.0, "high": 0.5}},
    },
    "compare momentum [0, 0.5, 0.9] with dampening 0.5": {
        "optimizer.name": "sgd",
        "optimizer.params": {"momentum": 0.9, "dampening": 0.5},
        "compare.enabled": True,
        "compare.vary": "optimizer.params.momentum",
        "compare.values": [0.0, 0.5, 0.9],
    },
    "compare max_epochs [20, 50, 100] under step's default step_size 30": {
        "schedule.name": "step",
        "compare.enabled": True,
        "compare.vary": "train.max_epochs",
        "compare.values": [20, 50, 100],
    },
}

WARNED = {
    "tune max_epochs 20..100 under step's default step_size 30": (
        "tune.space.train.max_epochs: the value 20 gives schedule.params.step_size: 30 is "
        "not below train.max_epochs (20)"),
    "tune momentum 0..0.95 and dampening 0..0.5 with sgd": (
        "tune.space.optimizer.params.dampening: the value 0.5 gives "
        "optimizer.params.dampening: dampening only scales the momentum buffer"),
    "compare momentum [0, 0.5, 0.9] with dampening 0.5": (
        "compare.values[0]: optimizer.params.momentum = 0.0 gives optimizer.params.dampening"),
    "compare max_epochs [20, 50, 100] under step's default step_size 30": (
        "compare.values[0]: train.max_epochs = 20 gives schedule.params.step_size: 30 is not "
        "below train.max_epochs (20)"),
}


@pytest.mark.parametrize("name", list(SWEEPS))
def test_a_sweep_whose_point_does_nothing_validates_and_is_named(name):
    params = validate_params(params_dict(SWEEPS[name]))
    warnings = inert_variant_warnings(params)
    assert any(w.startswith(WARNED[name]) for w in warnings), warnings
    assert all("accepted: a point of the sweep" in w for w in warnings)


def test_the_variants_themselves_build():
    """The params a trial or a compare variant trains with validate too (with_overrides)."""
    base = validate_params(params_dict({"schedule.name": "step", "optimizer.name": "sgd"}))
    variant = with_overrides(base, {"train.max_epochs": 20,
                                    "optimizer.params.dampening": 0.5})
    assert variant.train.max_epochs == 20
    assert variant.optimizer.params["dampening"] == 0.5


@pytest.mark.parametrize(("params", "path", "fragment"), [
    ({"schedule.name": "step", "schedule.params": {"step_size": 500}},
     "schedule.params.step_size", "500 is not below train.max_epochs (100)"),
    ({"optimizer.name": "sgd", "optimizer.params": {"dampening": 0.5}},
     "optimizer.params.dampening", "with momentum 0 it does nothing"),
    ({"schedule.name": "step", "train.max_epochs": 20, **{
        k: v for k, v in SWEEPS["compare max_epochs [20, 50, 100] under step's default "
                                "step_size 30"].items() if k.startswith("compare")}},
     "schedule.params.step_size", "30 is not below train.max_epochs (20)"),
])
def test_params_yaml_own_inert_values_are_still_refused(params, path, fragment):
    assert_problem(config_error(params), path, fragment)


def test_a_warmup_past_max_epochs_stays_refused_in_a_sweep():
    """A warm-up training never leaves is broken, not inert: refused for a range end too."""
    err = config_error({
        "schedule.name": "warmup", "schedule.params": {"warmup_epochs": 30, "then": "constant"},
        "tune.enabled": True,
        "tune.space": {"train.max_epochs": {"low": 20, "high": 100, "step": 20}},
    })
    assert_problem(err, "tune.space.train.max_epochs", "warmup_epochs: 30 is not below")


def test_params_yaml_without_inert_variants_has_no_such_warning():
    assert inert_variant_warnings(validate_params(params_dict({}))) == []
