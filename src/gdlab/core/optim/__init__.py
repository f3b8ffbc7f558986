"""Optimisers as composable gradient transformations (optax's design, numpy buffers)."""

from gdlab.core.optim.alias import (
    OPTIMIZERS,
    adagrad,
    adam,
    adamw,
    momentum,
    nadam,
    nesterov,
    rmsprop,
    sgd,
)
from gdlab.core.optim.base import GradientTransformation, apply_updates, chain, identity
from gdlab.core.optim.registry import make_optimizer
from gdlab.core.optim.transform import (
    add_decayed_weights,
    clip_by_global_norm,
    decoupled_weight_decay,
    scale_by_adagrad,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_nadam,
    scale_by_rms,
    trace,
)

__all__ = [
    "OPTIMIZERS",
    "GradientTransformation",
    "adagrad",
    "adam",
    "adamw",
    "add_decayed_weights",
    "apply_updates",
    "chain",
    "clip_by_global_norm",
    "decoupled_weight_decay",
    "identity",
    "make_optimizer",
    "momentum",
    "nadam",
    "nesterov",
    "rmsprop",
    "scale_by_adagrad",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_nadam",
    "scale_by_rms",
    "sgd",
    "trace",
]
