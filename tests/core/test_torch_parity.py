"""Parity of gdlab's full-batch training with torch.optim, from stored golden trajectories.

``tests/core/goldens/torch_trajectories.npz`` is written by ``scripts/make_torch_goldens.py``
(torch float64: optimisers, lr_scheduler schedules, clip_grad_norm_, L2 penalty) and read
here with numpy only, so torch is not a test dependency. Each case fits a linear
``GDRegressor`` / ``GDClassifier`` for 40 full-batch epochs from zero parameters and checks
the per-epoch losses (before each step, penalty included), the learning rates and the
final parameters against torch's. Regenerate the goldens with
``.venv/bin/python scripts/make_torch_goldens.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import gdlab
from gdlab.core.fast import FastOptState

GOLDENS = Path(__file__).parent / "goldens" / "torch_trajectories.npz"
RTOL = 1e-8
ATOL = 1e-12

REQUIRED_OPTIMIZERS = {
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "adam",
    "adamw",
    "nadam",
}
REQUIRED_SCHEDULES = {"step", "exponential", "cosine"}
PROBLEMS = {"regression", "binary", "multiclass"}


def _load():
    with np.load(GOLDENS) as data:
        arrays = {key: data[key] for key in data.files}
    specs = json.loads(str(arrays.pop("specs")))
    meta = json.loads(str(arrays.pop("meta")))
    return specs, meta, arrays


SPECS, META, ARRAYS = _load()


def _fit(spec: dict):
    X = ARRAYS[f"X__{spec['problem']}"]
    y = ARRAYS[f"y__{spec['problem']}"]
    kwargs = dict(
        model="linear",
        optimizer=spec["optimizer"],
        optimizer_params=dict(spec["optimizer_params"]),
        learning_rate=spec["learning_rate"],
        schedule=spec["schedule"],
        schedule_params=dict(spec["schedule_params"]),
        clip_norm=spec["clip_norm"],
        alpha=spec["alpha"],
        l1_ratio=0.0,
        batch_size=None,
        max_epochs=META["n_steps"],
        tol=None,
        shuffle=False,
        random_state=0,
        intercept_init="zero",  # the goldens start torch from zero parameters
    )
    if spec["problem"] == "regression":
        est = gdlab.GDRegressor(**kwargs)
    else:
        est = gdlab.GDClassifier(**kwargs)
    return est.fit(X, y)


@pytest.fixture(params=["compiled", "numpy"])
def engine_path(request, monkeypatch):
    """Run each case on the compiled (numba) fast path and on the generic numpy path."""
    monkeypatch.setenv("GDLAB_JIT", "1" if request.param == "compiled" else "0")
    return request.param


@pytest.mark.parametrize("spec", SPECS, ids=[s["id"] for s in SPECS])
def test_matches_torch(spec, engine_path):
    est = _fit(spec)
    assert isinstance(est._state.opt_state, FastOptState) == (engine_path == "compiled")
    key = spec["id"]
    W, b = ARRAYS[f"W__{key}"], ARRAYS[f"b__{key}"]

    assert est.n_iter_ == META["n_steps"]
    np.testing.assert_allclose(
        np.asarray(est.loss_curve_, dtype=float),
        ARRAYS[f"loss__{key}"],
        rtol=RTOL,
        atol=ATOL,
        err_msg=f"{key}: loss_curve_",
    )
    np.testing.assert_allclose(
        np.asarray(est.history_["learning_rate"], dtype=float),
        ARRAYS[f"lr__{key}"],
        rtol=RTOL,
        atol=ATOL,
        err_msg=f"{key}: history_['learning_rate']",
    )

    if spec["problem"] == "regression":
        assert np.shape(est.coef_) == (W.shape[0],)
        np.testing.assert_allclose(
            est.coef_, W[:, 0], rtol=RTOL, atol=ATOL, err_msg=f"{key}: coef_"
        )
        np.testing.assert_allclose(
            np.ravel(est.intercept_), b, rtol=RTOL, atol=ATOL, err_msg=f"{key}: intercept_"
        )
    else:
        np.testing.assert_array_equal(est.classes_, np.arange(max(2, W.shape[1])))
        assert np.shape(est.coef_) == W.T.shape
        assert np.shape(est.intercept_) == b.shape
        np.testing.assert_allclose(est.coef_, W.T, rtol=RTOL, atol=ATOL, err_msg=f"{key}: coef_")
        np.testing.assert_allclose(
            est.intercept_, b, rtol=RTOL, atol=ATOL, err_msg=f"{key}: intercept_"
        )


def test_goldens_cover_everything():
    """Regenerating the goldens must not silently drop optimisers, schedules or clipping."""
    assert META["n_steps"] == 40
    ids = [s["id"] for s in SPECS]
    assert len(ids) == len(set(ids))
    assert len(SPECS) >= 90

    by_case: dict[str, set[str]] = {}
    for s in SPECS:
        by_case.setdefault(s["case"], set()).add(s["problem"])
        for prefix in ("loss", "lr", "W", "b"):
            assert f"{prefix}__{s['id']}" in ARRAYS
        assert ARRAYS[f"loss__{s['id']}"].shape == (META["n_steps"],)
    assert all(problems == PROBLEMS for problems in by_case.values()), by_case
    for problem in PROBLEMS:
        assert f"X__{problem}" in ARRAYS and f"y__{problem}" in ARRAYS

    optimizers = {s["optimizer"] for s in SPECS}
    assert REQUIRED_OPTIMIZERS <= optimizers, REQUIRED_OPTIMIZERS - optimizers
    schedules = {s["schedule"] for s in SPECS}
    assert REQUIRED_SCHEDULES | {"constant"} <= schedules, REQUIRED_SCHEDULES - schedules
    for name in REQUIRED_SCHEDULES:  # each schedule with a momentum method and an adaptive one
        with_schedule = {s["optimizer"] for s in SPECS if s["schedule"] == name}
        assert {"momentum", "adam"} <= with_schedule, (name, with_schedule)
    clipped = {s["optimizer"] for s in SPECS if s["clip_norm"] is not None}
    assert {"sgd", "adam"} <= clipped, clipped
    assert any(s["alpha"] > 0 for s in SPECS)

    params = {(s["optimizer"], k) for s in SPECS for k in s["optimizer_params"]}
    for needed in [
        ("momentum", "dampening"),
        ("nesterov", "momentum"),
        ("sgd", "weight_decay"),
        ("adagrad", "lr_decay"),
        ("adagrad", "initial_accumulator_value"),
        ("adagrad", "weight_decay"),
        ("rmsprop", "centered"),
        ("rmsprop", "momentum"),
        ("adam", "amsgrad"),
        ("adam", "weight_decay"),
        ("adamw", "amsgrad"),
        ("nadam", "weight_decay"),
        ("adagrad", "eps"),
        ("rmsprop", "alpha"),
        ("rmsprop", "eps"),
        ("adam", "betas"),
        ("adam", "eps"),
        ("adamw", "betas"),
        ("adamw", "weight_decay"),
        ("nadam", "betas"),
        ("nadam", "eps"),
        ("nadam", "momentum_decay"),
    ]:
        assert needed in params, needed


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_sgd_dampening_without_momentum_fits_as_torch(problem, engine_path):
    """sgd with dampening 0.5 and momentum 0 (the momentum-0 point of a momentum sweep that
    keeps its dampening) fits, as torch.optim.SGD accepts it: dampening only scales the
    momentum buffer, so the trajectory is torch's plain SGD (the golden, dampening 0)."""
    spec = next(s for s in SPECS if s["id"] == f"sgd-{problem}")
    est = _fit({**spec, "optimizer_params": {"dampening": 0.5}})
    np.testing.assert_allclose(np.asarray(est.loss_curve_, dtype=float),
                               ARRAYS[f"loss__{spec['id']}"], rtol=RTOL, atol=ATOL)
    plain = _fit(spec)
    np.testing.assert_array_equal(est.coef_, plain.coef_)
    np.testing.assert_array_equal(est.intercept_, plain.intercept_)


