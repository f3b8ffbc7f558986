"""``preprocess.scale_target``: a regression pipeline trains its gdlab estimator on the
standardised target (scikit-learn's TransformedTargetRegressor), fitted on training targets
only, and everything downstream (curves, scores, trajectory, guidance, persistence, plug-ins,
comparison) works with the wrapped model."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn.metrics as skm
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

from gdlab import GDClassifier, GDRegressor
from gdlab.config import Params
from gdlab.config.plugin_path import import_paths
from gdlab.experiment import (
    as_frame,
    build_pipeline,
    cross_validate,
    fit_pipeline,
    fit_pipeline_rows,
    make_folds,
    score_rows,
)
from gdlab.experiment.compare import Variant, compare_variants
from gdlab.experiment.cv import fold_workers
from gdlab.experiment.persist import load_model, save_model
from gdlab.experiment.trajectory import refit_trajectory
from gdlab.tuning.guidance import lr_guidance

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _params(**changes) -> Params:
    """The schema's defaults (adam, learning rate 0.01, batch 64, 100 epochs) on diabetes."""
    data = {"data": {"source": "diabetes"}, "model": {"task": "regression"}}
    for key, value in changes.items():
        section, leaf = key.split(".")
        data.setdefault(section, {})[leaf] = value
    return Params.model_validate(data)


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)  # target mean ~152, std ~77
    return train_test_split(X, y, test_size=0.2, random_state=42)


def _lstsq_rmse(X_tr, X_te, y_tr, y_te) -> float:
    w = np.linalg.lstsq(np.c_[np.ones(len(X_tr)), X_tr], y_tr, rcond=None)[0]
    return float(np.sqrt(np.mean((np.c_[np.ones(len(X_te)), X_te] @ w - y_te) ** 2)))


def _rmse(model, X, y) -> float:
    return float(np.sqrt(skm.mean_squared_error(y, model.predict(X))))


def test_regression_pipelines_scale_the_target_by_default_classification_never():
    assert _params().preprocess.scale_target is True
    step = build_pipeline(_params()).named_steps["model"]
    assert isinstance(step, TransformedTargetRegressor)
    assert isinstance(step.regressor, GDRegressor)
    assert isinstance(build_pipeline(_params(**{"preprocess.scale_target": False}))
                      .named_steps["model"], GDRegressor)
    classifier = Params.model_validate({"preprocess": {"scale_target": True}})
    assert isinstance(build_pipeline(classifier).named_steps["model"], GDClassifier)


@pytest.mark.parametrize("path", ["refit", "fold rows"])
def test_default_adam_on_diabetes_gets_within_10_percent_of_least_squares(diabetes, path):
    X_tr, X_te, y_tr, y_te = diabetes
    reference = _lstsq_rmse(X_tr, X_te, y_tr, y_te)  # ~54 (the target's std is ~77)
    pipeline = build_pipeline(_params())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if path == "refit":  # the train stage's refit: named columns
            model = fit_pipeline(pipeline, as_frame(X_tr, [f"x{i}" for i in range(10)]),
                                 y_tr).model
            X_te = as_frame(X_te, [f"x{i}" for i in range(10)])
        else:  # a fold: row views of a shared X
            X = np.vstack([X_tr, X_te])
            y = np.concatenate([y_tr, y_te])
            model = fit_pipeline_rows(pipeline, X, y, np.arange(len(y_tr))).model
    assert _rmse(model, X_te, y_te) < 1.1 * reference
    unscaled = fit_pipeline(build_pipeline(_params(**{"preprocess.scale_target": False})),
                            X_tr, y_tr).model
    assert _rmse(unscaled, X_te, y_te) > 2 * reference  # what the default used to give


@pytest.mark.parametrize("path", ["copy", "views"])
def test_target_scaler_is_fitted_on_the_training_targets_only(diabetes, path):
    X_tr, X_te, y_tr, y_te = diabetes
    X, y = np.vstack([X_tr, X_te]), np.concatenate([y_tr, y_te])
    train, val = np.arange(len(y_tr)), np.arange(len(y_tr), len(y))
    pipeline = build_pipeline(_params(**{"train.max_epochs": 5}))
    if path == "copy":
        outcome = fit_pipeline(pipeline, X_tr, y_tr, eval_set=(X_te, y_te))
    else:
        outcome = fit_pipeline_rows(pipeline, X, y, train, val)
    from gdlab.experiment.target import final_estimator

    step = outcome.model.named_steps["model"]
    scaler = step.transformer_
    np.testing.assert_allclose(scaler.mean_, [y_tr.mean()])
    np.testing.assert_allclose(scaler.scale_, [y_tr.std()])
    assert scaler.n_samples_seen_ == len(y_tr)
    # the curves are the inner estimator's, on the target scaled by the training statistics
    inner = final_estimator(outcome.model)
    assert inner is step.regressor_
    Xt_val = outcome.model.named_steps["preprocess"].transform(X_te)
    z_val = (y_te - y_tr.mean()) / y_tr.std()
    expected = 0.5 * np.mean((inner.predict(Xt_val) - z_val) ** 2)
    assert outcome.curves["val_loss"][-1] == pytest.approx(expected, rel=1e-6)
    assert outcome.curves["train_loss"][-1] < 1.0  # standardised units, not ~12000


