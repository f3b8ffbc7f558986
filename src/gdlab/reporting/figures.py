"""A figure overlaying every fold's training and validation loss (PNG, for DVC and MLflow)."""

from __future__ import annotations

from pathlib import Path

from gdlab.atomic import output_dir
from gdlab.experiment import CVResult
from gdlab.experiment.fitcheck import FitDiagnosis
from gdlab.reporting.canvas import epoch_axis, log_scale, loss_notes, save_figure


def loss_curves_figure(
    cv: CVResult, path: str | Path, title: str | None = None,
    diagnosis: FitDiagnosis | None = None,
) -> Path:
    """Save a log-scale loss-per-epoch figure: solid train, dashed validation, one colour per
    fold; with ``diagnosis``, each fold's lowest validation loss marked (a dot) and the
    verdict under the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    output_dir(path.parent)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    try:
        for fold in cv.folds:
            colour = f"C{(fold.fold - 1) % 10}"
            for key, style in (("train_loss", "-"), ("val_loss", "--")):
                points = [(e, v) for e, v in enumerate(fold.curves.get(key, []), start=1)
                          if v is not None]
                if points:
                    epochs, values = zip(*points, strict=True)
                    label = f"fold {fold.fold} {key.split('_')[0]}"
                    ax.plot(epochs, values, style, color=colour, label=label, linewidth=1.2)
            fit = _fold_fit(diagnosis, fold.fold)
            val = fold.curves.get("val_loss", [])
            if fit is not None and fit.best_epoch is not None:
                ax.plot([fit.best_epoch], [val[fit.best_epoch - 1]], "o", color=colour,
                        markersize=5, zorder=3)
        epoch_axis(ax)
        log = _positive(cv)
        if log:
            log_scale(ax)
        notes = loss_notes(log=log, scaled=cv.target_scaled)
        ax.set_ylabel(f"loss ({notes})" if notes else "loss")
        heading = title or "training (solid) and validation (dashed) loss per fold"
        if diagnosis is not None:
            heading += f"\n{diagnosis.verdict} (dots: lowest validation loss)"
        ax.set_title(heading, fontsize=10 if diagnosis is not None else None)
        ax.legend(fontsize=7, ncol=2)
        ax.grid(alpha=0.3, which="both")  # a log axis within a decade labels its minor ticks
        fig.tight_layout()
        save_figure(fig, path)
    finally:
        plt.close(fig)
    return path


def _fold_fit(diagnosis: FitDiagnosis | None, fold: int):
    if diagnosis is None:
        return None
    return next((f for f in diagnosis.folds if f.fold == fold), None)


def _positive(cv: CVResult) -> bool:
    values = [v for f in cv.folds for k in ("train_loss", "val_loss") for v in f.curves.get(k, [])]
    return bool(values) and all(v is not None and v > 0 for v in values)
