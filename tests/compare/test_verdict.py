"""The comparison's verdict: final losses with their spread over the folds, a winner only when
it is ahead of every other variant fold by fold (on every fold, by a mean gap above the gaps'
spread), the budget said, and what every variant shares named on the overlay (where a variant
diverged: tests/compare/test_compare.py)."""

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
    assert verdict_text(mixed) == ("winner a (lower than every other variant on every fold, "
                                   "by a mean gap above the gaps' spread over the folds and "
                                   "train.tol; c diverged)")


def test_no_winner_when_the_best_is_not_ahead_on_every_fold():
    a, b = [1.0, 1.2, 0.8], [1.15, 1.25, 0.75]  # b is 0.05 worse on average, better on fold 3
    summary = Comparison("optimizer.name", [_variant("b", b), _variant("a", a)]).summary()
    assert summary["ranking"] == ["a", "b"]
    assert summary["variants"]["a"]["final_loss_std"] == pytest.approx(np.std(a))
    assert summary["variants"]["b"]["final_loss_std"] == pytest.approx(np.std(b))
    assert summary["variants"]["b"]["folds_behind_best"] == 2
    assert summary["winner"] is None and summary["tied_with_best"] == ["a", "b"]
    table = summary_markdown(summary)
    assert "no clear winner: a is not ahead of b on every fold" in table
    assert "its final training loss is lower on every fold" in table  # the rule, said
    assert f"| 1 | a | — | 1 ± {np.std(a):.2g} |" in table  # no optimizer params: no rate


def test_a_winner_only_when_ahead_of_every_variant_on_every_fold():
    a, b, c = [1.0, 1.01, 0.99], [2.0, 2.02, 1.98], [1.005, 1.2, 0.81]
    summary = Comparison("optimizer.name", [_variant("a", a), _variant("b", b)]).summary()
    assert summary["winner"] == "a" and summary["tied_with_best"] == []
    assert "Verdict: winner a (lower than every other variant" in summary_markdown(summary)
    # a third variant below a on fold 3: no winner any more
    three = Comparison("optimizer.name", [_variant(x, f) for x, f in
                                          (("a", a), ("b", b), ("c", c))]).summary()
    assert three["winner"] is None and three["tied_with_best"] == ["a", "c"]


def test_a_steady_advantage_on_every_fold_wins_despite_a_wider_spread_between_folds():
    """Fold 3 has harder rows for both optimisers: the spread over the folds (±0.16) dwarfs
    a's lead (0.03 on every fold), and the old rule, which set the gap against that spread,
    read "no clear winner: a, b are within the spread over the folds"."""
    a = [1.00, 1.10, 1.40, 0.95, 1.05]
    b = [x + 0.03 + d for x, d in zip(a, [0.000, 0.002, -0.001, 0.001, -0.002], strict=True)]
    summary = Comparison("optimizer.name", [_variant("b", b), _variant("a", a)]).summary()
    rows = summary["variants"]
    assert max(rows["a"]["final_loss_std"], rows["b"]["final_loss_std"]) > 0.1  # 5x the lead
    gaps = np.subtract(b, a)
    assert rows["b"]["gap_to_best"] == pytest.approx(gaps.mean())
    assert rows["b"]["gap_to_best_std"] == pytest.approx(gaps.std())
    assert rows["b"]["folds_behind_best"] == 5
    assert rows["a"]["gap_to_best"] is None  # the best is not compared with itself
    assert summary["winner"] == "a" and summary["tied_with_best"] == []
    assert verdict_text(summary).startswith("winner a (lower than every other variant on "
                                            "every fold")


