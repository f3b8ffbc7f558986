"""``model.class_weight`` reaches the estimator the pipeline builds: the linear and the MLP
classifier, the tune stage's trials and the compare stage's variants (all built by
``build_pipeline``) weigh the classes as ``GDClassifier(class_weight=...)`` does, a mapping as
the equivalent sample weights (scikit-learn's compute_class_weight / compute_sample_weight)."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight

from gdlab import GDClassifier
from gdlab.config import validate_params, with_overrides
from gdlab.experiment import build_pipeline, cross_validate, make_folds
from gdlab.experiment.compare import compare_variants, plan_variants
from gdlab.tuning.objective import CVObjective
from gdlab.tuning.space import Space

TRAIN = {"batch_size": 32, "max_epochs": 20, "tol": None}


@pytest.fixture(scope="module")
def fraud():
    """400 rows, 8% of them 'fraud', shifted along the first two features."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    is_fraud = rng.random(400) < 0.08
    X[is_fraud, 0] += 1.5
    X[is_fraud, 1] -= 1.0
    return X, np.where(is_fraud, "fraud", "ok")


def _params(class_weight, kind="linear", **sections):
    model = {"kind": kind, "class_weight": class_weight}
    if kind == "mlp":
        model["hidden_layer_sizes"] = [4]
    return validate_params({"model": model, "train": TRAIN, **sections})


def _by_hand(kind: str, seed: int, **weights) -> GDClassifier:
    """GDClassifier with params.yaml's defaults spelled out (adam at 0.01, alpha 1e-4)."""
    return GDClassifier(model=kind, hidden_layer_sizes=(4,), optimizer="adam",
                        learning_rate=0.01, alpha=1e-4, random_state=seed, **TRAIN, **weights)


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_balanced_pipeline_is_the_balanced_classifier(fraud, kind):
    X, y = fraud
    params = _params("balanced", kind)
    model = build_pipeline(params).fit(X, y)
    assert model.named_steps["model"].class_weight == "balanced"

    Xs = StandardScaler().fit_transform(X)
    balanced = _by_hand(kind, params.seed, class_weight="balanced").fit(Xs, y)
    unweighted = _by_hand(kind, params.seed).fit(Xs, y)
    got = model.predict_proba(X)
    np.testing.assert_allclose(got, balanced.predict_proba(Xs), rtol=1e-10, atol=1e-12)
    assert not np.allclose(got, unweighted.predict_proba(Xs), atol=1e-3)  # weights changed it


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_a_mapping_weighs_the_classes_as_the_equivalent_sample_weights(fraud, kind):
    X, y = fraud
    classes = np.unique(y)
    weights = compute_class_weight("balanced", classes=classes, y=y)
    mapping = {str(c): float(w) for c, w in zip(classes, weights, strict=True)}
    assert mapping["fraud"] > 5 * mapping["ok"]  # the case at hand: a rare class

    got = build_pipeline(_params(mapping, kind)).fit(X, y)
    balanced = build_pipeline(_params("balanced", kind)).fit(X, y)
    sampled = build_pipeline(_params(None, kind)).fit(
        X, y, model__sample_weight=compute_sample_weight("balanced", y))
    for other in (balanced, sampled):
        np.testing.assert_allclose(got.predict_proba(X), other.predict_proba(X), rtol=1e-9,
                                   atol=1e-12)


def test_a_tuning_trial_trains_with_the_searched_class_weight(fraud):
    X, y = fraud
    params = _params(None, tune={"enabled": True, "heatmap": {"enabled": False},
                                 "metric": "balanced_accuracy",
                                 "space": {"model.class_weight": {"choices": ["balanced"]}}},
                     cv={"folds": 3, "n_jobs": 1})
    folds = make_folds(y, 3, task="classification", seed=params.seed)
    objective = CVObjective(params, X, y, folds, Space.from_config(params.tune.space),
                            "log_loss", False)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study().optimize(objective, n_trials=1)
    assert objective.last.state == "COMPLETE"

    def scores(class_weight):
        alone = with_overrides(params, {"model.class_weight": class_weight, "tune.enabled": False})
        cv = cross_validate(build_pipeline(alone), X, y, folds, task="classification",
                            progress=False)
        return [f.scores["log_loss"] for f in cv.folds]

    assert objective.last.fold_scores == pytest.approx(scores("balanced"), rel=1e-12)
    assert objective.last.fold_scores != pytest.approx(scores(None), rel=1e-3)


def test_compare_variants_train_with_their_class_weight(fraud):
    """The variants are ranked by compare.metric, the higher first for balanced accuracy (the
    held-out log loss, which no weights win by construction, is refused by validation)."""
    X, y = fraud
    params = _params(None, compare={"enabled": True, "vary": "model.class_weight",
                                    "values": [None, "balanced"], "rank_by": "val_metric",
                                    "metric": "balanced_accuracy"},
                     cv={"folds": 3, "n_jobs": 1})
    variants = plan_variants(params)
    comparison = compare_variants(variants, X, y, vary="model.class_weight",
                                  task="classification", folds=3, seed=params.seed,
                                  trajectories=False, rank_by="val_metric",
                                  metric=params.compare.resolved_metric("classification"))
    folds = make_folds(y, 3, task="classification", seed=params.seed)
    by_value = {}
    for value in (None, "balanced"):
        alone = with_overrides(params, {"model.class_weight": value})
        cv = cross_validate(build_pipeline(alone), X, y, folds, task="classification",
                            progress=False)
        by_value[value] = [f.scores["balanced_accuracy"] for f in cv.folds]
    for variant in variants:
        got = comparison.variant(variant.label).fold_scores("balanced_accuracy")
        assert list(got.values()) == pytest.approx(by_value[variant.value], rel=1e-12)
    assert np.mean(by_value["balanced"]) > np.mean(by_value[None]) + 0.05
    summary = comparison.summary()
    assert summary["ranking"] == ["class_weight=balanced", "class_weight=null"]
    gaps = np.subtract(by_value["balanced"], by_value[None])  # how far null is behind
    assert summary["variants"]["class_weight=null"]["gap_to_best"] == pytest.approx(gaps.mean())
    assert summary["val_metric"] == "balanced_accuracy"
