"""``make exps`` and ``make exps-spread``: the table their ``dvc exp show --only-changed --drop
... --keep ...`` prints, drawn by DVC's own code (``dvc.repo.experiments.show.tabulate`` and
``dvc.commands.experiments.show.show_experiments``, what ``dvc exp show`` runs) for the README's
first session: ``make run``, then ``dvc exp run -S tune.enabled=false -S optimizer.name=sgd
-S optimizer.learning_rate=0.1``."""

from __future__ import annotations

import copy
import re
import shlex
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from dvc.commands.experiments.show import show_experiments
from dvc.commands.metrics import DEFAULT_PRECISION
from dvc.repo.experiments.serialize import (
    ExpRange,
    ExpState,
    SerializableError,
    SerializableExp,
)
from dvc.repo.experiments.show import tabulate
from dvc.ui import ui

from gdlab.config import load_params, with_overrides
from gdlab.experiment.overrides import SHORT_KEYS, trained_values

REPO = Path(__file__).resolve().parents[1]

EXP_RUN = {"tune.enabled": False, "optimizer.name": "sgd", "optimizer.learning_rate": 0.1}
"""The README's ``dvc exp run -S ...``: the params.yaml keys the experiment changes."""

TUNED = {"optimizer.name": "momentum", "optimizer.learning_rate": 0.0037058,
         "optimizer.params.momentum": 0.935, "train.batch_size": 32}
"""What ``make run``'s tune chose (the baseline's ``reports/tuning/best_params.json``)."""


def make_arguments(target: str) -> list[str]:
    """The arguments of the Makefile's ``target`` recipe, as the shell splits them."""
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0].split("\n", 1)[1]
    return shlex.split(recipe.replace("\\\n", " ").replace("$$", "$"))


def metrics_files() -> list[str]:
    """dvc.yaml's metrics files in the order ``dvc exp show`` lays out their columns
    (``dvc/repo/metrics/show.py``: the stages' ``metrics`` outputs, then the top-level list)."""
    pipeline = yaml.safe_load((REPO / "dvc.yaml").read_text())
    staged = [next(iter(m)) if isinstance(m, dict) else m
              for stage in pipeline["stages"].values() for m in stage.get("metrics", [])]
    return staged + list(pipeline.get("metrics", []))


