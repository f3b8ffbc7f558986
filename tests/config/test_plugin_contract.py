"""validate runs a plug-in schedule and model once, before any stage reads data, and refuses
one that breaks the contract of docs/plugins.md at the key naming it, with the plug-in and
what is expected: before, validate passed it (the model's faults, a schedule factory taking
the rate in the wrong parameter) or named neither (a TypeError from gdlab's schedule code)."""

from __future__ import annotations

import sys
import textwrap
import uuid

import pytest

from gdlab.config import ConfigError, validate_params

MODELS = '''
import numpy as np


class Linear:
    def init_params(self, n_features, n_outputs, rng, dtype):
        return [np.zeros((n_features, n_outputs), dtype), np.zeros(n_outputs, dtype)]

    def forward(self, params, X):
        w, b = params
        return X @ w + b, X

    def backward(self, params, cache, dZ, grads):
        grads[0][...] = cache.T @ dZ
        grads[1][...] = dZ.sum(axis=0)

    def penalized(self, params):
        return [True, False]


class FlatGradient(Linear):
    def backward(self, params, cache, dZ, grads):
        grads[0] = (cache.T @ dZ).ravel()
        grads[1][...] = dZ.sum(axis=0)


class ReturnsGradients(Linear):
    def backward(self, params, cache, dZ, grads):
        return [cache.T @ dZ, dZ.sum(axis=0)]


class Float64Only(Linear):
    def init_params(self, n_features, n_outputs, rng, dtype):
        return [np.zeros((n_features, n_outputs)), np.zeros(n_outputs)]


class FixedWidth(Linear):
    """Needs exactly 7 features: the made-up problem cannot run it, training will."""

    def init_params(self, n_features, n_outputs, rng, dtype):
        if n_features != 7:
            raise ValueError("fixed_width needs 7 features")
        return super().init_params(n_features, n_outputs, rng, dtype)


def linear():
    return Linear()


def flat_gradient():
    return FlatGradient()


def returns_gradients():
    return ReturnsGradients()


def float64_only():
    return Float64Only()


def fixed_width():
    return FixedWidth()
'''

SCHEDULES = '''
from functools import partial


def _fixed_rate():
    return 0.1


def _halving(base_lr, every, epoch):
    return base_lr * 0.5 ** (epoch // every)


def no_epoch(base_lr):
    return _fixed_rate


def rate_second(every=10, base_lr=0.5):
    return partial(_halving, base_lr, every)


def halving(base_lr, every=10):
    return partial(_halving, base_lr, every)
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """Write ``source`` as a fresh module in ``tmp_path`` and return its name."""

    def write(source: str) -> str:
        name = f"plugin_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        monkeypatch.syspath_prepend(str(tmp_path))
        monkeypatch.delitem(sys.modules, name, raising=False)
        return name

    return write


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


def test_schedule_factory_with_default_first_parameter_is_refused(plugin):
    name = f"{plugin(SCHEDULES)}:rate_second"
    problem = _problem({"schedule": {"name": name}})
    assert problem.path == "schedule.name"
    assert f"schedule '{name}'" in problem.message
    assert "first parameter 'every' has a default (10)" in problem.message


def test_plugins_keeping_the_contract_or_needing_their_own_data_pass(plugin):
    models, schedules = plugin(MODELS), plugin(SCHEDULES)
    for kind in ("linear", "fixed_width"):
        params = validate_params({"model": {"kind": f"{models}:{kind}"},
                                  "schedule": {"name": f"{schedules}:halving"},
                                  "train": {"dtype": "float32"}})
        assert params.model.kind == f"{models}:{kind}"
