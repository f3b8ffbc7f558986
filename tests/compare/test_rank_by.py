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


def _huber_epsilons():
    """Diabetes, the huber loss at three epsilons: huber is at most half the squared residual
    and a smaller epsilon always gives a smaller value, so the losses are in different units."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    params = with_overrides(Params(), {
        "model.task": "regression", "model.loss": "huber", "cv.folds": FOLDS,
        "train.max_epochs": 60, "train.tol": None,
        "compare.vary": "model.epsilon", "compare.values": [0.1, 1.0, 3.0],
        "compare.rank_by": "val_metric",
    })
    return params, X, y


def _independent_rmse(params, variants, X, y):
    """Each variant's pipeline fitted by scikit-learn's own ``fit`` on the comparison's folds,
    its held-out RMSE by scikit-learn's ``mean_squared_error``: ``{label: {fold: rmse}}``."""
    from sklearn.base import clone
    from sklearn.metrics import mean_squared_error

    from gdlab.data.copies import copy_groups
    from gdlab.experiment.folds import make_folds
    from gdlab.experiment.model import build_pipeline

    splits = make_folds(y, FOLDS, task="regression", seed=params.seed, groups=copy_groups(X, y))
    out = {}
    for v in variants:
        out[v.label] = {}
        for fold in splits:
            model = clone(build_pipeline(v.params)).fit(X[fold.train_idx], y[fold.train_idx])
            predicted = model.predict(X[fold.val_idx])
            out[v.label][fold.index] = float(np.sqrt(mean_squared_error(y[fold.val_idx],
                                                                        predicted)))
    return out


def test_rank_by_val_metric_ranks_huber_epsilons_by_held_out_rmse_in_target_units():
    # val_loss ranked epsilon=0.1 first (and declared it the winner): its huber values are the
    # smallest by construction, while its predictions were the worst in the target's units
    params, X, y = _huber_epsilons()
    comparison = compare_variants(plan_variants(params), X, y, vary="model.epsilon",
                                  task="regression", folds=FOLDS, seed=params.seed, n_jobs=1,
                                  trajectories=False, rank_by="val_metric")
    summary = comparison.summary()
    rmse = _independent_rmse(params, comparison.variants, X, y)
    means = {label: np.mean(list(folds.values())) for label, folds in rmse.items()}
    assert summary["ranking"] == sorted(means, key=means.get)
    assert summary["ranking"][-1] == "epsilon=0.1"  # the smallest huber loss, the worst rmse
    by_loss = compare_variants(plan_variants(params), X, y, vary="model.epsilon",
                               task="regression", folds=FOLDS, seed=params.seed, n_jobs=1,
                               trajectories=False, rank_by="val_loss").summary()
    assert by_loss["ranking"][0] == "epsilon=0.1"
    best = summary["ranking"][0]
    for label, row in summary["variants"].items():
        assert row["val_rmse"] == pytest.approx(means[label], rel=1e-9)
        assert row["val_rmse_std"] == pytest.approx(np.std(list(rmse[label].values())),
                                                    rel=1e-6)
        if label != best:  # the fold-by-fold gaps are in rmse too
            gaps = [rmse[label][k] - rmse[best][k] for k in rmse[best]]
            assert row["gap_to_best"] == pytest.approx(np.mean(gaps), rel=1e-6)
            assert row["folds_behind_best"] == sum(g > 0 for g in gaps)
    assert summary["rank_by"] == "val_metric" and summary["val_metric"] == "rmse"
    assert "held-out rmse" in summary["metric"] and "target's units" in summary["metric"]
    assert "its final held-out rmse is lower on every fold" in summary["winner_rule"]
    table = summary_markdown(summary)
    assert "| held-out rmse (mean ± std) |" in table
    assert "gap to the best per fold (held-out rmse;" in table


def test_the_table_shows_the_held_out_metric_whatever_ranks():
    params, X, y = _overfitting_problem()
    summary = _compare(params, X, y, "train_loss").summary()
    table = summary_markdown(summary)
    assert "| held-out rmse (mean ± std) |" in table
    for label, row in summary["variants"].items():
        line = next(r for r in table.splitlines() if r.startswith(f"| {row['rank']} | {label} |"))
        assert f"| {row['val_rmse']:.4g} ± {row['val_rmse_std']:.2g} |" in line
