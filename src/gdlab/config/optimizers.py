"""The parameters each built-in optimiser accepts (``optimizer.params``), named as torch names them.

Defaults equal the engine's (:mod:`gdlab.core.optim.alias`); a test keeps the two in step.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from gdlab.config.base import StrictModel, TupleAsList
from gdlab.config.errors import Problem, raise_problems

_WD = "L2 weight decay λ added to the gradient (g ← g + λθ, every parameter)"
_EPS = "term added to the denominator for numerical stability"
_BETAS = "coefficients (β₁, β₂) of the running averages of the gradient and its square"


def _betas() -> Any:
    return Field(
        default_factory=lambda: [0.9, 0.999], min_length=2, max_length=2, description=_BETAS
    )


class _WithBetas(StrictModel):
    betas: Annotated[list[Annotated[float, Field(ge=0, lt=1)]], TupleAsList] = _betas()


class SGDParams(StrictModel):
    """sgd: torch.optim.SGD."""

    momentum: float = Field(0.0, ge=0, lt=1, description="momentum factor μ")
    dampening: float = Field(0.0, ge=0, le=1, description="dampening τ for momentum")
    nesterov: bool = Field(False, description="use Nesterov momentum (needs momentum > 0)")
    weight_decay: float = Field(0.0, ge=0, description=_WD)

    @model_validator(mode="after")
    def _nesterov_needs_momentum(self) -> SGDParams:
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise_problems(
                [
                    Problem(
                        "nesterov",
                        "Nesterov momentum needs momentum > 0 and dampening 0",
                        "nesterov: true with momentum > 0 and dampening: 0",
                    )
                ]
            )
        return self


class MomentumParams(StrictModel):
    """momentum: SGD with heavy-ball momentum 0.9."""

    momentum: float = Field(0.9, ge=0, lt=1, description="momentum factor μ")
    dampening: float = Field(0.0, ge=0, le=1, description="dampening τ for momentum")
    weight_decay: float = Field(0.0, ge=0, description=_WD)


class NesterovParams(StrictModel):
    """nesterov: SGD with Nesterov momentum 0.9."""

    momentum: float = Field(0.9, gt=0, lt=1, description="momentum factor μ")
    weight_decay: float = Field(0.0, ge=0, description=_WD)


class AdagradParams(StrictModel):
    """adagrad: torch.optim.Adagrad."""

    lr_decay: float = Field(0.0, ge=0, description="learning-rate decay η: γ / (1 + (t − 1)η)")
    weight_decay: float = Field(0.0, ge=0, description=_WD)
    initial_accumulator_value: float = Field(
        0.0, ge=0, description="starting value of the sum of squared gradients"
    )
    eps: float = Field(1e-10, gt=0, description=_EPS)


class RMSpropParams(StrictModel):
    """rmsprop: torch.optim.RMSprop."""

    alpha: float = Field(0.99, ge=0, lt=1, description="smoothing constant of the squared gradient")
    eps: float = Field(1e-8, gt=0, description=_EPS)
    weight_decay: float = Field(0.0, ge=0, description=_WD)
    momentum: float = Field(0.0, ge=0, lt=1, description="momentum factor μ")
    centered: bool = Field(False, description="normalise by the estimated variance of the gradient")


class AdamParams(_WithBetas):
    """adam: torch.optim.Adam."""

    eps: float = Field(1e-8, gt=0, description=_EPS)
    weight_decay: float = Field(0.0, ge=0, description=_WD)
    amsgrad: bool = Field(False, description="use the running maximum of v̂ (AMSGrad)")


class AdamWParams(_WithBetas):
    """adamw: torch.optim.AdamW (decoupled weight decay)."""

    eps: float = Field(1e-8, gt=0, description=_EPS)
    weight_decay: float = Field(
        0.01, ge=0, description="decoupled weight decay λ: θ ← θ − γλθ before the Adam step"
    )
    amsgrad: bool = Field(False, description="use the running maximum of v̂ (AMSGrad)")


class NAdamParams(_WithBetas):
    """nadam: torch.optim.NAdam."""

    eps: float = Field(1e-8, gt=0, description=_EPS)
    weight_decay: float = Field(0.0, ge=0, description=_WD)
    momentum_decay: float = Field(4e-3, ge=0, description="momentum decay ψ")


OPTIMIZER_PARAMS: dict[str, type[StrictModel]] = {
    "sgd": SGDParams,
    "momentum": MomentumParams,
    "nesterov": NesterovParams,
    "adagrad": AdagradParams,
    "rmsprop": RMSpropParams,
    "adam": AdamParams,
    "adamw": AdamWParams,
    "nadam": NAdamParams,
}
"""Built-in optimiser name -> the model of its ``optimizer.params``."""
