"""DVC plots data: one CSV per CV fold (``epoch, train_loss, val_loss, fold``).

dvc.yaml declares the directory as a plot with ``x: epoch, y: [train_loss, val_loss]``; DVC
draws one chart per fold file and overlays revisions in ``dvc plots diff``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from gdlab.atomic import atomic_path, cleared_dir
from gdlab.experiment import CVResult

COLUMNS = ("epoch", "train_loss", "val_loss", "fold")


def write_fold_curves(cv: CVResult, directory: str | Path) -> list[Path]:
    """Replace ``directory`` with ``fold_<k>.csv`` files, one row per epoch (counted from 1)."""
    directory = cleared_dir(directory)
    paths = []
    for fold in cv.folds:
        train = fold.curves.get("train_loss", [])
        val = fold.curves.get("val_loss", [])
        path = directory / f"fold_{fold.fold}.csv"
        with atomic_path(path) as tmp, tmp.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for epoch in range(fold.n_iter):
                writer.writerow([epoch + 1, _cell(train, epoch), _cell(val, epoch), fold.fold])
        paths.append(path)
    return paths


def _cell(values: list[float | None], epoch: int) -> str:
    if epoch >= len(values) or values[epoch] is None:
        return ""
    return repr(float(values[epoch]))
