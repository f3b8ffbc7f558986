"""``compare.rank_by``: the ranking, the verdict and the gaps by the folds' final validation
loss instead of the training loss; the validation loss (mean ± std) shown either way, so a
variant that over-fits is visible."""

from __future__ import annotations

import numpy as np
import pytest

from gdlab.config import Params, with_overrides
from gdlab.experiment.compare import compare_variants, plan_variants
from gdlab.reporting.compare import summary_markdown

FOLDS = 3


def _overfitting_problem():
    """60 rows, 30 features, one of them informative: unpenalised least squares fits the
    noise of its 40 training rows, a ridge penalty does not."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 30))
    y = X[:, 0] + rng.normal(size=60)
    params = with_overrides(Params(), {
        "model.task": "regression", "cv.folds": FOLDS, "train.max_epochs": 100,
        "train.tol": None, "train.batch_size": None, "optimizer.learning_rate": 0.05,
        "compare.vary": "model.alpha", "compare.values": [0.0, 0.3],
    })
    return params, X, y


def _compare(params, X, y, rank_by):
    return compare_variants(plan_variants(params), X, y, vary="model.alpha",
                            task="regression", folds=FOLDS, seed=params.seed, n_jobs=1,
                            trajectories=False, rank_by=rank_by)


def _last(values):
    finite = [v for v in values if v is not None and np.isfinite(v)]
    return finite[-1]


def test_rank_by_val_loss_ranks_the_variant_that_generalises_first():
    params, X, y = _overfitting_problem()
    by_train = _compare(params, X, y, "train_loss").summary()
    comparison = _compare(params, X, y, "val_loss")
    summary = comparison.summary()
    # the reference: each fold's final validation loss, from the per-fold results
    val = {v.label: {f.fold: _last(f.curves["val_loss"]) for f in v.folds}
           for v in comparison.variants}
    means = {label: np.mean(list(finals.values())) for label, finals in val.items()}
    assert summary["ranking"] == sorted(means, key=means.get) == ["alpha=0.3", "alpha=0.0"]
    assert by_train["ranking"] == ["alpha=0.0", "alpha=0.3"]  # the over-fitting one first
    best, other = summary["ranking"]
    gaps = [val[other][k] - val[best][k] for k in val[best]]
    row = summary["variants"][other]
    assert row["gap_to_best"] == pytest.approx(np.mean(gaps))
    assert row["gap_to_best_std"] == pytest.approx(np.std(gaps))
    assert row["folds_behind_best"] == sum(g > 0 for g in gaps)
    assert row["folds_behind_best"] == FOLDS and np.mean(gaps) > np.std(gaps)
    assert summary["winner"] == best  # behind on every fold, by more than the gaps' spread
    assert summary["rank_by"] == "val_loss"
    assert summary["metric"].startswith("mean validation loss over the CV folds")
    assert "its final validation loss is lower on every fold" in summary["winner_rule"]
    for label, finals in val.items():
        assert summary["variants"][label]["final_val_loss"] == pytest.approx(means[label])
        assert summary["variants"][label]["final_val_loss_std"] == pytest.approx(
            np.std(list(finals.values())))


def test_the_table_shows_the_validation_loss_whatever_ranks():
    params, X, y = _overfitting_problem()
    summary = _compare(params, X, y, "train_loss").summary()
    table = summary_markdown(summary)
    assert "final validation loss (mean ± std)" in table
    assert "gap to the best per fold (training loss;" in table
    for label, row in summary["variants"].items():
        line = next(r for r in table.splitlines() if r.startswith(f"| {row['rank']} | {label} |"))
        assert f"{row['final_val_loss']:.4g} ± {row['final_val_loss_std']:.2g}" in line


def test_with_early_stopping_the_ranked_validation_loss_is_said_to_be_the_inner_split():
    # the fold stopped on (and kept the weights of) its own validation_fraction: the
    # val_loss curve is that split's, not the held-out rows'
    params, X, y = _overfitting_problem()
    stopping = with_overrides(params, {"train.early_stopping": True, "train.tol": 1e-4})
    metric = _compare(stopping, X, y, "val_loss").summary()["metric"]
    assert "with train.early_stopping: the validation_fraction of each fold's training rows" \
        in metric
    assert "held-out rows, loss" in _compare(params, X, y, "val_loss").summary()["metric"]
