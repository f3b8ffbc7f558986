"""``make exps``: the columns its ``dvc exp show --drop ... --keep ...`` leaves, by DVC's own
rule (``dvc/commands/experiments/show.py``: a column is kept when one of the ``--keep``
patterns ``re.match``-es its name, dropped when a ``--drop`` pattern does and none keeps it),
in DVC's order (the stages' metrics files in dvc.yaml's stage order, then the top-level
``metrics``), and what of them a 200-column terminal shows (DVC's own table)."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import yaml
from dvc.compare import TabularData
from dvc.ui import ui

REPO = Path(__file__).resolve().parents[1]


def make_arguments(target: str) -> list[str]:
    """The arguments of the Makefile's ``target`` recipe, as the shell splits them."""
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0].split("\n", 1)[1]
    return shlex.split(recipe.replace("\\\n", " ").replace("$$", "$"))


def shown(columns: list[str], target: str = "exps") -> tuple[list[str], list[str]]:
    """The ``columns`` ``make <target>`` always shows (``--keep``), and those it shows when
    their values differ between the rows (``--only-changed`` drops the others)."""
    words = make_arguments(target)
    pairs = list(zip(words, words[1:], strict=False))  # (option, its value)
    keep = re.compile("|".join(w for k, w in pairs if k == "--keep"))
    drop = re.compile("|".join(w for k, w in pairs if k == "--drop"))
    kept = [c for c in columns if keep.match(c)]
    return kept, [c for c in columns if c not in kept and not drop.match(c)]


def metrics_files() -> list[str]:
    """dvc.yaml's metrics files in the order ``dvc exp show`` lays out their columns
    (``dvc/repo/metrics/show.py``: the stages' ``metrics`` outputs, then the top-level list)."""
    pipeline = yaml.safe_load((REPO / "dvc.yaml").read_text())
    staged = [next(iter(m)) if isinstance(m, dict) else m
              for stage in pipeline["stages"].values() for m in stage.get("metrics", [])]
    return staged + list(pipeline.get("metrics", []))


CLASSIFIER_COLUMNS = {  # a sweep's columns by the file holding them, in the file's order
    "reports/cv.json": ["fold_1.log_loss", "mean.accuracy", "mean.f1", "mean.log_loss",
                        "mean.roc_auc", "std.accuracy", "std.f1", "std.log_loss",
                        "std.roc_auc", "fit.verdict"],
    "reports/metrics.json": ["test.accuracy", "test.f1", "test.log_loss", "test.roc_auc",
                             "cv.log_loss.std", "test_ci95.log_loss.low"],
    "reports/trained.json": ["trained.optimizer", "trained.lr", "trained.batch",
                             "trained.schedule", "trained.optimizer.params.momentum",
                             "trained.schedule.params.T_max"],  # as train writes it
}


def test_make_exps_shows_the_cv_means_the_test_metrics_and_the_values_trained_with():
    """The rows of a sweep differed by 1e-4 in ``mean.log_loss`` while its std over the folds
    was 0.016-0.020, and no column said what trained when tune replaced params.yaml's values;
    ``make exps`` keeps the means, the test metrics and ``trained.``, ``make exps-spread``
    the std too."""
    kept = ["Experiment", "mean.log_loss", "test.log_loss", "trained.optimizer",
            "trained.lr", "trained.batch", "trained.schedule"]
    changed = ["trained.optimizer.params.momentum", "trained.schedule.params.T_max",
               "params.yaml:optimizer.name"]
    # the columns it leaves out: per fold, the fit, metrics.json's copy of the CV, ...
    left_out = ["Created", "std.log_loss", "fold_1.log_loss", "fit.verdict", "cv.log_loss.std",
                "test_ci95.log_loss.low", "variants.sgd.final_loss",
                "reports/validated_params.json:optimizer.name"]
    assert shown(kept + changed + left_out) == (kept, changed)
    spread = ["Experiment", "Created", "mean.log_loss", "std.log_loss", "test.log_loss",
              "trained.optimizer", "trained.lr", "trained.batch",
              "trained.schedule"]
    assert shown(spread + changed + left_out[2:], "exps-spread") == (spread, changed)


def render(columns: list[str], width: int) -> str:
    """The header line DVC's ``exp show`` table prints for ``columns`` (three rows of
    typical values) in a ``width``-column terminal."""
    values = {"Experiment": r"└── 2e5217d \[tabby-orfe]",  # "\[": not rich markup
              "Created": "08:40 AM", "trained.optimizer": "momentum", "trained.lr": "0.0037058",
              "trained.batch": "64", "trained.schedule": "constant"}
    table = TabularData(columns)
    for _ in range(3):
        table.append([values.get(c, "0.87813") for c in columns])
    styles = {c: {"no_wrap": True} if c == "Experiment" else
              {"justify": "right", "collapse": i > 1, "no_wrap": True}
              for i, c in enumerate(columns)}  # as dvc/commands/experiments/show.py styles them
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    ui.enable()
    try:
        with ui.rich_console.capture() as captured:
            table.render(pager=False, borders="horizontals", rich_table=True,
                         header_styles=styles)
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old
    return captured.get().splitlines()[1]


def test_a_200_column_terminal_shows_the_test_metrics_and_what_trained():
    """``make exps`` in a 200-column terminal showed the CV means and stds, then ``…``: DVC
    laid out cv.json's columns (``mean.``, ``std.``, ``trained.optimizer.learning_rate``, ...)
    before metrics.json's ``test.``, some 600 columns in. Now the test metrics and the
    optimiser, learning rate and batch size trained with are on the screen."""
    files = metrics_files()
    assert files.index("reports/metrics.json") < files.index("reports/trained.json")
    columns = ["Experiment", "Created"] + [c for f in files for c in CLASSIFIER_COLUMNS.get(f, [])]
    kept, _ = shown(columns)
    header = render(kept, 200)
    assert len(header) <= 200
    on_screen = header.split()
    assert [c for c in kept if c not in on_screen] == ["trained.schedule"], header
