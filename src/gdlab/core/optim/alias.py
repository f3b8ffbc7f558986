"""Named optimisers, each a short chain of transformations (torch.optim defaults).

Every factory takes the optimiser's own hyper-parameters (named as torch names them)
and returns a :class:`GradientTransformation`; the learning rate is not a factory
argument: the training loop passes the scheduled value to ``update`` at each step.
"""

from __future__ import annotations

from gdlab.core.optim import transform as T
from gdlab.core.optim.base import GradientTransformation, chain
from gdlab.core.rules import OPTIMIZER_RULES


def _betas(betas) -> tuple[float, float]:
    b1, b2 = (float(b) for b in OPTIMIZER_RULES["adam"]["betas"].check("betas", betas))
    return b1, b2


def sgd(
    momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0
) -> GradientTransformation:
    r"""Stochastic gradient descent, as ``torch.optim.SGD``.

    .. code-block:: text

        g ← g + λ θ                                   (weight_decay λ)
        b_1 ← g ;  b_t ← μ b_{t−1} + (1 − τ) g        (momentum μ, dampening τ)
        g ← g + μ b_t  if nesterov  else  b_t
        θ ← θ − γ g
    """
    return chain(
        T.add_decayed_weights(weight_decay),
        T.trace(momentum, dampening, nesterov),
        T.scale_by_learning_rate(),
    )


def momentum(
    momentum: float = 0.9, dampening: float = 0.0, weight_decay: float = 0.0
) -> GradientTransformation:
    """Heavy-ball momentum: :func:`sgd` with ``momentum=0.9``."""
    return sgd(momentum=momentum, dampening=dampening, weight_decay=weight_decay)


def nesterov(momentum: float = 0.9, weight_decay: float = 0.0) -> GradientTransformation:
    """Nesterov momentum: :func:`sgd` with ``momentum=0.9, nesterov=True``."""
    return sgd(momentum=momentum, nesterov=True, weight_decay=weight_decay)


def adagrad(
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-10,
) -> GradientTransformation:
    r"""Adagrad, as ``torch.optim.Adagrad``.

    .. code-block:: text

        g ← g + λ θ ;  γ̃ ← γ / (1 + (t − 1) η)
        s ← s + g² ;   θ ← θ − γ̃ g / (√s + ε)
    """
    return chain(
        T.add_decayed_weights(weight_decay),
        T.scale_by_adagrad(lr_decay, initial_accumulator_value, eps),
        T.scale_by_learning_rate(),
    )


def rmsprop(
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
) -> GradientTransformation:
    r"""RMSprop, as ``torch.optim.RMSprop``.

    .. code-block:: text

        g ← g + λ θ ;  v ← α v + (1 − α) g²
        centered: ḡ ← α ḡ + (1 − α) g ;  ṽ ← v − ḡ²   else ṽ ← v
        momentum: b ← μ b + g/(√ṽ + ε) ;  θ ← θ − γ b   else θ ← θ − γ g/(√ṽ + ε)
    """
    return chain(
        T.add_decayed_weights(weight_decay),
        T.scale_by_rms(alpha, eps, centered, momentum),
        T.scale_by_learning_rate(),
    )


def adam(
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
) -> GradientTransformation:
    r"""Adam, as ``torch.optim.Adam``.

    .. code-block:: text

        g ← g + λ θ
        m ← β₁ m + (1 − β₁) g ;  v ← β₂ v + (1 − β₂) g²
        m̂ ← m / (1 − β₁ᵗ) ;       v̂ ← v / (1 − β₂ᵗ)      (amsgrad: v ← max(v_max, v) first)
        θ ← θ − γ m̂ / (√v̂ + ε)
    """
    b1, b2 = _betas(betas)
    return chain(
        T.add_decayed_weights(weight_decay),
        T.scale_by_adam(b1, b2, eps, amsgrad),
        T.scale_by_learning_rate(),
    )


def adamw(
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.01,
    amsgrad: bool = False,
) -> GradientTransformation:
    r"""AdamW, as ``torch.optim.AdamW``: decoupled weight decay, then the Adam step.

    .. code-block:: text

        θ ← θ − γ λ θ
        θ ← θ − γ m̂ / (√v̂ + ε)                         (Adam, without coupled decay)
    """
    b1, b2 = _betas(betas)
    return chain(
        T.decoupled_weight_decay(weight_decay),
        T.scale_by_adam(b1, b2, eps, amsgrad),
        T.scale_by_learning_rate(),
    )


def nadam(
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum_decay: float = 4e-3,
) -> GradientTransformation:
    r"""NAdam, as ``torch.optim.NAdam``.

    .. code-block:: text

        g ← g + λ θ ;  μ_t ← β₁ (1 − ½ 0.96^{tψ})
        m ← β₁ m + (1 − β₁) g ;  v ← β₂ v + (1 − β₂) g²
        d ← √(v / (1 − β₂ᵗ)) + ε
        θ ← θ − γ [(1 − μ_t) g / (1 − Π_{i≤t} μ_i) + μ_{t+1} m / (1 − Π_{i≤t+1} μ_i)] / d
    """
    b1, b2 = _betas(betas)
    return chain(
        T.add_decayed_weights(weight_decay),
        T.scale_by_nadam(b1, b2, eps, momentum_decay),
        T.scale_by_learning_rate(),
    )


OPTIMIZERS = {
    "sgd": sgd,
    "momentum": momentum,
    "nesterov": nesterov,
    "adagrad": adagrad,
    "rmsprop": rmsprop,
    "adam": adam,
    "adamw": adamw,
    "nadam": nadam,
}
