"""Every validation rule of the params schema: one case each, the message names the key path."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from gdlab.config import OPTIMIZER_PARAMS, SCHEDULE_PARAMS, ConfigError, Params, validate_params
from tests.config.helpers import assert_problem, config_error, params_dict

CSV = {"data.source": "csv", "data.path": "d.csv", "data.target": "y"}
REG = {"model.task": "regression"}

# (id, overrides, key path named in the message, text the message contains)
RULES = [
    # structure: unknown keys, finite numbers, strict types
    ("unknown-section", {"colour": {}}, "colour", "unknown key"),
    ("unknown-key", {"data.sourc": "csv"}, "data.sourc", "did you mean 'source'"),
    ("nan", {"optimizer.learning_rate": math.nan}, "optimizer.learning_rate", "finite"),
    ("inf", {"train.tol": math.inf}, "train.tol", "finite"),
    ("bool-not-int", {"train.batch_size": True}, "train.batch_size", "valid integer"),
    ("str-not-float", {"model.alpha": "0.1"}, "model.alpha", "valid number"),
    ("float-not-int", {"train.max_epochs": 2.5}, "train.max_epochs", "integer"),
    ("section-not-mapping", {"data": 5}, "data", "mapping"),
    # seed
    ("seed-negative", {"seed": -1}, "seed", ">= 0"),
    ("seed-too-big", {"seed": 2**32}, "seed", "<= 4294967295"),
    # data
    ("source-unknown", {"data.source": "iris"}, "data.source", "synthetic | diabetes"),
    ("csv-needs-path", {"data.source": "csv", "data.target": "y"}, "data.path", "required"),
    ("csv-needs-target", {"data.source": "csv", "data.path": "d.csv"}, "data.target", "required"),
    ("csv-suffix", {**CSV, "data.path": "d.parquet"}, "data.path", "not a csv file"),
    ("parquet-suffix", {**CSV, "data.source": "parquet"}, "data.path", "not a parquet"),
    ("path-only-for-files", {"data.path": "d.csv"}, "data.path", "only used with"),
    ("target-only-for-files", {"data.target": "y"}, "data.target", "only used with"),
    ("test-size-zero", {"data.test_size": 0.0}, "data.test_size", "> 0 and < 1"),
    ("test-size-one", {"data.test_size": 1.0}, "data.test_size", "> 0 and < 1"),
    ("missing-unknown", {"data.missing": "drop"}, "data.missing", "refuse | mean"),
    ("categorical-unknown", {"data.categorical": "ordinal"}, "data.categorical", "onehot"),
    ("min-rows-per-class", {"data.min_rows_per_class": 1}, "data.min_rows_per_class", ">= 2"),
    ("max-categories", {"data.max_categories": 1}, "data.max_categories", ">= 2"),
    ("max-categories-int", {"data.max_categories": 150.5}, "data.max_categories", "integer"),
    ("delimiter-one-char", {"data.delimiter": ";;"}, "data.delimiter", "one character"),
    ("delimiter-empty", {"data.delimiter": ""}, "data.delimiter", "must have at least 1 character"),
    ("encoding-unknown", {"data.encoding": "utf-9"}, "data.encoding", "unknown text encoding"),
    ("sensitive-is-target", {**CSV, "data.sensitive": "y"}, "data.sensitive", "differ"),
    (
        "sensitive-is-bundled-target",
        {"data.source": "wine", "data.sensitive": "target"},
        "data.sensitive",
        "'target' is the target column of wine",
    ),
    ("synthetic-sensitive-name", {"data.sensitive": "sex"}, "data.sensitive", "'group'"),
    ("synthetic-group-off", {"data.sensitive": "group"}, "data.synthetic.sensitive_group", "true"),
    ("n-samples", {"data.synthetic.n_samples": 5}, "data.synthetic.n_samples", ">= 10"),
    ("n-features", {"data.synthetic.n_features": 0}, "data.synthetic.n_features", ">= 1"),
    (
        "informative>features",
        {"data.synthetic.n_informative": 30},
        "data.synthetic.n_informative",
        "more than n_features",
    ),
    ("n-classes", {"data.synthetic.n_classes": 1}, "data.synthetic.n_classes", ">= 2"),
    ("noise-negative", {"data.synthetic.noise": -0.1}, "data.synthetic.noise", ">= 0"),
    ("feature-scale", {"data.synthetic.feature_scale": 0.0}, "data.synthetic.feature_scale", "> 0"),
    (
        "condition-number",
        {"data.synthetic.condition_number": 0.5},
        "data.synthetic.condition_number",
        ">= 1",
    ),
    ("classification-noise", {"data.synthetic.noise": 1.5}, "data.synthetic.noise", "<= 1"),
    (
        "classes-vs-informative",
        {"data.synthetic.n_classes": 5, "data.synthetic.n_informative": 2},
        "data.synthetic.n_classes",
        "<= 2**n_informative",
    ),
    ("folds-vs-rows", {"data.synthetic.n_samples": 10, "cv.folds": 9}, "cv.folds", "training rows"),
    ("bundled-task", {"data.source": "diabetes"}, "model.task", "regression"),
    ("bundled-task-2", {"data.source": "wine", **REG}, "model.task", "classification"),
    # preprocess
    (
        "poly-degree-low",
        {"preprocess.polynomial_degree": 0},
        "preprocess.polynomial_degree",
        ">= 1",
    ),
    (
        "poly-degree-high",
        {"preprocess.polynomial_degree": 6},
        "preprocess.polynomial_degree",
        "<= 5",
    ),
    # model
    ("kind-unknown", {"model.kind": "tree"}, "model.kind", "linear | mlp"),
    ("kind-no-module", {"model.kind": "no_such_module_xyz:f"}, "model.kind", "cannot import"),
    ("kind-no-attr", {"model.kind": "math:no_such"}, "model.kind", "no attribute"),
    ("kind-not-callable", {"model.kind": "math:pi"}, "model.kind", "not callable"),
    ("kind-bad-path", {"model.kind": "math:"}, "model.kind", "import path"),
    ("model-params-builtin", {"model.params": {"depth": 3}}, "model.params.depth", "no params"),
    (
        "model-params-finite",
        {"model.kind": "math:sqrt", "model.params": {"a": math.inf}},
        "model.params.a",
        "finite",
    ),
    ("task-unknown", {"model.task": "ranking"}, "model.task", "regression | classification"),
    ("loss-vs-classification", {"model.loss": "huber"}, "model.loss", "auto | log_loss"),
    ("loss-vs-regression", {**REG, "model.loss": "log_loss"}, "model.loss", "squared_error"),
    ("epsilon", {"model.epsilon": 0.0}, "model.epsilon", "> 0"),
    ("alpha", {"model.alpha": -1.0}, "model.alpha", ">= 0"),
    ("l1-ratio", {"model.l1_ratio": 1.5}, "model.l1_ratio", "<= 1"),
    (
        "hidden-empty",
        {"model.hidden_layer_sizes": []},
        "model.hidden_layer_sizes",
        "must have at least 1 item, got []",
    ),
    ("hidden-zero", {"model.hidden_layer_sizes": [8, 0]}, "model.hidden_layer_sizes[1]", ">= 1"),
    ("activation", {"model.activation": "identity"}, "model.activation", "relu | tanh"),
    # optimizer
    ("optimizer-unknown", {"optimizer.name": "adm"}, "optimizer.name", "sgd | momentum"),
    (
        "optimizer-plugin",
        {"optimizer.name": "gdlab.core.optim.alias:nope"},
        "optimizer.name",
        "no attribute",
    ),
    ("learning-rate-zero", {"optimizer.learning_rate": 0.0}, "optimizer.learning_rate", "> 0"),
    ("clip-norm", {"optimizer.clip_norm": 0.0}, "optimizer.clip_norm", "> 0 or null"),
    (
        "nesterov-needs-momentum",
        {"optimizer.name": "sgd", "optimizer.params": {"nesterov": True}},
        "optimizer.params.nesterov",
        "momentum > 0",
    ),
    (
        "momentum-range",
        {"optimizer.name": "momentum", "optimizer.params": {"momentum": 1.0}},
        "optimizer.params.momentum",
        "< 1",
    ),
    (
        "dampening-range",
        {"optimizer.name": "sgd", "optimizer.params": {"dampening": 2.0}},
        "optimizer.params.dampening",
        "<= 1",
    ),
    (
        "weight-decay",
        {"optimizer.params": {"weight_decay": -0.1}},
        "optimizer.params.weight_decay",
        ">= 0",
    ),
    ("eps", {"optimizer.params": {"eps": 0.0}}, "optimizer.params.eps", "> 0"),
    (
        "betas-length",
        {"optimizer.params": {"betas": [0.9, 0.99, 0.9]}},
        "optimizer.params.betas",
        "must have at most 2 items, got [0.9, 0.99, 0.9] (allowed: each finite number >= 0 and "
        "< 1; exactly 2 items)",
    ),
    (
        "betas-range",
        {"optimizer.name": "nadam", "optimizer.params": {"betas": [0.9, 1.0]}},
        "optimizer.params.betas[1]",
        "< 1",
    ),
    (
        "amsgrad-bool",
        {"optimizer.params": {"amsgrad": "yes"}},
        "optimizer.params.amsgrad",
        "valid boolean",
    ),
    (
        "rmsprop-alpha",
        {"optimizer.name": "rmsprop", "optimizer.params": {"alpha": 1.0}},
        "optimizer.params.alpha",
        "< 1",
    ),
    (
        "adagrad-lr-decay",
        {"optimizer.name": "adagrad", "optimizer.params": {"lr_decay": -1.0}},
        "optimizer.params.lr_decay",
        ">= 0",
    ),
    (
        "nadam-momentum-decay",
        {"optimizer.name": "nadam", "optimizer.params": {"momentum_decay": -1.0}},
        "optimizer.params.momentum_decay",
        ">= 0",
    ),
    (
        "plugin-params-finite",
        {"optimizer.name": "gdlab.core.optim.alias:adam", "optimizer.params": {"eps": math.nan}},
        "optimizer.params.eps",
        "finite",
    ),
    # schedule
    ("schedule-unknown", {"schedule.name": "onecycle"}, "schedule.name", "constant | step"),
    (
        "schedule-plugin",
        {"schedule.name": "no_such_module_xyz:f"},
        "schedule.name",
        "cannot import",
    ),
    (
        "constant-no-params",
        {"schedule.params": {"gamma": 0.5}},
        "schedule.params.gamma",
        "no keys here",
    ),
    (
        "step-size",
        {"schedule.name": "step", "schedule.params": {"step_size": 0}},
        "schedule.params.step_size",
        "> 0",
    ),
    (
        "step-size-int",
        {"schedule.name": "step", "schedule.params": {"step_size": 2.5}},
        "schedule.params.step_size",
        "integer",
    ),
    (
        "step-gamma",
        {"schedule.name": "step", "schedule.params": {"gamma": 0.0}},
        "schedule.params.gamma",
        "> 0 and <= 1",
    ),
    (
        "milestones-increasing",
        {"schedule.name": "multistep", "schedule.params": {"milestones": [10, 10]}},
        "schedule.params.milestones[1]",
        "greater than 10",
    ),
    (
        "milestones-positive",
        {"schedule.name": "multistep", "schedule.params": {"milestones": [-1]}},
        "schedule.params.milestones[0]",
        ">= 0",
    ),
    (
        "milestones-empty",
        {"schedule.name": "multistep", "schedule.params": {"milestones": []}},
        "schedule.params.milestones",
        "at least 1",
    ),
    (
        "exponential-gamma",
        {"schedule.name": "exponential", "schedule.params": {"gamma": 1.5}},
        "schedule.params.gamma",
        "<= 1",
    ),
    (
        "cosine-t-max",
        {"schedule.name": "cosine", "schedule.params": {"T_max": 0}},
        "schedule.params.T_max",
        "> 0",
    ),
    (
        "cosine-eta-min",
        {"schedule.name": "cosine", "schedule.params": {"eta_min": -1.0}},
        "schedule.params.eta_min",
        ">= 0",
    ),
    (
        "cosine-eta-min-vs-lr",
        {"schedule.name": "cosine", "schedule.params": {"eta_min": 0.5}},
        "schedule.params.eta_min",
        "optimizer.learning_rate",
    ),
    (
        "warmup-epochs",
        {"schedule.name": "warmup", "schedule.params": {"warmup_epochs": 0}},
        "schedule.params.warmup_epochs",
        ">= 1",
    ),
    (
        "warmup-start-factor",
        {"schedule.name": "warmup", "schedule.params": {"start_factor": 0.0}},
        "schedule.params.start_factor",
        "> 0",
    ),
    (
        "warmup-then-warmup",
        {"schedule.name": "warmup", "schedule.params": {"then": "warmup"}},
        "schedule.params.then",
        # was "unknown schedule 'warmup'", though warmup is one
        "warmup cannot follow itself (one warm-up phase per schedule) (allowed: constant | "
        "step | multistep | exponential | cosine | invscaling | 'package.module:factory')",
    ),
    (
        "warmup-then-plateau",
        {"schedule.name": "warmup", "schedule.params": {"then": "plateau"}},
        "schedule.params.then",
        "plateau cannot follow warmup (it reacts to the loss",
    ),
    (
        "warmup-then-params",
        {
            "schedule.name": "warmup",
            "schedule.params": {"then": "step", "then_params": {"T_max": 3}},
        },
        "schedule.params.then_params.T_max",
        "step_size, gamma",
    ),
    (
        "warmup-then-eta-min-vs-lr",
        {
            "schedule.name": "warmup",
            "schedule.params": {"then": "cosine", "then_params": {"eta_min": 1.0}},
        },
        "schedule.params.then_params.eta_min",
        "optimizer.learning_rate",
    ),
    (
        "invscaling",
        {"schedule.name": "invscaling", "schedule.params": {"power_t": -1.0}},
        "schedule.params.power_t",
        ">= 0",
    ),
    (
        "plateau-factor",
        {"schedule.name": "plateau", "schedule.params": {"factor": 1.0}},
        "schedule.params.factor",
        "< 1",
    ),
    (
        "plateau-patience",
        {"schedule.name": "plateau", "schedule.params": {"patience": -1}},
        "schedule.params.patience",
        ">= 0",
    ),
    (
        "plateau-threshold",
        {"schedule.name": "plateau", "schedule.params": {"threshold": -1.0}},
        "schedule.params.threshold",
        ">= 0",
    ),
    (
        "plateau-cooldown",
        {"schedule.name": "plateau", "schedule.params": {"cooldown": -1}},
        "schedule.params.cooldown",
        ">= 0",
    ),
    (
        "plateau-min-lr",
        {"schedule.name": "plateau", "schedule.params": {"min_lr": 0.01}},
        "schedule.params.min_lr",
        "optimizer.learning_rate",
    ),
    # train, cv
    ("batch-size", {"train.batch_size": 0}, "train.batch_size", ">= 1 or null"),
    ("max-epochs", {"train.max_epochs": 0}, "train.max_epochs", ">= 1"),
    ("tol", {"train.tol": -1.0}, "train.tol", ">= 0 or null"),
    ("n-iter-no-change", {"train.n_iter_no_change": 0}, "train.n_iter_no_change", ">= 1"),
    ("validation-fraction", {"train.validation_fraction": 1.0}, "train.validation_fraction", "< 1"),
    (
        "early-stopping-needs-tol",
        {"train.early_stopping": True, "train.tol": None},
        "train.early_stopping",
        "needs train.tol",
    ),
    ("dtype", {"train.dtype": "float16"}, "train.dtype", "float64 | float32"),
    ("folds", {"cv.folds": 1}, "cv.folds", ">= 2"),
    ("n-jobs-zero", {"cv.n_jobs": 0}, "cv.n_jobs", "-1 or an integer >= 1"),
    ("n-jobs-negative", {"cv.n_jobs": -2}, "cv.n_jobs", "-1 or an integer >= 1"),
    # tracking, register
    ("uri-file-store", {"tracking.uri": "mlruns"}, "tracking.uri", "sqlite"),
    ("uri-file-scheme", {"tracking.uri": "file:///tmp/mlruns"}, "tracking.uri", "file store"),
    ("experiment-empty", {"tracking.experiment": ""}, "tracking.experiment", "non-empty"),
    ("model-name-empty", {"register.model_name": ""}, "register.model_name", "non-empty"),
    (
        "model-name-both-quotes",
        {"register.model_name": """Bob's "best" model"""},
        "register.model_name",
        "holds both ' and \"",
    ),
    ("metric-unknown", {"register.metric": "auc"}, "register.metric", "auto | rmse"),
    ("metric-vs-task", {"register.metric": "rmse"}, "register.metric", "auto | log_loss"),
    # tune ('' was taken as null: the default journal)
    ("storage-empty", {"tune.storage": ""}, "tune.storage", "non-empty string or null"),
]


