"""The comparison's verdict: final losses with their spread over the folds, a winner only when
the gap exceeds that spread, the budget said, and what every variant shares named on the
overlay (where a variant diverged: tests/compare/test_compare.py)."""

from __future__ import annotations

import numpy as np
import pytest

from gdlab.config import with_overrides
from gdlab.experiment.compare import (
    Comparison,
    Variant,
    VariantFold,
    verdict_text,
)
from gdlab.reporting.compare import summary_markdown, write_comparison
from tests.compare.helpers import run_comparison


def _variant(label: str, finals: list[float]) -> Variant:
    """A variant whose folds each ran three epochs ending at ``finals``."""
    folds = [VariantFold(k, {"train_loss": [2.0, 1.5, final], "time_s": [0.1, 0.2, 0.3]},
                         False, 0.3) for k, final in enumerate(finals, 1)]
    return Variant(label, label, None, folds)


def _diverged(label: str) -> Variant:
    """A variant whose folds all diverged at their second epoch."""
    folds = [VariantFold(k, {"train_loss": [2.0, np.inf], "time_s": [0.1, 0.2]}, True, 0.2)
             for k in (1, 2)]
    return Variant(label, label, None, folds)


def test_the_verdict_says_when_the_others_or_all_diverged():
    """A learning-rate sweep that blew up everywhere read "fewer than two variants to
    compare"; one survivor was "ahead of every other variant by more than the spread", which
    the others, diverged, have none of."""
    everything = Comparison("optimizer.learning_rate",
                            [_diverged("lr=10"), _diverged("lr=100")]).summary()
    assert verdict_text(everything) == (
        "no winner: every variant diverged (see the diverged column)")
    survivor = Comparison("optimizer.learning_rate",
                          [_variant("lr=0.1", [0.30, 0.31]), _diverged("lr=10")]).summary()
    assert survivor["winner"] == "lr=0.1"
    assert verdict_text(survivor) == "winner lr=0.1 (every other variant diverged)"
    mixed = Comparison("optimizer.learning_rate",
                       [_variant("a", [1.0, 1.01]), _variant("b", [2.0, 2.02]),
                        _diverged("c")]).summary()
    assert verdict_text(mixed) == ("winner a (ahead of every other variant by more than the "
                                   "spread over the folds; c diverged)")


def test_no_winner_when_the_gap_is_within_the_spread_over_the_folds():
    a, b = [1.0, 1.2, 0.8], [1.05, 1.25, 0.85]  # b is 0.05 worse; the folds spread ±0.16
    summary = Comparison("optimizer.name", [_variant("b", b), _variant("a", a)]).summary()
    assert summary["ranking"] == ["a", "b"]
    assert summary["variants"]["a"]["final_loss_std"] == pytest.approx(np.std(a))
    assert summary["variants"]["b"]["final_loss_std"] == pytest.approx(np.std(b))
    assert summary["winner"] is None and summary["tied_with_best"] == ["a", "b"]
    table = summary_markdown(summary)
    assert "no clear winner: a, b are within the spread over the folds" in table
    assert f"| 1 | a | 1 ± {np.std(a):.2g} |" in table


def test_a_winner_only_when_ahead_of_every_variant_by_more_than_the_spread():
    a, b, c = [1.0, 1.01, 0.99], [2.0, 2.02, 1.98], [1.005, 1.2, 0.81]
    summary = Comparison("optimizer.name", [_variant("a", a), _variant("b", b)]).summary()
    assert summary["winner"] == "a" and summary["tied_with_best"] == []
    assert "Verdict: winner a (ahead of every other variant" in summary_markdown(summary)
    # a third variant within c's own (wider) spread of a: no winner any more
    three = Comparison("optimizer.name", [_variant(x, f) for x, f in
                                          (("a", a), ("b", b), ("c", c))]).summary()
    assert three["winner"] is None and three["tied_with_best"] == ["a", "c"]


def test_the_default_optimisers_are_not_told_apart_beyond_their_fold_spread(default_problem):
    """params.yaml's comparison printed ``momentum > nesterov > sgd > adam`` on final losses
    0.3176, 0.3177, 0.3191, 0.3193: gaps far below the folds' spread."""
    params, data, _ = default_problem
    comparison = run_comparison(params, data, trajectories=False)
    summary = comparison.summary()
    rows = summary["variants"]
    for v in comparison.variants:  # the spread is the folds' own final losses' std
        finals = [f.curves["train_loss"][-1] for f in v.folds]
        assert rows[v.label]["final_loss_std"] == pytest.approx(np.std(finals))
        assert rows[v.label]["final_loss"] == pytest.approx(np.mean(finals))
    best = summary["ranking"][0]
    gaps = {label: rows[label]["final_loss"] - rows[best]["final_loss"]
            for label in summary["ranking"][1:]}
    spread = {label: max(rows[label]["final_loss_std"], rows[best]["final_loss_std"])
              for label in gaps}
    assert summary["winner"] is None
    assert summary["tied_with_best"] == [best] + [x for x in gaps if gaps[x] <= spread[x]]
    assert len(summary["tied_with_best"]) == 4
    # the budget is said: epochs, not time, and the tol rule ending folds early
    assert summary["budget"].startswith("same epoch budget: train.max_epochs 100 for every "
                                        "variant (not the same time")
    assert "train.tol" in summary["budget"]
    assert {rows[label]["epochs"] for label in rows} != {100}  # ... which it did here


def test_the_overlay_names_the_learning_rate_the_optimisers_share(default_problem, tmp_path):
    params, data, _ = default_problem
    two = with_overrides(params, {"compare.values": ["sgd", "adam"], "cv.folds": 2,
                                  "train.max_epochs": 3})
    written = write_comparison(run_comparison(two, data, trajectories=False), tmp_path / "c",
                               tmp_path / "f")
    title = written["figures"]["overlay"].data["title"]
    assert "every variant: learning rate 0.01, batch size 64, schedule constant" in title
