"""DVC-facing outputs: metrics JSON, per-fold loss curves for ``dvc plots``, figures."""

from gdlab.reporting.figures import loss_curves_figure
from gdlab.reporting.files import finite, read_json, write_json
from gdlab.reporting.metrics import cv_document, cv_line, cv_summary, metrics_document
from gdlab.reporting.plots import write_fold_curves

__all__ = [
    "cv_document",
    "cv_line",
    "cv_summary",
    "finite",
    "loss_curves_figure",
    "metrics_document",
    "read_json",
    "write_fold_curves",
    "write_json",
]
