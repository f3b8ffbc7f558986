"""A figure overlaying every fold's training and validation loss (PNG, for DVC and MLflow)."""

from __future__ import annotations

from pathlib import Path

from gdlab.experiment import CVResult
from gdlab.reporting.canvas import epoch_axis, log_scale, loss_notes, save_figure


def loss_curves_figure(cv: CVResult, path: str | Path, title: str | None = None) -> Path:
    """Save a log-scale loss-per-epoch figure: solid train, dashed validation, one colour per
    fold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
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
        epoch_axis(ax)
        log = _positive(cv)
        if log:
            log_scale(ax)
        notes = loss_notes(log=log, scaled=cv.target_scaled)
        ax.set_ylabel(f"loss ({notes})" if notes else "loss")
        ax.set_title(title or "training (solid) and validation (dashed) loss per fold")
        ax.legend(fontsize=7, ncol=2)
        ax.grid(alpha=0.3, which="both")  # a log axis within a decade labels its minor ticks
        fig.tight_layout()
        save_figure(fig, path)
    finally:
        plt.close(fig)
    return path


def _positive(cv: CVResult) -> bool:
    values = [v for f in cv.folds for k in ("train_loss", "val_loss") for v in f.curves.get(k, [])]
    return bool(values) and all(v is not None and v > 0 for v in values)
