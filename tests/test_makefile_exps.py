"""``make exps``: the columns its ``dvc exp show --drop ... --keep ...`` leaves, by DVC's own
rule (``dvc/commands/experiments/show.py``: a column is kept when one of the ``--keep``
patterns ``re.match``-es its name, dropped when a ``--drop`` pattern does and none keeps it)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def exps_arguments() -> list[str]:
    """The arguments of the Makefile's ``exps`` recipe, as the shell splits them."""
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("\nexps:", 1)[1].split("\n\n", 1)[0].split("\n", 1)[1]
    return shlex.split(recipe.replace("\\\n", " ").replace("$$", "$"))


def shown(columns: list[str]) -> tuple[list[str], list[str]]:
    """The ``columns`` ``make exps`` always shows (``--keep``), and those it shows when their
    values differ between the rows (``--only-changed`` drops the others)."""
    words = exps_arguments()
    pairs = list(zip(words, words[1:], strict=False))  # (option, its value)
    keep = re.compile("|".join(w for k, w in pairs if k == "--keep"))
    drop = re.compile("|".join(w for k, w in pairs if k == "--drop"))
    kept = [c for c in columns if keep.match(c)]
    return kept, [c for c in columns if c not in kept and not drop.match(c)]


def test_make_exps_shows_the_cv_spread_and_the_values_trained_with():
    """The rows of a sweep differed by 1e-4 in ``mean.log_loss`` while its std over the folds
    was 0.016-0.020, and no column said what trained when tune replaced params.yaml's values:
    ``make exps`` kept neither ``std.`` (reports/cv.json) nor ``trained.``."""
    kept = ["Experiment", "Created", "mean.log_loss", "std.log_loss", "test.log_loss",
            "trained.optimizer.name", "trained.optimizer.learning_rate",
            "trained.train.batch_size", "trained.schedule.name"]
    changed = ["trained.optimizer.params.momentum", "trained.schedule.params.T_max",
               "params.yaml:optimizer.name"]
    # the columns it leaves out: per fold, the fit, metrics.json's copy of the CV, ...
    left_out = ["fold_1.log_loss", "fit.verdict", "cv.log_loss.std", "test_ci95.log_loss.low",
                "variants.sgd.final_loss", "reports/validated_params.json:optimizer.name"]
    assert shown(kept + changed + left_out) == (kept, changed)