@pytest.mark.parametrize(
    ("overrides", "path", "fragment"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_rule(overrides, path, fragment):
    assert_problem(config_error(overrides), path, fragment)


@pytest.mark.parametrize(
    "name", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "nadam"]
)
def test_each_optimizer_refuses_foreign_params_and_lists_its_own(name):
    from gdlab.config import OPTIMIZER_PARAMS

    err = config_error({"optimizer.name": name, "optimizer.params": {"lr_decayy": 1.0}})
    own = ", ".join(OPTIMIZER_PARAMS[name].model_fields)
    assert_problem(err, "optimizer.params.lr_decayy", f"(allowed: {own})")


def test_all_problems_are_listed_at_once():
    err = config_error(
        {
            "optimizer.learning_rate": -1.0,
            "cv.folds": 1,
            "data.sourc": 1,
            "optimizer.params": {"betas": [2.0, 0.9]},
            "model.loss": "huber",
        }
    )
    assert {p.path for p in err.problems} >= {
        "optimizer.learning_rate",
        "cv.folds",
        "data.sourc",
        "optimizer.params.betas[0]",
        "model.loss",
    }
    assert isinstance(err, ValueError)
    assert str(err).startswith(f"{len(err.problems)} problems")
    for line in str(err).splitlines()[1:]:
        assert "(allowed: " in line


def test_a_problem_of_the_params_is_not_repeated_for_every_search_candidate_and_variant():
    # params.yaml searches and compares optimisers; the wrong task is one problem, not one per
    # tune.space value and compare value (each of which applies it to the same wrong params)
    shipped = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text())
    assert shipped["tune"]["enabled"] and shipped["compare"]["enabled"]
    shipped["data"]["source"] = "diabetes"
    with pytest.raises(ConfigError) as info:
        validate_params(shipped)
    assert [p.path for p in info.value.problems] == ["model.task"]
    shipped["model"]["task"] = "regression"
    shipped["compare"]["values"] = ["sgd", "adagrad"]
    momentum = shipped["tune"]["space"]["optimizer.params.momentum"]
    when, momentum["when"] = momentum["when"], {}  # for any optimizer: adam has no momentum
    with pytest.raises(ConfigError) as info:  # once the params are right, candidates are checked
        validate_params(shipped)
    assert {p.path for p in info.value.problems} == {"tune.space.optimizer.params.momentum"}
    momentum["when"] = when
    shipped["compare"]["values"] = ["sgd", "nosuch"]  # and a variant's problem only once
    with pytest.raises(ConfigError) as info:
        validate_params(shipped)
    assert {p.path for p in info.value.problems} == {"compare.values[1]"}


