"""The files of the tune stage under ``reports/tuning/`` (always the same set, so DVC's outputs
stay stable when tuning is off):

* ``best_params.json`` — ``{"enabled", "params": {dotted path: value}, "score", ...}``; train
  applies ``params`` on top of params.yaml (``{}`` when tuning is off or found nothing);
* ``trials.csv`` — one row per trial of the study;
* ``heatmap.csv`` — learning rate, batch size, CV score, wall time per heat-map cell;
* ``guidance.json`` — L, 1/L, 2/L and the LR range test's suggestion (a DVC metrics file);
* ``figures/`` — heat map, LR range test, optimisation history, parameter importances; with
  tuning off, ``tuning_disabled.svg`` saying so (a file, so git keeps the directory in an
  experiment's commit, and one ``dvc plots show`` renders: dvc.yaml lists the directory under
  ``plots:``, and a ``.gitkeep`` there made it report a failed plot).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gdlab.atomic import atomic_path, cleared_dir, output_dir
from gdlab.reporting.files import write_json, write_notice_svg

if TYPE_CHECKING:  # a disabled stage writes these files without the figures' imports
    from gdlab.tuning.figures import HeatCell

BEST_PARAMS = "best_params.json"
TRIALS = "trials.csv"
HEATMAP = "heatmap.csv"
GUIDANCE = "guidance.json"
FIGURES = "figures"
DISABLED_FIGURE = "tuning_disabled.svg"
DISABLED_NOTE = "tune.enabled: false: no search ran, so no tuning figures"
HEATMAP_COLUMNS = ("learning_rate", "batch_size", "value", "wall_time_s", "state")
TRIAL_COLUMNS = ("number", "state", "value")


def reset_outputs(out: str | Path) -> Path:
    """Empty ``out/figures`` (stale figures must not survive) and create ``out``."""
    out = Path(out)
    cleared_dir(out / FIGURES)
    return out


def write_disabled(out: str | Path) -> Path:
    """The outputs of a stage with ``tune.enabled: false``: no overrides, empty tables."""
    out = reset_outputs(out)
    write_json(out / BEST_PARAMS, {"enabled": False, "params": {}})
    write_rows(out / TRIALS, [], TRIAL_COLUMNS)
    write_rows(out / HEATMAP, [], HEATMAP_COLUMNS)
    write_json(out / GUIDANCE, {})
    write_notice_svg(out / FIGURES / DISABLED_FIGURE, DISABLED_NOTE)
    return out / BEST_PARAMS


def write_rows(path: str | Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> Path:
    """CSV with ``columns`` first, then any other keys in first-seen order; None as empty."""
    path = Path(path)
    output_dir(path.parent)
    header = list(columns)
    for row in rows:
        header += [k for k in row if k not in header]
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return path


def heatmap_rows(cells: Sequence[HeatCell]) -> list[dict[str, Any]]:
    """Rows of ``heatmap.csv``, by learning rate then batch size (full batch last)."""
    ordered = sorted(
        cells,
        key=lambda c: (c.learning_rate, float("inf") if c.batch_size is None else c.batch_size),
    )
    return [
        {
            "learning_rate": c.learning_rate,
            "batch_size": "full" if c.batch_size is None else c.batch_size,
            "value": c.value,
            "wall_time_s": c.wall_time,
            "state": c.state,
        }
        for c in ordered
    ]
