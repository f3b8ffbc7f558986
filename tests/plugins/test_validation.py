"""An import path that does not resolve is refused by validation, naming the key and why."""

from __future__ import annotations

import pytest

from gdlab.config import ConfigError, validate_params

PROJECT_NOTE = "plug-in modules are imported from the working directory"


@pytest.mark.parametrize(
    ("data", "path", "reason"),
    [
        ({"optimizer": {"name": "my_opts:lion"}}, "optimizer.name",
         "cannot import module 'my_opts' (No module named 'my_opts')"),
        ({"optimizer": {"name": "examples.lion:lino"}}, "optimizer.name",
         "module 'examples.lion' has no attribute 'lino'"),
        ({"optimizer": {"name": "examples.lion:np"}}, "optimizer.name", "is not callable"),
        ({"optimizer": {"name": "examples.lion:li-on"}}, "optimizer.name",
         "is not a valid import path"),
        ({"schedule": {"name": "no_such_schedules:halving"}}, "schedule.name",
         "cannot import module 'no_such_schedules'"),
        ({"model": {"kind": "examples.lion:Quadratic"}}, "model.kind",
         "has no attribute 'Quadratic'"),
        ({"compare": {"values": ["sgd", "examples.lion:lino"]}}, "compare.values[1]",
         "optimizer.name = 'examples.lion:lino' is refused"),
    ],
)
def test_unresolvable_import_path_fails_validation(data, path, reason):
    with pytest.raises(ConfigError) as caught:
        validate_params(data, "params.yaml")
    (problem,) = caught.value.problems
    assert problem.path == path
    assert reason in problem.message
    text = str(caught.value)
    assert text.startswith("params.yaml: 1 problem in the parameters:")
    assert f"  {path}: " in text
    if "cannot import" in reason:
        assert PROJECT_NOTE in text


def test_resolvable_import_paths_are_accepted():
    params = validate_params({
        "optimizer": {"name": "examples.lion:lion", "params": {"b1": 0.9, "b2": 0.99}},
        "compare": {"values": ["adam", "examples.lion:lion", "examples.lion:sign_sgd"]},
    })
    assert params.optimizer.name == "examples.lion:lion"
    assert params.optimizer.resolved_params() == {"b1": 0.9, "b2": 0.99}


def test_plugin_params_must_be_finite():
    with pytest.raises(ConfigError, match=r"optimizer.params.b1: must be a finite number"):
        validate_params({"optimizer": {"name": "examples.lion:lion",
                                       "params": {"b1": float("nan")}}})


@pytest.mark.parametrize(
    ("data", "path", "reason"),
    [
        ({"optimizer": {"name": "examples.lion:lion", "params": {"b3": 0.5}}},
         "optimizer.params", "optimizer 'examples.lion:lion': the factory raised TypeError: "
         "lion() got an unexpected keyword argument 'b3'"),
        ({"optimizer": {"name": "examples.lion:sign_sgd", "params": {"momentum": 1.5}}},
         "optimizer.params", "the factory raised ValueError: sign_sgd: momentum must lie in "
         "[0, 1), got 1.5"),
        ({"compare": {"values": ["adam", "examples.lion:decoupled_weight_decay"]}},
         "compare.values[1]", "optimizer 'examples.lion:decoupled_weight_decay': the factory "
         "raised TypeError"),
        ({"model": {"kind": "examples.lion:lion"}}, "model.params",
         "model 'examples.lion:lion' returned GradientTransformation without init_params, "
         "forward, backward, penalized"),
        ({"schedule": {"name": "examples.lion:lion"}}, "schedule.params",
         "schedule 'examples.lion:lion' returned GradientTransformation, expected a function "
         "epoch -> learning rate or an object with a learning_rate attribute and step(metric)"),
        ({"schedule": {"name": "warmup", "params": {"then": "examples.lion:sign_sgd"}}},
         "schedule.params", "schedule 'examples.lion:sign_sgd' returned GradientTransformation"),
        ({"tune": {"enabled": True, "space": {"optimizer.name": {
            "choices": ["adam", "examples.lion:decoupled_weight_decay"]}}}},
         "tune.space.optimizer.name", "optimizer 'examples.lion:decoupled_weight_decay': the "
         "factory raised TypeError"),
    ],
)
def test_a_plugin_that_cannot_be_built_fails_validation(data, path, reason):
    """validate builds every plug-in as training will: a factory that raises on its params or
    returns what the contract does not allow stops the pipeline before DVC deletes a later
    stage's outputs, not in train after tune has run."""
    with pytest.raises(ConfigError) as caught:
        validate_params(data, "params.yaml")
    (problem,) = caught.value.problems
    assert problem.path == path
    assert reason in problem.message
