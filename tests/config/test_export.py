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
    from gdlab import GDRegressor

    accepted = set(inspect.signature(GDRegressor.__init__).parameters)
    assert set(estimator_kwargs(Params())) <= accepted


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
