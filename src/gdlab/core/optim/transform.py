"""Elementary gradient transformations, each following torch.optim's documented update.

Every function returns a :class:`~gdlab.core.optim.base.GradientTransformation`.
Each docstring gives its rule in torch's pseudocode style (γ learning rate, g the
incoming gradient, θ the parameters, t the step counter starting at 1). State is
kept in numpy buffers updated in place; the incoming gradient buffers are
overwritten and returned as the updates.
"""

from __future__ import annotations

import math

import numpy as np

from gdlab.core.optim.base import (
    GradientTransformation,
    Params,
    Updates,
    global_norm,
    zeros_like,
)
from gdlab.core.rules import nesterov_problem


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    r"""Global-norm clipping, as ``torch.nn.utils.clip_grad_norm_``.

    .. code-block:: text

        total ← ‖(g_1, …, g_k)‖₂                      (over every parameter tensor)
        g_i   ← g_i · min(1, max_norm / (total + 1e-6))
    """
    if not max_norm > 0:
        raise ValueError(f"clip_norm must be > 0, got {max_norm!r}")

    def init(params: Params):
        return ()

    def update(grads: Updates, state, params: Params, learning_rate: float):
        total = global_norm(grads)  # in float64: a float32 one overflows from 1.8e19
        coef = min(1.0, max_norm / (total + 1e-6))
        for g in grads:
            g *= coef
        return grads, state

    return GradientTransformation(init, update)


def add_decayed_weights(weight_decay: float) -> GradientTransformation:
    r"""Coupled (L2) weight decay, as torch's ``weight_decay`` argument.

    .. code-block:: text

        g ← g + λ θ          (every parameter, intercepts included, as torch)
    """

    def init(params: Params):
        return ()

    def update(grads: Updates, state, params: Params, learning_rate: float):
        if weight_decay:
            for g, p in zip(grads, params, strict=True):
                g += weight_decay * p
        return grads, state

    return GradientTransformation(init, update)


def decoupled_weight_decay(weight_decay: float) -> GradientTransformation:
    r"""Decoupled weight decay (AdamW): shrink the parameters before the step.

    .. code-block:: text

        θ ← θ − γ λ θ
    """

    def init(params: Params):
        return ()

    def update(grads: Updates, state, params: Params, learning_rate: float):
        if weight_decay:
            factor = 1.0 - learning_rate * weight_decay
            for p in params:
                p *= factor
        return grads, state

    return GradientTransformation(init, update)


def trace(momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False):
    r"""SGD momentum buffer, as ``torch.optim.SGD``.

    .. code-block:: text

        b_1 ← g_1
        b_t ← μ b_{t−1} + (1 − τ) g_t                 (t > 1)
        g   ← g + μ b_t   if nesterov   else   b_t
    """
    problem = nesterov_problem(nesterov, momentum, dampening)
    if problem:
        raise ValueError(problem)

    def init(params: Params):
        return {"t": 0, "buf": zeros_like(params) if momentum else []}

    def update(grads: Updates, state, params: Params, learning_rate: float):
        if not momentum:
            return grads, state
        state["t"] += 1
        for g, b in zip(grads, state["buf"], strict=True):
            if state["t"] == 1:
                np.copyto(b, g)
            else:
                b *= momentum
                b += (1.0 - dampening) * g
            if nesterov:
                g += momentum * b
            else:
                np.copyto(g, b)
        return grads, state

    return GradientTransformation(init, update)


def scale_by_adagrad(
    lr_decay: float = 0.0, initial_accumulator_value: float = 0.0, eps: float = 1e-10
) -> GradientTransformation:
    r"""Adagrad's scaling, as ``torch.optim.Adagrad``.

    .. code-block:: text

        s_0 ← initial_accumulator_value
        s   ← s + g²
        g   ← g / ((1 + (t − 1) η) (√s + ε))        (η = lr_decay: γ̃ = γ / (1 + (t − 1) η))
    """

    def init(params: Params):
        return {"t": 0, "sum": [np.full_like(p, initial_accumulator_value) for p in params]}

    def update(grads: Updates, state, params: Params, learning_rate: float):
        state["t"] += 1
        decay = 1.0 / (1.0 + (state["t"] - 1) * lr_decay)
        for g, s in zip(grads, state["sum"], strict=True):
            s += g * g
            denom = np.sqrt(s)
            denom += eps
            g /= denom
            if decay != 1.0:
                g *= decay
        return grads, state

    return GradientTransformation(init, update)