@pytest.mark.parametrize(
    ("overrides", "path", "fragment"),
    [
        ({"fairness.positive_label": [1]}, "fairness.positive_label",
         "must be a string, integer, boolean or null, got [1] (allowed: string, integer, boolean"),
        ({"compare.values": [math.nan]}, "compare.values[0]", "must be a finite number, got nan"),
        ({"tune.enabled": True,
          "tune.space": {"optimizer.learning_rate": {"low": math.nan, "high": 0.1}}},
         "tune.space.optimizer.learning_rate.low", "must be a finite number, got nan"),
        # a list is a choice for a list-valued key (optimizer.params.betas); a list of lists
        # is no choice at all
        ({"tune.enabled": True, "tune.space": {"model.alpha": {"choices": [[[1]]]}}},
         "tune.space.model.alpha.choices[0]",
         "must be a single value (string, number, boolean or null) or a list of single values"),
    ],
)
def test_a_value_no_type_of_its_union_accepts_is_one_problem_at_its_key(overrides, path, fragment):
    # pydantic reports one error per type of the union, at paths such as
    # 'fairness.positive_label.int': no such key exists in params.yaml
    err = config_error(overrides)
    assert [p.path for p in err.problems] == [path], str(err)
    assert_problem(err, path, fragment)


def test_an_unknown_key_of_a_search_dimension_lists_the_dimension_keys():
    err = config_error(
        {"tune.enabled": True, "tune.space": {"model.alpha": {"lo": 0.1, "high": 1.0}}}
    )
    assert_problem(
        err,
        "tune.space.model.alpha.lo",
        "did you mean 'low'? (allowed: type, low, high, log, step, choices, when)",
    )


