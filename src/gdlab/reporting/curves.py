"""Per-epoch curves over cross-validation folds: mean ± std bands of the training and
validation loss (linear and log scale), the learning rate and the gradient norm.

Folds stop at different epochs (the ``tol`` rule); a fold that stopped keeps its last value
in the mean (see :mod:`gdlab.experiment.curves`), so the band's last point is the mean of the
folds' final values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gdlab.experiment import CVResult
from gdlab.experiment.curves import band, stack_curves
from gdlab.experiment.target import STANDARDISED
from gdlab.reporting.canvas import (
    Figure,
    canvas,
    epoch_axis,
    line_data,
    log_scale,
    positive,
)


def cv_band(cv: CVResult, key: str, hold: bool = True) -> dict[str, np.ndarray]:
    """``epoch`` (counted from 1, as the console and ``n_iter`` count), ``mean``, ``std`` and
    ``count`` of curve ``key`` over the folds (folds that stopped held at their last value
    when ``hold``, else left out)."""
    curves = [f.curves.get(key, []) for f in cv.folds]
    stacked = stack_curves(curves, hold=[hold] * len(curves))
    mean, std, count = band(stacked)
    return {"epoch": np.arange(1, mean.size + 1), "mean": mean, "std": std, "count": count}


def _draw_band(ax, data, label, colour, style="-"):
    epoch, mean, std = data["epoch"], data["mean"], data["std"]
    ok = np.isfinite(mean)
    (line,) = ax.plot(epoch[ok], mean[ok], style, color=colour, linewidth=1.6, label=label)
    ax.fill_between(
        epoch[ok], (mean - std)[ok], (mean + std)[ok], color=colour, alpha=0.2, linewidth=0
    )
    return line


def loss_band_figure(cv: CVResult, path: str | Path) -> Figure:
    """Mean ± std over folds of the training and validation loss per epoch, on a linear (left)
    and a log (right) loss axis."""
    train, val = cv_band(cv, "train_loss"), cv_band(cv, "val_loss")
    has_val = bool(np.isfinite(val["mean"]).any()) if val["mean"].size else False
    k = len(cv.folds)
    drawn: dict[str, np.ndarray] = {}
    with canvas(path, ncols=2, size=(6, 4.3)) as (fig, axes):
        for ax, scale in zip(axes[0], ("linear", "log"), strict=True):
            t_line = _draw_band(ax, train, "training loss (mean ± std)", "C0")
            v_line = (
                _draw_band(ax, val, "validation loss (mean ± std)", "C1", "--") if has_val else None
            )
            if scale == "log" and positive(train["mean"], val["mean"] if has_val else None):
                log_scale(ax)
            epoch_axis(ax)
            units = f", {STANDARDISED}" if cv.target_scaled else ""
            ax.set_ylabel(f"loss ({ax.get_yscale()} scale{units})")
            ax.set_title(f"{scale} scale")
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=8)
            drawn[f"{scale}_train"] = line_data(t_line)
            if v_line is not None:
                drawn[f"{scale}_val"] = line_data(v_line)
        fig.suptitle(f"loss per epoch over {k} CV folds (stopped folds hold their last value)")
        fig.tight_layout()
    return Figure(Path(path), {**drawn, "train": train, "val": val})


def lr_grad_figure(cv: CVResult, path: str | Path) -> Figure:
    """Learning rate (left) and mean ± std gradient norm (right, log scale) per epoch, over
    the folds still training in that epoch."""
    lr = cv_band(cv, "learning_rate", hold=False)
    grad = cv_band(cv, "grad_norm", hold=False)
    with canvas(path, ncols=2, size=(6, 4.3)) as (fig, axes):
        left, right = axes[0]
        (lr_line,) = left.plot(
            lr["epoch"],
            lr["mean"],
            "-",
            color="C2",
            linewidth=1.6,
            label="learning rate (mean over folds)",
        )
        if positive(lr["mean"]) and np.nanmax(lr["mean"]) > 20 * np.nanmin(lr["mean"]):
            log_scale(left)
        else:
            left.set_ylim(0, 1.15 * float(np.nanmax(lr["mean"])) if lr["mean"].size else 1)
        epoch_axis(left)
        left.set_ylabel("learning rate")
        left.set_title("learning rate used in each epoch")
        left.grid(alpha=0.3, which="both")
        left.legend(fontsize=8)
        g_line = _draw_band(right, grad, "gradient norm (mean ± std)", "C3")
        if positive(grad["mean"]):
            log_scale(right)
        epoch_axis(right)
        right.set_ylabel(f"mean ‖gradient‖ per step ({right.get_yscale()} scale)")
        right.set_title("gradient norm (before clipping)")
        right.grid(alpha=0.3, which="both")
        right.legend(fontsize=8)
        fig.suptitle(f"learning rate and gradient norm over {len(cv.folds)} CV folds")
        fig.tight_layout()
    return Figure(
        Path(path),
        {
            "learning_rate": line_data(lr_line),
            "grad_norm": line_data(g_line),
            "lr": lr,
            "grad": grad,
        },
    )
