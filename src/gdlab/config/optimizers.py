"""The parameters each built-in optimiser accepts (``optimizer.params``), named as torch names them.

Defaults equal the engine's (:mod:`gdlab.core.optim.alias`); a test keeps the two in step. The
allowed values are the engine's rules (:data:`gdlab.core.rules.OPTIMIZER_RULES`), so
``validate`` refuses exactly what a fit would.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from gdlab.config.base import StrictModel, TupleAsList
from gdlab.config.errors import Problem, raise_problems
from gdlab.core.rules import OPTIMIZER_RULES, nesterov_problem

_WD = "L2 weight decay λ added to the gradient (g ← g + λθ, every parameter)"
_EPS = "term added to the denominator for numerical stability"
_BETAS = "coefficients (β₁, β₂) of the running averages of the gradient and its square"


_DAMPENING = "dampening τ of the momentum buffer (needs momentum > 0)"

_BETAS_RULE = OPTIMIZER_RULES["adam"]["betas"]


def _ruled(optimizer: str, key: str, default: Any, description: str) -> Any:
    """The ``Field`` of the optimiser's ``key``, bounded by the engine's rule for it."""
    return Field(default, description=description, **OPTIMIZER_RULES[optimizer][key].bounds())


def _betas() -> Any:
    return Field(
        default_factory=lambda: [0.9, 0.999],
        min_length=_BETAS_RULE.min_length,
        max_length=_BETAS_RULE.max_length,
        description=_BETAS,
    )


class _WithBetas(StrictModel):
    betas: Annotated[
        list[Annotated[float, Field(**_BETAS_RULE.item.bounds())]], TupleAsList
    ] = _betas()


class SGDParams(StrictModel):
    """sgd: torch.optim.SGD."""

    momentum: float = _ruled("sgd", "momentum", 0.0, "momentum factor μ")
    dampening: float = _ruled("sgd", "dampening", 0.0, _DAMPENING)
    nesterov: bool = Field(False, description="use Nesterov momentum (needs momentum > 0)")
    weight_decay: float = _ruled("sgd", "weight_decay", 0.0, _WD)

    @model_validator(mode="after")
    def _nesterov_needs_momentum(self) -> SGDParams:
        problem = nesterov_problem(self.nesterov, self.momentum, self.dampening)
        if problem:
            raise_problems(
                [Problem("nesterov", problem, "nesterov: true with momentum > 0 and dampening: 0")]
            )
        return self


class MomentumParams(StrictModel):
    """momentum: SGD with heavy-ball momentum 0.9."""

    momentum: float = _ruled("momentum", "momentum", 0.9, "momentum factor μ")
    dampening: float = _ruled("momentum", "dampening", 0.0, _DAMPENING)
    weight_decay: float = _ruled("momentum", "weight_decay", 0.0, _WD)


class NesterovParams(StrictModel):
    """nesterov: SGD with Nesterov momentum 0.9."""

    momentum: float = _ruled("nesterov", "momentum", 0.9, "momentum factor μ")
    weight_decay: float = _ruled("nesterov", "weight_decay", 0.0, _WD)


class AdagradParams(StrictModel):
    """adagrad: torch.optim.Adagrad."""

    lr_decay: float = _ruled(
        "adagrad", "lr_decay", 0.0, "learning-rate decay η: γ / (1 + (t − 1)η)"
    )
    weight_decay: float = _ruled("adagrad", "weight_decay", 0.0, _WD)
    initial_accumulator_value: float = _ruled(
        "adagrad", "initial_accumulator_value", 0.0, "starting value of the sum of "
        "squared gradients"
    )
    eps: float = _ruled("adagrad", "eps", 1e-10, _EPS)


class RMSpropParams(StrictModel):
    """rmsprop: torch.optim.RMSprop."""

    alpha: float = _ruled("rmsprop", "alpha", 0.99, "smoothing constant of the squared gradient")
    eps: float = _ruled("rmsprop", "eps", 1e-8, _EPS)
    weight_decay: float = _ruled("rmsprop", "weight_decay", 0.0, _WD)
    momentum: float = _ruled("rmsprop", "momentum", 0.0, "momentum factor μ")
    centered: bool = Field(False, description="normalise by the estimated variance of the gradient")


class AdamParams(_WithBetas):
    """adam: torch.optim.Adam."""

    eps: float = _ruled("adam", "eps", 1e-8, _EPS)
    weight_decay: float = _ruled("adam", "weight_decay", 0.0, _WD)
    amsgrad: bool = Field(False, description="use the running maximum of v̂ (AMSGrad)")


class AdamWParams(_WithBetas):
    """adamw: torch.optim.AdamW (decoupled weight decay)."""

    eps: float = _ruled("adamw", "eps", 1e-8, _EPS)
    weight_decay: float = _ruled(
        "adamw", "weight_decay", 0.01, "decoupled weight decay λ: θ ← θ − γλθ before the Adam step"
    )
    amsgrad: bool = Field(False, description="use the running maximum of v̂ (AMSGrad)")


class NAdamParams(_WithBetas):
    """nadam: torch.optim.NAdam."""

    eps: float = _ruled("nadam", "eps", 1e-8, _EPS)
    weight_decay: float = _ruled("nadam", "weight_decay", 0.0, _WD)
    momentum_decay: float = _ruled("nadam", "momentum_decay", 4e-3, "momentum decay ψ")


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
