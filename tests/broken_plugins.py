"""Plug-in modules written out by the plug-in contract tests (tests/core/test_plugins.py through
the engine, tests/config/test_plugin_contract.py through validate): a conforming linear model
and schedules (two whose rate parameter has a default), and one of each fault docs/plugins.md's
contract refuses. The ``plugin`` fixture (tests/conftest.py) writes one as a fresh module and
returns its name."""

MODELS = '''
import numpy as np


class Linear:
    def init_params(self, n_features, n_outputs, rng, dtype):
        return [np.zeros((n_features, n_outputs), dtype), np.zeros(n_outputs, dtype)]

    def forward(self, params, X):
        w, b = params
        return X @ w + b, X

    def backward(self, params, cache, dZ, grads):
        grads[0][...] = cache.T @ dZ
        grads[1][...] = dZ.sum(axis=0)

    def penalized(self, params):
        return [True, False]


class FlatGradient(Linear):
    def backward(self, params, cache, dZ, grads):
        grads[0] = (cache.T @ dZ).ravel()  # (n_features,) for a (n_features, 1) weight
        grads[1][...] = dZ.sum(axis=0)


class ReturnsGradients(Linear):
    def backward(self, params, cache, dZ, grads):
        return [cache.T @ dZ, dZ.sum(axis=0)]  # grads left as they were


class Float64Only(Linear):
    def init_params(self, n_features, n_outputs, rng, dtype):
        return [np.zeros((n_features, n_outputs)), np.zeros(n_outputs)]


class FixedWidth(Linear):
    """Needs exactly 7 features: the made-up problem cannot run it, training will."""

    def init_params(self, n_features, n_outputs, rng, dtype):
        if n_features != 7:
            raise ValueError("fixed_width needs 7 features")
        return super().init_params(n_features, n_outputs, rng, dtype)


class Recording(Linear):
    """Records the dtype each init_params call is given (GIVEN): what a plug-in branching on
    ``dtype is np.float32`` would see."""

    def init_params(self, n_features, n_outputs, rng, dtype):
        GIVEN.append(dtype)
        return super().init_params(n_features, n_outputs, rng, dtype)


GIVEN = []


def linear():
    return Linear()


def recording():
    return Recording()


def flat_gradient():
    return FlatGradient()


def returns_gradients():
    return ReturnsGradients()


def float64_only():
    return Float64Only()


def fixed_width():
    return FixedWidth()
'''

SCHEDULES = '''
from functools import partial


def _fixed_rate():
    return 0.1


def _halving(base_lr, every, epoch):
    return base_lr * 0.5 ** (epoch // every)


def no_epoch(base_lr):
    return _fixed_rate


def rate_second(every=10, base_lr=0.5):
    return partial(_halving, base_lr, every)


def halving(base_lr, every=10):
    return partial(_halving, base_lr, every)


def halving_with_default(base_lr=0.1, every=10):
    return partial(_halving, base_lr, every)


def unnamed(x, y=1000):
    return partial(_halving, x, y)


def _between(low, high, period, epoch):
    """A triangle from ``low`` up to ``high`` and back every ``period`` epochs; a period
    longer than the fit stays at ``low``."""
    phase = (epoch % period) / period
    return low + (high - low) * max(0.0, 1.0 - abs(2.0 * phase - 1.0)) * (period <= epoch)


def cyclic(min_lr, max_lr=0.1, period=10):
    return partial(_between, min_lr, max_lr, period)


def warm(lr_start, eta=0.1):
    return partial(_halving, lr_start, 1000)


class StepSched:
    """A schedule object whose rate parameter has a default: it receives the rate all the
    same."""

    def __init__(self, lr=0.1, factor=0.5):
        self.learning_rate = lr
        self.factor = factor

    def step(self, metric):
        self.learning_rate *= self.factor
'''

RATE_FIRST_FACTORIES = [
    # (factory in SCHEDULES, schedule.params): each takes the base rate in its first
    # parameter, as the contract says, and keeps it for the fit's length (a constant schedule)
    ("halving_with_default", {"every": 100}),  # halving(base_lr=0.1, every=10)
    ("StepSched", {"factor": 1.0}),  # a class StepSched(lr=0.1, factor=0.5)
    ("unnamed", {}),  # unnamed(x, y=1000): names that say nothing of a rate
    ("cyclic", {"max_lr": 0.05, "period": 100}),  # cyclic(min_lr, max_lr=0.1, period=10)
    ("warm", {"eta": 0.3}),  # warm(lr_start, eta=0.1): both named like a rate
]
"""Schedule factories the contract check must accept (with a default on the rate parameter,
or named like cyclic schedules are)."""