@pytest.mark.parametrize("vary", ["data.source", "cv.folds", "tracking.experiment", "compare.vary"])
def test_compare_refuses_a_key_its_variants_would_share(vary):
    # every variant trains on the same prepared data and folds: varying data.source (or cv,
    # tracking...) gave identical variants and nothing said so
    err = config_error({"compare.vary": vary, "compare.values": ["x", "y"]})
    assert [p.path for p in err.problems] == ["compare.vary"], str(err)
    assert_problem(err, "compare.vary", "would give identical variants")
    assert_problem(err, "compare.vary", "seed or a key under model., optimizer.")


@pytest.mark.parametrize(("vary", "values"), [("seed", [1, 2]), ("preprocess.standardize",
                                              [True, False]), ("train.batch_size", [16, None])])
def test_compare_accepts_a_key_of_the_estimator_pipeline(vary, values):
    params = validate_params(params_dict({"compare.vary": vary, "compare.values": values}))
    assert params.compare.vary == vary


@pytest.mark.parametrize(("key", "value", "allowed"), [
    ("compare.learning_rate", "auto", "shared | lr_find"),
    ("compare.rank_by", "test_loss", "train_loss | val_loss | val_metric"),
])
def test_compare_options_take_only_their_values(key, value, allowed):
    err = config_error({key: value})
    assert [p.path for p in err.problems] == [key], str(err)
    assert_problem(err, key, allowed)