def scale_by_rms(
    alpha: float = 0.99, eps: float = 1e-8, centered: bool = False, momentum: float = 0.0
) -> GradientTransformation:
    r"""RMSprop's scaling, as ``torch.optim.RMSprop``.

    .. code-block:: text

        v ← α v + (1 − α) g²
        centered:  ḡ ← α ḡ + (1 − α) g ;   ṽ ← v − ḡ²     else ṽ ← v
        momentum:  b ← μ b + g / (√ṽ + ε) ;  g ← b          else g ← g / (√ṽ + ε)
    """

    def init(params: Params):
        return {
            "sq": zeros_like(params),
            "avg": zeros_like(params) if centered else [],
            "buf": zeros_like(params) if momentum else [],
        }

    def update(grads: Updates, state, params: Params, learning_rate: float):
        for i, g in enumerate(grads):
            sq = state["sq"][i]
            sq *= alpha
            sq += (1.0 - alpha) * (g * g)
            if centered:
                avg = state["avg"][i]
                avg += (1.0 - alpha) * (g - avg)
                denom = np.sqrt(sq - avg * avg)
            else:
                denom = np.sqrt(sq)
            denom += eps
            g /= denom
            if momentum:
                b = state["buf"][i]
                b *= momentum
                b += g
                np.copyto(g, b)
        return grads, state

    return GradientTransformation(init, update)


def scale_by_adam(
    b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, amsgrad: bool = False
) -> GradientTransformation:
    r"""Adam's scaling, as ``torch.optim.Adam``.

    .. code-block:: text

        m ← β₁ m + (1 − β₁) g
        v ← β₂ v + (1 − β₂) g²
        amsgrad:  v_max ← max(v_max, v) ;  v ← v_max      (torch keeps the max of the raw v)
        g ← (m / (1 − β₁ᵗ)) / (√v / √(1 − β₂ᵗ) + ε)
    """

    def init(params: Params):
        return {
            "t": 0,
            "m": zeros_like(params),
            "v": zeros_like(params),
            "vmax": zeros_like(params) if amsgrad else [],
        }

    def update(grads: Updates, state, params: Params, learning_rate: float):
        state["t"] += 1
        t = state["t"]
        bc1 = 1.0 - b1**t
        bc2_sqrt = math.sqrt(1.0 - b2**t)
        for i, g in enumerate(grads):
            m, v = state["m"][i], state["v"][i]
            m += (1.0 - b1) * (g - m)
            v *= b2
            v += (1.0 - b2) * (g * g)
            if amsgrad:
                vmax = state["vmax"][i]
                np.maximum(vmax, v, out=vmax)
                denom = np.sqrt(vmax)
            else:
                denom = np.sqrt(v)
            denom /= bc2_sqrt
            denom += eps
            np.divide(m, denom, out=g)
            g /= bc1
        return grads, state

    return GradientTransformation(init, update)


def scale_by_nadam(
    b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, momentum_decay: float = 4e-3
) -> GradientTransformation:
    r"""NAdam's scaling, as ``torch.optim.NAdam``.

    .. code-block:: text

        μ_t  ← β₁ (1 − ½ · 0.96^{t ψ})                 (ψ = momentum_decay)
        m    ← β₁ m + (1 − β₁) g ;   v ← β₂ v + (1 − β₂) g²
        d    ← √(v / (1 − β₂ᵗ)) + ε
        g    ← (1 − μ_t) g / ((1 − Π_{i≤t} μ_i) d) + μ_{t+1} m / ((1 − Π_{i≤t+1} μ_i) d)
    """

    def init(params: Params):
        return {"t": 0, "mu_product": 1.0, "m": zeros_like(params), "v": zeros_like(params)}

    def update(grads: Updates, state, params: Params, learning_rate: float):
        state["t"] += 1
        t = state["t"]
        bc2 = 1.0 - b2**t
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        c_grad = (1.0 - mu) / (1.0 - mu_product)
        c_m = mu_next / (1.0 - mu_product * mu_next)
        for i, g in enumerate(grads):
            m, v = state["m"][i], state["v"][i]
            m += (1.0 - b1) * (g - m)
            v *= b2
            v += (1.0 - b2) * (g * g)
            denom = np.sqrt(v / bc2)
            denom += eps
            g *= c_grad
            g += c_m * m
            g /= denom
        return grads, state

    return GradientTransformation(init, update)


def scale_by_learning_rate() -> GradientTransformation:
    r"""The descent step: ``u ← −γ g`` (the updates are then added to θ)."""

    def init(params: Params):
        return ()

    def update(grads: Updates, state, params: Params, learning_rate: float):
        for g in grads:
            g *= -learning_rate
        return grads, state

    return GradientTransformation(init, update)
