"""Model families with analytic gradients: linear (regression, logistic, softmax) and MLP."""

from gdlab.core.models.base import Model, objective
from gdlab.core.models.linear import LinearModel
from gdlab.core.models.losses import make_loss
from gdlab.core.models.mlp import MLP
from gdlab.core.models.penalty import add_penalty

__all__ = ["MLP", "LinearModel", "Model", "add_penalty", "make_loss", "objective"]
