"""A fold's divergence crosses the worker boundary, and its message names what to look at."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from gdlab.core.loop import DivergenceError
from gdlab.experiment.faults import FoldDivergence, explain_divergence

# one heavy-tailed column (an outlier far out once standardised) beside the raw-largest one
RNG = np.random.default_rng(0)
X = np.column_stack([RNG.normal(0, 100, 500), RNG.normal(0, 0.1, 500)])
X[7, 1] = 5.0  # column b: small in raw units, 50 standard deviations out


def test_a_fold_divergence_pickles_with_its_message_and_advice():
    exc = pickle.loads(pickle.dumps(FoldDivergence("fold 2/5", 4, 5.0, 1e46)))
    assert str(exc).startswith("fold 2/5: Training diverged at epoch 4")
    assert exc.advice in str(exc) and (exc.epoch, exc.learning_rate) == (4, 5.0)


def test_unscaled_features_name_the_raw_largest_and_say_standardize_is_off():
    msg = str(explain_divergence(DivergenceError(4, 5.0, 1e46), X, ["a", "b"], False))
    assert "Largest feature: 'a'" in msg and "preprocess.standardize is false" in msg
    assert "scale the features (standardize)" in msg


def test_standardised_features_name_the_largest_as_the_model_saw_it_and_drop_that_advice():
    """With preprocess.standardize on, the message told the user to scale the features and
    named the column largest in raw units, which the model never saw."""
    msg = str(explain_divergence(FoldDivergence("fold 1/3", 4, 5.0, 1e46), X, ["a", "b"], True))
    assert msg.startswith("fold 1/3: Training diverged at epoch 4")
    assert "scale the features" not in msg and "standardised already" in msg
    z = np.abs((X[:, 1] - X[:, 1].mean()) / X[:, 1].std()).max()
    assert f"Largest standardised feature: 'b' (|z| up to {z:.3g})" in msg
    assert "e.g. 0.5" in msg and "optimizer.clip_norm" in msg


def test_a_fold_whose_gradient_overflowed_says_so_after_crossing_the_worker_boundary():
    """cross_validate re-raised the engine's error without its ``overflow``: a CV fold on
    features of ~1e300 said "Try a smaller learning rate" where a plain fit says to scale."""
    from gdlab.experiment import cross_validate, make_folds

    from .conftest import make_pipeline

    rng = np.random.default_rng(0)
    X_big = rng.normal(size=(60, 2)) * 1e300
    y = rng.normal(size=60)
    pipeline = make_pipeline("regression")
    pipeline.set_params(preprocess="passthrough")
    folds = make_folds(y, 2, task="regression", seed=0)
    try:
        cross_validate(pipeline, X_big, y, folds, task="regression", n_jobs=2, progress=False)
    except DivergenceError as exc:
        raised = exc
    assert isinstance(raised, FoldDivergence) and raised.overflow == "gradient"
    assert "the gradient overflowed" in str(raised) and "Scale the features" in str(raised)
    again = pickle.loads(pickle.dumps(raised))
    assert again.overflow == "gradient" and str(again) == str(raised)


def test_a_held_out_outlier_names_the_validation_rows_and_keeps_that_advice():
    """A fold whose held-out rows hold an outlier (training rows fine): standardised, the
    message replaced the advice with "Try a smaller learning rate ... standardised already";
    now it names the validation rows, keeps their advice and the largest feature."""
    from gdlab.experiment import cross_validate, make_folds

    from .conftest import make_pipeline

    rng = np.random.default_rng(0)
    X_out = rng.normal(size=(60, 2))
    X_out[7, 1] = 1e200
    y = rng.normal(size=60)
    folds = make_folds(y, 3, task="regression", seed=0)
    with pytest.raises(DivergenceError) as info:
        cross_validate(make_pipeline("regression"), X_out, y, folds, task="regression",
                       n_jobs=1, progress=False)
    assert info.value.overflow == "validation"
    msg = str(explain_divergence(info.value, X_out, ["a", "b"], True))
    assert "the loss on the validation rows" in msg and "not the cause" in msg
    assert "standardised already" not in msg and "Largest standardised feature: 'b'" in msg
