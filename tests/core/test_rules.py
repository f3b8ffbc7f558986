"""The built-in optimisers' and schedules' value rules (gdlab.core.rules): checked when the engine
builds them, at least as strict as torch's own checks, and the only source of the params
schema's bounds (validate refuses exactly what a fit would)."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

from gdlab.config import OPTIMIZER_PARAMS, SCHEDULE_PARAMS
from gdlab.core.optim import OPTIMIZERS, make_optimizer
from gdlab.core.rules import OPTIMIZER_RULES, SCHEDULE_RULES, Number
from gdlab.core.schedules import SCHEDULES, make_schedule
from tests.config.helpers import assert_problem, config_error

# (optimizer, params, text of the error): each was accepted, or failed misleadingly, before
BAD_OPTIMIZER_PARAMS = [
    ("adam", {"eps": -1.0}, "optimizer_params['eps'] must be a finite real number > 0, got -1.0"),
    ("adam", {"weight_decay": -5.0}, "optimizer_params['weight_decay'] must be a finite real "
     "number >= 0, got -5.0"),
    ("sgd", {"momentum": -1.0}, "optimizer_params['momentum'] must be a finite real number >= 0 "
     "and < 1, got -1.0"),
    ("rmsprop", {"alpha": 2.0}, "optimizer_params['alpha'] must be a finite real number >= 0 and "
     "< 1, got 2.0"),
    ("adagrad", {"lr_decay": -1.0}, "optimizer_params['lr_decay'] must be a finite real number "
     ">= 0, got -1.0"),
    ("adam", {"weight_decay": "0.1"}, "optimizer_params['weight_decay'] must be a finite real "
     "number >= 0, got '0.1' (str)"),
    ("adamw", {"weight_decay": True}, "optimizer_params['weight_decay'] must be a finite real "
     "number >= 0, got True (bool)"),
    ("nadam", {"eps": math.nan}, "optimizer_params['eps'] must be a finite real number > 0, "
     "got nan"),
    ("adam", {"amsgrad": "yes"}, "optimizer_params['amsgrad'] must be True or False, got 'yes'"),
    ("adam", {"betas": (0.9, 1.0)}, "optimizer_params['betas'][1] must be a finite real number "
     ">= 0 and < 1, got 1.0"),
    ("adam", {"betas": 0.9}, "optimizer_params['betas'] must be a list of 2 items"),
    ("nesterov", {"momentum": 0.0}, "optimizer_params['momentum'] must be a finite real number "
     "> 0 and < 1, got 0.0"),
    ("sgd", {"nesterov": True}, "optimizer_params['nesterov']: Nesterov momentum needs "
     "momentum > 0 and dampening 0"),
]


@pytest.mark.parametrize(("name", "params", "text"), BAD_OPTIMIZER_PARAMS)
def test_bad_optimizer_values_are_refused_naming_the_key_and_range(name, params, text):
    with pytest.raises(ValueError) as info:
        make_optimizer(name, params)
    assert str(info.value).startswith(f"optimizer {name!r}: ")
    assert text in str(info.value)


# torch.optim's own refusals (its ``if not 0.0 <= eps: raise ValueError``): the engine
# refuses every one of them too
TORCH_REFUSES = [
    ("Adam", "adam", {"eps": -1.0}),
    ("Adam", "adam", {"weight_decay": -5.0}),
    ("Adam", "adam", {"betas": (0.9, 1.0)}),
    ("AdamW", "adamw", {"betas": (-0.1, 0.9)}),
    ("NAdam", "nadam", {"momentum_decay": -1.0}),
    ("SGD", "sgd", {"momentum": -1.0}),
    ("SGD", "sgd", {"weight_decay": -1.0}),
    ("SGD", "sgd", {"nesterov": True}),
    ("RMSprop", "rmsprop", {"alpha": -0.5}),
    ("RMSprop", "rmsprop", {"momentum": -0.5}),
    ("Adagrad", "adagrad", {"lr_decay": -1.0}),
    ("Adagrad", "adagrad", {"initial_accumulator_value": -1.0}),
]


@pytest.mark.parametrize(("torch_name", "name", "params"), TORCH_REFUSES)
def test_every_value_torch_refuses_is_refused(torch_name, name, params):
    with pytest.raises(ValueError, match=f"optimizer_params\\['{next(iter(params))}'\\]"):
        make_optimizer(name, params)


def test_torch_refuses_every_value_of_the_list():
    """The list above is torch's own refusals (checked where torch is installed: a bench-only
    dependency, not CI's; the engine half runs everywhere)."""
    torch = pytest.importorskip("torch")
    weight = torch.zeros(2, requires_grad=True)
    for torch_name, _, params in TORCH_REFUSES:
        with pytest.raises(ValueError):
            getattr(torch.optim, torch_name)([weight], lr=0.1, **params)


