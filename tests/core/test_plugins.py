"""A broken plug-in is refused at its first use by the engine (the estimators and the train
stage) with one line naming it ("module:factory"), the key naming it (``schedule.name``,
``model.kind``), what is wrong and what the contract of docs/plugins.md expects; before, it
raised an error naming neither (a TypeError from gdlab's schedule code, a NameError from the
module, a broadcast error from the penalty) or trained silently wrong."""

from __future__ import annotations

import numpy as np
import pytest

from gdlab import GDRegressor
from tests.broken_plugins import MODELS, RATE_FIRST_FACTORIES, SCHEDULES


def _data(dtype=np.float64):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)).astype(dtype)
    return X, (X @ np.array([1.0, -2.0, 0.5]) + 0.3).astype(dtype)


def _refused(**estimator):
    X, y = _data(np.float32 if estimator.get("dtype") == "float32" else np.float64)
    with pytest.raises(ValueError) as caught:
        GDRegressor(max_epochs=3, **estimator).fit(X, y)
    return str(caught.value)


def test_schedule_returning_a_function_without_epoch_is_refused(plugin):
    name = f"{plugin(SCHEDULES)}:no_epoch"
    text = _refused(schedule=name)
    assert f"schedule '{name}' (schedule.name)" in text
    assert "a function that takes no epoch argument" in text
    assert "expected a function epoch -> learning rate" in text


def test_module_raising_at_import_is_named(plugin):
    module = plugin("x = undefined_name + 1\n\ndef factory(base_lr):\n    pass\n")
    text = _refused(schedule=f"{module}:factory")
    assert f"schedule '{module}:factory' (schedule.name)" in text
    assert f"importing module '{module}' raised NameError" in text
    assert "undefined_name" in text
    assert f"{module}.py, line 1" in text


def test_backward_leaving_a_gradient_of_another_shape_is_refused(plugin):
    name = f"{plugin(MODELS)}:flat_gradient"
    text = _refused(model=name)
    assert f"model '{name}' (model.kind)" in text
    assert "backward left grads[0] of shape (3,)" in text
    assert "params[0] of shape (3, 1)" in text


def test_backward_returning_new_gradients_is_refused(plugin):
    name = f"{plugin(MODELS)}:returns_gradients"
    text = _refused(model=name)
    assert f"model '{name}' (model.kind)" in text
    assert "backward returned list instead of writing the gradients into grads" in text


def test_init_params_ignoring_the_dtype_is_refused(plugin):
    name = f"{plugin(MODELS)}:float64_only"
    text = _refused(model=name, dtype="float32")
    assert f"model '{name}' (model.kind)" in text
    assert "init_params returned params[0] of dtype float64 when asked for float32" in text


def test_schedule_factory_taking_the_rate_in_a_parameter_not_named_for_it_is_refused(plugin):
    """rate_second(every=10, base_lr=0.5): the rate binds to every, base_lr keeps 0.5."""
    name = f"{plugin(SCHEDULES)}:rate_second"
    text = _refused(schedule=name)
    assert f"schedule '{name}' (schedule.name)" in text
    assert "first parameter 'every' receives the base learning rate" in text
    assert "its parameter 'base_lr', named like a learning rate, never receives it" in text
    assert "default" not in text  # schedule.params may set it: its default is not known used
    assert "factory(base_lr, **schedule.params)" in text


@pytest.mark.parametrize(("factory", "params"), RATE_FIRST_FACTORIES)
def test_schedule_factory_whose_rate_parameter_has_a_default_trains_at_the_rate(
    plugin, factory, params
):
    """A first parameter with a default receives the rate as the contract says: the fit at
    learning_rate=0.02 (not the factory's default 0.1) is the built-in constant schedule's.
    Before, every factory whose first parameter had a default was refused."""
    X, y = _data()
    common = {"max_epochs": 3, "random_state": 0, "optimizer": "sgd", "tol": None,
              "learning_rate": 0.02}
    mine = GDRegressor(schedule=f"{plugin(SCHEDULES)}:{factory}", schedule_params=params,
                       **common).fit(X, y)
    builtin = GDRegressor(**common).fit(X, y)
    np.testing.assert_allclose(mine.predict(X), builtin.predict(X), rtol=1e-12)


def test_plugins_that_keep_the_contract_train_as_the_builtins(plugin):
    """The checks refuse nothing that keeps the contract: the plug-in linear model with the
    plug-in halving schedule (every=100: constant over 3 epochs) fits as the built-in linear
    model with a constant schedule, in both dtypes."""
    models, schedules = plugin(MODELS), plugin(SCHEDULES)
    for dtype in ("float64", "float32"):
        X, y = _data(np.dtype(dtype))
        common = {"max_epochs": 3, "dtype": dtype, "random_state": 0, "optimizer": "sgd",
                  "tol": None}
        mine = GDRegressor(model=f"{models}:linear", schedule=f"{schedules}:halving",
                           schedule_params={"every": 100}, **common).fit(X, y)
        builtin = GDRegressor(**common).fit(X, y)
        np.testing.assert_allclose(mine.predict(X), builtin.predict(X), rtol=1e-5, atol=1e-5)
