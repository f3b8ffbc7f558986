"""The search space: what the schema refuses, grid values, suggestion order, centring on the
LR range test, and the other pruner."""

from __future__ import annotations

import warnings

import optuna
import pytest

from gdlab.config import ConfigError, Params, validate_params
from gdlab.config.sections.tune import SearchDimension
from gdlab.tuning import Space, grid_values, plan_search, run_search

from .conftest import make_params


def problems(tune: dict) -> list[str]:
    data = Params().model_dump(mode="json")
    data["tune"] = {"enabled": True, **tune}
    with pytest.raises(ConfigError) as info:
        validate_params(data)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    "space,path,fragment",
    [
        ({"optimizer.learning_rate": {"low": 0.3, "high": 0.1}}, "low", "above high"),
        # was accepted: every trial got 0.1, the search spent its budget on the other keys
        ({"optimizer.learning_rate": {"low": 0.1, "high": 0.1, "log": True}}, "high", "empty"),
        ({"train.max_epochs": {"low": 20, "high": 20, "step": 5}}, "high", "empty"),
        ({"model.alpha": {"low": 0.0, "high": 1.0, "log": True}}, "low", "> 0 with log"),
        ({"train.batch_size": {"choices": [32, 32]}}, "choices", "twice"),
        ({"train.batch_size": {}}, "", "needs low and high, or choices"),
        ({"train.max_epochs": {"low": 10, "high": 50, "type": "categorical"}}, "type", "choices"),
        # was 'Assertion failed, ' from a range check of a dimension that has none
        ({"train.batch_size": {"choices": [32], "type": "int"}}, "type", "int needs low and high"),
        ({"data.test_size": {"low": 0.1, "high": 0.3}}, "", "not an estimator parameter"),
        ({"train.batch_size": {"choices": [0, 32]}}, "", "the value 0 gives train.batch_size"),
        ({"train.max_epochs": {"low": 10.0, "high": 50}}, "", "valid integer"),
        # integer ends, but a float range: Optuna suggests 16.0, 16.5, ... for every trial
        ({"train.batch_size": {"low": 16, "high": 128, "step": 0.5}}, "", "valid integer"),
        ({"train.batch_size": {"low": 16, "high": 128, "type": "float"}}, "", "valid integer"),
        ({"optimizer.params.momentum": {"low": 0.5, "high": 0.9}}, "", "unknown key"),
        # -S +tune.space.train.max_epochs.low=20 splits the dimension's name at its dots
        ({"train": {"max_epochs": {"low": 20}}}, "", "it holds train.max_epochs split at the dots"),
        (
            {"optimizer.params.momentum": {"low": 0.5, "high": 0.9, "when": {"x.y": [1]}}},
            "when.x.y",
            "not another dimension",
        ),
    ],
)
def test_schema_refuses_a_bad_search_space(space, path, fragment):
    key = next(iter(space))
    where = f"tune.space.{key}" + (f".{path}" if path else "")
    found = problems({"space": space})
    assert any(p.startswith(where) and fragment in p for p in found), found


def test_a_range_with_low_above_high_says_what_is_allowed():
    # the one problem without an "(allowed: ...)" part
    found = problems({"space": {"optimizer.learning_rate": {"low": 0.3, "high": 0.1}}})
    assert found == [
        "tune.space.optimizer.learning_rate.low: 0.3 is above high (0.1) (allowed: low < high)"
    ]


@pytest.mark.parametrize(
    "tune",
    [
        {"space": {"model.alpha": {"low": 0.0, "high": 1.0, "log": True}}},
        {"space": {"model.alpha": {"low": 0.1, "high": 1.0, "log": True, "step": 0.1}}},
        {"space": {"train.batch_size": {"choices": [32, 32]}}},
        {"space": {"train.batch_size": {}}},
        {"space": {"train.batch_size": {"low": 16, "high": 32, "choices": [64]}}},
        {"space": {"train.max_epochs": {"low": 10, "high": 50, "type": "categorical"}}},
        {"space": {"train.batch_size": {"choices": [32], "type": "int"}}},
        {"space": {"train.max_epochs": {"low": 10, "high": 50, "step": 2.5, "type": "int"}}},
        {"space": {"model.alpha": {"low": 0.1, "high": 1.0, "when": {"x.y": [1]}}}},
        {"space": {"model.alpha": {"low": 0.1, "high": 1.0, "when": {"model.l1_ratio": [0.5]}},
                   "model.l1_ratio": {"choices": [0.5], "when": {"model.alpha": [0.1]}}}},
        {"heatmap": {"learning_rates": [0.0], "batch_sizes": [0]}},
    ],
)
def test_every_search_space_problem_says_what_is_allowed(tune):
    found = problems(tune)
    assert found and all("(allowed: " in line for line in found), found