def test_scores_are_in_target_units(diabetes):
    X_tr, X_te, y_tr, y_te = diabetes
    X, y = np.vstack([X_tr, X_te]), np.concatenate([y_tr, y_te])
    train, val = np.arange(len(y_tr)), np.arange(len(y_tr), len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit_pipeline_rows(build_pipeline(_params()), X, y, train, val).model
    predictions = model.predict(X_te)
    assert abs(predictions.mean() - y_te.mean()) < 20  # target units (mean ~150), not ~0
    scores = score_rows(model, X, y, val, "regression")
    assert scores["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y_te, predictions)))
    assert scores["mae"] == pytest.approx(skm.mean_absolute_error(y_te, predictions))
    assert scores["r2"] == pytest.approx(skm.r2_score(y_te, predictions))
    assert scores["rmse"] > 30  # not on the standardised scale (~0.7)


def test_the_wrapper_fitted_by_parts_equals_its_own_fit(diabetes):
    X_tr, X_te, y_tr, _ = diabetes
    pipeline = build_pipeline(_params(**{"train.max_epochs": 10}))
    ours = fit_pipeline(pipeline, X_tr, y_tr).model
    theirs = pipeline.fit(X_tr, y_tr)  # TransformedTargetRegressor.fit itself
    np.testing.assert_array_equal(ours.predict(X_te), theirs.predict(X_te))
    assert ours.predict(X_te).shape == theirs.predict(X_te).shape == (len(X_te),)
    ours_step, theirs_step = ours.named_steps["model"], theirs.named_steps["model"]
    np.testing.assert_array_equal(ours_step.transformer_.mean_, theirs_step.transformer_.mean_)
    assert ours_step._training_dim == theirs_step._training_dim


def test_the_saved_model_loads_back_and_predicts_identically(diabetes, tmp_path):
    X_tr, X_te, y_tr, _ = diabetes
    names = [f"x{i}" for i in range(10)]
    model = fit_pipeline(build_pipeline(_params(**{"train.max_epochs": 10})),
                         as_frame(X_tr, names), y_tr).model
    save_model(model, tmp_path / "model.skops")
    loaded = load_model(tmp_path / "model.skops")
    assert isinstance(loaded.named_steps["model"], TransformedTargetRegressor)
    frame = as_frame(X_te, names)
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))


def test_a_plugin_optimizer_inside_the_wrapper_is_named_and_trusted(diabetes, tmp_path):
    X_tr, _, y_tr, _ = diabetes
    params = _params(**{"optimizer.name": "examples.lion:lion", "train.max_epochs": 3})
    pipeline = build_pipeline(params)
    assert import_paths(pipeline) == ["examples.lion:lion"]
    model = fit_pipeline(pipeline, X_tr, y_tr).model
    assert import_paths(model) == ["examples.lion:lion"]
    save_model(model, tmp_path / "lion.skops")
    loaded = load_model(tmp_path / "lion.skops", plugins=["examples.lion:lion"])
    np.testing.assert_array_equal(loaded.predict(X_tr), model.predict(X_tr))