def test_compare_options_default_to_one_shared_rate_ranked_by_training_loss():
    params = validate_params(params_dict({}))
    assert (params.compare.learning_rate, params.compare.rank_by) == ("shared", "train_loss")
    tuned = validate_params(params_dict({"compare.learning_rate": "lr_find",
                                         "compare.rank_by": "val_loss"}))
    assert (tuned.compare.learning_rate, tuned.compare.rank_by) == ("lr_find", "val_loss")


def test_lr_find_refuses_to_compare_learning_rates():
    # every variant would train at its own range test's suggestion: the same rate for all
    err = config_error({"compare.learning_rate": "lr_find",
                        "compare.vary": "optimizer.learning_rate", "compare.values": [0.1, 0.01]})
    assert [p.path for p in err.problems] == ["compare.learning_rate"], str(err)
    assert_problem(err, "compare.learning_rate", "would give identical variants")


def test_a_warm_up_as_long_as_the_training_is_refused():
    # with warmup_epochs >= max_epochs the learning rate never reached its value and the
    # schedule after the warm-up never ran, silently
    err = config_error({"schedule.name": "warmup", "train.max_epochs": 5,
                        "schedule.params": {"warmup_epochs": 5, "then": "cosine"}})
    assert [p.path for p in err.problems] == ["schedule.params.warmup_epochs"], str(err)
    assert_problem(err, "schedule.params.warmup_epochs",
                   "5 is not below train.max_epochs (5): training would end inside the warm-up "
                   "and never reach the learning rate or the 'cosine' schedule after it "
                   "(allowed: 1 to 4 (< train.max_epochs))")
    validate_params(params_dict({"schedule.name": "warmup", "train.max_epochs": 6,
                                 "schedule.params": {"warmup_epochs": 5}}))


