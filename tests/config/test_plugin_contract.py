"""validate runs a plug-in schedule and model once, before any stage reads data, and refuses
one that breaks the contract of docs/plugins.md at the key naming it, with the plug-in and
what is expected: before, validate passed it (the model's faults, a schedule factory taking
the rate in the wrong parameter) or named neither (a TypeError from gdlab's schedule code)."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

from gdlab import GDRegressor
from gdlab.config import ConfigError, read_yaml, validate_params
from tests.broken_plugins import MODELS, RATE_FIRST_FACTORIES, SCHEDULES

REPO = Path(__file__).resolve().parents[2]


def _problem(data):
    with pytest.raises(ConfigError) as caught:
        validate_params(data, "params.yaml")
    (problem,) = caught.value.problems
    return problem


def test_schedule_without_epoch_argument_is_refused_at_schedule_name(plugin):
    name = f"{plugin(SCHEDULES)}:no_epoch"
    problem = _problem({"schedule": {"name": name}})
    assert problem.path == "schedule.name"
    assert f"schedule '{name}'" in problem.message
    assert "a function that takes no epoch argument" in problem.message


def test_schedule_module_raising_at_import_names_where(plugin):
    module = plugin("x = undefined_name + 1\n\ndef factory(base_lr):\n    pass\n")
    problem = _problem({"schedule": {"name": f"{module}:factory"}})
    assert problem.path == "schedule.name"
    assert f"schedule '{module}:factory'" in problem.message
    assert "raised NameError" in problem.message
    assert f"{module}.py, line 1" in problem.message


def test_backward_gradient_of_another_shape_is_refused_at_model_kind(plugin):
    name = f"{plugin(MODELS)}:flat_gradient"
    problem = _problem({"model": {"kind": name}})
    assert problem.path == "model.kind"
    assert f"model '{name}'" in problem.message
    assert "backward left grads[0] of shape (3,)" in problem.message


def test_backward_returning_gradients_is_refused_at_model_kind(plugin):
    name = f"{plugin(MODELS)}:returns_gradients"
    problem = _problem({"model": {"kind": name}})
    assert problem.path == "model.kind"
    assert f"model '{name}'" in problem.message
    assert "backward returned list instead of writing the gradients into grads" in (
        problem.message)


def test_init_params_ignoring_train_dtype_is_refused_for_float32_only(plugin):
    name = f"{plugin(MODELS)}:float64_only"
    problem = _problem({"model": {"kind": name}, "train": {"dtype": "float32"}})
    assert problem.path == "model.kind"
    assert "init_params returned params[0] of dtype float64 when asked for float32" in (
        problem.message)
    # a float64 fit gets what it asks for: nothing to refuse
    validate_params({"model": {"kind": name}, "train": {"dtype": "float64"}})


def test_schedule_factory_taking_the_rate_in_the_wrong_parameter_is_refused(plugin):
    name = f"{plugin(SCHEDULES)}:rate_second"
    problem = _problem({"schedule": {"name": name}})
    assert problem.path == "schedule.name"
    assert f"schedule '{name}'" in problem.message
    assert "first parameter 'every' receives the base learning rate" in problem.message
    assert "its parameter 'base_lr', named like a learning rate" in problem.message


@pytest.mark.parametrize(("factory", "params"), RATE_FIRST_FACTORIES)
def test_schedule_factory_whose_rate_parameter_has_a_default_passes(plugin, factory, params):
    """Before, validate refused every factory whose first parameter had a default."""
    name = f"{plugin(SCHEDULES)}:{factory}"
    validated = validate_params({"schedule": {"name": name, "params": params}})
    assert validated.schedule.name == name


def test_plugins_keeping_the_contract_or_needing_their_own_data_pass(plugin):
    models, schedules = plugin(MODELS), plugin(SCHEDULES)
    for kind in ("linear", "fixed_width"):
        params = validate_params({"model": {"kind": f"{models}:{kind}"},
                                  "schedule": {"name": f"{schedules}:halving"},
                                  "train": {"dtype": "float32"}})
        assert params.model.kind == f"{models}:{kind}"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_probe_gives_init_params_the_dtype_object_a_fit_gives(plugin, dtype):
    """validate's probe gave init_params the name ('float32') where a fit gives the numpy
    type (np.float32): a plug-in branching on ``dtype is np.float32`` was probed on another
    path than it trains on."""
    module = plugin(MODELS)
    given = importlib.import_module(module).GIVEN
    validate_params({"model": {"kind": f"{module}:recording"}, "train": {"dtype": dtype}})
    (probed,) = given
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3)).astype(dtype)
    GDRegressor(model=f"{module}:recording", dtype=dtype, max_epochs=1, tol=None).fit(
        X, X.sum(axis=1))
    fitted = given[1]
    assert probed is fitted
    assert probed is getattr(np, dtype)


def test_validate_probes_a_plugin_model_once_for_params_yaml_and_its_variants(plugin):
    """The shipped params.yaml (every compare value and tune choice a variant validated too)
    with a plug-in model: validate ran its probe 23 times, now once."""
    module = plugin(MODELS)
    given = importlib.import_module(module).GIVEN
    data = read_yaml(REPO / "params.yaml")
    assert data["compare"]["enabled"] and data["tune"]["enabled"]  # variants to validate
    data["model"]["kind"] = f"{module}:recording"
    validate_params(data, "params.yaml")
    assert given == [np.float64]


def test_validate_probes_a_plugin_model_once_per_dtype(plugin):
    """A comparison of dtypes probes the plug-in once in each (params.yaml's float64 and the
    compare value float64 share one probe)."""
    module = plugin(MODELS)
    given = importlib.import_module(module).GIVEN
    validate_params({"model": {"kind": f"{module}:recording"},
                     "compare": {"enabled": True, "vary": "train.dtype",
                                 "values": ["float32", "float64"]}})
    assert sorted(given, key=str) == [np.float32, np.float64]
