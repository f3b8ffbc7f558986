"""A user's plug-in optimiser for the live tests: SGD that sleeps a little on every step, so
a small training lasts long enough to be watched while it runs."""

import time

from gdlab.core.optim import GradientTransformation, chain, scale_by_learning_rate


def slow_sgd(pause: float = 0.01) -> GradientTransformation:
    def init(params):
        return ()

    def update(grads, state, params, learning_rate):
        time.sleep(pause)
        return grads, state

    return chain(GradientTransformation(init, update), scale_by_learning_rate())