@pytest.mark.parametrize(
    ("overrides", "path", "fragment"),
    [
        # after -S optimizer.name=adam, momentum left in optimizer.params: say whose keys these are
        ({"optimizer.name": "adam", "optimizer.params": {"momentum": 0.9}},
         "optimizer.params.momentum", "unknown key for optimizer adam (allowed: betas, eps,"),
        ({"schedule.name": "cosine", "schedule.params": {"gamma": 0.5}},
         "schedule.params.gamma", "unknown key for schedule cosine (allowed: T_max, eta_min)"),
        ({"schedule.name": "warmup", "schedule.params": {"then": "step",
                                                         "then_params": {"T_max": 3}}},
         "schedule.params.then_params.T_max", "unknown key for schedule step (allowed: step_size"),
    ],
)
def test_an_unknown_optimiser_or_schedule_key_names_the_optimiser_or_schedule(
    overrides, path, fragment
):
    assert_problem(config_error(overrides), path, fragment)


@pytest.mark.parametrize(
    ("vary", "values", "shown"),
    [
        ("optimizer.learning_rate", [0.1, 1, 1.0],
         "optimizer.learning_rate = 1.0 repeats values[1] (1)"),
        ("model.alpha", [0, 0.0], "model.alpha = 0.0 repeats values[0] (0)"),
    ],
)
def test_compare_refuses_values_that_validate_to_the_same_variant(vary, values, shown):
    # 1 and 1.0 have different labels ('learning_rate=1', 'learning_rate=1.0') but validate to
    # the same float: compare trained two identical variants and ranked them against each other
    err = config_error({"compare.vary": vary, "compare.values": values})
    index = len(values) - 1
    assert [p.path for p in err.problems] == [f"compare.values[{index}]"], str(err)
    assert_problem(err, f"compare.values[{index}]", shown)
    assert_problem(err, f"compare.values[{index}]", "two identical variants")


def _model_paths(model, prefix: str = "") -> list[str]:
    """Dotted paths of every section and nested section of the default params."""
    from gdlab.config.base import StrictModel

    paths = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, StrictModel):
            path = f"{prefix}.{name}" if prefix else name
            paths += [path, *_model_paths(value, path)]
    return paths


SECTION_PATHS = _model_paths(__import__("gdlab.config", fromlist=["Params"]).Params())


def test_every_section_is_walked():
    # the nested sections, not only the top-level ones
    assert {"data.synthetic", "data.pii", "tune.heatmap", "optimizer", "cv"} <= set(SECTION_PATHS)


@pytest.mark.parametrize("section", SECTION_PATHS)
def test_an_unknown_key_is_refused_in_every_section_and_nested_section(section):
    # a typo one level down (data.synthetic.n_sample) was as silent as one at the top would be
    # if a nested model ignored extra keys
    key = f"{section}.zz_not_a_key"
    err = config_error({key: 1})
    assert [p.path for p in err.problems] == [key], str(err)
    assert_problem(err, key, "unknown key")


@pytest.mark.parametrize(
    "name",
    ["gdlab-model", "houses v2", "x%y", "model.v1", "team/model", "team:v1", "a/../b", "  ",
     ".", "..", "..hidden"],
)
def test_register_model_name_is_refused_exactly_when_mlflow_refuses_it(name):
    """A name MLflow's registry refuses ('/' or ':', blank, a path that is not unique) passed
    validate: the whole pipeline ran, and register failed at the end with a traceback."""
    from mlflow.exceptions import MlflowException
    from mlflow.utils.validation import _validate_model_name

    try:
        _validate_model_name(name)
        mlflow_accepts = True
    except MlflowException:
        mlflow_accepts = False
    if mlflow_accepts:
        validate_params(params_dict({"register.model_name": name}))
    else:
        assert_problem(
            config_error({"register.model_name": name}),
            "register.model_name",
            "is refused by MLflow's model registry (allowed: non-empty string that",
        )


def _enumerated_keys(model: object, prefix: str = "") -> list[tuple[str, tuple[str, ...]]]:
    """(dotted key, its values) for every ``Literal[...]`` key of the params and their nested
    sections, read from the models' annotations."""
    import typing

    from gdlab.config.base import StrictModel

    found = []
    for name, field in type(model).model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        if typing.get_origin(field.annotation) is typing.Literal:
            found.append((path, typing.get_args(field.annotation)))
        value = getattr(model, name)
        if isinstance(value, StrictModel):
            found += _enumerated_keys(value, path)
    return found


def _misspelt(value: str) -> str:
    return value + value[-1]  # 'cosine' -> 'cosinee'


ENUMERATED = [
    (path, value)
    for path, values in _enumerated_keys(Params())
    for value in values
]
NAMED = (
    [("optimizer.name", n, {}) for n in OPTIMIZER_PARAMS]
    + [("schedule.name", n, {}) for n in SCHEDULE_PARAMS]
    + [("model.kind", n, {}) for n in ("linear", "mlp")]
    + [("schedule.params.then", n, {"schedule.name": "warmup"})
       for n in ("constant", "step", "multistep", "exponential", "cosine", "invscaling")]
    + [("tune.metric", n, {}) for n in ("auto", "log_loss", "accuracy", "f1", "roc_auc",
                                         "average_precision", "balanced_accuracy")]
)


