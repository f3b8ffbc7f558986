"""A comparison whose variants' training losses are in different units (``model.loss``,
huber's ``model.epsilon``, ``preprocess.scale_target``) has no target loss: no epochs or time
to target in the summary, the table, the MLflow runs or the overlay, and the summary says why;
any other comparison keeps its target."""

from __future__ import annotations

import json

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from gdlab.config import Params, with_overrides
from gdlab.experiment.compare import compare_variants, plan_variants
from gdlab.reporting.compare import write_comparison
from gdlab.tracking.compare import log_comparison

FOLDS = 3


def _unscaled_regression(vary: str, values: list) -> tuple[Params, np.ndarray, np.ndarray]:
    """60 rows of a linear target around 5000 (std ~100), trained on its raw units."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = 5000.0 + X @ np.array([60.0, -40.0, 20.0]) + rng.normal(scale=5.0, size=60)
    params = with_overrides(Params(), {
        "model.task": "regression", "preprocess.scale_target": False, "cv.folds": FOLDS,
        "train.max_epochs": 30, "train.tol": None, "train.batch_size": None,
        "optimizer.name": "adam", "optimizer.learning_rate": 0.5,
        "compare.vary": vary, "compare.values": values, "compare.rank_by": "val_metric",
    })
    return params, X, y


def _compare(params: Params, X: np.ndarray, y: np.ndarray, target_loss=None):
    return compare_variants(plan_variants(params), X, y, vary=params.compare.vary,
                            task="regression", folds=FOLDS, seed=params.seed, n_jobs=1,
                            trajectories=False, rank_by="val_metric", target_loss=target_loss)


def _child_metrics(tmp_path, comparison) -> dict[str, dict[str, float]]:
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment_id = client.create_experiment("compare")
    parent = client.create_run(experiment_id)
    run_ids = log_comparison(client, experiment_id, parent.info.run_id, comparison,
                             flat_params={v.label: {} for v in comparison.variants})
    parent_metrics = client.get_run(parent.info.run_id).data.metrics
    return parent_metrics, {label: client.get_run(run_id).data.metrics
                            for label, run_id in run_ids.items()}


def test_a_compare_of_losses_in_different_units_has_no_target_and_says_why(tmp_path):
    # the target was the best final loss × 1.05, the huber variant's (~5000, linear in the
    # residual): huber "reached" it, the squared error (~1e7) never could, whatever the fit
    params, X, y = _unscaled_regression("model.loss", ["squared_error", "huber"])
    comparison = _compare(params, X, y)
    written = write_comparison(comparison, tmp_path / "compare", tmp_path / "figures")
    summary = json.loads((tmp_path / "compare" / "summary.json").read_text())
    assert summary["target_loss"] is None
    for row in summary["variants"].values():
        assert row["epochs_to_target"] is None and row["time_to_target_s"] is None
        assert row["val_rmse"] is not None  # what they are compared by
    rule = written["summary"]["target_rule"]
    assert rule.startswith("none: the variants' training losses are in different units "
                           "(squared error and huber are different functions of the residual)")
    assert "held-out rmse" in rule
    table = (tmp_path / "compare" / "summary.md").read_text()
    assert f"target loss — ({rule})." in table
    for label, row in summary["variants"].items():
        line = next(r for r in table.splitlines() if r.startswith(f"| {row['rank']} | {label} |"))
        cells = [c.strip() for c in line.split("|")]
        assert cells[9:11] == ["—", "—"]  # epochs to target, time to target
    overlay = written["figures"]["overlay"].data
    assert overlay["target_loss"] is None
    assert all("at_target" not in drawn for drawn in overlay["variants"].values())
    assert overlay["panel_titles"][0] == "training loss"  # no "● first epoch at the target"
    parent, children = _child_metrics(tmp_path, comparison)
    assert "target_loss" not in parent
    assert set(children) == {"loss=squared_error", "loss=huber"}
    for metrics in children.values():
        assert "epochs_to_target" not in metrics and "time_to_target_s" not in metrics
        assert "val_rmse" in metrics


@pytest.mark.parametrize(("vary", "values", "why"), [
    ("preprocess.scale_target", [True, False], "on the standardised target or in the target's "
     "units"),
    ("model.epsilon", [0.5, 2.0], "huber is at most half the squared residual"),
])
def test_every_key_whose_losses_differ_in_units_has_no_target(vary, values, why):
    overrides = {"model.loss": "huber"} if vary == "model.epsilon" else {}
    params, X, y = _unscaled_regression(vary, values)
    params = with_overrides(params, overrides)
    summary = _compare(params, X, y).summary()
    assert summary["target_loss"] is None and why in summary["target_rule"]
    assert all(row["epochs_to_target"] is None for row in summary["variants"].values())


def test_an_explicit_target_for_losses_in_different_units_is_refused():
    params, X, y = _unscaled_regression("model.loss", ["squared_error", "huber"])
    with pytest.raises(ValueError, match="compare.target_loss 100 with compare.vary: "
                       "model.loss: the variants' training losses are in different units"):
        _compare(params, X, y, target_loss=100.0)


def test_a_compare_of_optimisers_keeps_its_target(tmp_path):
    params, X, y = _unscaled_regression("optimizer.name", ["adam", "momentum"])
    params = with_overrides(params, {"preprocess.scale_target": True,
                                     "optimizer.learning_rate": 0.05})
    comparison = _compare(params, X, y)
    summary = comparison.summary()
    finals = [row["final_loss"] for row in summary["variants"].values()]
    assert summary["target_loss"] == pytest.approx(min(finals) * 1.05)
    assert summary["target_rule"] == "best final training loss × 1.05"
    rows = summary["variants"]
    lowest = min(rows, key=lambda label: rows[label]["final_loss"])  # reaches it for sure
    curve = comparison.variant(lowest).curve("train_loss")
    first = next(i for i, x in enumerate(curve) if x <= summary["target_loss"]) + 1
    assert rows[lowest]["epochs_to_target"] == first
    written = write_comparison(comparison, tmp_path / "compare", tmp_path / "figures")
    overlay = written["figures"]["overlay"].data
    assert overlay["panel_titles"][0] == "training loss; ● first epoch at the target"
    assert any("at_target" in drawn for drawn in overlay["variants"].values())
    _, children = _child_metrics(tmp_path, comparison)
    assert any("epochs_to_target" in metrics for metrics in children.values())
