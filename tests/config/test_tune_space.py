"""tune.space is checked with the parameters each trial would train with: the values of a
dimension are applied to params.yaml by the same function (gdlab.config.overrides) as
with_overrides applies a trial's values, so validate accepts exactly the searches whose trials
build."""

from __future__ import annotations

import itertools

import pytest

from gdlab.config import ConfigError, validate_params, with_overrides
from gdlab.config.overrides import apply_overrides
from tests.config.helpers import assert_problem, params_dict

_SGD_NESTEROV_SEARCH = {
    # params.yaml's sgd has momentum 0.9: a trial keeping sgd keeps it, so nesterov works
    "optimizer.name": "sgd",
    "optimizer.params": {"momentum": 0.9},
    "tune.enabled": True,
    "tune.space": {
        "optimizer.name": {"choices": ["sgd", "adam"]},
        "optimizer.params.nesterov": {"choices": [True, False],
                                      "when": {"optimizer.name": ["sgd"]}},
    },
}

_MOMENTUM_TO_ZERO_UNDER_NESTEROV = {
    # params.yaml's nesterov: true is kept by a trial keeping sgd: momentum 0.0 breaks it
    "optimizer.name": "sgd",
    "optimizer.params": {"momentum": 0.9, "nesterov": True},
    "tune.enabled": True,
    "tune.strategy": "grid",
    "tune.grid_points": 2,
    "tune.space": {
        "optimizer.learning_rate": {"choices": [0.01]},
        "optimizer.name": {"choices": ["sgd", "adam"]},
        "optimizer.params.momentum": {"low": 0.0, "high": 0.9,
                                      "when": {"optimizer.name": ["sgd"]}},
    },
}


def _trial_builds(params, values) -> bool:
    """Whether a trial with these values gets its parameters (what the objective does)."""
    try:
        with_overrides(params, {**values, "tune.enabled": False})
    except ConfigError:
        return False
    return True


def test_a_searched_name_that_keeps_params_yaml_s_name_keeps_its_params():
    params = validate_params(params_dict(_SGD_NESTEROV_SEARCH))  # refused before: momentum 0.0
    for nesterov in (True, False):
        assert _trial_builds(params, {"optimizer.name": "sgd",
                                      "optimizer.params.nesterov": nesterov})
    assert _trial_builds(params, {"optimizer.name": "adam"})
    trial = with_overrides(params, {"optimizer.name": "sgd", "optimizer.params.nesterov": True,
                                    "tune.enabled": False})
    assert trial.optimizer.params == {"momentum": 0.9, "nesterov": True}


def test_a_search_whose_trial_would_fail_is_refused_naming_the_dimension_and_the_value():
    data = params_dict(_MOMENTUM_TO_ZERO_UNDER_NESTEROV)
    with pytest.raises(ConfigError) as info:  # accepted before; trial 2 failed in tune
        validate_params(data)
    assert_problem(info.value, "tune.space.optimizer.params.momentum",
                   "the value 0.0, optimizer.name = 'sgd' gives optimizer.params.nesterov: "
                   "Nesterov momentum needs momentum > 0")
    # the trial it names does fail
    data["tune"]["enabled"] = False
    params = validate_params(data)
    assert not _trial_builds(params, {"optimizer.learning_rate": 0.01, "optimizer.name": "sgd",
                                      "optimizer.params.momentum": 0.0})


@pytest.mark.parametrize(("base_name", "optimizer_params"), [
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.5, "nesterov": True}),
    ("sgd", {"momentum": 0.5, "dampening": 0.5}),
    ("momentum", {}),
    ("momentum", {"dampening": 0.5}),
    ("adam", {"betas": [0.8, 0.99]}),
])
def test_validate_accepts_a_conditional_search_exactly_when_every_trial_builds(
    base_name, optimizer_params
):
    """Every (name, momentum) trial of the search against validate's verdict on it."""
    names, momenta = ["sgd", "momentum", "adam"], [0.0, 0.9]
    search = {
        "optimizer.name": base_name,
        "optimizer.params": optimizer_params,
        "tune.enabled": True,
        "tune.space": {
            "optimizer.name": {"choices": names},
            "optimizer.params.momentum": {"low": momenta[0], "high": momenta[1],
                                          "when": {"optimizer.name": ["sgd", "momentum"]}},
        },
    }
    data = params_dict(search)
    data["tune"]["enabled"] = False
    params = validate_params(data)
    trials = [{"optimizer.name": n} for n in names if n == "adam"] + [
        {"optimizer.name": n, "optimizer.params.momentum": m}
        for n, m in itertools.product(["sgd", "momentum"], momenta)
    ]
    every_trial_builds = all(_trial_builds(params, t) for t in trials)
    try:
        validate_params(params_dict(search))
        accepted = True
    except ConfigError:
        accepted = False
    assert accepted == every_trial_builds


def test_overrides_keep_the_params_of_a_kept_name_and_reset_those_of_a_new_one():
    data = params_dict({"optimizer.name": "sgd", "optimizer.params": {"momentum": 0.9},
                        "schedule.name": "step", "schedule.params": {"step_size": 5}})
    kept = apply_overrides(data, {"optimizer.name": "sgd", "schedule.name": "step",
                                  "optimizer.params.nesterov": True})
    assert kept["optimizer"]["params"] == {"momentum": 0.9, "nesterov": True}
    assert kept["schedule"]["params"] == {"step_size": 5}
    new = apply_overrides(data, {"optimizer.name": "adam", "schedule.name": "cosine"})
    assert new["optimizer"]["params"] == {} and new["schedule"]["params"] == {}
    given = apply_overrides(data, {"optimizer.name": "adam", "optimizer.params": {"eps": 1e-7}})
    assert given["optimizer"]["params"] == {"eps": 1e-7}
    assert data["optimizer"]["params"] == {"momentum": 0.9}  # the input is not changed