def test_every_enumerated_key_is_found():
    paths = {path for path, _ in ENUMERATED}
    assert {"data.source", "data.missing", "model.task", "model.loss", "train.dtype",
            "tune.strategy", "tune.pruner", "register.metric", "parallel.backend"} <= paths


@pytest.mark.parametrize(("path", "value"), ENUMERATED, ids=[f"{p}={v}" for p, v in ENUMERATED])
def test_a_misspelt_enumerated_value_gets_a_suggestion(path, value):
    # 'schedule.name: cosin' was refused without the "did you mean" a misspelt key gets
    err = config_error({path: _misspelt(value)})
    assert_problem(err, path, f"got {_misspelt(value)!r}; did you mean {value!r}? (allowed: ")


@pytest.mark.parametrize(("path", "value", "extra"), NAMED, ids=[f"{p}={v}" for p, v, _ in NAMED])
def test_a_misspelt_name_gets_a_suggestion(path, value, extra):
    err = config_error({**extra, path: _misspelt(value)})
    assert_problem(err, path, f"{_misspelt(value)!r}; did you mean {value!r}? (allowed: ")


def test_a_value_close_to_nothing_gets_no_suggestion():
    err = config_error({"schedule.name": "zzz", "data.source": "qqq"})
    assert "did you mean" not in str(err)
    assert_problem(err, "schedule.name", "unknown schedule 'zzz' (allowed: constant | step")


SCHEMES = [
    ("tracking.uri", "sqlte:///mlflow.db", "sqlite", {}),
    ("tracking.uri", "htp://127.0.0.1:5000", "http", {}),
    ("tracking.uri", "postgresq+psycopg2://u@db.example.org/mlflow", "postgresql", {}),
    ("parallel.scheduler", "tsl://10.0.0.5:8786", "tls", {"parallel.backend": "dask"}),
    ("parallel.scheduler", "tpc://127.0.0.1:8786", "tcp", {"parallel.backend": "dask"}),
]


@pytest.mark.parametrize(("path", "value", "scheme", "extra"), SCHEMES,
                         ids=[v for _, v, _, _ in SCHEMES])
def test_a_misspelt_uri_scheme_gets_a_suggestion_and_the_accepted_schemes(
    path, value, scheme, extra
):
    # 'sqlte:///mlflow.db' was refused without naming the scheme or suggesting 'sqlite'
    err = config_error({**extra, path: value})
    wrong = value.split(":", 1)[0].split("+", 1)[0]
    assert_problem(err, path, f"scheme {wrong!r}; did you mean {scheme!r}? (allowed: ")
    assert_problem(err, path, f"{scheme}{'://host:port' if 'scheduler' in path else ''} | ")


def test_a_path_or_an_unrelated_scheme_gets_no_scheme_suggestion():
    for uri in ("mlruns", "file:///tmp/mlruns", "C:\\mlruns"):
        err = config_error({"tracking.uri": uri})
        assert "did you mean" not in str(err)
        assert_problem(err, "tracking.uri", "file store is deprecated")
    err = config_error({"tracking.uri": "s3://bucket/mlruns"})
    assert "did you mean" not in str(err)
    assert_problem(err, "tracking.uri", "unknown tracking URI scheme 's3' (allowed: null or a URI")


@pytest.mark.parametrize("uri", ["databricks", "databricks://my-profile"])
def test_a_databricks_uri_is_accepted_as_mlflow_accepts_it(uri):
    # URI_SCHEMES lists databricks, but the bare 'databricks' (the default profile, as MLflow
    # reads it) was refused as a file-store path
    from mlflow.utils.uri import is_databricks_uri

    assert is_databricks_uri(uri)
    assert Params.model_validate(params_dict({"tracking.uri": uri})).tracking.uri == uri


@pytest.mark.parametrize(
    ("pii", "path", "fragment"),
    [
        ({"keep": ["sku"], "drop": ["sku"]}, "data.pii.keep",
         "'sku' also listed under drop: a column kept as it is cannot be dropped (allowed: a "
         "column under keep, or under drop or pseudonymise, not both)"),
        ({"keep": ["b", "a"], "pseudonymise": ["a", "b"]}, "data.pii.keep",
         "'a', 'b' also listed under pseudonymise: a column kept as it is cannot be "
         "pseudonymised"),
        ({"keep": ["sku", "sku"]}, "data.pii.keep", "lists 'sku' twice"),
        ({"keep": ["sku", " "]}, "data.pii.keep[1]", "is empty (allowed: a column name)"),
    ],
)
def test_pii_keep_rules(pii, path, fragment):
    assert_problem(config_error({"data.pii": pii}), path, fragment)


def test_pii_keep_is_accepted_and_not_declared_personal_data():
    pii = validate_params(
        params_dict({"data.pii": {"keep": ["sku"], "drop": ["email"]}})
    ).data.pii
    assert pii.keep == ["sku"] and pii.declared == {"email"}
    assert pii.not_scanned == {"sku", "email"}


