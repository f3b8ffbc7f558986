"""Schedules against torch.optim.lr_scheduler's documented closed forms and behaviour.

(step, exponential and cosine are also matched against torch itself in test_torch_parity.)
"""

import math
import pickle

import numpy as np
import pytest

from gdlab.core.schedules import make_schedule


def _rates(name, params, n=12, base=0.1, metrics=None):
    s = make_schedule(name, base, params)
    out = []
    for e in range(n):
        out.append(s.learning_rate)
        s.step(None if metrics is None else metrics[e])
    return out


def test_constant():
    assert _rates("constant", {}) == [0.1] * 12


def test_multistep():
    got = _rates("multistep", {"milestones": [3, 7], "gamma": 0.5})
    want = [0.1] * 3 + [0.05] * 4 + [0.025] * 5
    np.testing.assert_allclose(got, want, rtol=1e-15)


def test_cosine_closed_form_and_eta_min():
    got = _rates("cosine", {"T_max": 10, "eta_min": 0.01}, n=11)
    want = [0.01 + 0.5 * 0.09 * (1 + math.cos(math.pi * e / 10)) for e in range(11)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got[-1] == pytest.approx(0.01)


def test_warmup_then_cosine():
    got = _rates("warmup", {"warmup_epochs": 4, "start_factor": 0.25, "then": "cosine",
                            "then_params": {"T_max": 8}})
    np.testing.assert_allclose(got[:4], [0.025, 0.04375, 0.0625, 0.08125])
    np.testing.assert_allclose(got[4:], [0.05 * (1 + math.cos(math.pi * e / 8)) for e in range(8)])


def test_invscaling_is_sklearn_formula_per_epoch():
    got = _rates("invscaling", {"power_t": 0.5}, n=5)
    np.testing.assert_allclose(got, [0.1 / math.sqrt(e + 1) for e in range(5)])


def test_plateau_reduces_after_patience_and_respects_cooldown_and_min_lr():
    # torch.optim.lr_scheduler.ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1,
    # min_lr=0.03): a flat metric reduces after patience+1 bad epochs, then waits the cooldown.
    metrics = [1.0] + [1.0] * 11
    got = _rates("plateau", {"factor": 0.5, "patience": 2, "cooldown": 1, "min_lr": 0.03},
                 metrics=metrics)
    # epoch 0 sets best; bad epochs 1,2,3 -> reduce after step 3 (used from epoch 4);
    # cooldown 1 (epoch 4's step), bad 5,6,7 -> reduce after step 7 -> max(0.025, 0.03)
    want = [0.1] * 4 + [0.05] * 4 + [0.03] * 4
    np.testing.assert_allclose(got, want)


def test_plateau_relative_threshold():
    # an improvement smaller than threshold·best does not count
    metrics = [1.0, 0.99995, 0.99991, 0.99992, 0.5, 0.5]
    got = _rates("plateau", {"patience": 2, "threshold": 1e-4}, n=6, metrics=metrics)
    assert got[:4] == [0.1] * 4 and got[4] == pytest.approx(0.01)


def test_unknown_schedule_names_allowed_values():
    with pytest.raises(ValueError, match="unknown; use one of constant"):
        make_schedule("cosin", 0.1)


def test_bad_schedule_parameter_is_named():
    with pytest.raises(ValueError, match="schedule 'step'"):
        make_schedule("step", 0.1, {"stepsize": 3})


@pytest.mark.parametrize("name,params", [
    ("step", {"step_size": 2}), ("cosine", {"T_max": 5}), ("plateau", {}),
    ("warmup", {"then": "exponential", "then_params": {"gamma": 0.9}}),
])
def test_schedules_pickle(name, params):
    s = make_schedule(name, 0.1, params)
    s.step(1.0)
    t = pickle.loads(pickle.dumps(s))
    assert t.learning_rate == s.learning_rate


def test_warmup_hands_over_at_warmup_epochs_to_the_next_schedule_from_its_epoch_0():
    # values of torch's SequentialLR([LinearLR(start_factor=0.5, total_iters=3),
    # MultiStepLR(milestones=[0, 2], gamma=0.5)], milestones=[3]) (torch 2.13): the first
    # epoch after the warm-up already has the next schedule's milestone 0 applied
    got = _rates("warmup", {"warmup_epochs": 3, "start_factor": 0.5, "then": "multistep",
                            "then_params": {"milestones": [0, 2], "gamma": 0.5}}, n=8)
    np.testing.assert_allclose(got, [0.05, 0.1 * 2 / 3, 0.1 * 5 / 6, 0.05, 0.05, 0.025, 0.025,
                                     0.025], rtol=1e-15)


def test_plateau_threshold_is_relative_to_the_best_loss_not_absolute():
    # with best = 100 and threshold 1e-3 an improvement must exceed 0.1, not 1e-3: the values
    # below count as no improvement, as in torch's ReduceLROnPlateau (same rates, torch 2.13)
    metrics = [100.0, 99.95, 99.92, 99.91, 99.905, 99.9, 50.0]
    got = _rates("plateau", {"patience": 2, "threshold": 1e-3}, n=7, metrics=metrics)
    np.testing.assert_allclose(got, [0.1] * 4 + [0.01] * 3, rtol=1e-15)