def test_an_advantage_that_flips_sign_between_folds_wins_nothing():
    """a is ahead by 0.25 on four folds and behind by 0.20 on the fifth: a mean lead of 0.16,
    above both variants' spread over the folds (0.1), so the old rule named a the winner."""
    a = [1.00, 1.00, 1.00, 1.00, 1.25]
    b = [1.25, 1.25, 1.25, 1.25, 1.05]
    summary = Comparison("optimizer.name", [_variant("a", a), _variant("b", b)]).summary()
    rows = summary["variants"]
    gap = np.mean(b) - np.mean(a)
    assert gap > max(rows["a"]["final_loss_std"], rows["b"]["final_loss_std"])
    assert rows["b"]["folds_behind_best"] == 4
    assert summary["winner"] is None and summary["tied_with_best"] == ["a", "b"]
    assert verdict_text(summary) == (
        "no clear winner: a is not ahead of b on every fold by more than the spread of the "
        "fold-by-fold gaps and train.tol (their order is not significant)")


def test_a_lead_on_every_fold_carried_by_one_fold_wins_nothing():
    """Ahead on every fold, but by 0.001 on four and 0.5 on one: the gaps' spread (0.2) is
    above their mean (0.1)."""
    a = [1.0, 1.1, 0.9, 1.2, 1.0]
    b = [1.001, 1.101, 0.901, 1.201, 1.5]
    summary = Comparison("optimizer.name", [_variant("a", a), _variant("b", b)]).summary()
    assert summary["variants"]["b"]["folds_behind_best"] == 5
    assert summary["winner"] is None and summary["tied_with_best"] == ["a", "b"]


def test_a_fold_without_a_final_loss_shows_no_lead():
    """b's fold 3 recorded no loss (not a divergence): the folds paired are the other four,
    where a leads steadily, but a lead nobody measured on fold 3 is not claimed."""
    a = [1.00, 1.10, 1.40, 0.95]
    b = [x + 0.03 for x in a]
    lost = _variant("b", b)
    lost.folds.insert(2, VariantFold(5, {"train_loss": [None, None], "time_s": [0.1, 0.2]},
                                     False, 0.2))
    full = _variant("a", a + [1.2])
    summary = Comparison("optimizer.name", [full, lost]).summary()
    row = summary["variants"]["b"]
    assert row["gap_to_best"] == pytest.approx(0.03) and row["folds_behind_best"] == 4
    assert summary["winner"] is None and summary["tied_with_best"] == ["a", "b"]
    # the same four folds with nothing missing: a wins
    assert Comparison("optimizer.name", [_variant("a", a), _variant("b", b)]).verdict() == (
        "a", [])


def test_a_consistent_lead_below_train_tol_is_no_win():
    """The default optimisers' best led the next on every fold by 5e-5, half of train.tol,
    and was named winner: a loss lower by less than tol is, by the stopping rule's own
    measure, no improvement. With tol null any consistent lead counts."""
    from types import SimpleNamespace

    def with_tol(v: Variant, tol: float | None) -> Variant:
        v.params = SimpleNamespace(train=SimpleNamespace(tol=tol))
        return v

    a, b = [0.30, 0.32, 0.31, 0.35, 0.29], [0.30005, 0.32006, 0.31005, 0.35004, 0.29005]
    for tol, expected in ((1e-4, (None, ["a", "b"])), (1e-5, ("a", [])), (None, ("a", []))):
        pair = [with_tol(_variant("a", a), tol), with_tol(_variant("b", b), tol)]
        comparison = Comparison("optimizer.name", pair)
        assert comparison.gap_to_best(pair[1]).behind == 5
        assert comparison.verdict() == expected, tol
    # the larger tol of the two counts (a comparison of train.tol itself)
    pair = [with_tol(_variant("a", a), None), with_tol(_variant("b", b), 1e-4)]
    assert Comparison("train.tol", pair).verdict() == (None, ["a", "b"])


def test_the_paired_gap_is_taken_on_the_fold_numbers_not_the_list_order():
    a = _variant("a", [1.0, 2.0, 3.0])
    b = _variant("b", [3.1, 2.1, 1.1])  # reversed: fold k of b is 0.1 above fold k of a ...
    b.folds = [VariantFold(4 - f.fold, f.curves, False, 0.3) for f in b.folds]
    comparison = Comparison("optimizer.name", [a, b])
    assert comparison.gap_to_best(b).mean == pytest.approx(0.1)
    assert comparison.gap_to_best(b).std == pytest.approx(0.0, abs=1e-12)
    assert comparison.verdict() == ("a", [])


