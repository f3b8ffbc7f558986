"""``train:`` and ``cv:`` — the training loop and cross-validation."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from gdlab.config.base import Section
from gdlab.config.errors import Problem, raise_problems


class TrainConfig(Section):
    """The training loop: batches, epochs and stopping."""

    batch_size: int | None = Field(
        64, ge=1, description="rows per step: null = full batch, 1 = stochastic"
    )
    max_epochs: int = Field(100, ge=1, le=1_000_000, description="upper bound on epochs")
    tol: float | None = Field(
        0.0001,
        ge=0,
        description="stop when the loss improves less than this for "
        "n_iter_no_change epochs (the loss on the standardised target with "
        "preprocess.scale_target); null = run exactly max_epochs. A fit it stops early may "
        "end before a schedule lowers the rate (step_size, milestones, plateau's patience)",
    )
    n_iter_no_change: int = Field(10, ge=1, description="epochs without improvement > tol")
    early_stopping: bool = Field(
        False, description="stop on a held-out validation loss instead of the training loss"
    )
    validation_fraction: float = Field(
        0.1, gt=0, lt=1, description="early_stopping: fraction of training rows held out"
    )
    shuffle: bool = Field(True, description="shuffle the rows every epoch")
    dtype: Literal["float64", "float32"] = Field("float64", description="floating-point precision")

    @model_validator(mode="after")
    def _stopping_needs_tol(self) -> TrainConfig:
        if self.early_stopping and self.tol is None:
            raise_problems(
                [
                    Problem(
                        "early_stopping",
                        "needs train.tol (tol: null runs exactly max_epochs)",
                        "false when tol is null",
                    )
                ]
            )
        return self


class CVConfig(Section):
    """k-fold cross-validation."""

    folds: int = Field(
        5, ge=2, le=100, description="number of folds (stratified for classification)"
    )
    n_jobs: int = Field(
        2,
        ge=-1,
        description="folds trained at a time (joblib): threads of the stage when the model "
        "trains in compiled code (linear, built-in loss and optimiser), else worker processes; "
        "-1 = all cores",
        json_schema_extra={"x-allowed": "-1 or an integer >= 1"},
    )

    @model_validator(mode="after")
    def _jobs_not_zero(self) -> CVConfig:
        if self.n_jobs == 0:
            raise_problems([Problem("n_jobs", "must not be 0", "-1 or an integer >= 1")])
        return self
