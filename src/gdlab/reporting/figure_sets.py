"""The figures each pipeline stage writes, in one call per stage.

* train: ``loss_band.png`` (mean ± std over folds, linear and log), ``lr_grad_norm.png``,
  ``trajectory.png`` (the refit's path on the training-loss surface);
* evaluate: see :func:`gdlab.reporting.evaluation.evaluation_figures`;
* compare: see :mod:`gdlab.reporting.compare`.
"""

from __future__ import annotations

from pathlib import Path

from gdlab.experiment import CVResult
from gdlab.experiment.progress import say
from gdlab.experiment.trajectory import Trajectory, loss_surface, surface_line
from gdlab.reporting.canvas import Figure
from gdlab.reporting.curves import loss_band_figure, lr_grad_figure
from gdlab.reporting.evaluation import evaluation_figures
from gdlab.reporting.landscape import trajectory_figure

TRAINING_FIGURES = ("loss_band", "lr_grad_norm", "trajectory")
RESOLUTION = 41  # the trajectory figure's grid: RESOLUTION² loss evaluations

__all__ = ["TRAINING_FIGURES", "evaluation_figures", "training_figures"]


def training_figures(
    cv: CVResult, directory: str | Path, trajectory: Trajectory | None = None
) -> dict[str, Figure]:
    """Write the train stage's figures into ``directory``; returns them by name."""
    directory = Path(directory)
    figures = {
        "loss_band": loss_band_figure(cv, directory / "loss_band.png"),
        "lr_grad_norm": lr_grad_figure(cv, directory / "lr_grad_norm.png"),
    }
    if trajectory is not None and trajectory.n_params >= 2:
        if (line := surface_line(trajectory, RESOLUTION)) is not None:
            say(f"train: {line}")
        figures["trajectory"] = trajectory_figure(
            loss_surface(trajectory, resolution=RESOLUTION),
            directory / "trajectory.png",
            title=f"refit on the whole training split: {trajectory.n_iter} epochs"
            + (" (diverged)" if trajectory.diverged else ""),
        )
    return figures