def test_the_default_optimisers_are_told_apart_fold_by_fold(default_problem):
    """params.yaml's comparison printed ``momentum > nesterov > sgd > adam`` on final losses
    0.3176, 0.3177, 0.3191, 0.3193, gaps far below the folds' spread (0.004), and the old rule
    called all four tied. Fold by fold the order holds on every fold with gaps steadier than
    their size: sgd and adam (about 0.0015 behind) are beaten; nesterov, about 5e-5 behind on
    every fold, is not, as that lead is below train.tol (1e-4), so there is no winner."""
    params, data, _ = default_problem
    comparison = run_comparison(params, data, trajectories=False)
    summary = comparison.summary()
    rows = summary["variants"]
    finals = {v.label: {f.fold: f.curves["train_loss"][-1] for f in v.folds}
              for v in comparison.variants}  # each fold's own last epoch
    for label, by_fold in finals.items():
        assert rows[label]["final_loss_std"] == pytest.approx(np.std(list(by_fold.values())))
        assert rows[label]["final_loss"] == pytest.approx(np.mean(list(by_fold.values())))
    best = summary["ranking"][0]
    assert rows[best]["gap_to_best"] is None
    for label in summary["ranking"][1:]:
        gaps = np.array([finals[label][k] - finals[best][k] for k in sorted(finals[best])])
        assert rows[label]["gap_to_best"] == pytest.approx(gaps.mean())
        assert rows[label]["gap_to_best_std"] == pytest.approx(gaps.std())
        assert rows[label]["folds_behind_best"] == int((gaps > 0).sum()) == 5
        assert gaps.mean() > gaps.std()
    tol = params.train.tol
    assert tol == 1e-4
    close = [label for label in summary["ranking"][1:] if rows[label]["gap_to_best"] <= tol]
    far = [label for label in summary["ranking"][1:] if rows[label]["gap_to_best"] > 2 * tol]
    assert close and far and len(close) + len(far) == len(rows) - 1  # none near the margin
    assert summary["winner"] is None and summary["tied_with_best"] == [best, *close]
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


def test_a_greater_is_better_metric_ranks_the_higher_first_and_says_so():
    """compare.metric: balanced_accuracy (what class weights are compared by) was refused
    ('val_metric ranks lower first'); it ranks the higher first, the gaps are how far below
    the best each variant is, and the verdict says 'higher'."""
    def scored(label: str, values: list[float]) -> Variant:
        folds = [VariantFold(k, {"train_loss": [2.0, 1.0], "time_s": [0.1, 0.2]}, False, 0.2,
                             scores={"balanced_accuracy": value})
                 for k, value in enumerate(values, 1)]
        return Variant(label, label, None, folds)

    none, balanced = [0.50, 0.49, 0.51], [0.57, 0.58, 0.56]
    comparison = Comparison("model.class_weight",
                            [scored("class_weight=null", none),
                             scored("class_weight=balanced", balanced)],
                            rank_by="val_metric", metric="balanced_accuracy")
    summary = comparison.summary()
    assert summary["ranking"] == ["class_weight=balanced", "class_weight=null"]
    assert summary["winner"] == "class_weight=balanced"
    row = summary["variants"]["class_weight=null"]
    assert row["gap_to_best"] == pytest.approx(np.mean(np.subtract(balanced, none)))
    assert row["folds_behind_best"] == 3
    assert row["val_balanced_accuracy"] == pytest.approx(np.mean(none))
    assert verdict_text(summary).startswith("winner class_weight=balanced (higher than every "
                                            "other variant on every fold")
    assert "its final held-out balanced_accuracy is higher on every fold" in summary["winner_rule"]
    assert "(held-out balanced_accuracy, below the best's; mean ± std" in summary_markdown(summary)