@pytest.mark.parametrize(
    ("dimension", "values"),
    [
        ({"low": 1e-3, "high": 0.1}, "the values 0.001 and 0.1 give"),
        ({"choices": [0.01, 0.1, 0.2]}, "the values 0.01, 0.1 and 0.2 give"),
    ],
)
def test_a_misspelt_search_path_is_one_problem_not_one_per_value(dimension, values):
    # optimizer.lerning_rate was reported twice, once for low and once for high
    found = problems({"space": {"optimizer.lerning_rate": dimension}})
    assert found == [
        f"tune.space.optimizer.lerning_rate: {values} optimizer.lerning_rate: unknown key; "
        "did you mean 'learning_rate'? (allowed: name, learning_rate, params, clip_norm)"
    ]


def test_values_refused_for_different_reasons_stay_separate_problems():
    found = problems({"space": {"optimizer.learning_rate": {"low": -1.0, "high": -0.5}}})
    assert len(found) == 2, found
    for line, value in zip(found, ("-1.0", "-0.5"), strict=True):
        assert f"the value {value} gives optimizer.learning_rate: must be greater than 0, " \
            f"got {value}" in line


def test_schema_checks_conditional_values_under_each_optimizer_they_apply_to():
    space = {
        "optimizer.name": {"choices": ["adam", "momentum"]},
        "optimizer.params.momentum": {"low": 0.5, "high": 0.95},
    }
    found = problems({"space": space})
    assert any("optimizer.name = 'adam'" in p and "unknown key" in p for p in found), found
    space["optimizer.params.momentum"]["when"] = {"optimizer.name": ["momentum"]}
    data = Params().model_dump(mode="json")
    data["tune"] = {"enabled": True, "space": space}
    assert validate_params(data).tune.space["optimizer.params.momentum"].when


def test_tune_metric_must_fit_the_task():
    with pytest.raises(ConfigError, match="tune.metric"):
        make_params(model={"task": "regression"}, tune={"metric": "log_loss"})


def test_budget_rules():
    assert any("n_trials" in p for p in problems({"n_trials": None}))
    assert any("n_jobs" in p for p in problems({"n_jobs": 0}))
    assert any("space" in p for p in problems({"space": {}}))


def test_a_grid_too_large_to_list_is_refused_naming_each_dimensions_share():
    """A 200-million-point grid passed validation, then tune died of a MemoryError (or took
    the machine's memory) while Optuna's GridSampler listed every combination."""
    space = {
        "optimizer.learning_rate": {"low": 1e-4, "high": 0.3, "log": True},
        "optimizer.params.amsgrad": {"choices": [True, False]},
        "train.max_epochs": {"low": 1, "high": 100},
        "train.tol": {"low": 1e-6, "high": 1e-2, "log": True},
        "model.alpha": {"low": 1e-6, "high": 1e-2, "log": True},
    }
    found = problems({"strategy": "grid", "grid_points": 100, "n_trials": 5, "space": space})
    assert found == [
        "tune.space: the grid has 200,000,000 points (100 (optimizer.learning_rate) x 2 "
        "(optimizer.params.amsgrad) x 100 (train.max_epochs) x 100 (train.tol) x 100 "
        "(model.alpha), grid_points: 100): more than a grid search can list (100,000) "
        "(allowed: at most 100,000 points: a lower grid_points, fewer choices or dimensions, "
        "or strategy: bayes (which samples the ranges))"
    ]
    # the same space sampled by TPE, or as a grid of 4 points per range, is accepted
    make_params(tune={"strategy": "bayes", "grid_points": 100, "space": space})
    make_params(tune={"strategy": "grid", "grid_points": 4, "space": space})


@pytest.mark.parametrize(
    "dimension",
    [
        {"low": 1e-4, "high": 1.0, "log": True},
        {"low": 1, "high": 3},
        {"low": 1, "high": 1000, "log": True},
        {"low": 20, "high": 100, "step": 20},
        {"low": 0.1, "high": 0.9, "step": 0.4},
        {"choices": ["sgd", "adam", "momentum"]},
    ],
)
@pytest.mark.parametrize("points", [2, 4, 50])
def test_the_grid_size_checked_is_never_below_the_grid_searched(dimension, points):
    from gdlab.config.sections.tune import grid_point_count

    dim = SearchDimension.model_validate(dimension)
    assert len(grid_values(dim, points)) <= grid_point_count(dim, points) <= points or (
        dim.choices is not None and grid_point_count(dim, points) == len(dim.choices)
    )