def test_good_values_of_other_numeric_types_are_accepted():
    make_optimizer("adam", {"eps": np.float32(1e-6), "betas": [0.5, np.float64(0.9)],
                            "amsgrad": np.bool_(True), "weight_decay": 0})
    make_optimizer("sgd", {"momentum": 0.9, "nesterov": True})


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_parameter_has_a_rule(name):
    assert list(OPTIMIZER_RULES[name]) == list(inspect.signature(OPTIMIZERS[name]).parameters)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_every_schedule_parameter_has_a_rule(name):
    params = list(inspect.signature(SCHEDULES[name]).parameters)[1:]  # after base_lr
    assert list(SCHEDULE_RULES[name]) == params


BAD_SCHEDULE_PARAMS = [
    # was read as the milestones [1, 2]
    ("multistep", {"milestones": "12"}, "schedule_params['milestones'] must be a list of 1 or "
     "more items, each an integer >= 0, got '12' (str)"),
    ("multistep", {"milestones": [3, 7.5]}, "schedule_params['milestones'][1] must be an "
     "integer >= 0, got 7.5"),
    ("cosine", {"T_max": "10"}, "schedule_params['T_max'] must be an integer > 0, got '10'"),
    # failed only when the learning rate was first decayed, at epoch 2
    ("step", {"step_size": 1, "gamma": -1}, "schedule_params['gamma'] must be a finite real "
     "number > 0 and <= 1, got -1 (int)"),
    ("exponential", {"gamma": 1.5}, "schedule_params['gamma'] must be a finite real number > 0 "
     "and <= 1, got 1.5"),
    ("plateau", {"patience": 2.5}, "schedule_params['patience'] must be an integer >= 0"),
    ("invscaling", {"power_t": -1.0}, "schedule_params['power_t'] must be a finite real number "
     ">= 0"),
    ("warmup", {"then": "step", "then_params": {"step_size": 0}},
     "schedule 'warmup': schedule_params['then_params']['step_size'] must be an integer > 0"),
    ("cosine", {}, "schedule 'cosine' needs schedule_params['T_max'] (an integer > 0)"),
    ("step", {"step_size": 3, "gama": 0.5}, "schedule 'step' has no parameter 'gama' in "
     "schedule_params; allowed: step_size, gamma"),
]


@pytest.mark.parametrize(("name", "params", "text"), BAD_SCHEDULE_PARAMS)
def test_bad_schedule_values_are_refused_when_the_schedule_is_built(name, params, text):
    with pytest.raises(ValueError) as info:
        make_schedule(name, 0.1, params)
    assert text in str(info.value)


def test_the_base_learning_rate_is_checked():
    for lr in (0.0, -0.1, math.inf, "0.1"):
        with pytest.raises(ValueError, match="learning_rate must be a finite real number > 0"):
            make_schedule("constant", lr)


def _outside(rule: Number) -> list[float]:
    """Values just outside each bound of ``rule``."""
    out = []
    if rule.ge is not None:
        out.append(rule.ge - 1)
    if rule.gt is not None:
        out.append(rule.gt)
    if rule.le is not None:
        out.append(rule.le + 1)
    if rule.lt is not None:
        out.append(rule.lt)
    return [int(v) if rule.integer else float(v) for v in out]


BOUNDARY_CASES = [
    (owner, name, key, value)
    for owner, table, schema in (("optimizer", OPTIMIZER_RULES, OPTIMIZER_PARAMS),
                                 ("schedule", SCHEDULE_RULES, SCHEDULE_PARAMS))
    for name, rules in table.items()
    for key, rule in rules.items()
    if isinstance(rule, Number) and key in schema[name].model_fields  # plateau's eps: engine only
    for value in _outside(rule)
]


@pytest.mark.parametrize(("owner", "name", "key", "value"), BOUNDARY_CASES)
def test_validate_and_the_engine_refuse_the_same_values(owner, name, key, value):
    # one rule, two readers: a value out of range for the engine is a validate problem too
    err = config_error({f"{owner}.name": name, f"{owner}.params": {key: value}})
    assert_problem(err, f"{owner}.params.{key}")
    with pytest.raises(ValueError, match=f"{owner}_params\\['{key}'\\]"):
        if owner == "optimizer":
            make_optimizer(name, {key: value})
        else:
            make_schedule(name, 0.1, {key: value})