@pytest.mark.parametrize(("address", "why"), [
    ("10.0.0.5:8786", "no scheme, e.g. 'tls://10.0.0.5:8786'"),
    ("10.0.0.5", "no scheme, e.g. 'tls://10.0.0.5:8786'"),
    ("tls://10.0.0.5", "no port (a scheduler listens on 8786 unless told otherwise: "
                       "'tls://10.0.0.5:8786')"),
    ("tcp://[::1]", "no port"),
])
def test_a_scheduler_address_without_scheme_or_port_says_which_is_missing(address, why):
    # these got only "is not a Dask scheduler address", with the allowed forms
    err = config_error({"parallel.backend": "dask", "parallel.scheduler": address})
    assert_problem(err, "parallel.scheduler",
                   f"{address!r} is not a Dask scheduler address: {why}")
    assert_problem(err, "parallel.scheduler", "(allowed: tcp://host:port | tls://host:port")


@pytest.mark.parametrize("rank_by", ["train_loss", "val_loss"])
@pytest.mark.parametrize(("vary", "values"), [
    ("model.epsilon", [0.1, 1.0, 3.0]), ("model.loss", ["squared_error", "huber"]),
    ("preprocess.scale_target", [True, False]),
])
def test_compare_refuses_to_rank_losses_in_different_units(vary, values, rank_by):
    # huber with epsilon 0.1 is smaller than with 3.0 whatever the fit: compare declared it
    # the winner on diabetes while its held-out RMSE was the worst
    overrides = {"model.task": "regression", "model.loss": "huber", "compare.vary": vary,
                 "compare.values": values, "compare.rank_by": rank_by}
    err = config_error(overrides)
    assert [p.path for p in err.problems] == ["compare.vary"], str(err)
    assert_problem(err, "compare.vary", f"{vary} with compare.rank_by: {rank_by}: the "
                   "variants' losses would be in different units")
    assert_problem(err, "compare.vary", "compare.rank_by: val_metric")
    params = validate_params(params_dict({**overrides, "compare.rank_by": "val_metric"}))
    assert (params.compare.vary, params.compare.rank_by) == (vary, "val_metric")


def test_compare_of_penalties_ranked_by_training_loss_is_warned_about():
    from gdlab.config.sections.compare import ranked_penalty_warning

    for vary, values in (("model.alpha", [0.0, 0.1]), ("model.l1_ratio", [0.0, 1.0])):
        compare = {"model.alpha": 0.1, "compare.vary": vary, "compare.values": values}
        warning = ranked_penalty_warning(validate_params(params_dict(compare)))
        assert warning is not None and warning.startswith(
            f"compare.vary: {vary} with compare.rank_by: train_loss: the ranked loss is the "
            "training objective, loss + penalty, so the variants with the smaller penalty win "
            "by construction")
        assert "compare.rank_by: val_metric" in warning
        for rank_by in ("val_metric", "val_loss"):  # val_loss: held out, without the penalty
            assert ranked_penalty_warning(validate_params(params_dict(
                {**compare, "compare.rank_by": rank_by}))) is None
    assert ranked_penalty_warning(validate_params(params_dict({}))) is None


@pytest.mark.parametrize(("vary", "values", "why"), [
    ("model.epsilon", [0.1, 1.0, 3.0], "huber is at most half the squared residual and a "
     "smaller epsilon always gives a smaller value"),
    ("model.loss", ["squared_error", "huber"], "squared error and huber are different "
     "functions of the residual"),
    ("preprocess.scale_target", [True, False], "on the standardised target or in the "
     "target's units"),
])
def test_compare_refuses_a_target_loss_for_losses_in_different_units(vary, values, why):
    # one loss value meant a different fit for each variant: huber "reached" a target in the
    # target's units at epoch 1 that squared error never could
    overrides = {"model.task": "regression", "model.loss": "huber", "compare.vary": vary,
                 "compare.values": values, "compare.rank_by": "val_metric",
                 "compare.target_loss": 0.5}
    err = config_error(overrides)
    assert [p.path for p in err.problems] == ["compare.target_loss"], str(err)
    assert_problem(err, "compare.target_loss", f"0.5 with compare.vary: {vary}: the variants' "
                   f"training losses are in different units ({why}), so a single loss value "
                   "cannot be the same target for all of them")
    assert_problem(err, "compare.target_loss", "(allowed: null")
    validate_params(params_dict({**overrides, "compare.target_loss": None}))


def test_compare_keeps_a_target_loss_for_losses_in_the_same_units():
    for overrides in ({"compare.target_loss": 0.5},  # optimizer.name
                      {"model.task": "regression", "model.loss": "squared_error",
                       "compare.vary": "model.epsilon", "compare.values": [0.5, 1.0],
                       "compare.rank_by": "val_metric", "compare.target_loss": 0.5},
                      {"model.task": "classification", "compare.vary": "model.loss",
                       "compare.values": ["log_loss"], "compare.target_loss": 0.5}):
        params = validate_params(params_dict(overrides))
        assert params.compare.target_loss == 0.5