def test_sgd_dampening_without_momentum_steps_as_torch_sgd():
    """The engine's sgd(dampening=0.5), momentum 0, takes torch.optim.SGD's steps with the
    same arguments (torch accepts and ignores the dampening)."""
    torch = pytest.importorskip("torch")
    from gdlab.core.optim import apply_updates, make_optimizer

    rng = np.random.default_rng(0)
    theta = rng.normal(size=(5, 2))
    params = [theta.copy()]
    transform = make_optimizer("sgd", {"dampening": 0.5})  # refused before: ValueError
    state = transform.init(params)
    ref = torch.tensor(theta.copy(), requires_grad=True)
    opt = torch.optim.SGD([ref], lr=0.01, momentum=0.0, dampening=0.5)
    for _ in range(20):
        g = rng.normal(size=theta.shape)
        updates, state = transform.update([g.copy()], state, params, 0.01)
        apply_updates(params, updates)
        ref.grad = torch.tensor(g)
        opt.step()
        np.testing.assert_allclose(params[0], ref.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("problem", ["binary", "multiclass"])
def test_the_prior_start_trains_as_torch_from_the_log_class_prior(problem, engine_path):
    """The default start (intercept_init="prior"): torch's logistic / softmax regression with
    its bias set to the log class prior (numpy's class frequencies) and zero weights takes
    the same 40 full-batch adam steps."""
    torch = pytest.importorskip("torch")
    X, y = ARRAYS[f"X__{problem}"], ARRAYS[f"y__{problem}"].astype(np.int64)
    est = gdlab.GDClassifier(learning_rate=0.05, alpha=0.0, max_epochs=META["n_steps"],
                             tol=None, shuffle=False, random_state=0).fit(X, y)
    shares = np.bincount(y) / len(y)
    binary = problem == "binary"
    prior = [np.log(shares[1] / shares[0])] if binary else np.log(shares)
    W = torch.zeros((X.shape[1], len(prior)), dtype=torch.float64, requires_grad=True)
    b = torch.tensor(prior, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([W, b], lr=0.05)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    losses = []
    for _ in range(META["n_steps"]):
        opt.zero_grad()
        z = Xt @ W + b
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(z[:, 0], yt.double())
                if binary else torch.nn.functional.cross_entropy(z, yt))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    np.testing.assert_allclose(est.loss_curve_, losses, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(est.coef_, W.detach().numpy().T, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(est.intercept_, b.detach().numpy(), rtol=RTOL, atol=ATOL)
