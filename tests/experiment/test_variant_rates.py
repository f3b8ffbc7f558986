"""``compare.learning_rate: lr_find``: every variant trains at the rate gdlab's LR range test
suggests for it on the first fold's training rows (params.yaml's rate when it suggests none),
and the summary says which rate each used and by which rule."""

from __future__ import annotations

import numpy as np
import pytest

from gdlab import lr_range_test
from gdlab.config import Params, with_overrides
from gdlab.experiment import build_pipeline
from gdlab.experiment.compare import compare_variants, plan_variants
from gdlab.experiment.folds import make_folds
from gdlab.reporting.compare import metrics_summary, summary_markdown

FOLDS = 3


def _params(**overrides):
    return with_overrides(Params(), {
        "model.task": "regression", "cv.folds": FOLDS, "train.max_epochs": 15,
        "train.batch_size": None, "compare.values": ["sgd", "adam"], **overrides,
    })


def _linear(noise_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """300 rows of 5 standardised features: a linear target (or noise independent of X)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = rng.normal(size=300) if noise_only else X @ rng.normal(size=5) + 0.1 * rng.normal(
        size=300)
    return X, y


def _compare(params, X, y):
    return compare_variants(plan_variants(params), X, y, vary=params.compare.vary,
                            task="regression", folds=FOLDS, seed=params.seed, n_jobs=1,
                            trajectories=False, learning_rate=params.compare.learning_rate)


def _first_fold_rows(params, y):
    return make_folds(y, FOLDS, task="regression", seed=params.seed)[0].train_idx


def test_lr_find_trains_each_variant_at_its_own_range_test_suggestion():
    X, y = _linear()
    params = _params(**{"compare.learning_rate": "lr_find"})
    rows = _first_fold_rows(params, y)
    # the reference: gdlab's LR range test called on each variant's own pipeline
    expected = {v.label: lr_range_test(build_pipeline(v.params), X[rows], y[rows]).suggestion
                for v in plan_variants(params)}
    assert expected["sgd"] > 5 * expected["adam"]  # the two want rates about 10x apart

    comparison = _compare(params, X, y)
    summary = comparison.summary()
    for v in comparison.variants:
        assert v.params.optimizer.learning_rate == pytest.approx(expected[v.label])
        # it trained at that rate: the per-epoch learning rate of every fold is it
        for fold in v.folds:
            assert fold.curves["learning_rate"][0] == pytest.approx(expected[v.label])
        row = summary["variants"][v.label]
        assert row["learning_rate"] == pytest.approx(expected[v.label])
        assert row["learning_rate_source"] == "lr_find"
    assert "LR range test" in summary["learning_rate_rule"]
    assert f"first fold's {len(rows)} training rows" in summary["learning_rate_rule"]
    table = summary_markdown(summary)
    assert f"| sgd | {expected['sgd']:.4g} (lr_find) |" in table
    assert "Learning rate: each variant at the learning rate its own LR range test" in table
    # the same again: the sweep is seeded
    again = _compare(params, X, y)
    assert [v.learning_rate for v in again.variants] == [
        v.learning_rate for v in comparison.variants]


def test_shared_rate_is_params_yaml_and_the_summary_says_what_that_means():
    X, y = _linear()
    params = _params()
    summary = _compare(params, X, y).summary()
    assert {row["learning_rate"] for row in summary["variants"].values()} == {
        params.optimizer.learning_rate}
    assert {row["learning_rate_source"] for row in summary["variants"].values()} == {"shared"}
    rule = summary["learning_rate_rule"]
    assert rule.startswith(f"every variant at the same optimizer.learning_rate "
                           f"{params.optimizer.learning_rate:g} from params.yaml")
    assert "compare.learning_rate: lr_find gives each variant its own" in rule


def test_lr_find_keeps_params_yaml_rate_when_the_range_test_finds_no_descent():
    X, y = _linear(noise_only=True)  # nothing to learn: the sweep's loss never falls
    params = _params(**{"compare.learning_rate": "lr_find"})
    rows = _first_fold_rows(params, y)
    for v in plan_variants(params):
        assert not lr_range_test(build_pipeline(v.params), X[rows], y[rows]).descended
    summary = _compare(params, X, y).summary()
    for label, row in summary["variants"].items():
        assert row["learning_rate"] == params.optimizer.learning_rate, label
        assert row["learning_rate_source"] == "fallback"
        assert "found no descent" in row["learning_rate_note"]
    table = summary_markdown(summary)
    assert (f"| sgd | {params.optimizer.learning_rate:g} (params.yaml's "
            f"{params.optimizer.learning_rate:g}: the LR range test found no descent") in table
    # the reason is a sentence: in summary.md, not in the DVC metrics file
    assert all("learning_rate_note" not in row
               for row in metrics_summary(summary)["variants"].values())