def test_grid_values_of_ranges_and_choices():
    assert grid_values(SearchDimension(low=1e-4, high=1.0, log=True), 5) == [
        1e-4,
        0.001,
        0.01,
        0.1,
        1.0,
    ]
    assert grid_values(SearchDimension(low=0.0, high=1.0), 3) == [0.0, 0.5, 1.0]
    assert grid_values(SearchDimension(low=20, high=100, step=20), 10) == [20, 40, 60, 80, 100]
    assert grid_values(SearchDimension(low=20, high=100, step=20), 3) == [20, 60, 100]
    assert grid_values(SearchDimension(choices=["sgd", "adam"]), 7) == ["sgd", "adam"]


@pytest.mark.parametrize(
    ("key", "dimension", "line"),
    [
        # the grid ran max_epochs 8, outside the range; TPE got a range Optuna cut to [2, 5]
        (
            "train.max_epochs",
            {"low": 2, "high": 7, "step": 3},
            "7 is not on the lattice of low and step (2, 5, 8, ...): the search would stop at 5 "
            "(allowed: low plus a whole number of steps, e.g. high: 5 or 8)",
        ),
        # the grid tried 0.1, 0.5 and 1.0: 1.0 is not 0.1 plus a multiple of 0.4
        (
            "model.alpha",
            {"low": 0.1, "high": 1.0, "step": 0.4},
            "1.0 is not on the lattice of low and step (0.1, 0.5, 0.9, ...): the search would "
            "stop at 0.9 (allowed: low plus a whole number of steps, e.g. high: 0.9 or 1.3)",
        ),
        (
            "train.max_epochs",
            {"low": 2, "high": 3, "step": 5},
            "3 is not on the lattice of low and step (2, 7, ...): the search would stop at 2 "
            "(allowed: low plus a whole number of steps, e.g. high: 7)",  # 2: an empty range
        ),
    ],
)
def test_a_high_off_the_step_lattice_is_refused_with_the_nearest_valid_highs(key, dimension, line):
    assert problems({"space": {key: dimension}}) == [f"tune.space.{key}.high: {line}"]


@pytest.mark.parametrize(
    "dimension",
    [
        {"low": 0.1, "high": 1.0, "step": 0.1},  # 0.1 + 9 * 0.1 is 0.9999999999999999 in floats
        {"low": 0.3, "high": 0.9, "step": 0.2},
        {"low": 0.0, "high": 1.0, "step": 0.25},
    ],
)
def test_a_high_on_the_lattice_in_decimal_is_accepted(dimension):
    data = Params().model_dump(mode="json")
    data["tune"] = {"enabled": True, "space": {"model.alpha": dimension}}
    assert validate_params(data).tune.space["model.alpha"].high == dimension["high"]