def with_set(document: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``document`` (params.yaml as read) with the dotted ``changes`` set, as ``-S`` sets them."""
    changed = copy.deepcopy(document)
    for key, value in changes.items():
        *sections, name = key.split(".")
        node = changed
        for section in sections:
            node = node.setdefault(section, {})
        node[name] = value
    return changed


def run_data(rev: str, document: dict[str, Any], tuned: dict[str, Any],
             error: bool = False) -> SerializableExp:
    """What ``dvc exp show`` collects for a revision whose params.yaml is ``document`` and whose
    tune chose ``tuned``: the params files and, unless ``error`` (the reports were never
    committed: every metrics file is ``!``), the metrics files as the stages write them."""
    path = REPO / "params.yaml"
    params = with_overrides(load_params(path), {**flat_changes(document), **tuned})
    classifier = {"accuracy": 0.90833, "f1": 0.90937, "log_loss": 0.39591, "roc_auc": 0.93645}
    spread = {m: 0.0179 for m in classifier}
    reports = {
        "reports/tuning/guidance.json": {"lipschitz": {"L": 3.1, "lr_stable": 0.64}},
        "reports/cv.json": {"fit": {"verdict": "under-trained"}, "folds": 5,
                            "fold_1": {**classifier, "n_iter": 8}, "mean": classifier,
                            "std": spread},
        "reports/metrics.json": {"cv": {m: {"mean": v, "std": 0.0179}
                                        for m, v in classifier.items()},
                                 "test": {m: v + 0.03 for m, v in classifier.items()},
                                 "n_test": 120},
        "reports/fairness.json": {"groups": {"a": {"accuracy": 0.93}, "b": {"accuracy": 0.95}}},
        "reports/compare/summary.json": {"variants": {"sgd": {"mean.log_loss": 0.41}}},
        "reports/trained.json": {"trained": trained_values(params, tuned)},
    }
    assert set(reports) == set(metrics_files())  # every metrics file dvc.yaml lists
    metrics = {f: {"error": SerializableError("No such file", "FileNotFoundError")}
               if error else {"data": reports[f]} for f in metrics_files()}
    return SerializableExp(
        rev=rev, timestamp=datetime(2026, 12, 6, 8, 40), metrics=metrics,
        params={"params.yaml": {"data": document},
                # validate's copy has every key too: DVC names the columns params.yaml:...
                "reports/validated_params.json": {"data": document},
                "reports/tuning/best_params.json": {"data": {"enabled": bool(tuned),
                                                             "params": tuned}}})


def flat_changes(document: dict[str, Any]) -> dict[str, Any]:
    """The keys of :data:`EXP_RUN` with ``document``'s values."""
    values = {}
    for key in EXP_RUN:
        node: Any = document
        for part in key.split("."):
            node = node[part]
        values[key] = node
    return values


def first_session(committed: bool) -> list[ExpState]:
    """The workspace, the baseline (``main``) and the experiment: the baseline's reports
    ``!`` until they are committed (``committed``: then its tuned values), the experiment's
    optimiser sgd with tune off."""
    shipped = yaml.safe_load((REPO / "params.yaml").read_text())
    changed = with_set(shipped, EXP_RUN)
    experiment = run_data("adf16e2" + "0" * 33, changed, {})
    baseline = ExpState(
        rev="c6445c8" + "0" * 33, name="main",
        data=run_data("c6445c8" + "0" * 33, shipped, TUNED, error=not committed),
        experiments=[ExpRange(revs=[ExpState(rev=experiment.rev, name="gyral-good",
                                             data=experiment)], name="gyral-good")])
    return [ExpState(rev="workspace", data=run_data("workspace", changed, {})), baseline]


def exp_show(target: str, width: int, committed: bool = False) -> list[str]:
    """The lines ``make <target>`` prints for :func:`first_session` in a ``width``-column
    terminal."""
    words = make_arguments(target)
    pairs = list(zip(words, words[1:], strict=False))  # (option, its value)
    assert "--only-changed" in words
    td, headers = tabulate(first_session(committed), precision=DEFAULT_PRECISION,
                           fill_value="-")  # as CmdExperimentsShow.run calls them
    ui.enable()
    console = ui.rich_console
    old = console._width  # noqa: SLF001 - read from COLUMNS when the console was made
    console.width = width
    try:
        with console.capture() as captured:
            show_experiments(td, headers, keep=[w for k, w in pairs if k == "--keep"],
                             drop=[w for k, w in pairs if k == "--drop"], pager=False,
                             only_changed=True)
    finally:
        console._width = old  # noqa: SLF001
    return captured.get().splitlines()


def cells(line: str) -> list[str]:
    """A table line's cells (DVC pads them with at least two spaces)."""
    return re.split(r"\s{2,}", line.strip())


@pytest.mark.parametrize("committed", [False, True], ids=["baseline-!", "baseline-committed"])
def test_make_exps_fits_200_columns_with_every_changed_setting(committed):
    """After the README's first session ``make exps`` was 452 characters wide and a
    200-column terminal cut it after ``trained.batch``: ``trained.schedule`` and every
    params.yaml key the experiment changed were ``…``. It kept every ``trained.`` column,
    and the optimiser's params (``trained.optimizer.params.momentum``, ``.dampening``,
    ``.nesterov``, ``.weight_decay``) differ from the baseline's ``!`` or adam's. Now it fits:
    the CV means, the four values trained with and the other params.yaml keys that differ;
    each key the experiment set shows its value, by its params.yaml column or, for the
    optimiser, learning rate, batch size and schedule, by the one saying what trained."""
    lines = exp_show("exps", 1000, committed)
    assert max(map(len, lines)) <= 200, lines[1]
    assert exp_show("exps", 200, committed) == lines  # nothing cut to "…"
    header = cells(lines[1])
    row = dict(zip(header, cells(next(x for x in lines if "[gyral-good]" in x)), strict=True))
    trained = [f"trained.{name}" for name in SHORT_KEYS.values()]
    assert header == ["Experiment", "mean.accuracy", "mean.f1", "mean.log_loss",
                      "mean.roc_auc", *trained, "params.yaml:tune.enabled"], header
    shown = {key: row.get(f"trained.{SHORT_KEYS[key]}" if key in SHORT_KEYS
                          else f"params.yaml:{key}") for key in EXP_RUN}
    assert shown == {"tune.enabled": "False", "optimizer.name": "sgd",
                     "optimizer.learning_rate": "0.1"}


def test_make_exps_spread_has_every_column_make_exps_leaves_out():
    """``make exps-spread`` (or its ``--csv``): the Created time, each mean's std, the test
    metrics, the optimiser's params that differ and params.yaml's own values of the four
    ``trained.`` ones; per fold, fit and other files' columns stay out."""
    header = cells(exp_show("exps-spread", 1000)[1])
    assert header[:2] == ["Experiment", "Created"]
    assert {"std.log_loss", "test.log_loss", "trained.optimizer.params.momentum",
            "params.yaml:optimizer.name", "params.yaml:optimizer.learning_rate",
            "params.yaml:tune.enabled"} <= set(header), header
    assert set(cells(exp_show("exps", 1000)[1])) <= set(header)
    assert [c for c in header if c.startswith(("fold_", "fit.", "cv.", "variants.", "groups.",
                                               "lipschitz.", "reports/"))] == [], header
    # DVC's order: the CV means before the test metrics before what trained, then params
    assert (header.index("mean.log_loss") < header.index("test.log_loss")
            < header.index("trained.optimizer") < header.index("params.yaml:tune.enabled"))
