"""gdlab.core.stall: the probe finds the descent a stalled fit left, none at the optimum."""

import numpy as np

from gdlab.core.loop import Problem
from gdlab.core.models import LinearModel, make_loss
from gdlab.core.stall import Stall, may_have_stalled, probe_stall


def _problem(scale):
    rng = np.random.default_rng(0)
    X = scale * rng.normal(size=(500, 4))
    y = (X / scale) @ rng.normal(size=4) + 0.1 * rng.normal(size=500)
    return Problem(LinearModel(), make_loss("squared_error", 1, 1.0), X, y[:, None],
                   np.ones(500)), X, y


def test_untrained_fit_on_small_features_is_found_stalled():
    problem, X, y = _problem(0.001)
    zeros = [np.zeros((4, 1)), np.zeros(1)]
    stall = probe_stall(problem, zeros, zeros, 0.0, 0.0, linear=True)
    # the probe (gradient scaled by the columns' mean squares) gets most of the way to
    # least squares' loss; the plain gradient alone would find almost nothing
    best = np.linalg.lstsq(np.c_[X, np.ones(500)], y, rcond=None)[0]
    optimum = 0.5 * np.mean((np.c_[X, np.ones(500)] @ best - y) ** 2)
    assert stall.probe_loss < optimum + 0.1 * (stall.start_loss - optimum)
    assert stall.stalled(1e-4)
    plain = probe_stall(problem, zeros, zeros, 0.0, 0.0, linear=False)
    assert plain.start_loss - plain.probe_loss < 0.01 * (stall.start_loss - optimum)


def test_fit_at_the_optimum_is_not_stalled():
    problem, X, y = _problem(1.0)
    best = np.linalg.lstsq(np.c_[X, np.ones(500)], y, rcond=None)[0]
    end = [best[:4, None], best[4:]]
    stall = probe_stall(problem, [np.zeros((4, 1)), np.zeros(1)], end, 0.0, 0.0, linear=True)
    assert stall.end_loss - stall.probe_loss < 1e-12
    assert not stall.stalled(1e-4)


def test_stalled_rule():
    assert Stall(1.0, 0.99, 0.1).stalled(1e-4)  # covered 1% of the way
    assert not Stall(1.0, 0.3, 0.1).stalled(1e-4)  # covered 78%
    assert not Stall(1.0, 1.0, 1.0 - 5e-4).stalled(1e-4)  # 5 tol left: too little
    assert not Stall(1.0, 1.01, 0.1).stalled(1e-4)  # ended above its start: not a stall
    assert may_have_stalled([1.0, 0.9], 10) and may_have_stalled([1.0, 1.0], 10)
    assert not may_have_stalled([1.0, 0.4], 10)  # halved: it moved
    assert not may_have_stalled([1.0, 0.8, 0.85, 0.9], 2)  # rose: diverging, not stalled