def test_cross_validation_reads_the_inner_estimator(diabetes, monkeypatch):
    from gdlab.experiment.target import scales_target

    monkeypatch.setenv("CI", "1")
    X_tr, _, y_tr, _ = diabetes
    pipeline = build_pipeline(_params(**{"train.max_epochs": 4}))
    assert scales_target(pipeline)
    assert fold_workers(pipeline) == fold_workers(
        build_pipeline(_params(**{"train.max_epochs": 4, "preprocess.scale_target": False})))
    folds = make_folds(y_tr, 3, task="regression", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = cross_validate(pipeline, X_tr, y_tr, folds, task="regression")
    assert cv.target_scaled
    assert [f.n_iter for f in cv.folds] == [4, 4, 4]
    assert all(f.curves["train_loss"][-1] < 1.0 for f in cv.folds)
    assert all(f.scores["rmse"] > 30 for f in cv.folds)  # target units


def test_the_trajectory_runs_on_the_scaled_target_and_ends_at_the_refit(diabetes):
    from gdlab.experiment.target import final_estimator

    X_tr, _, y_tr, _ = diabetes
    params = _params(**{"train.max_epochs": 6, "train.tol": None})
    refit = fit_pipeline(build_pipeline(params), X_tr, y_tr)
    trajectory = refit_trajectory(params, X_tr, y_tr, n_iter=refit.n_iter)
    assert trajectory.target_scaled
    inner = final_estimator(refit.model)
    end = np.concatenate([np.ravel(p) for p in inner.params_])
    np.testing.assert_allclose(trajectory.points[-1], end, rtol=1e-9, atol=1e-12)
    assert trajectory.losses()[-1] == pytest.approx(refit.curves["train_loss"][-1], rel=0.2)


def test_lr_guidance_runs_the_range_test_on_the_scaled_target(diabetes):
    X_tr, _, y_tr, _ = diabetes
    guidance = lr_guidance(_params(), X_tr, y_tr, num_steps=30)
    # half the mean squared standardised target at the start (~0.5), not ~0.5 * E[y^2]
    assert guidance.range_test.losses[0] < 2.0
    unscaled = lr_guidance(_params(**{"preprocess.scale_target": False}), X_tr, y_tr,
                           num_steps=30)
    assert unscaled.range_test.losses[0] > 1000
    assert guidance.smoothness == pytest.approx(unscaled.smoothness)  # L does not depend on y


def test_compare_runs_wrapped_variants(diabetes, monkeypatch):
    monkeypatch.setenv("CI", "1")
    X_tr, _, y_tr, _ = diabetes
    variants = [
        Variant(name, name, _params(**{"optimizer.name": name, "train.max_epochs": 3}))
        for name in ("sgd", "adam")
    ]
    comparison = compare_variants(variants, X_tr, y_tr, vary="optimizer.name",
                                  task="regression", folds=2, seed=0, trajectories=True)
    for v in comparison.variants:
        assert v.target_scaled and len(v.folds) == 2 and not v.diverged
        assert v.trajectory is not None and v.trajectory.target_scaled


def test_compare_refuses_to_rank_scaled_against_unscaled_losses():
    with pytest.raises(ValueError, match="compare.vary: .*different units"):
        Params.model_validate({
            "data": {"source": "diabetes"}, "model": {"task": "regression"},
            "compare": {"vary": "preprocess.scale_target", "values": [True, False]},
        })
    # ranked by the held-out rmse, in the target's units for both: accepted
    accepted = Params.model_validate({
        "data": {"source": "diabetes"}, "model": {"task": "regression"},
        "compare": {"vary": "preprocess.scale_target", "values": [True, False],
                    "rank_by": "val_metric"},
    })
    assert accepted.compare.vary == "preprocess.scale_target"
    # classification ignores the key: two identical variants
    with pytest.raises(ValueError, match="compare.vary: classification ignores it"):
        Params.model_validate({
            "compare": {"vary": "preprocess.scale_target", "values": [True, False]},
        })


def test_tune_epoch_lines_give_the_wrapped_estimators_max_epochs(diabetes, monkeypatch, capsys):
    from types import SimpleNamespace

    from gdlab.experiment import progress
    from gdlab.tuning.objective import CVObjective

    X_tr, _, y_tr, _ = diabetes
    params = _params(**{"train.max_epochs": 7})
    folds = make_folds(y_tr, 3, task="regression", seed=0)
    objective = CVObjective(params, X_tr, y_tr, folds, None, "rmse", False, progress="tune")
    (line,) = objective._lines(SimpleNamespace(number=0), build_pipeline(params), folds[0])
    monkeypatch.setattr(progress, "LOG_EVERY", 0.0)  # print the first epoch's line at once
    line({"epoch": 4, "loss": 0.5})
    assert "[tune: trial 0 fold 1/3] epoch 5/7 loss 0.5" in capsys.readouterr().err


@pytest.mark.parametrize(("section", "key"), [
    ("model", "epsilon"), ("train", "tol"), ("compare", "target_loss"),
])
def test_keys_measured_on_the_loss_say_they_are_on_the_standardised_target(section, key):
    # their meaning changes with preprocess.scale_target: a tol or target loss chosen for the
    # raw target's loss (diabetes: ~6000 at the start) is std**2 times too large
    description = Params.model_fields[section].annotation.model_fields[key].description
    assert "preprocess.scale_target" in description
    scale_target = Params.model_fields["preprocess"].annotation.model_fields["scale_target"]
    assert f"{section}.{key}" in scale_target.description or key in scale_target.description


def test_a_linear_models_l2_penalty_gives_the_same_fit_scaled_or_not(diabetes):
    # what the README says of model.alpha: the ridge solution is linear in y, so training on
    # the standardised target and mapping back is sklearn's Ridge on the raw target, same alpha
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    X_tr, _, y_tr, _ = diabetes
    alpha = 0.5
    params = _params(**{"model.alpha": alpha, "optimizer.name": "sgd",
                        "optimizer.learning_rate": 0.3, "train.batch_size": None,
                        "train.max_epochs": 2000, "train.tol": None})
    model = fit_pipeline(build_pipeline(params), X_tr, y_tr).model
    Xs = StandardScaler().fit_transform(X_tr)
    ridge = Ridge(alpha=alpha * len(y_tr)).fit(Xs, y_tr)  # sum of squares + alpha ||w||^2
    np.testing.assert_allclose(model.predict(X_tr), ridge.predict(Xs), rtol=0, atol=1e-8)