@pytest.mark.parametrize(
    "dimension",
    [
        {"low": 2, "high": 8, "step": 3},
        {"low": 20, "high": 100, "step": 20},
        {"low": 0.1, "high": 0.9, "step": 0.4},
        {"low": 0.1, "high": 1.0, "step": 0.1},
        {"low": 0.3, "high": 0.9, "step": 0.2},
        {"low": 16, "high": 128, "step": 0.5, "type": "float"},
    ],
)
@pytest.mark.parametrize("points", [2, 3, 4, 100])
def test_grid_values_are_points_of_the_distribution_optuna_builds(dimension, points):
    """Optuna's own distribution is the reference: it would warn and lower high if it were off
    the lattice, and it contains every grid value (inside [low, high], on the lattice)."""
    dim = SearchDimension(**dimension)
    kind = optuna.distributions.IntDistribution if dim.kind == "int" else (
        optuna.distributions.FloatDistribution
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        distribution = kind(dim.low, dim.high, step=dim.step)
    assert distribution.high == dim.high
    values = grid_values(dim, points)
    assert values[0] == dim.low and values[-1] == dim.high
    assert values == sorted(set(values)) and len(values) == min(points, len(values))
    for value in values:
        assert distribution._contains(distribution.to_internal_repr(value)), value
        assert isinstance(value, int if dim.kind == "int" else float)


def test_a_grid_search_over_a_stepped_range_runs_only_values_of_the_range(
    tmp_path, classification_data
):
    X, y = classification_data
    params = make_params(
        train={"max_epochs": 3},
        tune={
            "strategy": "grid",
            "n_trials": None,
            "pruner": "none",
            "space": {"train.max_epochs": {"low": 2, "high": 8, "step": 3}},
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # was: UserWarning: The value 8 is out of range
        outcome = run_search(plan_search(params, X, y, storage=str(tmp_path / "g.journal")))
    assert sorted(t.params["train.max_epochs"] for t in outcome.trials()) == [2, 5, 8]
    with pytest.raises(ConfigError, match=r"tune.space.train.max_epochs.high: 7 is not on"):
        make_params(tune={"space": {"train.max_epochs": {"low": 2, "high": 7, "step": 3}}})


def test_dimensions_named_in_a_condition_come_first():
    space = Space.from_config(
        {
            "optimizer.params.momentum": {
                "low": 0.5,
                "high": 0.9,
                "when": {"optimizer.name": ["momentum"]},
            },
            "optimizer.name": {"choices": ["adam", "momentum"]},
        }
    )
    assert list(space.dims) == ["optimizer.name", "optimizer.params.momentum"]
    assert space.conditional
    assert space.active({"optimizer.name": "adam", "optimizer.params.momentum": 0.7}) == {
        "optimizer.name": "adam"
    }


def test_learning_rate_range_centred_on_the_range_test(tmp_path, classification_data):
    X, y = classification_data
    params = make_params(tune={"center_learning_rate": True, "center_decades": 0.5})
    plan = plan_search(params, X, y, storage=str(tmp_path / "c.journal"), lr_suggestion=0.02)
    dim = plan.space.dims["optimizer.learning_rate"]
    assert dim.log and dim.low == pytest.approx(0.02 / 10**0.5, rel=1e-3)
    assert dim.high == pytest.approx(0.02 * 10**0.5, rel=1e-3)
    off = plan_search(make_params(), X, y, storage=str(tmp_path / "c.journal"), lr_suggestion=0.02)
    assert off.space.dims["optimizer.learning_rate"].low == 1e-4
    assert plan.spec.name != off.spec.name  # another range, another study


def test_wilcoxon_pruner_runs(tmp_path, classification_data):
    X, y = classification_data
    params = make_params(tune={"pruner": "wilcoxon", "n_trials": 5})
    outcome = run_search(plan_search(params, X, y, storage=str(tmp_path / "w.journal")))
    assert outcome.counts().get("COMPLETE", 0) >= 1
    assert sum(outcome.counts().values()) == 5


@pytest.mark.parametrize("strategy", ["grid", "bayes"])
def test_a_list_valued_key_is_searched_over_list_choices(tmp_path, classification_data, strategy):
    """optimizer.params.betas could not be searched ("must be a string, integer, float,
    boolean or null, got [0.9, 0.999]"): each choice is now applied as the list, Optuna keeps
    its JSON text, and the best one reaches train as a list."""
    from gdlab.config import with_overrides
    from gdlab.experiment import build_pipeline, cross_validate

    betas = [[0.9, 0.999], [0.5, 0.9]]
    params = make_params(
        train={"max_epochs": 5},
        tune={
            "strategy": strategy,
            "n_trials": 4 if strategy == "bayes" else None,
            "pruner": "none",
            "space": {
                "optimizer.name": {"choices": ["adam", "sgd"]},
                "optimizer.params.betas": {"choices": betas, "when": {"optimizer.name": ["adam"]}},
            },
        },
    )
    X, y = classification_data
    outcome = run_search(plan_search(params, X, y, storage=str(tmp_path / "s.journal")))
    adam = [r for r in outcome.records if r.params["optimizer.name"] == "adam"]
    assert adam and all(r.state == "COMPLETE" for r in outcome.records)
    if strategy == "grid":
        assert sorted(r.params["optimizer.params.betas"] for r in adam) == sorted(betas)
    for record in adam:
        chosen = record.params["optimizer.params.betas"]
        assert chosen in betas
        # the score is the one a CV with that list in params gives, computed on its own
        alone = with_overrides(params, {"optimizer.name": "adam",
                                        "optimizer.params.betas": chosen,
                                        "tune.enabled": False})
        cv = cross_validate(build_pipeline(alone), X, y, outcome.plan.folds,
                            task="classification", progress=False)
        assert record.value == pytest.approx(cv.mean()["log_loss"], rel=1e-12)
    stored = {t.params.get("optimizer.params.betas") for t in outcome.trials()} - {None}
    assert stored <= {"[0.9, 0.999]", "[0.5, 0.9]"}
    best = outcome.best_params()
    if best["optimizer.name"] == "adam":
        assert best["optimizer.params.betas"] in betas


def test_a_list_choice_the_schema_refuses_names_the_dimension_and_the_value():
    found = problems({"space": {
        "optimizer.name": {"choices": ["adam"]},
        "optimizer.params.betas": {"choices": [[0.9, 0.999], [1.5, 0.99]],
                                   "when": {"optimizer.name": ["adam"]}},
    }})
    assert found == [
        "tune.space.optimizer.params.betas: the value [1.5, 0.99], optimizer.name = 'adam' "
        "gives optimizer.params.betas[0]: must be less than 1, got 1.5 "
        "(allowed: finite number >= 0 and < 1)"
    ]
