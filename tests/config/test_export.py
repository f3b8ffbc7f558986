"""Views for other layers: estimator arguments, MLflow params; defaults agree with the engine."""

from __future__ import annotations

import inspect

import pytest

from gdlab.config import (
    OPTIMIZER_PARAMS,
    SCHEDULE_PARAMS,
    Params,
    estimator_kwargs,
    flatten_params,
    validate_params,
)
from tests.config.helpers import params_dict


def test_estimator_kwargs_build_the_estimators():
    from gdlab import GDClassifier, GDRegressor

    for task, cls in (("classification", GDClassifier), ("regression", GDRegressor)):
        params = validate_params(params_dict({"model.task": task, "schedule.name": "cosine"}))
        kwargs = estimator_kwargs(params)
        estimator = cls(**kwargs)
        assert estimator.get_params()["random_state"] == params.seed
        assert kwargs["loss"] == params.model.resolved_loss
        assert kwargs["schedule_params"] == {"T_max": params.train.max_epochs, "eta_min": 0.0}


def test_estimator_kwargs_names_are_constructor_parameters():
    from gdlab import GDClassifier, GDRegressor

    for task, cls in (("classification", GDClassifier), ("regression", GDRegressor)):
        accepted = set(inspect.signature(cls.__init__).parameters)
        assert set(estimator_kwargs(validate_params({"model": {"task": task}}))) <= accepted


def test_optimizer_params_are_complete():
    kwargs = estimator_kwargs(validate_params(params_dict({"optimizer.name": "adamw"})))
    assert kwargs["optimizer_params"] == {
        "betas": [0.9, 0.999],
        "eps": 1e-8,
        "weight_decay": 0.01,
        "amsgrad": False,
    }


@pytest.mark.parametrize("name", list(OPTIMIZER_PARAMS))
def test_optimizer_schema_matches_engine_signature(name):
    from gdlab.core.optim.alias import OPTIMIZERS

    signature = inspect.signature(OPTIMIZERS[name]).parameters
    model = OPTIMIZER_PARAMS[name]
    assert list(model.model_fields) == list(signature)
    defaults = model().model_dump()
    for key, parameter in signature.items():
        expected = parameter.default
        assert defaults[key] == (list(expected) if isinstance(expected, tuple) else expected)


@pytest.mark.parametrize("name", list(SCHEDULE_PARAMS))
def test_schedule_schema_names_are_accepted_by_engine(name):
    from gdlab.core.schedules import SCHEDULES

    signature = inspect.signature(SCHEDULES[name]).parameters
    accepted = set(signature) - {"base_lr"}
    assert set(SCHEDULE_PARAMS[name].model_fields) <= accepted


@pytest.mark.parametrize("name", list(SCHEDULE_PARAMS))
def test_resolved_schedule_params_build_an_engine_schedule(name):
    from gdlab.core.schedules import make_schedule

    params = validate_params(params_dict({"schedule.name": name}))
    schedule = make_schedule(name, 0.1, estimator_kwargs(params)["schedule_params"])
    assert schedule.learning_rate > 0


def test_flatten_params_gives_dotted_scalars():
    flat = flatten_params(Params())
    assert flat["optimizer.learning_rate"] == 0.01
    assert flat["model.loss"] == "log_loss"  # resolved
    assert flat["optimizer.params.betas"] == "[0.9, 0.999]"
    assert flat["model.hidden_layer_sizes"] == "[32]"
    assert all(v is None or isinstance(v, str | int | float | bool) for v in flat.values())
    assert flatten_params(Params(), resolved=False)["model.loss"] == "auto"
    # log_run_data sends params MAX_PARAMS (100) per log_batch (tests/tracking/test_batching.py):
    # the schema defaults give 101 (params.yaml's tune.space, 114), two calls per run
    from gdlab.tracking.batching import MAX_PARAMS

    assert len(flat) <= 2 * MAX_PARAMS


_PLUGINS = '''
import numpy as np


def halving(base_lr, every=10, factor=0.5, floor=None):
    return lambda epoch: max(base_lr * factor ** (epoch // every), floor or 0.0)


class Linear:
    def __init__(self, bias=True, init_scale=(0.0, 0.1), on=print):
        self.bias = bias

    def init_params(self, n_features, n_outputs, rng, dtype):
        return [np.zeros((n_features, n_outputs), dtype), np.zeros(n_outputs, dtype)]

    def forward(self, params, X):
        return X @ params[0] + params[1], X

    def backward(self, params, cache, dZ, grads):
        grads[0][...] = cache.T @ dZ
        grads[1][...] = dZ.sum(axis=0)

    def penalized(self, params):
        return [True, False]
'''


@pytest.fixture
def export_plugins(tmp_path, monkeypatch):
    import sys

    (tmp_path / "export_plugins.py").write_text(_PLUGINS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "export_plugins", raising=False)


def test_plugin_factories_defaults_are_logged_under_the_users_values(export_plugins):
    # Lion runs with b1=0.9, b2=0.99 (examples/lion.py) when params.yaml names neither: the
    # MLflow params say so, as they give adam's betas and eps; the user's values win
    params = validate_params(params_dict({
        "optimizer.name": "examples.lion:lion",
        "optimizer.params": {"b2": 0.98},
        "schedule.name": "export_plugins:halving",
        "schedule.params": {"every": 5},
        "model.kind": "export_plugins:Linear",
        "model.params": {"bias": False},
    }))
    flat = flatten_params(params)
    assert {k: v for k, v in flat.items() if ".params." in k} == {
        "optimizer.params.b1": 0.9,
        "optimizer.params.b2": 0.98,
        "optimizer.params.weight_decay": 0.0,
        # a schedule is called as factory(base_lr, **params): base_lr is not one of them
        "schedule.params.every": 5,
        "schedule.params.factor": 0.5,
        "schedule.params.floor": None,
        # a tuple default is a list, as adam's betas; a callable default is not a parameter
        "model.params.bias": False,
        "model.params.init_scale": "[0.0, 0.1]",
    }
    # as written: only what the user gave
    written = flatten_params(params, resolved=False)
    assert "optimizer.params.b1" not in written and written["optimizer.params.b2"] == 0.98
    # the estimator gets the user's params only (the factory fills in its own defaults)
    assert estimator_kwargs(params)["optimizer_params"] == {"b2": 0.98}


def test_a_plugin_schedule_after_a_warmup_has_its_defaults_logged(export_plugins):
    params = validate_params(params_dict({
        "schedule.name": "warmup",
        "schedule.params": {"warmup_epochs": 3, "then": "export_plugins:halving",
                            "then_params": {"factor": 0.8}},
    }))
    flat = flatten_params(params)
    assert flat["schedule.params.then_params.every"] == 10
    assert flat["schedule.params.then_params.factor"] == 0.8
