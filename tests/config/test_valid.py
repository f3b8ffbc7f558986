"""Good parameters are accepted, keep their values and round-trip."""

from __future__ import annotations

import pytest

from gdlab.config import Params, load_params, validate_params, with_overrides
from tests.config.helpers import BASE, params_dict

GOOD = [
    {},
    {"optimizer.name": "sgd", "optimizer.params": {"momentum": 0.9, "nesterov": True}},
    {"optimizer.name": "momentum", "optimizer.params": {"momentum": 0.5, "dampening": 0.1}},
    {"optimizer.name": "nesterov", "optimizer.params": {"momentum": 0.8, "weight_decay": 1e-4}},
    {
        "optimizer.name": "adagrad",
        "optimizer.params": {"lr_decay": 0.01, "eps": 1e-10, "initial_accumulator_value": 0.1},
    },
    {
        "optimizer.name": "rmsprop",
        "optimizer.params": {"alpha": 0.9, "centered": True, "momentum": 0.5},
    },
    {"optimizer.name": "adam", "optimizer.params": {"betas": [0.8, 0.99], "amsgrad": True}},
    {"optimizer.name": "adamw", "optimizer.params": {"weight_decay": 0.05}},
    {"optimizer.name": "nadam", "optimizer.params": {"momentum_decay": 0.004}},
    {"optimizer.name": "gdlab.core.optim.alias:adam", "optimizer.params": {"eps": 1e-7}},
    {"optimizer.clip_norm": 1.0, "optimizer.learning_rate": 1},  # an int is a fine float
    {"schedule.name": "step", "schedule.params": {"step_size": 10, "gamma": 0.5}},
    {"schedule.name": "multistep", "schedule.params": {"milestones": [5, 20], "gamma": 0.5}},
    {"schedule.name": "exponential", "schedule.params": {"gamma": 0.9}},
    {"schedule.name": "cosine", "schedule.params": {"T_max": 50, "eta_min": 0.001}},
    {
        "schedule.name": "warmup",
        "schedule.params": {"warmup_epochs": 3, "then": "cosine", "then_params": {"eta_min": 0.0}},
    },
    {"schedule.name": "invscaling", "schedule.params": {"power_t": 0.5}},
    {"schedule.name": "plateau", "schedule.params": {"factor": 0.5, "patience": 3}},
    {"model.task": "regression", "model.loss": "huber", "register.metric": "mae"},
    {"model.kind": "mlp", "model.hidden_layer_sizes": [16, 8], "model.activation": "tanh"},
    {"model.kind": "gdlab.core.models.mlp:MLP", "model.params": {"hidden_layer_sizes": [3]}},
    {
        "data.source": "csv",
        "data.path": "data/raw.csv",
        "data.target": "y",
        "data.sensitive": "sex",
        "data.delimiter": ";",
        "data.encoding": "latin-1",
    },
    {"data.source": "parquet", "data.path": "data/raw.parquet", "data.target": "label"},
    {"data.source": "diabetes", "model.task": "regression", "data.sensitive": "sex"},
    {"data.synthetic.sensitive_group": True, "data.sensitive": "group"},
    {"train.batch_size": None, "train.tol": None},
    {"tracking.uri": "http://127.0.0.1:5000", "cv.n_jobs": -1},
    {"tracking.uri": "postgresql+psycopg2://u@host/db"},
]


@pytest.mark.parametrize("overrides", GOOD, ids=[str(sorted(g)) for g in GOOD])
def test_good_params_accepted_and_round_trip(overrides):
    params = validate_params(params_dict(overrides))
    dumped = params.model_dump(mode="json")
    assert validate_params(dumped) == params
    for key, value in overrides.items():
        node = dumped
        for part in key.split("."):
            node = node[part]
        assert node == value


def test_repository_params_yaml_is_valid():
    params = load_params("params.yaml")
    assert isinstance(params, Params)
    assert params.optimizer.learning_rate > 0 and params.cv.folds >= 2


def test_attribute_names_are_the_yaml_keys():
    p = Params()
    assert (p.seed, p.data.source, p.model.kind, p.optimizer.name, p.schedule.name) == (
        42,
        "synthetic",
        "linear",
        "adam",
        "constant",
    )
    assert p.train.batch_size == 64 and p.cv.folds == 5 and p.tracking.uri is None
    assert p.register.model_name == "gdlab-model"
    assert set(BASE) == set(Params.model_fields)


def test_omitted_keys_take_their_defaults():
    assert validate_params({}) == Params()
    assert validate_params({"optimizer": {"name": "sgd"}}).optimizer.learning_rate == 0.01


def test_auto_choices_resolve_per_task():
    clf = Params()
    assert clf.model.resolved_loss == "log_loss"
    assert clf.register.resolved_metric("classification") == "log_loss"
    reg = validate_params(params_dict({"model.task": "regression"}))
    assert reg.model.resolved_loss == "squared_error"
    assert reg.register.resolved_metric("regression") == "rmse"
    assert not reg.register.greater_is_better("regression")


def test_tuple_betas_accepted_from_python():
    params = validate_params(params_dict({"optimizer.params": {"betas": (0.8, 0.9)}}))
    assert params.optimizer.params["betas"] == [0.8, 0.9]


def test_with_overrides_revalidates_and_resets_params_of_a_new_optimizer():
    p = validate_params(params_dict({"optimizer.params": {"betas": [0.8, 0.9]}}))
    q = with_overrides(p, {"optimizer.name": "sgd", "optimizer.learning_rate": 0.1})
    assert (q.optimizer.name, q.optimizer.params, q.optimizer.learning_rate) == ("sgd", {}, 0.1)
    assert p.optimizer.name == "adam"  # unchanged
    r = with_overrides(p, {"optimizer.name": "sgd", "optimizer.params.momentum": 0.9})
    assert r.optimizer.params == {"momentum": 0.9}
    # the same name (a search choosing the optimizer params.yaml names) keeps its params
    same = with_overrides(p, {"optimizer.name": "adam", "optimizer.params.eps": 1e-6})
    assert same.optimizer.params == {"betas": [0.8, 0.9], "eps": 1e-6}
    from gdlab.config import ConfigError

    with pytest.raises(ConfigError, match="cv.folds"):
        with_overrides(p, {"cv.folds": 0})
