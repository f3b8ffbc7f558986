"""A user's plug-in optimiser for the live tests: SGD that sleeps a little on every step, so
a small training lasts long enough to be watched while it runs; with ``gate``, step
``hold_at`` waits until that file exists, so a test can look at MLflow while training is
certainly still running and then let it finish."""

import os
import time

from gdlab.core.optim import GradientTransformation, chain, scale_by_learning_rate


def slow_sgd(
    pause: float = 0.01, hold_at: int = 0, gate: str | None = None
) -> GradientTransformation:
    steps = [0]

    def init(params):
        return ()

    def update(grads, state, params, learning_rate):
        time.sleep(pause)
        steps[0] += 1
        if gate is not None and steps[0] == hold_at:
            deadline = time.monotonic() + 300  # the test is gone: do not hang forever
            while not os.path.exists(gate) and time.monotonic() < deadline:
                time.sleep(0.01)
        return grads, state

    return chain(GradientTransformation(init, update), scale_by_learning_rate())
