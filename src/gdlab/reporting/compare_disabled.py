"""The outputs of the compare stage with ``compare.enabled: false`` (the others:
:mod:`gdlab.reporting.compare`). A module of its own, on the standard library and
:mod:`gdlab.reporting.files`: the disabled stage writes them without importing numpy,
scikit-learn, matplotlib or MLflow."""

from __future__ import annotations

import csv
from pathlib import Path

from gdlab.atomic import atomic_path, cleared_dir, write_text_atomic
from gdlab.reporting.files import write_json, write_notice_svg

DISABLED_FIGURE = "compare_disabled.svg"
CURVE_COLUMNS = ("epoch", "train_loss", "val_loss", "time_s", "variant")
"""The columns of a variant's curve file (``curves/<variant>.csv``)."""
OVERLAY_CURVES = "overlay.csv"
"""Every variant's curves in one long-format file, for DVC's overlaid plots."""
OVERLAY_COLUMNS = (*CURVE_COLUMNS, "rank")
"""The columns of :data:`OVERLAY_CURVES`."""


def write_overlay_header(path: str | Path) -> Path:
    """:data:`OVERLAY_CURVES` with its header only (no variant compared)."""
    with atomic_path(Path(path)) as tmp, tmp.open("w", newline="") as handle:
        csv.writer(handle).writerow(OVERLAY_COLUMNS)
    return Path(path)


def write_disabled(reports: str | Path, figures: str | Path) -> dict[str, Path]:
    """The outputs of a stage with ``compare.enabled: false``, replacing a previous run's:
    ``summary.json`` (``{"enabled": false}``), ``summary.md`` saying so, ``overlay.csv``
    with its header only, and ``compare_disabled.svg`` in ``curves/`` and in ``figures`` (no
    variant curves or figures).
    No output directory is left empty (DVC warns about an empty output, and an empty directory
    is in no git commit); ``dvc plots show`` draws each notice as an image."""
    reports, figures = Path(reports), Path(figures)
    for path in (reports, figures):
        cleared_dir(path)
    note = "compare.enabled: false: no variants compared"
    return {
        "summary": write_json(reports / "summary.json", {"enabled": False}),
        "table": write_text_atomic(
            reports / "summary.md", "Comparison disabled (compare.enabled: false).\n"
        ),
        "curves": write_notice_svg(reports / "curves" / DISABLED_FIGURE, f"{note}, so no curves"),
        "overlay": write_overlay_header(reports / OVERLAY_CURVES),
        "figures": write_notice_svg(figures / DISABLED_FIGURE, f"{note}, so no figures"),
    }
